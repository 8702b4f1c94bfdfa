//! Retention: object state, acknowledgements, downtimes, comments and schedule, kept across restarts
//! and crashes in `<state_dir>/retention`.
//!
//! # File format
//! `b"OPRETN01"` (magic and version) | crc32c of the payload, u32 little endian | payload:
//! MessagePack with field names ([`Retained`]), so fields can be added without a new version.
//!
//! Writes are atomic: write `retention.tmp`, fsync it, rename over `retention`, fsync the directory.
//! A crash leaves either the old or the new file, never a mix.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
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
/// `objects` serialises as a sequence of [`RetainedObjectRef`] of known length (see `Table::write_retained`).
#[derive(Serialize)]
pub struct RetainedRef<O: Serialize> {
    pub saved_at: UnixMillis,
    pub paused: bool,
    pub next_downtime_id: u64,
    pub next_comment_id: u64,
    pub objects: O,
}

#[derive(Serialize)]
pub struct RetainedObjectRef<'a> {
    pub key: &'a ObjectKey,
    pub status: &'a Status,
    pub acknowledgement: Option<&'a Acknowledgement>,
    pub downtimes: &'a [Downtime],
    pub comments: &'a [Comment],
    pub runtime: &'a Runtime,
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
    let mut w = RetentionWriter::create(state_dir)?;
    rmp_serde::encode::write_named(w.payload(), retained)
        .map_err(|e| RetentionError::Corrupt { path: path(state_dir), reason: e.to_string() })?;
    w.commit()
}

/// A retention file being written: the payload streams through a buffer into `retention.tmp`, so no
/// encoded copy of the state is held in memory (at 100,000 objects it is about 47 MB).
/// [`RetentionWriter::commit`] fills in the checksum, fsyncs, renames over `retention` and fsyncs the directory;
/// dropping the writer instead leaves the old file in place.
pub struct RetentionWriter {
    out: BufWriter<Crc<File>>,
    tmp: PathBuf,
    final_path: PathBuf,
}

/// Passes writes (or reads) through while computing their CRC32C.
struct Crc<T> {
    inner: T,
    crc: u32,
}

impl<W: Write> Write for Crc<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Crc<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.crc = crc32c::crc32c_append(self.crc, &buf[..n]);
        Ok(n)
    }
}

impl RetentionWriter {
    pub fn create(state_dir: &Path) -> Result<RetentionWriter, RetentionError> {
        let final_path = path(state_dir);
        let tmp = state_dir.join("retention.tmp");
        let io = |source| RetentionError::Io { path: final_path.clone(), source };
        let mut f = File::create(&tmp).map_err(io)?;
        // The checksum is not known yet: a placeholder, filled in by `commit`.
        f.write_all(MAGIC).and_then(|()| f.write_all(&[0; 4])).map_err(io)?;
        let out = BufWriter::with_capacity(64 << 10, Crc { inner: f, crc: 0 });
        Ok(RetentionWriter { out, tmp, final_path })
    }

    /// Where the MessagePack payload goes.
    pub fn payload(&mut self) -> &mut impl Write {
        &mut self.out
    }

    pub fn commit(self) -> Result<(), RetentionError> {
        let RetentionWriter { out, tmp, final_path } = self;
        let io = |source| RetentionError::Io { path: final_path.clone(), source };
        let Crc { inner: mut f, crc } = out.into_inner().map_err(|e| io(e.into_error()))?;
        f.seek(SeekFrom::Start(MAGIC.len() as u64)).and_then(|_| f.write_all(&crc.to_le_bytes())).map_err(io)?;
        f.sync_all().map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, &final_path).map_err(io)?;
        let dir = final_path.parent().unwrap_or(Path::new("."));
        File::open(dir).and_then(|d| d.sync_all()).map_err(io)?;
        Ok(())
    }
}

/// Reads the retention file; `Ok(None)` when there is none yet.
pub fn load(state_dir: &Path) -> Result<Option<Retained>, RetentionError> {
    let mut objects = Vec::new();
    let settings = load_each(state_dir, |o| objects.push(o))?;
    Ok(settings.map(|s| Retained {
        saved_at: s.saved_at,
        paused: s.paused,
        next_downtime_id: s.next_downtime_id,
        next_comment_id: s.next_comment_id,
        objects,
    }))
}

/// [`Retained`] without its objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetainedSettings {
    pub saved_at: UnixMillis,
    pub paused: bool,
    pub next_downtime_id: u64,
    pub next_comment_id: u64,
}

