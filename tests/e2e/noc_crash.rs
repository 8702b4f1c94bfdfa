//! The NOC killed with SIGKILL in the middle of a stream and restarted: the state is exact.
//! Every frame the satellite side sent is resent from the first unacknowledged one, as a satellite would:
//! nothing is lost, nothing is applied twice.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use outpost_format::event::{EventKind, StateChange};
use outpost_format::frame::{Ack, Payload};
use outpost_format::model::{Object, ObjectKey, Snapshot, StateType};
use outpost_format::{Event, Frame, Limits, Stream};
use outpost_tests::{bin, free_port, wait_for};
use sha2::{Digest, Sha256};

pub(super) const KEY: &str = "crash-test-satellite-key";
pub(super) const API: &str = "crash-test-operator-token";
pub(super) const EPOCH: u64 = 42;
pub(super) const SERVICES: usize = 200;
pub(super) const ROUNDS: u64 = 60;

pub(super) fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub(super) fn start_noc(config: &Path, port: u16) -> Child {
    let child = Command::new(bin("noc"))
        .args(["serve", "--config"])
        .arg(config)
        .env("NOC_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start noc");
    wait_for("noc /healthz", Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).ok());
    child
}

/// A plain-HTTP NOC config on 127.0.0.1 with FRA1 as a pre-shared satellite; returns its path.
pub(super) fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let config = dir.join("noc.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
             [api]\ntokens_sha256 = [\"{}\"]\n[[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{}\"\n\
             [rate_limit]\nper_second = 10000\nburst = 10000\n",
            sha(API),
            sha(KEY)
        ),
    )
    .expect("write config");
    config
}

pub(super) fn snapshot(round: u64) -> Snapshot {
    let mut objects = outpost_format::ObjectMap::new();
    objects.insert(ObjectKey::host("web01"), Object::default());
    for i in 0..SERVICES {
        let mut o = Object::default();
        // Each round changes a different slice of services.
        o.status.state = (i as u64 + round).is_multiple_of(4) as u8 * 2;
        o.status.output = format!("svc{i} round {round}").into();
        o.status.last_check = 1_700_000_000_000 + round as i64;
        objects.insert(ObjectKey::service("web01", format!("svc{i:03}")), o);
    }
    Snapshot { location: "FRA1".into(), taken_at: 1_700_000_000_000 + round as i64, objects }
}

/// The frames a satellite would send, in order: a full snapshot, then per round a delta and an event batch.
pub(super) fn frames() -> Vec<Frame> {
    let mut out = vec![Frame { location: "FRA1".into(), epoch: EPOCH, seq: 1, payload: Payload::Full(snapshot(1)) }];
    let mut event_seq = 0;
    for round in 2..=ROUNDS {
        let d = outpost_format::delta::make(&snapshot(round - 1), round - 1, &snapshot(round));
        out.push(Frame { location: "FRA1".into(), epoch: EPOCH, seq: round, payload: Payload::Delta(d) });
        let events: Vec<Event> = (0..5)
            .map(|i| {
                event_seq += 1;
                Event {
                    seq: event_seq,
                    // Older than this round's snapshot (sent just before), so the snapshot's state stands.
                    time: 1_700_000_000_000 + round as i64 - 1,
                    kind: EventKind::CheckResult(StateChange {
                        key: ObjectKey::service("web01", format!("svc{i:03}")),
                        state: 0,
                        previous_state: 0,
                        state_type: StateType::Hard,
                        attempt: 1,
                        max_attempts: 1,
                        output: format!("passive {event_seq}"),
                        long_output: String::new(),
                        perfdata: String::new(),
                    }),
                }
            })
            .collect();
        out.push(Frame { location: "FRA1".into(), epoch: EPOCH, seq: event_seq, payload: Payload::Events(events) });
    }
    out
}

