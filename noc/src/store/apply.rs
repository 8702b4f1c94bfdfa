//! Applying one frame inside the writer's transaction: the sequence rules of `docs/protocol.md`
//! (duplicate, gap, new epoch, base mismatch), the snapshot diff into create/update/delete operations on
//! prefixed objects, the guard rail, the event log, and the location bookkeeping (last seen, clock offset, backlog,
//! silence and return).
//!
//! Everything here runs on the writer thread inside one SQLite transaction per batch and one savepoint per frame,
//! so a frame is applied entirely or not at all, together with its sequence bookkeeping.

use std::collections::BTreeSet;

use outpost_format::event::{EventKind, Lifecycle};
use outpost_format::frame::{Ack, NocRequest, Payload, StreamAck};
use outpost_format::model::{ObjectKey, Stream, severity};
use outpost_format::{Event, Frame};
use rusqlite::{Connection, OptionalExtension, params};

use super::{StoreOptions, codec, snapshot};

/// What the HTTP layer learned about the request that carried a frame.
#[derive(Debug, Clone, Default)]
pub struct FrameMeta {
    /// NOC clock when the request arrived, Unix ms.
    pub received_at: i64,
    /// `X-Outpost-Sent-At`: the satellite's clock at send time.
    pub sent_at: Option<i64>,
    /// `X-Outpost-Backlog`.
    pub backlog: Option<Backlog>,
    /// `X-Outpost-Ship-Interval`, seconds.
    pub ship_interval_s: Option<u32>,
    /// `X-Outpost-Version`.
    pub version: Option<String>,
}

/// What waits in the satellite's spool after this frame, as the satellite reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Backlog {
    pub items: u64,
    pub bytes: u64,
    pub oldest_ms: i64,
}

impl Backlog {
    /// Parses `items=N;bytes=N;oldest_ms=T`; unknown keys are ignored, a malformed value makes it `None`.
    pub fn parse(text: &str) -> Option<Backlog> {
        let mut b = Backlog::default();
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=')?;
            match k.trim() {
                "items" => b.items = v.trim().parse().ok()?,
                "bytes" => b.bytes = v.trim().parse().ok()?,
                "oldest_ms" => b.oldest_ms = v.trim().parse().ok()?,
                _ => {}
            }
        }
        Some(b)
    }
}

/// What happened to a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Applied,
    Duplicate,
    Gap,
    NeedFullSnapshot,
    Held,
}

/// The result of a frame: the acknowledgement to send (valid once the batch committed) and what happened.
#[derive(Debug, Clone)]
pub struct FrameOutcome {
    pub ack: Ack,
    pub disposition: Disposition,
    /// Object operations applied (creates + updates + deletes).
    pub object_ops: u64,
    pub events: u64,
}

/// Why a frame was not applied.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The frame decodes but its content is inconsistent (400). Not recoverable by retrying the same bytes.
    #[error("{0}")]
    Malformed(String),
    /// The store could not apply it now (503). Recoverable: the satellite retries later; nothing was applied.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

impl From<rusqlite::Error> for ApplyError {
    fn from(e: rusqlite::Error) -> Self {
        ApplyError::Unavailable(e.to_string())
    }
}

impl From<anyhow::Error> for ApplyError {
    fn from(e: anyhow::Error) -> Self {
        ApplyError::Unavailable(format!("{e:#}"))
    }
}

/// Per-transaction context: what the batch changed, for notifications after commit.
#[derive(Default)]
pub struct BatchCtx {
    pub now: i64,
    pub changed_locations: BTreeSet<String>,
    pub last_event_id: Option<i64>,
    pub object_ops: u64,
    /// Large values done with (frames, prepared rows): the writer hands them to another thread to free, since
    /// freeing a snapshot's thousands of allocations would otherwise hold up the single writer.
    pub garbage: Vec<Box<dyn Send>>,
}

