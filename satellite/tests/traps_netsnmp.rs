//! The trap receiver against real peers: net-snmp's `snmptrap`/`snmpinform` (installed by
//! `scripts/install-test-deps`) send v1, v2c, inform and SNMPv3 notifications to a receiver on 127.0.0.1,
//! and the events that reach the (in-memory) spool are asserted. Also: allow-lists, the flood limit,
//! OID rules and the malformed-datagram corpus in `fixtures/traps/malformed/`.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::Ordering;
use std::time::Duration;

use outpost_format::event::{SnmpValue, SnmpVersion, Trap};
use outpost_format::{Event, EventKind};
use outpost_satellite::fuzzing::USM_USERS_TOML;
use outpost_satellite::outbox::{EventSink, EventSinkReceiver};
use outpost_satellite::traps::{self, TrapConfig, TrapReceiver};
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// Hang guard only; events arrive in milliseconds.
const DEADLINE: Duration = Duration::from_secs(10);

struct Harness {
    receiver: TrapReceiver,
    events: UnboundedReceiver<Event>,
    cancel: CancellationToken,
    net_snmp_dir: tempfile::TempDir,
    _engine_dir: tempfile::TempDir,
}

fn base_config(engine_dir: &Path) -> TrapConfig {
    toml::from_str(&format!(
        r#"
        enabled = true
        listen = "127.0.0.1:0"
        communities = ["public"]
        allowed_sources = ["127.0.0.0/8"]
        engine_state_file = "{}/snmp-engine"
        {USM_USERS_TOML}
        [[rules]]
        trap_oid = "1.3.6.1.6.3.1.1.5.3"
        host = "router-{{source}}"
        service = "link"
        state = "CRITICAL"
        output = "CRITICAL - ifIndex {{varbind:1.3.6.1.2.1.2.2.1.1.2}} down"
        "#,
        engine_dir.display()
    ))
    .expect("test config parses")
}

async fn start(edit: impl FnOnce(&mut TrapConfig)) -> Harness {
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let mut config = base_config(engine_dir.path());
    edit(&mut config);
    let (sink, events) = EventSink::in_memory();
    let cancel = CancellationToken::new();
    let receiver = traps::start(&config, sink, None, cancel.clone()).await.expect("receiver starts");
    Harness { receiver, events, cancel, net_snmp_dir: tempfile::tempdir().expect("tempdir"), _engine_dir: engine_dir }
}

/// A receiver without rules whose spool the test drives: each append waits in the returned channel until the test
/// confirms it (sends a sequence number) or refuses it (drops the sender).
async fn start_with_held_spool() -> (Harness, EventSinkReceiver) {
    let engine_dir = tempfile::tempdir().expect("tempdir");
    let mut config = base_config(engine_dir.path());
    config.rules.clear();
    let (sink, held) = EventSink::channel();
    let cancel = CancellationToken::new();
    let receiver = traps::start(&config, sink, None, cancel.clone()).await.expect("receiver starts");
    let events = tokio::sync::mpsc::unbounded_channel().1;
    let net_snmp_dir = tempfile::tempdir().expect("tempdir");
    (Harness { receiver, events, cancel, net_snmp_dir, _engine_dir: engine_dir }, held)
}

/// SNMPv3 authPriv as the `privuser` of [`base_config`], for net-snmp tools.
const V3_PRIV: [&str; 14] =
    ["-v", "3", "-u", "privuser", "-l", "authPriv", "-a", "SHA", "-A", "authpass123", "-x", "AES", "-X", "privpass123"];

impl Harness {
    fn target(&self) -> String {
        format!("127.0.0.1:{}", self.receiver.local_addr.port())
    }

    /// Runs a net-snmp tool with its own empty config and persistent dir, so the machine's
    /// `~/.snmp` and `/etc/snmp` cannot change what is sent.
    async fn net_snmp(&self, tool: &str, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(tool);
        cmd.args(args)
            .env("SNMPCONFPATH", self.net_snmp_dir.path())
            .env("SNMP_PERSISTENT_DIR", self.net_snmp_dir.path())
            .env("MIBS", "")
            .kill_on_drop(true);
        tokio::time::timeout(DEADLINE, cmd.output())
            .await
            .unwrap_or_else(|_| panic!("{tool} hung"))
            .unwrap_or_else(|e| panic!("run {tool} ({e}); install net-snmp with scripts/install-test-deps"))
    }

