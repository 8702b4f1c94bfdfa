//! `satellite`: runs Nagios-plugin checks at a site and ships state and events to the NOC.

use clap::Parser;

/// Outpost satellite: schedules and runs Nagios-compatible checks locally and ships state and events to the NOC.
#[derive(Parser)]
#[command(version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
