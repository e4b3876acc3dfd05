import { describe, expect, test } from 'bun:test'
import { maskEmail, renderMail } from './templates'

describe('mail templates', () => {
  test('a link is built on the public URL, with the token in its query, in the text and the HTML', () => {
    const mail = renderMail('reset_password', { username: 'ada', token: 'abc-_123', validMinutes: 30 }, 'https://chat.example.com/app/')
    expect(mail.text).toContain('https://chat.example.com/app/reset-password?token=abc-_123')
    expect(mail.html).toContain('<a href="https://chat.example.com/app/reset-password?token=abc-_123">')
    expect(mail.text).toContain('for 30 minutes')
  })

  test('a public URL without a trailing slash keeps its path', () => {
    const mail = renderMail('verify_email', { username: 'ada', token: 't', validMinutes: 1440 }, 'http://localhost:8080/base')
    expect(mail.text).toContain('http://localhost:8080/base/verify-email?token=t')
    expect(mail.text).toContain('for 24 hours')
  })

  test('names are escaped in the HTML and kept as they are in the text', () => {
    const mail = renderMail('password_changed', { username: '<b>&"ada"' }, 'http://localhost:8080')
    expect(mail.html).toContain('Hello &lt;b&gt;&amp;&quot;ada&quot;,')
    expect(mail.html).not.toContain('<b>')
    expect(mail.text).toContain('Hello <b>&"ada",')
  })

  test('the notice to a former address names the new one only masked', () => {
    const mail = renderMail('email_changed', { username: 'ada', newEmail: 'ada.lovelace@example.com' }, 'http://localhost:8080')
    expect(mail.text).toContain('a***@example.com')
    expect(mail.text).not.toContain('ada.lovelace')
    expect(maskEmail('x')).toBe('***')
  })

  test('the two-factor notice says which way it changed', () => {
    expect(renderMail('two_factor_changed', { username: 'ada', enabled: true }, 'http://localhost:8080').subject).toBe('Two-factor login was turned on')
    const off = renderMail('two_factor_changed', { username: 'ada', enabled: false }, 'http://localhost:8080')
    expect(off.subject).toBe('Two-factor login was turned off')
    expect(off.text).toContain('Forgot password?')
  })

  test('the wrong-codes warning says how many codes were wrong', () => {
    const mail = renderMail('wrong_two_factor_codes', { username: 'ada', codes: 5 }, 'http://localhost:8080')
    expect(mail.text).toContain('5 wrong two-factor codes')
  })
})
