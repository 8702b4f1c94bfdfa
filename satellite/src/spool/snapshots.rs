//! The snapshots stream: three slots instead of a log, because a newer snapshot supersedes older ones.
//!
//! - `snapshot.pending`: the newest snapshot taken and not yet turned into a frame. A new one replaces it.
//! - `snapshot.inflight`: the exact frame being sent (seq = acked + 1), and the snapshot it produces at the
//!   NOC. It is resent byte for byte until acknowledged, so a lost acknowledgement can never make the NOC skip
//!   a different snapshot under the same seq.
//! - `snapshot.base`: the last snapshot the NOC acknowledged, the base of the next delta.
//!
//! Snapshots are kept as [`SnapshotBlob`]s (compressed bytes), and only on disk: memory holds each slot's
//! metadata, and a slot is read back when a frame is built or acknowledged. A delta decodes the base and the
//! pending blob one object at a time (`delta::make_from_entries`), so at no point is a decoded site in memory.
//!
//! Each slot file: `"OPSN"`, version `2`, three zero bytes, CRC32C (LE u32) of the body, body length (LE u32),
//! then the body: MessagePack with named fields ([`Slot`]), whose `snapshot` is the blob's zstd bytes.
//! Written atomically (temp, fsync, rename, fsync dir).
//! A slot that fails its checksum, or is from version 1, is treated as absent (the snapshot is retaken;
//! without a base the next frame is full).

use std::fs;
use std::path::Path;

use outpost_format::delta::{ContentHash, Target};
use outpost_format::frame::{Frame, Payload};
use outpost_format::{Snapshot, UnixMillis};
use serde::{Deserialize, Serialize};

use super::{Spool, SpoolError, io_err};
use crate::durable::write_atomic;
use crate::snapshot_blob::SnapshotBlob;

const MAGIC: &[u8; 4] = b"OPSN";
const VERSION: u8 = 2;
const PENDING: &str = "snapshot.pending";
const INFLIGHT: &str = "snapshot.inflight";
const BASE: &str = "snapshot.base";
/// Largest slot body read back (a slot holds compressed bytes: about 2.5 MB at 100,000 services).
const MAX_BODY: usize = 512 << 20;

/// A snapshot frame ready to send, and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotFrame {
    pub seq: u64,
    pub epoch: u64,
    pub full: bool,
    /// When the snapshot the frame produces was taken.
    pub taken_at: UnixMillis,
    /// The encoded frame, sent as is.
    pub bytes: Vec<u8>,
}

/// A slot file's body. `seq`, `epoch`, `full` and `frame` are zero/empty where they do not apply
/// (a pending slot has no seq; only the in-flight slot has a frame).
#[derive(Debug, Default, Serialize, Deserialize)]
struct Slot {
    seq: u64,
    epoch: u64,
    full: bool,
    taken_at: UnixMillis,
    hash: ContentHash,
    raw_len: u64,
    #[serde(with = "serde_bytes")]
    snapshot: Vec<u8>,
    #[serde(with = "serde_bytes")]
    frame: Vec<u8>,
}

impl Slot {
    fn of(blob: SnapshotBlob) -> Slot {
        Slot { taken_at: blob.taken_at, hash: blob.hash, raw_len: blob.raw_len, snapshot: blob.zstd, ..Slot::default() }
    }
    fn blob(&mut self) -> SnapshotBlob {
        let zstd = std::mem::take(&mut self.snapshot);
        SnapshotBlob { taken_at: self.taken_at, hash: self.hash, raw_len: self.raw_len, zstd }
    }
    fn meta(&self, file_len: u64) -> Meta {
        Meta { seq: self.seq, epoch: self.epoch, full: self.full, taken_at: self.taken_at, file_len }
    }
}

/// What memory keeps of a slot file.
#[derive(Debug, Clone, Copy)]
struct Meta {
    seq: u64,
    epoch: u64,
    full: bool,
    taken_at: UnixMillis,
    file_len: u64,
}

/// The slots' metadata, with their sizes on disk for the byte budget.
#[derive(Debug, Default)]
pub struct SnapshotSlots {
    pending: Option<Meta>,
    inflight: Option<Meta>,
    base: Option<Meta>,
}

impl SnapshotSlots {
    pub fn load(dir: &Path) -> Result<SnapshotSlots, String> {
        let meta = |name| read_slot(&dir.join(name)).map(|(slot, n)| slot.meta(n));
        Ok(SnapshotSlots { pending: meta(PENDING), inflight: meta(INFLIGHT), base: meta(BASE) })
    }

    pub fn bytes(&self) -> u64 {
        [self.pending, self.inflight, self.base].iter().flatten().map(|m| m.file_len).sum()
    }

    /// Snapshots not yet acknowledged.
    pub fn pending_count(&self) -> u64 {
        u64::from(self.pending.is_some()) + u64::from(self.inflight.is_some())
    }

    pub fn oldest_ms(&self) -> Option<UnixMillis> {
        self.inflight.or(self.pending).map(|m| m.taken_at)
    }

