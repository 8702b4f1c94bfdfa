//! The group-commit writer: drains the [`EventSinkReceiver`], appends, fsyncs once per batch, answers producers.
//!
//! A dedicated OS thread rather than a tokio task, because every batch ends in a blocking fsync.
//! Whatever queued up while the previous fsync ran becomes the next batch, so under load one fsync
//! covers many events, and when idle an event waits for exactly one fsync.

use std::sync::Arc;
use std::thread::JoinHandle;

use crate::outbox::{EventSinkReceiver, Pending};

use super::Spool;

/// Most events committed under one fsync; bounds the batch's memory.
const MAX_GROUP: usize = 4096;

/// Join it to know the writer has drained its channel (all producers dropped their sinks).
pub struct WriterHandle {
    thread: Option<JoinHandle<()>>,
}

impl WriterHandle {
    /// Blocks until the writer has answered everything queued and exited.
    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Starts the writer thread. It stops when every [`crate::outbox::EventSink`] is dropped.
pub fn spawn_writer(spool: Arc<Spool>, mut rx: EventSinkReceiver) -> WriterHandle {
    let thread = std::thread::Builder::new()
        .name("spool-writer".into())
        .spawn(move || {
            let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
            while let Some(first) = rx.blocking_recv() {
                group.push(first);
                while group.len() < MAX_GROUP {
                    match rx.try_recv() {
                        Ok(p) => group.push(p),
                        Err(_) => break,
                    }
                }
                let events: Vec<_> = group.iter().map(|(ev, _)| (ev.time, ev.kind.clone())).collect();
                match spool.append(&events) {
                    Ok(seqs) => {
                        for ((_, done), seq) in group.drain(..).zip(seqs) {
                            let _ = done.send(seq);
                        }
                    }
                    Err(e) => {
                        // Dropping the senders tells each producer its event was not recorded.
                        tracing::error!(error = %e, n_events = group.len(), "spool append failed; events not recorded");
                        group.clear();
                    }
                }
            }
        })
        .expect("spawn the spool writer thread");
    WriterHandle { thread: Some(thread) }
}