pub(super) async fn send(client: &reqwest::Client, port: u16, frame: &Frame) -> Result<Ack, String> {
    let resp = client
        .post(format!("http://127.0.0.1:{port}/api/v1/frames"))
        .bearer_auth(KEY)
        .header("X-Outpost-Location", "FRA1")
        .header("X-Outpost-Ship-Interval", "3600")
        .body(frame.encode().map_err(|e| e.to_string())?)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status() != 200 {
        return Err(format!("status {}", resp.status()));
    }
    let body = resp.bytes().await.map_err(|e| e.to_string())?;
    match Frame::decode(&body, &Limits::default()).map_err(|e| e.to_string())?.payload {
        Payload::Ack(a) => Ok(a),
        _ => Err("not an ack".into()),
    }
}

pub(super) fn acked(ack: &Ack, stream: Stream) -> u64 {
    ack.acks.iter().find(|a| a.stream == stream && a.epoch == EPOCH).map_or(0, |a| a.seq)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn noc_killed_mid_stream_restarts_with_exact_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let frames = frames();
    let kill_at: BTreeSet<usize> = [25, 60, 95].into();
    let mut noc = start_noc(&config, port);
    let mut next = 0usize;
    let mut kills = 0;
    while next < frames.len() {
        if kill_at.contains(&next) && kills < kill_at.len() && kill_at.iter().nth(kills) == Some(&next) {
            // Send the frame and kill the NOC while the request is in flight.
            let c = client.clone();
            let f = frames[next].clone();
            let inflight = tokio::spawn(async move { send(&c, port, &f).await });
            tokio::time::sleep(Duration::from_millis(2 + kills as u64 * 3)).await;
            // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child.
            unsafe {
                libc::kill(noc.id() as i32, libc::SIGKILL);
            }
            noc.wait().expect("reap killed noc");
            let _ = inflight.await;
            kills += 1;
            noc = start_noc(&config, port);
            // Resend from the first frame not known to be acknowledged: `next` itself (maybe a duplicate now).
        }
        let ack = send(&client, port, &frames[next]).await.unwrap_or_else(|e| panic!("frame {next}: {e}"));
        let f = &frames[next];
        let stream = if matches!(f.payload, Payload::Events(_)) { Stream::Events } else { Stream::Snapshots };
        assert_eq!(acked(&ack, stream), f.seq, "frame {next} acknowledged: {ack:?}");
        assert!(ack.requests.is_empty(), "frame {next}: {ack:?}");
        next += 1;
    }
    assert_eq!(kills, 3);

    // The objects are exactly the last snapshot: every passive result is older than the snapshot after it.
    let resp: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/objects?limit=10000"))
        .bearer_auth(API)
        .send()
        .await
        .expect("objects")
        .json()
        .await
        .expect("json");
    let expected = snapshot(ROUNDS);
    assert_eq!(resp["total"], expected.objects.len());
    for item in resp["items"].as_array().expect("items") {
        let name = item["name"].as_str().expect("name");
        let key = match name.strip_prefix("FRA1_web01/") {
            Some(svc) => ObjectKey::service("web01", svc),
            None => ObjectKey::host("web01"),
        };
        let o = &expected.objects[&key];
        assert_eq!(item["state"], o.status.state, "{name}");
        assert_eq!(item["output"], o.status.output.as_str(), "{name}");
    }
    // Every event exactly once.
    let resp: serde_json::Value = client
        .get(format!("http://127.0.0.1:{port}/api/v1/events?limit=10000&after_id=0"))
        .bearer_auth(API)
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let seqs: Vec<u64> =
        resp["items"].as_array().expect("items").iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    let total = (ROUNDS - 1) * 5;
    assert_eq!(seqs, (1..=total).collect::<Vec<_>>());
    unsafe {
        libc::kill(noc.id() as i32, libc::SIGTERM);
    }
    let status = noc.wait().expect("wait");
    assert!(status.success(), "graceful stop after SIGTERM: {status:?}");
}
