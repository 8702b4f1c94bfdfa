//! Trap receiver throughput: floods the receiver on 127.0.0.1 with a real net-snmp v2c trap capture
//! (`fixtures/traps/v2c-trap.bin`) and counts what reaches the (in-memory) spool hand-off.
//!
//! `cargo run --release -p outpost-satellite --example traps_bench -- [rate_per_sec] [seconds] [memory|spool]`
//! With a rate, datagrams are paced at that rate and the run reports loss; with 0, it sends as fast as it can.
//! `memory` (default) hands events to the in-memory sink; `spool` to the real durable spool (group commit,
//! fsync) in a temp dir, which is what the satellite daemon does.
//! Results go into docs/benchmarks.md ("SNMP and northbound").

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use outpost_satellite::outbox::EventSink;
use outpost_satellite::spool::{Spool, SpoolConfig, spawn_writer};
use outpost_satellite::traps::{self, TrapConfig};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let rate: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(25_000);
    let seconds: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(4);
    let capture = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/traps/v2c-trap.bin"))?;
    let config = TrapConfig {
        enabled: true,
        listen: "127.0.0.1:0".into(),
        communities: vec!["public".into()],
        rate_limit_per_sec: 1_000_000,
        burst: 1_000_000,
        ..TrapConfig::default()
    };
    let use_spool = args.get(3).is_some_and(|m| m == "spool");
    let spool_dir = tempfile::tempdir()?;
    let (sink, drain, writer) = if use_spool {
        let (spool, _) = Spool::open(spool_dir.path(), SpoolConfig::default())?;
        let (sink, rx) = EventSink::channel();
        let writer = spawn_writer(std::sync::Arc::new(spool), rx);
        (sink, tokio::spawn(async { 0u64 }), Some(writer))
    } else {
        let (sink, mut events) = EventSink::in_memory();
        let drain = tokio::spawn(async move {
            let mut n = 0u64;
            while events.recv().await.is_some() {
                n += 1;
            }
            n
        });
        (sink, drain, None)
    };
    let cancel = CancellationToken::new();
    let receiver = traps::start(&config, sink, None, cancel.clone()).await?;
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let total = if rate == 0 { 200_000 } else { rate * seconds };
    let started = Instant::now();
    for i in 0..total {
        // pace in steps of 1 ms (rate 0: unpaced)
        if let Some(offset_us) = (i * 1_000_000).checked_div(rate) {
            let due = started + Duration::from_micros(offset_us);
            if due > Instant::now() && i % (rate / 1000).max(1) == 0 {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        socket.send_to(&capture, receiver.local_addr).await?;
    }
    let sent_in = started.elapsed();
    // Wait until the receiver is idle.
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let now = receiver.stats.recorded.load(Ordering::Relaxed);
        if now == last {
            break;
        }
        last = now;
    }
    let elapsed = started.elapsed() - Duration::from_millis(300);
    let recorded = receiver.stats.recorded.load(Ordering::Relaxed);
    cancel.cancel();
    receiver.task.await?;
    let drained = drain.await?;
    drop(writer);
    println!(
        "[{}] offered {total} traps at {} in {:.2} s; recorded {recorded} ({drained} drained), lost {} ({:.3}%), \
         dropped by receiver {}; throughput {:.0} traps/s",
        if use_spool { "spool, fsync" } else { "in-memory sink" },
        if rate == 0 { "max rate".to_string() } else { format!("{rate}/s") },
        sent_in.as_secs_f64(),
        total - recorded,
        (total - recorded) as f64 * 100.0 / total as f64,
        receiver.stats.dropped(),
        recorded as f64 / elapsed.as_secs_f64(),
    );
    Ok(())
}
