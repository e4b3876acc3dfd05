create table rooms (
  id uuid primary key,
  name text not null,
  private boolean not null default false,
  -- null for direct-message rooms, which nobody owns
  owner_id uuid,
  -- "<smaller user id>:<larger user id>" for the one DM room of a pair
  dm_key text unique,
  created_at timestamptz not null default now(),
  -- the last assigned message seq; incremented in the transaction that stores messages,
  -- so seqs are gapless and the row lock orders concurrent writers
  last_seq bigint not null default 0
);
create index rooms_public_by_name on rooms (lower(name) text_pattern_ops, id) where not private;

create table members (
  room_id uuid not null references rooms (id) on delete cascade,
  user_id uuid not null,
  joined_at timestamptz not null default now(),
  read_seq bigint not null default 0,
  primary key (room_id, user_id)
);
create index members_by_user on members (user_id);

create table messages (
  room_id uuid not null references rooms (id) on delete cascade,
  seq bigint not null,
  id uuid not null unique,
  sender_id uuid not null,
  body text not null,
  client_id text not null,
  created_at timestamptz not null default now(),
  primary key (room_id, seq)
);
-- a re-sent clientId from the same sender in the same room is the same message
create unique index messages_idempotency on messages (room_id, sender_id, client_id);
