//! The ledger: the spool's small, atomically replaced record of positions and counters.
//!
//! File `ledger`: `"OPLG"`, version byte `1`, three zero bytes, CRC32C (LE u32) of the body,
//! body length (LE u32), then the body as JSON (small, written rarely, readable by an operator with `tail -c`).
//! Written as temp file, fsync, rename, fsync of the directory, so a crash leaves the old or the new ledger.

use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

const MAGIC: &[u8; 4] = b"OPLG";
const VERSION: u8 = 1;
const HEAD_LEN: usize = 16;

/// Everything the spool must remember that the segment files cannot tell it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    /// Random, created with an empty spool, changed when events had to be dropped (the NOC then restarts the streams).
    pub epoch: u64,
    /// Wire seq = spool seq - `seq_offset`; moves when an epoch starts after a drop.
    pub seq_offset: u64,
    /// Highest spool seq the NOC acknowledged.
    pub acked_seq: u64,
    /// Spool seq the next appended event gets, as of the last ledger write (a lower bound: the log may be ahead).
    pub next_seq: u64,
    /// Snapshots stream: highest seq the NOC acknowledged in this epoch.
    pub snapshot_acked_seq: u64,
    /// Deltas sent since the last full snapshot.
    pub deltas_since_full: u32,
    /// The NOC asked for a full snapshot; the next snapshot frame is full.
    #[serde(default)]
    pub full_requested: bool,
    /// Counters since the spool was created; never reset.
    pub dropped_events: u64,
    pub dropped_snapshots: u64,
    pub dropped_bytes: u64,
    /// Queued events whose perfdata gave way to the byte budget (added later: absent in older ledgers).
    #[serde(default)]
    pub perfdata_stripped: u64,
    pub quarantined_segments: u64,
    /// Satellite clock of the last acknowledgement that moved a position, Unix ms (0: never).
    pub last_delivery_ms: i64,
    /// `SpoolOverflow` reports not known to be acknowledged yet, oldest first: a later drop that discards one
    /// unsent folds its counts into its own report, so the NOC learns of every drop even when a long outage
    /// drops the reports too. Pruned at each drop (acknowledged ones leave), so it stays a few entries long.
    #[serde(default)]
    pub unacked_overflow: Vec<OverflowReport>,
}

/// Where a `SpoolOverflow` report sits (spool seq) and the counts it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverflowReport {
    pub spool_seq: u64,
    pub dropped_events: u64,
    pub dropped_snapshots: u64,
    pub dropped_bytes: u64,
    #[serde(default)]
    pub perfdata_stripped: u64,
}

impl Ledger {
    pub fn new(epoch: u64) -> Ledger {
        Ledger {
            epoch,
            seq_offset: 0,
            acked_seq: 0,
            next_seq: 1,
            snapshot_acked_seq: 0,
            deltas_since_full: 0,
            full_requested: false,
            dropped_events: 0,
            dropped_snapshots: 0,
            dropped_bytes: 0,
            perfdata_stripped: 0,
            quarantined_segments: 0,
            last_delivery_ms: 0,
            unacked_overflow: Vec::new(),
        }
    }

    /// Reads the ledger; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Ledger>, String> {
        let bytes = match fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("read {}: {e}", path.display())),
        };
        if bytes.len() < HEAD_LEN || &bytes[0..4] != MAGIC {
            return Err(format!("{} is not a spool ledger (bad magic or too short)", path.display()));
        }
        if bytes[4] != VERSION {
            return Err(format!(
                "{}: ledger version {} is not supported (this build reads {VERSION})",
                path.display(),
                bytes[4]
            ));
        }
        let crc = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        let len = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]) as usize;
        let body = bytes.get(HEAD_LEN..HEAD_LEN + len).ok_or_else(|| format!("{} is truncated", path.display()))?;
        if crc32c::crc32c(body) != crc {
            return Err(format!("{}: checksum mismatch", path.display()));
        }
        serde_json::from_slice(body).map(Some).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Replaces the ledger atomically and durably.
    pub fn store(&self, path: &Path, fsync: bool) -> std::io::Result<()> {
        let body = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        let mut out = Vec::with_capacity(HEAD_LEN + body.len());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, 0, 0, 0]);
        out.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        crate::durable::write_atomic(path, &out, fsync)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_corruption_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger");
        assert_eq!(Ledger::load(&path), Ok(None));
        let mut l = Ledger::new(42);
        l.acked_seq = 9;
        l.store(&path, true).expect("store");
        assert_eq!(Ledger::load(&path), Ok(Some(l)));
        let mut bytes = fs::read(&path).expect("read");
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        fs::write(&path, bytes).expect("write");
        assert!(Ledger::load(&path).is_err());
    }
}
