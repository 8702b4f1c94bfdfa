//! End-to-end tests across both programs.

mod cli_docs;
mod delivery_faults;
mod delivery_order;
mod delivery_spool;
mod delivery_support;
mod delivery_tls;
mod noc_backup;
mod noc_crash;
mod security_matrix;
mod snmp_northbound;
mod snmp_traps;
mod soak_short;
