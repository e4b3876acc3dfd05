import { t } from 'elysia'
import { PageLimit } from '@chat/common/pagination'
import { Password } from '@chat/common/passwords'
import { Email, MULTILINE_TEXT_PATTERN, NAME_PATTERN, PLAIN_TEXT_PATTERN, Timestamp, Username, Uuid } from '@chat/common/schemas'

export const DisplayName = t.String({ minLength: 1, maxLength: 64, pattern: NAME_PATTERN, examples: ['Ada Lovelace'] })
export const Bio = t.Nullable(t.String({ maxLength: 500, pattern: MULTILINE_TEXT_PATTERN }))
export const AvatarUrl = t.Nullable(t.String({ maxLength: 2048, format: 'uri', pattern: '^https?://', examples: ['https://example.com/ada.png'] }))

export const PublicProfile = t.Object(
  { id: Uuid, username: t.String(), displayName: t.String(), bio: t.Nullable(t.String()), avatarUrl: t.Nullable(t.String()) },
  { title: 'PublicProfile' },
)
export type PublicProfile = typeof PublicProfile.static

export const User = t.Object(
  {
    id: Uuid,
    username: t.String(),
    email: t.String(),
    emailVerified: t.Boolean({ description: 'Whether the address was confirmed with the link mailed to it; false again after every email change' }),
    displayName: t.String(),
    bio: t.Nullable(t.String()),
    avatarUrl: t.Nullable(t.String()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { title: 'User' },
)
export type User = typeof User.static

export const RegisterBody = t.Object(
  { username: Username, email: Email, password: Password, displayName: t.Optional(DisplayName) },
  { additionalProperties: false },
)
export type RegisterBody = typeof RegisterBody.static

export const UpdateMeBody = t.Object(
  {
    username: t.Optional(Username),
    email: t.Optional(Email),
    displayName: t.Optional(DisplayName),
    bio: t.Optional(Bio),
    avatarUrl: t.Optional(AvatarUrl),
    currentPassword: t.Optional(
      t.String({ minLength: 1, maxLength: 128, description: 'Required with a new `email`: a stolen access token alone must not be able to move the account to another address' }),
    ),
  },
  { additionalProperties: false, minProperties: 1 },
)
export type UpdateMeBody = typeof UpdateMeBody.static

export const DeleteMeBody = t.Object(
  { password: t.String({ minLength: 1, maxLength: 128 }) },
  { additionalProperties: false, examples: [{ password: 'correct horse battery staple' }] },
)

/** Unknown parameters are allowed (clients add cache busters such as `_=…`); Elysia makes an object strict unless told. */
export const SearchQuery = t.Object(
  {
    q: t.Optional(t.String({ maxLength: 64, pattern: PLAIN_TEXT_PATTERN, description: 'Prefix of a username or display name' })),
    limit: PageLimit('Default 20; values above 100 are clamped'),
    cursor: t.Optional(t.String({ maxLength: 512, description: '`nextCursor` of the previous page' })),
  },
  { additionalProperties: true },
)
export type SearchQuery = typeof SearchQuery.static

export const UserPage = t.Object({ items: t.Array(PublicProfile), nextCursor: t.Nullable(t.String()) }, { title: 'UserPage' })
export type UserPage = typeof UserPage.static

export const UserIdParams = t.Object({ id: Uuid })

/** Auth marks an address verified only if the user still has it. */
export const EmailVerifiedBody = t.Object({ email: t.String({ maxLength: 254 }) })
