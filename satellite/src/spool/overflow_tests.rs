//! Overflow reports: however many times a long outage makes the spool drop data, the reports that survive
//! add up to everything dropped, so the NOC learns the whole loss (found by the chaos soak, scripts/soak).

use outpost_format::EventKind;
use outpost_format::event::Lifecycle;

use super::{Spool, SpoolConfig};

fn tiny(dir: &std::path::Path) -> Spool {
    let cfg = SpoolConfig { max_bytes: 16 << 10, max_age: None, segment_bytes: 2 << 10, fsync: false };
    Spool::open(dir, cfg).expect("open spool").0
}

/// Every unacknowledged event, as the sender would read them (a read stops at a segment's end).
fn pending(spool: &Spool) -> Vec<outpost_format::Event> {
    let (mut from, mut out) = (0, Vec::new());
    loop {
        let batch = spool.read(from, 1_000_000, 1 << 30).expect("read");
        if batch.events.is_empty() {
            return out;
        }
        from = batch.next_spool_seq;
        out.extend(batch.events);
    }
}

/// Sum of `dropped_events` over the SpoolOverflow reports still waiting to be sent.
fn reported_drops(spool: &Spool) -> u64 {
    pending(spool)
        .iter()
        .map(|e| match e.kind {
            EventKind::Lifecycle(Lifecycle::SpoolOverflow { dropped_events, .. }) => dropped_events,
            _ => 0,
        })
        .sum()
}

#[test]
fn reports_dropped_by_later_drops_are_carried_into_the_next_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = tiny(dir.path());
    // No NOC: nothing is ever acknowledged, and the budget drops segment after segment (and earlier reports).
    for i in 0..400 {
        let events: Vec<_> = (0..10).map(|j| (i * 10 + j, EventKind::Lifecycle(Lifecycle::NocDisconnected))).collect();
        spool.append(&events).expect("append");
    }
    let stats = spool.stats();
    assert!(stats.dropped_events > 1000, "the budget dropped many times: {stats:?}");
    assert_eq!(reported_drops(&spool), stats.dropped_events, "the surviving reports account for every drop");
    // The carried counts survive a restart (they live in the ledger).
    drop(spool);
    let spool = tiny(dir.path());
    for i in 0..100 {
        spool.append(&[(i, EventKind::Lifecycle(Lifecycle::NocDisconnected))]).expect("append");
    }
    assert_eq!(reported_drops(&spool), spool.stats().dropped_events);
}

#[test]
fn an_acknowledged_report_is_not_counted_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = tiny(dir.path());
    for i in 0..100 {
        let events: Vec<_> = (0..10).map(|j| (i * 10 + j, EventKind::Lifecycle(Lifecycle::NocDisconnected))).collect();
        spool.append(&events).expect("append");
    }
    let first = spool.stats().dropped_events;
    assert!(first > 0);
    // The NOC acknowledges everything so far, reports included; later drops report only what they drop.
    let last = pending(&spool).last().expect("events").seq;
    spool.ack_events(spool.stats().epoch, last).expect("ack");
    for i in 0..100 {
        let events: Vec<_> = (0..10).map(|j| (i * 10 + j, EventKind::Lifecycle(Lifecycle::NocDisconnected))).collect();
        spool.append(&events).expect("append");
    }
    assert_eq!(reported_drops(&spool), spool.stats().dropped_events - first);
}
