-- Full-text search over message bodies (GET /chat/search).
--
-- Two vectors in one: `simple` keeps every word as written (lower-cased, no stemming, no
-- stop words), so a word of any language, a name or a code matches exactly; the stemmed
-- half (the deployment's SEARCH_LANGUAGE, English until the chat service rebuilds it for
-- another, see chat/src/search/language.ts) lets "running" find "runs". A stored
-- generated column follows every edit and every deletion (an erased body has an empty
-- vector) with no code on the write paths, and the index recheck reads it instead of
-- parsing the body again.
alter table messages
  add column search_vector tsvector
  generated always as (to_tsvector('simple'::regconfig, body) || to_tsvector('english'::regconfig, body)) stored;

create index messages_search on messages using gin (search_vector);


-- Newest first across the caller's rooms. A frequent word is answered fastest by walking
-- messages from the newest and keeping those that match (a few hundred rows for a page);
-- a rare one by the GIN index and a sort. Postgres picks between the two from the word's
-- frequency, given an index in exactly the result's order (the primary key is by seq).
create index messages_by_time on messages (created_at desc, room_id desc, seq desc);
