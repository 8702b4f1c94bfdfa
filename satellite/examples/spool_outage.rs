//! Resource bounds of a satellite whose NOC is unreachable (issue #8, part 4): offers `--hours` simulated
//! hours of events at `--rate` events per second (default 24 h at 1,000/s = 86.4 million events) to the real
//! spool, as fast as it takes them, and records the spool's bytes on disk and the process's memory.
//! Nothing ever acknowledges, so the byte and age budgets do all the work.
//!
//! `cargo run --release -p outpost-satellite --example spool_outage -- --hours 24 --rate 1000`
//!
//! Simulated time: event times advance 1/rate s per event, starting `--hours` before now and ending now. The
//! spool's age budget compares a sealed segment's newest event with the real clock, so for the first
//! `hours - max_age` simulated hours every sealed segment is over age and goes at once (the age budget acts);
//! for the last `max_age` hours the byte budget rules. Exits 1 if the disk or memory bound was broken.

use std::path::Path;
use std::time::{Duration, Instant};

use outpost_format::event::StateChange;
use outpost_format::model::{ObjectKey, StateType};
use outpost_format::{EventKind, UnixMillis};
use outpost_satellite::spool::{Spool, SpoolConfig};

struct Args {
    hours: f64,
    rate: u64,
    max_bytes: u64,
    segment_bytes: u64,
    max_age_hours: f64,
    batch: usize,
    max_rss_mib: u64,
}

fn parse() -> Args {
    let mut a = Args {
        hours: 24.0,
        rate: 1000,
        max_bytes: 256 << 20,
        segment_bytes: 8 << 20,
        max_age_hours: 6.0,
        batch: 1000,
        max_rss_mib: 64,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v = it.next().unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        let f = v.parse::<f64>().unwrap_or_else(|_| usage(&format!("{flag} {v:?}: expected a number")));
        match flag.as_str() {
            "--hours" => a.hours = f,
            "--rate" => a.rate = f as u64,
            "--max-mib" => a.max_bytes = (f * 1048576.0) as u64,
            "--segment-mib" => a.segment_bytes = (f * 1048576.0) as u64,
            "--max-age-hours" => a.max_age_hours = f,
            "--batch" => a.batch = (f as usize).max(1),
            "--max-rss-mib" => a.max_rss_mib = f as u64,
            _ => usage(&format!("unknown argument {flag:?}")),
        }
    }
    a
}

fn usage(why: &str) -> ! {
    eprintln!(
        "spool_outage: {why}\nusage: spool_outage [--hours 24] [--rate 1000] [--max-mib 256] [--segment-mib 8] \
         [--max-age-hours 6] [--batch 1000] [--max-rss-mib 64]"
    );
    std::process::exit(2)
}

fn rss_kib() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let f = |n: &str| {
        s.lines().find(|l| l.starts_with(n)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()).unwrap_or(0)
    };
    (f("VmRSS:"), f("VmHWM:"))
}

/// Bytes of every file under `dir` (what the budget promises to bound).
fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(m) = e.metadata() else { continue };
        total += if m.is_dir() { disk_bytes(&e.path()) } else { m.len() };
    }
    total
}

fn event(i: u64) -> EventKind {
    // A typical check result: a service changing state with plugin output and perfdata.
    EventKind::StateChange(StateChange {
        key: ObjectKey::service(format!("host{:04}", i % 1000), format!("svc{:02}", i % 37)),
        state: (i % 3) as u8,
        previous_state: ((i + 1) % 3) as u8,
        state_type: StateType::Hard,
        attempt: 3,
        max_attempts: 3,
        output: format!("HTTP OK: HTTP/1.1 200 OK - 5120 bytes in 0.{:03} second response time", i % 1000),
        long_output: String::new(),
        perfdata: format!("time=0.{:03}s;1;2;0 size=5120B;;;0", i % 1000),
    })
}

fn main() {
    let a = parse();
    let total = (a.hours * 3600.0 * a.rate as f64) as u64;
    let dir = tempfile::tempdir().expect("temp dir");
    let spool_dir = dir.path().join("spool");
    let cfg = SpoolConfig {
        max_bytes: a.max_bytes,
        max_age: Some(Duration::from_secs_f64(a.max_age_hours * 3600.0)),
        segment_bytes: a.segment_bytes,
        fsync: true,
    };
    let (spool, _) = Spool::open(&spool_dir, cfg).expect("open spool");
    let now: UnixMillis = outpost_satellite::spool::now_ms();
    let start_ms = now - (a.hours * 3_600_000.0) as i64;
    println!(
        "offering {total} events ({} h at {}/s simulated), budget {} MiB in {} MiB segments, max age {} h, batch {}",
        a.hours,
        a.rate,
        a.max_bytes >> 20,
        a.segment_bytes >> 20,
        a.max_age_hours,
        a.batch
    );
    let t = Instant::now();
    let (mut max_disk, mut max_stats_bytes, mut i) = (0u64, 0u64, 0u64);
    let mut next_report = Instant::now() + Duration::from_secs(30);
    let (rss_start, _) = rss_kib();
    while i < total {
        let n = (a.batch as u64).min(total - i);
        let batch: Vec<(UnixMillis, EventKind)> =
            (i..i + n).map(|j| (start_ms + (j as f64 * 1000.0 / a.rate as f64) as i64, event(j))).collect();
        spool.append(&batch).expect("append");
        i += n;
        // Disk usage every 64 batches: a full directory walk per batch would dominate the run.
        if (i / n).is_multiple_of(64) || i == total {
            max_disk = max_disk.max(disk_bytes(&spool_dir));
            max_stats_bytes = max_stats_bytes.max(spool.stats().bytes);
        }
        if Instant::now() >= next_report {
            next_report += Duration::from_secs(30);
            let (rss, _) = rss_kib();
            println!(
                "  {:5.1}% simulated {:5.2} h, {:.0} events/s, disk max {} MiB, RSS {} MiB",
                i as f64 * 100.0 / total as f64,
                i as f64 / a.rate as f64 / 3600.0,
                i as f64 / t.elapsed().as_secs_f64(),
                max_disk >> 20,
                rss >> 10
            );
        }
    }
    let el = t.elapsed().as_secs_f64();
    let stats = spool.stats();
    let (rss, hwm) = rss_kib();
    println!("done: {total} events in {el:.0} s = {:.0} events/s (wall)", total as f64 / el);
    println!(
        "spool: pending {} events, {} MiB, dropped {} events, {} snapshots; largest seen: {} MiB on disk ({} B), \
         {} MiB by the spool's own count",
        stats.pending_events,
        stats.bytes >> 20,
        stats.dropped_events,
        stats.dropped_snapshots,
        max_disk >> 20,
        max_disk,
        max_stats_bytes >> 20
    );
    println!("memory: RSS {} MiB at start, {} MiB at the end, peak {} MiB", rss_start >> 10, rss >> 10, hwm >> 10);
    // The budget is enforced in whole segments after each append: allow one segment, plus the ledger file.
    let disk_bound = a.max_bytes + a.segment_bytes + 4096;
    let mut ok = true;
    if max_disk > disk_bound {
        println!("FAIL: spool used {max_disk} B on disk, over its bound of {disk_bound} B");
        ok = false;
    }
    if hwm >> 10 > a.max_rss_mib {
        println!("FAIL: peak RSS {} MiB is over the bound of {} MiB", hwm >> 10, a.max_rss_mib);
        ok = false;
    }
    println!("{}", if ok { "RESULT: PASS" } else { "RESULT: FAIL" });
    std::process::exit(if ok { 0 } else { 1 });
}
