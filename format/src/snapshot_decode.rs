//! Decoding a full snapshot's compact MessagePack on two threads.
//!
//! A large snapshot's object map is cut in two at its middle entry and each half decodes on its own thread.
//! Finding the middle needs no decoding: [`skip`] walks MessagePack item headers without allocating, while
//! the other thread already decodes the first half. Entries go through the hand-written compact decoder
//! (`compact_decode.rs`) with rmp-serde as its fallback. Small snapshots decode their entries on the
//! calling thread; payloads in the named form go to plain rmp-serde. All paths give the same result (see
//! the tests).

use serde::Deserialize;

use crate::model::{Object, ObjectKey, Snapshot};
use crate::object_map::ObjectMap;

/// Below this many objects one thread is faster than two.
const PARALLEL_MIN_OBJECTS: u64 = 16_384;

/// Decodes a full-snapshot payload (compact or named MessagePack).
pub fn decode_snapshot(raw: &[u8]) -> Result<Snapshot, String> {
    match split_compact(raw) {
        Some(parts) => decode_compact(raw, parts, parts.n_objects >= PARALLEL_MIN_OBJECTS && two_cores()),
        None => rmp_serde::from_slice(raw).map_err(|e| e.to_string()),
    }
}

fn two_cores() -> bool {
    std::thread::available_parallelism().map_or(1, |n| n.get()) >= 2
}

/// Byte offsets of a compact snapshot `[location, taken_at, {objects}]`.
#[derive(Debug, Clone, Copy)]
struct Parts {
    location: (usize, usize),
    taken_at: (usize, usize),
    /// First byte of the first map entry.
    entries: usize,
    n_objects: u64,
}

/// Finds the parts of a compact snapshot, or `None` when `raw` is not one (then rmp-serde decides).
fn split_compact(raw: &[u8]) -> Option<Parts> {
    if raw.first() != Some(&0x93) {
        return None;
    }
    let loc_end = skip(raw, 1, 1)?;
    let time_end = skip(raw, loc_end, 1)?;
    let (n_objects, entries) = map_header(raw, time_end)?;
    if n_objects > crate::object_map::MAX_OBJECTS as u64 {
        return None; // rmp-serde refuses it by the declared count, naming the limit.
    }
    Some(Parts { location: (1, loc_end), taken_at: (loc_end, time_end), entries, n_objects })
}

/// Decodes a compact snapshot's entries into a list, which is the map: the entries arrive in key order, so
/// nothing is built or moved after decoding (out-of-order or repeated keys are sorted, the last one kept,
/// as [`ObjectMap`]'s own decoding does).
fn decode_compact(raw: &[u8], parts: Parts, parallel: bool) -> Result<Snapshot, String> {
    let location: String =
        rmp_serde::from_slice(&raw[parts.location.0..parts.location.1]).map_err(|e| e.to_string())?;
    let taken_at: i64 = rmp_serde::from_slice(&raw[parts.taken_at.0..parts.taken_at.1]).map_err(|e| e.to_string())?;
    let entries = if parallel {
        match decode_halves(raw, parts) {
            Some(entries) => entries?,
            // The first half's items do not even parse: rmp-serde names the error.
            None => return rmp_serde::from_slice(raw).map_err(|e| e.to_string()),
        }
    } else {
        decode_entries(&raw[parts.entries..], parts.n_objects)?
    };
    let objects = ObjectMap::from_entries(entries);
    Ok(Snapshot { location, taken_at, objects })
}

/// Decodes the entries in two halves on two threads, or `None` when the second half cannot be found.
///
/// Where the second half starts is only known after walking the first half's items, so the other thread
/// starts decoding the first half at once (the compact decoder needs no end) while this thread walks to
/// the middle and decodes the second half: the walk is hidden behind the other thread's work.
fn decode_halves(raw: &[u8], parts: Parts) -> Option<Result<Vec<(ObjectKey, Object)>, String>> {
    let n_low = parts.n_objects / 2;
    let n_high = parts.n_objects - n_low;
    let start = parts.entries;
    let (low, high) = std::thread::scope(|s| {
        let low = s.spawn(|| crate::compact_decode::entries_prefix(&raw[start..], n_low, parts.n_objects));
        let high = skip(raw, start, n_low * 2).map(|middle| (middle, decode_entries(&raw[middle..], n_high)));
        (low.join(), high)
    });
    let (middle, high) = high?;
    let low = match low {
        Ok(Some((entries, used))) if start + used == middle => Ok(entries),
        Ok(_) => serde_entries(&raw[start..middle], n_low),
        Err(_) => Err("snapshot decoder thread panicked".to_string()),
    };
    Some(low.and_then(|mut low| {
        low.extend(high?);
        Ok(low)
    }))
}

