//! Northbound SNMP against a real net-snmp `snmptrapd` on 127.0.0.1: events applied to the store reach it as
//! OUTPOST-MIB notifications with the right OIDs and values, filters hold, and informs sent while snmptrapd
//! was down arrive once it is back (the sink retries from its durable cursor). Also: OUTPOST-MIB loads in
//! net-snmp and passes smilint.

mod sinks_support;

use std::path::Path;

use outpost_format::ObjectKey;
use outpost_noc::sinks;
use sinks_support::events::problem;
use sinks_support::snmptrapd::{TrapDaemon, free_udp_port, value};
use sinks_support::{TestStore, state_change};
use tokio_util::sync::CancellationToken;

const ROOT: &str = "1.3.6.1.4.1.32473";

fn sinks_table(text: &str) -> toml::Table {
    toml::from_str(text).expect("sinks toml")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_snmptrapd_with_outpost_mib_varbinds() {
    let mut ts = TestStore::new();
    ts.snapshot("FRA1", &[("web01", "", 0, "UP"), ("web01", "HTTP", 0, "OK")]).await;
    let trapd = TrapDaemon::start(free_udp_port()).await;
    let cancel = CancellationToken::new();
    let cfg = sinks_table(&format!(
        "replay_history = true\n[[snmp]]\nname = \"nms\"\ndestination = \"127.0.0.1:{}\"\n[snmp.filter]\nevents = \"alerts\"\nstates = [\"CRITICAL\", \"DOWN\"]\n",
        trapd.port
    ));
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");

    let before = sinks_support::now_ms() / 1000;
    ts.events(
        "FRA1",
        vec![
            state_change("web01", "HTTP", 2, "CRITICAL - HTTP 500; body: x|y"),
            // filtered out: WARNING is not in the state filter
            state_change("web01", "HTTP", 1, "WARNING - slow"),
            // filtered out: comments are not alerts
            outpost_format::EventKind::AcknowledgementRemoved { key: ObjectKey::host("web01") },
            problem("web01", "", 1, "DOWN - no ping"),
        ],
    )
    .await;
    let traps = trapd.wait_traps(2).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(trapd.traps().len(), 2, "filtered events were sent: {:?}", trapd.traps());

    let svc = &traps[0];
    assert_eq!(value(svc, "1.3.6.1.6.3.1.1.4.1.0"), Some(format!("OID: .{ROOT}.0.2").as_str()));
    assert_eq!(value(svc, &format!("{ROOT}.1.1.0")), Some("STRING: \"FRA1\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.2.0")), Some("STRING: \"FRA1_web01/HTTP\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.3.0")), Some("STRING: \"FRA1_web01\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.4.0")), Some("STRING: \"HTTP\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.5.0")), Some("INTEGER: 2"));
    assert_eq!(value(svc, &format!("{ROOT}.1.6.0")), Some("STRING: \"CRITICAL\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.8.0")), Some("STRING: \"CRITICAL - HTTP 500; body: x|y\""));
    assert_eq!(value(svc, &format!("{ROOT}.1.11.0")), Some("STRING: \"state_change\""));
    let unix: i64 = value(svc, &format!("{ROOT}.1.10.0"))
        .and_then(|v| v.strip_prefix("Gauge32: "))
        .and_then(|v| v.parse().ok())
        .expect("outpostEventUnixTime");
    assert!((before - 5..=before + 5).contains(&unix), "original event time {unix} vs {before}");

    let host = &traps[1];
    assert_eq!(value(host, "1.3.6.1.6.3.1.1.4.1.0"), Some(format!("OID: .{ROOT}.0.1").as_str()));
    assert_eq!(value(host, &format!("{ROOT}.1.6.0")), Some("STRING: \"DOWN\""));
    assert_eq!(value(host, &format!("{ROOT}.1.12.0")), Some("STRING: \"PROBLEM\""));
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn informs_sent_while_snmptrapd_was_down_arrive_after_it_returns() {
    let mut ts = TestStore::new();
    ts.snapshot("FRA1", &[("db01", "Disk", 0, "OK")]).await;
    let mut trapd = TrapDaemon::start(free_udp_port()).await;
    let cancel = CancellationToken::new();
    let cfg = sinks_table(&format!(
        "replay_history = true\n[[snmp]]\nname = \"nms\"\ndestination = \"127.0.0.1:{}\"\ninform = true\ntimeout_ms = 300\nretries = 1\n[snmp.filter]\nevents = \"alerts\"\n",
        trapd.port
    ));
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");
    ts.events("FRA1", vec![state_change("db01", "Disk", 1, "WARNING - 85%")]).await;
    trapd.wait_traps(1).await;

    trapd.stop().await;
    ts.events(
        "FRA1",
        vec![state_change("db01", "Disk", 2, "CRITICAL - 97%"), state_change("db01", "Disk", 0, "OK - 40%")],
    )
    .await;
    // Long enough for the first inform to time out and the sink to back off at least once.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(trapd.traps().len(), 1);
    trapd.restart().await;
    let traps = trapd.wait_traps(3).await;
    let outputs: Vec<&str> = traps.iter().filter_map(|t| value(t, &format!("{ROOT}.1.8.0"))).collect();
    assert_eq!(
        outputs[1..],
        ["STRING: \"CRITICAL - 97%\"", "STRING: \"OK - 40%\""],
        "in order, none lost: {outputs:?}"
    );
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
    // the cursor is durable: it points at the last event
    let cursor = ts.store.sink_cursor("snmp:nms").expect("cursor");
    assert_eq!(cursor, ts.store.last_event_id().expect("last id"));
}

