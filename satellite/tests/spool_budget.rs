//! The byte budget's order of giving way: the pending snapshot, then perfdata (oldest first, events kept),
//! then whole events (oldest first); every step counted in `SpoolOverflow` reports and the ledger.

use std::fs;

use outpost_format::event::{Lifecycle, StateChange};
use outpost_format::model::{ObjectKey, StateType};
use outpost_format::{Event, EventKind};
use outpost_satellite::spool::{Spool, SpoolConfig};

mod spool_support;
use spool_support::drain as peek;

const PERFDATA: &str = "rta=0.052ms;100.000;500.000;0; pl=0%;20;60;0 rtmax=0.100ms;;;; rtmin=0.030ms;;;; \
                        size=1234B;;;0 time=0.0021s;1.000;5.000;0.000;10.000 load1=0.150;15.000;30.000;0";

fn state_change(i: u64) -> EventKind {
    EventKind::StateChange(StateChange {
        key: ObjectKey::service(format!("host{i:03}"), "PING"),
        state: (i % 3) as u8,
        previous_state: 0,
        state_type: StateType::Hard,
        attempt: 1,
        max_attempts: 3,
        output: format!("PING OK - Packet loss = 0%, RTA = 0.{i:03} ms"),
        long_output: String::new(),
        perfdata: PERFDATA.into(),
    })
}

fn cfg(max_bytes: u64) -> SpoolConfig {
    SpoolConfig { max_bytes, max_age: None, segment_bytes: 2048, fsync: true }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Reported {
    reports: u64,
    dropped_events: u64,
    dropped_snapshots: u64,
    perfdata_stripped: u64,
}

fn reported(events: &[Event]) -> Reported {
    let mut r = Reported::default();
    for e in events {
        if let EventKind::Lifecycle(Lifecycle::SpoolOverflow {
            dropped_events,
            dropped_snapshots,
            perfdata_stripped,
            ..
        }) = &e.kind
        {
            r.reports += 1;
            r.dropped_events += dropped_events;
            r.dropped_snapshots += dropped_snapshots;
            r.perfdata_stripped += perfdata_stripped;
        }
    }
    r
}

/// The perfdata of each state change, in seq order (`Some("")` once stripped).
fn perfdata(events: &[Event]) -> Vec<(u64, bool)> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StateChange(s) => Some((e.seq, s.perfdata.is_empty())),
            _ => None,
        })
        .collect()
}

#[test]
fn snapshot_then_perfdata_give_way_and_every_event_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    // About 400 B per event with perfdata and 180 B without: 60 events need ~24 KiB, stripped ~11 KiB.
    let (spool, _) = Spool::open(dir.path(), cfg(16 << 10)).expect("open");
    let epoch = spool.epoch();
    let mut snap = outpost_format::Snapshot { location: "FRA1".into(), taken_at: 5, ..Default::default() };
    for i in 0..20 {
        snap.objects.insert(ObjectKey::host(format!("host-{i}")), Default::default());
    }
    spool.put_snapshot(&snap).expect("put");
    let mut first_strip_with_snapshot_left = None;
    for i in 0..60 {
        spool.append(&[(i as i64, state_change(i))]).expect("append");
        let st = spool.stats();
        if st.perfdata_stripped > 0 && st.pending_snapshots > 0 {
            first_strip_with_snapshot_left.get_or_insert(i);
        }
    }
    let stats = spool.stats();
    assert_eq!(first_strip_with_snapshot_left, None, "perfdata was stripped while the snapshot was still there");
    assert_eq!(stats.dropped_snapshots, 1, "{stats:?}");
    assert_eq!(stats.dropped_events, 0, "no event dropped while perfdata could give way: {stats:?}");
    assert!(stats.perfdata_stripped > 0, "{stats:?}");
    assert!(stats.bytes <= 16 << 10, "{stats:?}");
    assert_eq!(spool.epoch(), epoch, "nothing dropped: same epoch");

    // Reopen: the rewritten segments read back whole, same seqs.
    drop(spool);
    let (spool, recoveries) = Spool::open(dir.path(), cfg(16 << 10)).expect("reopen");
    assert!(recoveries.is_empty(), "{recoveries:?}");
    let events = peek(&spool);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "consecutive seqs, none renumbered");
    let changes = perfdata(&events);
    assert_eq!(changes.len(), 60, "every state change is still there");
    for (i, e) in events.iter().filter(|e| matches!(e.kind, EventKind::StateChange(_))).enumerate() {
        assert_eq!(e.time, i as i64, "in order, original times");
    }
    // Oldest first: the stripped ones are a prefix.
    let n_stripped = changes.iter().take_while(|(_, empty)| *empty).count();
    assert!(changes[n_stripped..].iter().all(|(_, empty)| !empty), "stripped out of order: {changes:?}");
    assert!(n_stripped > 0 && n_stripped < 60, "{n_stripped}");
    // Counted exactly, in the reports and in the ledger.
    let r = reported(&events);
    assert!(r.reports >= 1);
    assert_eq!(r.dropped_snapshots, 1);
    assert_eq!(r.dropped_events, 0);
    assert_eq!(r.perfdata_stripped, n_stripped as u64);
    assert_eq!(spool.stats().perfdata_stripped, n_stripped as u64, "the counter survived the reopen");
}

