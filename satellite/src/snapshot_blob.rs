//! A site snapshot kept as bytes: the compact MessagePack of an [`outpost_format::Snapshot`] (exactly what
//! `rmp_serde::to_vec` gives, i.e. a full snapshot frame's payload), zstd-compressed, with the content hash of
//! its objects.
//!
//! Why bytes: at 100,000 services a decoded `Snapshot` is about 70 MiB, the compressed encoding about 2.5 MB.
//! The engine writes a blob straight from its table, one object at a time ([`BlobWriter`]), and the spool
//! makes deltas by decoding its base and the current blob one object at a time ([`SnapshotBlob::entries`]),
//! so no whole copy of the site is ever built. The content hash is SHA-256 over the objects map's encoding,
//! which is a contiguous part of the snapshot's encoding, so the writer hashes it as it goes.

use std::io::{self, BufRead, BufReader, BufWriter, Read, Write};

use outpost_format::delta::ContentHash;
use outpost_format::frame::{Frame, FrameKind, MAX_LOCATION_LEN};
use outpost_format::model::{Acknowledgement, Comment, Downtime, ObjectConfig, Status};
use outpost_format::{Object, ObjectKey, Snapshot, UnixMillis};
use serde::Serialize;
use sha2::{Digest, Sha256};

/// zstd level of blobs: one is written every ship interval, so the fast default (`frame::DEFAULT_ZSTD_LEVEL`).
const LEVEL: i32 = outpost_format::frame::DEFAULT_ZSTD_LEVEL;
/// zstd window of blobs (2^19 = 512 KiB instead of level 3's 2 MiB): every decoder of a blob allocates the
/// window, and a delta runs two of them. Objects repeat their neighbours' shape, so a short window loses little.
const WINDOW_LOG: u32 = 19;
/// Largest zstd window accepted when decoding a blob (as the frame decoder: 2^27).
const MAX_WINDOW_LOG: u32 = 27;

/// An encoded snapshot. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotBlob {
    pub taken_at: UnixMillis,
    /// `outpost_format::delta::content_hash` of the snapshot.
    pub hash: ContentHash,
    /// Length of the MessagePack before compression.
    pub raw_len: u64,
    /// The zstd-compressed MessagePack.
    pub zstd: Vec<u8>,
}

/// Serialises exactly as an [`Object`] does (compact MessagePack is an array of the fields in order), from
/// borrowed parts: the engine's table keeps an object's configuration apart from its state.
#[derive(Serialize)]
pub struct ObjectRef<'a> {
    pub config: &'a ObjectConfig,
    pub status: &'a Status,
    pub acknowledgement: Option<&'a Acknowledgement>,
    pub downtimes: &'a [Downtime],
    pub comments: &'a [Comment],
}

impl<'a> From<&'a Object> for ObjectRef<'a> {
    fn from(o: &'a Object) -> Self {
        ObjectRef {
            config: &o.config,
            status: &o.status,
            acknowledgement: o.acknowledgement.as_ref(),
            downtimes: &o.downtimes,
            comments: &o.comments,
        }
    }
}

/// Writes a blob object by object. Objects must come in ascending key order, `objects` of them.
pub struct BlobWriter {
    out: BufWriter<Tee>,
    taken_at: UnixMillis,
    left: usize,
}

/// Everything written goes to the compressor; once hashing starts (at the objects map) to the hasher too.
struct Tee {
    zstd: zstd::stream::write::Encoder<'static, Vec<u8>>,
    hasher: Option<Sha256>,
    raw_len: u64,
}

