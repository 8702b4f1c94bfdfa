//! Web view benchmark: the operator API requests the web view makes, and `/metrics`, against a real `noc serve`
//! child process holding 100,000+ objects, plus `noc backup` of that store.
//!
//! Run (release, from the workspace root):
//! `cargo build --release -p outpost-noc --bins --examples && target/release/examples/web_bench 100000 7`
//! Arguments: services at FRA1 (default 100,000; 2% CRITICAL), requests per endpoint (default 7), `compare` to
//! measure again after dropping the `objects_health` index (schema migration 3) from the running NOC's store, and
//! `hold` to keep the NOC running afterwards for manual `curl` (the token is printed). BER2 adds 300 services.
//! For each endpoint it prints the median and maximum wall time (one keep-alive connection, loopback) and the
//! NOC's CPU time per request, which a loaded host disturbs less. Results: docs/benchmarks.md, "Web view".

use std::process::Command;
use std::time::{Duration, Instant};

#[path = "support/mod.rs"]
mod support;

use outpost_format::Frame;
use outpost_format::frame::Payload;
use sha2::{Digest, Sha256};

const TOKEN: &str = "web-bench-operator";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn load(client: &reqwest::Client, port: u16, location: &str, services: usize, seed: u64) {
    let mut snap = outpost_format::sitegen::site(services, seed);
    snap = outpost_format::sitegen::change_states(&snap, 0.02, seed);
    snap.location = location.to_string();
    let frame = Frame { location: location.into(), epoch: 1, seq: 1, payload: Payload::Full(snap) };
    let t = Instant::now();
    let resp = client
        .post(format!("http://127.0.0.1:{port}/api/v1/frames"))
        .bearer_auth(format!("key-{location}"))
        .header("X-Outpost-Location", location)
        .header("X-Outpost-Ship-Interval", "3600")
        .body(frame.encode().expect("encode"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200, "{location}");
    println!("loaded {location}: {services} services in {:.1} s", t.elapsed().as_secs_f64());
}

/// Times each endpoint the web view uses `runs` times and prints a Markdown table.
async fn measure(client: &reqwest::Client, port: u16, pid: u32, services: usize, runs: usize) -> anyhow::Result<()> {
    let last_page = services / 100 * 100;
    let endpoints = [
        "/api/v1/locations".to_string(),
        "/api/v1/objects?problems=true&limit=50".into(),
        "/api/v1/objects?limit=100".into(),
        format!("/api/v1/objects?limit=100&offset={last_page}"),
        "/api/v1/objects?location=FRA1&q=srv08123&limit=100".into(),
        "/api/v1/objects?problems=true&state=2&limit=100".into(),
        "/api/v1/events?limit=100".into(),
        "/api/v1/satellites".into(),
        "/metrics".into(),
    ];
    println!("| request | median | max | NOC CPU per request |\n|---|---|---|---|");
    for path in &endpoints {
        let url = format!("http://127.0.0.1:{port}{path}");
        let mut times = Vec::with_capacity(runs);
        let cpu0 = support::cpu_secs(pid);
        for _ in 0..runs {
            let t = Instant::now();
            let resp = client.get(&url).bearer_auth(TOKEN).send().await?;
            assert_eq!(resp.status(), 200, "{path}");
            resp.bytes().await?;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
        }
        let cpu = (support::cpu_secs(pid) - cpu0) * 1000.0 / runs as f64;
        times.sort_by(f64::total_cmp);
        println!("| `{path}` | {:.1} ms | {:.1} ms | {cpu:.1} ms |", times[runs / 2], times[runs - 1]);
    }

    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let services: usize = args.first().map_or(100_000, |a| a.parse().expect("services"));
    let runs: usize = args.get(1).map_or(7, |a| a.parse().expect("runs"));
    let hold = args.iter().any(|a| a == "hold");

    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut config = format!(
        "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
         [rate_limit]\nper_second = 100000\nburst = 100000\n[api]\ntokens_sha256 = [\"{}\"]\n",
        sha(TOKEN)
    );
    for l in ["FRA1", "BER2"] {
        config += &format!("[[satellites]]\nlocation = \"{l}\"\ntoken_sha256 = \"{}\"\n", sha(&format!("key-{l}")));
    }
    let config_path = dir.path().join("noc.toml");
    std::fs::write(&config_path, config)?;
    let mut child = support::start_noc(&config_path, port).await?;
    let pid = child.id();
    let client = reqwest::Client::builder().timeout(Duration::from_secs(300)).build()?;
    load(&client, port, "FRA1", services, 1).await;
    load(&client, port, "BER2", 300, 2).await;
    measure(&client, port, pid, services, runs).await?;
    if args.iter().any(|a| a == "compare") {
        let db = rusqlite::Connection::open(dir.path().join("data/noc.db"))?;
        db.busy_timeout(Duration::from_secs(10))?;
        db.execute_batch("DROP INDEX objects_health")?;
        println!("\nwithout the objects_health index:");
        measure(&client, port, pid, services, runs).await?;
    }

    let backup = dir.path().join("backup.db");
    let t = Instant::now();
    let out = Command::new(support::bin_dir().join("noc"))
        .args(["backup", "--config"])
        .arg(&config_path)
        .arg("--to")
        .arg(&backup)
        .output()?;
    assert!(out.status.success(), "noc backup: {}", String::from_utf8_lossy(&out.stderr));
    let db_bytes = std::fs::metadata(dir.path().join("data/noc.db"))?.len();
    println!(
        "noc backup: {:.2} s, store {} MiB -> backup {} MiB ({})",
        t.elapsed().as_secs_f64(),
        db_bytes >> 20,
        std::fs::metadata(&backup)?.len() >> 20,
        String::from_utf8_lossy(&out.stdout).trim()
    );

    if hold {
        println!("holding: http://127.0.0.1:{port}/ token {TOKEN}; Ctrl-C to stop");
        tokio::signal::ctrl_c().await?;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    child.wait()?;
    Ok(())
}
