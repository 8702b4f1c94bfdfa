//! `noc`: the NOC ingest daemon and its operator CLI. Parses arguments and hands over to `commands`.

use clap::Parser;

/// mimalloc instead of glibc malloc: decoding a large snapshot allocates and frees tens of megabytes per
/// frame, and glibc returned that memory to the kernel after each frame only to fault it back in for the
/// next (395,000 page faults for eight 100,000-service decodes, about 40% of their time in the kernel);
/// mimalloc keeps and reuses it (5,700). See docs/benchmarks.md, "Wire format".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = outpost_noc::commands::Cli::parse();
    if let Err(err) = outpost_noc::commands::run(cli) {
        eprintln!("noc: {err:#}");
        std::process::exit(1);
    }
}
