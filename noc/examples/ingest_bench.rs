//! Ingest benchmark: deltas from many locations × many services, sent over HTTP on loopback to a real
//! `noc serve` child process, measured as durably applied object updates per second and frames per second,
//! plus the NOC's resident memory per 100,000 objects.
//!
//! Run (release, from the workspace root):
//! `cargo build --release -p outpost-noc --bins --examples && target/release/examples/ingest_bench 1000 1000 2 32`
//! Arguments: locations, services per location, delta rounds, requests in flight.
//! Results: docs/benchmarks.md.

use outpost_format::ObjectMap;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use futures_util::StreamExt;
use outpost_format::frame::Payload;
use outpost_format::model::{Object, ObjectKey, Snapshot};
use outpost_format::{Frame, Limits};
use sha2::{Digest, Sha256};

fn snapshot(location: &str, services: usize, round: u64) -> Snapshot {
    let mut objects = ObjectMap::new();
    for h in 0..services.div_ceil(20) {
        let mut host = Object::default();
        host.status.last_check = 1_700_000_000_000 + round as i64 * 60_000;
        objects.insert(ObjectKey::host(format!("host{h:03}")), host);
    }
    for i in 0..services {
        let mut o = Object::default();
        o.config.check_command = "check_http -H $HOSTADDRESS$".into();
        o.config.check_interval = 60;
        o.config.max_attempts = 3;
        // 2% of services change state each round; every service has a new last check and output.
        o.status.state = if (i as u64 + round).is_multiple_of(50) { 2 } else { 0 };
        o.status.output = format!("HTTP OK: 200 in 0.{:03} s", (i as u64 * 7 + round * 13) % 1000).into();
        o.status.last_check = 1_700_000_000_000 + round as i64 * 60_000;
        objects.insert(ObjectKey::service(format!("host{:03}", i / 20), format!("svc{i:04}")), o);
    }
    Snapshot { location: location.to_string(), taken_at: 1_700_000_000_000 + round as i64 * 60_000, objects }
}

fn key(location: &str) -> String {
    format!("bench-key-{location}")
}

fn rss_kib(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

async fn send_all(client: &reqwest::Client, port: u16, frames: Vec<(String, Vec<u8>)>, in_flight: usize) -> usize {
    let url = format!("http://127.0.0.1:{port}/api/v1/frames");
    let results = futures_util::stream::iter(frames)
        .map(|(location, body)| {
            let client = client.clone();
            let url = url.clone();
            async move {
                let resp = client
                    .post(&url)
                    .bearer_auth(key(&location))
                    .header("X-Outpost-Location", &location)
                    .header("X-Outpost-Ship-Interval", "3600")
                    .body(body)
                    .send()
                    .await
                    .expect("send");
                assert_eq!(resp.status(), 200, "{location}");
                let bytes = resp.bytes().await.expect("body");
                match Frame::decode(&bytes, &Limits::default()).expect("ack").payload {
                    Payload::Ack(a) => assert!(a.requests.is_empty(), "{location}: {a:?}"),
                    _ => panic!("not an ack"),
                }
            }
        })
        .buffer_unordered(in_flight)
        .collect::<Vec<()>>()
        .await;
    results.len()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("numeric argument")).collect();
    let locations = args.first().copied().unwrap_or(1000);
    let services = args.get(1).copied().unwrap_or(1000);
    let rounds = args.get(2).copied().unwrap_or(2) as u64;
    let in_flight = args.get(3).copied().unwrap_or(32);
    let names: Vec<String> = (0..locations).map(|i| format!("L{i:04}")).collect();

    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut config = format!(
        "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
         [rate_limit]\nper_second = 100000\nburst = 100000\n"
    );
    for n in &names {
        config += &format!(
            "[[satellites]]\nlocation = \"{n}\"\ntoken_sha256 = \"{}\"\n",
            hex::encode(Sha256::digest(key(n).as_bytes()))
        );
    }
    std::fs::write(dir.path().join("noc.toml"), config)?;
    let mut child = support::start_noc(&dir.path().join("noc.toml"), port).await?;
    let pid = child.id();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(120)).build()?;
    let (rss0, _) = rss_kib(pid);
    let objects_per_location = snapshot("X", services, 0).objects.len();
    let total_objects = objects_per_location * locations;
    println!("locations={locations} services={services} objects={total_objects} rounds={rounds} in_flight={in_flight}");

    let gen_start = Instant::now();
    let fulls: Vec<(String, Vec<u8>)> = names
        .iter()
        .map(|n| {
            let f = Frame { location: n.clone(), epoch: 1, seq: 1, payload: Payload::Full(snapshot(n, services, 0)) };
            (n.clone(), f.encode().expect("encode"))
        })
        .collect();
    let full_bytes: usize = fulls.iter().map(|(_, b)| b.len()).sum();
    println!("generated full snapshots in {:?} ({} bytes on the wire)", gen_start.elapsed(), full_bytes);
    let t = Instant::now();
    let cpu = support::cpu_secs(pid);
    let n = send_all(&client, port, fulls, in_flight).await;
    let el = t.elapsed().as_secs_f64();
    let cpu = support::cpu_secs(pid) - cpu;
    let (rss, hwm) = rss_kib(pid);
    println!(
        "full: {n} frames, {total_objects} creates in {el:.2} s = {:.0} objects/s, {:.0} frames/s; \
         NOC CPU {cpu:.2} s = {:.2} µs per object",
        total_objects as f64 / el,
        n as f64 / el,
        cpu * 1e6 / total_objects as f64
    );
    println!(
        "noc RSS {} MiB (idle {} MiB, peak {} MiB) = {:.1} MiB per 100k objects",
        rss / 1024,
        rss0 / 1024,
        hwm / 1024,
        (rss as f64 / 1024.0) / (total_objects as f64 / 100_000.0)
    );

    for round in 1..=rounds {
        let gen_start = Instant::now();
        let deltas: Vec<(String, Vec<u8>)> = names
            .iter()
            .map(|n| {
                let d = outpost_format::delta::make(
                    &snapshot(n, services, round - 1),
                    round,
                    &snapshot(n, services, round),
                );
                let f = Frame { location: n.clone(), epoch: 1, seq: round + 1, payload: Payload::Delta(d) };
                (n.clone(), f.encode().expect("encode"))
            })
            .collect();
        let bytes: usize = deltas.iter().map(|(_, b)| b.len()).sum();
        println!("round {round}: generated {} deltas in {:?} ({bytes} bytes)", deltas.len(), gen_start.elapsed());
        let t = Instant::now();
        let cpu = support::cpu_secs(pid);
        let n = send_all(&client, port, deltas, in_flight).await;
        let el = t.elapsed().as_secs_f64();
        let cpu = support::cpu_secs(pid) - cpu;
        // Every object changed (new last_check and output): one durable update each.
        println!(
            "delta round {round}: {n} frames, {total_objects} object updates in {el:.2} s = {:.0} updates/s, \
             {:.0} frames/s; NOC CPU {cpu:.2} s = {:.2} µs per update",
            total_objects as f64 / el,
            n as f64 / el,
            cpu * 1e6 / total_objects as f64
        );
    }
    let (rss, hwm) = rss_kib(pid);
    println!(
        "after deltas: noc RSS {} MiB, peak {} MiB = {:.1} MiB per 100k objects (peak)",
        rss / 1024,
        hwm / 1024,
        (hwm as f64 / 1024.0) / (total_objects as f64 / 100_000.0)
    );
    let db = dir.path().join("data/noc.db");
    let size = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0);
    println!("store size {} MiB", size >> 20);
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    child.wait()?;
    Ok(())
}