impl Write for Tee {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.zstd.write_all(buf)?;
        if let Some(h) = &mut self.hasher {
            h.update(buf);
        }
        self.raw_len += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlobWriter {
    pub fn new(location: &str, taken_at: UnixMillis, objects: usize) -> io::Result<BlobWriter> {
        let mut zstd = zstd::stream::write::Encoder::new(Vec::new(), LEVEL)?;
        zstd.window_log(WINDOW_LOG)?;
        // serde's many small writes make zstd slow without a buffer in front (see /work/shared/crates.md).
        let mut out = BufWriter::with_capacity(64 << 10, Tee { zstd, hasher: None, raw_len: 0 });
        // `Snapshot` is `[location, taken_at, {key: object, ...}]`, written as rmp_serde writes it.
        rmp::encode::write_array_len(&mut out, 3).map_err(io::Error::other)?;
        rmp::encode::write_str(&mut out, location).map_err(io::Error::other)?;
        rmp::encode::write_sint(&mut out, taken_at).map_err(io::Error::other)?;
        out.flush()?;
        out.get_mut().hasher = Some(Sha256::new());
        let n = u32::try_from(objects).map_err(|_| io::Error::other("more than 2^32 objects"))?;
        rmp::encode::write_map_len(&mut out, n).map_err(io::Error::other)?;
        Ok(BlobWriter { out, taken_at, left: objects })
    }

    pub fn push(&mut self, key: &ObjectKey, object: &ObjectRef<'_>) -> io::Result<()> {
        self.left = self.left.checked_sub(1).ok_or_else(|| io::Error::other("more objects than announced"))?;
        rmp_serde::encode::write(&mut self.out, key).map_err(io::Error::other)?;
        rmp_serde::encode::write(&mut self.out, object).map_err(io::Error::other)
    }

    pub fn finish(self) -> io::Result<SnapshotBlob> {
        if self.left != 0 {
            return Err(io::Error::other(format!("{} objects announced but not written", self.left)));
        }
        let tee = self.out.into_inner().map_err(|e| e.into_error())?;
        let hash = tee.hasher.map(|h| h.finalize().into()).unwrap_or_default();
        let mut zstd = tee.zstd.finish()?;
        zstd.shrink_to_fit();
        Ok(SnapshotBlob { taken_at: self.taken_at, hash, raw_len: tee.raw_len, zstd })
    }
}

impl SnapshotBlob {
    /// Encodes a decoded snapshot (for `satellite ship --snapshot` and tests).
    pub fn from_snapshot(s: &Snapshot) -> io::Result<SnapshotBlob> {
        let mut w = BlobWriter::new(&s.location, s.taken_at, s.objects.len())?;
        for (key, object) in &s.objects {
            w.push(key, &object.into())?;
        }
        w.finish()
    }

    /// Decodes the objects one at a time, in key order.
    pub fn entries(&self) -> io::Result<Entries<'_>> {
        let mut decoder = zstd::stream::read::Decoder::new(&self.zstd[..])?;
        decoder.window_log_max(MAX_WINDOW_LOG)?;
        let mut r = BufReader::with_capacity(64 << 10, decoder);
        let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("snapshot blob: {what}"));
        if rmp::decode::read_array_len(&mut r).map_err(|_| bad("no snapshot array"))? != 3 {
            return Err(bad("the snapshot array does not have 3 fields"));
        }
        let loc_len = rmp::decode::read_str_len(&mut r).map_err(|_| bad("no location"))? as usize;
        if loc_len > MAX_LOCATION_LEN {
            return Err(bad("location too long"));
        }
        io::copy(&mut (&mut r).take(loc_len as u64), &mut io::sink())?;
        let _taken_at: i64 = rmp::decode::read_int(&mut r).map_err(|_| bad("no taken_at"))?;
        let left = rmp::decode::read_map_len(&mut r).map_err(|_| bad("no objects map"))?;
        Ok(Entries { r, left, error: None })
    }

    /// Decodes the whole snapshot (tests and tools; the daemon never needs it).
    pub fn decode(&self) -> io::Result<Snapshot> {
        let raw = zstd::stream::decode_all(&self.zstd[..])?;
        rmp_serde::from_slice(&raw).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
    }

    /// The full snapshot frame of this blob: the same frame as `Frame { payload: Payload::Full(snapshot), .. }`
    /// encodes to, with the blob's MessagePack recompressed at zstd level 9. A full frame is rare (the first
    /// one, after the NOC lost its base, every `full_every` deltas) and the largest thing a satellite sends, so
    /// it gets level 9 (25% smaller than the blob's level 3 on a site with varied outputs and perfdata); see
    /// [`recompress_for_frame`] for its memory. Where level 3 came out smaller, the blob's bytes go as they are.
    pub fn full_frame(&self, location: &str, epoch: u64, seq: u64) -> io::Result<Vec<u8>> {
        let raw_len = u32::try_from(self.raw_len).map_err(|_| io::Error::other("snapshot over 4 GiB"))?;
        let recompressed = recompress_for_frame(&self.zstd, self.raw_len)?;
        // Very repetitive sites (every output alike) can come out smaller at level 3: send the smaller.
        let compressed = if recompressed.len() < self.zstd.len() { &recompressed } else { &self.zstd };
        Frame::assemble(FrameKind::FullSnapshot, location, epoch, seq, compressed, raw_len)
            .map_err(|e| io::Error::other(format!("snapshot frame for location {location:?}: {e}")))
    }
}

