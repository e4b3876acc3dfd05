-- Member and ban lists are paged by (joined_at, user_id) and (created_at, user_id) within a
-- room (GET /chat/rooms/:id/members, …/bans). Without these indexes every page sorted all
-- of the room's rows: 40–50 ms a page with 100,000 members, so reading such a list to its
-- end cost Postgres time in the square of its length. Neither column ever changes, so
-- the indexes cost a write only when a member joins or leaves, or a user is (un)banned.
-- Building them holds writes to the two tables until the migration commits (seconds at
-- millions of memberships).
create index members_by_join_time on members (room_id, joined_at, user_id);
create index bans_by_time on bans (room_id, created_at, user_id);
