import { beforeAll, describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { findPasswordWeakness, identityWords, loadPasswordDictionaries, Password, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords'

beforeAll(loadPasswordDictionaries)

describe('findPasswordWeakness', () => {
  test('accepts a long passphrase', () => {
    expect(findPasswordWeakness('correct horse battery staple')).toBeNull()
    expect(findPasswordWeakness('correct horse battery staple', { username: 'ada', email: 'ada@example.com' })).toBeNull()
  })

  test.each(['password', 'password123', '12345678', 'qwertyuiop', 'iloveyou', 'trustno1', 'PassWord123', 'SUNSHINE'])(
    'refuses the common password %p, saying so in zxcvbn’s words',
    (password) => {
      expect(findPasswordWeakness(password)).toMatch(/^is too easy to guess: .*(commonly|frequently|heavily) used password/)
    },
  )

  test('refuses a keyboard walk, which no word list spells out', () => {
    expect(findPasswordWeakness('zxcvbnm,./')).toMatch(/^is too easy to guess: /)
  })

  test.each(['aaaaaaaa', '00000000000', '!!!!!!!!!!!!', '🙂🙂🙂🙂🙂'])('refuses %p, one repeated character, and says why', (password) => {
    expect(findPasswordWeakness(password)).toMatch(/^is too easy to guess: .*[Rr]epeat/)
  })

  test('refuses a short dictionary word with digits appended that the old word list let through', () => {
    expect(findPasswordWeakness('monkey2024')).toMatch(/^is too easy to guess/)
  })

  test('counts a word of the mailbox as one zxcvbn knows: a password built on it scores low, with the reason', () => {
    expect(findPasswordWeakness('quantix1815')).toBeNull()
    expect(findPasswordWeakness('quantix1815', { email: 'zorbly.quantix@example.com' })).toBe(
      'is too easy to guess: There should not be any personal or page related data. Add more words that are less common.',
    )
  })

  test('counts the email and each word of its mailbox against the password', () => {
    expect(identityWords({ email: 'Ada.Lovelace@Example.com' })).toEqual(['ada.lovelace@example.com', 'ada.lovelace', 'ada', 'lovelace'])
    expect(findPasswordWeakness('lovelace1815', { email: 'ada.lovelace@example.com' })).toMatch(/personal/)
  })

  test('refuses a password containing the username, whatever its case', () => {
    expect(findPasswordWeakness('my-AdaLovelace-pw', { username: 'adalovelace' })).toBe('contains the username')
    expect(findPasswordWeakness('adalovelace', { username: 'AdaLovelace' })).toBe('contains the username')
  })

  test('refuses a password containing the mailbox part of the email', () => {
    expect(findPasswordWeakness('secret-countess-2024', { email: 'Countess@example.com' })).toBe('contains the email address')
  })

  test('ignores containment of a mailbox shorter than 3 characters, which would refuse too much', () => {
    expect(findPasswordWeakness('a long phrase with ab in it', { email: 'ab@example.com' })).toBeNull()
  })

  test('does not refuse the domain of the email', () => {
    expect(findPasswordWeakness('example rocks forever', { email: 'ada@example.com' })).toBeNull()
  })

  test('accepts every password the repository’s tests, bench and README register with', () => {
    for (const password of [
      'correct horse battery staple',
      'correct horse battery',
      'a brand new long passphrase',
      'a brand new secret',
      'a fine long password',
      'a longer passphrase of my own',
      'an entirely new passphrase',
      'another long one',
      'pässwörd mit 🔑 und ß',
    ])
      expect(findPasswordWeakness(password, { username: 'user_mx316xmm_1_003m', email: 'user_mx316xmm_1_003m@example.com' })).toBeNull()
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
