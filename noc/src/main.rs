//! `noc`: the NOC ingest daemon and its operator CLI.

use clap::Parser;

/// Outpost NOC: authenticates satellites, applies their snapshots and events, and serves operators.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
