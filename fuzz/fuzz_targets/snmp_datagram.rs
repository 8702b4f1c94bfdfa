//! Any datagram to the satellite's real trap receiver on 127.0.0.1 (async-snmp decode and USM, admission,
//! conversion, rules), followed by a probe trap that must still arrive. Checks in `outpost_satellite::fuzzing`.
#![no_main]

use std::sync::{LazyLock, Mutex};

use outpost_satellite::fuzzing::TrapHarness;

static HARNESS: LazyLock<Mutex<TrapHarness>> = LazyLock::new(|| Mutex::new(TrapHarness::new()));

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    HARNESS.lock().unwrap_or_else(|e| e.into_inner()).datagram(data);
});
