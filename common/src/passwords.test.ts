import { describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { findPasswordWeakness, Password, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords'

describe('findPasswordWeakness', () => {
  test('accepts a long passphrase', () => {
    expect(findPasswordWeakness('correct horse battery staple')).toBeNull()
    expect(findPasswordWeakness('correct horse battery staple', { username: 'ada', email: 'ada@example.com' })).toBeNull()
  })

  test.each(['password', 'password123', '12345678', 'qwertyuiop', 'iloveyou', 'trustno1'])('refuses the common password %p', (password) => {
    expect(findPasswordWeakness(password)).toBe('is one of the most common passwords')
  })

  test('recognises a common password whatever its case', () => {
    expect(findPasswordWeakness('PassWord123')).toBe('is one of the most common passwords')
    expect(findPasswordWeakness('SUNSHINE')).toBe('is one of the most common passwords')
  })

  test.each(['aaaaaaaa', '00000000000', '!!!!!!!!!!!!'])('refuses %p, one repeated character', (password) => {
    expect(findPasswordWeakness(password)).toBe('repeats a single character')
  })

  test('refuses one emoji repeated, counting it as one character although it is two UTF-16 units', () => {
    expect(findPasswordWeakness('🙂🙂🙂🙂🙂')).toBe('repeats a single character')
  })

  test('accepts different emoji that share their first UTF-16 unit', () => {
    expect(findPasswordWeakness('🙂🙃🙂🙃🙂🙃')).toBeNull()
  })

  test('refuses a password containing the username, whatever its case', () => {
    expect(findPasswordWeakness('my-AdaLovelace-pw', { username: 'adalovelace' })).toBe('contains the username')
    expect(findPasswordWeakness('adalovelace', { username: 'AdaLovelace' })).toBe('contains the username')
  })

  test('refuses a password containing the mailbox part of the email', () => {
    expect(findPasswordWeakness('secret-countess-2024', { email: 'Countess@example.com' })).toBe('contains the email address')
  })

  test('ignores a mailbox shorter than 3 characters, which would refuse too much', () => {
    expect(findPasswordWeakness('a long phrase with ab in it', { email: 'ab@example.com' })).toBeNull()
  })

  test('does not refuse the domain of the email', () => {
    expect(findPasswordWeakness('example rocks forever', { email: 'ada@example.com' })).toBeNull()
  })

  test('checks for a common password before anything about the identity', () => {
    expect(findPasswordWeakness('password1', { username: 'password1' })).toBe('is one of the most common passwords')
  })

  test('works without any identity', () => {
    expect(findPasswordWeakness('an unrelated passphrase')).toBeNull()
    expect(findPasswordWeakness('an unrelated passphrase', {})).toBeNull()
  })
})

describe('Password schema', () => {
  test(`accepts ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters and nothing outside`, () => {
    expect(Value.Check(Password, 'x'.repeat(PASSWORD_MIN_LENGTH - 1))).toBe(false)
    expect(Value.Check(Password, 'x'.repeat(PASSWORD_MIN_LENGTH))).toBe(true)
    expect(Value.Check(Password, 'x'.repeat(PASSWORD_MAX_LENGTH))).toBe(true)
    expect(Value.Check(Password, 'x'.repeat(PASSWORD_MAX_LENGTH + 1))).toBe(false)
  })
})
