import { afterAll, beforeAll, expect, test } from 'bun:test'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { simpleParser } from 'mailparser'
import { register } from '../../test/client'
import { startTestStack, type TestStack } from '../../test/harness'
import { waitUntil } from '../../test/wait'

// Development: with no SMTP_URL, every mail is an .eml file under MAIL_DIR and one log line names it.

let stack: TestStack
beforeAll(async () => {
  stack = await startTestStack({ auth: 1, user: 1 })
}, 60_000)
afterAll(() => stack?.stop(), 60_000)

const mailDir = () => join(stack.dataDir, 'mail')
const emlFiles = async () => (await readdir(mailDir()).catch(() => [])).filter((name) => name.endsWith('.eml'))

test('without SMTP_URL the verification mail is written as an .eml file under .data/mail, and only its path is logged', async () => {
  const account = await register(stack.url)
  await waitUntil(async () => (await emlFiles()).length === 1, 'the .eml file is written')
  const [file] = await emlFiles()
  const mail = await simpleParser(await Bun.file(join(mailDir(), file)).text())
  expect(mail.subject).toBe('Confirm your email address')
  expect((mail.to as { text: string }).text).toBe(account.email)
  const token = /verify-email\?token=([A-Za-z0-9_-]+)/.exec(mail.text ?? '')![1]
  expect(mail.html).toContain(token)

  const logs = (await Promise.all((await readdir(stack.logDir)).map((name) => Bun.file(join(stack.logDir, name)).text()))).join('')
  const lines = logs.split('\n').filter((line) => line.includes('"mail written"'))
  expect(lines).toHaveLength(1)
  expect(JSON.parse(lines[0]).path).toBe(join(mailDir(), file))
  expect(logs).not.toContain(token)
})
