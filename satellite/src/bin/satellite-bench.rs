//! `satellite-bench`: sustained check throughput, check latency, CPU per check and peak RSS of the check
//! engine running `check_dummy` from monitoring-plugins. Results go to docs/benchmarks.md.
//!
//! `cargo run --release -p outpost-satellite --bin satellite-bench -- --services 10000 --interval 60s --duration 60s`
//!
//! It writes a config with `--services` services spread over hosts (10 per host), starts the engine with
//! an in-memory event sink, and measures over `--duration` after `--warmup`. Latency is how late checks
//! start against their schedule. CPU counts the satellite process and every plugin it ran (RUSAGE_CHILDREN).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use outpost_satellite::config::Config;
use outpost_satellite::engine::Engine;
use outpost_satellite::outbox::EventSink;
use tokio_util::sync::CancellationToken;

/// Benchmark the check engine with check_dummy.
#[derive(Parser)]
#[command(about)]
struct Args {
    /// Number of services.
    #[arg(long, default_value_t = 10_000)]
    services: usize,
    /// Services per host.
    #[arg(long, default_value_t = 10)]
    per_host: usize,
    /// Check interval of every service.
    #[arg(long, default_value = "60s")]
    interval: humantime::Duration,
    /// Measured time, after the warm-up.
    #[arg(long, default_value = "60s")]
    duration: humantime::Duration,
    /// Time before measuring starts (the first checks are spread over one interval from the start).
    #[arg(long, default_value = "5s")]
    warmup: humantime::Duration,
    /// Global concurrency limit.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// The plugin command line.
    #[arg(long, default_value = "/usr/lib/nagios/plugins/check_dummy 0 OK")]
    command: String,
    /// Tokio worker threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Also write the final snapshot as a full snapshot frame (as the satellite ships it) to this file,
    /// to compare its size with Nagios's status.dat for the same site.
    #[arg(long)]
    frame_out: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    outpost_satellite::engine::tune_allocator();
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(args.threads).enable_all().build()?;
    rt.block_on(bench(args))
}

fn cpu_seconds(who: i32) -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(who, &mut ru) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(ru.ru_utime) + t(ru.ru_stime)
}

fn proc_status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

