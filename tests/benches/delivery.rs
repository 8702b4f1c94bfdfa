//! Delivery benchmarks (short runs; results go into docs/benchmarks.md, "Delivery").
//!
//! Run: `OUTPOST_PROFILE=release cargo bench -p outpost-tests --bench delivery`
//! (`DELIVERY_BENCH_REPLAY=N` sets the backlog size, default 200000; `DELIVERY_BENCH_LATENCY=N` the events
//! timed at 100/s, default 1000; `DELIVERY_BENCH_NOC=path` runs another `noc` binary, for before/after runs).
//!
//! The real `noc` binary (release) runs on 127.0.0.1 with fsync (SQLite synchronous=FULL, WAL); the satellite side
//! is the satellite's own spool + writer + sender code in this process, with fsync on, so the latency of one event
//! can be measured from "emit" (a state change handed to the spool) to "acknowledged" (durably applied at the NOC).

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_format::Event;
use outpost_format::event::{EventKind, StateChange};
use outpost_format::frame::{Frame, Payload};
use outpost_format::model::{Object, ObjectKey, Snapshot, StateType};
use outpost_satellite::outbox::EventSink;
use outpost_satellite::sender::{Sender, SenderConfig, Trust};
use outpost_satellite::spool::{Spool, SpoolConfig, now_ms};
use outpost_tests::{bin, free_port, wait_for};
use sha2::{Digest, Sha256};

