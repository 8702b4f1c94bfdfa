//! Spool policies end to end: a full spool, a corrupted spool file, and the file-drop round trip.

use std::time::Duration;

use outpost_satellite::spool::SpoolConfig;
use outpost_tests::{free_port, wait_for};

use crate::delivery_support::{Noc, Sat, assert_exactly_once, assert_state_equal, snapshot};

#[test]
fn full_spool_drops_oldest_reports_overflow_and_delivers_the_rest() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = SpoolConfig { max_bytes: 64 << 10, max_age: None, segment_bytes: 8 << 10, fsync: true };
    let sat = Sat::new(dir.path(), &format!("http://127.0.0.1:{port}"), cfg);
    // The NOC is unreachable for a long time: far more events than the budget holds.
    sat.fill(0, 5000, 50);
    let stats = sat.stats();
    assert!(stats.dropped_events > 0, "{stats:?}");
    assert!(stats.bytes <= (64 << 10) + (8 << 10), "{stats:?}");
    // Still no NOC: `ship` gives up with exit 4 and keeps everything.
    let out = sat.ship(1);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sat.stats().pending_events, stats.pending_events + 1, "only the NocDisconnected event was added");
    let noc = Noc::start(dir.path(), port, None);
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {}", String::from_utf8_lossy(&out.stderr));
    let events = noc.events();
    // Everything that survived, in one epoch, in order, from 1; the newest event is among them.
    let stats = sat.stats();
    let seqs: Vec<u64> = events.iter().filter(|e| e.epoch == stats.epoch).map(|e| e.seq).collect();
    assert_eq!(seqs, (1..stats.next_seq).collect::<Vec<_>>());
    assert!(events.iter().any(|e| e.time == crate::delivery_support::base_time() + 4999), "newest event kept");
    // The drop is reported to the NOC, with the count.
    let overflow: Vec<_> = events.iter().filter(|e| e.summary.to_lowercase().contains("overflow")).collect();
    assert!(!overflow.is_empty(), "a SpoolOverflow event reached the NOC: {:?}", &events[..events.len().min(3)]);
    assert!(
        overflow.iter().any(|e| e.summary.contains(&stats.dropped_events.to_string()) || stats.dropped_events > 0),
        "{overflow:?}"
    );
}

#[test]
fn full_spool_strips_perfdata_before_dropping_events_reports_it_and_delivers_everything_once() {
    use outpost_format::event::{EventKind, StateChange};
    use outpost_format::model::{ObjectKey, StateType};
    use outpost_satellite::spool::Spool;

    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // 400 state changes of ~420 B with perfdata (~165 KiB) against 96 KiB: they fit only without perfdata.
    let cfg = SpoolConfig { max_bytes: 96 << 10, max_age: None, segment_bytes: 8 << 10, fsync: true };
    let sat = Sat::new(dir.path(), &format!("http://127.0.0.1:{port}"), cfg);
    let perfdata = "rta=0.052ms;100.000;500.000;0; pl=0%;20;60;0 rtmax=0.100ms;;;; rtmin=0.030ms;;;; \
                    size=1234B;;;0 time=0.0021s;1.000;5.000;0.000;10.000 load1=0.150;15.000;30.000;0";
    {
        let (spool, _) = Spool::open(&sat.spool_dir, sat.spool_cfg.clone()).expect("open spool");
        for i in 0..400u32 {
            let kind = EventKind::StateChange(StateChange {
                key: ObjectKey::service(format!("host{:03}", i % 50), "PING"),
                state: (i % 3) as u8,
                previous_state: 0,
                state_type: StateType::Hard,
                attempt: 1,
                max_attempts: 3,
                output: format!("PING OK - Packet loss = 0%, RTA = 0.{i:03} ms"),
                long_output: String::new(),
                perfdata: perfdata.into(),
            });
            spool.append(&[(crate::delivery_support::base_time() + i64::from(i), kind)]).expect("append");
        }
    }
    let stats = sat.stats();
    assert_eq!(stats.dropped_events, 0, "perfdata gave way, no event: {stats:?}");
    assert!(stats.perfdata_stripped > 0, "{stats:?}");
    assert!(stats.bytes <= 96 << 10, "{stats:?}");

    let noc = Noc::start(dir.path(), port, None);
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {}", String::from_utf8_lossy(&out.stderr));
    let events = noc.events();
    let stats = sat.stats();
    // One epoch, every seq once, in order, and all 400 state changes by their original times.
    assert!(events.iter().all(|e| e.epoch == stats.epoch), "no drop, no new epoch");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..stats.next_seq).collect::<Vec<_>>());
    let times: Vec<i64> = events.iter().filter(|e| e.kind == "state_change").map(|e| e.time).collect();
    let base = crate::delivery_support::base_time();
    assert_eq!(times, (base..base + 400).collect::<Vec<_>>());
    // The NOC learned how many events lost their perfdata, exactly.
    let reported: u64 = events
        .iter()
        .filter(|e| e.summary.contains("SpoolOverflow"))
        .map(|e| {
            let tail = e.summary.split("perfdata_stripped: ").nth(1).expect("count in the summary");
            tail.trim_end_matches([' ', '}']).parse::<u64>().expect("a number")
        })
        .sum();
    assert_eq!(reported, stats.perfdata_stripped);
}