/// Decodes exactly `count` key/value pairs that fill `bytes`: with the hand-written decoder of the compact
/// form when it recognises the bytes, else (or to get the error) with rmp-serde.
fn decode_entries(bytes: &[u8], count: u64) -> Result<Vec<(ObjectKey, Object)>, String> {
    if let Some(entries) = crate::compact_decode::entries(bytes, count) {
        return Ok(entries);
    }
    serde_entries(bytes, count)
}

/// [`decode_entries`] through rmp-serde.
fn serde_entries(bytes: &[u8], count: u64) -> Result<Vec<(ObjectKey, Object)>, String> {
    let mut out = Vec::with_capacity(crate::compact_decode::reserve_entries(count, bytes.len()));
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    for _ in 0..count {
        let key = ObjectKey::deserialize(&mut de).map_err(|e| e.to_string())?;
        let object = Object::deserialize(&mut de).map_err(|e| e.to_string())?;
        out.push((key, object));
    }
    Ok(out)
}

/// The invariant of the hand-written decoder, for tests and the fuzzer: on any bytes, when it returns
/// entries, rmp-serde returns the same entries; and a whole payload decodes as rmp-serde decodes it.
#[doc(hidden)]
pub fn check_decoders_agree(raw: &[u8], count: u64) {
    if let Some(fast) = crate::compact_decode::entries(raw, count) {
        assert_eq!(serde_entries(raw, count).as_ref(), Ok(&fast), "the compact decoder disagrees with rmp-serde");
    }
    let ours = decode_snapshot(raw);
    let theirs = rmp_serde::from_slice::<Snapshot>(raw).map_err(|e| e.to_string());
    assert_eq!(ours.as_ref().ok(), theirs.as_ref().ok(), "snapshot decoding disagrees with rmp-serde: {ours:?}");
}

/// A map header at `pos`: (number of entries, offset of the first entry).
fn map_header(raw: &[u8], pos: usize) -> Option<(u64, usize)> {
    let marker = *raw.get(pos)?;
    match marker {
        0x80..=0x8f => Some((u64::from(marker & 0x0f), pos + 1)),
        0xde => Some((be(raw, pos + 1, 2)?, pos + 3)),
        0xdf => Some((be(raw, pos + 1, 4)?, pos + 5)),
        _ => None,
    }
}

/// Big-endian unsigned integer of `len` bytes at `pos`.
fn be(raw: &[u8], pos: usize, len: usize) -> Option<u64> {
    let bytes = raw.get(pos..pos.checked_add(len)?)?;
    Some(bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b)))
}

