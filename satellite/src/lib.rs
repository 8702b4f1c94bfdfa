//! The satellite: check engine, durable spool, sender, trap receiver.
//! `main.rs` only parses arguments and calls into these modules.

pub mod check;
pub mod config;
pub mod control;
pub mod daemon;
mod durable;
pub mod engine;
#[doc(hidden)]
pub mod fuzzing;
pub mod metrics;
pub mod oneshot;
pub mod outbox;
pub mod scheduler;
pub mod sender;
pub mod ship;
pub mod snapshot_blob;
pub mod spool;
pub mod state;
pub mod traps;
