//! Delivery through outages, kills and link faults: the NOC ends with every event exactly once, in order,
//! and with the satellite's state.

use std::time::Duration;

use outpost_satellite::spool::SpoolConfig;
use outpost_tests::proxy::{Fault, FaultProxy};
use outpost_tests::{free_port, wait_for};

use crate::delivery_support::{
    Noc, Sat, assert_exactly_once, assert_state_equal, kill9, metric, scrape_metrics, snapshot, terminate,
};

fn spool_cfg() -> SpoolConfig {
    SpoolConfig { max_bytes: 256 << 20, max_age: None, segment_bytes: 256 << 10, fsync: true }
}

#[test]
fn noc_down_then_up_delivers_everything_once_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let metrics_port = free_port();
    // The extra lines end the [noc] table and open [metrics], the daemon's Prometheus listener.
    let sat = Sat::with_noc_options(
        dir.path(),
        &format!("http://127.0.0.1:{port}"),
        spool_cfg(),
        &format!("[metrics]\nlisten = \"127.0.0.1:{metrics_port}\""),
    );
    sat.fill(0, 3000, 100);
    // The NOC is down: the daemon retries with backoff while the spool holds everything, and says so.
    let daemon = sat.run();
    // 3000 filled plus the daemon's own lifecycle events.
    wait_for("metrics: 3000+ pending, NOC unreachable", Duration::from_secs(30), || {
        let m = scrape_metrics(metrics_port)?;
        let pending = metric(&m, "outpost_spool_pending_events")?;
        (pending >= 3000.0 && metric(&m, "outpost_noc_reachable") == Some(0.0)).then_some(())
    });
    // `ship` beside a running daemon refuses clearly (exit 3) instead of racing it for the spool.
    let beside = sat.ship(5);
    assert_eq!(beside.status.code(), Some(3), "{}", String::from_utf8_lossy(&beside.stderr));
    assert!(String::from_utf8_lossy(&beside.stderr).contains("daemon"));
    let noc = Noc::start(dir.path(), port, None);
    wait_for("delivery after the NOC came up", Duration::from_secs(60), || (noc.events().len() >= 3000).then_some(()));
    wait_for("metrics: spool drained, NOC reachable", Duration::from_secs(30), || {
        let m = scrape_metrics(metrics_port)?;
        (metric(&m, "outpost_spool_pending_events") == Some(0.0) && metric(&m, "outpost_noc_reachable") == Some(1.0))
            .then_some(())
    });
    terminate(daemon);
    // The daemon shipped the engine's (empty) snapshot; a site snapshot now must replace it exactly.
    let snap = snapshot(50, 1);
    sat.put_snapshot(&snap);
    assert_exactly_once(&sat, &noc, 0..3000);
    assert_state_equal(&noc, &snap);
}

#[test]
fn satellite_killed_repeatedly_during_delivery_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let noc = Noc::start(dir.path(), port, None);
    let sat = Sat::new(dir.path(), &format!("http://127.0.0.1:{port}"), spool_cfg());
    sat.fill(0, 20_000, 500);
    sat.put_snapshot(&snapshot(30, 1));
    let mut filled = 20_000;
    for round in 0..5u64 {
        let daemon = sat.run();
        // Kill at varying points: during connect, mid-batch, between acks.
        std::thread::sleep(Duration::from_millis(150 + 130 * round));
        kill9(daemon);
        // More events arrive while it is down (producers keep appending).
        sat.fill(filled, 500, 50);
        filled += 500;
    }
    let last = snapshot(30, 2);
    sat.put_snapshot(&last);
    assert_exactly_once(&sat, &noc, 0..filled);
    assert_state_equal(&noc, &last);
}

#[test]
fn link_faults_drop_stall_reset_and_trickle_lose_and_duplicate_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let noc = Noc::start(dir.path(), port, None);
    let proxy = FaultProxy::start(([127, 0, 0, 1], port).into());
    let sat = Sat::new(dir.path(), &proxy.url(), spool_cfg());
    sat.fill(0, 2000, 100);
    let daemon = sat.run();
    let faults = [
        Fault::CutAfter(3000),
        Fault::Stall,
        Fault::Reset,
        Fault::Refuse,
        Fault::Trickle { bytes: 512, every: Duration::from_millis(5) },
    ];
    for fault in faults {
        proxy.set(fault);
        std::thread::sleep(Duration::from_millis(1200));
        proxy.set(Fault::Pass);
        std::thread::sleep(Duration::from_millis(300));
    }
    terminate(daemon);
    // More events between daemon runs (the daemon holds the spool while it runs), then a cut mid-request again.
    let mut filled = 2000;
    sat.fill(filled, 1000, 100);
    filled += 1000;
    let daemon = sat.run();
    proxy.set(Fault::CutAfter(20_000));
    std::thread::sleep(Duration::from_millis(1500));
    proxy.set(Fault::Pass);
    noc.wait_events("delivery after the faults", filled as usize);
    terminate(daemon);
    assert!(proxy.connections() > 3, "the satellite reconnected through the faults");
    assert_exactly_once(&sat, &noc, 0..filled);
}

#[test]
fn ship_fails_over_to_the_next_noc_url_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let dead = free_port();
    let noc = Noc::start(dir.path(), port, None);
    // Two URLs: the first refuses connections, the second is the NOC.
    let urls = format!("http://127.0.0.1:{dead}\", \"http://127.0.0.1:{port}");
    let sat = Sat::new(dir.path(), &urls, spool_cfg());
    sat.fill(0, 300, 100);
    assert_exactly_once(&sat, &noc, 0..300);
}
