//! Read queries (and the few small operator writes) over the store's tables.
//! Everything here takes a `&Connection`, so the daemon's pool and the CLI share the same code.

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;

use super::{StoreOptions, StoredEvent, codec};

// ---- events ----

/// Filters for the event log. `limit` is capped at [`MAX_PAGE`].
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub location: Option<String>,
    pub kind: Option<String>,
    pub state: Option<u8>,
    pub before_id: Option<i64>,
    pub after_id: Option<i64>,
    pub limit: usize,
}

/// The largest page any query returns.
pub const MAX_PAGE: usize = 10_000;

const EVENT_COLUMNS: &str =
    "id, location, epoch, seq, time, received_at, kind, object, state, summary, time_flag, body";

fn event_row(r: &Row<'_>) -> rusqlite::Result<StoredEvent> {
    let body: Vec<u8> = r.get(11)?;
    let event = codec::decode_event(&body)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(11, rusqlite::types::Type::Blob, Box::new(e)))?;
    Ok(StoredEvent {
        id: r.get(0)?,
        location: r.get(1)?,
        epoch: r.get::<_, i64>(2)? as u64,
        seq: r.get::<_, i64>(3)? as u64,
        time: r.get(4)?,
        received_at: r.get(5)?,
        kind: r.get(6)?,
        object: r.get(7)?,
        state: r.get::<_, Option<i64>>(8)?.map(|s| s as u8),
        summary: r.get(9)?,
        time_flag: r.get(10)?,
        event,
    })
}

pub fn events_after(c: &Connection, after_id: i64, limit: usize) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut st = c.prepare_cached(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id > ?1 ORDER BY id LIMIT ?2"))?;
    st.query_map(params![after_id, limit.min(MAX_PAGE) as i64], event_row)?.collect()
}

pub fn query_events(c: &Connection, f: &EventFilter) -> rusqlite::Result<Vec<StoredEvent>> {
    let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE 1=1");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(l) = &f.location {
        args.push(l.clone().into());
        sql += &format!(" AND location = ?{}", args.len());
    }
    if let Some(k) = &f.kind {
        args.push(k.clone().into());
        sql += &format!(" AND kind = ?{}", args.len());
    }
    if let Some(s) = f.state {
        args.push(i64::from(s).into());
        sql += &format!(" AND state = ?{}", args.len());
    }
    if let Some(b) = f.before_id {
        args.push(b.into());
        sql += &format!(" AND id < ?{}", args.len());
    }
    let ascending = f.after_id.is_some();
    if let Some(a) = f.after_id {
        args.push(a.into());
        sql += &format!(" AND id > ?{}", args.len());
    }
    let limit = if f.limit == 0 { 100 } else { f.limit.min(MAX_PAGE) };
    sql += &format!(" ORDER BY id {} LIMIT {limit}", if ascending { "ASC" } else { "DESC" });
    let mut st = c.prepare(&sql)?;
    st.query_map(rusqlite::params_from_iter(args), event_row)?.collect()
}

pub fn sink_cursor(c: &Connection, name: &str) -> rusqlite::Result<i64> {
    c.query_row("SELECT id FROM sink_cursors WHERE name = ?1", [name], |r| r.get(0)).optional().map(|v| v.unwrap_or(0))
}

pub fn set_sink_cursor(c: &Connection, name: &str, id: i64) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO sink_cursors (name, id) VALUES (?1, ?2) ON CONFLICT(name) DO UPDATE SET id = excluded.id",
        params![name, id],
    )?;
    Ok(())
}

