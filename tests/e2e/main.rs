//! End-to-end tests across both programs.

mod noc_crash;
mod delivery_support;
mod delivery_faults;
mod delivery_spool;
mod delivery_tls;
mod snmp_traps;
