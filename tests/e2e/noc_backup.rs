//! The backup and restore procedure of docs/operations.md, for real: `noc backup` of a NOC that is applying
//! frames, `noc restore` into a fresh data directory, and the restored NOC carries on with the satellite's next
//! frames: the same objects and events as the backup, duplicates not applied twice, and the events the lost store
//! had acknowledged (gone from the satellite's spool) skipped once instead of refused as a gap forever.
//! Also: a store written by a newer schema is refused, by `noc restore` and by `noc serve`, with a clear message.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use outpost_format::event::{EventKind, StateChange};
use outpost_format::frame::{NocRequest, Payload};
use outpost_format::model::{ObjectKey, StateType};
use outpost_format::{Event, Frame, Stream};
use outpost_tests::{bin, free_port};

use super::noc_crash::{API, EPOCH, ROUNDS, acked, frames, send, snapshot, start_noc, write_config};

fn noc(args: &[&str], config: &Path) -> Output {
    Command::new(bin("noc")).args(args).arg("--config").arg(config).env("NOC_LOG", "warn").output().expect("run noc")
}

async fn get(client: &reqwest::Client, port: u16, path: &str) -> serde_json::Value {
    let resp = client.get(format!("http://127.0.0.1:{port}{path}")).bearer_auth(API).send().await.expect("get");
    assert_eq!(resp.status(), 200, "{path}");
    resp.json().await.expect("json")
}

/// (epoch, seq) of every event in the log, oldest first.
async fn event_ids(client: &reqwest::Client, port: u16) -> Vec<(u64, u64)> {
    let v = get(client, port, "/api/v1/events?limit=10000&after_id=0").await;
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (e["epoch"].as_u64().expect("epoch"), e["seq"].as_u64().expect("seq")))
        .collect()
}

/// name -> (state, output) of every object.
async fn objects(client: &reqwest::Client, port: u16) -> Vec<(String, u64, String)> {
    let v = get(client, port, "/api/v1/objects?limit=10000").await;
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|o| {
            (
                o["name"].as_str().expect("name").to_string(),
                o["state"].as_u64().expect("state"),
                o["output"].to_string(),
            )
        })
        .collect()
}

fn stop(mut child: std::process::Child) {
    // SAFETY: kill(2) has no memory-safety preconditions; the pid is our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let status = child.wait().expect("wait for noc");
    assert!(status.success(), "noc stops cleanly on SIGTERM: {status:?}");
}

