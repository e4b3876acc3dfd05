-- Shown as `emailVerified`; set by the auth service (which owns verification) through an
-- internal route, cleared here when the email changes. Existing accounts start unverified.
alter table users add column email_verified boolean not null default false;