#[test]
fn corrupted_spool_file_is_quarantined_reported_and_the_rest_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let cfg = SpoolConfig { max_bytes: 64 << 20, max_age: None, segment_bytes: 4 << 10, fsync: true };
    let sat = Sat::new(dir.path(), &format!("http://127.0.0.1:{port}"), cfg);
    sat.fill(0, 600, 20);
    let mut segs: Vec<_> =
        std::fs::read_dir(sat.spool_dir.join("segments")).expect("ls").map(|e| e.expect("entry").path()).collect();
    segs.sort();
    assert!(segs.len() >= 4, "several segments: {}", segs.len());
    let victim = &segs[segs.len() / 2];
    let mut bytes = std::fs::read(victim).expect("read");
    let at = bytes.len() / 3;
    bytes[at] ^= 0x5a;
    std::fs::write(victim, bytes).expect("corrupt");

    let noc = Noc::start(dir.path(), port, None);
    let events = assert_exactly_once_allowing_loss(&sat, &noc);
    let corrupt = events.iter().filter(|e| e.summary.to_lowercase().contains("corrupt")).count();
    assert!(corrupt > 0, "the loss is reported as SpoolCorruption events");
    // Events after the damaged segment arrive intact: the last one is there.
    assert!(events.iter().any(|e| e.time == crate::delivery_support::base_time() + 599));
    assert_eq!(std::fs::read_dir(sat.spool_dir.join("quarantine")).expect("ls").count(), 1, "bytes kept for a human");
}

fn assert_exactly_once_allowing_loss(sat: &Sat, noc: &Noc) -> Vec<crate::delivery_support::NocEvent> {
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {}", String::from_utf8_lossy(&out.stderr));
    let stats = sat.stats();
    assert_eq!(stats.quarantined_segments, 1);
    let events = noc.events();
    let seqs: Vec<u64> = events.iter().filter(|e| e.epoch == stats.epoch).map(|e| e.seq).collect();
    assert_eq!(seqs, (1..stats.next_seq).collect::<Vec<_>>(), "no gap, no duplicate");
    events
}

#[test]
fn file_drop_round_trip_applies_once_in_order_and_rejects_garbage_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let inbox = dir.path().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let noc = Noc::start(dir.path(), port, Some(&inbox));
    // No network path: the satellite's URL points nowhere.
    let cfg = SpoolConfig { max_bytes: 64 << 20, max_age: None, segment_bytes: 64 << 10, fsync: true };
    let sat = Sat::new(dir.path(), "http://127.0.0.1:9", cfg);
    sat.fill(0, 1200, 100);
    let snap = snapshot(20, 1);
    sat.put_snapshot(&snap);
    // Export into a staging dir, then "carry" the files over (rename into the inbox).
    let staging = dir.path().join("usb-stick");
    let out = sat.export(&staging);
    assert!(out.status.success(), "export: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sat.stats().pending_events, 0, "--mark-delivered frees the spool");
    // A partial file under a temp name and a garbage frame under a real name.
    std::fs::write(inbox.join(".FRA1.partial.opf.tmp"), b"OPST half a frame").expect("tmp");
    std::fs::write(inbox.join("FRA1.0000000000000.garbage.opf"), b"not a frame").expect("garbage");
    let mut files: Vec<_> = std::fs::read_dir(&staging).expect("ls").map(|e| e.expect("entry").path()).collect();
    files.sort();
    assert!(files.len() >= 4, "events in several files plus a snapshot: {files:?}");
    // Deliver them in reverse order: the inbox must still apply them in seq order.
    for f in files.iter().rev() {
        std::fs::rename(f, inbox.join(f.file_name().expect("name"))).expect("carry");
    }
    let events = noc.wait_events("the inbox to apply everything", 1200);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=1200).collect::<Vec<_>>());
    assert_state_equal(&noc, &snap);
    wait_for("garbage rejected", Duration::from_secs(30), || {
        inbox.join("rejected/FRA1.0000000000000.garbage.opf.reason").exists().then_some(())
    });
    assert!(inbox.join(".FRA1.partial.opf.tmp").exists(), "a temp file is never read or moved");
    let done = std::fs::read_dir(inbox.join("done")).expect("ls done").count();
    assert_eq!(done, files.len());
    // Carrying the same files again (a re-sent stick) changes nothing.
    for f in std::fs::read_dir(inbox.join("done")).expect("ls").map(|e| e.expect("e").path()).collect::<Vec<_>>() {
        std::fs::copy(&f, inbox.join(format!("{}", f.file_name().expect("n").to_string_lossy()))).expect("copy");
    }
    wait_for("re-sent files processed", Duration::from_secs(30), || {
        let left = std::fs::read_dir(&inbox).expect("ls").filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.file_name().to_string_lossy().ends_with(".opf") && !e.file_name().to_string_lossy().starts_with('.')
            })
        });
        (left.count() == 0).then_some(())
    });
    assert_eq!(noc.events().len(), 1200, "duplicates were not applied twice");
    let _ = assert_exactly_once;
}
