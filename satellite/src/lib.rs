//! The satellite: check engine, durable spool, sender, trap receiver.
//! `main.rs` only parses arguments and calls into these modules.

pub mod outbox;
pub mod sender;
pub mod ship;
pub mod spool;
pub mod traps;
