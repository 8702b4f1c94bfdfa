//! Shared helpers for the sink tests: a store in a temp dir fed with frames, and real peers
//! (snmptrapd, in [`snmptrapd`]) started on 127.0.0.1 with their own config in a temp dir.
#![allow(dead_code, unused_imports)]

pub mod events;
pub mod snmptrapd;
pub mod webhook;

use std::collections::BTreeMap;
use std::time::Duration;

pub use events::state_change;
use outpost_format::frame::Payload;
use outpost_format::model::StateType;
use outpost_format::{Event, EventKind, Frame, Object, ObjectKey, Snapshot};
use outpost_noc::store::{FrameMeta, Store, StoreOptions};

/// Hang guard only.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
    epoch: u64,
    /// Per location: last snapshot seq and last event seq (each location's streams start at 1).
    seqs: BTreeMap<String, (u64, u64)>,
}

/// Polls `done` until it holds; panics naming `what` after [`DEADLINE`].
pub async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    tokio::time::timeout(DEADLINE, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for: {what}"));
}

pub fn now_ms() -> i64 {
    outpost_noc::store::now_ms()
}

impl TestStore {
    pub fn new() -> TestStore {
        Self::with_options(StoreOptions::default())
    }

    pub fn with_options(options: StoreOptions) -> TestStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("noc.db"), options).expect("open store");
        TestStore { store, dir, epoch: 42, seqs: BTreeMap::new() }
    }

    async fn apply(&self, frame: Frame) {
        let meta = FrameMeta { received_at: now_ms(), ..FrameMeta::default() };
        self.store.apply_frame(frame, meta).await.expect("frame applies");
    }

    /// A full snapshot of `location` from (host, service, state, output); service "" is a host.
    pub async fn snapshot(&mut self, location: &str, objects: &[(&str, &str, u8, &str)]) {
        let mut map = outpost_format::ObjectMap::new();
        for (host, svc, state, output) in objects {
            let key = if svc.is_empty() { ObjectKey::host(*host) } else { ObjectKey::service(*host, *svc) };
            let mut o = Object::default();
            o.status.state = *state;
            o.status.state_type = StateType::Hard;
            o.status.output = (*output).into();
            o.status.last_check = now_ms();
            o.status.checks_enabled = true;
            map.insert(key, o);
        }
        let seqs = self.seqs.entry(location.to_string()).or_default();
        seqs.0 += 1;
        let seq = seqs.0;
        let snap = Snapshot { location: location.into(), taken_at: now_ms(), objects: map };
        self.apply(Frame { location: location.into(), epoch: self.epoch, seq, payload: Payload::Full(snap) }).await;
    }

    /// Events for `location`, numbered on from the last ones.
    pub async fn events(&mut self, location: &str, kinds: Vec<EventKind>) {
        let seqs = self.seqs.entry(location.to_string()).or_default();
        let events: Vec<Event> = kinds
            .into_iter()
            .map(|kind| {
                seqs.1 += 1;
                Event { seq: seqs.1, time: now_ms(), kind }
            })
            .collect();
        let seq = seqs.1;
        self.apply(Frame { location: location.into(), epoch: self.epoch, seq, payload: Payload::Events(events) }).await;
    }
}
