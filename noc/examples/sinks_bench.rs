//! Northbound throughput: Nagios external commands formatted and written to a command file, SNMP traps sent by
//! the SNMP sink to a UDP receiver on 127.0.0.1 that counts them, and SNMP informs (v2c, and v3 authPriv) sent by
//! the sink to a real net-snmp `snmptrapd` on 127.0.0.1, each waiting for its acknowledgement.
//!
//! `cargo run --release -p outpost-noc --example sinks_bench -- [n_commands] [n_traps] [n_informs]`
//! The inform part needs `snmptrapd` (scripts/install-test-deps) and is skipped without it.
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
    let n_informs: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(5_000);

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

    for version in ["2c", "3"] {
        match informs_to_snmptrapd(version, n_informs).await {
            Ok(()) => {}
            Err(e) => println!("northbound v{version} informs: skipped ({e:#})"),
        }
    }
    Ok(())
}

/// Informs through the sink's deliver path to a real `snmptrapd`, which acknowledges each one; the sink sends one
/// at a time and waits for the acknowledgement, so this measures the round trip.
async fn informs_to_snmptrapd(version: &str, n: usize) -> anyhow::Result<()> {
    use anyhow::Context as _;
    let dir = tempfile::tempdir()?;
    let port = std::net::UdpSocket::bind("127.0.0.1:0")?.local_addr()?.port();
    let conf = dir.path().join("snmptrapd.conf");
    std::fs::write(
        &conf,
        "authCommunity log public\ncreateUser benchuser SHA authpass123 AES privpass123\nauthUser log benchuser priv\n",
    )?;
    let log = dir.path().join("traps.log");
    let trapd = tokio::process::Command::new("snmptrapd")
        .args(["-f", "-C", "-c"])
        .arg(&conf)
        .args(["-n", "-On", "-Lf"])
        .arg(&log)
        .args(["-F", "TRAP\n", &format!("udp:127.0.0.1:{port}")])
        .env("SNMPCONFPATH", dir.path())
        .env("SNMP_PERSISTENT_DIR", dir.path())
        .env("MIBS", "")
        .kill_on_drop(true)
        .spawn()
        .context("start snmptrapd")?;
    let count = |log: &std::path::Path| std::fs::read_to_string(log).map_or(0, |t| t.matches("TRAP").count());
    let listening = tokio::time::timeout(Duration::from_secs(10), async {
        while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains("NET-SNMP version")) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    listening.await.context("snmptrapd did not start listening")?;
    let v3 = if version == "3" {
        "\nuser = \"benchuser\"\nauth_protocol = \"SHA\"\nauth_password = \"authpass123\"\n\
         priv_protocol = \"AES\"\npriv_password = \"privpass123\""
    } else {
        ""
    };
    let cfg: SnmpSinkConfig = toml::from_str(&format!(
        "name = \"bench\"\ndestination = \"127.0.0.1:{port}\"\nversion = \"{version}\"\ninform = true{v3}"
    ))?;
    let mut sink = SnmpSink::new(cfg)?;
    let events: Vec<StoredEvent> = (1..=n as i64).map(event).collect();
    let trapd_pid = trapd.id().context("snmptrapd pid")?;
    let cpu_before = cpu_time();
    let trapd_before = process_cpu_time(trapd_pid)?;
    let started = Instant::now();
    for chunk in events.chunks(500) {
        sink.deliver(chunk).await.map_err(|e| e.error)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let cpu = cpu_time() - cpu_before;
    let trapd_cpu = process_cpu_time(trapd_pid)? - trapd_before;
    // Every inform was acknowledged (deliver fails otherwise); snmptrapd's log confirms each arrived once.
    tokio::time::sleep(Duration::from_millis(200)).await;
    println!(
        "northbound v{version} informs to snmptrapd: {n} acknowledged in {secs:.3} s = {:.0} informs/s, \
         {:.0} µs per inform round trip; CPU per inform: this process {:.0} µs, snmptrapd {:.0} µs; snmptrapd logged {}",
        n as f64 / secs,
        secs * 1e6 / n as f64,
        cpu * 1e6 / n as f64,
        trapd_cpu * 1e6 / n as f64,
        count(&log)
    );
    drop(trapd);
    Ok(())
}

/// User plus system CPU time of another process, in seconds (fields 14 and 15 of /proc/PID/stat, in clock ticks).
fn process_cpu_time(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name (field 2) may contain spaces; the fields after it start after its closing parenthesis.
    let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11..13).unwrap_or_default().iter().filter_map(|f| f.parse::<f64>().ok()).sum();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

/// User plus system CPU time of this process, in seconds.
fn cpu_time() -> f64 {
    // SAFETY: getrusage writes into the struct we pass and has no other preconditions.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
