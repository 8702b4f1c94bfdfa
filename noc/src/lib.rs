//! The NOC ingest daemon: ingest, store, operator API, web view and northbound sinks.
//! `main.rs` only parses arguments and calls into these modules.

pub mod api;
pub mod commands;
pub mod config;
pub mod connections;
#[doc(hidden)]
pub mod fuzzing;
pub mod inbox;
pub mod ingest;
pub mod metrics;
pub mod server;
pub mod sinks;
pub mod state;
pub mod store;
pub mod web;
