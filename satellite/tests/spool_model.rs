//! The spool against an in-memory model: any sequence of appends, reads, acks and reopens
//! delivers every unacknowledged event exactly once, in order, with its original time.

use std::collections::VecDeque;

use outpost_format::EventKind;
use outpost_format::event::Lifecycle;
use outpost_satellite::spool::{Spool, SpoolConfig};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Append(usize),
    /// Acknowledge this many of the events read so far (clamped).
    Ack(usize),
    Read(usize),
    Reopen,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (1usize..40).prop_map(Op::Append),
        2 => (0usize..60).prop_map(Op::Ack),
        3 => (1usize..50).prop_map(Op::Read),
        1 => Just(Op::Reopen),
    ]
}

fn cfg() -> SpoolConfig {
    // Tiny segments so that rolling and reclaiming happen within a few dozen events; no fsync for speed.
    SpoolConfig { max_bytes: u64::MAX, max_age: None, segment_bytes: 512, fsync: false }
}

fn kind(i: u64) -> EventKind {
    EventKind::Lifecycle(Lifecycle::ConfigChanged { added: i as u32, changed: 0, removed: 0 })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn spool_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        let dir = tempfile::tempdir().expect("tempdir");
        let (mut spool, _) = Spool::open(dir.path(), cfg()).expect("open");
        let epoch = spool.epoch();
        // Model: unacked events (wire seq, time, kind) in order; the read cursor; the next seq.
        let mut unacked: VecDeque<(u64, i64, EventKind)> = VecDeque::new();
        let mut next = 1u64;
        let mut cursor = 0u64; // spool seq to read next (0 = from the acked position)
        let mut read_upto = 0u64; // highest wire seq returned by a read
        let mut acked = 0u64;
        let mut n_made = 0u64;
        for op in ops {
            match op {
                Op::Append(n) => {
                    let evs: Vec<_> = (0..n).map(|_| { n_made += 1; (1000 + n_made as i64, kind(n_made)) }).collect();
                    let seqs = spool.append(&evs).expect("append");
                    let want: Vec<u64> = (next..next + n as u64).collect();
                    prop_assert_eq!(&seqs, &want);
                    for (s, (t, k)) in seqs.iter().zip(evs) { unacked.push_back((*s, t, k)); }
                    next += n as u64;
                }
                Op::Read(n) => {
                    let batch = spool.read(cursor, n, usize::MAX).expect("read");
                    prop_assert_eq!(batch.epoch, epoch);
                    let start = read_upto.max(acked);
                    let want: Vec<_> = unacked.iter().filter(|e| e.0 > start).take(batch.events.len()).cloned().collect();
                    let got: Vec<_> = batch.events.iter().map(|e| (e.seq, e.time, e.kind.clone())).collect();
                    prop_assert_eq!(got, want);
                    // A read returns something whenever something is unread (it may stop at a segment end).
                    prop_assert!(!batch.events.is_empty() || unacked.iter().all(|e| e.0 <= start));
                    if let Some(last) = batch.events.last() { read_upto = last.seq; }
                    cursor = batch.next_spool_seq;
                }
                Op::Ack(k) => {
                    let target = (acked + k as u64).min(read_upto);
                    spool.ack_events(epoch, target).expect("ack");
                    while unacked.front().is_some_and(|e| e.0 <= target) { unacked.pop_front(); }
                    acked = acked.max(target);
                }
                Op::Reopen => {
                    drop(spool);
                    let (s, rec) = Spool::open(dir.path(), cfg()).expect("reopen");
                    prop_assert!(rec.is_empty(), "clean reopen needed repairs: {rec:?}");
                    spool = s;
                    prop_assert_eq!(spool.epoch(), epoch);
                    cursor = 0;
                    read_upto = acked;
                }
            }
            let stats = spool.stats();
            prop_assert_eq!(stats.pending_events, unacked.len() as u64);
            prop_assert_eq!(stats.acked_seq, acked);
        }
        // Drain: everything unacked comes out in order.
        let mut got = Vec::new();
        let mut from = 0;
        loop {
            let b = spool.read(from, 1000, usize::MAX).expect("read");
            if b.events.is_empty() { break; }
            from = b.next_spool_seq;
            got.extend(b.events.into_iter().map(|e| e.seq));
        }
        let want: Vec<u64> = unacked.iter().map(|e| e.0).collect();
        prop_assert_eq!(got, want);
    }
}
