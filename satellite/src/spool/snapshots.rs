//! The snapshots stream: three slots instead of a log, because a newer snapshot supersedes older ones.
//!
//! - `snapshot.pending`: the newest snapshot taken and not yet turned into a frame. A new one replaces it.
//! - `snapshot.inflight`: the exact frame being sent (seq = acked + 1). It is resent byte for byte until
//!   acknowledged, so a lost acknowledgement can never make the NOC skip a different snapshot under the same seq.
//! - `snapshot.base`: the last snapshot the NOC acknowledged, the base of the next delta.
//!
//! Each slot file: `"OPSN"`, version `1`, two zero bytes, kind byte, CRC32C (LE u32) of the body,
//! then the body: zstd(MessagePack). Written atomically (temp, fsync, rename, fsync dir).
//! A slot that fails its checksum is treated as absent (the snapshot is retaken; nothing else depends on it).

use std::fs;
use std::path::Path;

use outpost_format::frame::{Frame, Payload};
use outpost_format::{Snapshot, UnixMillis};
use serde::{Deserialize, Serialize};

use super::ledger::write_atomic;
use super::{Spool, SpoolError, io_err};

const MAGIC: &[u8; 4] = b"OPSN";
const VERSION: u8 = 1;
const PENDING: &str = "snapshot.pending";
const INFLIGHT: &str = "snapshot.inflight";
const BASE: &str = "snapshot.base";

/// A snapshot frame ready to send, and what it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotFrame {
    pub seq: u64,
    pub epoch: u64,
    pub full: bool,
    /// The encoded frame, sent as is.
    pub bytes: Vec<u8>,
    /// The snapshot the frame produces at the NOC (becomes the base once acknowledged).
    pub snapshot: Snapshot,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Base {
    seq: u64,
    epoch: u64,
    snapshot: Snapshot,
}

/// In-memory copy of the slot files, with their sizes on disk for the byte budget.
#[derive(Debug, Default)]
pub struct SnapshotSlots {
    pending: Option<(Snapshot, u64)>,
    inflight: Option<(SnapshotFrame, u64)>,
    base: Option<(Base, u64)>,
}

impl SnapshotSlots {
    pub fn load(dir: &Path) -> Result<SnapshotSlots, String> {
        Ok(SnapshotSlots {
            pending: read_slot(&dir.join(PENDING)),
            inflight: read_slot(&dir.join(INFLIGHT)),
            base: read_slot(&dir.join(BASE)),
        })
    }

    pub fn bytes(&self) -> u64 {
        self.pending.as_ref().map_or(0, |p| p.1)
            + self.inflight.as_ref().map_or(0, |p| p.1)
            + self.base.as_ref().map_or(0, |p| p.1)
    }

    /// Snapshots not yet acknowledged.
    pub fn pending_count(&self) -> u64 {
        u64::from(self.pending.is_some()) + u64::from(self.inflight.is_some())
    }

    pub fn oldest_ms(&self) -> Option<UnixMillis> {
        let a = self.inflight.as_ref().map(|f| f.0.snapshot.taken_at);
        let b = self.pending.as_ref().map(|p| p.0.taken_at);
        a.or(b)
    }

    /// Drops the pending snapshot for the byte budget; returns the bytes freed, if there was one.
    pub fn drop_pending(&mut self, dir: &Path, _fsync: bool) -> std::io::Result<Option<u64>> {
        let Some((_, n)) = self.pending.take() else { return Ok(None) };
        remove(&dir.join(PENDING))?;
        Ok(Some(n))
    }

    /// A new epoch: the NOC starts the snapshots stream over, so the base and the in-flight frame are void.
    /// The in-flight snapshot is not lost: if nothing newer is pending, it becomes pending again.
    pub fn reset_for_new_epoch(&mut self, dir: &Path, fsync: bool) -> std::io::Result<()> {
        if let Some((frame, _)) = self.inflight.take() {
            if self.pending.is_none() {
                let n = write_slot(&dir.join(PENDING), &frame.snapshot, fsync)?;
                self.pending = Some((frame.snapshot, n));
            }
            remove(&dir.join(INFLIGHT))?;
        }
        if self.base.take().is_some() {
            remove(&dir.join(BASE))?;
        }
        Ok(())
    }
}

