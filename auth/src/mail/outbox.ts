import { Value } from '@sinclair/typebox/value'
import type { Sql } from '@chat/common/db'
import type { TransactionSql } from 'postgres'
import type { AuthConfig } from '../config'
import { isMailKind, MailData, renderMail, type MailDataOf, type MailKind, type RenderableKind } from './templates'
import { openMailToken } from './sealed-token'
import type { OutgoingMail } from './transport'

export type QueuedMail<K extends MailKind = MailKind> = { userId: string | null; kind: K; to: string; data: MailDataOf<K> }

export type OutboxRow = { id: string; kind: string; recipient: string; data: unknown; attempts: number }

/**
 * Writes a mail to the outbox. Call it with the transaction of the change the mail is
 * about: the mail exists exactly when the change does. Nothing is sent here; wake the
 * worker after the commit.
 */
export async function queueMail<K extends MailKind>(tx: TransactionSql | Sql, mail: QueuedMail<K>): Promise<void> {
  await tx`
    insert into auth.outbox (user_id, kind, recipient, data)
    values (${mail.userId}, ${mail.kind}, ${mail.to}, ${tx.json(mail.data)})`
}

/**
 * Claims up to `MAIL_BATCH_SIZE` due mails for this instance until `MAIL_CLAIM_SECONDS`
 * from now, and counts the attempt. `for update skip locked` lets instances claim at the
 * same moment without waiting for or double-claiming each other's rows, and the claim is
 * committed before anything is sent, so no transaction stays open during SMTP.
 */
export async function claimDueMails(sql: Sql, config: Pick<AuthConfig, 'MAIL_BATCH_SIZE' | 'MAIL_CLAIM_SECONDS'>): Promise<OutboxRow[]> {
  return sql<OutboxRow[]>`
    update auth.outbox set locked_until = now() + make_interval(secs => ${config.MAIL_CLAIM_SECONDS}), attempts = attempts + 1
    where id in (
      select id from auth.outbox
      where failed_at is null and next_attempt_at <= now() and (locked_until is null or locked_until < now())
      order by next_attempt_at
      limit ${config.MAIL_BATCH_SIZE}
      for update skip locked)
    returning id, kind, recipient, data, attempts`
}

/** Renders a claimed row, or null when its kind or data no longer fit a template, or its link's token does not open. */
export function renderRow(row: OutboxRow, publicUrl: string, tokenKey: Buffer): OutgoingMail | null {
  if (!isMailKind(row.kind) || row.kind === 'reset_request') return null
  const kind = row.kind as RenderableKind
  if (!Value.Check(MailData[kind], row.data)) return null
  const data = withOpenedToken(row.data as MailDataOf<typeof kind>, kind, tokenKey)
  if (data === null) return null
  const rendered = renderMail(kind, data, publicUrl)
  return { id: row.id, to: row.recipient, ...rendered }
}

/** The data with its link's token opened (mail/sealed-token.ts); data without a token as it is. */
function withOpenedToken<D extends object>(data: D, kind: string, tokenKey: Buffer): D | null {
  if (!('token' in data) || typeof data.token !== 'string') return data
  const token = openMailToken(tokenKey, kind, data.token)
  return token === null ? null : { ...data, token }
}

/** Delivered (or, for a reset request no account matched, nothing to deliver): the row goes, and with it the token its link carried. */
export async function markSent(sql: Sql, id: string): Promise<void> {
  await sql`delete from auth.outbox where id = ${id}`
}

/**
 * Not delivered: tried again after an exponential backoff with jitter (base × 2^(n−1),
 * capped, ×0.5–1), so instances and mails that failed together do not retry in step.
 * After MAIL_MAX_ATTEMPTS it is given up, and its data (a link's token) erased.
 */
export async function markFailed(
  sql: Sql,
  config: Pick<AuthConfig, 'MAIL_RETRY_BASE_MS' | 'MAIL_RETRY_MAX_MS' | 'MAIL_MAX_ATTEMPTS'>,
  row: Pick<OutboxRow, 'id' | 'attempts'>,
  error: string,
): Promise<'retry' | 'given-up'> {
  const delayMs = retryDelayMs(config, row.attempts, Math.random())
  const givenUp = row.attempts >= config.MAIL_MAX_ATTEMPTS
  await sql`
    update auth.outbox set
      locked_until = null,
      last_error = ${error.slice(0, 500)},
      next_attempt_at = now() + make_interval(secs => ${delayMs / 1000}),
      failed_at = ${givenUp ? sql`now()` : null},
      data = ${givenUp ? sql`'{}'::jsonb` : sql`data`}
    where id = ${row.id}`
  return givenUp ? 'given-up' : 'retry'
}

/** The wait after the `attempt`-th failure; `random` in [0, 1) spreads it over its upper half. */
export function retryDelayMs(config: Pick<AuthConfig, 'MAIL_RETRY_BASE_MS' | 'MAIL_RETRY_MAX_MS'>, attempt: number, random: number): number {
  const ceiling = Math.min(config.MAIL_RETRY_MAX_MS, config.MAIL_RETRY_BASE_MS * 2 ** Math.min(attempt - 1, 30))
  return Math.round(ceiling * (0.5 + random / 2))
}