/// zstd level of full frames, as `Frame::encode` uses for full snapshots.
const FRAME_LEVEL: i32 = outpost_format::frame::FULL_SNAPSHOT_ZSTD_LEVEL;
/// Hash and chain table sizes (log2 entries) of the full-frame compressor. Level 9's own (2^22 and 2^23 entries
/// of 4 bytes: 48 MiB for a 100,000-service site) would be more than the satellite's whole steady state; tables
/// the size of the blob's 512 KiB window make it about 5 MiB and lose under 0.1% (measured with the zstd CLI on
/// the 10,000-service generated site: 190,747 B against 189,225 B).
const FRAME_TABLE_LOG: u32 = 19;

/// Streams `blob` (zstd of `raw_len` bytes) through a level-9 compressor with the blob's window.
fn recompress_for_frame(blob: &[u8], raw_len: u64) -> io::Result<Vec<u8>> {
    use zstd::zstd_safe::CParameter;
    let mut decoder = zstd::stream::read::Decoder::new(blob)?;
    decoder.window_log_max(MAX_WINDOW_LOG)?;
    let mut encoder = zstd::stream::write::Encoder::new(Vec::with_capacity(blob.len()), FRAME_LEVEL)?;
    encoder.window_log(WINDOW_LOG)?;
    encoder.set_parameter(CParameter::HashLog(FRAME_TABLE_LOG))?;
    encoder.set_parameter(CParameter::ChainLog(FRAME_TABLE_LOG))?;
    encoder.set_pledged_src_size(Some(raw_len))?;
    let copied = io::copy(&mut decoder, &mut encoder)?;
    if copied != raw_len {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("snapshot blob: {copied} bytes of MessagePack where {raw_len} were recorded"),
        ));
    }
    encoder.finish()
}

/// The objects of a blob, decoded one at a time. Stops at the first decoding error, which [`Entries::finish`]
/// then reports (an iterator of plain entries is what `delta::make_from_entries` merges).
pub struct Entries<'a> {
    r: BufReader<zstd::stream::read::Decoder<'a, BufReader<&'a [u8]>>>,
    left: u32,
    error: Option<String>,
}

impl Entries<'_> {
    fn next_entry(&mut self) -> Result<(ObjectKey, Object), String> {
        let mut de = rmp_serde::Deserializer::new(&mut self.r);
        let key = serde::Deserialize::deserialize(&mut de).map_err(|e| format!("object key: {e}"))?;
        let object = serde::Deserialize::deserialize(&mut de).map_err(|e| format!("object: {e}"))?;
        Ok((key, object))
    }

    /// Whether every object decoded and nothing follows them.
    pub fn finish(mut self) -> io::Result<()> {
        let bad = |m: String| io::Error::new(io::ErrorKind::InvalidData, format!("snapshot blob: {m}"));
        if let Some(e) = self.error {
            return Err(bad(e));
        }
        if self.left != 0 {
            return Err(bad(format!("{} objects not read", self.left)));
        }
        if !self.r.fill_buf()?.is_empty() {
            return Err(bad("bytes after the objects".into()));
        }
        Ok(())
    }
}