/// Applies `frame` (already authenticated for `frame.location`) on `c` inside the caller's savepoint.
pub fn apply_frame(
    c: &Connection,
    ctx: &mut BatchCtx,
    opts: &StoreOptions,
    frame: Frame,
    prepared: Option<snapshot::Prepared>,
    meta: &FrameMeta,
) -> Result<FrameOutcome, ApplyError> {
    let location = frame.location.clone();
    let offset = touch_location(c, ctx, &location, meta)?;
    let mut notes = Vec::new();
    let mut requests = Vec::new();
    let ops_before = ctx.object_ops;
    let (disposition, n_events) = match frame.payload {
        Payload::Events(events) => {
            apply_events(c, ctx, opts, &location, frame.epoch, frame.seq, events, offset, &mut notes, &mut requests)?
        }
        payload @ (Payload::Full(_) | Payload::Delta(_)) => {
            let (epoch, seq) = (frame.epoch, frame.seq);
            let r = snapshot::apply(c, ctx, opts, &location, epoch, seq, &payload, prepared, &mut notes, &mut requests);
            ctx.garbage.push(Box::new(payload));
            (r?, 0)
        }
        Payload::Ack(_) => return Err(ApplyError::Malformed("satellites do not send acknowledgement frames".into())),
    };
    let ack = Ack { acks: stream_acks(c, &location)?, requests, noc_time: ctx.now, notes };
    Ok(FrameOutcome { ack, disposition, object_ops: ctx.object_ops - ops_before, events: n_events })
}

/// The acknowledgement for a location without applying anything (used for refusals that still answer 200).
pub fn stream_acks(c: &Connection, location: &str) -> rusqlite::Result<Vec<StreamAck>> {
    let mut st = c.prepare_cached("SELECT stream, epoch, seq FROM streams WHERE location = ?1 ORDER BY stream")?;
    let rows = st.query_map([location], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (stream, epoch, seq) = row?;
        if let Ok(stream) = Stream::try_from(stream as u8) {
            out.push(StreamAck { stream, epoch: epoch as u64, seq: seq as u64 });
        }
    }
    Ok(out)
}

