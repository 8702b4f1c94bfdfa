//! The NOC ingest daemon: ingest, store, operator API, web view and northbound sinks.
//! `main.rs` only parses arguments and calls into these modules.
pub mod web;
