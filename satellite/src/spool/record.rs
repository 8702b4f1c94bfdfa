//! One spooled record: the framing, the checksum and the decode rules.
//!
//! ```text
//! off len  field
//!   0   4  body_len   little-endian u32, at most MAX_RECORD_LEN
//!   4   4  crc32c     CRC32C over body_len's 4 bytes, then the body
//!   8   n  body       MessagePack (named fields) of one outpost_format::Event
//! ```
//!
//! The checksum also covers the length, so a flipped length bit is caught instead of making the
//! reader skip to a wrong place. This module never touches files.

use outpost_format::Event;

/// Bytes before the body.
pub const RECORD_HEADER_LEN: usize = 8;
/// Largest body accepted: an event is a few KiB at most; anything larger is corruption.
pub const MAX_RECORD_LEN: u32 = 16 << 20;

/// What the reader found at a position.
#[derive(Debug)]
pub enum Decoded {
    /// A whole, valid record of `len` bytes in total.
    Record { event: Event, len: usize },
    /// Fewer bytes than the record declares: the end of the log or a torn write.
    Short,
    /// The bytes are there but do not check out.
    Bad(String),
}

/// Encodes an event as a record.
pub fn encode(event: &Event) -> Result<Vec<u8>, String> {
    let body = rmp_serde::to_vec_named(event).map_err(|e| format!("encode event {}: {e}", event.seq))?;
    let body_len = u32::try_from(body.len()).ok().filter(|n| *n <= MAX_RECORD_LEN);
    let Some(body_len) = body_len else {
        return Err(format!("event {} encodes to {} bytes, over the record limit", event.seq, body.len()));
    };
    let len_bytes = body_len.to_le_bytes();
    let crc = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), &body);
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + body.len());
    out.extend_from_slice(&len_bytes);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// Decodes the record at the start of `buf`. Never panics, never allocates past the record's body.
pub fn decode(buf: &[u8]) -> Decoded {
    if buf.len() < RECORD_HEADER_LEN {
        return Decoded::Short;
    }
    let len_bytes: [u8; 4] = [buf[0], buf[1], buf[2], buf[3]];
    let body_len = u32::from_le_bytes(len_bytes);
    let crc = u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]);
    if body_len == 0 || body_len > MAX_RECORD_LEN {
        return Decoded::Bad(format!("record length {body_len} out of range"));
    }
    let total = RECORD_HEADER_LEN + body_len as usize;
    if buf.len() < total {
        return Decoded::Short;
    }
    let body = &buf[RECORD_HEADER_LEN..total];
    let actual = crc32c::crc32c_append(crc32c::crc32c(&len_bytes), body);
    if actual != crc {
        return Decoded::Bad(format!("checksum mismatch: stored {crc:08x}, computed {actual:08x}"));
    }
    match rmp_serde::from_slice::<Event>(body) {
        Ok(event) => Decoded::Record { event, len: total },
        Err(e) => Decoded::Bad(format!("checksum ok but body does not decode: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outpost_format::EventKind;
    use outpost_format::event::Lifecycle;

    fn event(seq: u64) -> Event {
        Event { seq, time: 1_700_000_000_000, kind: EventKind::Lifecycle(Lifecycle::Paused) }
    }

    #[test]
    fn round_trip() {
        let bytes = encode(&event(7)).expect("encode");
        match decode(&bytes) {
            Decoded::Record { event: e, len } => {
                assert_eq!(e, event(7));
                assert_eq!(len, bytes.len());
            }
            other => panic!("expected a record, got {other:?}"),
        }
    }

    #[test]
    fn every_prefix_is_short_never_a_record() {
        let bytes = encode(&event(7)).expect("encode");
        for cut in 0..bytes.len() {
            assert!(matches!(decode(&bytes[..cut]), Decoded::Short | Decoded::Bad(_)), "cut at {cut}");
        }
    }

    #[test]
    fn reader_rejects_record_with_bad_checksum() {
        let mut bytes = encode(&event(7)).expect("encode");
        for i in 0..bytes.len() {
            bytes[i] ^= 0x10;
            assert!(!matches!(decode(&bytes), Decoded::Record { .. }), "flip at {i} went unnoticed");
            bytes[i] ^= 0x10;
        }
    }
}
