//! The hand-off between producers of events (check engine, operator commands, trap receiver)
//! and the durable spool.
//!
//! A producer calls [`EventSink::emit`] and gets back the event's sequence number only once the
//! spool has appended and fsynced it (group commit): an event "counts as produced" only then.
//! The spool side drains [`EventSinkReceiver`], assigns sequence numbers in order, writes, syncs,
//! and answers every waiting producer.

use outpost_format::{EventKind, UnixMillis};
use tokio::sync::{mpsc, oneshot};

/// An event before the spool has given it a sequence number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// When it happened, by the satellite's clock.
    pub time: UnixMillis,
    pub kind: EventKind,
}

/// One pending append: the event and where to send its sequence number once it is durable, or why the
/// spool could not write it.
pub type Pending = (NewEvent, oneshot::Sender<Result<u64, String>>);

/// Cheap to clone; every producer holds one.
#[derive(Clone, Debug)]
pub struct EventSink {
    tx: mpsc::Sender<Pending>,
}

/// The spool's end of the channel.
pub type EventSinkReceiver = mpsc::Receiver<Pending>;

/// Why an event was not recorded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmitError {
    /// The spool writer is gone (the satellite is stopping).
    #[error("the event spool has shut down; the event was not recorded")]
    Closed,
    /// The spool could not append it (disk full, I/O error).
    #[error(
        "the event spool could not write the event ({0}); it was not recorded: check free space and permissions \
         of the spool directory"
    )]
    Write(String),
}

/// Bounded, so a slow disk pushes back on producers instead of growing memory.
pub const SINK_CAPACITY: usize = 4096;

impl EventSink {
    pub fn channel() -> (EventSink, EventSinkReceiver) {
        let (tx, rx) = mpsc::channel(SINK_CAPACITY);
        (EventSink { tx }, rx)
    }

    /// Records an event durably and returns its sequence number.
    ///
    /// # Cancel safety
    /// Not cancel safe in the sense that matters: if the future is dropped after the event was
    /// queued, the event is still written, but the caller never learns its seq.
    pub async fn emit(&self, time: UnixMillis, kind: EventKind) -> Result<u64, EmitError> {
        let (done_tx, done_rx) = oneshot::channel();
        self.tx.send((NewEvent { time, kind }, done_tx)).await.map_err(|_| EmitError::Closed)?;
        done_rx.await.map_err(|_| EmitError::Closed)?.map_err(EmitError::Write)
    }

    /// A sink that records nothing durably: it numbers events and hands them to the returned receiver.
    /// For tests and for `check-config`-style dry runs.
    pub fn in_memory() -> (EventSink, mpsc::UnboundedReceiver<outpost_format::Event>) {
        let (sink, mut rx) = EventSink::channel();
        let (out_tx, out_rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut seq = 0u64;
            while let Some((ev, done)) = rx.recv().await {
                seq += 1;
                let _ = out_tx.send(outpost_format::Event { seq, time: ev.time, kind: ev.kind });
                let _ = done.send(Ok(seq));
            }
        });
        (sink, out_rx)
    }
}