/// Events retention deleted before sink `name` handled them and that it has not reported yet; marks them
/// reported. A concurrent retention run adds to `lost` after the read: those stay for the next call.
pub fn take_sink_losses(c: &Connection, name: &str) -> rusqlite::Result<u64> {
    let row: Option<(i64, i64)> = c
        .prepare_cached("SELECT lost, lost_reported FROM sink_cursors WHERE name = ?1")?
        .query_row([name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((lost, reported)) = row.filter(|(lost, reported)| lost > reported) else { return Ok(0) };
    c.prepare_cached("UPDATE sink_cursors SET lost_reported = ?2 WHERE name = ?1")?.execute(params![name, lost])?;
    Ok((lost - reported) as u64)
}

/// (lost, reported) of sink `name`: every event retention deleted before the sink handled it, since the
/// cursor was created, and how many of those the sink has reported.
pub fn sink_losses(c: &Connection, name: &str) -> rusqlite::Result<(u64, u64)> {
    c.query_row("SELECT lost, lost_reported FROM sink_cursors WHERE name = ?1", [name], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
    })
    .optional()
    .map(|v| v.unwrap_or((0, 0)))
}

/// How far a sink is behind the end of the event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SinkLag {
    /// Events in the log after the sink's cursor.
    pub events: u64,
    /// NOC receive time (ms) of the oldest of them; `None` when there is none.
    pub oldest_received_at: Option<i64>,
}

/// Three rowid look-ups, never a count over the lag (which can be millions of rows while a destination is down):
/// ids are consecutive (AUTOINCREMENT in commit order, and only retention deletes, always a prefix), so the
/// events after the cursor are the ids from the later of the cursor and the first id left, to the last id.
/// Retention's row bound relies on the same property (`apply::trim_event_log`).
const SINK_LAG: &str = "SELECT (SELECT min(id) FROM events), (SELECT max(id) FROM events), \
     (SELECT received_at FROM events WHERE id > ?1 ORDER BY id LIMIT 1)";

pub fn sink_lag(c: &Connection, cursor: i64) -> rusqlite::Result<SinkLag> {
    let (first, last, oldest_received_at): (Option<i64>, Option<i64>, Option<i64>) =
        c.prepare_cached(SINK_LAG)?.query_row([cursor], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let events = match (first, last) {
        (Some(first), Some(last)) => last.saturating_sub(cursor.max(first - 1)).max(0) as u64,
        _ => 0,
    };
    Ok(SinkLag { events, oldest_received_at })
}

// ---- objects ----

/// One object as the operator API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRow {
    /// Prefixed name: `host` or `host/service`, host prefixed with the location.
    pub name: String,
    pub location: String,
    /// Prefixed host name.
    pub host: String,
    /// Service description; `None` for hosts.
    pub service: Option<String>,
    pub state: u8,
    pub state_name: &'static str,
    pub state_type: &'static str,
    pub output: String,
    pub long_output: String,
    pub perfdata: String,
    pub last_check: i64,
    pub last_state_change: i64,
    pub acknowledged: bool,
    pub in_downtime: bool,
    /// The satellite is silent: this is the last known state, not a fresh one.
    pub stale: bool,
    /// 0 OK/UP .. 4 CRITICAL/DOWN (see `outpost_format::model::severity`).
    pub severity: u8,
}

/// Filters for objects. `limit` 0 means 100; capped at [`MAX_PAGE`].
#[derive(Debug, Clone, Default)]
pub struct ObjectFilter {
    pub location: Option<String>,
    /// Only objects not OK/UP; sorted worst first.
    pub problems: bool,
    pub state: Option<u8>,
    pub acknowledged: Option<bool>,
    pub downtime: Option<bool>,
    /// Substring of the name (case-insensitive for ASCII).
    pub q: Option<String>,
    pub offset: usize,
    pub limit: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectPage {
    pub total: u64,
    pub items: Vec<ObjectRow>,
}

const OBJECT_COLUMNS: &str = "name, location, host, service, state, state_type, output, long_output, perfdata, \
                              last_check, last_state_change, acknowledged, in_downtime, stale, severity";

fn object_row(r: &Row<'_>) -> rusqlite::Result<ObjectRow> {
    let service: Option<String> = r.get(3)?;
    let state = r.get::<_, i64>(4)? as u8;
    let state_type: i64 = r.get(5)?;
    Ok(ObjectRow {
        name: r.get(0)?,
        location: r.get(1)?,
        host: r.get(2)?,
        state_name: outpost_format::model::state_name(service.is_none(), state),
        service,
        state,
        state_type: if state_type == 0 { "SOFT" } else { "HARD" },
        output: r.get(6)?,
        long_output: r.get(7)?,
        perfdata: r.get(8)?,
        last_check: r.get(9)?,
        last_state_change: r.get(10)?,
        acknowledged: r.get(11)?,
        in_downtime: r.get(12)?,
        stale: r.get(13)?,
        severity: r.get::<_, i64>(14)? as u8,
    })
}

pub fn objects_where(c: &Connection, location: Option<&str>) -> rusqlite::Result<Vec<ObjectRow>> {
    match location {
        Some(l) => {
            let mut st = c.prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE location = ?1 AND deleted_at IS NULL ORDER BY name"
            ))?;
            st.query_map([l], object_row)?.collect()
        }
        None => {
            let mut st = c.prepare_cached(&format!(
                "SELECT {OBJECT_COLUMNS} FROM objects WHERE deleted_at IS NULL ORDER BY location, name"
            ))?;
            st.query_map([], object_row)?.collect()
        }
    }
}