/// Skips `items` complete MessagePack items starting at `pos`; returns the offset after them.
/// Iterative (no recursion, so hostile nesting cannot overflow the stack); `None` if the bytes end early
/// or hold the never-used marker 0xc1.
pub(crate) fn skip(raw: &[u8], mut pos: usize, items: u64) -> Option<usize> {
    let mut pending = items;
    while pending > 0 {
        pending -= 1;
        let marker = *raw.get(pos)?;
        pos += 1;
        // (bytes of length field, fixed payload bytes, child items per counted element)
        let (len_bytes, fixed, children): (usize, u64, u64) = match marker {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0, 0),
            0x80..=0x8f => {
                pending = pending.checked_add(u64::from(marker & 0x0f) * 2)?;
                continue;
            }
            0x90..=0x9f => {
                pending = pending.checked_add(u64::from(marker & 0x0f))?;
                continue;
            }
            0xa0..=0xbf => (0, u64::from(marker & 0x1f), 0),
            0xc4 | 0xd9 => (1, 0, 0),
            0xc5 | 0xda => (2, 0, 0),
            0xc6 | 0xdb => (4, 0, 0),
            0xc7 => (1, 1, 0),
            0xc8 => (2, 1, 0),
            0xc9 => (4, 1, 0),
            0xca => (0, 4, 0),
            0xcb => (0, 8, 0),
            0xcc | 0xd0 => (0, 1, 0),
            0xcd | 0xd1 => (0, 2, 0),
            0xce | 0xd2 => (0, 4, 0),
            0xcf | 0xd3 => (0, 8, 0),
            0xd4 => (0, 2, 0),
            0xd5 => (0, 3, 0),
            0xd6 => (0, 5, 0),
            0xd7 => (0, 9, 0),
            0xd8 => (0, 17, 0),
            0xdc => (2, 0, 1),
            0xdd => (4, 0, 1),
            0xde => (2, 0, 2),
            0xdf => (4, 0, 2),
            0xc1 => return None,
        };
        let n = if len_bytes > 0 { be(raw, pos, len_bytes)? } else { 0 };
        pos = pos.checked_add(len_bytes)?;
        if children > 0 {
            pending = pending.checked_add(n.checked_mul(children)?)?;
            continue;
        }
        let payload = n.checked_add(fixed)?;
        pos = pos.checked_add(usize::try_from(payload).ok()?)?;
        if pos > raw.len() {
            return None;
        }
    }
    Some(pos)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sitegen;

    /// A snapshot that claims many objects and pads its payload: the decoder reserves room by the bytes at hand
    /// (at most 4 times them), not by the claim or one entry per 2 bytes (232 times them, enough to abort the
    /// process on an allocation failure at the 512 MiB default limit), and the claim ends in an error.
    #[test]
    fn a_huge_declared_object_count_reserves_by_the_bytes_and_fails_cleanly() {
        let entry = std::mem::size_of::<(ObjectKey, Object)>();
        let padded = 8 << 20;
        assert!(crate::compact_decode::reserve_entries(u64::MAX, padded) * entry <= 4 * padded);
        let max = crate::object_map::MAX_OBJECTS as u32;
        for declared in [max, u32::MAX] {
            let mut raw = vec![0x93, 0xa4, b'F', b'R', b'A', b'1', 0x00, 0xdf];
            raw.extend(declared.to_be_bytes());
            raw.extend(rmp_serde::to_vec(&(ObjectKey::host("h"), Object::default())).expect("encode"));
            raw.resize(raw.len() + padded, 0xc0);
            let err = decode_snapshot(&raw).expect_err("the claim is not backed by objects");
            // Above the object limit the count itself is refused; at it, decoding fails at the padding.
            assert_eq!(err.contains(&format!("more than the {max} a snapshot may hold")), declared > max, "{err}");
        }
    }

    #[test]
    fn parallel_sequential_and_plain_decoding_agree() {
        let site = sitegen::site(16_000, 5);
        let raw = rmp_serde::to_vec(&site).expect("encode");
        let parts = split_compact(&raw).expect("compact snapshot");
        assert_eq!(parts.n_objects, site.objects.len() as u64);
        assert_eq!(decode_compact(&raw, parts, true), Ok(site.clone()));
        assert_eq!(decode_compact(&raw, parts, false), Ok(site.clone()));
        assert_eq!(rmp_serde::from_slice::<Snapshot>(&raw).map_err(|e| e.to_string()), Ok(site.clone()));
        assert_eq!(decode_snapshot(&raw), Ok(site.clone()));
        let named = rmp_serde::to_vec_named(&site).expect("encode");
        assert_eq!(decode_snapshot(&named), Ok(site));
    }

    #[test]
    fn halves_the_compact_decoder_does_not_recognise_fall_back_to_rmp_serde() {
        let site = sitegen::site(16_000, 5);
        let n = site.objects.len();
        // Objects in the named form, one early in each half: the fast path refuses them, rmp-serde reads them.
        let mut raw = vec![0x93];
        raw.extend(rmp_serde::to_vec(&site.location).expect("encode"));
        raw.extend(rmp_serde::to_vec(&site.taken_at).expect("encode"));
        raw.push(0xde);
        raw.extend((n as u16).to_be_bytes());
        for (i, (k, o)) in site.objects.iter().enumerate() {
            raw.extend(rmp_serde::to_vec(k).expect("encode"));
            let named = i == 10 || i == n / 2 + 10;
            raw.extend(if named { rmp_serde::to_vec_named(o) } else { rmp_serde::to_vec(o) }.expect("encode"));
        }
        let parts = split_compact(&raw).expect("compact snapshot");
        assert_eq!(decode_compact(&raw, parts, true), Ok(site.clone()));
        assert_eq!(decode_compact(&raw, parts, false), Ok(site));
    }

    #[test]
    fn skip_walks_every_item_kind() {
        let value = (
            (1u8, -1i8, 300u16, -300i16, 70_000u32, -70_000i32, u64::MAX, i64::MIN, 1.5f32, 2.5f64),
            ("short", "x".repeat(40), "y".repeat(300), "z".repeat(70_000), None::<u8>, true, false),
            (vec![1u8; 20], BTreeMap::from([(1u8, 2u8)]), BTreeMap::from_iter((0..20u32).map(|i| (i, i)))),
        );
        let mut raw = rmp_serde::to_vec(&value).expect("encode");
        let mut bin = Vec::new();
        let sized = |out: &mut Vec<u8>, markers: [u8; 3], len: usize, ext: bool| {
            match len {
                0..=255 => out.extend([markers[0], len as u8]),
                256..=65_535 => {
                    out.push(markers[1]);
                    out.extend((len as u16).to_be_bytes());
                }
                _ => {
                    out.push(markers[2]);
                    out.extend((len as u32).to_be_bytes());
                }
            }
            if ext {
                out.push(5);
            }
            out.extend(std::iter::repeat_n(7u8, len));
        };
        for len in [3usize, 300, 70_000] {
            sized(&mut bin, [0xc4, 0xc5, 0xc6], len, false);
        }
        for len in [3usize, 300, 70_000] {
            sized(&mut bin, [0xc7, 0xc8, 0xc9], len, true);
        }
        for (marker, len) in [(0xd4u8, 1usize), (0xd5, 2), (0xd6, 4), (0xd7, 8), (0xd8, 16)] {
            bin.extend([marker, 5]);
            bin.extend(std::iter::repeat_n(0u8, len));
        }
        let n_bin = 3 + 3 + 5;
        raw.extend_from_slice(&bin);
        assert_eq!(skip(&raw, 0, 1 + n_bin), Some(raw.len()));
        for cut in [1, raw.len() / 2, raw.len() - 1] {
            assert_eq!(skip(&raw[..cut], 0, 1 + n_bin), None, "cut at {cut}");
        }
        assert_eq!(skip(&[0xc1], 0, 1), None);
        assert_eq!(skip(&[0xdd, 0xff, 0xff, 0xff, 0xff], 0, 1), None);
    }

    #[test]
    fn hostile_compact_snapshots_fail_cleanly() {
        let site = sitegen::site(16_000, 5);
        let raw = rmp_serde::to_vec(&site).expect("encode");
        let parts = split_compact(&raw).expect("compact snapshot");
        // Claim more entries than there are: the second half runs out of bytes.
        let mut more = raw.clone();
        assert_eq!(more[parts.entries - 3], 0xde, "map16 header for {} objects", parts.n_objects);
        more[parts.entries - 2..parts.entries].copy_from_slice(&(parts.n_objects as u16 + 10).to_be_bytes());
        assert!(decode_snapshot(&more).is_err());
        // Cut short in either half.
        let middle = skip(&raw, parts.entries, parts.n_objects / 2 * 2).expect("middle");
        assert!(decode_snapshot(&raw[..middle - 3]).is_err());
        assert!(decode_snapshot(&raw[..middle + 3]).is_err());
        assert!(decode_snapshot(&raw[..raw.len() - 3]).is_err());
        // Trailing bytes: the parallel path agrees with rmp-serde (the frame's raw_len already bounds them).
        let mut trailing = raw.clone();
        trailing.push(0);
        assert_eq!(decode_snapshot(&trailing).is_ok(), rmp_serde::from_slice::<Snapshot>(&trailing).is_ok());
    }
}
