import { simpleParser, type ParsedMail } from 'mailparser'
import { SMTPServer } from 'smtp-server'
import { findFreePorts } from '../scripts/net'
import { waitUntil } from './wait'

/** A mail as the test's SMTP server received it, parsed. */
export type ReceivedMail = { to: string; from: string; subject: string; text: string; html: string; messageId: string }

/**
 * A real SMTP server on a loopback port for one test file (the `smtp-server` package),
 * keeping every mail it accepts, parsed by `mailparser`. `stop` and `start` again keep the
 * port, so a test can take mail delivery down and bring it back; `slow` makes it accept
 * mail only after a delay.
 */
export type TestSmtp = {
  url: string
  port: number
  received: ReceivedMail[]
  /** Mails to `address` (case-insensitive). */
  mailsTo(address: string): ReceivedMail[]
  /**
   * Waits until `count` mails to `address` (with this `subject`, if given) have arrived and
   * returns the `count`-th. Mails queued at nearly the same moment may arrive in either
   * order (instances send concurrently): tell them apart by subject.
   */
  waitForMail(address: string, options?: { count?: number; subject?: string; timeoutMs?: number }): Promise<ReceivedMail>
  /** The `token` query of the first link to `page` (`verify-email`, `reset-password`) in a mail's text. */
  tokenIn(mail: ReceivedMail, page: string): string
  /** Delays the acceptance of each mail's data by this much (0: at once). */
  setDelay(ms: number): void
  start(): Promise<void>
  stop(): Promise<void>
}

export async function startTestSmtp(): Promise<TestSmtp> {
  const [port] = await findFreePorts(1)
  const received: ReceivedMail[] = []
  let delayMs = 0
  let server: SMTPServer | null = null

  const create = () =>
    new SMTPServer({
      // Plain SMTP on loopback: no TLS to offer, no login to ask for.
      disabledCommands: ['STARTTLS', 'AUTH'],
      authOptional: true,
      logger: false,
      // `stop` should take the server down now, not after its 30 s grace for open sessions.
      closeTimeout: 100,
      onData(stream, _session, callback) {
        simpleParser(stream)
          .then(async (mail: ParsedMail) => {
            if (delayMs > 0) await Bun.sleep(delayMs)
            received.push(toReceived(mail))
            callback()
          })
          .catch(callback)
      },
    })

  const smtp: TestSmtp = {
    url: `smtp://127.0.0.1:${port}`,
    port,
    received,
    mailsTo: (address) => received.filter((mail) => mail.to.toLowerCase() === address.toLowerCase()),
    async waitForMail(address, options = {}) {
      const count = options.count ?? 1
      const matching = () => smtp.mailsTo(address).filter((mail) => options.subject === undefined || mail.subject === options.subject)
      const what = `${count} mail(s) to ${address}${options.subject === undefined ? '' : ` with the subject "${options.subject}"`} arrived`
      await waitUntil(() => matching().length >= count, { message: what, timeoutMs: options.timeoutMs ?? 15_000 })
      return matching()[count - 1]
    },
    tokenIn(mail, page) {
      const link = new RegExp(`https?://\\S+/${page}\\?token=([A-Za-z0-9_-]+)`).exec(mail.text)
      if (link === null) throw new Error(`no /${page} link in the mail "${mail.subject}"`)
      return link[1]
    },
    setDelay: (ms) => {
      delayMs = ms
    },
    async start() {
      if (server !== null) return
      const next = create()
      await new Promise<void>((resolve, reject) => {
        next.once('error', reject)
        next.listen(port, '127.0.0.1', () => resolve())
      })
      server = next
    },
    async stop() {
      if (server === null) return
      const closing = server
      server = null
      await new Promise<void>((resolve) => closing.close(() => resolve()))
    },
  }
  await smtp.start()
  return smtp
}

function toReceived(mail: ParsedMail): ReceivedMail {
  const addressText = (value: ParsedMail['to'] | ParsedMail['from']) => (Array.isArray(value) ? value.map((v) => v.text).join(', ') : (value?.value[0]?.address ?? ''))
  return {
    to: addressText(mail.to),
    from: mail.from?.text ?? '',
    subject: mail.subject ?? '',
    text: mail.text ?? '',
    html: typeof mail.html === 'string' ? mail.html : '',
    messageId: mail.messageId ?? '',
  }
}
