import type { SendMailOptions } from 'nodemailer'
import type { MailTransport, OutgoingMail } from './transport'

export type SmtpOptions = { url: string; from: string; timeoutMs: number }

/**
 * Delivers over SMTP with nodemailer: STARTTLS when the server offers it, `smtps://` for
 * TLS from the start, credentials in the URL. One connection per mail (no pool), so a
 * server that went away costs one failed mail, not a stuck pool; every phase is bounded
 * by `timeoutMs`, so a silent server fails the send instead of holding it.
 */
export async function createSmtpTransport(options: SmtpOptions): Promise<MailTransport> {
  const { createTransport } = await loadNodemailer()
  const transporter = createTransport({
    url: options.url,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
    // Its own logger writes message details (recipients) at info level; failures reach ours.
    logger: false,
  })
  return {
    async send(mail: OutgoingMail) {
      await transporter.sendMail(toNodemailer(mail, options.from))
    },
    close: () => transporter.close(),
  }
}

/**
 * nodemailer is loaded when a transport is made, after the service has started: importing
 * it costs more than the rest of the start-up, which instances racing for the migration
 * lock (and a restart under load) should not wait for.
 */
export const loadNodemailer = () => import('nodemailer')

/** The nodemailer message of a mail; shared with the file transport so both write the same message. */
export function toNodemailer(mail: OutgoingMail, from: string): SendMailOptions {
  const domain = /@([^>\s]+)>?\s*$/.exec(from)?.[1] ?? 'localhost'
  return { from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html, messageId: `<${mail.id}@${domain}>` }
}
