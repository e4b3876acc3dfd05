import { mkdir, rename, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '@chat/common/logger'
import type { MailTransport, OutgoingMail } from './transport'
import { loadNodemailer, toNodemailer } from './transport.smtp'

/**
 * Development without an SMTP server: each mail becomes an .eml file (open it in any mail
 * program, or read the link in it) and one log line gives its path. Never the link itself:
 * it carries a one-time token, and logs are read by more people than the mail's recipient.
 */
export async function createFileTransport(options: { dir: string; from: string; log: Logger }): Promise<MailTransport> {
  const { createTransport } = await loadNodemailer()
  // nodemailer renders the whole MIME message into a buffer and sends it nowhere.
  const composer = createTransport({ streamTransport: true, buffer: true, newline: 'unix' })
  return {
    async send(mail: OutgoingMail) {
      const { message } = await composer.sendMail(toNodemailer(mail, options.from))
      await mkdir(options.dir, { recursive: true, mode: 0o700 })
      const path = join(options.dir, `${new Date().toISOString().replaceAll(':', '-')}-${mail.id}.eml`)
      // Written aside and renamed, so a reader never sees half a mail.
      await writeFile(`${path}.part`, message as Buffer, { mode: 0o600 })
      await rename(`${path}.part`, path)
      options.log.info('mail written', { path })
    },
    close: () => composer.close(),
  }
}
