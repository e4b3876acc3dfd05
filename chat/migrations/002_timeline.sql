-- One stream per room: messages keep their table, every other change to a room's
-- timeline is a row here. Both take their seq from rooms.last_seq under the room's row
-- lock, so a room's seqs stay gapless across the two tables and replay reads both in order.
create table events (
  room_id uuid not null references rooms (id) on delete cascade,
  seq bigint not null,
  kind text not null check (kind in ('edit', 'delete', 'reaction', 'member', 'room')),
  actor_id uuid not null,
  -- the message an edit, deletion or reaction is about; null for member and room events
  target uuid,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  primary key (room_id, seq)
);
-- erasing a deleted message also erases the bodies its edit events carried
create index events_by_target on events (room_id, target) where target is not null;

alter table messages
  add column reply_to uuid,
  add column edited_at timestamptz,
  -- a deleted message stays as a tombstone (body '') so the room's seqs stay gapless
  add column deleted_at timestamptz;

create table reactions (
  message_id uuid not null references messages (id) on delete cascade,
  user_id uuid not null,
  emoji text not null,
  created_at timestamptz not null default now(),
  primary key (message_id, user_id, emoji)
);

alter table members
  add column role text not null default 'member' check (role in ('owner', 'admin', 'member'));
update members m set role = 'owner' from rooms r where r.id = m.room_id and r.owner_id = m.user_id;
