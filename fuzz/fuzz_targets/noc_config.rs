//! Any text as `noc.toml`: parsing and every section's validation give a result, never a panic.
//! The checks live in `outpost_noc::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_noc::fuzzing::config_text(data));
