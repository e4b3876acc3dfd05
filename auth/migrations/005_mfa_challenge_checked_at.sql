-- The credential's `updated_at` when the login that opened the challenge checked the
-- password. POST /auth/mfa/verify opens its session only if the credential is still
-- unchanged, as a login without two-factor does (sessions/service.ts createSession): a
-- password reset committing while a verify is under way must not leave that session open.
-- Null for challenges opened before this column existed (they live minutes).
alter table mfa_challenges add column credential_checked_at timestamptz;
