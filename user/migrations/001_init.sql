create table users (
  id uuid primary key,
  username text not null,
  email text not null,
  display_name text not null,
  bio text,
  avatar_url text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create unique index users_username_key on users (lower(username));
create unique index users_email_key on users (lower(email));
-- Prefix search on username and display name (text_pattern_ops serves LIKE 'abc%').
create index users_username_prefix on users (lower(username) text_pattern_ops, id);
create index users_display_name_prefix on users (lower(display_name) text_pattern_ops);
