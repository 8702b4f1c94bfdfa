//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus regression tests in
//! `satellite/tests/fuzz_corpus.rs`, so the fuzzer and CI check the same invariants with the same code.
//!
//! Each takes arbitrary bytes, must not panic on any of them, and panics itself (with a message naming
//! the broken invariant) when the code under test misbehaves. Not an API: hidden from the docs.

use std::collections::BTreeSet;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::Duration;

use outpost_format::event::{SnmpValue, Trap};
use outpost_format::frame::{Frame, Limits, Payload};
use outpost_format::{Event, EventKind, naming};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::outbox::EventSink;
use crate::traps::{self, TrapConfig, TrapReceiver, convert};

/// Satellite config text (lossy UTF-8) as the main file, without disk access: a whole valid config or
/// every error with a line inside the file; never a panic.
pub fn config_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let lines = text.split('\n').count();
    match Config::load_text(Path::new("satellite.toml"), text) {
        Ok(config) => {
            naming::validate_location(&config.location).expect("a loaded config's location is valid");
            let mut keys = BTreeSet::new();
            for def in config.objects() {
                assert!(keys.insert(&def.key), "{} is defined twice in a config that loaded", def.key);
                assert!(!def.check_interval.is_zero(), "{} has a zero check interval", def.key);
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty(), "config refused without an error");
            for e in &errors.0 {
                assert!(!e.message.is_empty(), "an error without a message");
                if let Some(line) = e.line {
                    assert!((1..=lines).contains(&line), "error on line {line} of a {lines}-line file: {e}");
                }
            }
            let _ = errors.to_string();
        }
    }
}

/// A well-formed v2c trap (a net-snmp capture) sent after every fuzzed datagram: when it arrives, the
/// receiver has dealt with the datagram before it and is still alive.
const PROBE: &[u8] = include_bytes!("../../fixtures/traps/v2c-trap.bin");
/// Hang guard only: the probe arrives in milliseconds.
const PROBE_DEADLINE: Duration = Duration::from_secs(30);

/// The real trap receiver (async-snmp decode and USM, admission, conversion, rules) on 127.0.0.1 with an
/// in-memory spool, fed one datagram at a time.
pub struct TrapHarness {
    runtime: tokio::runtime::Runtime,
    receiver: TrapReceiver,
    events: UnboundedReceiver<Event>,
    cancel: CancellationToken,
    fuzz: UdpSocket,
    probe: UdpSocket,
    probe_source: String,
    engine_dir: PathBuf,
}

/// The SNMPv3 users of the net-snmp captures in `fixtures/traps/`, as `[[users]]` tables of a `[traps]`
/// section (shared with the trap integration tests).
pub const USM_USERS_TOML: &str = r#"
[[users]]
name = "privuser"
auth_protocol = "SHA"
auth_password = "authpass123"
priv_protocol = "AES"
priv_password = "privpass123"
[[users]]
name = "authuser"
auth_protocol = "SHA-256"
auth_password = "authpass456"
"#;

impl TrapHarness {
    /// Starts a receiver that accepts community `public`, the USM users of the net-snmp captures in
    /// `fixtures/traps/`, and one rule, with no rate limit to speak of.
    pub fn new() -> TrapHarness {
        let engine_dir = std::env::temp_dir().join(format!("outpost-fuzz-traps-{}", std::process::id()));
        std::fs::create_dir_all(&engine_dir).expect("create the engine state directory");
        let config: TrapConfig = toml::from_str(&format!(
            r#"
            enabled = true
            listen = "127.0.0.1:0"
            communities = ["public"]
            allowed_sources = ["127.0.0.0/8"]
            rate_limit_per_sec = 1000000000
            burst = 1000000000
            engine_state_file = "{}/snmp-engine"
            {USM_USERS_TOML}
            [[rules]]
            trap_oid = "1.3.6.1.6.3.1.1.5.*"
            host = "router-{{source}}"
            service = "link"
            state = "CRITICAL"
            output = "CRITICAL - {{trap_oid}} ifIndex {{varbind:1.3.6.1.2.1.2.2.1.1.2}}"
            "#,
            engine_dir.display()
        ))
        .expect("the harness's trap config parses");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let cancel = CancellationToken::new();
        let (receiver, events) = runtime.block_on(async {
            let (sink, events) = EventSink::in_memory();
            let receiver = traps::start(&config, sink, None, cancel.clone()).await.expect("the trap receiver starts");
            (receiver, events)
        });
        let fuzz = UdpSocket::bind("127.0.0.1:0").expect("bind the fuzz socket");
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind the probe socket");
        let probe_source = probe.local_addr().expect("probe address").to_string();
        TrapHarness { runtime, receiver, events, cancel, fuzz, probe, probe_source, engine_dir }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.receiver.local_addr
    }

    /// Sends `datagram`, then the probe, and checks every event recorded until the probe arrives.
    pub fn datagram(&mut self, datagram: &[u8]) {
        // Too long for one UDP datagram: the kernel refuses it, nothing reaches the receiver.
        let _ = self.fuzz.send_to(datagram, self.receiver.local_addr);
        self.probe.send_to(PROBE, self.receiver.local_addr).expect("send the probe");
        let (events, probe_source) = (&mut self.events, &self.probe_source);
        self.runtime.block_on(async {
            loop {
                let event = tokio::time::timeout(PROBE_DEADLINE, events.recv())
                    .await
                    .expect("the probe trap arrives: the receiver survived the datagram")
                    .expect("the in-memory spool is open");
                check_event(&event);
                if matches!(&event.kind, EventKind::Trap(t) if t.source == *probe_source) {
                    return;
                }
            }
        });
    }
}

impl Default for TrapHarness {
    fn default() -> Self {
        TrapHarness::new()
    }
}

impl Drop for TrapHarness {
    fn drop(&mut self) {
        self.cancel.cancel();
        let _ = std::fs::remove_dir_all(&self.engine_dir);
    }
}

/// What the receiver records stays within its caps and crosses the wire unchanged.
fn check_event(event: &Event) {
    if let EventKind::Trap(trap) = &event.kind {
        check_trap(trap);
    }
    let frame =
        Frame { location: "FUZZ".into(), epoch: 1, seq: event.seq, payload: Payload::Events(vec![event.clone()]) };
    let bytes = frame.encode().expect("a recorded event encodes");
    let back = Frame::decode(&bytes, &Limits::default()).expect("an encoded event frame decodes");
    assert_eq!(back, frame, "event changed crossing the wire");
}

fn check_trap(trap: &Trap) {
    assert!(trap.varbinds.len() <= convert::MAX_VARBINDS, "{} varbinds kept", trap.varbinds.len());
    for vb in &trap.varbinds {
        if let SnmpValue::OctetString(bytes) | SnmpValue::Opaque(bytes) = &vb.value {
            assert!(bytes.len() <= convert::MAX_VALUE_BYTES, "octet string of {} bytes kept", bytes.len());
        }
    }
}
