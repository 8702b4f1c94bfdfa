//! net-snmp traps all the way to the NOC: `snmptrap`/`snmpinform` send v1, v2c, inform and SNMPv3 notifications
//! to the satellite's trap receiver (the satellite's delivery pipeline run in-process: receiver, durable spool,
//! sender), and the test reads them back from the real `noc` binary's event log.
//! The receiver is started through `traps::spawn`, the same call the satellite daemon makes.

use std::process::Command;
use std::time::Duration;

use outpost_satellite::config::Config;
use outpost_satellite::daemon;
use outpost_satellite::spool::SpoolConfig;
use outpost_satellite::traps;
use outpost_tests::free_port;
use tokio_util::sync::CancellationToken;

use super::delivery_support::{Noc, Sat};

fn net_snmp(dir: &std::path::Path, tool: &str, args: &[&str]) {
    let out = Command::new(tool)
        .args(args)
        .env("SNMPCONFPATH", dir)
        .env("SNMP_PERSISTENT_DIR", dir)
        .env("MIBS", "")
        .output()
        .unwrap_or_else(|e| panic!("run {tool} ({e}); scripts/install-test-deps installs net-snmp"));
    assert!(out.status.success(), "{tool} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// How long `snmpinform` waits for an answer before it sends the inform again: the answer comes once the trap is
/// fsynced, which on a loaded machine can take seconds, and a resent inform is a second trap (at least once, as
/// SNMP informs are), which would break the exact counts below. Generous, so only a receiver that never answers
/// makes it give up (after 60 s).
const INFORM_TIMEOUT: &str = "-t30";
const INFORM_RETRIES: &str = "-r1";

/// A NOC and a satellite config for it whose `[traps]` listens on the returned port, with `extra` appended
/// (the `[traps]` table is last before it, so `extra` may continue it).
fn noc_and_satellite(dir: &std::path::Path, extra: &str) -> (Noc, Sat, u16) {
    let noc_port = free_port();
    let noc = Noc::start(dir, noc_port, None);
    let sat = Sat::new(&dir.join("sat"), &format!("http://127.0.0.1:{noc_port}"), SpoolConfig::default());
    let trap_port = free_port();
    let mut text = std::fs::read_to_string(&sat.config).expect("satellite.toml");
    text.push_str(&format!(
        "[traps]\nenabled = true\nlisten = \"127.0.0.1:{trap_port}\"\ncommunities = [\"public\"]\n{extra}"
    ));
    std::fs::write(&sat.config, text).expect("satellite.toml");
    (noc, sat, trap_port)
}

/// The receiver binds inside the daemon: wait until the port shows up in /proc/net/udp
/// (probing by binding it ourselves could steal the port from the receiver).
fn wait_until_bound(trap_port: u16) {
    let needle = format!(":{trap_port:04X} ");
    outpost_tests::wait_for("the trap receiver to bind", Duration::from_secs(60), || {
        std::fs::read_to_string("/proc/net/udp").ok().filter(|t| t.contains(&needle)).map(|_| ())
    });
}

#[test]
fn snmptrap_notifications_reach_the_noc_as_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let users = format!(
        "engine_state_file = \"{}\"\n[[traps.users]]\nname = \"privuser\"\nauth_protocol = \"SHA\"\n\
         auth_password = \"authpass123\"\npriv_protocol = \"AES\"\npriv_password = \"privpass123\"\n",
        dir.path().join("sat/state/snmp-engine").display()
    );
    let (noc, sat, trap_port) = noc_and_satellite(dir.path(), &users);
    let config = Config::load(&sat.config).unwrap_or_else(|e| panic!("satellite config: {e}"));
    let settings = daemon::DeliverySettings::from_config(&config, false).expect("delivery settings");

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let traps_config = config.traps.clone();
    let satellite = rt.spawn(async move {
        daemon::run(settings, token.clone(), move |sink| {
            traps::spawn(&traps_config, sink, token)?;
            Ok(None)
        })
        .await
    });

    let target = format!("127.0.0.1:{trap_port}");
    let snmp_dir = dir.path().join("net-snmp");
    std::fs::create_dir_all(&snmp_dir).expect("mkdir");
    wait_until_bound(trap_port);
    // An inform first: its answer proves the receiver itself is listening (the port in /proc/net/udp may still be
    // start-up's test bind), so the unanswered traps after it cannot go to a closed port and be lost.
    net_snmp(
        &snmp_dir,
        "snmpinform",
        &["-v", "2c", "-c", "public", INFORM_TIMEOUT, INFORM_RETRIES, &target, "", "1.3.6.1.4.1.32473.9.2"],
    );
    net_snmp(
        &snmp_dir,
        "snmptrap",
        &["-v", "2c", "-c", "public", &target, "", "1.3.6.1.4.1.32473.9.1", "1.3.6.1.2.1.1.5.0", "s", "sw1"],
    );
    net_snmp(
        &snmp_dir,
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
            "",
            "1.3.6.1.2.1.1.5.0",
            "s",
            "sw1",
        ],
    );
    net_snmp(
        &snmp_dir,
        "snmpinform",
        &[
            "-v",
            "3",
            "-u",
            "privuser",
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            "authpass123",
            "-x",
            "AES",
            "-X",
            "privpass123",
            INFORM_TIMEOUT,
            INFORM_RETRIES,
            &target,
            "",
            "1.3.6.1.4.1.32473.9.3",
        ],
    );

    let events = outpost_tests::wait_for("four trap events at the NOC", Duration::from_secs(90), || {
        std::thread::sleep(Duration::from_millis(300));
        let events = noc.events();
        (events.iter().filter(|e| e.kind == "trap").count() >= 4).then_some(events)
    });
    let traps: Vec<&str> = events.iter().filter(|e| e.kind == "trap").map(|e| e.summary.as_str()).collect();
    let wanted = [
        "trap 1.3.6.1.4.1.32473.9.2 from",
        "trap 1.3.6.1.4.1.32473.9.1 from",
        "trap 1.3.6.1.4.1.9999.0.42 from",
        "trap 1.3.6.1.4.1.32473.9.3 from",
    ];
    assert_eq!(traps.len(), 4, "{traps:?}");
    for (got, want) in traps.iter().zip(wanted) {
        assert!(got.starts_with(want) && got.contains("127.0.0.1:"), "{got:?} should start with {want:?}");
    }
    cancel.cancel();
    rt.block_on(satellite).expect("satellite task").expect("satellite ran cleanly");
}

