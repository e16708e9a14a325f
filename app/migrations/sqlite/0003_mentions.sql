-- Mentions, resolved when a message is sent: one row per member a message names with
-- `@username`, so mention counts read an index instead of scanning message bodies.

CREATE TABLE mentions (
    user_id INTEGER NOT NULL REFERENCES users (id),
    room_id INTEGER NOT NULL REFERENCES rooms (id),
    seq     INTEGER NOT NULL,
    PRIMARY KEY (user_id, room_id, seq)
) WITHOUT ROWID;

-- Messages sent before this migration: the old rule (the name anywhere in the body), once.
INSERT INTO mentions (user_id, room_id, seq)
SELECT m.user_id, x.room_id, x.seq
FROM messages x
JOIN memberships m ON m.room_id = x.room_id AND m.user_id != x.author_id
JOIN users u ON u.id = m.user_id
WHERE x.deleted_at IS NULL AND instr(lower(x.body), '@' || u.username_key) > 0;