#[test]
fn outpost_mib_loads_in_net_snmp_and_passes_smilint() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mibdirs = format!("{}:{}", root.join("fixtures/mibs").display(), root.join("docs").display());
    let out = std::process::Command::new("snmptranslate")
        .args(["-M", &mibdirs, "-m", "OUTPOST-MIB", "-IR", "-On", "outpostServiceEvent"])
        .env("MIBS", "")
        .output()
        .expect("run snmptranslate (scripts/install-test-deps installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.trim().is_empty(), "snmptranslate: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), format!(".{ROOT}.0.2"));

    let out = std::process::Command::new("smilint")
        .args(["-l", "6"])
        .arg(root.join("docs/OUTPOST-MIB.txt"))
        .env("SMIPATH", &mibdirs)
        .output()
        .expect("run smilint (package smitools)");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.trim().is_empty(), "smilint: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snmpv3_auth_priv_informs_reach_snmptrapd() {
    let mut ts = TestStore::new();
    ts.snapshot("FRA1", &[("web01", "HTTP", 0, "OK")]).await;
    // TrapDaemon's config has `createUser informuser SHA authpass123 AES privpass123` and `authUser log informuser priv`.
    let trapd = TrapDaemon::start(free_udp_port()).await;
    let cancel = CancellationToken::new();
    let cfg = sinks_table(&format!(
        "replay_history = true\n[[snmp]]\nname = \"v3\"\ndestination = \"127.0.0.1:{}\"\nversion = \"3\"\ninform = true\n\
         user = \"informuser\"\nauth_protocol = \"SHA\"\nauth_password = \"authpass123\"\npriv_protocol = \"AES\"\n\
         priv_password = \"privpass123\"\n[snmp.filter]\nevents = \"alerts\"\n",
        trapd.port
    ));
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");
    ts.events("FRA1", vec![state_change("web01", "HTTP", 2, "CRITICAL - v3")]).await;
    let traps = trapd.wait_traps(1).await;
    assert_eq!(value(&traps[0], &format!("{ROOT}.1.8.0")), Some("STRING: \"CRITICAL - v3\""));
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
}
