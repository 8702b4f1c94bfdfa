//! Snapshot frames (full and delta): turning one into create/update/delete operations on prefixed objects,
//! the guard rail, and the per-location base that the next delta applies to.
//!
//! The work is split in two so the single writer thread only runs SQL:
//! [`prepare`] (decode the base, apply the delta, diff, prefix names, encode the new base) runs on a
//! blocking-pool thread against the last committed base; the writer then checks that the base it holds
//! is still that one ([`apply`]) and writes the prepared rows. If another frame changed the base in
//! between, the writer prepares again itself, so correctness never depends on the fast path.
//!
//! The base is decoded from the store for every snapshot frame; nothing keeps decoded bases in memory between
//! frames. (A cache of them was measured and removed: it cost RSS and CPU per update and saved nothing;
//! see docs/benchmarks.md, "NOC ingest".)

use outpost_format::frame::{NocRequest, Payload};
use outpost_format::model::{ObjectKey, Snapshot, Stream, severity};
use outpost_format::ops::{self, Op, Suspect};
use outpost_format::{Object, delta};
use rusqlite::{Connection, OptionalExtension, params};

use super::apply::{ApplyError, BatchCtx, Disposition, prefixed_name, set_stream, stream_state};
use super::{StoreOptions, codec};

/// A base's identity: its seq in the snapshots stream and its content hash.
pub type BaseId = (u64, [u8; 32]);

/// A snapshot frame worked out against one base, ready for the writer.
pub struct Prepared {
    /// The base this was computed against; `None` when the location had none.
    pub base_id: Option<BaseId>,
    pub result: Prepare,
}

pub enum Prepare {
    /// The delta does not fit the base: ask for a full snapshot (the note says why).
    NeedFull(String),
    /// The content contradicts the frame (400).
    Malformed(String),
    Ready(Box<Ready>),
}

/// Rows to write and the new base.
pub struct Ready {
    pub hash: [u8; 32],
    pub taken_at: i64,
    /// zstd(MessagePack(new snapshot)): the new base, or the held snapshot if suspect.
    pub blob: Vec<u8>,
    pub upserts: Vec<RowWrite>,
    pub deletes: Vec<String>,
    /// Objects whose prefixed name the NOC cannot hold; skipped and reported.
    pub bad_names: usize,
    pub suspect: Option<Suspect>,
}

/// One object's columns, prefixed and computed ahead of the transaction.
pub struct RowWrite {
    pub name: String,
    pub host: String,
    pub service: Option<String>,
    pub state: u8,
    pub state_type: u8,
    pub output: String,
    pub long_output: String,
    pub perfdata: String,
    pub last_check: i64,
    pub last_state_change: i64,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub severity: u8,
}

struct Base {
    seq: u64,
    hash: [u8; 32],
    snapshot: Snapshot,
}

