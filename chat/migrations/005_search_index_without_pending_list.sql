-- New messages go straight into the search index instead of its pending list.
--
-- With fastupdate on (Postgres' default), GIN entries first pile up in a pending list, and
-- the insert that finds the list full (gin_pending_list_limit, 4 MB) merges all of it into
-- the index itself. Here that insert is a message store, which holds its rooms' row
-- locks while it runs: every few seconds under load, one batch took tens of milliseconds
-- longer and every store of those rooms, on every instance, waited behind it. In
-- `bun run bench:chat`'s direct-message shape this was the p99: 160–161 ms with the list,
-- 124–148 ms without, at the same throughput. Searches also no longer scan the unsorted
-- list.
alter index messages_search set (fastupdate = off);

-- Turning it off keeps what is already pending; merge it now rather than at the next vacuum.
-- Both hold the index exclusively until the migration commits: storing and searching wait
-- for the merge of at most one full list (4 MB), a second or less.
select gin_clean_pending_list('messages_search'::regclass);
