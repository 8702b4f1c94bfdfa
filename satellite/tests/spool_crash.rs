//! Crash, corruption and budget scenarios for the spool, each named after what happens.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use outpost_format::EventKind;
use outpost_format::event::Lifecycle;
use outpost_satellite::spool::{Recovery, Spool, SpoolConfig, SpoolError};

mod spool_support;
use spool_support::drain;

fn cfg() -> SpoolConfig {
    SpoolConfig { max_bytes: u64::MAX, max_age: None, segment_bytes: 1024, fsync: true }
}

fn kind(i: u32) -> EventKind {
    EventKind::Lifecycle(Lifecycle::ConfigChanged { added: i, changed: 0, removed: 0 })
}

fn append_n(spool: &Spool, from: u32, n: u32) -> Vec<u64> {
    let evs: Vec<_> = (from..from + n).map(|i| (i64::from(i), kind(i))).collect();
    spool.append(&evs).expect("append")
}

fn segments(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = fs::read_dir(dir.join("segments")).expect("ls").map(|e| e.expect("entry").path()).collect();
    v.sort();
    v
}

#[test]
fn restart_after_torn_write_keeps_every_committed_event() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    append_n(&spool, 1, 5);
    drop(spool);
    // A crash mid-append leaves half a record at the end of the active segment.
    let last = segments(dir.path()).pop().expect("a segment");
    let mut f = OpenOptions::new().append(true).open(&last).expect("open seg");
    f.write_all(&[200, 0, 0, 0, 1, 2, 3, 4, 5, 6]).expect("write torn bytes");
    drop(f);

    let (spool, rec) = Spool::open(dir.path(), cfg()).expect("reopen");
    assert!(matches!(rec.as_slice(), [Recovery::TornTailTruncated { cut_bytes: 10, .. }]), "{rec:?}");
    let got: Vec<u64> = drain(&spool).iter().map(|e| e.seq).collect();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    // New appends continue the sequence without reusing a seq.
    assert_eq!(append_n(&spool, 6, 1), vec![6]);
}

#[test]
fn restart_after_torn_write_keeps_acked_seq() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    append_n(&spool, 1, 8);
    let epoch = spool.epoch();
    assert!(spool.ack_events(epoch, 3).expect("ack"));
    drop(spool);
    let last = segments(dir.path()).pop().expect("a segment");
    let len = fs::metadata(&last).expect("meta").len();
    OpenOptions::new().write(true).open(&last).expect("open").set_len(len - 3).expect("tear the last record");

    let (spool, _) = Spool::open(dir.path(), cfg()).expect("reopen");
    assert_eq!(spool.stats().acked_seq, 3);
    let got = drain(&spool);
    let seqs: Vec<u64> = got.iter().map(|e| e.seq).collect();
    // The ledger had recorded seq 8 as committed, so its loss is reported, not silently forgotten,
    // and the seq is not reused for a different event.
    assert_eq!(seqs, vec![4, 5, 6, 7, 8]);
    assert!(matches!(got[4].kind, EventKind::Lifecycle(Lifecycle::SpoolCorruption { .. })));
    assert_eq!(append_n(&spool, 9, 1), vec![9]);
}

#[test]
fn corrupt_sealed_segment_is_quarantined_and_later_events_still_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    for i in 0..40 {
        append_n(&spool, i * 3, 3);
    }
    let total = spool.stats().next_seq - 1;
    drop(spool);
    let segs = segments(dir.path());
    assert!(segs.len() >= 3, "want several segments, got {}", segs.len());
    // Flip a byte in the middle of the second segment.
    let victim = &segs[1];
    let mut bytes = fs::read(victim).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    fs::write(victim, bytes).expect("write");

    let (spool, rec) = Spool::open(dir.path(), cfg()).expect("reopen");
    let placeholders = match rec.as_slice() {
        [Recovery::SegmentQuarantined { placeholder_events, lost_bytes, .. }] => {
            assert!(*lost_bytes > 0);
            *placeholder_events
        }
        other => panic!("expected one quarantine, got {other:?}"),
    };
    assert!(placeholders > 0);
    assert_eq!(fs::read_dir(dir.path().join("quarantine")).expect("ls").count(), 1);
    let events = drain(&spool);
    // Every seq is still there, in order, with no gap: lost records became SpoolCorruption events.
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    let n_corrupt =
        events.iter().filter(|e| matches!(e.kind, EventKind::Lifecycle(Lifecycle::SpoolCorruption { .. }))).count()
            as u64;
    assert_eq!(n_corrupt, placeholders);
    // Events after the damage kept their content.
    assert_eq!(events.last().map(|e| e.kind.clone()), Some(kind(119)));
    assert_eq!(spool.stats().quarantined_segments, 1);
}

