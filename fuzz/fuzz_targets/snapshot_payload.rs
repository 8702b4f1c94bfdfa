//! Any bytes as an uncompressed snapshot payload: the hand-written compact decoder and rmp-serde agree.
//! The checks live in `outpost_format::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_format::fuzzing::snapshot_payload(data));
