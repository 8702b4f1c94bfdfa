//! Northbound SNMP through the real `noc` binary: `noc serve` with a `[[sinks.snmp]]` destination in its
//! `noc.toml` forwards events that a satellite delivered over HTTP to a private net-snmp `snmptrapd` on a
//! loopback port, as OUTPOST-MIB notifications with the right OIDs and values.
//! The snmptrapd setup and event builders are the sink tests' own (`noc/tests/sinks_support/`).

use outpost_format::UnixMillis;
use outpost_satellite::spool::{Spool, SpoolConfig};
use outpost_tests::free_port;

use super::delivery_support::{Noc, Sat, snapshot};

#[path = "../../noc/tests/sinks_support/events.rs"]
mod sink_events;
#[path = "../../noc/tests/sinks_support/snmptrapd.rs"]
mod snmptrapd;

use sink_events::{problem, state_change};
use snmptrapd::{TrapDaemon, free_udp_port, value};

/// The default OUTPOST-MIB root (documentation enterprise number, RFC 5612).
const ROOT: &str = "1.3.6.1.4.1.32473";
const SNMP_TRAP_OID: &str = "1.3.6.1.6.3.1.1.4.1.0";

#[test]
fn noc_serve_forwards_delivered_events_to_snmptrapd() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let trapd = rt.block_on(TrapDaemon::start(free_udp_port()));

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = dir.path().join("noc.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n{}\n\
             [[sinks.snmp]]\nname = \"nms\"\ndestination = \"127.0.0.1:{}\"\n\
             [sinks.snmp.filter]\nevents = \"alerts\"\nstates = [\"CRITICAL\", \"DOWN\"]\n",
            Noc::credentials_toml(),
            trapd.port
        ),
    )
    .expect("write noc.toml");
    let noc = Noc::start_with(config, port);

    let sat = Sat::new(&dir.path().join("sat"), &format!("http://127.0.0.1:{port}"), SpoolConfig::default());
    sat.put_snapshot(&snapshot(2, 0));
    // Whole seconds a minute ago, so outpostEventUnixTime must carry the original time, not the send time.
    let t0: UnixMillis = (outpost_satellite::spool::now_ms() / 1000 - 60) * 1000;
    let events = [
        (t0, state_change("web01", "svc001", 2, "CRITICAL - disk 97%; /var")),
        // filtered out: WARNING is not in the destination's state filter
        (t0 + 1000, state_change("web01", "svc001", 1, "WARNING - disk 85%")),
        (t0 + 2000, problem("web01", "", 1, "DOWN - no ping")),
    ];
    {
        let (spool, _) = Spool::open(&sat.spool_dir, sat.spool_cfg.clone()).expect("open spool");
        spool.append(&events).expect("append events");
    }
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    noc.wait_events("the NOC to hold the three events", 3);

    // In log order; had the WARNING passed the filter it would be the second trap.
    let traps = rt.block_on(trapd.wait_traps(2));
    let svc = &traps[0];
    let at = |oid: &str| format!("{ROOT}.1.{oid}.0");
    assert_eq!(value(svc, SNMP_TRAP_OID), Some(format!("OID: .{ROOT}.0.2").as_str()), "outpostServiceEvent");
    assert_eq!(value(svc, &at("1")), Some("STRING: \"FRA1\""));
    assert_eq!(value(svc, &at("2")), Some("STRING: \"FRA1_web01/svc001\""));
    assert_eq!(value(svc, &at("3")), Some("STRING: \"FRA1_web01\""));
    assert_eq!(value(svc, &at("4")), Some("STRING: \"svc001\""));
    assert_eq!(value(svc, &at("5")), Some("INTEGER: 2"));
    assert_eq!(value(svc, &at("6")), Some("STRING: \"CRITICAL\""));
    assert_eq!(value(svc, &at("8")), Some("STRING: \"CRITICAL - disk 97%; /var\""));
    assert_eq!(value(svc, &at("10")), Some(format!("Gauge32: {}", t0 / 1000).as_str()), "original event time");
    assert_eq!(value(svc, &at("11")), Some("STRING: \"state_change\""));

    let host = &traps[1];
    assert_eq!(value(host, SNMP_TRAP_OID), Some(format!("OID: .{ROOT}.0.1").as_str()), "outpostHostEvent");
    assert_eq!(value(host, &at("2")), Some("STRING: \"FRA1_web01\""));
    assert_eq!(value(host, &at("6")), Some("STRING: \"DOWN\""));
    assert_eq!(value(host, &at("8")), Some("STRING: \"DOWN - no ping\""));
    assert_eq!(value(host, &at("10")), Some(format!("Gauge32: {}", (t0 + 2000) / 1000).as_str()));
    assert_eq!(value(host, &at("11")), Some("STRING: \"notification\""));
    assert_eq!(value(host, &at("12")), Some("STRING: \"PROBLEM\""));
    drop(noc);
    assert_eq!(trapd.traps().len(), 2, "only the two matching events were sent: {:?}", trapd.traps());
}