/// The identity of the base `location` holds now (no blob read).
pub fn base_id(c: &Connection, location: &str) -> Result<Option<BaseId>, ApplyError> {
    let row: Option<(i64, Vec<u8>)> = c
        .prepare_cached("SELECT seq, hash FROM bases WHERE location = ?1")?
        .query_row([location], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    row.map(|(seq, hash)| {
        let hash: [u8; 32] =
            hash.try_into().map_err(|_| ApplyError::Unavailable("corrupt base hash in store".into()))?;
        Ok((seq as u64, hash))
    })
    .transpose()
}

/// The base `location` holds now, decoded from the store.
fn load_base(c: &Connection, location: &str) -> Result<Option<Base>, ApplyError> {
    let row: Option<(i64, Vec<u8>, Vec<u8>)> = c
        .prepare_cached("SELECT seq, hash, snapshot FROM bases WHERE location = ?1")?
        .query_row([location], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((seq, hash, blob)) = row else { return Ok(None) };
    let hash: [u8; 32] = hash.try_into().map_err(|_| ApplyError::Unavailable("corrupt base hash in store".into()))?;
    let snapshot = codec::decode_snapshot(&blob)?;
    Ok(Some(Base { seq: seq as u64, hash, snapshot }))
}

/// Works out a snapshot frame against the base `c` holds now. Pure with respect to the store (reads only).
pub fn prepare(c: &Connection, opts: &StoreOptions, location: &str, payload: &Payload) -> Result<Prepared, ApplyError> {
    let base = load_base(c, location)?;
    let base_id = base.as_ref().map(|b| (b.seq, b.hash));
    let empty = Snapshot::default();
    let base_snapshot = base.as_ref().map_or(&empty, |b| &b.snapshot);
    // A delta's result lives here; a full snapshot is used in place.
    let applied: Snapshot;
    let (new, hash) = match payload {
        Payload::Full(s) => (s, delta::content_hash(s)),
        Payload::Delta(d) => {
            let Some(b) = base.as_ref() else {
                return Ok(Prepared {
                    base_id,
                    result: Prepare::NeedFull("no base snapshot held: send a full snapshot".into()),
                });
            };
            if b.seq != d.base_seq || b.hash != d.base_hash {
                let why = format!(
                    "delta is against base seq {}, the NOC holds seq {}: send a full snapshot",
                    d.base_seq, b.seq
                );
                return Ok(Prepared { base_id, result: Prepare::NeedFull(why) });
            }
            // The stored hash was verified when the base was applied: no need to hash the base again.
            match delta::apply_with_base_hash(&b.snapshot, b.hash, d) {
                Ok(s) => {
                    applied = s;
                    (&applied, d.target_hash)
                }
                // Malformed included: a body that does not fit the held base is cured by a full snapshot.
                Err(e) => {
                    return Ok(Prepared { base_id, result: Prepare::NeedFull(format!("{e}: send a full snapshot")) });
                }
            }
        }
        _ => return Err(ApplyError::Malformed("not a snapshot frame".into())),
    };
    if new.location != location {
        let why = format!("snapshot names location {:?} inside a frame for {location:?}", new.location);
        return Ok(Prepared { base_id, result: Prepare::Malformed(why) });
    }
    let ready = build(opts, location, base_snapshot, new, hash, true)?;
    Ok(Prepared { base_id, result: Prepare::Ready(Box::new(ready)) })
}

fn build(
    opts: &StoreOptions,
    location: &str,
    base: &Snapshot,
    new: &Snapshot,
    hash: [u8; 32],
    guard: bool,
) -> Result<Ready, ApplyError> {
    let blob = codec::encode_snapshot(new)?;
    let taken_at = new.taken_at;
    let diff = diff_rows(opts, location, base, new, taken_at);
    let suspect = if guard {
        ops::guard_deletes(base.objects.len(), diff.deletes.len(), opts.max_delete_share).err()
    } else {
        None
    };
    let deletes = diff.deletes.iter().filter_map(|key| prefixed_name(opts, location, key).ok()).collect();
    let RowDiff { upserts, bad_names, .. } = diff;
    Ok(Ready { hash, taken_at, blob, upserts, deletes, bad_names, suspect })
}

/// What [`diff_rows`] found.
struct RowDiff<'a> {
    upserts: Vec<RowWrite>,
    /// Deleted keys, prefixed afterwards (names that cannot be prefixed are counted).
    deletes: Vec<&'a ObjectKey>,
    bad_names: usize,
}

/// Builds the rows to write for the objects `ops::diff` finds created and changed, reading the new objects
/// in place (the operations borrow them), and collects the deleted keys.
fn diff_rows<'a>(
    opts: &StoreOptions,
    location: &str,
    base: &'a Snapshot,
    new: &'a Snapshot,
    taken_at: i64,
) -> RowDiff<'a> {
    let mut out = RowDiff { upserts: Vec::new(), deletes: Vec::new(), bad_names: 0 };
    // Keys are in order, so a host's services follow it: prefix each host name once, not once per service.
    let mut last_host: Option<(&str, Option<String>)> = None;
    for op in ops::diff(base, new) {
        let (key, object) = match op {
            Op::Create { key, object } | Op::Update { key, object, .. } => (key, object),
            Op::Delete { key } => {
                if prefixed_name(opts, location, key).is_err() {
                    out.bad_names += 1;
                }
                out.deletes.push(key);
                continue;
            }
        };
        if last_host.as_ref().is_none_or(|(h, _)| *h != key.host) {
            last_host = Some((&key.host, opts.prefixer.name(location, &key.host).ok()));
        }
        let Some((_, Some(host))) = &last_host else {
            out.bad_names += 1;
            continue;
        };
        let name = match &key.service {
            None => host.clone(),
            Some(s) => format!("{host}/{s}"),
        };
        out.upserts.push(row(name, host.clone(), key, object, taken_at));
    }
    out
}