    /// Drops the pending snapshot for the byte budget; returns the bytes freed, if there was one.
    pub fn drop_pending(&mut self, dir: &Path, _fsync: bool) -> std::io::Result<Option<u64>> {
        let Some(m) = self.pending.take() else { return Ok(None) };
        remove(&dir.join(PENDING))?;
        Ok(Some(m.file_len))
    }

    /// A new epoch: the NOC starts the snapshots stream over, so the base and the in-flight frame are void.
    /// The in-flight snapshot is not lost: if nothing newer is pending, it becomes pending again.
    pub fn reset_for_new_epoch(&mut self, dir: &Path, fsync: bool) -> std::io::Result<()> {
        self.withdraw_inflight(dir, fsync)?;
        if self.base.take().is_some() {
            remove(&dir.join(BASE))?;
        }
        Ok(())
    }

    /// Removes the in-flight frame; its snapshot becomes pending unless a newer one is.
    fn withdraw_inflight(&mut self, dir: &Path, fsync: bool) -> std::io::Result<()> {
        if self.inflight.take().is_none() {
            return Ok(());
        }
        if self.pending.is_none()
            && let Some((mut slot, _)) = read_slot(&dir.join(INFLIGHT))
        {
            let pending = Slot::of(slot.blob());
            let n = write_slot(&dir.join(PENDING), &pending, fsync)?;
            self.pending = Some(pending.meta(n));
        }
        remove(&dir.join(INFLIGHT))
    }
}

impl Spool {
    /// Stores a decoded snapshot as the pending one (see [`Spool::put_snapshot_blob`]).
    pub fn put_snapshot(&self, snapshot: &Snapshot) -> Result<(), SpoolError> {
        let blob = SnapshotBlob::from_snapshot(snapshot).map_err(|e| SpoolError::Encode(e.to_string()))?;
        self.put_snapshot_blob(blob)
    }

    /// Stores a newly taken snapshot durably as the pending one (replacing an older pending one).
    pub fn put_snapshot_blob(&self, blob: SnapshotBlob) -> Result<(), SpoolError> {
        let slot = Slot::of(blob);
        let mut g = self.lock();
        let path = self.dir.join(PENDING);
        let n = write_slot(&path, &slot, self.cfg.fsync).map_err(io_err(&path))?;
        g.slots.pending = Some(slot.meta(n));
        drop(slot);
        if let Err(e) = self.enforce_budget(&mut g, super::now_ms()) {
            tracing::error!(error = %e, "spool budget enforcement failed; retrying at the next append");
        }
        drop(g);
        self.appended.notify_one();
        Ok(())
    }

    /// The snapshot frame to send now, if any: the in-flight one again, or a new one built from the pending
    /// snapshot (a delta against the acknowledged base, or full when there is no usable base, every
    /// `full_every` frames, or when the NOC asked).
    pub fn next_snapshot_frame(&self, location: &str, full_every: u32) -> Result<Option<SnapshotFrame>, SpoolError> {
        let mut g = self.lock();
        if g.slots.inflight.is_some() {
            if let Some((slot, _)) = read_slot(&self.dir.join(INFLIGHT)) {
                let Slot { seq, epoch, full, taken_at, frame: bytes, .. } = slot;
                return Ok(Some(SnapshotFrame { seq, epoch, full, taken_at, bytes }));
            }
            // Unreadable (logged): build the frame again from what is pending.
            g.slots.inflight = None;
        }
        if g.slots.pending.is_none() {
            return Ok(None);
        }
        let Some((mut pending, _)) = read_slot(&self.dir.join(PENDING)) else {
            g.slots.pending = None;
            return Ok(None);
        };
        let current = pending.blob();
        drop(pending);
        let epoch = g.ledger.epoch;
        let seq = g.ledger.snapshot_acked_seq + 1;
        let base_usable = g.slots.base.is_some_and(|b| b.epoch == epoch && b.seq == g.ledger.snapshot_acked_seq);
        let want_full = g.ledger.full_requested || g.ledger.deltas_since_full >= full_every;
        let delta = if base_usable && !want_full { self.delta_from_base(&current) } else { None };
        let full = delta.is_none();
        let bytes = match delta {
            Some(delta) => {
                let frame = Frame { location: location.to_string(), epoch, seq, payload: Payload::Delta(delta) };
                frame.encode().map_err(|e| e.to_string())
            }
            None => current.full_frame(location, epoch, seq).map_err(|e| e.to_string()),
        }
        .map_err(SpoolError::Encode)?;
        let mut slot = Slot { seq, epoch, full, frame: bytes, ..Slot::of(current) };
        let path = self.dir.join(INFLIGHT);
        let n = write_slot(&path, &slot, self.cfg.fsync).map_err(io_err(&path))?;
        remove(&self.dir.join(PENDING)).map_err(io_err(&self.dir))?;
        g.slots.pending = None;
        g.slots.inflight = Some(slot.meta(n));
        let bytes = std::mem::take(&mut slot.frame);
        Ok(Some(SnapshotFrame { seq, epoch, full, taken_at: slot.taken_at, bytes }))
    }