fn events_frame(seqs: std::ops::RangeInclusive<u64>) -> Frame {
    let events: Vec<Event> = seqs
        .clone()
        .map(|seq| Event {
            seq,
            time: 1_700_000_100_000 + seq as i64,
            kind: EventKind::CheckResult(StateChange {
                key: ObjectKey::service("web01", "svc000"),
                state: 1,
                previous_state: 0,
                state_type: StateType::Hard,
                attempt: 1,
                max_attempts: 1,
                output: format!("after restore {seq}"),
                long_output: String::new(),
                perfdata: String::new(),
            }),
        })
        .collect();
    Frame { location: "FRA1".into(), epoch: EPOCH, seq: *seqs.end(), payload: Payload::Events(events) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_of_a_running_noc_restores_and_carries_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let old_dir = dir.path().join("old");
    std::fs::create_dir_all(&old_dir).expect("mkdir");
    let config = write_config(&old_dir, port);
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().expect("client");
    let frames = frames();
    let noc_old = start_noc(&config, port);
    let (a, b) = (frames.len() / 3, frames.len() * 2 / 3);
    for f in &frames[..a] {
        send(&client, port, f).await.expect("send");
    }
    // Back up while more of the stream is being applied ...
    let sender = {
        let (client, more) = (client.clone(), frames[a..b].to_vec());
        tokio::spawn(async move {
            for f in &more {
                send(&client, port, f).await.expect("send");
            }
        })
    };
    let backup = dir.path().join("noc-backup.db");
    let out = noc(&["backup", "--to", backup.to_str().expect("utf-8 path")], &config);
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("objects") && printed.contains("events"), "{printed}");
    sender.await.expect("sender");
    // ... and after it: the old NOC acknowledges these, so the satellite deletes them, and the backup lacks them.
    for f in &frames[b..] {
        send(&client, port, f).await.expect("send");
    }
    let out = noc(&["backup", "--to", backup.to_str().expect("utf-8 path")], &config);
    assert!(!out.status.success(), "a second backup to the same file is refused");

    // Restore refuses while the NOC answers on its address.
    let out = noc(&["restore", "--from", backup.to_str().expect("utf-8 path")], &config);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("stop the NOC first"), "{out:?}");
    // Everything was acknowledged by the old NOC: the satellite has deleted all of it.
    let all_events = event_ids(&client, port).await;
    let newest = get(&client, port, "/api/v1/events?limit=1").await["items"][0]["id"].as_i64().expect("id");
    assert_eq!(all_events.len() as u64, (ROUNDS - 1) * 5);
    stop(noc_old);

    // A new host: fresh directory, same port, the backup restored.
    let new_dir = dir.path().join("new");
    std::fs::create_dir_all(&new_dir).expect("mkdir");
    let config = write_config(&new_dir, port);
    let out = noc(&["restore", "--from", backup.to_str().expect("utf-8 path")], &config);
    assert!(out.status.success(), "restore: {}", String::from_utf8_lossy(&out.stderr));
    let noc_new = start_noc(&config, port);

    // The restored log is a prefix of what was acknowledged: one commit's state, no hole, no duplicate.
    let restored = event_ids(&client, port).await;
    assert!(!restored.is_empty() && restored.len() < all_events.len(), "backup taken mid-stream: {}", restored.len());
    assert_eq!(restored[..], all_events[..restored.len()]);

    // A resent old frame is a duplicate: nothing applied twice.
    let ack = send(&client, port, &frames[2]).await.expect("duplicate");
    assert!(ack.requests.is_empty(), "{ack:?}");
    assert_eq!(event_ids(&client, port).await, restored);
    // The objects are those of the snapshot the restored store last applied (its acknowledgement says which):
    // one consistent commit, not a mix of rounds.
    let round = acked(&ack, Stream::Snapshots);
    assert!(round >= 2, "{ack:?}");
    let want: Vec<(String, u64, String)> = snapshot(round)
        .objects
        .iter()
        .map(|(k, o)| {
            let name = match &k.service {
                Some(svc) => format!("FRA1_web01/{svc}"),
                None => "FRA1_web01".to_string(),
            };
            (name, u64::from(o.status.state), format!("{:?}", o.status.output))
        })
        .collect();
    let mut got = objects(&client, port).await;
    got.sort();
    assert_eq!(got, want);

    // The satellite's next events start after what the old NOC acknowledged: applied, the hole noted once.
    let last = (ROUNDS - 1) * 5;
    let ack = send(&client, port, &events_frame(last + 1..=last + 3)).await.expect("next events");
    assert_eq!(acked(&ack, Stream::Events), last + 3, "{ack:?}");
    assert!(ack.notes.iter().any(|n| n.contains("restored from a backup")), "{ack:?}");
    let after: Vec<(u64, u64)> = event_ids(&client, port).await;
    let mut want = restored.clone();
    want.extend((last + 1..=last + 3).map(|s| (EPOCH, s)));
    assert_eq!(after, want);
    assert_eq!(after.iter().collect::<BTreeSet<_>>().len(), after.len(), "no event twice");
    // Event ids jumped past any the lost store handed out: an id never names two different events.
    let first_new = get(&client, port, "/api/v1/events?limit=3").await["items"][2]["id"].as_i64().expect("id");
    assert!(first_new > newest, "id {first_new} after the restore, {newest} before it");
    // The allowance is used up: a later gap is refused as usual.
    let ack = send(&client, port, &events_frame(last + 10..=last + 10)).await.expect("gap");
    assert!(ack.requests.iter().any(|r| matches!(r, NocRequest::Gap { .. })), "{ack:?}");

    // Snapshots: the next delta's base is gone with the lost store, so the NOC asks for a full one and takes it.
    let d = outpost_format::delta::make(&snapshot(ROUNDS), ROUNDS, &snapshot(ROUNDS + 1));
    let delta = Frame { location: "FRA1".into(), epoch: EPOCH, seq: ROUNDS + 1, payload: Payload::Delta(d) };
    let ack = send(&client, port, &delta).await.expect("delta");
    assert!(ack.requests.iter().any(|r| matches!(r, NocRequest::FullSnapshot)), "{ack:?}");
    let full =
        Frame { location: "FRA1".into(), epoch: EPOCH, seq: ROUNDS + 2, payload: Payload::Full(snapshot(ROUNDS + 2)) };
    let ack = send(&client, port, &full).await.expect("full");
    assert_eq!(acked(&ack, Stream::Snapshots), ROUNDS + 2, "{ack:?}");
    let expected = snapshot(ROUNDS + 2);
    let objects_now = objects(&client, port).await;
    assert_eq!(objects_now.len(), expected.objects.len());
    let svc5 = objects_now.iter().find(|o| o.0 == "FRA1_web01/svc005").expect("svc005");
    assert_eq!(svc5.2, format!("\"svc5 round {}\"", ROUNDS + 2));
    stop(noc_new);
}

#[test]
fn a_store_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let config = write_config(dir.path(), port);
    let noc_proc = start_noc(&config, port);
    let backup = dir.path().join("b.db");
    let out = noc(&["backup", "--to", backup.to_str().expect("utf-8 path")], &config);
    assert!(out.status.success(), "backup: {}", String::from_utf8_lossy(&out.stderr));
    stop(noc_proc);
    // A newer noc would have raised `PRAGMA user_version`: bytes 60..64 of the database header, big-endian.
    let mut bytes = std::fs::read(&backup).expect("read backup");
    let version = u32::from_be_bytes(bytes[60..64].try_into().expect("4 bytes"));
    assert!(version >= 1, "the backup carries the schema version");
    bytes[60..64].copy_from_slice(&(version + 1).to_be_bytes());
    std::fs::write(&backup, &bytes).expect("write");

    let out = noc(&["restore", "--from", backup.to_str().expect("utf-8 path")], &config);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this build"), "{err}");

    // The same file put in place by hand: the daemon refuses to start and says why.
    let db = dir.path().join("data/noc.db");
    for ext in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(dir.path().join(format!("data/noc.db{ext}")));
    }
    std::fs::copy(&backup, &db).expect("put in place");
    let out = Command::new(bin("noc")).args(["serve", "--config"]).arg(&config).output().expect("serve");
    assert!(!out.status.success(), "serve must refuse a newer store");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("newer than this build") && err.contains("run a newer noc"), "{err}");
    // Nothing was written to it.
    let after = std::fs::read(&db).expect("read");
    assert_eq!(u32::from_be_bytes(after[60..64].try_into().expect("4 bytes")), version + 1);
}
