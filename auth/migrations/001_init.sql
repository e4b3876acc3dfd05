-- Login identifiers are copied from the user service (which owns them) so that a login
-- needs no call to another service; the user service keeps them in step.
create table credentials (
  user_id uuid primary key,
  username text not null,
  email text not null,
  password_hash text not null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index credentials_username_key on credentials (lower(username));
create unique index credentials_email_key on credentials (lower(email));

create table sessions (
  id uuid primary key,
  user_id uuid not null references credentials (user_id) on delete cascade,
  created_at timestamptz not null default now(),
  last_used_at timestamptz not null default now(),
  expires_at timestamptz not null,
  user_agent text,
  ip text,
  revoked_at timestamptz
);
create index sessions_active_by_user on sessions (user_id) where revoked_at is null;

-- Only the SHA-256 of a refresh token is stored. `successor` holds the pair that replaced
-- a spent token, sealed with a key derived from that token, for the reuse grace window.
create table refresh_tokens (
  token_hash bytea primary key,
  session_id uuid not null references sessions (id) on delete cascade,
  created_at timestamptz not null default now(),
  spent_at timestamptz,
  successor bytea
);
create index refresh_tokens_by_session on refresh_tokens (session_id);
