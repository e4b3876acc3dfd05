/** A mail as it leaves the service: rendered, addressed, ready for a transport. */
export type OutgoingMail = {
  /** The outbox row's id: the Message-ID is derived from it, so a retried mail is recognisably the same one. */
  id: string
  to: string
  subject: string
  text: string
  html: string
}

/**
 * Where mail goes: an SMTP server in production (transport.smtp.ts), .eml files in
 * development (transport.files.ts). The worker owns retries; a transport tries once.
 */
export type MailTransport = {
  /**
   * Delivers one mail, or rejects. Resolving means the receiving side accepted it (the SMTP
   * server answered 250, the file is written): the worker then deletes the outbox row.
   * Rejecting means it may or may not have arrived; the worker tries again later.
   */
  send(mail: OutgoingMail): Promise<void>
  /** Releases connections; no `send` after it. */
  close(): void
}
