-- Outgoing mail, written in the same transaction as the change that causes it and sent
-- by a worker (auth/src/mail/worker.ts), so a mail is never lost to an SMTP server that
-- is down and never sent for a change that rolled back. A row holds what the mail is
-- about (`kind`, `data`), rendered when it is sent; it is deleted once delivered, so a
-- link's token is kept no longer than it takes to send it.
create table outbox (
  id uuid primary key default gen_random_uuid(),
  -- Mails about an account go with it when it is deleted (or its registration undone).
  user_id uuid references credentials (user_id) on delete cascade,
  kind text not null,
  recipient text not null,
  data jsonb not null default '{}',
  created_at timestamptz not null default now(),
  next_attempt_at timestamptz not null default now(),
  -- A claim: the instance sending the row owns it until then; after a crash it is claimed again.
  locked_until timestamptz,
  attempts int not null default 0,
  last_error text,
  -- Given up after MAIL_MAX_ATTEMPTS; kept for an operator to look at, without its data.
  failed_at timestamptz
);
create index outbox_due on outbox (next_attempt_at) where failed_at is null;

-- One-time tokens sent by mail. Only the SHA-256 of a token is stored; a token is valid
-- while unused, unexpired, and while the account's email is still the one it was sent to.
create table email_tokens (
  token_hash bytea primary key,
  user_id uuid not null references credentials (user_id) on delete cascade,
  purpose text not null check (purpose in ('verify_email', 'reset_password')),
  email text not null,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  used_at timestamptz
);
create index email_tokens_by_user on email_tokens (user_id, purpose) where used_at is null;
create index email_tokens_by_expiry on email_tokens (expires_at);

alter table credentials add column email_verified_at timestamptz;