/// Reads the retention file, handing each object to `each` as it is decoded: neither the file nor the
/// decoded state is held whole in memory (the engine moves each object into its table). `Ok(None)` when
/// there is no file yet. The checksum covers the whole payload and is only known at the end: on `Err`,
/// objects already handed over came from a damaged file and must be discarded.
pub fn load_each(
    state_dir: &Path,
    each: impl FnMut(RetainedObject),
) -> Result<Option<RetainedSettings>, RetentionError> {
    let p = path(state_dir);
    let file = match File::open(&p) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(RetentionError::Io { path: p, source }),
    };
    let corrupt = |reason: String| RetentionError::Corrupt { path: p.clone(), reason };
    let mut r = BufReader::with_capacity(64 << 10, file);
    let mut header = [0u8; 12];
    r.read_exact(&mut header).map_err(|_| corrupt("shorter than its header".into()))?;
    if &header[..8] != MAGIC {
        return Err(corrupt("bad magic".into()));
    }
    let want = u32::from_le_bytes([header[8], header[9], header[10], header[11]]);
    let mut payload = Crc { inner: r, crc: 0 };
    let decoded = {
        let mut de = rmp_serde::Deserializer::new(&mut payload);
        serde::de::DeserializeSeed::deserialize(Streamed { each }, &mut de)
    };
    // Whatever follows the payload is covered by the checksum too (a writer never leaves any).
    let rest = std::io::copy(&mut payload, &mut std::io::sink())
        .map_err(|source| RetentionError::Io { path: p.clone(), source })?;
    if payload.crc != want {
        return Err(corrupt("checksum mismatch".into()));
    }
    if rest != 0 {
        return Err(corrupt(format!("{rest} bytes after the payload")));
    }
    decoded.map(Some).map_err(|e| corrupt(e.to_string()))
}

/// Decodes a [`Retained`] map (the named form every writer uses), passing objects on one at a time.
struct Streamed<F> {
    each: F,
}

impl<'de, F: FnMut(RetainedObject)> serde::de::DeserializeSeed<'de> for Streamed<F> {
    type Value = RetainedSettings;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RetainedSettings, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, F: FnMut(RetainedObject)> serde::de::Visitor<'de> for Streamed<F> {
    type Value = RetainedSettings;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a retention map")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<RetainedSettings, A::Error> {
        let mut s = RetainedSettings::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "saved_at" => s.saved_at = map.next_value()?,
                "paused" => s.paused = map.next_value()?,
                "next_downtime_id" => s.next_downtime_id = map.next_value()?,
                "next_comment_id" => s.next_comment_id = map.next_value()?,
                "objects" => map.next_value_seed(Objects { each: &mut self.each })?,
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(s)
    }
}

struct Objects<'f, F> {
    each: &'f mut F,
}

impl<'de, F: FnMut(RetainedObject)> serde::de::DeserializeSeed<'de> for Objects<'_, F> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(RetainedObject)> serde::de::Visitor<'de> for Objects<'_, F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a sequence of retained objects")
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(o) = seq.next_element()? {
            (self.each)(o);
        }
        Ok(())
    }
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
    fn the_file_is_magic_checksum_and_named_messagepack_and_an_unfinished_write_changes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let retained = Retained { saved_at: 3, next_downtime_id: 4, ..Retained::default() };
        save(dir.path(), &retained).expect("save");
        let bytes = std::fs::read(path(dir.path())).expect("read");
        assert_eq!(&bytes[..8], MAGIC);
        let payload = &bytes[12..];
        assert_eq!(payload, rmp_serde::to_vec_named(&retained).expect("encode"));
        assert_eq!(bytes[8..12], crc32c::crc32c(payload).to_le_bytes());
        let mut w = RetentionWriter::create(dir.path()).expect("create");
        w.payload().write_all(b"half a payload").expect("write");
        drop(w);
        assert_eq!(load(dir.path()).expect("load"), Some(retained));
    }

    #[test]
    fn bytes_after_the_payload_are_corruption() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut w = RetentionWriter::create(dir.path()).expect("create");
        rmp_serde::encode::write_named(w.payload(), &Retained::default()).expect("encode");
        w.payload().write_all(b"x").expect("write");
        w.commit().expect("commit");
        let err = load(dir.path()).expect_err("trailing byte");
        assert!(
            matches!(&err, RetentionError::Corrupt { reason, .. } if reason.contains("after the payload")),
            "{err}"
        );
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