async fn bench(args: Args) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("satellite-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("create the bench directory")?;
    let config_path = write_config(&dir, &args)?;
    let rss_before_load = proc_status_kib("VmRSS:");
    let config = Config::load(&config_path).map_err(|e| anyhow::anyhow!("{e}"))?;
    unsafe { libc::malloc_trim(0) };
    let rss_after_load = proc_status_kib("VmRSS:");
    let (sink, mut events) = EventSink::in_memory();
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    let cancel = CancellationToken::new();
    let engine = Engine::start(Arc::new(config), &dir.join("state"), sink, cancel.clone())?;
    let rss_after_start = proc_status_kib("VmRSS:");

    tokio::time::sleep(*args.warmup).await;
    let s0 = engine.stats();
    let cpu_self0 = cpu_seconds(libc::RUSAGE_SELF);
    let cpu_children0 = cpu_seconds(libc::RUSAGE_CHILDREN);
    let t0 = Instant::now();
    // Reset the latency histogram's window: read it at the end over the measured period only.
    let mut latencies = Vec::new();
    let mut last = s0.clone();
    let mut samples = 0;
    while t0.elapsed() < *args.duration {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let s = engine.stats();
        latencies.push((s.latency_p50_ms, s.latency_p99_ms, s.latency_max_ms));
        last = s;
        samples += 1;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let cpu_self = cpu_seconds(libc::RUSAGE_SELF) - cpu_self0;
    let cpu_children = cpu_seconds(libc::RUSAGE_CHILDREN) - cpu_children0;
    let n_checks = last.checks_run - s0.checks_run;
    let rss_steady = proc_status_kib("VmRSS:");
    let hwm_steady = proc_status_kib("VmHWM:");
    let snapshot_start = Instant::now();
    // What the daemon's shipper takes every ship interval: the site encoded straight from the table.
    let blob = engine.snapshot_blob().context("encode the snapshot")?;
    let snapshot_ms = snapshot_start.elapsed().as_secs_f64() * 1000.0;
    let hwm = proc_status_kib("VmHWM:");
    let rss = proc_status_kib("VmRSS:");
    if let Some(path) = &args.frame_out {
        let bytes = blob.full_frame("BENCH", 1, 1).context("encode the full snapshot frame")?;
        std::fs::write(path, &bytes).with_context(|| format!("write {}", path.display()))?;
        println!("full snapshot frame: {} bytes written to {}", bytes.len(), path.display());
    }
    cancel.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), engine.join()).await;

    let _ = std::fs::remove_dir_all(&dir);
    let rate = n_checks as f64 / elapsed;
    let demand = args.services as f64 / args.interval.as_secs_f64();
    println!(
        "services {} (on {} hosts), interval {}, concurrency {}, threads {}",
        args.services,
        args.services.div_ceil(args.per_host),
        args.interval,
        args.concurrency,
        args.threads
    );
    println!("demand {demand:.0} checks/s; measured {n_checks} checks in {elapsed:.1} s = {rate:.0} checks/s");
    println!(
        "latency since start (engine histogram, bucket upper bounds): p50 {} ms, p99 {} ms, max {} ms ({samples} samples)",
        last.latency_p50_ms, last.latency_p99_ms, last.latency_max_ms
    );
    if n_checks > 0 {
        println!(
            "CPU per check: satellite {:.3} ms, plugin {:.3} ms, total {:.3} ms; satellite CPU {:.1}% of one core",
            cpu_self / n_checks as f64 * 1000.0,
            cpu_children / n_checks as f64 * 1000.0,
            (cpu_self + cpu_children) / n_checks as f64 * 1000.0,
            cpu_self / elapsed * 100.0
        );
    }
    println!(
        "RSS: before config load {:.1} MiB, after load {:.1} MiB",
        rss_before_load as f64 / 1024.0,
        rss_after_load as f64 / 1024.0
    );
    println!(
        "RSS: after start {:.1} MiB, steady {:.1} MiB (peak before the final snapshot {:.1} MiB), with a snapshot held {:.1} MiB, peak {:.1} MiB; snapshot ({} bytes of MessagePack, {} compressed) took {snapshot_ms:.0} ms",
        rss_after_start as f64 / 1024.0,
        rss_steady as f64 / 1024.0,
        hwm_steady as f64 / 1024.0,
        rss as f64 / 1024.0,
        hwm as f64 / 1024.0,
        blob.raw_len,
        blob.zstd.len()
    );
    Ok(())
}

fn write_config(dir: &std::path::Path, args: &Args) -> anyhow::Result<PathBuf> {
    use std::fmt::Write;
    let n_hosts = args.services.div_ceil(args.per_host).max(1);
    let mut text = String::new();
    writeln!(text, "location = \"BENCH\"\nstate_dir = \"{}\"", dir.join("state").display())?;
    writeln!(
        text,
        "[engine]\nmax_concurrent_checks = {}\nmax_checks_per_host = {}\nretention_interval = \"10s\"\n",
        args.concurrency, args.per_host
    )?;
    writeln!(
        text,
        "[defaults.service]\ncheck_interval = {}\nretry_interval = {}\ncheck_command = \"{}\"\n",
        args.interval.as_secs(),
        args.interval.as_secs(),
        args.command
    )?;
    for h in 0..n_hosts {
        writeln!(text, "[[hosts]]\nname = \"h{h}\"\naddress = \"127.0.0.1\"\ngroups = [\"g0\"]")?;
    }
    for s in 0..args.per_host {
        writeln!(text, "[[services]]\nname = \"svc{s}\"\nhost_groups = [\"g0\"]")?;
    }
    let path = dir.join("satellite.toml");
    std::fs::write(&path, text)?;
    Ok(path)
}
