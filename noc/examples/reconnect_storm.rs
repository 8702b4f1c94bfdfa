//! Resource bounds of the NOC (issue #8, part 4): `--satellites` satellites (default 1,000) reconnect at the
//! same instant, as after a NOC restart or a WAN outage, each sending a full snapshot and then a batch of the
//! events it spooled meanwhile, retrying on 429/503 after `Retry-After` as the real sender does. Records the
//! answers by status, how long until every satellite was through, whether `/healthz` kept answering, and the
//! NOC's resident memory. `--rounds` repeats the storm (the next outage: a new snapshot, the next events), so
//! memory that grows per storm shows. At the end every satellite's objects and a sample of event logs are
//! read back. Exits 1 if the NOC died, a satellite never got through, data is missing, or memory passed the bound.
//!
//! `cargo build -p outpost-noc --bins --examples && target/debug/examples/reconnect_storm --satellites 1000`
//! Results: docs/reliability.md.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_format::event::Lifecycle;
use outpost_format::frame::Payload;
use outpost_format::model::{Object, ObjectKey, Snapshot};
use outpost_format::{Event, EventKind, Frame};
use sha2::{Digest, Sha256};
use tokio::sync::{Barrier, Mutex};

const OPERATOR_TOKEN: &str = "storm-operator";

struct Args {
    satellites: usize,
    services: usize,
    events: u64,
    rounds: u64,
    max_rss_mib: u64,
}

fn parse() -> Args {
    let mut a = Args { satellites: 1000, services: 100, events: 200, rounds: 3, max_rss_mib: 1024 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let v: u64 = it.next().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
            eprintln!("reconnect_storm: {flag} needs a whole number\nusage: reconnect_storm [--satellites 1000] [--services 100] [--events 200] [--rounds 3] [--max-rss-mib 1024]");
            std::process::exit(2)
        });
        match flag.as_str() {
            "--satellites" => a.satellites = v as usize,
            "--services" => a.services = v as usize,
            "--events" => a.events = v,
            "--rounds" => a.rounds = v.max(1),
            "--max-rss-mib" => a.max_rss_mib = v,
            _ => {
                eprintln!("reconnect_storm: unknown argument {flag:?}");
                std::process::exit(2)
            }
        }
    }
    a
}

