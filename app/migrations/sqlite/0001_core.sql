-- Accounts, conversations and messages. Timestamps are Unix milliseconds.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    -- NFKC-normalized, as typed; shown in the UI.
    username      TEXT    NOT NULL,
    -- Lower-cased username: uniqueness without regard to case.
    username_key  TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    -- Bumped by a password change; sessions minted under an older value are dead.
    auth_version  INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
);

CREATE TABLE rooms (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('public', 'private', 'direct', 'group')),
    -- Empty for direct and group messages, which are named after their members.
    name             TEXT    NOT NULL DEFAULT '',
    topic            TEXT    NOT NULL DEFAULT '',
    -- "<low user id>:<high user id>" for direct messages: one room per pair, by constraint.
    dm_key           TEXT    UNIQUE,
    -- The room's message counter. Incremented inside the sending transaction, so sequence
    -- numbers are gapless: a rolled-back send gives its number back.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL,
    created_by       INTEGER NOT NULL REFERENCES users (id),
    created_at       INTEGER NOT NULL
);

CREATE INDEX rooms_public ON rooms (kind, name) WHERE kind = 'public';

CREATE TABLE memberships (
    room_id   INTEGER NOT NULL REFERENCES rooms (id),
    user_id   INTEGER NOT NULL REFERENCES users (id),
    role      TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (room_id, user_id)
) WITHOUT ROWID;

-- "My rooms" is the sidebar's query.
CREATE INDEX memberships_by_user ON memberships (user_id, room_id);

CREATE TABLE messages (
    id         INTEGER PRIMARY KEY,
    room_id    INTEGER NOT NULL REFERENCES rooms (id),
    seq        INTEGER NOT NULL,
    author_id  INTEGER NOT NULL REFERENCES users (id),
    -- Chosen by the sending client; a retry with the same id returns the stored message.
    client_id  TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    edited_at  INTEGER,
    -- A tombstone: the body is cleared and no edit applies afterwards.
    deleted_at INTEGER,
    UNIQUE (author_id, client_id)
);

-- History pages and resume both walk a room by sequence.
CREATE UNIQUE INDEX messages_by_room_seq ON messages (room_id, seq);
