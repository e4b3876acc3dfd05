import { describe, expect, test } from 'bun:test'
import { Value } from '@sinclair/typebox/value'
import { AuthConfig, findConfigProblem } from './config'

const withSettings = (settings: Record<string, string>) => Value.Convert(AuthConfig, Value.Default(AuthConfig, settings)) as AuthConfig

describe('auth settings that must agree', () => {
  test('the defaults work in development, where mail is written to files', () => {
    expect(findConfigProblem(withSettings({}))).toBeNull()
  })

  test('production without SMTP_URL stops the start-up, naming the setting', () => {
    expect(findConfigProblem(withSettings({ NODE_ENV: 'production' }))).toStartWith('SMTP_URL is required in production')
    expect(findConfigProblem(withSettings({ NODE_ENV: 'production', SMTP_URL: 'smtp://mail.example.com:587' }))).toBeNull()
  })

  test('a claim shorter than a slow delivery could take is refused', () => {
    expect(findConfigProblem(withSettings({ MAIL_CLAIM_SECONDS: '30', MAIL_SEND_TIMEOUT_MS: '15000' }))).toStartWith('MAIL_CLAIM_SECONDS')
  })
})