    /// The delta from the base slot to `current`, decoding both one object at a time; `None` (logged) when
    /// the base cannot be read, so that a full snapshot goes instead.
    fn delta_from_base(&self, current: &SnapshotBlob) -> Option<outpost_format::delta::Delta> {
        let (mut base_slot, _) = read_slot(&self.dir.join(BASE))?;
        let base_seq = base_slot.seq;
        let base = base_slot.blob();
        let made = (|| {
            let (mut old, mut new) = (base.entries()?, current.entries()?);
            let target = Target { hash: current.hash, taken_at: current.taken_at };
            let delta = outpost_format::delta::make_from_entries(&mut old, base_seq, base.hash, &mut new, target);
            old.finish()?;
            new.finish()?;
            Ok::<_, std::io::Error>(delta)
        })();
        made.inspect_err(|e| tracing::warn!(error = %e, "cannot make a delta; sending a full snapshot instead")).ok()
    }

    /// Applies the NOC's acknowledgement of the snapshots stream.
    pub fn ack_snapshots(&self, epoch: u64, seq: u64) -> Result<bool, SpoolError> {
        let mut g = self.lock();
        if epoch != g.ledger.epoch || seq <= g.ledger.snapshot_acked_seq {
            return Ok(false);
        }
        let Some(frame) = g.slots.inflight.take_if(|f| f.seq <= seq) else {
            return Ok(false);
        };
        // The acknowledged snapshot becomes the base; if its slot cannot be read (logged) there is no base,
        // and the next frame is full.
        let base_path = self.dir.join(BASE);
        g.slots.base = None;
        match read_slot(&self.dir.join(INFLIGHT)) {
            Some((mut slot, _)) => {
                let base = Slot { seq: frame.seq, epoch, full: frame.full, ..Slot::of(slot.blob()) };
                let n = write_slot(&base_path, &base, self.cfg.fsync).map_err(io_err(&base_path))?;
                g.slots.base = Some(base.meta(n));
            }
            None => remove(&base_path).map_err(io_err(&base_path))?,
        }
        remove(&self.dir.join(INFLIGHT)).map_err(io_err(&self.dir))?;
        g.ledger.snapshot_acked_seq = frame.seq;
        g.ledger.deltas_since_full = if frame.full { 0 } else { g.ledger.deltas_since_full + 1 };
        if frame.full {
            g.ledger.full_requested = false;
        }
        g.ledger.last_delivery_ms = super::now_ms();
        self.commit(&mut g)?;
        Ok(true)
    }

    /// The NOC lacks our base: make the next snapshot frame full. An in-flight delta is withdrawn
    /// (its snapshot goes back to pending unless a newer one is there).
    /// Returns whether anything changed (false when a full snapshot was already requested or is in flight).
    pub fn request_full_snapshot(&self) -> Result<bool, SpoolError> {
        let mut g = self.lock();
        if g.slots.inflight.is_some_and(|f| f.full) || (g.ledger.full_requested && g.slots.inflight.is_none()) {
            return Ok(false);
        }
        g.ledger.full_requested = true;
        g.slots.withdraw_inflight(&self.dir, self.cfg.fsync).map_err(io_err(&self.dir))?;
        self.commit(&mut g)?;
        Ok(true)
    }
}

fn write_slot(path: &Path, slot: &Slot, fsync: bool) -> std::io::Result<u64> {
    let body = rmp_serde::to_vec_named(slot).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(|_| std::io::Error::other("snapshot slot over 4 GiB"))?;
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, 0, 0, 0]);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&body);
    drop(body);
    write_atomic(path, &out, fsync)?;
    Ok(out.len() as u64)
}

/// Reads a slot; a missing or damaged slot reads as absent (logged), since every slot can be rebuilt.
fn read_slot(path: &Path) -> Option<(Slot, u64)> {
    let bytes = fs::read(path).ok()?;
    let parsed = (|| {
        if bytes.len() < 16 || &bytes[0..4] != MAGIC {
            return Err("bad header".to_string());
        }
        if bytes[4] != VERSION {
            return Err(format!("version {} (this satellite writes {VERSION})", bytes[4]));
        }
        let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let body = &bytes[16..];
        if len > MAX_BODY || len != body.len() {
            return Err(format!("declared body size {len} does not match the file's {}", body.len()));
        }
        if crc32c::crc32c(body) != crc {
            return Err("checksum mismatch".to_string());
        }
        rmp_serde::from_slice(body).map_err(|e| e.to_string())
    })();
    match parsed {
        Ok(v) => Some((v, bytes.len() as u64)),
        Err(why) => {
            tracing::warn!(path = %path.display(), %why, "ignoring damaged snapshot slot; the snapshot will be retaken");
            None
        }
    }
}

fn remove(path: &Path) -> std::io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}
