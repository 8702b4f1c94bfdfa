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

#[test]
fn snmptrap_notifications_reach_the_noc_as_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let noc_port = free_port();
    let noc = Noc::start(dir.path(), noc_port, None);
    let sat = Sat::new(&dir.path().join("sat"), &format!("http://127.0.0.1:{noc_port}"), SpoolConfig::default());
    let trap_port = free_port();
    let mut text = std::fs::read_to_string(&sat.config).expect("satellite.toml");
    text.push_str(&format!(
        "[traps]\nenabled = true\nlisten = \"127.0.0.1:{trap_port}\"\ncommunities = [\"public\"]\n\
         engine_state_file = \"{}\"\n[[traps.users]]\nname = \"privuser\"\nauth_protocol = \"SHA\"\n\
         auth_password = \"authpass123\"\npriv_protocol = \"AES\"\npriv_password = \"privpass123\"\n",
        dir.path().join("sat/state/snmp-engine").display()
    ));
    std::fs::write(&sat.config, text).expect("satellite.toml");
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
    // The receiver binds inside the daemon task: wait until the port shows up in /proc/net/udp
    // (probing by binding it ourselves could steal the port from the receiver).
    let needle = format!(":{trap_port:04X} ");
    outpost_tests::wait_for("the trap receiver to bind", Duration::from_secs(30), || {
        std::fs::read_to_string("/proc/net/udp").ok().filter(|t| t.contains(&needle)).map(|_| ())
    });
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
        &["-v", "2c", "-c", "public", "-t", "2", "-r", "2", &target, "", "1.3.6.1.4.1.32473.9.2"],
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
            "-t",
            "2",
            "-r",
            "2",
            &target,
            "",
            "1.3.6.1.4.1.32473.9.3",
        ],
    );

    let events = noc.wait_events("four trap events at the NOC", 5);
    let traps: Vec<&str> = events.iter().filter(|e| e.kind == "trap").map(|e| e.summary.as_str()).collect();
    let wanted = [
        "trap 1.3.6.1.4.1.32473.9.1 from",
        "trap 1.3.6.1.4.1.9999.0.42 from",
        "trap 1.3.6.1.4.1.32473.9.2 from",
        "trap 1.3.6.1.4.1.32473.9.3 from",
    ];
    assert_eq!(traps.len(), 4, "{traps:?}");
    for (got, want) in traps.iter().zip(wanted) {
        assert!(got.starts_with(want) && got.contains("127.0.0.1:"), "{got:?} should start with {want:?}");
    }
    cancel.cancel();
    rt.block_on(satellite).expect("satellite task").expect("satellite ran cleanly");
}
