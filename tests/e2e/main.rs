//! End-to-end tests across both programs.

mod delivery_support;
mod delivery_faults;
mod delivery_spool;
