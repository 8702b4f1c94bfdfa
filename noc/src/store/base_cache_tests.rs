//! The base cache must never change what the store ends up holding: deltas applied with the cache, without
//! it, after a restart (empty cache) and past a stale entry all leave the same objects and base.

use std::sync::Arc;

use outpost_format::frame::Payload;
use outpost_format::model::{Object, ObjectKey, Snapshot};
use outpost_format::{Frame, delta};

use super::apply::{Disposition, FrameMeta};
use super::{ObjectRow, Store, StoreOptions};

fn site(round: u64, n_services: usize) -> Snapshot {
    let mut objects = std::collections::BTreeMap::new();
    objects.insert(ObjectKey::host("web01"), Object::default());
    // Each round one service is gone and a new one appears, and one changes state.
    for i in round as usize..round as usize + n_services {
        let mut o = Object::default();
        o.status.state = if i as u64 == round + 1 { 2 } else { 0 };
        o.status.output = format!("round {round} svc {i}").into();
        o.status.last_check = 1_700_000_000_000 + round as i64 * 60_000;
        objects.insert(ObjectKey::service("web01", format!("svc{i:03}")), o);
    }
    Snapshot { location: "FRA1".into(), taken_at: 1_700_000_000_000 + round as i64 * 60_000, objects }
}

fn frame(seq: u64, payload: Payload) -> Frame {
    Frame { location: "FRA1".into(), epoch: 7, seq, payload }
}

fn meta() -> FrameMeta {
    FrameMeta { received_at: super::now_ms(), ..Default::default() }
}

/// Applies `frame` and asserts it was applied without asking for a full snapshot.
async fn apply_ok(store: &Store, frame: Frame) {
    let seq = frame.seq;
    let outcome = store.apply_frame(frame, meta()).await.expect("apply");
    assert!(matches!(outcome.disposition, Disposition::Applied), "seq {seq}: {:?}", outcome.ack);
    assert!(outcome.ack.requests.is_empty(), "seq {seq}: {:?}", outcome.ack);
}

fn open(dir: &std::path::Path, cache_bytes: u64) -> Store {
    Store::open(&dir.join("noc.db"), StoreOptions { base_cache_bytes: cache_bytes, ..Default::default() })
        .expect("open store")
}

/// Full snapshot at seq 1, then deltas for rounds 1..=rounds; returns the objects and base afterwards.
async fn run(store: &Store, rounds: u64) -> (Vec<ObjectRow>, Option<Snapshot>) {
    apply_ok(store, frame(1, Payload::Full(site(0, 20)))).await;
    for round in 1..=rounds {
        let d = delta::make(&site(round - 1, 20), round, &site(round, 20));
        apply_ok(store, frame(round + 1, Payload::Delta(d))).await;
    }
    (store.all_objects().expect("objects"), store.base_snapshot("FRA1").expect("base"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_leave_the_same_state_with_and_without_the_cache() {
    let (off, on) = (tempfile::tempdir().expect("tempdir"), tempfile::tempdir().expect("tempdir"));
    let without = open(off.path(), 0);
    let with = open(on.path(), 64 << 20);
    let want = run(&without, 4).await;
    let got = run(&with, 4).await;
    assert_eq!(got, want);
    assert_eq!(got.1.as_ref(), Some(&site(4, 20)));
    assert_eq!(got.0.len(), 21);
    assert_eq!(without.inner.bases.usage().0, 0, "a zero budget caches nothing");
    assert_eq!(with.inner.bases.usage().0, 1, "the cache holds FRA1's base");
    without.shutdown();
    with.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_with_an_empty_cache_applies_the_next_delta_against_the_stored_base() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), 64 << 20);
    run(&store, 2).await;
    store.shutdown();
    drop(store);
    let store = open(dir.path(), 64 << 20);
    assert_eq!(store.inner.bases.usage().0, 0);
    let d = delta::make(&site(2, 20), 3, &site(3, 20));
    apply_ok(&store, frame(4, Payload::Delta(d))).await;
    assert_eq!(store.base_snapshot("FRA1").expect("base"), Some(site(3, 20)));
    store.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cache_entry_for_another_base_is_not_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), 64 << 20);
    run(&store, 1).await;
    // An entry whose identity differs from the stored base (seq 2): as if left from an older base.
    let bogus = Arc::new(site(9, 3));
    assert!(store.inner.bases.insert("FRA1", (1, [0; 32]), bogus, 1000));
    let d = delta::make(&site(1, 20), 2, &site(2, 20));
    apply_ok(&store, frame(3, Payload::Delta(d))).await;
    assert_eq!(store.base_snapshot("FRA1").expect("base"), Some(site(2, 20)));
    let names: Vec<String> = store.all_objects().expect("objects").into_iter().map(|o| o.name).collect();
    assert!(names.contains(&"FRA1_web01/svc021".to_string()) && !names.contains(&"FRA1_web01/svc001".to_string()));
    store.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delta_refused_for_its_base_does_not_touch_the_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open(dir.path(), 64 << 20);
    run(&store, 1).await;
    // A delta against a base the NOC does not hold: refused with a request for a full snapshot.
    let d = delta::make(&site(5, 20), 5, &site(6, 20));
    let outcome = store.apply_frame(frame(3, Payload::Delta(d)), meta()).await.expect("apply");
    assert!(matches!(outcome.disposition, Disposition::NeedFullSnapshot), "{:?}", outcome.ack);
    // The cached base is still the stored one: the right delta applies.
    let d = delta::make(&site(1, 20), 2, &site(2, 20));
    apply_ok(&store, frame(3, Payload::Delta(d))).await;
    assert_eq!(store.base_snapshot("FRA1").expect("base"), Some(site(2, 20)));
    store.shutdown();
}
