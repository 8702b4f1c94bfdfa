//! Any text as the satellite's main config file: a valid config or errors with lines, never a panic.
//! The checks live in `outpost_satellite::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_satellite::fuzzing::config_text(data));
