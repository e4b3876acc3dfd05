import { join } from 'node:path'
import { DATA_DIR } from '@chat/common/dev-secrets'
import { failedDependency } from '@chat/common/errors'
import type { AuthDeps } from '../deps'
import { resolveResetRequest } from '../recovery/service'
import { claimDueMails, markFailed, markSent, renderRow, type OutboxRow } from './outbox'
import type { MailTransport } from './transport'
import { createFileTransport } from './transport.files'
import { createSmtpTransport } from './transport.smtp'
import { isMailKind } from './templates'

type WorkerDeps = Pick<AuthDeps, 'sql' | 'config' | 'log' | 'mailTokenKey'>

/** What request handlers see of the worker: a nudge after they committed mail. */
export type Mailer = {
  /** Looks for due mail now instead of at the next poll; cheap, and safe to call often. */
  wake(): void
}
export type MailWorker = Mailer & { stop(): Promise<void> }

/** SMTP when SMTP_URL is set, else .eml files under MAIL_DIR (default `.data/mail`). */
export function createMailTransport(deps: Pick<AuthDeps, 'config' | 'log'>): Promise<MailTransport> {
  const { config } = deps
  if (config.SMTP_URL !== undefined) return createSmtpTransport({ url: config.SMTP_URL, from: config.MAIL_FROM, timeoutMs: config.MAIL_SEND_TIMEOUT_MS })
  return createFileTransport({ dir: config.MAIL_DIR ?? join(DATA_DIR, 'mail'), from: config.MAIL_FROM, log: deps.log })
}

/**
 * Sends the outbox. Every instance runs one: each round claims a batch of due rows (no
 * other instance can hold them while the claim lasts), sends them concurrently, deletes
 * the delivered ones and schedules the others for a retry. Rounds follow each other while
 * a full batch came back, then every MAIL_POLL_INTERVAL_MS, or at once after `wake`.
 */
export function startMailWorker(deps: WorkerDeps, transport: MailTransport): MailWorker {
  const { sql, config, log } = deps
  let timer: ReturnType<typeof setTimeout> | null = null
  let running: Promise<void> | null = null
  let again = false
  let stopped = false

  async function sendOne(claimed: OutboxRow): Promise<void> {
    const row = claimed.kind === 'reset_request' ? await resolveResetRequest(deps, claimed) : claimed
    // A reset request for an address no account has: dropped, nothing is sent.
    if (row === null) return markSent(sql, claimed.id)
    if (!isMailKind(row.kind)) {
      // Queued by a newer version during a rolling deploy: left, with the usual backoff, for
      // an instance that knows the kind (given up after MAIL_MAX_ATTEMPTS like any failure).
      const outcome = await markFailed(sql, config, row, `kind ${row.kind} is unknown to this version`)
      log.warn('mail of a kind this version does not know; left for another instance', { mailId: row.id, kind: row.kind, outcome })
      return
    }
    const mail = renderRow(row, config.PUBLIC_URL, deps.mailTokenKey)
    if (mail === null) {
      await markFailed(sql, { ...config, MAIL_MAX_ATTEMPTS: 0 }, row, `no template fits kind ${row.kind}, or its token does not open`)
      log.error('mail given up: it fits no template, or its token does not open with this key', { mailId: row.id, kind: row.kind })
      return
    }
    try {
      await transport.send(mail)
    } catch (error) {
      const outcome = await markFailed(sql, config, row, (error as Error).message ?? String(error))
      // The id and kind identify the mail; its address and content stay out of the log.
      const fields = { mailId: row.id, kind: row.kind, attempt: row.attempts, error }
      if (outcome === 'given-up') log.error('mail given up after its last attempt', fields)
      else log.warn('mail not sent; it will be tried again', fields)
      return
    }
    await markSent(sql, row.id)
  }

  async function round(): Promise<void> {
    for (;;) {
      const rows = await claimDueMails(sql, config)
      await Promise.all(rows.map(sendOne))
      if (rows.length < config.MAIL_BATCH_SIZE || stopped) return
    }
  }

  function schedule(delayMs: number) {
    if (stopped) return
    if (timer !== null) clearTimeout(timer)
    timer = setTimeout(run, delayMs)
  }

  function run() {
    timer = null
    if (running !== null) {
      again = true
      return
    }
    again = false
    running = round()
      .catch((error) => {
        // Postgres away: the rows are safe where they are; the next round finds them.
        if (failedDependency(error) === null) log.error('mail round failed', { error })
        else log.warn('mail round skipped: database unavailable', { error })
      })
      .finally(() => {
        running = null
        schedule(again ? 0 : config.MAIL_POLL_INTERVAL_MS)
      })
  }

  schedule(0)
  return {
    wake: () => schedule(0),
    async stop() {
      stopped = true
      if (timer !== null) clearTimeout(timer)
      await running
      transport.close()
    },
  }
}
