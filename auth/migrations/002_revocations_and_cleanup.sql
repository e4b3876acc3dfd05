-- Revoked sessions, kept apart from `sessions` so they outlive them: a deleted account's
-- sessions cascade away with its credential, while its access tokens would stay valid to
-- the end of their life. This table is the blacklist's source of truth (Redis is its fast
-- path); a row is needed until the last access token of its session has expired.
create table revocations (
  session_id uuid primary key,
  reason text not null,
  revoked_at timestamptz not null default now(),
  expires_at timestamptz not null
);
create index revocations_by_expiry on revocations (expires_at);

-- For the cleanup job, which deletes in batches by these.
create index sessions_by_expiry on sessions (expires_at);
create index sessions_revoked on sessions (revoked_at) where revoked_at is not null;
create index refresh_tokens_spent on refresh_tokens (spent_at) where spent_at is not null;
