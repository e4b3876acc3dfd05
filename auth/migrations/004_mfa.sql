-- TOTP two-factor. The secret is sealed with AES-256-GCM under MFA_ENCRYPTION_KEY (and
-- bound to its user), never stored in the clear. `confirmed_at` null: enrolment pending.
-- `last_used_step` is the 30-second time step of the last code accepted: a code of that
-- step or an earlier one is refused, so no code works twice.
create table totp_factors (
  user_id uuid primary key references credentials (user_id) on delete cascade,
  secret_sealed bytea not null,
  created_at timestamptz not null default now(),
  confirmed_at timestamptz,
  last_used_step bigint not null default 0
);

-- Only the SHA-256 of a recovery code is stored: each has 50 random bits, too many to
-- try offline even without a slow hash. A used code keeps its row (`used_at`).
create table recovery_codes (
  user_id uuid not null references credentials (user_id) on delete cascade,
  code_hash bytea not null,
  used_at timestamptz,
  primary key (user_id, code_hash)
);

-- The step between a right password and a right code: only the SHA-256 of the mfaToken
-- is stored. `attempts` counts codes tried with it; it is spent at the first right code.
create table mfa_challenges (
  token_hash bytea primary key,
  user_id uuid not null references credentials (user_id) on delete cascade,
  created_at timestamptz not null default now(),
  expires_at timestamptz not null,
  attempts integer not null default 0,
  spent_at timestamptz
);
create index mfa_challenges_by_user on mfa_challenges (user_id);