pub(crate) fn stream_state(c: &Connection, location: &str, stream: Stream) -> rusqlite::Result<Option<(u64, u64)>> {
    c.prepare_cached("SELECT epoch, seq FROM streams WHERE location = ?1 AND stream = ?2")?
        .query_row(params![location, u8::from(stream)], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .optional()
}

/// Whether `noc restore` marked this stream and no batch has been applied to it since.
fn restored_stream(c: &Connection, location: &str, stream: Stream) -> rusqlite::Result<bool> {
    c.prepare_cached("SELECT restored FROM streams WHERE location = ?1 AND stream = ?2")?
        .query_row(params![location, u8::from(stream)], |r| r.get(0))
        .optional()
        .map(|v| v.unwrap_or(false))
}

/// Records the applied position; the first apply after a restore also clears the restore mark.
pub(crate) fn set_stream(c: &Connection, location: &str, stream: Stream, epoch: u64, seq: u64) -> rusqlite::Result<()> {
    c.prepare_cached(
        "INSERT INTO streams (location, stream, epoch, seq) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT(location, stream) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, restored = 0",
    )?
    .execute(params![location, u8::from(stream), epoch as i64, seq as i64])?;
    Ok(())
}

/// Records that `location` was heard from; returns its clock offset estimate (satellite minus NOC, ms).
/// A satellite that was silent returns here: its objects are fresh again and a `SatelliteReturned` event is logged.
fn touch_location(c: &Connection, ctx: &mut BatchCtx, location: &str, meta: &FrameMeta) -> Result<i64, ApplyError> {
    let prev: Option<(i64, Option<i64>, Option<i64>)> = c
        .prepare_cached("SELECT last_seen, clock_offset_ms, silent_since FROM locations WHERE location = ?1")?
        .query_row([location], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let now = meta.received_at;
    let sample = meta.sent_at.map(|s| s - now);
    // Smooth the estimate: a single request delayed in a queue should not swing it.
    let offset = match (prev.as_ref().and_then(|p| p.1), sample) {
        (Some(old), Some(s)) => (old * 3 + s) / 4,
        (None, Some(s)) => s,
        (Some(old), None) => old,
        (None, None) => 0,
    };
    c.prepare_cached(
        "INSERT INTO locations (location, last_seen, last_sent_at, clock_offset_ms, ship_interval_s, version, \
         backlog_items, backlog_bytes, backlog_oldest_ms) VALUES (?1, ?2, ?3, ?4, ?5, coalesce(?6, ''), ?7, ?8, ?9) \
         ON CONFLICT(location) DO UPDATE SET last_seen = excluded.last_seen, \
           last_sent_at = coalesce(excluded.last_sent_at, last_sent_at), clock_offset_ms = excluded.clock_offset_ms, \
           ship_interval_s = coalesce(excluded.ship_interval_s, ship_interval_s), \
           version = CASE WHEN ?6 IS NULL THEN version ELSE excluded.version END, \
           backlog_items = coalesce(excluded.backlog_items, backlog_items), \
           backlog_bytes = coalesce(excluded.backlog_bytes, backlog_bytes), \
           backlog_oldest_ms = coalesce(excluded.backlog_oldest_ms, backlog_oldest_ms), silent_since = NULL",
    )?
    .execute(params![
        location,
        now,
        meta.sent_at,
        offset,
        meta.ship_interval_s,
        meta.version,
        meta.backlog.map(|b| b.items as i64),
        meta.backlog.map(|b| b.bytes as i64),
        meta.backlog.map(|b| b.oldest_ms),
    ])?;
    if let Some((last_seen, _, Some(_))) = prev {
        c.prepare_cached("UPDATE objects SET stale = 0 WHERE location = ?1 AND stale = 1")?.execute([location])?;
        let silent_ms = (now - last_seen).max(0) as u64;
        let event = Event { seq: 0, time: now, kind: EventKind::Lifecycle(Lifecycle::SatelliteReturned { silent_ms }) };
        insert_event(c, ctx, location, 0, &event, now, None, None)?;
        ctx.changed_locations.insert(location.to_string());
        tracing::info!(location, silent_ms, "satellite returned");
    }
    Ok(offset)
}

#[allow(clippy::too_many_arguments)]
fn apply_events(
    c: &Connection,
    ctx: &mut BatchCtx,
    opts: &StoreOptions,
    location: &str,
    epoch: u64,
    header_seq: u64,
    events: Vec<Event>,
    offset: i64,
    notes: &mut Vec<String>,
    requests: &mut Vec<NocRequest>,
) -> Result<(Disposition, u64), ApplyError> {
    let (Some(first), Some(last)) = (events.first().map(|e| e.seq), events.last().map(|e| e.seq)) else {
        return Err(ApplyError::Malformed("event batch is empty".into()));
    };
    if last != header_seq {
        return Err(ApplyError::Malformed(format!(
            "event batch header says seq {header_seq} but its last event has seq {last}"
        )));
    }
    if first == 0 || events.iter().enumerate().any(|(i, e)| e.seq != first + i as u64) {
        return Err(ApplyError::Malformed("events in a batch must have consecutive seqs starting at 1 or more".into()));
    }
    let acked = match stream_state(c, location, Stream::Events)? {
        Some((e, s)) if e == epoch => s,
        Some(_) => {
            notes.push(format!("new events epoch {epoch}: previous epoch's stream closed"));
            0
        }
        None => 0,
    };
    if last <= acked {
        notes.push(format!("duplicate: events up to seq {acked} already applied"));
        return Ok((Disposition::Duplicate, 0));
    }
    if first > acked + 1 && restored_stream(c, location, Stream::Events)? {
        // The store was restored from a backup: the satellite deleted what the lost store had acknowledged.
        tracing::warn!(location, first_lost = acked + 1, last_lost = first - 1, "events lost with the restored store");
        notes.push(format!(
            "events {}..{} were acknowledged before the NOC store was restored from a backup; they are lost",
            acked + 1,
            first - 1
        ));
    } else if first > acked + 1 && !overflow_explains_gap(&events[0], acked + 1, first) {
        notes.push(format!("gap: expected events seq {}, got {first}; nothing applied", acked + 1));
        requests.push(NocRequest::Gap { stream: Stream::Events, expected: acked + 1, got: first });
        return Ok((Disposition::Gap, 0));
    } else if first > acked + 1 {
        notes.push(format!("events {}..{} lost at the satellite (spool overflow), recorded", acked + 1, first - 1));
    }
    let now = ctx.now;
    let mut n = 0;
    let mut flagged = 0;
    for event in events.into_iter().filter(|e| e.seq > acked) {
        let flag = time_flag(opts, now, event.time, offset);
        if flag.is_some() {
            flagged += 1;
        }
        let object = match event.kind.key() {
            Some(k) => prefixed_name(opts, location, k).ok(),
            None => None,
        };
        apply_event_effect(c, ctx, location, object.as_deref(), &event)?;
        insert_event(c, ctx, location, epoch, &event, now, flag, object.as_deref())?;
        n += 1;
    }
    if flagged > 0 {
        notes.push(format!("{flagged} event(s) carry implausible timestamps (future or far past); flagged"));
    }
    set_stream(c, location, Stream::Events, epoch, last)?;
    Ok((Disposition::Applied, n))
}

/// A batch may skip seqs only when its first event is the satellite's own report of exactly those losses.
fn overflow_explains_gap(first: &Event, expected: u64, got: u64) -> bool {
    matches!(
        &first.kind,
        EventKind::Lifecycle(Lifecycle::SpoolOverflow { first_dropped_seq, last_dropped_seq, .. })
            if *first_dropped_seq <= expected && *last_dropped_seq + 1 >= got
    )
}

/// `"future"` / `"past"` when a satellite timestamp, corrected by its clock offset, is implausible.
fn time_flag(opts: &StoreOptions, now: i64, time: i64, offset: i64) -> Option<&'static str> {
    let corrected = time.saturating_sub(offset);
    if corrected > now.saturating_add(opts.clock_tolerance.as_millis() as i64) {
        Some("future")
    } else if corrected < now.saturating_sub(opts.far_past.as_millis() as i64) {
        Some("past")
    } else {
        None
    }
}

/// A state change updates the object at once (the next snapshot confirms it); annotations likewise.
/// The `last_check <= time` condition keeps a late, older event from overwriting a newer snapshot's state.
fn apply_event_effect(
    c: &Connection,
    ctx: &mut BatchCtx,
    location: &str,
    object: Option<&str>,
    event: &Event,
) -> rusqlite::Result<()> {
    let Some(name) = object else { return Ok(()) };
    let changed = match &event.kind {
        EventKind::StateChange(s) | EventKind::CheckResult(s) => {
            let sev = severity(s.key.is_host(), s.state);
            c.prepare_cached(
                "UPDATE objects SET last_state_change = CASE WHEN state != ?3 THEN ?8 ELSE last_state_change END, \
                 state = ?3, state_type = ?4, output = ?5, long_output = ?6, perfdata = ?7, \
                 last_check = max(last_check, ?8), severity = ?9, updated_at = ?10 \
                 WHERE location = ?1 AND name = ?2 AND deleted_at IS NULL AND last_check <= ?8",
            )?
            .execute(params![
                location,
                name,
                s.state,
                u8::from(s.state_type),
                s.output,
                s.long_output,
                s.perfdata,
                event.time,
                sev,
                ctx.now
            ])?
        }
        EventKind::AcknowledgementSet { .. } | EventKind::AcknowledgementRemoved { .. } => {
            let on = matches!(event.kind, EventKind::AcknowledgementSet { .. });
            c.prepare_cached("UPDATE objects SET acknowledged = ?3, updated_at = ?4 WHERE location = ?1 AND name = ?2")?
                .execute(params![location, name, on, ctx.now])?
        }
        EventKind::DowntimeStarted { .. } | EventKind::DowntimeEnded { .. } | EventKind::DowntimeCancelled { .. } => {
            let on = matches!(event.kind, EventKind::DowntimeStarted { .. });
            c.prepare_cached("UPDATE objects SET in_downtime = ?3, updated_at = ?4 WHERE location = ?1 AND name = ?2")?
                .execute(params![location, name, on, ctx.now])?
        }
        _ => 0,
    };
    if changed > 0 {
        ctx.changed_locations.insert(location.to_string());
    }
    Ok(())
}

/// Inserts one event row; NOC-raised events use epoch 0 and seq 0.
#[allow(clippy::too_many_arguments)]
pub(crate) fn insert_event(
    c: &Connection,
    ctx: &mut BatchCtx,
    location: &str,
    epoch: u64,
    event: &Event,
    received_at: i64,
    time_flag: Option<&str>,
    object: Option<&str>,
) -> Result<i64, ApplyError> {
    let body = codec::encode_event(event)?;
    let state = match &event.kind {
        EventKind::StateChange(s) | EventKind::CheckResult(s) => Some(s.state),
        EventKind::Notification(n) => Some(n.state),
        _ => None,
    };
    c.prepare_cached(
        "INSERT INTO events (location, epoch, seq, time, received_at, kind, object, state, summary, time_flag, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        location,
        epoch as i64,
        event.seq as i64,
        event.time,
        received_at,
        event.kind.name(),
        object,
        state,
        summary(event),
        time_flag,
        body
    ])?;
    let id = c.last_insert_rowid();
    ctx.last_event_id = Some(id);
    Ok(id)
}

