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
                            let _ = done.send(Ok(seq));
                        }
                    }
                    Err(e) => {
                        // Each producer learns why its event was not recorded.
                        tracing::error!(error = %e, n_events = group.len(), "spool append failed; events not recorded");
                        let why = e.to_string();
                        for (_, done) in group.drain(..) {
                            let _ = done.send(Err(why.clone()));
                        }
                    }
                }
            }
        })
        .expect("spawn the spool writer thread");
    WriterHandle { thread: Some(thread) }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use outpost_format::EventKind;
    use outpost_format::event::Lifecycle;

    use super::spawn_writer;
    use crate::outbox::{EmitError, EventSink};
    use crate::spool::{Spool, SpoolConfig};

    #[tokio::test]
    async fn a_failed_append_tells_the_producer_why() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool_dir = dir.path().join("spool");
        // Tiny segments: every append opens a new segment file, which fails once the directory is gone.
        let cfg = SpoolConfig { max_bytes: 1 << 20, max_age: None, segment_bytes: 1, fsync: false };
        let spool = Arc::new(Spool::open(&spool_dir, cfg).expect("open spool").0);
        let (sink, rx) = EventSink::channel();
        let writer = spawn_writer(spool, rx);
        let event = || EventKind::Lifecycle(Lifecycle::Stopping);
        assert!(sink.emit(1, event()).await.is_ok(), "a healthy spool records the event");

        std::fs::remove_dir_all(&spool_dir).expect("remove the spool directory");
        match sink.emit(2, event()).await {
            Err(EmitError::Write(why)) => assert!(why.contains("spool"), "the error names the spool: {why}"),
            other => panic!("expected a write error, got {other:?}"),
        }
        let text = EmitError::Write("disk full".into()).to_string();
        assert!(text.contains("disk full") && text.contains("check free space"), "{text}");

        drop(sink);
        tokio::task::spawn_blocking(move || writer.join()).await.expect("writer thread");
        let closed = EventSink::channel().0;
        assert_eq!(closed.emit(3, event()).await, Err(EmitError::Closed), "no writer: closed");
    }
}
