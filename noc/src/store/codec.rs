//! How the store encodes values it keeps as blobs: snapshots as zstd(compact MessagePack), events as named
//! MessagePack. Compact snapshots decode about twice as fast; `outpost_format`'s forward-compatible decoders
//! (`format/src/compat.rs`) accept both forms, so fields added to the model later still decode old rows.

use anyhow::Context;
use outpost_format::{Event, Snapshot};

/// Decompressed snapshot blobs are capped at this size: the same cap as a frame's payload after decompression.
const MAX_SNAPSHOT_BLOB: usize = 512 << 20;

pub fn encode_snapshot(s: &Snapshot) -> anyhow::Result<Vec<u8>> {
    let raw = rmp_serde::to_vec(s).context("encode snapshot")?;
    zstd::bulk::compress(&raw, 1).context("compress snapshot")
}

pub fn decode_snapshot(blob: &[u8]) -> anyhow::Result<Snapshot> {
    use std::io::Read;
    let mut raw = Vec::new();
    zstd::stream::read::Decoder::new(blob)
        .context("open snapshot blob")?
        .take(MAX_SNAPSHOT_BLOB as u64)
        .read_to_end(&mut raw)
        .context("decompress snapshot blob")?;
    rmp_serde::from_slice(&raw).context("decode snapshot blob")
}

pub fn encode_event(e: &Event) -> anyhow::Result<Vec<u8>> {
    rmp_serde::to_vec_named(e).context("encode event")
}

pub fn decode_event(blob: &[u8]) -> Result<Event, rmp_serde::decode::Error> {
    rmp_serde::from_slice(blob)
}
