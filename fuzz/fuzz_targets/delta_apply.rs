//! A generated base plus an arbitrary delta body through `delta::apply`; results verified by content hash
//! and by a make/apply round trip. The checks live in `outpost_format::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_format::fuzzing::delta_apply(data));