impl Iterator for Entries<'_> {
    type Item = (ObjectKey, Object);
    fn next(&mut self) -> Option<(ObjectKey, Object)> {
        if self.left == 0 || self.error.is_some() {
            return None;
        }
        match self.next_entry() {
            Ok(entry) => {
                self.left -= 1;
                Some(entry)
            }
            Err(e) => {
                self.error = Some(e);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_format::delta::content_hash;
    use outpost_format::frame::{Frame, Limits, Payload};

    /// Every field set, so that a field the blob writer misses changes the bytes.
    fn site() -> Snapshot {
        let mut s = outpost_format::sitegen::site(200, 1);
        s.taken_at = -5;
        for (i, o) in s.objects.values_mut().enumerate().step_by(7) {
            o.acknowledgement =
                Some(Acknowledgement { author: "ann".into(), comment: "on it".into(), sticky: true, time: 9 });
            o.comments.push(Comment { id: i as u64, author: "bob".into(), text: "note".into(), time: 3 });
            o.downtimes.push(Downtime {
                id: 1,
                author: "c".into(),
                comment: "d".into(),
                start: 1,
                end: 2,
                fixed: false,
                duration_s: 60,
                started_at: Some(1),
            });
            o.config.custom_vars.insert("k".into(), "v".into());
        }
        s
    }

    fn raw(blob: &SnapshotBlob) -> Vec<u8> {
        zstd::stream::decode_all(&blob.zstd[..]).expect("inflates")
    }

    #[test]
    fn a_blob_is_the_snapshots_compact_encoding_and_content_hash() {
        let s = site();
        let blob = SnapshotBlob::from_snapshot(&s).expect("encodes");
        assert_eq!(raw(&blob), rmp_serde::to_vec(&s).expect("encodes"));
        assert_eq!(blob.raw_len, raw(&blob).len() as u64);
        assert_eq!(blob.hash, content_hash(&s));
        assert_eq!(blob.taken_at, -5);
        assert_eq!(blob.decode().expect("decodes"), s);
    }

    #[test]
    fn entries_stream_the_objects_in_order() {
        let s = site();
        let blob = SnapshotBlob::from_snapshot(&s).expect("encodes");
        let mut entries = blob.entries().expect("header");
        let got: Vec<(ObjectKey, Object)> = entries.by_ref().collect();
        entries.finish().expect("whole");
        assert_eq!(got, s.objects.into_iter().collect::<Vec<_>>());
    }

    #[test]
    fn a_truncated_blob_is_an_error_not_a_shorter_site() {
        let s = site();
        let blob = SnapshotBlob::from_snapshot(&s).expect("encodes");
        let mut cut = raw(&blob);
        cut.truncate(cut.len() / 2);
        let cut = SnapshotBlob { zstd: zstd::bulk::compress(&cut, 1).expect("compress"), ..blob };
        let mut entries = cut.entries().expect("header");
        assert!(entries.by_ref().count() < s.objects.len());
        assert!(entries.finish().is_err());
    }

    #[test]
    fn the_writer_refuses_a_miscount() {
        let mut w = BlobWriter::new("FRA1", 1, 1).expect("new");
        assert!(w.push(&ObjectKey::host("a"), &(&Object::default()).into()).is_ok());
        assert!(w.push(&ObjectKey::host("b"), &(&Object::default()).into()).is_err());
        assert!(BlobWriter::new("FRA1", 1, 2).expect("new").finish().is_err());
    }

    #[test]
    fn full_frame_decodes_to_the_snapshot() {
        let s = site();
        let blob = SnapshotBlob::from_snapshot(&s).expect("encodes");
        let bytes = blob.full_frame(&s.location, 77, 5).expect("frame");
        let frame = Frame::decode(&bytes, &Limits::default()).expect("decodes");
        assert_eq!(frame, Frame { location: s.location.clone(), epoch: 77, seq: 5, payload: Payload::Full(s.clone()) });
        // The header is what Frame::encode writes for the same snapshot (only the compressed bytes may differ).
        let reference = Frame { location: s.location.clone(), epoch: 77, seq: 5, payload: Payload::Full(s) }
            .encode()
            .expect("encodes");
        assert_eq!(bytes[..28], reference[..28]);
        assert_eq!(bytes[32..36], reference[32..36], "raw_len");
        assert!(blob.full_frame("", 1, 1).is_err());
    }

    /// A site with varied outputs and perfdata goes at level 9, clearly smaller than the blob; one where every
    /// object is alike is never sent larger than the blob.
    #[test]
    fn full_frames_send_the_smaller_compression() {
        let payload_len = |frame: &[u8]| frame.len() - outpost_format::frame::HEADER_LEN - "FRA1".len();
        let varied = outpost_format::sitegen::site(2_000, 1);
        let blob = SnapshotBlob::from_snapshot(&varied).expect("encodes");
        let frame = blob.full_frame("FRA1", 1, 1).expect("frame");
        assert!(
            payload_len(&frame) * 10 < blob.zstd.len() * 9,
            "{} B against {} B",
            payload_len(&frame),
            blob.zstd.len()
        );
        let mut alike = varied;
        for (_, o) in alike.objects.iter_mut() {
            o.status = Status::default();
        }
        let blob = SnapshotBlob::from_snapshot(&alike).expect("encodes");
        let frame = blob.full_frame("FRA1", 1, 1).expect("frame");
        assert!(payload_len(&frame) <= blob.zstd.len());
        let decoded = Frame::decode(&frame, &Limits::default()).expect("decodes");
        assert_eq!(decoded.payload, Payload::Full(alike));
    }
}
