//! Retention: object state, acknowledgements, downtimes, comments and schedule, kept across restarts
//! and crashes in `<state_dir>/retention`.
//!
//! # File format
//! `b"OPRETN01"` (magic and version) | crc32c of the payload, u32 little endian | payload:
//! MessagePack with field names ([`Retained`]), so fields can be added without a new version.
//!
//! Writes are atomic: write `retention.tmp`, fsync it, rename over `retention`, fsync the directory.
//! A crash leaves either the old or the new file, never a mix.

use std::io::Write;
use std::path::{Path, PathBuf};

use outpost_format::model::{Acknowledgement, Comment, Downtime, Status};
use outpost_format::{ObjectKey, UnixMillis};
use serde::{Deserialize, Serialize};

use super::Runtime;

const MAGIC: &[u8; 8] = b"OPRETN01";
pub const FILE_NAME: &str = "retention";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Retained {
    pub saved_at: UnixMillis,
    pub paused: bool,
    pub next_downtime_id: u64,
    pub next_comment_id: u64,
    pub objects: Vec<RetainedObject>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetainedObject {
    pub key: ObjectKey,
    pub status: Status,
    pub acknowledgement: Option<Acknowledgement>,
    pub downtimes: Vec<Downtime>,
    pub comments: Vec<Comment>,
    pub runtime: Runtime,
}

/// The same layout as [`Retained`], borrowing from the live table: serialising it needs no copy of the
/// site's state (at 100,000 objects a copy would be tens of MiB every retention interval).
#[derive(Serialize)]
pub struct RetainedRef<'a> {
    pub saved_at: UnixMillis,
    pub paused: bool,
    pub next_downtime_id: u64,
    pub next_comment_id: u64,
    pub objects: Vec<RetainedObjectRef<'a>>,
}

#[derive(Serialize)]
pub struct RetainedObjectRef<'a> {
    pub key: &'a ObjectKey,
    pub status: &'a Status,
    pub acknowledgement: &'a Option<Acknowledgement>,
    pub downtimes: &'a [Downtime],
    pub comments: &'a [Comment],
    pub runtime: &'a Runtime,
}

/// Encodes a retention payload (see [`save_encoded`]).
pub fn encode(retained: &RetainedRef<'_>) -> Result<Vec<u8>, String> {
    rmp_serde::to_vec_named(retained).map_err(|e| e.to_string())
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// The file could not be read or written (permissions, disk full). Not recoverable here.
    #[error("retention file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    /// The file exists but is not a retention file this version can read; the caller moves it aside.
    #[error("retention file {path} is damaged or from an unknown version: {reason}")]
    Corrupt { path: PathBuf, reason: String },
}

pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Writes `retained` atomically and durably.
pub fn save(state_dir: &Path, retained: &Retained) -> Result<(), RetentionError> {
    let payload = rmp_serde::to_vec_named(retained)
        .map_err(|e| RetentionError::Corrupt { path: path(state_dir), reason: e.to_string() })?;
    save_encoded(state_dir, &payload)
}

/// Writes an already encoded payload atomically and durably.
pub fn save_encoded(state_dir: &Path, payload: &[u8]) -> Result<(), RetentionError> {
    let final_path = path(state_dir);
    let tmp = state_dir.join("retention.tmp");
    let io = |source| RetentionError::Io { path: final_path.clone(), source };
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    let mut header = [0u8; 12];
    header[..8].copy_from_slice(MAGIC);
    header[8..].copy_from_slice(&crc32c::crc32c(payload).to_le_bytes());
    f.write_all(&header).map_err(io)?;
    f.write_all(payload).map_err(io)?;
    f.sync_all().map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, &final_path).map_err(io)?;
    std::fs::File::open(state_dir).and_then(|d| d.sync_all()).map_err(io)?;
    Ok(())
}

/// Reads the retention file; `Ok(None)` when there is none yet.
pub fn load(state_dir: &Path) -> Result<Option<Retained>, RetentionError> {
    let p = path(state_dir);
    let bytes = match std::fs::read(&p) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(RetentionError::Io { path: p, source }),
    };
    let corrupt = |reason: String| RetentionError::Corrupt { path: p.clone(), reason };
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(corrupt("bad magic".into()));
    }
    let mut crc = [0u8; 4];
    crc.copy_from_slice(&bytes[8..12]);
    let payload = &bytes[12..];
    if crc32c::crc32c(payload) != u32::from_le_bytes(crc) {
        return Err(corrupt("checksum mismatch".into()));
    }
    rmp_serde::from_slice(payload).map(Some).map_err(|e| corrupt(e.to_string()))
}

/// Moves a damaged retention file aside (kept for a human to look at) so the satellite can start fresh.
pub fn quarantine(state_dir: &Path, now: UnixMillis) -> std::io::Result<PathBuf> {
    let to = state_dir.join(format!("retention.corrupt.{now}"));
    std::fs::rename(path(state_dir), &to)?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(load(dir.path()).expect("load"), None);
        let mut status = Status { state: 2, current_attempt: 3, output: "CRIT".into(), ..Status::default() };
        status.last_check = 42;
        let retained = Retained {
            saved_at: 1,
            paused: true,
            next_downtime_id: 5,
            next_comment_id: 9,
            objects: vec![RetainedObject {
                key: ObjectKey::service("h", "s"),
                status,
                acknowledgement: None,
                downtimes: vec![],
                comments: vec![],
                runtime: Runtime { next_check: 77, ..Runtime::default() },
            }],
        };
        save(dir.path(), &retained).expect("save");
        assert_eq!(load(dir.path()).expect("load"), Some(retained));
    }

    #[test]
    fn flipped_byte_is_reported_as_corrupt_and_can_be_quarantined() {
        let dir = tempfile::tempdir().expect("tempdir");
        save(dir.path(), &Retained::default()).expect("save");
        let p = path(dir.path());
        let mut bytes = std::fs::read(&p).expect("read");
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&p, bytes).expect("write");
        assert!(matches!(load(dir.path()), Err(RetentionError::Corrupt { .. })));
        quarantine(dir.path(), 5).expect("quarantine");
        assert_eq!(load(dir.path()).expect("load"), None);
    }
}