const KEY: &str = "be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c4be4c";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn start_noc(dir: &Path, port: u16) -> Child {
    let config = dir.join("noc.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
             [[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{}\"\n\
             [rate_limit]\nper_second = 1000000\nburst = 1000000\n",
            sha(KEY)
        ),
    )
    .expect("write noc.toml");
    let noc = std::env::var_os("DELIVERY_BENCH_NOC").map_or_else(|| bin("noc"), std::path::PathBuf::from);
    let child = Command::new(noc)
        .args(["serve", "--config"])
        .arg(&config)
        .env("NOC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start noc");
    wait_for("noc", Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    child
}

fn event_kind(i: u64) -> EventKind {
    EventKind::StateChange(StateChange {
        key: ObjectKey::service(format!("host{:03}", i % 200), format!("svc{:02}", i % 20)),
        state: (i % 3) as u8,
        previous_state: ((i + 1) % 3) as u8,
        state_type: StateType::Hard,
        attempt: 3,
        max_attempts: 3,
        output: format!(
            "PING {} - Packet loss = 0%, RTA = {}.{:02} ms",
            if i.is_multiple_of(3) { "OK" } else { "WARNING" },
            i % 50,
            i % 100
        ),
        long_output: String::new(),
        perfdata: format!("rta={}.{:02}ms;100.000;500.000;0; pl=0%;20;60;0", i % 50, i % 100),
    })
}

fn sender(dir: &Path, port: u16, spool: Arc<Spool>) -> Sender {
    let url = reqwest::Url::parse(&format!("http://127.0.0.1:{port}")).expect("url");
    let cfg = SenderConfig::new("FRA1", vec![url], Trust::System);
    let _ = dir;
    Sender::new(cfg, KEY, spool).expect("sender")
}

/// The disk as the spool sees it right now: append 260 B and fdatasync, at 100 per second, in `dir`.
/// Printed beside the latency so a run on a busy host can be read for what it is.
fn fdatasync_reference(dir: &Path, n: usize) -> (Duration, Duration) {
    use std::io::Write;
    let path = dir.join("fsync-probe");
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path).expect("probe file");
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        f.write_all(&[0x5a; 260]).expect("probe write");
        f.sync_data().expect("probe fdatasync");
        lat.push(t0.elapsed());
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(&path);
    lat.sort();
    (pct(&lat, 0.5), pct(&lat, 0.99))
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not, and then this runs as a quick smoke test
    // (a few events through the same path) so CI stays fast.
    let full = std::env::args().any(|a| a == "--bench");
    let replay_n: u64 = match std::env::var("DELIVERY_BENCH_REPLAY").ok().and_then(|v| v.parse().ok()) {
        Some(n) if full => n,
        _ if full => 200_000,
        _ => 2_000,
    };
    let n_lat: u64 = match std::env::var("DELIVERY_BENCH_LATENCY").ok().and_then(|v| v.parse().ok()) {
        Some(n) if full => n,
        _ if full => 1000,
        _ => 20,
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut noc = start_noc(dir.path(), port);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let cfg = SpoolConfig { max_bytes: 4 << 30, max_age: None, segment_bytes: 8 << 20, fsync: true };

    // 1. Latency at 100 events/s through the daemon's own loop (`Sender::run`, woken by the spool on append):
    //    emit → spool group-commit fsync → sender wake-up → HTTP → NOC commit → acknowledgement.
    //    Each event's time is split at the point its emit() returns (durable in the spool).
    let (spool, _) = Spool::open(&dir.path().join("spool-latency"), cfg.clone()).expect("spool");
    let spool = Arc::new(spool);
    let (sink, rx) = EventSink::channel();
    let _writer = outpost_satellite::spool::spawn_writer(spool.clone(), rx);
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut lat = Vec::with_capacity(n_lat as usize);
    let mut to_durable = Vec::with_capacity(n_lat as usize);
    let mut to_acked = Vec::with_capacity(n_lat as usize);
    rt.block_on(async {
        let run = rt.spawn(sender(dir.path(), port, spool.clone()).run(cancel.clone()));
        // Warm up the connection (enrollment-free: the token is pre-shared).
        for i in 0..10 {
            let seq = sink.emit(now_ms(), event_kind(i)).await.expect("emit");
            spool.wait_acked(spool.spool_seq(seq)).await;
        }
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        for i in 0..n_lat {
            tick.tick().await;
            let t0 = Instant::now();
            let seq = sink.emit(now_ms(), event_kind(i)).await.expect("emit");
            let t1 = Instant::now();
            spool.wait_acked(spool.spool_seq(seq)).await;
            let t2 = Instant::now();
            lat.push(t2 - t0);
            to_durable.push(t1 - t0);
            to_acked.push(t2 - t1);
        }
        cancel.cancel();
        let _ = run.await;
    });
    for v in [&mut lat, &mut to_durable, &mut to_acked] {
        v.sort();
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "latency at 100 events/s over {n_lat} events: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(&lat, 0.5)),
        ms(pct(&lat, 0.99)),
        ms(*lat.last().expect("some"))
    );
    println!(
        "  emit → durable in the spool: p50 {:.2} ms, p99 {:.2} ms; durable → acknowledged by the NOC: p50 {:.2} ms, p99 {:.2} ms",
        ms(pct(&to_durable, 0.5)),
        ms(pct(&to_durable, 0.99)),
        ms(pct(&to_acked, 0.5)),
        ms(pct(&to_acked, 0.99))
    );
    let (f50, f99) = fdatasync_reference(dir.path(), if full { 500 } else { 10 });
    println!(
        "  reference, this disk now: append 260 B + fdatasync at 100/s: p50 {:.2} ms, p99 {:.2} ms",
        ms(f50),
        ms(f99)
    );
    drop(sink);

    // 2. A backlog (an outage at 1,000 events/s builds 3.6 M in an hour; we replay `replay_n` of them) and its replay.
    let (spool, _) = Spool::open(&dir.path().join("spool-replay"), cfg.clone()).expect("spool");
    let spool = Arc::new(spool);
    let t0 = Instant::now();
    let mut i = 0;
    while i < replay_n {
        let k = 1000.min(replay_n - i);
        let evs: Vec<_> = (i..i + k).map(|j| (now_ms(), event_kind(j))).collect();
        spool.append(&evs).expect("append");
        i += k;
    }
    let fill = t0.elapsed();
    let bytes = spool.stats().bytes;
    println!(
        "spool append, 1000 events per fsync: {replay_n} events ({:.1} MB on disk, {:.0} B/event) in {:.2} s = {:.0} events/s",
        bytes as f64 / 1e6,
        bytes as f64 / replay_n as f64,
        fill.as_secs_f64(),
        replay_n as f64 / fill.as_secs_f64()
    );
    let mut snd = sender(dir.path(), port, spool.clone());
    let t0 = Instant::now();
    rt.block_on(snd.drain(Instant::now() + Duration::from_secs(600), |_, _| {})).expect("drain");
    let replay = t0.elapsed();
    assert_eq!(spool.stats().pending_events, 0);
    println!(
        "replay spool → durably applied at the NOC: {replay_n} events in {:.2} s = {:.0} events/s (batches of {})",
        replay.as_secs_f64(),
        replay_n as f64 / replay.as_secs_f64(),
        outpost_satellite::sender::DEFAULT_MAX_BATCH_EVENTS
    );

    // 3. Bytes on the wire (frame bytes; HTTP headers add about 300 B per request).
    for n in [1u64, 100, 5000] {
        let events: Vec<Event> = (0..n).map(|j| Event { seq: j + 1, time: now_ms(), kind: event_kind(j) }).collect();
        let f = Frame { location: "FRA1".into(), epoch: 1, seq: n, payload: Payload::Events(events) };
        let len = f.encode().expect("encode").len();
        println!("event batch of {n}: {len} B frame = {:.1} B/event", len as f64 / n as f64);
    }
    let site = |round: u64| {
        let mut objects = outpost_format::ObjectMap::new();
        for h in 0..100u64 {
            objects.insert(ObjectKey::host(format!("host{h:03}")), Object::default());
            for s in 0..10u64 {
                let mut o = Object::default();
                let changed = (h * 10 + s) % 100 == round % 100;
                o.status.state = u8::from(changed) * 2;
                o.status.output = format!("OK - load average {}.{:02}", (h + s) % 4, (h * s) % 100).into();
                o.config.check_command = "check_load!5,4,3!10,8,6".into();
                objects.insert(ObjectKey::service(format!("host{h:03}"), format!("svc{s:02}")), o);
            }
        }
        Snapshot { location: "FRA1".into(), taken_at: now_ms(), objects }
    };
    let (a, b) = (site(0), site(1));
    let full = Frame { location: "FRA1".into(), epoch: 1, seq: 1, payload: Payload::Full(a.clone()) }
        .encode()
        .expect("encode");
    let delta = outpost_format::delta::make(&a, 1, &b);
    let dframe =
        Frame { location: "FRA1".into(), epoch: 1, seq: 2, payload: Payload::Delta(delta) }.encode().expect("encode");
    println!(
        "snapshot of 1100 objects: full {} B ({:.1} B/object); delta with 10 changed services {} B",
        full.len(),
        full.len() as f64 / 1100.0,
        dframe.len()
    );
    let _ = noc.kill();
    let _ = noc.wait();
}
