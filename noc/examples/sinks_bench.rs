//! Northbound throughput: Nagios external commands formatted and written to a command file, and SNMP traps
//! sent by the SNMP sink to a UDP receiver on 127.0.0.1 that counts them.
//!
//! `cargo run --release -p outpost-noc --example sinks_bench -- [n_commands] [n_traps]`
//! Results go into docs/benchmarks.md ("SNMP and northbound").

use std::time::{Duration, Instant};

use outpost_format::event::StateChange;
use outpost_format::model::StateType;
use outpost_format::{Event, EventKind, ObjectKey};
use outpost_noc::sinks::Sink;
use outpost_noc::sinks::nagios_cmd::{CommandWriter, NagiosCommand, plugin_output};
use outpost_noc::sinks::snmp::{SnmpSink, SnmpSinkConfig};
use outpost_noc::store::StoredEvent;

fn event(id: i64) -> StoredEvent {
    let kind = EventKind::StateChange(StateChange {
        key: ObjectKey::service(format!("web{:03}", id % 500), "HTTP"),
        state: (id % 4) as u8,
        previous_state: 0,
        state_type: StateType::Hard,
        attempt: 3,
        max_attempts: 3,
        output: "HTTP CRITICAL: HTTP/1.1 500 Internal Server Error - 512 bytes in 0.004 second response time".into(),
        long_output: String::new(),
        perfdata: "time=0.004s;1;2;0 size=512B;;;0".into(),
    });
    StoredEvent {
        id,
        location: "FRA1".into(),
        epoch: 1,
        seq: id as u64,
        time: 1_700_000_000_000 + id,
        received_at: 1_700_000_000_000 + id,
        kind: "state_change".into(),
        object: Some(format!("FRA1_web{:03}/HTTP", id % 500)),
        state: Some((id % 4) as u8),
        summary: String::new(),
        time_flag: None,
        event: Event { seq: id as u64, time: 1_700_000_000_000 + id, kind },
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let n_commands: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(500_000);
    let n_traps: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(100_000);

    // Nagios external commands: format + append in chunks of 10,000 lines, as the sink does per batch.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nagios.cmd");
    std::fs::write(&path, "")?;
    let writer = CommandWriter::new(&path);
    let started = Instant::now();
    let mut lines = Vec::with_capacity(10_000);
    for i in 0..n_commands {
        let cmd = NagiosCommand::ServiceCheckResult {
            host: format!("FRA1_web{:03}", i % 500),
            service: "HTTP".into(),
            state: (i % 4) as u8,
            output: plugin_output(
                "HTTP CRITICAL: 500 - 512 bytes in 0.004 s",
                "time=0.004s;1;2;0",
                "line two\nline three",
            ),
        };
        lines.push(cmd.format(1_700_000_000 + i as i64));
        if lines.len() == 10_000 {
            writer.write_lines(&lines)?;
            lines.clear();
        }
    }
    writer.write_lines(&lines)?;
    let secs = started.elapsed().as_secs_f64();
    let bytes = std::fs::metadata(&path)?.len();
    println!(
        "nagios commands: {n_commands} in {secs:.3} s = {:.0} commands/s ({:.1} MB written)",
        n_commands as f64 / secs,
        bytes as f64 / 1e6
    );

    // Northbound SNMP traps through the sink's deliver path to a counting UDP receiver.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
    let addr = socket.local_addr()?;
    let counter = tokio::spawn(async move {
        let mut buf = vec![0u8; 65_536];
        let mut n = 0usize;
        while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await {
            n += 1;
        }
        n
    });
    let cfg: SnmpSinkConfig = toml::from_str(&format!("name = \"bench\"\ndestination = \"{addr}\""))?;
    let mut sink = SnmpSink::new(cfg)?;
    let events: Vec<StoredEvent> = (1..=n_traps as i64).map(event).collect();
    let started = Instant::now();
    for chunk in events.chunks(500) {
        sink.deliver(chunk).await.map_err(|e| e.error)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let received = counter.await?;
    println!(
        "northbound v2c traps: {n_traps} sent in {secs:.3} s = {:.0} traps/s; receiver counted {received}",
        n_traps as f64 / secs
    );
    Ok(())
}