pub fn query_objects(c: &Connection, f: &ObjectFilter) -> rusqlite::Result<ObjectPage> {
    let mut filter = String::from(" WHERE deleted_at IS NULL");
    let mut args: Vec<rusqlite::types::Value> = Vec::new();
    if let Some(l) = &f.location {
        args.push(l.clone().into());
        filter += &format!(" AND location = ?{}", args.len());
    }
    if f.problems {
        filter += " AND severity > 0";
    }
    if let Some(s) = f.state {
        args.push(i64::from(s).into());
        filter += &format!(" AND state = ?{}", args.len());
    }
    if let Some(a) = f.acknowledged {
        filter += if a { " AND acknowledged = 1" } else { " AND acknowledged = 0" };
    }
    if let Some(d) = f.downtime {
        filter += if d { " AND in_downtime = 1" } else { " AND in_downtime = 0" };
    }
    if let Some(q) = f.q.as_deref().filter(|q| !q.is_empty()) {
        let escaped = q.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        args.push(format!("%{escaped}%").into());
        filter += &format!(" AND name LIKE ?{} ESCAPE '\\'", args.len());
    }
    let total: i64 =
        c.query_row(&format!("SELECT count(*) FROM objects{filter}"), rusqlite::params_from_iter(args.iter()), |r| {
            r.get(0)
        })?;
    let order = if f.problems { "severity DESC, last_state_change DESC, location, name" } else { "location, name" };
    let limit = if f.limit == 0 { 100 } else { f.limit.min(MAX_PAGE) };
    let sql =
        format!("SELECT {OBJECT_COLUMNS} FROM objects{filter} ORDER BY {order} LIMIT {limit} OFFSET {}", f.offset);
    let mut st = c.prepare(&sql)?;
    let items = st.query_map(rusqlite::params_from_iter(args.iter()), object_row)?.collect::<Result<_, _>>()?;
    Ok(ObjectPage { total: total as u64, items })
}

