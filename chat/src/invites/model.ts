import { t } from 'elysia'
import { Timestamp } from '@chat/common/schemas'

/**
 * The bounds are settings (INVITE_MAX_USES, INVITE_MAX_TTL_SECONDS), checked by the service;
 * the schema only keeps the numbers sane before that.
 */
export const CreateInviteBody = t.Object(
  {
    maxUses: t.Optional(t.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Accepts allowed; without it, any number until it expires. At most INVITE_MAX_USES (1000)' })),
    expiresInSeconds: t.Optional(
      t.Integer({ minimum: 1, maximum: 1_000_000_000, description: 'Default INVITE_DEFAULT_TTL_SECONDS (a day); at most INVITE_MAX_TTL_SECONDS (a week)' }),
    ),
  },
  { additionalProperties: false, examples: [{ maxUses: 5, expiresInSeconds: 3600 }] },
)
export type CreateInviteBody = typeof CreateInviteBody.static

export const Invite = t.Object(
  {
    code: t.String({ description: 'The secret to share (e.g. as `/invite/<code>`); only its hash is stored, so it is shown once' }),
    expiresAt: Timestamp,
    maxUses: t.Nullable(t.Integer({ minimum: 1 }), { description: 'null: any number of uses until it expires' }),
  },
  { title: 'Invite' },
)
export type Invite = typeof Invite.static

/** Codes we hand out are 22 base64url characters; anything of this shape is looked up (and counted). */
export const InviteCodeParams = t.Object({ code: t.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }) })
