//! Segment files: naming, the header, and the recovery scan.
//!
//! A segment is `segments/<first spool seq, 20 digits>.seg`: a 16-byte header (`"OPSG"`, version `1`,
//! three zero bytes, first seq as LE u64) followed by records (see `record.rs`) with consecutive seqs.
//! Only the newest segment is ever appended to. This module reads and checks; `mod.rs` decides.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::record::{self, Decoded};

pub const SEGMENT_HEADER_LEN: u64 = 16;
const MAGIC: &[u8; 4] = b"OPSG";
const VERSION: u8 = 1;
/// How much of a segment is read at once while scanning.
const SCAN_CHUNK: usize = 1 << 20;

/// What a scan learned about one segment file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentScan {
    pub first_seq: u64,
    /// Seq after the last valid record (== first_seq when empty).
    pub next_seq: u64,
    /// Bytes from the start of the file through the last valid record.
    pub valid_len: u64,
    /// The file's length on disk.
    pub file_len: u64,
    /// Event time of the first valid record, for the age budget.
    pub first_time: Option<i64>,
    /// Where and why the valid prefix ended, when it ended before the end of the file.
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file ends inside a record: a torn write.
    Torn,
    /// A record that is complete but wrong (checksum, decode, seq out of order), or a bad header.
    Corrupt(String),
}

pub fn file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.seg")
}

/// The first seq a segment file name claims, or `None` for files that are not segments.
pub fn parse_name(path: &Path) -> Option<u64> {
    let name = path.file_name()?.to_str()?;
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

pub fn header(first_seq: u64) -> [u8; SEGMENT_HEADER_LEN as usize] {
    let mut h = [0u8; SEGMENT_HEADER_LEN as usize];
    h[0..4].copy_from_slice(MAGIC);
    h[4] = VERSION;
    h[8..16].copy_from_slice(&first_seq.to_le_bytes());
    h
}

/// Reads the whole segment and finds its valid prefix. Never trusts a length before checking it.
pub fn scan(path: &Path, first_seq: u64) -> std::io::Result<SegmentScan> {
    let mut file = File::open(path)?;
    let file_len = file.metadata()?.len();
    let mut out =
        SegmentScan { first_seq, next_seq: first_seq, valid_len: 0, file_len, first_time: None, problem: None };
    let mut head = [0u8; SEGMENT_HEADER_LEN as usize];
    if file_len < SEGMENT_HEADER_LEN {
        out.problem = Some(Problem::Torn);
        return Ok(out);
    }
    file.read_exact(&mut head)?;
    if head != header(first_seq) {
        out.problem = Some(Problem::Corrupt("bad segment header".into()));
        return Ok(out);
    }
    out.valid_len = SEGMENT_HEADER_LEN;
    let mut buf: Vec<u8> = Vec::new();
    let mut buf_start = SEGMENT_HEADER_LEN;
    let mut eof = false;
    loop {
        let pos = (out.valid_len - buf_start) as usize;
        match record::decode(&buf[pos..]) {
            Decoded::Record { event, len } => {
                if event.seq != out.next_seq {
                    out.problem =
                        Some(Problem::Corrupt(format!("record seq {} where {} was expected", event.seq, out.next_seq)));
                    return Ok(out);
                }
                out.first_time.get_or_insert(event.time);
                out.next_seq += 1;
                out.valid_len += len as u64;
            }
            Decoded::Short if eof => {
                if out.valid_len < file_len {
                    out.problem = Some(Problem::Torn);
                }
                return Ok(out);
            }
            Decoded::Short => {
                // Refill: keep the unread tail, read the next chunk.
                buf.drain(..pos);
                buf_start = out.valid_len;
                let before = buf.len();
                buf.resize(before + SCAN_CHUNK, 0);
                file.seek(SeekFrom::Start(buf_start + before as u64))?;
                let n = read_full(&mut file, &mut buf[before..])?;
                buf.truncate(before + n);
                eof = n == 0 || buf_start + buf.len() as u64 >= file_len;
            }
            Decoded::Bad(why) => {
                out.problem = Some(Problem::Corrupt(why));
                return Ok(out);
            }
        }
    }
}

fn read_full(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Segment files in `dir`, oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if let Some(first) = parse_name(&path) {
            out.push((first, path));
        }
    }
    out.sort();
    Ok(out)
}
