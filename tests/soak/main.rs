//! `soak`: the chaos soak (issue #8). Runs a NOC and several satellites with thousands of flipping services
//! and a trap source while, at seeded random times, it kills processes with kill -9, unplugs, stalls, resets,
//! slows and cuts links, takes the webhook receiver down, fills a spool budget and corrupts a spool segment.
//! Then it verifies state equality, exactly-once delivery per satellite, memory bounds and sink catch-up,
//! prints a summary, and exits 0 only if every check passed. `scripts/soak` builds and runs it; see
//! docs/reliability.md.

mod chaos;
mod cluster;
mod memory;
mod rng;
mod traps;
mod verify;
mod webhook;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use outpost_satellite::spool::SpoolConfig;

use crate::chaos::{Chaos, SMALL_BUDGET_SAT};
use crate::cluster::{Noc, SatPlan, Satellite};
use crate::traps::Counter;

const USAGE: &str = "\
usage: soak [--minutes M] [--seed N] [--satellites S] [--services N] [--check-interval SECS]
            [--flip-period SECS] [--traps-per-sec N] [--max-rss-noc-mib N] [--max-rss-satellite-mib N]
            [--dir DIR] [--keep]

Runs the chaos soak for M minutes of faults (fractions allowed; default 10), then verifies and prints a summary.
Exit status: 0 every check passed, 1 a check failed, 2 bad arguments or the soak could not start.
  --seed N                  the fault schedule (default 1): the same seed gives the same schedule
  --satellites S            satellites (default 3); the first has a small spool budget (1 MiB)
  --services N              services per satellite (default 1000), 10 per host
  --check-interval SECS     service check interval (default 60)
  --flip-period SECS        how long a service keeps a state before it may flip (default 120)
  --traps-per-sec N         steady traps per second to each satellite (default 10)
  --max-rss-noc-mib N       memory bound of the NOC (default 512)
  --max-rss-satellite-mib N memory bound of a satellite (default 256)
  --dir DIR                 work directory (default: a new temporary directory, deleted unless --keep)
The binaries are the ones `OUTPOST_PROFILE` (debug or release) names under CARGO_TARGET_DIR.";

struct Args {
    minutes: f64,
    seed: u64,
    satellites: usize,
    services: usize,
    check_interval: u64,
    flip_period: u64,
    traps_per_sec: u64,
    max_rss_noc_mib: u64,
    max_rss_sat_mib: u64,
    dir: Option<PathBuf>,
    keep: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        minutes: 10.0,
        seed: 1,
        satellites: 3,
        services: 1000,
        check_interval: 60,
        flip_period: 120,
        traps_per_sec: 10,
        max_rss_noc_mib: 512,
        max_rss_sat_mib: 256,
        dir: None,
        keep: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        if flag == "--keep" {
            a.keep = true;
            continue;
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let num = |v: &str| v.parse::<u64>().map_err(|_| format!("{flag} {v:?}: expected a whole number"));
        match flag.as_str() {
            "--minutes" => {
                a.minutes = value.parse().ok().filter(|m: &f64| *m > 0.0).ok_or(format!("--minutes {value:?}"))?
            }
            "--seed" => a.seed = num(&value)?,
            "--satellites" => a.satellites = num(&value)?.max(1) as usize,
            "--services" => a.services = num(&value)?.max(1) as usize,
            "--check-interval" => a.check_interval = num(&value)?.max(1),
            "--flip-period" => a.flip_period = num(&value)?.max(1),
            "--traps-per-sec" => a.traps_per_sec = num(&value)?,
            "--max-rss-noc-mib" => a.max_rss_noc_mib = num(&value)?,
            "--max-rss-satellite-mib" => a.max_rss_sat_mib = num(&value)?,
            "--dir" => a.dir = Some(PathBuf::from(value)),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(a)
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("soak: {e}\n\n{USAGE}");
            std::process::exit(2);
        }
    };
    let passed = run(&args);
    std::process::exit(if passed { 0 } else { 1 });
}

/// The plugin binary, built beside this one.
fn plugin_path() -> PathBuf {
    let exe = std::env::current_exe().expect("own path");
    let p = exe.with_file_name("soak-check");
    assert!(p.exists(), "{} is missing: build it with `cargo build -p outpost-tests --bins`", p.display());
    p
}

