//! Removing perfdata from the events of one segment: the middle step of giving way to the byte budget
//! (after the pending snapshot, before whole events).
//!
//! The segment is rewritten whole with the same records in the same order and with the same seqs, only the
//! `perfdata` of state changes and check results emptied. Crash-safe: the new content goes to
//! `<segment>.strip`, is fsynced, renamed over the segment, and the directory is fsynced, so after a crash
//! the segment is either the old or the new file, never a mix. A leftover `.strip` file is deleted at open.

use std::fs;
use std::path::{Path, PathBuf};

use outpost_format::EventKind;

use super::record::{self, Decoded};
use super::segment::{self, SEGMENT_HEADER_LEN};

/// Suffix of a rewrite in progress.
const TEMP_SUFFIX: &str = ".strip";

/// What a rewrite did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stripped {
    /// The segment's new length in bytes.
    pub len: u64,
    /// Events at or after `count_from` whose perfdata was removed.
    pub events: u64,
}

/// Rewrites the segment at `path` (first seq `first_seq`, valid for `len` bytes) without perfdata.
/// Returns `None`, leaving the file alone, when no record in it carries perfdata.
pub fn strip_segment(
    path: &Path,
    first_seq: u64,
    len: u64,
    count_from: u64,
    fsync: bool,
) -> std::io::Result<Option<Stripped>> {
    let mut bytes = fs::read(path)?;
    bytes.truncate(len as usize);
    if bytes.len() < SEGMENT_HEADER_LEN as usize || bytes[..SEGMENT_HEADER_LEN as usize] != segment::header(first_seq) {
        return Err(invalid("bad segment header"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..SEGMENT_HEADER_LEN as usize]);
    let mut pos = SEGMENT_HEADER_LEN as usize;
    let mut changed = false;
    let mut events = 0;
    while pos < bytes.len() {
        let (mut event, n) = match record::decode(&bytes[pos..]) {
            Decoded::Record { event, len } => (event, len),
            Decoded::Short => return Err(invalid("record runs past the end of the segment")),
            Decoded::Bad(why) => return Err(invalid(&why)),
        };
        match &mut event.kind {
            EventKind::StateChange(s) | EventKind::CheckResult(s) if !s.perfdata.is_empty() => {
                s.perfdata.clear();
                changed = true;
                if event.seq >= count_from {
                    events += 1;
                }
                out.extend_from_slice(&record::encode(&event).map_err(|e| invalid(&e))?);
            }
            _ => out.extend_from_slice(&bytes[pos..pos + n]),
        }
        pos += n;
    }
    if !changed {
        return Ok(None);
    }
    crate::durable::replace_file(path, &temp_path(path), &out, fsync)?;
    Ok(Some(Stripped { len: out.len() as u64, events }))
}

/// Deletes rewrites a crash interrupted (the segment itself is intact: the rename never happened).
pub fn remove_leftovers(seg_dir: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(seg_dir)? {
        let path = entry?.path();
        if path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.ends_with(TEMP_SUFFIX)) {
            fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn temp_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(TEMP_SUFFIX);
    PathBuf::from(p)
}

fn invalid(why: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("cannot strip perfdata: {why}"))
}
