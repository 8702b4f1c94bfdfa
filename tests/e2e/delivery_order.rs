//! The order in which a satellite's snapshots and events reach the NOC: a state change recorded after a snapshot
//! was taken must win at the NOC, even when both wait in the spool and go out in the same shipment. (Under load the
//! sender often finds both waiting: a slow start-up, or a snapshot frame whose post timed out after the events.)

use outpost_format::event::{EventKind, StateChange};
use outpost_format::model::{Object, ObjectKey, Snapshot, StateType};
use outpost_format::{ObjectMap, UnixMillis};
use outpost_satellite::spool::{Spool, SpoolConfig};
use std::time::Duration;

use outpost_tests::{free_port, wait_for};

use crate::delivery_support::{Noc, Sat, base_time};

/// web01 and three services, each with `states[i]` checked at `at`.
fn site(states: [u8; 3], at: UnixMillis) -> Snapshot {
    let mut objects = ObjectMap::new();
    objects.insert(ObjectKey::host("web01"), Object::default());
    for (i, state) in states.into_iter().enumerate() {
        let mut o = Object::default();
        o.status.state = state;
        o.status.output = format!("svc{i} checked at {at}").into();
        o.status.last_check = at;
        objects.insert(ObjectKey::service("web01", format!("svc{i}")), o);
    }
    Snapshot { location: "FRA1".into(), taken_at: at, objects }
}

/// Appends the state change the engine records when `svc` goes from `from` to `to` at `at`.
fn append_change(sat: &Sat, svc: &str, from: u8, to: u8, at: UnixMillis) {
    let (spool, _) = Spool::open(&sat.spool_dir, sat.spool_cfg.clone()).expect("open spool");
    let change = StateChange {
        key: ObjectKey::service("web01", svc),
        state: to,
        previous_state: from,
        state_type: StateType::Hard,
        attempt: 1,
        max_attempts: 1,
        output: format!("{svc} changed at {at}"),
        long_output: String::new(),
        perfdata: String::new(),
    };
    spool.append(&[(at, EventKind::StateChange(change))]).expect("append");
}

/// What the NOC shows for `web01/<svc>`: (state, output).
fn noc_state(noc: &Noc, svc: &str) -> (u64, String) {
    let objects = noc.objects();
    objects
        .iter()
        .find(|(name, _)| name.ends_with(&format!("web01/{svc}")))
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("web01/{svc} missing at the NOC: {objects:?}"))
}

/// A NOC and a satellite whose spool holds nothing yet.
fn noc_and_satellite(dir: &std::path::Path) -> (Noc, Sat) {
    let port = free_port();
    let noc = Noc::start(dir, port, None);
    let sat = Sat::new(&dir.join("sat"), &format!("http://127.0.0.1:{port}"), SpoolConfig::default());
    (noc, sat)
}

fn ship(sat: &Sat) {
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn a_state_change_after_the_first_snapshot_wins_when_both_ship_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (noc, sat) = noc_and_satellite(dir.path());
    let t0 = base_time();
    // The NOC does not know the site yet (a satellite's first start, slow enough that both wait in the spool).
    sat.put_snapshot(&site([0, 0, 0], t0));
    append_change(&sat, "svc1", 0, 2, t0 + 10);
    ship(&sat);
    assert_eq!(noc_state(&noc, "svc1"), (2, format!("svc1 changed at {}", t0 + 10)), "the change after the snapshot");
    assert_eq!(noc_state(&noc, "svc0"), (0, format!("svc0 checked at {t0}")), "the snapshot's own state");
}

#[test]
fn a_state_change_after_a_delta_wins_when_both_ship_together() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (noc, sat) = noc_and_satellite(dir.path());
    let t0 = base_time();
    sat.put_snapshot(&site([0, 0, 0], t0));
    ship(&sat);
    // The NOC holds the site: a delta (svc1 CRITICAL, svc2 WARNING), then svc2 goes CRITICAL, e.g. while the delta's
    // first post timed out.
    sat.put_snapshot(&site([0, 2, 1], t0 + 20));
    append_change(&sat, "svc2", 1, 2, t0 + 30);
    ship(&sat);
    assert_eq!(noc_state(&noc, "svc2"), (2, format!("svc2 changed at {}", t0 + 30)), "the change after the delta");
    assert_eq!(noc_state(&noc, "svc1"), (2, format!("svc1 checked at {}", t0 + 20)), "the delta's own update");
}

/// The same over a file drop: `satellite export` writes the snapshot and the events as files, and the NOC's inbox
/// applies them in name order, so the snapshot's file must sort first.
#[test]
fn a_state_change_after_the_snapshot_wins_over_a_file_drop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let noc = Noc::start(dir.path(), free_port(), Some(&inbox));
    // No network path: the satellite's URL points nowhere.
    let sat = Sat::new(&dir.path().join("sat"), "http://127.0.0.1:9", SpoolConfig::default());
    let t0 = base_time();
    sat.put_snapshot(&site([0, 0, 0], t0));
    append_change(&sat, "svc1", 0, 2, t0 + 10);
    let staging = dir.path().join("usb-stick");
    let out = sat.export(&staging);
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    let mut files: Vec<_> = std::fs::read_dir(&staging).expect("ls").map(|e| e.expect("entry").path()).collect();
    assert_eq!(files.len(), 2, "one snapshot file and one events file: {files:?}");
    // Carried in name order, as `cp` or `mv` of a glob does: a scan between the two renames sees the first only.
    files.sort();
    for f in &files {
        std::fs::rename(f, inbox.join(f.file_name().expect("name"))).expect("carry");
    }
    wait_for("the inbox to apply both files", Duration::from_secs(60), || {
        let done = std::fs::read_dir(inbox.join("done")).map_or(0, |d| d.count());
        (done == 2).then_some(())
    });
    assert_eq!(noc_state(&noc, "svc1"), (2, format!("svc1 changed at {}", t0 + 10)), "the change after the snapshot");
    assert_eq!(noc_state(&noc, "svc0"), (0, format!("svc0 checked at {t0}")), "the snapshot's own state");
}
