//! Acknowledgements: visible (and awaited) in memory at once, written to the ledger file later, never lost by a
//! clean close, and never written backwards.

use std::time::Duration;

use outpost_format::EventKind;
use outpost_format::event::Lifecycle;

use super::{Ledger, Spool, SpoolConfig};

fn open(dir: &std::path::Path) -> Spool {
    let cfg = SpoolConfig { fsync: false, ..SpoolConfig::default() };
    Spool::open(dir, cfg).expect("open spool").0
}

fn append(spool: &Spool, n: usize) -> Vec<u64> {
    let events: Vec<_> = (0..n).map(|i| (i as i64, EventKind::Lifecycle(Lifecycle::NocDisconnected))).collect();
    spool.append(&events).expect("append")
}

fn ledger_on_disk(dir: &std::path::Path) -> Ledger {
    Ledger::load(&dir.join("ledger")).expect("ledger readable").expect("ledger present")
}

#[tokio::test]
async fn ack_wakes_waiter_before_the_ledger_file_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = std::sync::Arc::new(open(dir.path()));
    let seqs = append(&spool, 3);
    let target = spool.spool_seq(seqs[1]);
    let waiter = {
        let spool = spool.clone();
        tokio::spawn(async move { spool.wait_acked(target).await })
    };
    assert!(spool.ack_events(spool.epoch(), seqs[1]).expect("ack"));
    // Hang guard only: the waiter must be woken by the ack above.
    tokio::time::timeout(Duration::from_secs(10), waiter).await.expect("waiter woken").expect("waiter task");
    assert_eq!(ledger_on_disk(dir.path()).acked_seq, 0, "the ack is not written inline");
    spool.flush_if_lagging().expect("flush");
    tokio::time::sleep(super::LEDGER_LAG).await;
    spool.flush_if_lagging().expect("flush");
    assert_eq!(ledger_on_disk(dir.path()).acked_seq, target);
}

#[tokio::test]
async fn wait_acked_returns_at_once_when_already_covered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = open(dir.path());
    let seqs = append(&spool, 2);
    spool.ack_events(spool.epoch(), seqs[1]).expect("ack");
    tokio::time::timeout(Duration::from_secs(10), spool.wait_acked(spool.spool_seq(seqs[0])))
        .await
        .expect("no wait for a covered seq");
}

#[test]
fn reopen_after_close_keeps_acked_position() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked = {
        let spool = open(dir.path());
        let seqs = append(&spool, 5);
        spool.ack_events(spool.epoch(), seqs[3]).expect("ack");
        spool.acked_spool_seq()
    };
    let spool = open(dir.path());
    assert_eq!(spool.acked_spool_seq(), acked);
    assert_eq!(spool.stats().pending_events, 1);
}

#[test]
fn flush_never_writes_an_older_state_over_a_newer_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = std::sync::Arc::new(open(dir.path()));
    let seqs = append(&spool, 200);
    let epoch = spool.epoch();
    let flusher = {
        let spool = spool.clone();
        std::thread::spawn(move || {
            for _ in 0..200 {
                spool.flush().expect("flush");
            }
        })
    };
    for &seq in &seqs {
        spool.ack_events(epoch, seq).expect("ack");
        spool.flush().expect("flush");
    }
    flusher.join().expect("flusher thread");
    spool.flush().expect("final flush");
    assert_eq!(ledger_on_disk(dir.path()).acked_seq, spool.acked_spool_seq());
}