fn key(location: &str) -> String {
    format!("storm-key-{location}")
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// Round `round`'s frames: snapshot seq `round`, events `(round - 1) * events + 1 ..= round * events`.
fn frames(location: &str, services: usize, events: u64, round: u64) -> [Vec<u8>; 2] {
    let mut objects = outpost_format::ObjectMap::new();
    for i in 0..services {
        let mut o = Object::default();
        o.status.state = (i % 4 == 0) as u8;
        o.status.output = format!("svc{i} after outage {round}").into();
        objects.insert(ObjectKey::service(format!("host{:02}", i / 10), format!("svc{i:03}")), o);
    }
    let now = 1_800_000_000_000;
    let snap = Snapshot { location: location.to_string(), taken_at: now, objects };
    let full = Frame { location: location.into(), epoch: 7, seq: round, payload: Payload::Full(snap) };
    let evs = ((round - 1) * events + 1..=round * events)
        .map(|seq| Event {
            seq,
            time: now + seq as i64,
            kind: EventKind::Lifecycle(Lifecycle::NocReconnected { outage_ms: seq }),
        })
        .collect();
    // An event batch's frame seq is the seq of its last event.
    let batch = Frame { location: location.into(), epoch: 7, seq: round * events, payload: Payload::Events(evs) };
    [full.encode().expect("encode full"), batch.encode().expect("encode events")]
}

#[derive(Default)]
struct Tally {
    status: BTreeMap<String, u64>,
    through: u64,
    gave_up: u64,
    slowest: Duration,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let a = parse();
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    // The NOC's default rate limits: the storm meets what production would.
    let mut config = format!(
        "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n[api]\ntokens_sha256 = [\"{}\"]\n",
        sha(OPERATOR_TOKEN)
    );
    let names: Vec<String> = (0..a.satellites).map(|i| format!("R{i:04}")).collect();
    for n in &names {
        config += &format!("[[satellites]]\nlocation = \"{n}\"\ntoken_sha256 = \"{}\"\n", sha(&key(n)));
    }
    std::fs::write(dir.path().join("noc.toml"), config)?;
    let noc_bin = std::env::current_exe()?.parent().and_then(|p| p.parent()).expect("target dir").join("noc");
    let mut child = Command::new(&noc_bin)
        .args(["serve", "--config"])
        .arg(dir.path().join("noc.toml"))
        .env("NOC_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    let pid = child.id();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (idle, _) = rss_kib(pid).unwrap_or_default();
    println!(
        "{} satellites x {} services, {} events each, all at once; NOC idle RSS {} MiB",
        a.satellites,
        a.services,
        a.events,
        idle >> 10
    );
    let client = reqwest::Client::builder().timeout(Duration::from_secs(60)).pool_max_idle_per_host(0).build()?;
    let tally = Arc::new(Mutex::new(Tally::default()));
    let (mut peak, mut health_fail, mut health_ok) = (0u64, 0u64, 0u64);
    for round in 1..=a.rounds {
        let bodies: Vec<[Vec<u8>; 2]> = names.iter().map(|n| frames(n, a.services, a.events, round)).collect();
        let barrier = Arc::new(Barrier::new(a.satellites));
        let url = format!("http://127.0.0.1:{port}/api/v1/frames");
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (name, [full, events]) in names.iter().cloned().zip(bodies) {
            let (client, tally, barrier, url) = (client.clone(), tally.clone(), barrier.clone(), url.clone());
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let t = Instant::now();
                for body in [full, events] {
                    let mut attempts = 0;
                    loop {
                        attempts += 1;
                        let r = client
                            .post(&url)
                            .bearer_auth(key(&name))
                            .header("X-Outpost-Location", &name)
                            .body(body.clone())
                            .send()
                            .await;
                        let (label, retry_after) = match r {
                            Ok(resp) => {
                                let s = resp.status().as_u16();
                                let wait = resp
                                    .headers()
                                    .get("retry-after")
                                    .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                                    .unwrap_or(1);
                                match s {
                                    200 => (s.to_string(), None),
                                    429 | 503 => (s.to_string(), Some(wait)),
                                    // Anything else is a refusal a retry would not fix.
                                    _ => (format!("{s} {}", resp.text().await.unwrap_or_default()), Some(u64::MAX)),
                                }
                            }
                            Err(e) if e.is_timeout() => ("timeout".to_string(), Some(1)),
                            Err(_) => ("connection error".to_string(), Some(1)),
                        };
                        *tally.lock().await.status.entry(label).or_default() += 1;
                        match retry_after {
                            None => break,
                            Some(secs) if attempts >= 30 || secs == u64::MAX => {
                                tally.lock().await.gave_up += 1;
                                return;
                            }
                            Some(secs) => tokio::time::sleep(Duration::from_secs(secs.clamp(1, 10))).await,
                        }
                    }
                }
                let mut t2 = tally.lock().await;
                t2.through += 1;
                t2.slowest = t2.slowest.max(t.elapsed());
            }));
        }
        // Meanwhile: is the NOC still answering, and how much memory does it take?
        while tasks.iter().any(|t| !t.is_finished()) {
            tokio::time::sleep(Duration::from_millis(250)).await;
            if let Some((rss, hwm)) = rss_kib(pid) {
                peak = peak.max(rss).max(hwm);
            }
            let h = client.get(format!("http://127.0.0.1:{port}/healthz")).timeout(Duration::from_secs(5)).send().await;
            if h.is_ok_and(|r| r.status().is_success()) {
                health_ok += 1;
            } else {
                health_fail += 1;
            }
        }
        for t in tasks {
            t.await?;
        }
        let (rss, _) = rss_kib(pid).unwrap_or_default();
        println!(
            "round {round}: through in {:.1} s; NOC RSS now {} MiB, peak so far {} MiB",
            start.elapsed().as_secs_f64(),
            rss >> 10,
            peak >> 10
        );
    }
    let alive = child.try_wait()?.is_none();
    let events = client
        .get(format!("http://127.0.0.1:{port}/api/v1/events?limit=1"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await
        .map(|r| r.status().is_success())
        .unwrap_or(false);
    let (rss_after, hwm) = rss_kib(pid).unwrap_or_default();
    peak = peak.max(hwm);
    let t = tally.lock().await;
    println!("slowest satellite of any round: {:.1} s", t.slowest.as_secs_f64());
    println!("answers: {:?}", t.status);
    println!(
        "satellites through: {} of {} (all rounds), gave up: {}",
        t.through,
        a.satellites as u64 * a.rounds,
        t.gave_up
    );
    // Read back: every satellite's objects, and the full event log of a sample of them.
    let locs: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/locations"))
        .bearer_auth(OPERATOR_TOKEN)
        .send()
        .await?
        .json()
        .await?;
    let objects: u64 = locs.as_array().map_or(0, |l| l.iter().filter_map(|r| r["objects"].as_u64()).sum());
    let mut sample_events = 0;
    for n in names.iter().step_by((a.satellites / 10).max(1)) {
        let v: serde_json::Value = client
            .get(format!("http://127.0.0.1:{port}/api/v1/events?location={n}&limit=100000"))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await?
            .json()
            .await?;
        let seqs: Vec<u64> =
            v["items"].as_array().map_or(Vec::new(), |i| i.iter().filter_map(|e| e["seq"].as_u64()).collect());
        let mut sorted = seqs.clone();
        sorted.sort_unstable();
        if sorted == (1..=a.rounds * a.events).collect::<Vec<_>>() {
            sample_events += 1;
        }
    }
    let sampled = a.satellites.div_ceil((a.satellites / 10).max(1));
    let data_ok = objects == (a.satellites * a.services) as u64 && sample_events == sampled;
    println!(
        "read back: {objects} objects (expected {}), {sample_events} of {sampled} sampled event logs complete",
        a.satellites * a.services
    );
    println!("healthz during the storm: {health_ok} ok, {health_fail} failed");
    println!(
        "NOC RSS: idle {} MiB, peak {} MiB, after {} MiB; alive: {alive}; API answers: {events}",
        idle >> 10,
        peak >> 10,
        rss_after >> 10
    );
    let ok = alive && data_ok && t.through == a.satellites as u64 * a.rounds && peak >> 10 <= a.max_rss_mib;
    println!("{}", if ok { "RESULT: PASS" } else { "RESULT: FAIL" });
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child.
    unsafe {
        libc::kill(pid as i32, libc::SIGTERM);
    }
    child.wait()?;
    std::process::exit(if ok { 0 } else { 1 });
}