fn run(args: &Args) -> bool {
    let root = args
        .dir
        .clone()
        .unwrap_or_else(|| std::env::temp_dir().join(format!("outpost-soak-{}-seed{}", std::process::id(), args.seed)));
    std::fs::create_dir_all(&root).expect("create the work directory");
    let run_for = Duration::from_secs_f64(args.minutes * 60.0);
    println!(
        "soak: seed {} for {:.1} min, {} satellites x {} services, work dir {}",
        args.seed,
        args.minutes,
        args.satellites,
        args.services,
        root.display()
    );
    let plugin = plugin_path();
    let locations: Vec<String> = (1..=args.satellites).map(|i| format!("SOAK{i}")).collect();
    let receiver = webhook::Receiver::start();
    let mut noc = Noc::start(&root.join("noc"), &locations, receiver.port);
    let mut sats: Vec<Satellite> = locations
        .iter()
        .enumerate()
        .map(|(i, loc)| {
            let max_bytes = if i == SMALL_BUDGET_SAT { 1 << 20 } else { 64 << 20 };
            let plan = SatPlan {
                location: loc.clone(),
                services: args.services,
                check_interval_secs: args.check_interval,
                flip_period_secs: args.flip_period,
                spool: SpoolConfig { max_bytes, max_age: None, segment_bytes: 64 << 10, fsync: true },
            };
            Satellite::create(&root, plan, noc.port, &plugin)
        })
        .collect();
    for s in &mut sats {
        s.start();
    }
    let counters: Vec<Arc<Counter>> = sats.iter().map(|_| Arc::new(Counter::default())).collect();
    let stop_traps = Arc::new(AtomicBool::new(false));
    let trap_thread = traps::steady(
        sats.iter().zip(&counters).map(|(s, c)| (s.trap_port, c.clone())).collect(),
        args.traps_per_sec,
        stop_traps.clone(),
    );

    let mut failures: Vec<String> = Vec::new();
    let mut chaos = Chaos::new(args.seed, run_for, sats.len());
    let mut peaks = memory::Peaks::default();
    let start = Instant::now();
    let mut last_sample = Instant::now() - Duration::from_secs(10);
    let mut last_progress = Instant::now();
    while start.elapsed() < run_for {
        chaos.tick(&mut sats, &mut noc, &receiver, &counters);
        if last_sample.elapsed() >= Duration::from_secs(1) {
            last_sample = Instant::now();
            let second_half = start.elapsed() > run_for / 2;
            if let Some(pid) = noc.proc.pid() {
                peaks.sample("noc", pid, second_half);
            }
            for s in &sats {
                if let Some(pid) = s.proc.pid() {
                    peaks.sample("satellite", pid, second_half);
                }
            }
            check_crashes(&mut sats, &mut noc, &mut failures);
        }
        if last_progress.elapsed() >= Duration::from_secs(60) {
            last_progress = Instant::now();
            let n: u64 = chaos.injected.values().sum();
            println!("soak: {:.0}s, {n} faults so far", start.elapsed().as_secs_f64());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    chaos.undo_all(&mut sats, &mut noc, &receiver);
    check_crashes(&mut sats, &mut noc, &mut failures);
    stop_traps.store(true, Ordering::SeqCst);
    let _ = trap_thread.join();
    println!("soak: faults over after {:.0}s; verifying", start.elapsed().as_secs_f64());

    // 1. State: pause every satellite, then the NOC must converge to exactly what each satellite shows.
    for s in &sats {
        let out = s.command(&["pause"]);
        if !out.status.success() {
            failures.push(format!("{}: pause failed: {}", s.location(), String::from_utf8_lossy(&out.stderr)));
        }
    }
    let mut state_diffs = 0;
    for s in &sats {
        match verify::wait_state_equal(&noc, s, Duration::from_secs(180)) {
            Ok((objects, 0, _)) => {
                println!("soak: {}: NOC state equals the satellite's ({objects} objects)", s.location())
            }
            Ok((_, n, examples)) => {
                state_diffs += n;
                failures.push(format!("{}: {n} objects differ at the NOC, e.g. {examples:?}", s.location()));
            }
            Err(e) => failures.push(format!("{}: {e:#}", s.location())),
        }
    }
    for s in &sats {
        if let Some(pid) = s.proc.pid() {
            peaks.sample("satellite", pid, true);
        }
    }

    // 2. Events: every produced event exactly once, in order, or dropped and reported.
    let mut totals = verify::Accounting::default();
    let mut trap_sent = 0;
    for (s, c) in sats.iter_mut().zip(&counters) {
        trap_sent += c.sent();
        match verify::account(s, &noc) {
            Ok(acc) => {
                println!("soak: {}: {acc:?}", s.location());
                if !acc.ok() {
                    failures.push(format!("{}: accounting failed: {acc:?}", s.location()));
                }
                totals.produced += acc.produced;
                totals.lost += acc.lost;
                totals.in_flight_at_drop += acc.in_flight_at_drop;
                totals.delivered += acc.delivered;
                totals.duplicated += acc.duplicated;
                totals.dropped += acc.dropped;
                totals.reported_dropped += acc.reported_dropped;
                totals.corruption_placeholders += acc.corruption_placeholders;
                totals.quarantined_segments += acc.quarantined_segments;
                totals.gaps += acc.gaps;
                totals.out_of_order += acc.out_of_order;
                totals.traps_delivered += acc.traps_delivered;
                totals.trap_duplicates += acc.trap_duplicates;
                totals.pending_after_drain += acc.pending_after_drain;
            }
            Err(e) => failures.push(format!("{}: {e:#}", s.location())),
        }
    }

    // 3. The northbound sink holds every event the NOC logged.
    if let Some(pid) = noc.proc.pid() {
        peaks.sample("noc", pid, true);
    }
    let (noc_events, sink_missing) = match verify::wait_sink_caught_up(&noc, &receiver, Duration::from_secs(180)) {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("sink check: {e:#}"));
            (0, 0)
        }
    };
    if sink_missing > 0 {
        failures.push(format!("webhook sink: {sink_missing} of {noc_events} events never delivered"));
    }

    // 4. Memory: an absolute bound per process, and no growth from the first half of the run to the second.
    let mib = |k: &str, m: &std::collections::BTreeMap<&'static str, u64>| m.get(k).copied().unwrap_or(0) / 1024;
    for (kind, bound) in [("noc", args.max_rss_noc_mib), ("satellite", args.max_rss_sat_mib)] {
        let (peak, first, second) =
            (mib(kind, &peaks.overall), mib(kind, &peaks.first_half), mib(kind, &peaks.second_half));
        if peak > bound {
            failures.push(format!("{kind}: peak RSS {peak} MiB is over its bound of {bound} MiB"));
        }
        // Growth beyond 1.5x + 32 MiB between halves is a leak, not noise (both halves see the same faults).
        if second > first + first / 2 + 32 {
            failures.push(format!("{kind}: peak RSS grew from {first} MiB (first half) to {second} MiB (second half)"));
        }
    }

    let faults: u64 = chaos.injected.values().sum();
    println!("\n=== soak summary (seed {}, {:.1} min of faults) ===", args.seed, args.minutes);
    println!("faults injected: {faults}");
    for (k, n) in &chaos.injected {
        println!("  {n:>5}  {k}");
    }
    println!(
        "pulled cable: {:.0} s in total, longest {:.0} s",
        chaos.pulled_cable_secs,
        chaos.longest_pulled_cable.as_secs_f64()
    );
    println!("events produced:   {}", totals.produced);
    println!("events delivered:  {}", totals.delivered);
    println!("events duplicated: {}", totals.duplicated);
    println!("events lost:       {} (unexplained)", totals.lost);
    println!(
        "events in flight at a drop: {} (applied by the NOC, then dropped before its ack arrived; once each)",
        totals.in_flight_at_drop
    );
    println!(
        "events dropped:    {} by the spool budget, {} of them reported to the NOC",
        totals.dropped, totals.reported_dropped
    );
    println!(
        "spool corruption:  {} segment(s) quarantined, {} events replaced by SpoolCorruption placeholders",
        totals.quarantined_segments, totals.corruption_placeholders
    );
    println!(
        "traps:             {trap_sent} sent, {} delivered, {} duplicated",
        totals.traps_delivered, totals.trap_duplicates
    );
    println!("sequence gaps:     {}, epochs out of order: {}", totals.gaps, totals.out_of_order);
    println!("state:             {state_diffs} objects differ");
    println!(
        "webhook sink:      {} of {noc_events} NOC events delivered ({} deliveries with retries)",
        noc_events - sink_missing,
        receiver.received.deliveries.load(Ordering::SeqCst)
    );
    for kind in ["noc", "satellite"] {
        println!(
            "peak RSS {kind:<9}: {} MiB (first half {} MiB, second half {} MiB)",
            mib(kind, &peaks.overall),
            mib(kind, &peaks.first_half),
            mib(kind, &peaks.second_half)
        );
    }
    println!(
        "process starts: noc {}, satellites {:?}",
        noc.proc.starts,
        sats.iter().map(|s| s.proc.starts).collect::<Vec<_>>()
    );
    let _ = std::fs::write(root.join("faults.log"), chaos.log.join("\n"));
    if failures.is_empty() {
        println!("RESULT: PASS");
    } else {
        println!("RESULT: FAIL");
        for f in &failures {
            println!("  - {f}");
        }
    }
    drop(sats);
    drop(noc);
    if args.keep || args.dir.is_some() || !failures.is_empty() {
        println!("work dir kept: {} (faults.log, noc/noc.log, SOAK*/satellite.log)", root.display());
    } else {
        let _ = std::fs::remove_dir_all(&root);
    }
    failures.is_empty()
}

/// A process that exited without being killed by the soak is a crash: recorded as a failure, then restarted.
fn check_crashes(sats: &mut [Satellite], noc: &mut Noc, failures: &mut Vec<String>) {
    if let Some(status) = noc.proc.exited() {
        failures.push(format!("the NOC exited on its own: {status}"));
        noc.proc.kill9();
        noc.restart();
    }
    for s in sats {
        if let Some(status) = s.proc.exited() {
            failures.push(format!("{} exited on its own: {status}", s.location()));
            s.proc.kill9();
            s.start();
        }
    }
}
