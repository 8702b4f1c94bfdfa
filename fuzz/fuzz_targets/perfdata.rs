//! Any text into the perfdata parser: no panic; well-formed input renders back byte for byte.
//! The checks live in `outpost_format::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_format::fuzzing::perfdata(data));