    async fn next_event(&mut self) -> Event {
        tokio::time::timeout(DEADLINE, self.events.recv())
            .await
            .expect("an event within the deadline")
            .expect("sink open")
    }

    async fn next_trap(&mut self) -> Trap {
        match self.next_event().await.kind {
            EventKind::Trap(t) => t,
            other => panic!("expected a trap event, got {other:?}"),
        }
    }

    /// Sends a known-good v2c trap and waits for it: proves the receiver is still alive and that
    /// nothing else was queued before it.
    async fn assert_alive_and_nothing_else(&mut self, tag: &str) {
        let target = self.target();
        let out = self
            .net_snmp(
                "snmptrap",
                &["-v", "2c", "-c", "public", &target, "", "1.3.6.1.4.1.32473.9.99", "1.3.6.1.2.1.1.5.0", "s", tag],
            )
            .await;
        assert!(out.status.success(), "snmptrap: {}", String::from_utf8_lossy(&out.stderr));
        let trap = self.next_trap().await;
        assert_eq!(trap.trap_oid, "1.3.6.1.4.1.32473.9.99", "an earlier trap leaked through: {trap:?}");
        assert_eq!(trap.varbinds[0].value, SnmpValue::OctetString(tag.as_bytes().to_vec()));
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

#[tokio::test]
async fn v2c_trap_from_snmptrap_becomes_an_event() {
    let mut h = start(|_| {}).await;
    let target = h.target();
    let out = h
        .net_snmp(
            "snmptrap",
            &[
                "-v",
                "2c",
                "-c",
                "public",
                &target,
                "12345",
                "1.3.6.1.4.1.32473.9.1",
                "1.3.6.1.2.1.1.5.0",
                "s",
                "router1",
                "1.3.6.1.2.1.2.2.1.1.2",
                "i",
                "-2",
                "1.3.6.1.2.1.4.20.1.1.1",
                "a",
                "192.0.2.44",
                "1.3.6.1.4.1.32473.9.2",
                "c",
                "4000000000",
                "1.3.6.1.4.1.32473.9.3",
                "o",
                "1.3.6.1.4.1.32473",
                "1.3.6.1.4.1.32473.9.4",
                "t",
                "777",
            ],
        )
        .await;
    assert!(out.status.success(), "snmptrap: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert_eq!(trap.version, SnmpVersion::V2c);
    assert_eq!(trap.community_or_user, "public");
    assert_eq!(trap.trap_oid, "1.3.6.1.4.1.32473.9.1");
    assert_eq!(trap.uptime, 12345);
    assert!(!trap.is_inform);
    assert!(trap.v1.is_none());
    assert!(trap.source.starts_with("127.0.0.1:"), "{}", trap.source);
    let values: Vec<(&str, &SnmpValue)> = trap.varbinds.iter().map(|v| (v.oid.as_str(), &v.value)).collect();
    assert_eq!(
        values,
        vec![
            ("1.3.6.1.2.1.1.5.0", &SnmpValue::OctetString(b"router1".to_vec())),
            ("1.3.6.1.2.1.2.2.1.1.2", &SnmpValue::Integer(-2)),
            ("1.3.6.1.2.1.4.20.1.1.1", &SnmpValue::IpAddress("192.0.2.44".into())),
            ("1.3.6.1.4.1.32473.9.2", &SnmpValue::Counter32(4_000_000_000)),
            ("1.3.6.1.4.1.32473.9.3", &SnmpValue::ObjectId("1.3.6.1.4.1.32473".into())),
            ("1.3.6.1.4.1.32473.9.4", &SnmpValue::TimeTicks(777)),
        ]
    );
    assert_eq!(h.receiver.stats.received.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn v1_trap_is_mapped_per_rfc3584() {
    let mut h = start(|_| {}).await;
    let target = h.target();
    // enterprise-specific: enterprise.0.specific
    let out = h
        .net_snmp(
            "snmptrap",
            &[
                "-v",
                "1",
                "-c",
                "public",
                &target,
                "1.3.6.1.4.1.9999",
                "192.0.2.1",
                "6",
                "42",
                "500",
                "1.3.6.1.2.1.1.5.0",
                "s",
                "sw1",
            ],
        )
        .await;
    assert!(out.status.success(), "snmptrap: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert_eq!(trap.version, SnmpVersion::V1);
    assert_eq!(trap.trap_oid, "1.3.6.1.4.1.9999.0.42");
    assert_eq!(trap.uptime, 500);
    let v1 = trap.v1.expect("v1 fields");
    assert_eq!(
        (v1.enterprise.as_str(), v1.agent_addr.as_str(), v1.generic_trap, v1.specific_trap),
        ("1.3.6.1.4.1.9999", "192.0.2.1", 6, 42)
    );
    assert_eq!(trap.varbinds.len(), 1);

    // generic linkDown(2) -> snmpTraps.3 (linkDown), which also fires the OID rule
    let out = h
        .net_snmp(
            "snmptrap",
            &[
                "-v",
                "1",
                "-c",
                "public",
                &target,
                "1.3.6.1.4.1.9999",
                "192.0.2.1",
                "2",
                "0",
                "501",
                "1.3.6.1.2.1.2.2.1.1.2",
                "i",
                "7",
            ],
        )
        .await;
    assert!(out.status.success());
    let trap = h.next_trap().await;
    assert_eq!(trap.trap_oid, "1.3.6.1.6.3.1.1.5.3");
    let passive = h.next_event().await;
    let EventKind::CheckResult(result) = passive.kind else {
        panic!("expected the rule's passive result, got {passive:?}")
    };
    assert_eq!(result.key.host, "router-127.0.0.1");
    assert_eq!(result.key.service.as_deref(), Some("link"));
    assert_eq!(result.state, 2);
    assert_eq!(result.output, "CRITICAL - ifIndex 7 down");
    assert_eq!(h.receiver.stats.rule_results.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn v2c_inform_is_answered_and_recorded() {
    let mut h = start(|_| {}).await;
    let target = h.target();
    // snmpinform exits non-zero unless it got a Response
    let out = h
        .net_snmp(
            "snmpinform",
            &[
                "-v",
                "2c",
                "-c",
                "public",
                "-t",
                "2",
                "-r",
                "1",
                &target,
                "",
                "1.3.6.1.4.1.32473.9.5",
                "1.3.6.1.2.1.1.5.0",
                "s",
                "x",
            ],
        )
        .await;
    assert!(out.status.success(), "snmpinform was not acknowledged: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert!(trap.is_inform);
    assert_eq!(trap.trap_oid, "1.3.6.1.4.1.32473.9.5");
}

#[tokio::test]
async fn v3_auth_priv_and_auth_no_priv_traps_and_informs() {
    let mut h = start(|_| {}).await;
    let target = h.target();
    let priv_args = V3_PRIV;
    let auth_args = ["-v", "3", "-u", "authuser", "-l", "authNoPriv", "-a", "SHA-256", "-A", "authpass456"];

    // v3 trap: the sender is authoritative, with its own engine ID
    let mut args: Vec<&str> = priv_args.to_vec();
    args.extend([
        "-e",
        "0x80001f8880aabbccdd01",
        &target,
        "42",
        "1.3.6.1.4.1.32473.9.6",
        "1.3.6.1.2.1.1.5.0",
        "s",
        "secret",
    ]);
    let out = h.net_snmp("snmptrap", &args).await;
    assert!(out.status.success(), "snmptrap v3: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert_eq!(
        (trap.version, trap.community_or_user.as_str(), trap.trap_oid.as_str()),
        (SnmpVersion::V3, "privuser", "1.3.6.1.4.1.32473.9.6")
    );
    assert_eq!(trap.varbinds[0].value, SnmpValue::OctetString(b"secret".to_vec()));

    let mut args: Vec<&str> = auth_args.to_vec();
    args.extend(["-e", "0x80001f8880aabbccdd02", &target, "43", "1.3.6.1.4.1.32473.9.7"]);
    let out = h.net_snmp("snmptrap", &args).await;
    assert!(out.status.success(), "snmptrap v3 authNoPriv: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert_eq!((trap.community_or_user.as_str(), trap.trap_oid.as_str()), ("authuser", "1.3.6.1.4.1.32473.9.7"));

    // v3 inform: the receiver is authoritative; snmpinform discovers its engine ID and needs the Response
    let mut args: Vec<&str> = priv_args.to_vec();
    args.extend(["-t", "2", "-r", "1", &target, "44", "1.3.6.1.4.1.32473.9.8"]);
    let out = h.net_snmp("snmpinform", &args).await;
    assert!(out.status.success(), "snmpinform v3: {}", String::from_utf8_lossy(&out.stderr));
    let trap = h.next_trap().await;
    assert!(trap.is_inform);
    assert_eq!((trap.version, trap.trap_oid.as_str()), (SnmpVersion::V3, "1.3.6.1.4.1.32473.9.8"));

    // wrong password: not recorded, counted as malformed (failed USM authentication)
    let bad_count = |h: &Harness| {
        h.receiver.stats.malformed.load(Ordering::Relaxed) + h.receiver.stats.usm_failures.load(Ordering::Relaxed)
    };
    let before = bad_count(&h);
    let args = [
        "-v",
        "3",
        "-u",
        "privuser",
        "-l",
        "authPriv",
        "-a",
        "SHA",
        "-A",
        "wrongpass99",
        "-x",
        "AES",
        "-X",
        "privpass123",
        "-e",
        "0x80001f8880aabbccdd01",
        &target,
        "45",
        "1.3.6.1.4.1.32473.9.9",
    ];
    let out = h.net_snmp("snmptrap", &args).await;
    assert!(out.status.success());
    // unknown user and noAuthNoPriv: refused
    let args = [
        "-v",
        "3",
        "-u",
        "nobody",
        "-l",
        "noAuthNoPriv",
        "-e",
        "0x80001f8880aabbccdd03",
        &target,
        "46",
        "1.3.6.1.4.1.32473.9.9",
    ];
    assert!(h.net_snmp("snmptrap", &args).await.status.success());
    let args = [
        "-v",
        "3",
        "-u",
        "privuser",
        "-l",
        "noAuthNoPriv",
        "-e",
        "0x80001f8880aabbccdd01",
        &target,
        "47",
        "1.3.6.1.4.1.32473.9.9",
    ];
    assert!(h.net_snmp("snmptrap", &args).await.status.success());
    h.assert_alive_and_nothing_else("after-v3-refusals").await;
    assert!(bad_count(&h) > before, "the wrong-password trap was not counted");
}

#[tokio::test]
async fn community_and_source_allow_lists_refuse_and_count() {
    let mut h = start(|_| {}).await;
    let target = h.target();
    let out = h.net_snmp("snmptrap", &["-v", "2c", "-c", "private", &target, "", "1.3.6.1.4.1.32473.9.1"]).await;
    assert!(out.status.success());
    // a refused inform is not acknowledged, so snmpinform fails
    let out = h
        .net_snmp(
            "snmpinform",
            &["-v", "2c", "-c", "private", "-t", "1", "-r", "0", &target, "", "1.3.6.1.4.1.32473.9.1"],
        )
        .await;
    assert!(!out.status.success(), "a refused inform must not be acknowledged");
    h.assert_alive_and_nothing_else("after-bad-community").await;
    assert_eq!(h.receiver.stats.dropped_community.load(Ordering::Relaxed), 2);

    let mut h = start(|c| c.allowed_sources = vec!["192.0.2.0/24".into()]).await;
    let target = h.target();
    let out = h.net_snmp("snmptrap", &["-v", "2c", "-c", "public", &target, "", "1.3.6.1.4.1.32473.9.1"]).await;
    assert!(out.status.success());
    tokio::time::timeout(DEADLINE, async {
        while h.receiver.stats.dropped_source.load(Ordering::Relaxed) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the trap from outside the allowed sources is counted");
    assert!(h.events.try_recv().is_err(), "nothing recorded");
}

#[tokio::test]
async fn flood_above_the_rate_limit_is_dropped_and_counted() {
    let mut h = start(|c| {
        c.rate_limit_per_sec = 1;
        c.burst = 20;
    })
    .await;
    let capture = std::fs::read(fixtures().join("v2c-trap.bin")).expect("capture");
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    for _ in 0..100 {
        socket.send_to(&capture, h.receiver.local_addr).await.expect("send");
    }
    tokio::time::timeout(DEADLINE, async {
        while h.receiver.stats.received.load(Ordering::Relaxed)
            + h.receiver.stats.dropped_rate_limit.load(Ordering::Relaxed)
            < 100
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("all 100 datagrams accounted for");
    let received = h.receiver.stats.received.load(Ordering::Relaxed);
    // the burst of 20, plus at most a token or two refilled while sending
    assert!((20..=22).contains(&received), "admitted {received}");
    assert_eq!(h.receiver.stats.dropped_rate_limit.load(Ordering::Relaxed), 100 - received);
    for _ in 0..received {
        let trap = h.next_trap().await;
        assert_eq!(trap.trap_oid, "1.3.6.1.4.1.32473.9.1");
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/traps")
}

#[tokio::test]
async fn malformed_datagrams_are_counted_and_never_stop_the_receiver() {
    let mut h = start(|_| {}).await;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(fixtures().join("malformed"))
        .expect("corpus dir")
        .map(|e| {
            let path = e.expect("entry").path();
            (path.display().to_string(), std::fs::read(&path).expect("read"))
        })
        .collect();
    corpus.sort();
    assert!(corpus.len() >= 15, "corpus went missing");
    // every proper prefix of every real capture, too
    for name in ["v1-trap.bin", "v2c-trap.bin", "v3-authpriv-trap.bin"] {
        let capture = std::fs::read(fixtures().join(name)).expect("capture");
        for len in 1..capture.len() {
            corpus.push((format!("{name}[..{len}]"), capture[..len].to_vec()));
        }
    }
    // One at a time, each followed by a good trap that must arrive: a burst would overflow the kernel's
    // socket buffer and the test would measure that instead.
    let probe = std::fs::read(fixtures().join("v2c-trap.bin")).expect("capture");
    for (name, datagram) in &corpus {
        let stats = &h.receiver.stats;
        let before = stats.malformed.load(Ordering::Relaxed) + stats.usm_failures.load(Ordering::Relaxed);
        socket.send_to(datagram, h.receiver.local_addr).await.expect("send");
        socket.send_to(&probe, h.receiver.local_addr).await.expect("send");
        let trap = h.next_trap().await;
        assert_eq!(trap.trap_oid, "1.3.6.1.4.1.32473.9.1", "{name} was recorded as a trap");
        let stats = &h.receiver.stats;
        let after = stats.malformed.load(Ordering::Relaxed) + stats.usm_failures.load(Ordering::Relaxed);
        assert_eq!(after, before + 1, "{name} was not counted");
    }
    h.assert_alive_and_nothing_else("after-corpus").await;
}

#[tokio::test]
async fn spawn_fails_at_startup_on_a_busy_port_and_is_inert_when_disabled() {
    let busy = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
    let config =
        TrapConfig { enabled: true, listen: busy.local_addr().expect("addr").to_string(), ..TrapConfig::default() };
    let (sink, _events) = EventSink::in_memory();
    let err = traps::spawn(&config, sink.clone(), CancellationToken::new()).expect_err("port in use");
    assert!(format!("{err:#}").contains("traps.listen"), "{err:#}");

    let disabled = TrapConfig { enabled: false, ..config };
    let task = traps::spawn(&disabled, sink, CancellationToken::new()).expect("disabled is fine");
    tokio::time::timeout(DEADLINE, task).await.expect("finishes at once").expect("task");
}

/// Waits until `done()` holds, polling; `what` names it in the hang-guard failure.
async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(DEADLINE, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting until {what}"));
}

// See: #6
#[tokio::test]
async fn inform_is_refused_not_answered_when_the_queue_to_the_spool_is_full() {
    // A spool that accepts appends but never confirms them until the test says so.
    let (h, mut held) = start_with_held_spool().await;
    let stats = h.receiver.stats.clone();

    // Fill the pipeline: MAX_IN_FLIGHT appends awaiting the spool, then the queue behind them.
    let capacity = traps::MAX_IN_FLIGHT + traps::config::DEFAULT_QUEUE;
    let capture = std::fs::read(fixtures().join("v2c-trap.bin")).expect("capture");
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut sent = 0u64;
    while sent < capacity as u64 {
        // in chunks, so the receive buffer never overflows
        for _ in 0..128.min(capacity as u64 - sent) {
            socket.send_to(&capture, h.receiver.local_addr).await.expect("send");
            sent += 1;
        }
        wait_until("the sent traps are admitted", || stats.received.load(Ordering::Relaxed) == sent).await;
    }
    wait_until("the forwarder has MAX_IN_FLIGHT appends waiting", || held.len() == traps::MAX_IN_FLIGHT).await;
    assert_eq!(stats.dropped(), 0);

    let target = h.target();
    let inform = ["-v", "2c", "-c", "public", "-t", "1", "-r", "0", &target, "", "1.3.6.1.4.1.32473.9.6"];
    let out = h.net_snmp("snmpinform", &inform).await;
    assert!(!out.status.success(), "an inform that could not be queued for the spool must not be answered");
    assert_eq!(stats.dropped_queue_full.load(Ordering::Relaxed), 1);
    assert_eq!(stats.received.load(Ordering::Relaxed), capacity as u64);

    // Let the spool confirm everything; the next inform is queued and answered.
    tokio::spawn(async move {
        let mut seq = 0;
        while let Some((_event, done)) = held.recv().await {
            seq += 1;
            let _ = done.send(Ok(seq));
        }
    });
    wait_until("the backlog is recorded", || stats.recorded.load(Ordering::Relaxed) == capacity as u64).await;
    let out = h.net_snmp("snmpinform", &inform).await;
    assert!(out.status.success(), "snmpinform once there is room: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stats.dropped_queue_full.load(Ordering::Relaxed), 1);
}

/// A v2c InformRequest with request ID `id`: the v2c trap capture with its PDU tag changed (TrapV2 0xA7 to
/// InformRequest 0xA6) and its request ID (4 bytes at offset 17) replaced.
fn v2c_inform(id: [u8; 4]) -> Vec<u8> {
    let mut inform = std::fs::read(fixtures().join("v2c-trap.bin")).expect("capture");
    assert_eq!((inform[13], &inform[15..17]), (0xa7, &[0x02, 0x04][..]), "the capture's layout changed");
    inform[13] = 0xa6;
    inform[17..21].copy_from_slice(&id);
    inform
}

/// The request ID of a v2c Response-PDU (BER: SEQUENCE { version, community, Response-PDU { request-id, … } }).
fn response_id(datagram: &[u8]) -> [u8; 4] {
    // One TLV at `at`: (tag, start of value, length of value), with short- or long-form lengths.
    let tlv = |at: usize| -> (u8, usize, usize) {
        let first = datagram[at + 1];
        if first < 0x80 {
            return (datagram[at], at + 2, usize::from(first));
        }
        let n = usize::from(first & 0x7f);
        let len = datagram[at + 2..at + 2 + n].iter().fold(0usize, |acc, b| acc << 8 | usize::from(*b));
        (datagram[at], at + 2 + n, len)
    };
    let (_, message, _) = tlv(0);
    let (_, version, version_len) = tlv(message);
    let (_, community, community_len) = tlv(version + version_len);
    let (tag, pdu, _) = tlv(community + community_len);
    assert_eq!(tag, 0xa2, "not a Response-PDU: {datagram:02x?}");
    let (_, id, id_len) = tlv(pdu);
    let mut out = [0u8; 4];
    out[4 - id_len..].copy_from_slice(&datagram[id..id + id_len]);
    out
}

// See: #6
#[tokio::test]
async fn inform_is_answered_only_after_its_event_is_durable() {
    let (h, mut spool) = start_with_held_spool().await;
    let receiver = &h.receiver;
    let stats = receiver.stats.clone();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let mut buf = [0u8; 1500];

    socket.send_to(&v2c_inform([0, 0, 0, 1]), receiver.local_addr).await.expect("send");
    let (event, done) = tokio::time::timeout(DEADLINE, spool.recv()).await.expect("an append").expect("open");
    assert!(matches!(&event.kind, EventKind::Trap(t) if t.is_inform), "{event:?}");
    // The append is waiting for the spool. Before the fix the library had already answered by now, and loopback
    // UDP queues a datagram on our socket when it is sent, so an early Response would be waiting here.
    let early = socket.try_recv_from(&mut buf);
    assert!(early.is_err(), "an inform was answered before its event was durable");
    assert_eq!(stats.informs_answered.load(Ordering::Relaxed), 0);
    done.send(Ok(1)).expect("forwarder waits");
    let (n, from) =
        tokio::time::timeout(DEADLINE, socket.recv_from(&mut buf)).await.expect("a Response").expect("recv");
    assert_eq!(from, receiver.local_addr);
    assert_eq!(response_id(&buf[..n]), [0, 0, 0, 1]);

    // A spool that refuses the append (it is shutting down): that inform is never answered. The next datagram we
    // get answers the inform after it.
    socket.send_to(&v2c_inform([0, 0, 0, 2]), receiver.local_addr).await.expect("send");
    let (_, refused) = tokio::time::timeout(DEADLINE, spool.recv()).await.expect("an append").expect("open");
    drop(refused);
    wait_until("the refused append is counted", || stats.not_recorded.load(Ordering::Relaxed) == 1).await;
    socket.send_to(&v2c_inform([0, 0, 0, 3]), receiver.local_addr).await.expect("send");
    let (_, done) = tokio::time::timeout(DEADLINE, spool.recv()).await.expect("an append").expect("open");
    done.send(Ok(3)).expect("forwarder waits");
    let (n, _) = tokio::time::timeout(DEADLINE, socket.recv_from(&mut buf)).await.expect("a Response").expect("recv");
    assert_eq!(response_id(&buf[..n]), [0, 0, 0, 3], "the inform whose event was not recorded was answered");
    assert_eq!(stats.informs_answered.load(Ordering::Relaxed), 2);
}

// See: #6
#[tokio::test]
async fn v3_inform_from_snmpinform_waits_for_the_spool() {
    let (h, mut spool) = start_with_held_spool().await;
    let target = h.target();
    let mut args: Vec<&str> = V3_PRIV.to_vec();
    args.extend(["-t", "1", "-r", "0", &target, "", "1.3.6.1.4.1.32473.9.9"]);

    // The spool holds the append for longer than snmpinform waits (it gives up after its one try): no Response.
    let inform = h.net_snmp("snmpinform", &args);
    let held = async { tokio::time::timeout(DEADLINE, spool.recv()).await.expect("an append").expect("open") };
    let (out, (event, done)) = tokio::join!(inform, held);
    assert!(matches!(&event.kind, EventKind::Trap(t) if t.is_inform), "{event:?}");
    assert!(!out.status.success(), "snmpinform was answered while its event was not yet durable");
    let _ = done.send(Ok(1));

    // A spool that confirms: the same inform is answered.
    let confirm = async {
        let (_, done) = tokio::time::timeout(DEADLINE, spool.recv()).await.expect("an append").expect("open");
        let _ = done.send(Ok(2));
    };
    let (out, ()) = tokio::join!(h.net_snmp("snmpinform", &args), confirm);
    assert!(out.status.success(), "snmpinform v3 once durable: {}", String::from_utf8_lossy(&out.stderr));
    let stats = h.receiver.stats.clone();
    wait_until("both Responses are sent (the first one late)", || stats.informs_answered.load(Ordering::Relaxed) == 2)
        .await;
}