// ---- locations ----

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Problems {
    pub critical: u64,
    pub warning: u64,
    pub unknown: u64,
    pub down: u64,
    pub unreachable: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct LocationRow {
    pub location: String,
    /// Enrollment status of the location's newest key: `accepted`, `pending`, ..., or `preshared`/`unknown`.
    pub status: String,
    /// `ok`, `stale` (silent satellite), `problem` (some object not OK) or `pending` (not yet accepted).
    pub health: &'static str,
    pub last_seen: Option<i64>,
    /// How old the newest applied snapshot is, by the NOC clock corrected for the satellite's clock offset.
    pub lag_ms: Option<i64>,
    pub backlog_items: Option<i64>,
    pub backlog_bytes: Option<i64>,
    pub backlog_oldest_ms: Option<i64>,
    pub version: String,
    pub clock_offset_ms: Option<i64>,
    pub objects: u64,
    pub problems: Problems,
    /// Announced shipping interval, seconds.
    pub ship_interval_s: Option<i64>,
    pub silent_since: Option<i64>,
}

/// Live objects per location, state and severity: answered from the covering index `objects_health` (schema
/// migration 3), a few bytes per object, instead of the wide rows. See [`problem_counter`] for why severity.
const LOCATION_COUNTS: &str = "SELECT location, state, severity, count(*) FROM objects WHERE deleted_at IS NULL \
                               GROUP BY location, state, severity";

/// The counter an object with this state and severity adds to (`None` for OK/UP).
/// Severity tells hosts from services wherever the counters differ (`outpost_format::model::severity`): state 1 is
/// DOWN for a host (severity 4) and WARNING for a service (1); state 2 or more is UNREACHABLE for a host (3), and
/// CRITICAL (4, state 2) or UNKNOWN (2) for a service.
fn problem_counter(p: &mut Problems, state: i64, severity: i64) -> Option<&mut u64> {
    match (severity, state) {
        (0, _) => None,
        (1, _) => Some(&mut p.warning),
        (2, _) => Some(&mut p.unknown),
        (3, _) => Some(&mut p.unreachable),
        (_, 1) => Some(&mut p.down),
        _ => Some(&mut p.critical),
    }
}

pub fn locations(c: &Connection, now_ms: i64, _opts: &StoreOptions) -> rusqlite::Result<Vec<LocationRow>> {
    use std::collections::BTreeMap;
    let mut rows: BTreeMap<String, LocationRow> = BTreeMap::new();
    let blank = |location: &str| LocationRow {
        location: location.to_string(),
        status: "unknown".into(),
        health: "ok",
        last_seen: None,
        lag_ms: None,
        backlog_items: None,
        backlog_bytes: None,
        backlog_oldest_ms: None,
        version: String::new(),
        clock_offset_ms: None,
        objects: 0,
        problems: Problems::default(),
        ship_interval_s: None,
        silent_since: None,
    };
    let mut st = c.prepare_cached(
        "SELECT location, last_seen, clock_offset_ms, ship_interval_s, version, backlog_items, backlog_bytes, \
         backlog_oldest_ms, last_snapshot_at, silent_since FROM locations",
    )?;
    let mut q = st.query([])?;
    while let Some(r) = q.next()? {
        let location: String = r.get(0)?;
        let mut row = blank(&location);
        row.last_seen = r.get(1)?;
        row.clock_offset_ms = r.get(2)?;
        row.ship_interval_s = r.get(3)?;
        row.version = r.get(4)?;
        row.backlog_items = r.get(5)?;
        row.backlog_bytes = r.get(6)?;
        row.backlog_oldest_ms = r.get(7)?;
        let snap_at: Option<i64> = r.get(8)?;
        row.lag_ms = snap_at.map(|t| (now_ms - (t - row.clock_offset_ms.unwrap_or(0))).max(0));
        row.silent_since = r.get(9)?;
        rows.insert(location, row);
    }
    // Newest key per location decides the status shown.
    let mut st = c.prepare_cached("SELECT location, status FROM satellites ORDER BY updated_at")?;
    let mut q = st.query([])?;
    while let Some(r) = q.next()? {
        let location: String = r.get(0)?;
        let status: String = r.get(1)?;
        rows.entry(location.clone()).or_insert_with(|| blank(&location)).status = status;
    }
    let mut st = c.prepare_cached(LOCATION_COUNTS)?;
    let mut q = st.query([])?;
    while let Some(r) = q.next()? {
        let location: String = r.get(0)?;
        let (state, severity): (i64, i64) = (r.get(1)?, r.get(2)?);
        let n = r.get::<_, i64>(3)? as u64;
        let row = rows.entry(location.clone()).or_insert_with(|| blank(&location));
        row.objects += n;
        if let Some(counter) = problem_counter(&mut row.problems, state, severity) {
            *counter += n;
        }
    }
    for row in rows.values_mut() {
        if row.status == "unknown" && row.last_seen.is_some() {
            row.status = "preshared".into();
        }
        let p = &row.problems;
        row.health = if matches!(row.status.as_str(), "pending") {
            "pending"
        } else if row.silent_since.is_some() {
            "stale"
        } else if p.critical + p.warning + p.unknown + p.down + p.unreachable > 0 {
            "problem"
        } else {
            "ok"
        };
    }
    Ok(rows.into_values().collect())
}

// ---- satellites ----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SatelliteStatus {
    Pending,
    Accepted,
    Rejected,
    Revoked,
}