/// A one-line human summary of an event, for lists and logs.
pub fn summary(event: &Event) -> String {
    use outpost_format::model::state_name;
    match &event.kind {
        EventKind::StateChange(s) | EventKind::CheckResult(s) => format!(
            "{} {} ({} {}/{}): {}",
            s.key,
            state_name(s.key.is_host(), s.state),
            s.state_type.name(),
            s.attempt,
            s.max_attempts,
            s.output
        ),
        EventKind::Notification(n) => format!(
            "{} {} {}: {}",
            n.notification_type.nagios_name(),
            n.key,
            state_name(n.key.is_host(), n.state),
            n.output
        ),
        EventKind::AcknowledgementSet { key, ack } => format!("{key} acknowledged by {}: {}", ack.author, ack.comment),
        EventKind::AcknowledgementRemoved { key } => format!("{key} acknowledgement removed"),
        EventKind::DowntimeScheduled { key, downtime } => {
            format!("{key} downtime {} scheduled by {}: {}", downtime.id, downtime.author, downtime.comment)
        }
        EventKind::DowntimeStarted { key, downtime_id } => format!("{key} downtime {downtime_id} started"),
        EventKind::DowntimeEnded { key, downtime_id } => format!("{key} downtime {downtime_id} ended"),
        EventKind::DowntimeCancelled { key, downtime_id } => format!("{key} downtime {downtime_id} cancelled"),
        EventKind::CommentAdded { key, comment } => format!("{key} comment by {}: {}", comment.author, comment.text),
        EventKind::CommentRemoved { key, comment_id } => format!("{key} comment {comment_id} removed"),
        EventKind::Trap(t) => format!("trap {} from {}", t.trap_oid, t.source),
        EventKind::Lifecycle(l) => match l {
            Lifecycle::SatelliteSilent { .. } => "satellite silent: no data since last seen".into(),
            Lifecycle::SatelliteReturned { silent_ms } => format!("satellite returned after {} s", silent_ms / 1000),
            Lifecycle::NorthboundConfigRejected { sink, error } => {
                format!("{sink}: generated config rejected, the previous one is kept: {error}")
            }
            other => format!("{other:?}"),
        },
    }
}

