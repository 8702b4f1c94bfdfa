//! Any headers and body as `POST /api/v1/frames` to the NOC's router over a temporary store, in-process.
//! Input: `Name: value` lines, an empty line, the body. Checks in `outpost_noc::fuzzing`.
#![no_main]

use std::sync::LazyLock;

use outpost_noc::fuzzing::IngestHarness;

static HARNESS: LazyLock<IngestHarness> = LazyLock::new(IngestHarness::new);

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HARNESS.request(data);
});
