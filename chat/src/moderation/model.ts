import { t } from 'elysia'
import { MemberRole } from '@chat/common/chat-protocol'
import { PageLimit } from '@chat/common/pagination'
import { PLAIN_TEXT_PATTERN, Timestamp, Uuid } from '@chat/common/schemas'

export const MemberParams = t.Object({ id: Uuid, userId: Uuid })

export const Member = t.Object({ userId: Uuid, role: MemberRole, joinedAt: Timestamp }, { title: 'Member' })
export type Member = typeof Member.static

export const MemberPage = t.Object(
  { items: t.Array(Member, { description: 'In the order they joined' }), nextCursor: t.Nullable(t.String({ description: 'The `cursor` of the next page; null on the last' })) },
  { title: 'MemberPage' },
)
export type MemberPage = typeof MemberPage.static

export const MemberPageQuery = t.Object(
  {
    cursor: t.Optional(t.String({ maxLength: 512, description: '`nextCursor` of the previous page' })),
    limit: PageLimit('Default MEMBER_PAGE_DEFAULT (100); values above MEMBER_PAGE_MAX (500) are clamped'),
  },
  // Unknown parameters are allowed (clients add cache busters such as `_=…`).
  { additionalProperties: true },
)
export type MemberPageQuery = typeof MemberPageQuery.static

export const SetRoleBody = t.Object(
  {
    role: t.Union([t.Literal('owner'), t.Literal('admin'), t.Literal('member')], {
      description: '`admin` or `member`; `owner` hands the room over: the target becomes its owner and the caller an admin',
    }),
  },
  { additionalProperties: false, examples: [{ role: 'admin' }] },
)
export type SetRoleBody = typeof SetRoleBody.static

/** The reason's length limit is a setting (BAN_REASON_MAX_CHARS), checked by the service. */
export const BanBody = t.Object(
  {
    userId: Uuid,
    reason: t.Optional(t.String({ maxLength: 10_000, pattern: PLAIN_TEXT_PATTERN, description: 'Kept with the ban for moderators; at most BAN_REASON_MAX_CHARS (500)' })),
  },
  { additionalProperties: false, examples: [{ userId: '3f0c7a52-9d1e-4b8a-a6f2-1c5e9b7d2a40', reason: 'spam' }] },
)
export type BanBody = typeof BanBody.static

export const Ban = t.Object(
  {
    userId: Uuid,
    reason: t.String({ description: 'As given when banning; empty when none' }),
    bannedAt: Timestamp,
    bannedBy: Uuid,
  },
  { title: 'Ban' },
)
export type Ban = typeof Ban.static

export const BanPage = t.Object(
  { items: t.Array(Ban, { description: 'Newest ban first' }), nextCursor: t.Nullable(t.String({ description: 'The `cursor` of the next page; null on the last' })) },
  { title: 'BanPage' },
)
export type BanPage = typeof BanPage.static