#[test]
fn full_spool_drops_oldest_events_starts_new_epoch_and_reports_overflow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = SpoolConfig { max_bytes: 4096, max_age: None, segment_bytes: 1024, fsync: false };
    let (spool, _) = Spool::open(dir.path(), cfg).expect("open");
    let first_epoch = spool.epoch();
    for i in 0..100 {
        append_n(&spool, i, 1);
    }
    let stats = spool.stats();
    assert!(stats.bytes <= 4096 + 1024, "budget exceeded: {}", stats.bytes);
    assert!(stats.dropped_events > 0);
    assert_ne!(spool.epoch(), first_epoch, "a drop begins a new epoch");
    let events = drain(&spool);
    // Wire seqs in the new epoch start at 1 and have no gaps.
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
    let reported: u64 = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Lifecycle(Lifecycle::SpoolOverflow { dropped_events, .. }) => Some(*dropped_events),
            _ => None,
        })
        .sum();
    assert!(reported > 0, "the drop is reported in the stream");
    // The newest event survived; dropped + kept (minus reports) accounts for all 100.
    let kept = events.iter().filter(|e| matches!(e.kind, EventKind::Lifecycle(Lifecycle::ConfigChanged { .. }))).count()
        as u64;
    assert_eq!(
        events
            .iter()
            .rev()
            .find(|e| matches!(e.kind, EventKind::Lifecycle(Lifecycle::ConfigChanged { .. })))
            .map(|e| e.kind.clone()),
        Some(kind(99))
    );
    assert!(kept + stats.dropped_events >= 100);
}

#[test]
fn pending_snapshot_gives_way_before_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = SpoolConfig { max_bytes: 3000, max_age: None, segment_bytes: 1024, fsync: false };
    let (spool, _) = Spool::open(dir.path(), cfg).expect("open");
    let mut snap = outpost_format::Snapshot { location: "FRA1".into(), taken_at: 5, ..Default::default() };
    for i in 0..20 {
        snap.objects.insert(outpost_format::ObjectKey::host(format!("host-{i}")), Default::default());
    }
    spool.put_snapshot(&snap).expect("put");
    let epoch = spool.epoch();
    for i in 0..60 {
        append_n(&spool, i, 1);
    }
    let stats = spool.stats();
    assert_eq!(stats.pending_snapshots, 0, "the snapshot went first");
    assert_eq!(stats.dropped_snapshots, 1);
    if stats.dropped_events == 0 {
        assert_eq!(spool.epoch(), epoch, "no events lost: same epoch");
    }
}

#[test]
fn acked_segments_are_deleted_and_unacked_ones_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    for i in 0..30 {
        append_n(&spool, i * 2, 2);
    }
    let n_before = segments(dir.path()).len();
    assert!(n_before > 2);
    let b = spool.read(0, 30, usize::MAX).expect("read");
    spool.ack_events(spool.epoch(), b.events.last().expect("some").seq).expect("ack");
    let n_after = segments(dir.path()).len();
    assert!(n_after < n_before, "acked segments reclaimed");
    let rest: Vec<u64> = drain(&spool).iter().map(|e| e.seq).collect();
    assert_eq!(rest.first().copied(), Some(b.events.last().expect("some").seq + 1));
    // An ack from another epoch moves nothing.
    assert!(!spool.ack_events(spool.epoch() ^ 1, 60).expect("ack"));
}

#[test]
fn second_opener_is_refused_while_the_spool_is_held() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    assert!(matches!(Spool::open(dir.path(), cfg()), Err(SpoolError::Locked(_))));
    drop(spool);
    Spool::open(dir.path(), cfg()).expect("open after release");
}

#[test]
fn damaged_ledger_starts_a_new_epoch_and_resends_what_is_spooled() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    append_n(&spool, 1, 4);
    let epoch = spool.epoch();
    drop(spool);
    fs::write(dir.path().join("ledger"), b"garbage").expect("write");
    let (spool, rec) = Spool::open(dir.path(), cfg()).expect("reopen");
    assert!(matches!(rec.as_slice(), [Recovery::LedgerRebuilt { .. }]), "{rec:?}");
    assert_ne!(spool.epoch(), epoch);
    assert_eq!(drain(&spool).iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3, 4]);
}

