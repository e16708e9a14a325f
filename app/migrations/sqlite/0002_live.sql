-- Read markers for unread counts, and last-seen times for presence.

ALTER TABLE memberships ADD COLUMN last_read_seq INTEGER NOT NULL DEFAULT 0;

ALTER TABLE users ADD COLUMN last_seen_at INTEGER;