impl Spool {
    /// Stores a newly taken snapshot durably as the pending one (replacing an older pending one).
    pub fn put_snapshot(&self, snapshot: &Snapshot) -> Result<(), SpoolError> {
        let mut g = self.lock();
        let path = self.dir.join(PENDING);
        let n = write_slot(&path, snapshot, self.cfg.fsync).map_err(io_err(&path))?;
        g.slots.pending = Some((snapshot.clone(), n));
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
        if let Some((frame, _)) = &g.slots.inflight {
            return Ok(Some(frame.clone()));
        }
        let Some((snapshot, _)) = g.slots.pending.clone() else { return Ok(None) };
        let epoch = g.ledger.epoch;
        let seq = g.ledger.snapshot_acked_seq + 1;
        let base =
            g.slots.base.as_ref().map(|b| &b.0).filter(|b| b.epoch == epoch && b.seq == g.ledger.snapshot_acked_seq);
        let want_full = g.ledger.full_requested || g.ledger.deltas_since_full >= full_every;
        let payload = match base {
            Some(b) if !want_full => Payload::Delta(outpost_format::delta::make(&b.snapshot, b.seq, &snapshot)),
            _ => Payload::Full(snapshot.clone()),
        };
        let full = matches!(payload, Payload::Full(_));
        let bytes = Frame { location: location.to_string(), epoch, seq, payload }
            .encode()
            .map_err(|e| SpoolError::Encode(e.to_string()))?;
        let frame = SnapshotFrame { seq, epoch, full, bytes, snapshot };
        let path = self.dir.join(INFLIGHT);
        let n = write_slot(&path, &frame, self.cfg.fsync).map_err(io_err(&path))?;
        remove(&self.dir.join(PENDING)).map_err(io_err(&self.dir))?;
        g.slots.pending = None;
        g.slots.inflight = Some((frame.clone(), n));
        Ok(Some(frame))
    }

    /// Applies the NOC's acknowledgement of the snapshots stream.
    pub fn ack_snapshots(&self, epoch: u64, seq: u64) -> Result<bool, SpoolError> {
        let mut g = self.lock();
        if epoch != g.ledger.epoch || seq <= g.ledger.snapshot_acked_seq {
            return Ok(false);
        }
        let Some((frame, _)) = g.slots.inflight.take_if(|f| f.0.seq <= seq) else {
            return Ok(false);
        };
        let base = Base { seq: frame.seq, epoch, snapshot: frame.snapshot };
        let path = self.dir.join(BASE);
        let n = write_slot(&path, &base, self.cfg.fsync).map_err(io_err(&path))?;
        remove(&self.dir.join(INFLIGHT)).map_err(io_err(&self.dir))?;
        g.slots.base = Some((base, n));
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
        if g.slots.inflight.as_ref().is_some_and(|f| f.0.full)
            || (g.ledger.full_requested && g.slots.inflight.is_none())
        {
            return Ok(false);
        }
        g.ledger.full_requested = true;
        if let Some((frame, _)) = g.slots.inflight.take_if(|f| !f.0.full) {
            if g.slots.pending.is_none() {
                let path = self.dir.join(PENDING);
                let n = write_slot(&path, &frame.snapshot, self.cfg.fsync).map_err(io_err(&path))?;
                g.slots.pending = Some((frame.snapshot, n));
            }
            remove(&self.dir.join(INFLIGHT)).map_err(io_err(&self.dir))?;
        }
        self.commit(&mut g)?;
        Ok(true)
    }

    /// The last snapshot the NOC acknowledged, with its seq.
    pub fn acked_snapshot(&self) -> Option<(u64, Snapshot)> {
        let g = self.lock();
        g.slots.base.as_ref().map(|b| (b.0.seq, b.0.snapshot.clone()))
    }
}

fn write_slot<T: Serialize>(path: &Path, value: &T, fsync: bool) -> std::io::Result<u64> {
    let raw = rmp_serde::to_vec_named(value).map_err(std::io::Error::other)?;
    let body = zstd::bulk::compress(&raw, 3)?;
    let mut out = Vec::with_capacity(16 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[VERSION, 0, 0, 0]);
    out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    out.extend_from_slice(&(raw.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    write_atomic(path, &out, fsync)?;
    Ok(out.len() as u64)
}

/// Reads a slot; a missing or damaged slot reads as absent (logged), since every slot can be rebuilt.
fn read_slot<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<(T, u64)> {
    let bytes = fs::read(path).ok()?;
    let parsed = (|| {
        if bytes.len() < 16 || &bytes[0..4] != MAGIC || bytes[4] != VERSION {
            return Err("bad header".to_string());
        }
        let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let raw_len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let body = &bytes[16..];
        if crc32c::crc32c(body) != crc {
            return Err("checksum mismatch".to_string());
        }
        if raw_len > 512 << 20 {
            return Err(format!("declared size {raw_len} is implausible"));
        }
        let raw = zstd::bulk::decompress(body, raw_len).map_err(|e| e.to_string())?;
        rmp_serde::from_slice(&raw).map_err(|e| e.to_string())
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
