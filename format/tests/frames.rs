//! Frame codec: round trips and one test per malformed-input case, each expecting its typed error.

use outpost_format::event::{Event, EventKind, Lifecycle};
use outpost_format::frame::{Ack, Frame, FrameError, FrameKind, HEADER_LEN, Limits, Payload, StreamAck};
use outpost_format::model::Stream;
use outpost_format::{delta, sitegen};
use sha2::{Digest, Sha256};

fn full_frame() -> Frame {
    Frame { location: "FRA1".into(), epoch: 7, seq: 42, payload: Payload::Full(sitegen::site(30, 1)) }
}

fn encoded() -> Vec<u8> {
    full_frame().encode().expect("encode")
}

/// Rewrites the checksum after a test tampered with the header or payload, so the intended check fires.
fn reseal(buf: &mut [u8]) {
    let loc_len = buf[7] as usize;
    let mut h = Sha256::new();
    h.update(&buf[..36]);
    h.update(&buf[HEADER_LEN..]);
    let _ = loc_len;
    let sum: [u8; 32] = h.finalize().into();
    buf[36..68].copy_from_slice(&sum);
}

/// Builds a frame by hand with the given payload bytes (already compressed or not, per `flags`).
fn raw_frame(kind: u8, stream: u8, flags: u8, location: &str, payload: &[u8], raw_len: u32) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"OPST");
    out.extend_from_slice(&[1, kind, flags, location.len() as u8]);
    out.extend_from_slice(&1u64.to_be_bytes());
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&1u64.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&raw_len.to_be_bytes());
    out.extend_from_slice(&[0; 32]);
    out.extend_from_slice(location.as_bytes());
    out.extend_from_slice(payload);
    reseal(&mut out);
    out
}

fn decode(buf: &[u8]) -> Result<Frame, FrameError> {
    Frame::decode(buf, &Limits::default())
}

#[test]
fn every_kind_round_trips() {
    let base = sitegen::site(20, 1);
    let cur = sitegen::change_states(&sitegen::recheck(&base, 60_000), 0.2, 1);
    let payloads = [
        Payload::Full(base.clone()),
        Payload::Delta(delta::make(&base, 1, &cur)),
        Payload::Events(vec![Event { seq: 1, time: 5, kind: EventKind::Lifecycle(Lifecycle::Stopping) }]),
        Payload::Ack(Ack {
            acks: vec![StreamAck { stream: Stream::Events, epoch: 7, seq: 9 }],
            noc_time: 11,
            ..Ack::default()
        }),
    ];
    for payload in payloads {
        let location = if matches!(payload, Payload::Ack(_)) { "" } else { "FRA1" };
        let frame = Frame { location: location.into(), epoch: 7, seq: 3, payload };
        let bytes = frame.encode().expect("encode");
        assert_eq!(decode(&bytes), Ok(frame));
    }
}

#[test]
fn decode_prefix_reports_the_bytes_used() {
    let mut two = encoded();
    let one_len = two.len();
    two.extend(encoded());
    let (frame, used) = Frame::decode_prefix(&two, &Limits::default()).expect("first frame");
    assert_eq!(used, one_len);
    assert_eq!(frame, full_frame());
}

#[test]
fn truncated_frames_say_how_many_bytes_are_missing() {
    let buf = encoded();
    assert_eq!(decode(&buf[..10]), Err(FrameError::Truncated { needed: HEADER_LEN, have: 10 }));
    let cut = buf.len() - 1;
    assert_eq!(decode(&buf[..cut]), Err(FrameError::Truncated { needed: buf.len(), have: cut }));
    assert_eq!(decode(&[]), Err(FrameError::Truncated { needed: HEADER_LEN, have: 0 }));
}

#[test]
fn bad_magic_is_refused() {
    let mut buf = encoded();
    buf[0] = b'X';
    assert_eq!(decode(&buf), Err(FrameError::BadMagic(*b"XPST")));
}

#[test]
fn unknown_version_and_kind_are_refused() {
    let mut buf = encoded();
    buf[4] = 2;
    assert_eq!(decode(&buf), Err(FrameError::UnsupportedVersion(2)));
    let mut buf = encoded();
    buf[5] = 9;
    assert_eq!(decode(&buf), Err(FrameError::UnknownKind(9)));
}

#[test]
fn bad_checksum_is_refused() {
    let mut buf = encoded();
    let last = buf.len() - 1;
    buf[last] ^= 0x55;
    assert!(matches!(decode(&buf), Err(FrameError::Checksum { .. })));
    let mut buf = encoded();
    buf[25] ^= 1; // the sequence number is covered too
    assert!(matches!(decode(&buf), Err(FrameError::Checksum { .. })));
}

#[test]
fn reserved_bits_and_bytes_must_be_zero() {
    let mut buf = encoded();
    buf[6] |= 0x80;
    assert_eq!(decode(&buf), Err(FrameError::ReservedBits(0x81)));
    let mut buf = encoded();
    buf[18] = 1;
    assert_eq!(decode(&buf), Err(FrameError::ReservedBits(0x100)));
}