fn row(name: String, host: String, key: &ObjectKey, o: &Object, taken_at: i64) -> RowWrite {
    let s = &o.status;
    RowWrite {
        name,
        host,
        service: key.service.as_deref().map(str::to_owned),
        state: s.state,
        state_type: u8::from(s.state_type),
        output: s.output.to_string(),
        long_output: s.long_output.to_string(),
        perfdata: s.perfdata.to_string(),
        last_check: s.last_check,
        last_state_change: s.last_state_change,
        acknowledged: o.acknowledgement.is_some(),
        in_downtime: o.in_downtime(taken_at),
        severity: severity(key.is_host(), s.state),
    }
}

/// Applies a snapshot frame in the writer's transaction, using `prepared` if it was computed against the
/// base held now, else preparing again.
#[allow(clippy::too_many_arguments)]
pub fn apply(
    c: &Connection,
    ctx: &mut BatchCtx,
    opts: &StoreOptions,
    location: &str,
    epoch: u64,
    seq: u64,
    payload: &Payload,
    prepared: Option<Prepared>,
    notes: &mut Vec<String>,
    requests: &mut Vec<NocRequest>,
) -> Result<Disposition, ApplyError> {
    let state = stream_state(c, location, Stream::Snapshots)?;
    let same_epoch = state.is_some_and(|(e, _)| e == epoch);
    let acked = if same_epoch { state.map_or(0, |(_, s)| s) } else { 0 };
    if same_epoch && seq <= acked {
        notes.push(format!("duplicate: snapshots up to seq {acked} already applied"));
        return Ok(Disposition::Duplicate);
    }
    if matches!(payload, Payload::Delta(_)) && !same_epoch {
        notes.push(format!("new snapshots epoch {epoch}: send a full snapshot"));
        requests.push(NocRequest::FullSnapshot);
        return Ok(Disposition::NeedFullSnapshot);
    }
    let current = base_id(c, location)?;
    let prepared = match prepared {
        Some(p) if p.base_id == current => p,
        _ => prepare(c, opts, location, payload)?,
    };
    let ready = match prepared.result {
        Prepare::NeedFull(why) => {
            notes.push(why);
            requests.push(NocRequest::FullSnapshot);
            return Ok(Disposition::NeedFullSnapshot);
        }
        Prepare::Malformed(why) => return Err(ApplyError::Malformed(why)),
        Prepare::Ready(r) => r,
    };
    if same_epoch && seq > acked + 1 {
        notes.push(format!("snapshots {}..{} superseded by seq {seq}", acked + 1, seq - 1));
    }
    if let Some(suspect) = &ready.suspect {
        c.prepare_cached(
            "INSERT OR REPLACE INTO held (location, epoch, seq, received_at, deletes, existing, reason, snapshot) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        )?
        .execute(params![
            location,
            epoch as i64,
            seq as i64,
            ctx.now,
            suspect.deletes as i64,
            suspect.existing as i64,
            suspect.to_string(),
            ready.blob
        ])?;
        set_stream(c, location, Stream::Snapshots, epoch, seq)?;
        notes.push(format!("held: {suspect}; release with `noc held release {location}`"));
        tracing::warn!(location, seq, %suspect, "snapshot held");
        metrics::counter!("outpost_noc_snapshots_held_total").increment(1);
        ctx.garbage.push(ready);
        return Ok(Disposition::Held);
    }
    write_ready(c, ctx, location, epoch, seq, &ready, notes)?;
    ctx.garbage.push(ready);
    // A newer good snapshot supersedes anything held.
    c.prepare_cached("DELETE FROM held WHERE location = ?1")?.execute([location])?;
    set_stream(c, location, Stream::Snapshots, epoch, seq)?;
    Ok(Disposition::Applied)
}

/// Writes prepared rows, tombstones and the new base.
fn write_ready(
    c: &Connection,
    ctx: &mut BatchCtx,
    location: &str,
    epoch: u64,
    seq: u64,
    ready: &Ready,
    notes: &mut Vec<String>,
) -> Result<(), ApplyError> {
    let mut upsert = c.prepare_cached(
        "INSERT INTO objects (location, name, host, service, state, state_type, output, long_output, perfdata, \
         last_check, last_state_change, acknowledged, in_downtime, stale, severity, deleted_at, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, 0, ?14, NULL, ?15) \
         ON CONFLICT(location, name) DO UPDATE SET host = excluded.host, service = excluded.service, \
         state = excluded.state, state_type = excluded.state_type, output = excluded.output, \
         long_output = excluded.long_output, perfdata = excluded.perfdata, last_check = excluded.last_check, \
         last_state_change = excluded.last_state_change, acknowledged = excluded.acknowledged, \
         in_downtime = excluded.in_downtime, stale = 0, severity = excluded.severity, deleted_at = NULL, \
         updated_at = excluded.updated_at",
    )?;
    for r in &ready.upserts {
        upsert.execute(params![
            location,
            r.name,
            r.host,
            r.service,
            r.state,
            r.state_type,
            r.output,
            r.long_output,
            r.perfdata,
            r.last_check,
            r.last_state_change,
            r.acknowledged,
            r.in_downtime,
            r.severity,
            ctx.now
        ])?;
    }
    let mut tombstone = c.prepare_cached(
        "UPDATE objects SET deleted_at = ?3, updated_at = ?3 WHERE location = ?1 AND name = ?2 AND deleted_at IS NULL",
    )?;
    for name in &ready.deletes {
        tombstone.execute(params![location, name, ctx.now])?;
    }
    let n_ops = (ready.upserts.len() + ready.deletes.len()) as u64;
    ctx.object_ops += n_ops;
    if n_ops > 0 {
        ctx.changed_locations.insert(location.to_string());
    }
    if ready.bad_names > 0 {
        notes.push(format!("{} object(s) skipped: names the NOC cannot hold after prefixing", ready.bad_names));
    }
    c.prepare_cached(
        "INSERT INTO bases (location, epoch, seq, hash, snapshot) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT(location) DO UPDATE SET epoch = excluded.epoch, seq = excluded.seq, hash = excluded.hash, \
         snapshot = excluded.snapshot",
    )?
    .execute(params![location, epoch as i64, seq as i64, &ready.hash[..], ready.blob])?;
    c.prepare_cached("UPDATE locations SET last_snapshot_at = ?2 WHERE location = ?1")?
        .execute(params![location, ready.taken_at])?;
    Ok(())
}

/// Applies the held snapshot of `location` without the guard rail; false when none is held.
pub fn release_held(
    c: &Connection,
    ctx: &mut BatchCtx,
    opts: &StoreOptions,
    location: &str,
) -> Result<bool, ApplyError> {
    let row: Option<(i64, i64, Vec<u8>)> = c
        .query_row("SELECT epoch, seq, snapshot FROM held WHERE location = ?1", [location], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .optional()?;
    let Some((epoch, seq, blob)) = row else { return Ok(false) };
    let held = codec::decode_snapshot(&blob)?;
    let hash = delta::content_hash(&held);
    let base = load_base(c, location)?;
    let empty = Snapshot::default();
    let ready = build(opts, location, base.as_ref().map_or(&empty, |b| &b.snapshot), &held, hash, false)?;
    let mut notes = Vec::new();
    write_ready(c, ctx, location, epoch as u64, seq as u64, &ready, &mut notes)?;
    c.execute("DELETE FROM held WHERE location = ?1", [location])?;
    tracing::info!(
        location,
        seq,
        upserts = ready.upserts.len(),
        deletes = ready.deletes.len(),
        "held snapshot released"
    );
    Ok(true)
}