#[test]
fn events_are_dropped_only_once_no_perfdata_is_left() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg(8 << 10)).expect("open");
    let first_epoch = spool.epoch();
    let mut at_first_drop = None;
    for i in 0..200 {
        spool.append(&[(i as i64, state_change(i))]).expect("append");
        if at_first_drop.is_none() && spool.stats().dropped_events > 0 {
            // Everything still queued when events first had to go had lost its perfdata already,
            // except what was appended after that pass (the overflow report, nothing else).
            at_first_drop = Some(peek(&spool));
        }
    }
    let queued = at_first_drop.expect("200 events overflow 8 KiB");
    let changes = perfdata(&queued);
    assert!(!changes.is_empty());
    assert!(changes.iter().all(|(_, empty)| *empty), "an event was dropped while perfdata was left: {changes:?}");
    assert_ne!(spool.epoch(), first_epoch, "a drop begins a new epoch");

    let stats = spool.stats();
    let events = peek(&spool);
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "the new epoch starts at 1 with no gap");
    // Oldest first: the kept state changes are exactly the newest ones, in order.
    let kept: Vec<i64> =
        events.iter().filter(|e| matches!(e.kind, EventKind::StateChange(_))).map(|e| e.time).collect();
    assert!(!kept.is_empty());
    assert_eq!(kept, (200 - kept.len() as i64..200).collect::<Vec<_>>());
    // The drops counted include earlier overflow reports that were dropped in turn.
    assert!(kept.len() as u64 + stats.dropped_events >= 200, "{stats:?}");
    // The reports in this epoch cover the drops that began it; the ledger counts everything.
    assert!(reported(&events).dropped_events > 0);
    assert!(stats.perfdata_stripped >= 1);
    assert!(stats.bytes <= (8 << 10) + 2048, "{stats:?}");
}

#[test]
fn an_interrupted_rewrite_leaves_the_segment_intact_and_its_temp_file_is_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg(u64::MAX)).expect("open");
    for i in 0..20 {
        spool.append(&[(i as i64, state_change(i))]).expect("append");
    }
    drop(spool);
    // A crash between writing `<segment>.strip` and renaming it over the segment.
    let seg_dir = dir.path().join("segments");
    let mut segs: Vec<_> = fs::read_dir(&seg_dir).expect("ls").map(|e| e.expect("entry").path()).collect();
    segs.sort();
    let mut temp = segs[0].as_os_str().to_owned();
    temp.push(".strip");
    fs::write(&temp, b"half a rewrite").expect("write temp");

    let (spool, recoveries) = Spool::open(dir.path(), cfg(u64::MAX)).expect("reopen");
    assert!(recoveries.is_empty(), "{recoveries:?}");
    assert!(!std::path::Path::new(&temp).exists(), "leftover removed");
    let changes = perfdata(&peek(&spool));
    assert_eq!(changes.len(), 20);
    assert!(changes.iter().all(|(_, empty)| !empty), "nothing was stripped");
}
