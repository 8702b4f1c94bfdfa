//! `noc`: the NOC ingest daemon and its operator CLI. Parses arguments and hands over to `commands`.

use clap::Parser;

fn main() {
    let cli = outpost_noc::commands::Cli::parse();
    if let Err(err) = outpost_noc::commands::run(cli) {
        eprintln!("noc: {err:#}");
        std::process::exit(1);
    }
}