// See: #6
#[test]
fn trap_rule_result_changes_the_satellites_own_state_and_the_nocs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A passive-only service whose state a linkDown trap sets, as a Nagios passive check would.
    let (noc, sat, trap_port) = noc_and_satellite(
        dir.path(),
        "[[traps.rules]]\ntrap_oid = \"1.3.6.1.6.3.1.1.5.3\"\nhost = \"router1\"\nservice = \"link\"\n\
         state = \"CRITICAL\"\noutput = \"CRITICAL - ifIndex {varbind:1.3.6.1.2.1.2.2.1.1} down\"\n\
         [[hosts]]\nname = \"router1\"\n\
         [[services]]\nname = \"link\"\nhost = \"router1\"\ncheck_command = \"/bin/true\"\nactive_checks = false\n\
         max_attempts = 1\n",
    );
    let satellite = sat.run();
    wait_until_bound(trap_port);

    let snmp_dir = dir.path().join("net-snmp");
    std::fs::create_dir_all(&snmp_dir).expect("mkdir");
    let target = format!("127.0.0.1:{trap_port}");
    // linkDown for ifIndex 7, as an inform: answered once the trap and the service's state change are durable.
    net_snmp(
        &snmp_dir,
        "snmpinform",
        &[
            "-v",
            "2c",
            "-c",
            "public",
            INFORM_TIMEOUT,
            INFORM_RETRIES,
            &target,
            "",
            "1.3.6.1.6.3.1.1.5.3",
            "1.3.6.1.2.1.2.2.1.1",
            "i",
            "7",
        ],
    );

    let status =
        outpost_tests::wait_for("satellite status to show router1/link CRITICAL", Duration::from_secs(60), || {
            let out = Command::new(outpost_tests::bin("satellite"))
                .arg("--config")
                .arg(&sat.config)
                .args(["status", "--all", "--json"])
                .output()
                .expect("run satellite status");
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let row = report["rows"].as_array()?.iter().find(|r| r["object"] == "router1/link")?.clone();
            (row["state"] == "CRITICAL").then_some(row)
        });
    assert_eq!(status["state_type"], "HARD", "{status}");
    assert_eq!(status["output"], "CRITICAL - ifIndex 7 down", "{status}");

    let (state, output) =
        outpost_tests::wait_for("the NOC to show the service CRITICAL", Duration::from_secs(60), || {
            std::thread::sleep(Duration::from_millis(300));
            noc.objects().into_iter().find(|(name, (state, _))| name.ends_with("router1/link") && *state == 2)
        })
        .1;
    assert_eq!((state, output.as_str()), (2, "CRITICAL - ifIndex 7 down"));
    let kinds: Vec<String> = noc.events().into_iter().map(|e| e.kind).collect();
    assert!(kinds.iter().any(|k| k == "trap") && kinds.iter().any(|k| k == "state_change"), "{kinds:?}");
    assert!(!kinds.iter().any(|k| k == "check_result"), "the rule's result went around the engine: {kinds:?}");
    super::delivery_support::terminate(satellite);
}