/// The prefixed NOC name of a local key: `PREFIX_host` or `PREFIX_host/service`.
pub fn prefixed_name(opts: &StoreOptions, location: &str, key: &ObjectKey) -> Result<String, String> {
    let host = opts.prefixer.name(location, &key.host).map_err(|e| e.to_string())?;
    Ok(match &key.service {
        None => host,
        Some(s) => format!("{host}/{s}"),
    })
}

/// Housekeeping in the writer's transaction: silence detection, event retention, tombstone purge,
/// and release requests the CLI left in the `held` table.
pub fn maintain(c: &Connection, ctx: &mut BatchCtx, opts: &StoreOptions) -> Result<(), ApplyError> {
    let now = ctx.now;
    // Silence: no request for factor × the announced shipping interval.
    let mut silent = Vec::new();
    {
        let mut st =
            c.prepare_cached("SELECT location, last_seen, ship_interval_s FROM locations WHERE silent_since IS NULL")?;
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let location: String = r.get(0)?;
            let last_seen: i64 = r.get(1)?;
            let interval_s: Option<i64> = r.get(2)?;
            let interval_ms = interval_s.map_or(opts.default_ship_interval.as_millis() as i64, |s| s.max(1) * 1000);
            if now - last_seen > (interval_ms as f64 * opts.silent_factor) as i64 {
                silent.push((location, last_seen));
            }
        }
    }
    for (location, last_seen) in silent {
        c.execute("UPDATE locations SET silent_since = ?2 WHERE location = ?1", params![location, now])?;
        c.execute("UPDATE objects SET stale = 1 WHERE location = ?1 AND deleted_at IS NULL", [&location])?;
        let event = Event { seq: 0, time: now, kind: EventKind::Lifecycle(Lifecycle::SatelliteSilent { last_seen }) };
        insert_event(c, ctx, &location, 0, &event, now, None, None)?;
        ctx.changed_locations.insert(location.clone());
        tracing::warn!(location, last_seen, "satellite silent");
    }
    trim_event_log(c, now, opts)?;
    c.execute(
        "DELETE FROM objects WHERE deleted_at IS NOT NULL AND deleted_at < ?1",
        [now - opts.tombstone_grace.as_millis() as i64],
    )?;
    let requested: Vec<String> = c
        .prepare("SELECT location FROM held WHERE release_requested = 1")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for location in requested {
        snapshot::release_held(c, ctx, opts, &location)?;
    }
    Ok(())
}

