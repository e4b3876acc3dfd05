import { t } from 'elysia'
import { Uuid } from '@chat/common/schemas'

export const Receipts = t.Array(
  t.Object({ userId: Uuid, seq: t.Integer({ minimum: 1, description: 'The newest `seq` this member has read' }) }),
  { title: 'Receipts', description: 'Most advanced first; members who have read nothing are not listed' },
)
export type Receipts = typeof Receipts.static
