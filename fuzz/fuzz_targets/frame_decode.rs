//! Any bytes into the frame decoder: a frame or a typed error, never a panic, never an allocation past
//! tight limits; what decodes round-trips. The checks live in `outpost_format::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_format::fuzzing::frame_decode(data));