/// Event retention: deletes the events older than `events_max_age` and all but the newest `events_max_rows`.
/// Both rules delete a prefix of the log in id order, so one bound covers them. Before deleting, each sink
/// cursor is charged with the events it had not handled yet (`sink_cursors.lost`, exact because it is counted
/// in the same transaction); the sink reports them (`sinks::run_sink`). The charge goes by the durable cursor, so
/// a sink caught in the middle of delivering the very batch deleted here is charged for events it then delivers:
/// it over-reports, never under-reports. Retention never waits for a sink: a destination down for longer than the
/// retention window must not fill the disk.
fn trim_event_log(c: &Connection, now: i64, opts: &StoreOptions) -> rusqlite::Result<()> {
    // Ids follow commit order and received_at is the NOC clock at commit, so the old rows are a prefix in id
    // order: delete up to the first young one (scanning only what is deleted; no received_at index needed).
    // If the NOC clock stepped back, rows after the step wait for the young row before them to age out.
    let by_age: Option<i64> = c
        .prepare_cached(
            "SELECT coalesce((SELECT id FROM events WHERE received_at >= ?1 ORDER BY id LIMIT 1), \
             (SELECT max(id) + 1 FROM events))",
        )?
        .query_row([now - opts.events_max_age.as_millis() as i64], |r| r.get(0))?;
    let by_rows: Option<i64> = c
        .prepare_cached("SELECT max(id) - ?1 + 1 FROM events")?
        .query_row([opts.events_max_rows.min(i64::MAX as u64) as i64], |r| r.get(0))?;
    // Everything below `bound` goes.
    let Some(bound) = by_age.max(by_rows) else { return Ok(()) };
    c.prepare_cached(
        "UPDATE sink_cursors SET lost = lost + (SELECT count(*) FROM events WHERE id > sink_cursors.id AND id < ?1) \
         WHERE id < ?1 - 1",
    )?
    .execute([bound])?;
    c.prepare_cached("DELETE FROM events WHERE id < ?1")?.execute([bound])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_header_parses_or_is_ignored() {
        let check = |text: &str, want: Option<(u64, u64, i64)>| {
            assert_eq!(Backlog::parse(text).map(|b| (b.items, b.bytes, b.oldest_ms)), want, "{text:?}");
        };
        check("items=3;bytes=1200;oldest_ms=1700000000000", Some((3, 1200, 1_700_000_000_000)));
        check(" items = 1 ; bytes=2 ", Some((1, 2, 0)));
        check("items=1;future=x", Some((1, 0, 0)));
        check("", Some((0, 0, 0)));
        check("items=many", None);
        check("items", None);
    }

    #[test]
    fn implausible_times_are_flagged_after_offset_correction() {
        let opts = StoreOptions::default();
        let now = 1_800_000_000_000;
        let check = |time: i64, offset: i64, want: Option<&str>| {
            assert_eq!(time_flag(&opts, now, time, offset), want, "time {time} offset {offset}");
        };
        check(now, 0, None);
        check(now + 600_000, 0, Some("future"));
        check(now + 600_000, 600_000, None); // the satellite's clock is 10 minutes ahead: fine
        check(now - 31 * 86_400_000, 0, Some("past"));
        check(now - 86_400_000, 0, None);
        check(i64::MAX, i64::MIN, Some("future"));
    }

    #[test]
    fn age_retention_deletes_the_old_prefix_of_the_log_and_never_reuses_ids() {
        let mut c = Connection::open_in_memory().expect("open");
        crate::store::schema::migrate(&mut c).expect("migrate");
        let opts = StoreOptions { events_max_age: std::time::Duration::from_secs(10), ..Default::default() };
        let now = 1_800_000_000_000;
        let mut ctx = BatchCtx { now, ..Default::default() };
        let event = |seq| Event { seq, time: now, kind: EventKind::Lifecycle(Lifecycle::Paused) };
        for (seq, age_s) in [(1, 30), (2, 20), (3, 11), (4, 9), (5, 0)] {
            insert_event(&c, &mut ctx, "FRA1", 1, &event(seq), now - age_s * 1000, None, None).expect("insert");
        }
        let seqs = |c: &Connection| -> Vec<i64> {
            let mut st = c.prepare("SELECT seq FROM events ORDER BY id").expect("prepare");
            st.query_map([], |r| r.get(0)).expect("query").collect::<Result<_, _>>().expect("rows")
        };
        maintain(&c, &mut ctx, &opts).expect("maintain");
        assert_eq!(seqs(&c), [4, 5], "events older than 10 s go, younger ones stay");
        ctx.now = now + 60_000;
        maintain(&c, &mut ctx, &opts).expect("maintain");
        assert!(seqs(&c).is_empty(), "everything old goes, up to the newest row");
        let later = ctx.now;
        let id = insert_event(&c, &mut ctx, "FRA1", 1, &event(6), later, None, None).expect("insert");
        assert_eq!(id, 6, "ids are never reused after the log was emptied (sink cursors rely on it)");
    }

    #[test]
    fn retention_charges_each_sink_with_the_events_it_had_not_handled() {
        use crate::store::queries::{set_sink_cursor, sink_losses, take_sink_losses};
        let mut c = Connection::open_in_memory().expect("open");
        crate::store::schema::migrate(&mut c).expect("migrate");
        let opts = StoreOptions { events_max_rows: 2, ..Default::default() };
        let now = 1_800_000_000_000;
        let mut ctx = BatchCtx { now, ..Default::default() };
        let mut add = |c: &Connection, n: u64| {
            for seq in 0..n {
                let event = Event { seq, time: now, kind: EventKind::Lifecycle(Lifecycle::Paused) };
                insert_event(c, &mut ctx, "FRA1", 1, &event, now, None, None).expect("insert");
            }
        };
        add(&c, 5);
        // "behind" handled event 1, "head" all five, "replay" started on an empty log (-1) and handled nothing.
        for (name, cursor) in [("behind", 1), ("head", 5), ("replay", -1)] {
            set_sink_cursor(&c, name, cursor).expect("cursor");
        }
        let mut ctx = BatchCtx { now, ..Default::default() };
        maintain(&c, &mut ctx, &opts).expect("maintain");
        let ids: Vec<i64> = c
            .prepare("SELECT id FROM events ORDER BY id")
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(ids, [4, 5], "the newest two are kept");
        assert_eq!(sink_losses(&c, "behind").expect("losses"), (2, 0), "events 2 and 3");
        assert_eq!(sink_losses(&c, "head").expect("losses"), (0, 0), "a sink that is not behind loses nothing");
        assert_eq!(sink_losses(&c, "replay").expect("losses"), (3, 0), "events 1 to 3");
        assert_eq!(take_sink_losses(&c, "behind").expect("take"), 2);
        assert_eq!(take_sink_losses(&c, "behind").expect("take"), 0, "reported once");
        assert_eq!(take_sink_losses(&c, "head").expect("take"), 0);
        assert_eq!(take_sink_losses(&c, "unknown").expect("take"), 0);

        // A second run charges only what it deletes: events 4 and 5 (6 and 7 are kept).
        add(&c, 2);
        maintain(&c, &mut ctx, &opts).expect("maintain");
        assert_eq!(sink_losses(&c, "behind").expect("losses"), (4, 2));
        assert_eq!(take_sink_losses(&c, "behind").expect("take"), 2);
        assert_eq!(sink_losses(&c, "head").expect("losses"), (0, 0), "it had handled 4 and 5");
        maintain(&c, &mut ctx, &opts).expect("maintain");
        assert_eq!(sink_losses(&c, "behind").expect("losses"), (4, 4), "nothing deleted, nothing charged");
    }

    #[test]
    fn only_the_satellites_overflow_report_explains_a_gap() {
        let overflow = |first, last| Event {
            seq: 10,
            time: 0,
            kind: EventKind::Lifecycle(Lifecycle::SpoolOverflow {
                dropped_events: 1,
                dropped_snapshots: 0,
                dropped_bytes: 1,
                first_dropped_seq: first,
                last_dropped_seq: last,
                perfdata_stripped: 0,
            }),
        };
        assert!(overflow_explains_gap(&overflow(5, 9), 5, 10));
        assert!(overflow_explains_gap(&overflow(3, 9), 5, 10));
        assert!(!overflow_explains_gap(&overflow(6, 9), 5, 10), "seq 5 unexplained");
        assert!(!overflow_explains_gap(&overflow(5, 8), 5, 10), "seq 9 unexplained");
        let other = Event { seq: 10, time: 0, kind: EventKind::Lifecycle(Lifecycle::Paused) };
        assert!(!overflow_explains_gap(&other, 5, 10));
    }
}