#[test]
fn snapshot_frame_is_resent_identically_until_acked_then_deltas_follow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    let mut snap = outpost_format::Snapshot { location: "FRA1".into(), taken_at: 1, ..Default::default() };
    snap.objects.insert(outpost_format::ObjectKey::host("a"), Default::default());
    spool.put_snapshot(&snap).expect("put");
    let f1 = spool.next_snapshot_frame("FRA1", 10).expect("frame").expect("some");
    assert!(f1.full);
    assert_eq!(f1.seq, 1);
    // A newer snapshot while the first is in flight does not change what is resent.
    snap.taken_at = 2;
    spool.put_snapshot(&snap).expect("put");
    drop(spool);
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("reopen");
    let again = spool.next_snapshot_frame("FRA1", 10).expect("frame").expect("some");
    assert_eq!(again.bytes, f1.bytes);
    assert!(spool.ack_snapshots(spool.epoch(), 1).expect("ack"));
    let f2 = spool.next_snapshot_frame("FRA1", 10).expect("frame").expect("some");
    assert_eq!((f2.seq, f2.full, f2.taken_at), (2, false, 2));
    // The NOC lost our base: the delta is withdrawn and a full one goes instead.
    spool.request_full_snapshot().expect("request");
    let f3 = spool.next_snapshot_frame("FRA1", 10).expect("frame").expect("some");
    assert_eq!((f3.seq, f3.full, f3.taken_at), (2, true, 2));
}

#[test]
fn a_delta_made_from_the_stored_slots_turns_the_acked_snapshot_into_the_pending_one() {
    use outpost_format::frame::{Frame, Limits, Payload};
    use outpost_format::sitegen;
    let dir = tempfile::tempdir().expect("tempdir");
    let (spool, _) = Spool::open(dir.path(), cfg()).expect("open");
    let first = sitegen::site(300, 7);
    spool.put_snapshot(&first).expect("put");
    let full = spool.next_snapshot_frame(&first.location, 10).expect("frame").expect("some");
    let decoded = Frame::decode(&full.bytes, &Limits::default()).expect("decodes");
    assert_eq!(decoded.payload, Payload::Full(first.clone()), "a full frame carries the snapshot as taken");
    assert!(spool.ack_snapshots(spool.epoch(), full.seq).expect("ack"));
    let mut second = sitegen::change_states(&sitegen::change_perf_values(&sitegen::recheck(&first, 60_000), 3), 0.1, 4);
    let first_key = second.objects.keys().next().cloned().expect("objects");
    second.objects.remove(&first_key);
    second.objects.insert(outpost_format::ObjectKey::host("zz-new"), Default::default());
    spool.put_snapshot(&second).expect("put");
    let frame = spool.next_snapshot_frame(&first.location, 10).expect("frame").expect("some");
    assert!(!frame.full);
    let Payload::Delta(delta) = Frame::decode(&frame.bytes, &Limits::default()).expect("decodes").payload else {
        panic!("expected a delta frame");
    };
    assert_eq!(
        delta,
        outpost_format::delta::make(&first, full.seq, &second),
        "the same delta as from decoded snapshots"
    );
    assert_eq!(outpost_format::delta::apply(&first, &delta), Ok(second));
}

#[test]
fn reader_returns_a_record_larger_than_its_read_chunk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = SpoolConfig { max_bytes: u64::MAX, max_age: None, segment_bytes: 8 << 20, fsync: false };
    let (spool, _) = Spool::open(dir.path(), cfg).expect("open");
    let big = EventKind::Lifecycle(Lifecycle::SpoolCorruption { segment: "x".repeat(300_000), lost_bytes: 1 });
    spool.append(&[(1, kind(1)), (2, big.clone()), (3, kind(3))]).expect("append");
    let mut got = Vec::new();
    let mut from = 0;
    loop {
        let b = spool.read(from, 10, 1024).expect("read");
        if b.events.is_empty() {
            break;
        }
        from = b.next_spool_seq;
        got.extend(b.events);
    }
    assert_eq!(got.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(got[1].kind, big);
}
