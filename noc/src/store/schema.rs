//! The SQLite schema and its versioned migrations.
//!
//! `PRAGMA user_version` holds the schema version. Each entry of [`MIGRATIONS`] moves the schema one version up,
//! inside one transaction, so a crash mid-migration leaves the previous version intact.
//! NB: never edit a migration that has shipped; append a new one.

use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1: the first schema.
    r#"
    CREATE TABLE satellites (
        key_sha256   TEXT PRIMARY KEY,
        location     TEXT NOT NULL,
        status       TEXT NOT NULL,          -- pending | accepted | rejected | revoked
        hostname     TEXT NOT NULL DEFAULT '',
        version      TEXT NOT NULL DEFAULT '',
        first_seen   INTEGER NOT NULL,
        updated_at   INTEGER NOT NULL
    );
    CREATE INDEX satellites_location ON satellites(location);

    CREATE TABLE locations (
        location          TEXT PRIMARY KEY,
        last_seen         INTEGER NOT NULL,  -- NOC clock, ms
        last_sent_at      INTEGER,           -- satellite clock of the last request, ms
        clock_offset_ms   INTEGER,           -- satellite clock minus NOC clock, smoothed
        ship_interval_s   INTEGER,
        version           TEXT NOT NULL DEFAULT '',
        backlog_items     INTEGER,
        backlog_bytes     INTEGER,
        backlog_oldest_ms INTEGER,
        last_snapshot_at  INTEGER,           -- satellite clock of the last applied snapshot
        silent_since      INTEGER            -- NOC clock when declared silent; NULL while fresh
    );

    -- Per location and stream: the epoch and highest sequence durably applied.
    CREATE TABLE streams (
        location TEXT NOT NULL,
        stream   INTEGER NOT NULL,
        epoch    INTEGER NOT NULL,
        seq      INTEGER NOT NULL,
        PRIMARY KEY (location, stream)
    ) WITHOUT ROWID;

    -- The last applied snapshot per location, with local names: the base for deltas.
    CREATE TABLE bases (
        location TEXT PRIMARY KEY,
        epoch    INTEGER NOT NULL,
        seq      INTEGER NOT NULL,
        hash     BLOB NOT NULL,
        snapshot BLOB NOT NULL               -- zstd(MessagePack(Snapshot))
    );

    -- WITHOUT ROWID: an update touches one b-tree (plus the problems index only for problem rows).
    CREATE TABLE objects (
        location          TEXT NOT NULL,
        name              TEXT NOT NULL,     -- prefixed: host, or host/service
        host              TEXT NOT NULL,     -- prefixed host name
        service           TEXT,              -- NULL for hosts
        state             INTEGER NOT NULL,
        state_type        INTEGER NOT NULL,
        output            TEXT NOT NULL,
        long_output       TEXT NOT NULL,
        perfdata          TEXT NOT NULL,
        last_check        INTEGER NOT NULL,
        last_state_change INTEGER NOT NULL,
        acknowledged      INTEGER NOT NULL,
        in_downtime       INTEGER NOT NULL,
        stale             INTEGER NOT NULL DEFAULT 0,
        severity          INTEGER NOT NULL,
        deleted_at        INTEGER,           -- tombstone: NOC clock, ms
        updated_at        INTEGER NOT NULL,
        PRIMARY KEY (location, name)
    ) WITHOUT ROWID;
    CREATE INDEX objects_problems ON objects(severity DESC, location, name) WHERE severity > 0 AND deleted_at IS NULL;
    CREATE INDEX objects_tombstones ON objects(deleted_at) WHERE deleted_at IS NOT NULL;

    CREATE TABLE events (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        location    TEXT NOT NULL,
        epoch       INTEGER NOT NULL,        -- 0 for events the NOC raises itself
        seq         INTEGER NOT NULL,
        time        INTEGER NOT NULL,        -- satellite clock, ms
        received_at INTEGER NOT NULL,        -- NOC clock, ms
        kind        TEXT NOT NULL,
        object      TEXT,                    -- prefixed object name
        state       INTEGER,
        summary     TEXT NOT NULL,
        time_flag   TEXT,                    -- 'future' | 'past' when the satellite's time is implausible
        body        BLOB NOT NULL            -- MessagePack(Event), named fields
    );
    CREATE INDEX events_location ON events(location, id);
    CREATE INDEX events_kind ON events(kind, id);
    CREATE INDEX events_received ON events(received_at);

    CREATE TABLE sink_cursors (
        name TEXT PRIMARY KEY,
        id   INTEGER NOT NULL
    );

    -- Suspect snapshots held for an operator; at most one (the latest) per location.
    CREATE TABLE held (
        location          TEXT PRIMARY KEY,
        epoch             INTEGER NOT NULL,
        seq               INTEGER NOT NULL,
        received_at       INTEGER NOT NULL,
        deletes           INTEGER NOT NULL,
        existing          INTEGER NOT NULL,
        reason            TEXT NOT NULL,
        snapshot          BLOB NOT NULL,     -- zstd(MessagePack(Snapshot))
        release_requested INTEGER NOT NULL DEFAULT 0
    );
    "#,
    // 1 -> 2: `noc restore` marks every events stream; the first batch after a restore may then skip the seqs the
    // lost store had acknowledged (the satellite deleted them), instead of being refused as a gap forever.
    r#"
    ALTER TABLE streams ADD COLUMN restored INTEGER NOT NULL DEFAULT 0;
    "#,
    // 2 -> 3: the per-location health counts of `/api/v1/locations` and `/metrics` read this narrow covering
    // index instead of every wide row of the objects table (see docs/benchmarks.md, "Web view"). It changes only
    // when an object is created, deleted or changes state. Not a partial index: SQLite does not treat a partial
    // index as covering when its WHERE column is not among the indexed ones.
    r#"
    CREATE INDEX objects_health ON objects(location, state, severity, deleted_at);
    "#,
    // 3 -> 4: every index costs a page write in each one-event commit. Retention walks the log in id order
    // (ids follow commit order, as received_at does), so this index only made commits slower.
    "DROP INDEX events_received;",
    // 4 -> 5: events retention deleted before a sink handled them (counted in the deleting transaction), and how
    // many of those the sink has reported (log line and `outpost_noc_sink_events_lost_total`).
    r#"
    ALTER TABLE sink_cursors ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE sink_cursors ADD COLUMN lost_reported INTEGER NOT NULL DEFAULT 0;
    "#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database up to [`SCHEMA_VERSION`]; refuses a database written by a newer build.
pub fn migrate(conn: &mut Connection) -> anyhow::Result<()> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > SCHEMA_VERSION {
        anyhow::bail!(
            "the store has schema version {current}, newer than this build's {SCHEMA_VERSION}; run a newer noc"
        );
    }
    for (idx, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", idx as i64 + 1)?;
        tx.commit()?;
        tracing::info!(version = idx + 1, "store schema migrated");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrate_is_idempotent_and_refuses_newer() {
        let mut c = Connection::open_in_memory().expect("open");
        migrate(&mut c).expect("first");
        migrate(&mut c).expect("second");
        c.pragma_update(None, "user_version", SCHEMA_VERSION + 1).expect("bump");
        assert!(migrate(&mut c).is_err());
    }
}
