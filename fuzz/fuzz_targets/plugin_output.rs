//! Any bytes as plugin stdout: no panic; output, long output and perfdata split as the plugin API says.
//! The checks live in `outpost_format::fuzzing` (shared with CI).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| outpost_format::fuzzing::plugin_output(data));
