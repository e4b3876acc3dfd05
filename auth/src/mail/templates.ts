import { t } from 'elysia'

/**
 * What each kind of mail needs, stored in the outbox row's `data` and rendered only when
 * the mail is sent (so a wording change reaches mails still queued). Declared once: the
 * outbox is typed by it, and a row that no longer fits is given up rather than sent garbled.
 */
export const MailData = {
  /** Not a mail yet: a forgot-password request, which the worker turns into `reset_password` or drops (recovery/service.ts). */
  reset_request: t.Object({}),
  verify_email: t.Object({ username: t.String(), token: t.String(), validMinutes: t.Number() }),
  email_changed: t.Object({ username: t.String(), newEmail: t.String() }),
  reset_password: t.Object({ username: t.String(), token: t.String(), validMinutes: t.Number() }),
  password_changed: t.Object({ username: t.String() }),
  two_factor_changed: t.Object({ username: t.String(), enabled: t.Boolean() }),
  wrong_two_factor_codes: t.Object({ username: t.String(), codes: t.Number() }),
}
export type MailKind = keyof typeof MailData
export const isMailKind = (kind: string): kind is MailKind => Object.hasOwn(MailData, kind)
export type MailDataOf<K extends MailKind> = (typeof MailData)[K]['static']
export type Rendered = { subject: string; text: string; html: string }

/** A link to one of the web client's pages, carrying a token in its query. */
function link(publicUrl: string, page: string, token: string): string {
  const url = new URL(page, publicUrl.endsWith('/') ? publicUrl : `${publicUrl}/`)
  url.searchParams.set('token', token)
  return url.href
}

/** 30 → "30 minutes", 1440 → "24 hours". */
function duration(minutes: number): string {
  if (minutes % 60 !== 0 || minutes < 120) return minutes === 1 ? '1 minute' : `${minutes} minutes`
  return `${minutes / 60} hours`
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** `ada.lovelace@example.com` → `a***@example.com`: enough for the owner to recognise, little for anyone else. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@')
  return at <= 0 ? '***' : `${email[0]}***${email.slice(at)}`
}

/** Plain text and a small HTML version of the same paragraphs; a link becomes an anchor in HTML. */
function compose(subject: string, greeting: string, paragraphs: (string | { href: string })[]): Rendered {
  const text = [greeting, ...paragraphs.map((p) => (typeof p === 'string' ? p : p.href))].join('\n\n') + '\n'
  const body = paragraphs
    .map((p) => (typeof p === 'string' ? `<p>${escapeHtml(p)}</p>` : `<p><a href="${escapeHtml(p.href)}">${escapeHtml(p.href)}</a></p>`))
    .join('\n')
  const html = `<!doctype html>\n<html><body style="font-family:sans-serif">\n<p>${escapeHtml(greeting)}</p>\n${body}\n</body></html>\n`
  return { subject, text, html }
}

const RENDER: { [K in Exclude<MailKind, 'reset_request'>]: (data: MailDataOf<K>, publicUrl: string) => Rendered } = {
  verify_email: ({ username, token, validMinutes }, publicUrl) =>
    compose('Confirm your email address', `Hello ${username},`, [
      `Please confirm that this is your email address by opening this link (valid for ${duration(validMinutes)}):`,
      { href: link(publicUrl, 'verify-email', token) },
      'If you did not create an account or change its email, ignore this mail.',
    ]),
  email_changed: ({ username, newEmail }, _publicUrl) =>
    compose('Your email address was changed', `Hello ${username},`, [
      `The email address of your account was just changed to ${maskEmail(newEmail)}. Mail about the account now goes there.`,
      'If you did not do this, someone else knows your password: contact us at once by replying to this mail.',
    ]),
  reset_password: ({ username, token, validMinutes }, publicUrl) =>
    compose('Reset your password', `Hello ${username},`, [
      `Someone asked to reset the password of your account. To choose a new one, open this link (valid once, for ${duration(validMinutes)}):`,
      { href: link(publicUrl, 'reset-password', token) },
      'If it was not you, ignore this mail: your password stays as it is.',
    ]),
  password_changed: ({ username }, _publicUrl) =>
    compose('Your password was changed', `Hello ${username},`, [
      'The password of your account was just changed, and every other session was signed out.',
      'If you did not do this, reset your password at once with "Forgot password?" on the login page.',
    ]),
  two_factor_changed: ({ username, enabled }, _publicUrl) =>
    enabled
      ? compose('Two-factor login was turned on', `Hello ${username},`, [
          'Logging in to your account now also needs a code from your authenticator app, and every other session was signed out.',
          'If you did not do this, reset your password at once with "Forgot password?" on the login page.',
        ])
      : compose('Two-factor login was turned off', `Hello ${username},`, [
          'Logging in to your account now needs only its password.',
          'If you did not do this, someone is using your account: reset your password at once with "Forgot password?" on the login page, then turn two-factor login on again.',
        ]),
  wrong_two_factor_codes: ({ username, codes }, _publicUrl) =>
    compose('Wrong two-factor codes after your password', `Hello ${username},`, [
      `Someone logged in to your account with its password, then entered ${codes} wrong two-factor codes, so they were not let in.`,
      'If it was not you, someone else knows your password: change it at once, or reset it with "Forgot password?" on the login page.',
    ]),
}

export type RenderableKind = keyof typeof RENDER

export function renderMail<K extends RenderableKind>(kind: K, data: MailDataOf<K>, publicUrl: string): Rendered {
  return RENDER[kind](data, publicUrl)
}