impl SatelliteStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SatelliteStatus::Pending => "pending",
            SatelliteStatus::Accepted => "accepted",
            SatelliteStatus::Rejected => "rejected",
            SatelliteStatus::Revoked => "revoked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => SatelliteStatus::Pending,
            "accepted" => SatelliteStatus::Accepted,
            "rejected" => SatelliteStatus::Rejected,
            "revoked" => SatelliteStatus::Revoked,
            _ => return None,
        })
    }
    /// Accept and reject act on pending keys; revoke acts on accepted ones. Revoked and rejected are final.
    pub fn may_become(self, to: SatelliteStatus) -> bool {
        matches!(
            (self, to),
            (SatelliteStatus::Pending, SatelliteStatus::Accepted)
                | (SatelliteStatus::Pending, SatelliteStatus::Rejected)
                | (SatelliteStatus::Accepted, SatelliteStatus::Revoked)
                | (SatelliteStatus::Pending, SatelliteStatus::Revoked)
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SatelliteRow {
    pub location: String,
    pub status: SatelliteStatus,
    /// First 16 hex digits of the key's SHA-256, enough to tell keys apart.
    pub key_fingerprint: String,
    #[serde(skip)]
    pub key_sha256: String,
    pub hostname: String,
    pub version: String,
    pub first_seen: i64,
    pub updated_at: i64,
}

fn satellite_row(r: &Row<'_>) -> rusqlite::Result<SatelliteRow> {
    let key: String = r.get(0)?;
    let status: String = r.get(2)?;
    Ok(SatelliteRow {
        key_fingerprint: key.chars().take(16).collect(),
        key_sha256: key,
        location: r.get(1)?,
        // Unknown text cannot be written by this code; treat it as the safest state.
        status: SatelliteStatus::parse(&status).unwrap_or(SatelliteStatus::Revoked),
        hostname: r.get(3)?,
        version: r.get(4)?,
        first_seen: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

const SATELLITE_COLUMNS: &str = "key_sha256, location, status, hostname, version, first_seen, updated_at";

pub fn satellites(c: &Connection) -> rusqlite::Result<Vec<SatelliteRow>> {
    let mut st =
        c.prepare_cached(&format!("SELECT {SATELLITE_COLUMNS} FROM satellites ORDER BY location, first_seen"))?;
    st.query_map([], satellite_row)?.collect()
}

pub fn satellite_by_key(c: &Connection, key_sha256: &str) -> rusqlite::Result<Option<SatelliteRow>> {
    let mut st = c.prepare_cached(&format!("SELECT {SATELLITE_COLUMNS} FROM satellites WHERE key_sha256 = ?1"))?;
    st.query_row([key_sha256], satellite_row).optional()
}

pub fn enroll(
    c: &Connection,
    key_sha256: &str,
    location: &str,
    hostname: &str,
    version: &str,
    now_ms: i64,
) -> rusqlite::Result<SatelliteRow> {
    c.execute(
        "INSERT INTO satellites (key_sha256, location, status, hostname, version, first_seen, updated_at) \
         VALUES (?1, ?2, 'pending', ?3, ?4, ?5, ?5) \
         ON CONFLICT(key_sha256) DO UPDATE SET hostname = excluded.hostname, version = excluded.version",
        params![key_sha256, location, hostname, version, now_ms],
    )?;
    satellite_by_key(c, key_sha256)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

pub fn set_satellite_status(
    c: &Connection,
    location: &str,
    to: SatelliteStatus,
    now_ms: i64,
) -> rusqlite::Result<usize> {
    let from: &[&str] = match to {
        SatelliteStatus::Accepted | SatelliteStatus::Rejected => &["pending"],
        SatelliteStatus::Revoked => &["pending", "accepted"],
        SatelliteStatus::Pending => &[],
    };
    let mut n = 0;
    for f in from {
        n += c.execute(
            "UPDATE satellites SET status = ?1, updated_at = ?2 WHERE location = ?3 AND status = ?4",
            params![to.as_str(), now_ms, location, f],
        )?;
    }
    Ok(n)
}

// ---- held snapshots ----

#[derive(Debug, Clone, Serialize)]
pub struct HeldRow {
    pub location: String,
    pub epoch: u64,
    pub seq: u64,
    pub received_at: i64,
    pub deletes: u64,
    pub existing: u64,
    pub reason: String,
    pub release_requested: bool,
}

pub fn held(c: &Connection) -> rusqlite::Result<Vec<HeldRow>> {
    let mut st = c.prepare_cached(
        "SELECT location, epoch, seq, received_at, deletes, existing, reason, release_requested FROM held \
         ORDER BY location",
    )?;
    st.query_map([], |r| {
        Ok(HeldRow {
            location: r.get(0)?,
            epoch: r.get::<_, i64>(1)? as u64,
            seq: r.get::<_, i64>(2)? as u64,
            received_at: r.get(3)?,
            deletes: r.get::<_, i64>(4)? as u64,
            existing: r.get::<_, i64>(5)? as u64,
            reason: r.get(6)?,
            release_requested: r.get(7)?,
        })
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_read_only_the_health_index() {
        let mut c = Connection::open_in_memory().expect("open");
        super::super::schema::migrate(&mut c).expect("migrate");
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {LOCATION_COUNTS}")).expect("plan");
        let plan: Vec<String> = st.query_map([], |r| r.get(3)).expect("rows").collect::<Result<_, _>>().expect("plan");
        assert!(plan.iter().any(|step| step.contains("COVERING INDEX objects_health")), "{plan:?}");
    }

    #[test]
    fn sink_lag_reads_three_rows_by_id_and_counts_what_is_after_the_cursor() {
        let mut c = Connection::open_in_memory().expect("open");
        super::super::schema::migrate(&mut c).expect("migrate");
        let mut st = c.prepare(&format!("EXPLAIN QUERY PLAN {SINK_LAG}")).expect("plan");
        let plan: Vec<String> = st.query_map([0], |r| r.get(3)).expect("rows").collect::<Result<_, _>>().expect("plan");
        let on_events: Vec<&String> = plan.iter().filter(|step| step.contains("events")).collect();
        assert_eq!(on_events.len(), 3, "{plan:?}");
        assert!(on_events.iter().all(|step| step.starts_with("SEARCH events")), "no scan of the log: {plan:?}");

        let lag = |c: &Connection, cursor| sink_lag(c, cursor).expect("lag");
        assert_eq!(lag(&c, 0), SinkLag { events: 0, oldest_received_at: None }, "empty log");
        for received_at in 1001..=1010 {
            c.execute(
                "INSERT INTO events (location, epoch, seq, time, received_at, kind, summary, body) \
                 VALUES ('FRA1', 1, ?1, 0, ?1, 'state_change', '', x'')",
                [received_at],
            )
            .expect("insert");
        }
        let count_after = |c: &Connection, cursor: i64| -> u64 {
            c.query_row("SELECT count(*) FROM events WHERE id > ?1", [cursor], |r| r.get::<_, i64>(0)).expect("count")
                as u64
        };
        // A new sink on an empty log (-1), never started (0), part-way, caught up.
        for (cursor, oldest) in [(-1, Some(1001)), (0, Some(1001)), (4, Some(1005)), (10, None)] {
            assert_eq!(lag(&c, cursor), SinkLag { events: count_after(&c, cursor), oldest_received_at: oldest });
        }
        // Retention deleted a prefix, including events a sink had not reached.
        c.execute("DELETE FROM events WHERE id < 7", []).expect("delete");
        for (cursor, oldest) in [(2, Some(1007)), (8, Some(1009)), (10, None)] {
            assert_eq!(lag(&c, cursor), SinkLag { events: count_after(&c, cursor), oldest_received_at: oldest });
        }
        assert_eq!(lag(&c, 2).events, 4);
    }

    #[test]
    fn severity_tells_every_problem_counter_apart() {
        for is_host in [true, false] {
            for state in 0..=u8::MAX {
                let mut p = Problems::default();
                let sev = outpost_format::model::severity(is_host, state);
                if let Some(c) = problem_counter(&mut p, i64::from(state), i64::from(sev)) {
                    *c += 1;
                }
                let want = match (is_host, state) {
                    (_, 0) => Problems::default(),
                    (true, 1) => Problems { down: 1, ..Default::default() },
                    (true, _) => Problems { unreachable: 1, ..Default::default() },
                    (false, 1) => Problems { warning: 1, ..Default::default() },
                    (false, 2) => Problems { critical: 1, ..Default::default() },
                    (false, _) => Problems { unknown: 1, ..Default::default() },
                };
                assert_eq!(p, want, "host {is_host} state {state}");
            }
        }
    }
}