#[test]
fn streams_must_match_the_kind() {
    let mut buf = encoded();
    buf[16] = 1;
    assert_eq!(decode(&buf), Err(FrameError::StreamMismatch { kind: FrameKind::FullSnapshot, stream: 1 }));
    buf[16] = 9;
    assert_eq!(decode(&buf), Err(FrameError::UnknownStream(9)));
    buf[16] = 0;
    assert_eq!(decode(&buf), Err(FrameError::StreamMismatch { kind: FrameKind::FullSnapshot, stream: 0 }));
}

#[test]
fn bad_locations_are_refused() {
    let mut buf = encoded();
    buf[HEADER_LEN] = b' ';
    assert_eq!(decode(&buf), Err(FrameError::BadLocation));
    let mut buf = encoded();
    buf[HEADER_LEN + 1] = 0xc3;
    assert_eq!(decode(&buf), Err(FrameError::BadLocation));
    let mut buf = encoded();
    buf[7] = 33;
    assert_eq!(decode(&buf), Err(FrameError::LocationTooLong(33)));
    let empty = raw_frame(1, 2, 0, "", b"", 0);
    assert_eq!(decode(&empty), Err(FrameError::BadLocation));
    let long = Frame { location: "x".repeat(33), ..full_frame() };
    assert_eq!(long.encode(), Err(FrameError::LocationTooLong(33)));
}

#[test]
fn huge_length_fields_are_refused_before_allocating() {
    let mut buf = encoded();
    buf[28..32].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&buf), Err(FrameError::PayloadTooLarge { len, .. }) if len == u64::from(u32::MAX)));
    let mut buf = encoded();
    buf[32..36].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(matches!(decode(&buf), Err(FrameError::RawTooLarge { .. })));
}

#[test]
fn zstd_bomb_is_cut_off_at_the_declared_size() {
    // 64 MiB of zeros compress to a few KiB; the frame claims 1 KiB.
    let bomb = zstd::bulk::compress(&vec![0u8; 64 << 20], 19).expect("compress");
    let buf = raw_frame(1, 2, 1, "FRA1", &bomb, 1024);
    assert_eq!(decode(&buf), Err(FrameError::RawLenMismatch { declared: 1024, actual: 1025 }));
    // Under a tight raw limit, the honest declaration is refused outright.
    let honest = raw_frame(1, 2, 1, "FRA1", &bomb, 64 << 20);
    let limits = Limits { max_payload: 1 << 20, max_raw: 1 << 20 };
    assert!(matches!(Frame::decode(&honest, &limits), Err(FrameError::RawTooLarge { .. })));
}

#[test]
fn garbage_that_is_not_zstd_is_a_decompress_error() {
    let buf = raw_frame(1, 2, 1, "FRA1", b"definitely not zstd", 100);
    assert!(matches!(decode(&buf), Err(FrameError::Decompress(_))));
}

#[test]
fn uncompressed_payloads_must_match_their_declared_length() {
    let raw = rmp_serde::to_vec_named(&Ack::default()).expect("encode");
    let ok = raw_frame(4, 0, 0, "", &raw, raw.len() as u32);
    assert!(matches!(decode(&ok).map(|f| f.payload), Ok(Payload::Ack(_))));
    let bad = raw_frame(4, 0, 0, "", &raw, raw.len() as u32 + 1);
    assert!(matches!(decode(&bad), Err(FrameError::RawLenMismatch { .. })));
}

#[test]
fn trailing_bytes_are_refused() {
    let mut buf = encoded();
    buf.extend_from_slice(b"xyz");
    assert_eq!(decode(&buf), Err(FrameError::Trailing(3)));
}

#[test]
fn a_payload_of_the_wrong_kind_is_refused() {
    // An acknowledgement's payload in a full-snapshot frame.
    let raw = rmp_serde::to_vec_named(&Ack::default()).expect("encode");
    let z = zstd::bulk::compress(&raw, 3).expect("compress");
    let buf = raw_frame(1, 2, 1, "FRA1", &z, raw.len() as u32);
    assert!(matches!(decode(&buf), Err(FrameError::Payload { kind: FrameKind::FullSnapshot, .. })));
    // Random MessagePack in an event batch.
    let buf = raw_frame(3, 1, 0, "FRA1", &[0x93, 1, 2, 3], 4);
    assert!(matches!(decode(&buf), Err(FrameError::Payload { kind: FrameKind::EventBatch, .. })));
}

#[test]
fn errors_name_the_problem() {
    let mut buf = encoded();
    buf[0] = b'X';
    let msg = decode(&buf).expect_err("bad magic").to_string();
    assert!(msg.contains("bad magic") && msg.contains("not an Outpost frame"), "{msg}");
}

mod props {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn frames_round_trip(services in 0usize..40, seed in any::<u64>(), epoch in any::<u64>(), seq in any::<u64>(),
                             location in "[A-Za-z0-9][A-Za-z0-9_-]{0,31}") {
            let frame = Frame { location, epoch, seq, payload: Payload::Full(sitegen::site(services, seed)) };
            let bytes = frame.encode().expect("encode");
            prop_assert_eq!(decode(&bytes), Ok(frame));
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = decode(&bytes);
        }

        #[test]
        fn flipping_any_byte_is_detected(idx in any::<prop::sample::Index>(), bit in 0u8..8) {
            let mut buf = encoded();
            let i = idx.index(buf.len());
            buf[i] ^= 1 << bit;
            prop_assert!(decode(&buf).is_err());
        }
    }
}
