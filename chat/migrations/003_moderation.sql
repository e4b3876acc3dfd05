-- Set by owners and admins (PATCH /chat/rooms/:id); empty when none.
alter table rooms add column topic text not null default '';

-- A banned user is not a member and cannot join, be added or accept an invite until unbanned.
-- A ban may precede any membership (as in Matrix and Discord), so user_id is not a member.
create table bans (
  room_id uuid not null references rooms (id) on delete cascade,
  user_id uuid not null,
  banned_by uuid not null,
  reason text not null default '',
  created_at timestamptz not null default now(),
  primary key (room_id, user_id)
);

-- Invite codes are bearer secrets: only their SHA-256 is stored, like refresh tokens.
-- `uses` is counted by the accepting statement itself (uses < max_uses), so concurrent
-- accepts can never exceed the limit.
create table invites (
  code_hash bytea primary key,
  room_id uuid not null references rooms (id) on delete cascade,
  created_by uuid not null,
  -- null: any number of uses until it expires
  max_uses integer check (max_uses > 0),
  uses integer not null default 0 check (max_uses is null or uses <= max_uses),
  expires_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index invites_by_room on invites (room_id, expires_at);
