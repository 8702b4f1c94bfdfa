//! Ingest over HTTPS, end to end inside one process: two fixture satellites' frames become prefixed objects
//! and events; every bad input is refused with the right status, applies nothing, and the NOC keeps serving.

mod common;

use common::*;
use outpost_format::Stream;
use outpost_format::frame::NocRequest;

const EPOCH: u64 = 0x1111;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_satellites_create_update_delete_with_prefixes() {
    let noc = TestNoc::start("", "").await;
    let fra1 = snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 2), ("db01", "", 0)]);
    let ber2 = snapshot("BER2", &[("web01", "", 0), ("web01", "HTTP", 0)]);
    let (status, ack) = noc.send(&full("FRA1", EPOCH, 1, fra1.clone())).await;
    assert_eq!(status, 200);
    assert_eq!(acked(&ack.expect("ack"), Stream::Snapshots), 1);
    let (status, _) = noc.send(&full("BER2", 7, 1, ber2)).await;
    assert_eq!(status, 200);
    assert_eq!(
        noc.object_names(None).await,
        ["BER2_web01", "BER2_web01/HTTP", "FRA1_db01", "FRA1_web01", "FRA1_web01/HTTP"]
    );
    let http = noc.object("FRA1_web01/HTTP").await;
    assert_eq!(http["state_name"], "CRITICAL");
    assert_eq!(http["host"], "FRA1_web01");
    assert_eq!(http["service"], "HTTP");
    assert_eq!(http["location"], "FRA1");

    // Delta: HTTP recovers, db01 goes away (a tombstone), app01 appears.
    let fra1_v2 = snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 0), ("app01", "", 0)]);
    let (status, ack) = noc.send(&delta("FRA1", EPOCH, 2, &fra1, 1, &fra1_v2)).await;
    assert_eq!(status, 200);
    let ack = ack.expect("ack");
    assert_eq!(acked(&ack, Stream::Snapshots), 2, "{ack:?}");
    assert!(ack.requests.is_empty(), "{ack:?}");
    assert_eq!(noc.object_names(Some("FRA1")).await, ["FRA1_app01", "FRA1_web01", "FRA1_web01/HTTP"]);
    assert_eq!(noc.object("FRA1_web01/HTTP").await["state_name"], "OK");
    assert_eq!(noc.object_names(Some("BER2")).await, ["BER2_web01", "BER2_web01/HTTP"], "BER2 untouched");

    // The base survives in the store: the next delta against seq 2 applies.
    let fra1_v3 = snapshot("FRA1", &[("web01", "", 1), ("web01", "HTTP", 0), ("app01", "", 0)]);
    let (_, ack) = noc.send(&delta("FRA1", EPOCH, 3, &fra1_v2, 2, &fra1_v3)).await;
    assert_eq!(acked(&ack.expect("ack"), Stream::Snapshots), 3);
    assert_eq!(noc.object("FRA1_web01").await["state_name"], "DOWN");

    let locations = noc.api("/api/v1/locations").await;
    let fra = locations.as_array().expect("array").iter().find(|l| l["location"] == "FRA1").expect("FRA1").clone();
    assert_eq!(fra["objects"], 3);
    assert_eq!(fra["problems"]["down"], 1);
    assert_eq!(fra["health"], "problem");
    assert_eq!(fra["backlog_items"], 3);
    assert_eq!(fra["version"], "0.1.0-test");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn problems_are_filtered_and_sorted_worst_first() {
    let noc = TestNoc::start("", "").await;
    let s =
        snapshot("FRA1", &[("a", "", 0), ("a", "W", 1), ("a", "C", 2), ("a", "U", 3), ("b", "", 1), ("b", "OK", 0)]);
    noc.send(&full("FRA1", EPOCH, 1, s)).await;
    let v = noc.api("/api/v1/objects?problems=true").await;
    let names: Vec<&str> =
        v["items"].as_array().expect("items").iter().map(|o| o["name"].as_str().expect("name")).collect();
    assert_eq!(v["total"], 4);
    assert_eq!(&names[..2].iter().copied().collect::<std::collections::BTreeSet<_>>(), &["FRA1_a/C", "FRA1_b"].into());
    assert_eq!(names[2..], ["FRA1_a/U", "FRA1_a/W"]);
    let v = noc.api("/api/v1/objects?state=CRITICAL").await;
    assert_eq!(v["total"], 1);
    let v = noc.api("/api/v1/objects?limit=2&offset=1").await;
    assert_eq!(v["total"], 6);
    assert_eq!(v["items"].as_array().expect("items").len(), 2);
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_logged_and_update_state_at_once() {
    let noc = TestNoc::start("", "").await;
    noc.send(&full("FRA1", EPOCH, 1, snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 0)]))).await;
    let batch = events("FRA1", EPOCH, vec![state_change(1, "web01", "HTTP", 2, "connection refused")]);
    let (status, ack) = noc.send(&batch).await;
    assert_eq!(status, 200);
    assert_eq!(acked(&ack.expect("ack"), Stream::Events), 1);
    let http = noc.object("FRA1_web01/HTTP").await;
    assert_eq!(http["state_name"], "CRITICAL");
    assert_eq!(http["output"], "connection refused");
    let ev = noc.api("/api/v1/events?location=FRA1").await;
    let items = ev["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "state_change");
    assert_eq!(items[0]["object"], "FRA1_web01/HTTP");
    assert_eq!(items[0]["state"], 2);
    assert_eq!(items[0]["seq"], 1);
    // Duplicate batch: acknowledged again, not re-logged.
    let (status, ack) = noc.send(&batch).await;
    assert_eq!(status, 200);
    assert_eq!(acked(&ack.expect("ack"), Stream::Events), 1);
    assert_eq!(noc.api("/api/v1/events").await["items"].as_array().expect("items").len(), 1);
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_gap_and_base_mismatch_apply_nothing() {
    let noc = TestNoc::start("", "").await;
    let s1 = snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 0)]);
    noc.send(&full("FRA1", EPOCH, 1, s1.clone())).await;

    // Duplicate snapshot seq with different content: not re-applied.
    let other = snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 2)]);
    let (status, ack) = noc.send(&full("FRA1", EPOCH, 1, other.clone())).await;
    assert_eq!(status, 200);
    let ack = ack.expect("ack");
    assert_eq!(acked(&ack, Stream::Snapshots), 1);
    assert!(ack.notes.iter().any(|n| n.contains("duplicate")), "{ack:?}");
    assert_eq!(noc.object("FRA1_web01/HTTP").await["state"], 0);

    // Gap in the events stream: reported, nothing applied.
    noc.send(&events(
        "FRA1",
        EPOCH,
        vec![state_change(1, "web01", "HTTP", 1, "slow"), state_change(2, "web01", "HTTP", 0, "ok")],
    ))
    .await;
    let (status, ack) = noc.send(&events("FRA1", EPOCH, vec![state_change(5, "web01", "HTTP", 2, "down")])).await;
    assert_eq!(status, 200);
    let ack = ack.expect("ack");
    assert_eq!(acked(&ack, Stream::Events), 2);
    assert_eq!(ack.requests, vec![NocRequest::Gap { stream: Stream::Events, expected: 3, got: 5 }]);
    assert_eq!(noc.object("FRA1_web01/HTTP").await["state"], 0, "gap frame not applied");
    assert_eq!(noc.api("/api/v1/events").await["items"].as_array().expect("items").len(), 2);

    // Delta against a base the NOC does not hold: asks for a full snapshot, applies nothing.
    let (status, ack) = noc.send(&delta("FRA1", EPOCH, 2, &other, 1, &snapshot("FRA1", &[("x", "", 0)]))).await;
    assert_eq!(status, 200);
    let ack = ack.expect("ack");
    assert_eq!(ack.requests, vec![NocRequest::FullSnapshot]);
    assert_eq!(acked(&ack, Stream::Snapshots), 1);
    assert_eq!(noc.object_names(None).await, ["FRA1_web01", "FRA1_web01/HTTP"]);
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_epoch_restarts_streams_and_asks_for_full_snapshot() {
    let noc = TestNoc::start("", "").await;
    let s1 = snapshot("FRA1", &[("web01", "", 0)]);
    noc.send(&full("FRA1", EPOCH, 1, s1.clone())).await;
    noc.send(&events(
        "FRA1",
        EPOCH,
        vec![state_change(1, "web01", "HTTP", 1, "a"), state_change(2, "web01", "HTTP", 1, "b")],
    ))
    .await;
    // Spool wiped: new epoch, seqs restart at 1. Not mistaken for duplicates.
    let (_, ack) = noc.send(&events("FRA1", 2, vec![state_change(1, "web01", "HTTP", 2, "c")])).await;
    let ack = ack.expect("ack");
    assert!(ack.acks.iter().any(|a| a.stream == Stream::Events && a.epoch == 2 && a.seq == 1), "{ack:?}");
    assert_eq!(noc.api("/api/v1/events").await["items"].as_array().expect("items").len(), 3);
    // A delta in the new epoch: full snapshot requested.
    let s2 = snapshot("FRA1", &[("web01", "", 1)]);
    let (_, ack) = noc.send(&delta("FRA1", 2, 1, &s1, 1, &s2)).await;
    assert_eq!(ack.expect("ack").requests, vec![NocRequest::FullSnapshot]);
    let (_, ack) = noc.send(&full("FRA1", 2, 1, s2)).await;
    assert!(ack.expect("ack").acks.iter().any(|a| a.stream == Stream::Snapshots && a.epoch == 2 && a.seq == 1));
    assert_eq!(noc.object("FRA1_web01").await["state_name"], "DOWN");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_credentials_and_cross_location_writes_are_refused() {
    let noc = TestNoc::start("", "").await;
    let s = snapshot("FRA1", &[("web01", "", 0)]);
    let f = full("FRA1", EPOCH, 1, s);
    assert_eq!(noc.send_as("wrong-key", "FRA1", &f).await.0, 401, "unknown key");
    // FRA1's key used to write as BER2, or to carry a BER2 frame.
    assert_eq!(noc.send_as(FRA1_KEY, "BER2", &f).await.0, 403, "credential bound to another location");
    let ber = full("BER2", EPOCH, 1, snapshot("BER2", &[("evil", "", 2)]));
    assert_eq!(noc.send_as(FRA1_KEY, "FRA1", &ber).await.0, 403, "frame for another location");
    let resp = noc
        .client
        .post(noc.url("/api/v1/frames"))
        .header("X-Outpost-Location", "FRA1")
        .body(f.encode().expect("encode"))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status(), 401, "no credential");
    assert!(noc.object_names(None).await.is_empty(), "nothing applied");
    assert!(noc.healthy().await);
    // Operator API without a token.
    let resp = noc.client.get(noc.url("/api/v1/objects")).send().await.expect("request");
    assert_eq!(resp.status(), 401);
    let metrics = noc.client.get(noc.url("/metrics")).bearer_auth(API_TOKEN).send().await.expect("metrics");
    let text = metrics.text().await.expect("text");
    assert!(text.contains("outpost_noc_auth_failures_total") || text.contains("metrics recorder"), "{text}");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_oversized_and_bomb_frames_are_refused() {
    let noc = TestNoc::start("", "[limits]\nmax_body_bytes = 65536\nmax_decompressed_bytes = 1048576\n").await;
    let post = |body: Vec<u8>| noc.post_frame_bytes(FRA1_KEY, "FRA1", body);
    assert_eq!(post(b"not a frame at all".to_vec()).await.status(), 400, "garbage");
    let mut corrupt = full("FRA1", EPOCH, 1, snapshot("FRA1", &[("web01", "", 0)])).encode().expect("encode");
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let resp = post(corrupt).await;
    assert_eq!(resp.status(), 400, "checksum");
    assert!(resp.text().await.expect("text").contains("checksum"));
    // Valid codec, nonsense payload.
    let junk = zstd_bytes(b"\xc1\xc1\xc1");
    assert_eq!(post(raw_frame(1, "FRA1", 2, 1, &junk, 3, true)).await.status(), 400, "payload not a snapshot");
    // Body over the limit.
    let big = vec![0u8; 200_000];
    assert_eq!(post(raw_frame(1, "FRA1", 2, 1, &big, big.len() as u32, false)).await.status(), 413, "oversized");
    // Bomb: 64 MiB of zeros in a tiny payload, declared honestly: over the decompressed limit.
    let zeros = vec![0u8; 64 << 20];
    let bomb = zstd_bytes(&zeros);
    assert!(bomb.len() < 65536);
    assert_eq!(post(raw_frame(1, "FRA1", 2, 1, &bomb, zeros.len() as u32, true)).await.status(), 413, "bomb declared");
    // Bomb that lies about its size: cut off at the declared size and refused.
    assert_eq!(post(raw_frame(1, "FRA1", 2, 1, &bomb, 1000, true)).await.status(), 400, "bomb undeclared");
    // A snapshot that names another location inside a FRA1 frame.
    let inner = full("FRA1", EPOCH, 1, snapshot("BER2", &[("x", "", 0)]));
    assert_eq!(noc.send(&inner).await.0, 400, "inner location mismatch");
    assert!(noc.object_names(None).await.is_empty(), "nothing applied");
    // Still serving and still applying.
    let (status, _) = noc.send(&full("FRA1", EPOCH, 1, snapshot("FRA1", &[("web01", "", 0)]))).await;
    assert_eq!(status, 200);
    assert_eq!(noc.object_names(None).await, ["FRA1_web01"]);
    noc.stop().await;
}

fn zstd_bytes(raw: &[u8]) -> Vec<u8> {
    zstd::bulk::compress(raw, 3).expect("compress")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspect_snapshot_is_held_until_released() {
    let noc = TestNoc::start("", "").await;
    let s1 = snapshot("FRA1", &[("a", "", 0), ("b", "", 0), ("c", "", 0), ("d", "", 0)]);
    noc.send(&full("FRA1", EPOCH, 1, s1)).await;
    let (status, ack) = noc.send(&full("FRA1", EPOCH, 2, snapshot("FRA1", &[("a", "", 0)]))).await;
    assert_eq!(status, 200);
    let ack = ack.expect("ack");
    assert_eq!(acked(&ack, Stream::Snapshots), 2, "held durably, so acknowledged");
    assert!(ack.notes.iter().any(|n| n.contains("held")), "{ack:?}");
    assert_eq!(noc.object_names(None).await.len(), 4, "nothing deleted yet");
    let held = noc.api("/api/v1/held").await;
    assert_eq!(held[0]["location"], "FRA1");
    assert_eq!(held[0]["deletes"], 3);
    let (status, _) = noc.api_post("/api/v1/held/FRA1/release").await;
    assert_eq!(status, 200);
    assert_eq!(noc.object_names(None).await, ["FRA1_a"]);
    assert_eq!(noc.api("/api/v1/held").await.as_array().expect("array").len(), 0);
    let (status, _) = noc.api_post("/api/v1/held/FRA1/release").await;
    assert_eq!(status, 404);
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enrollment_accept_and_revoke() {
    let noc = TestNoc::start("", "").await;
    let key = "new-satellite-key";
    let enroll = || {
        noc.client
            .post(noc.url("/api/v1/enroll"))
            .bearer_auth(key)
            .header("X-Outpost-Location", "MUC3")
            .json(&serde_json::json!({"location": "MUC3", "version": "0.1.0", "hostname": "muc3-sat"}))
            .send()
    };
    let resp = enroll().await.expect("enroll");
    assert_eq!(resp.status(), 202);
    assert_eq!(resp.json::<serde_json::Value>().await.expect("json")["status"], "pending");
    let f = full("MUC3", EPOCH, 1, snapshot("MUC3", &[("h", "", 0)]));
    assert_eq!(noc.send_as(key, "MUC3", &f).await.0, 403, "pending");
    let sats = noc.api("/api/v1/satellites").await;
    assert!(sats.as_array().expect("array").iter().any(|s| s["location"] == "MUC3" && s["status"] == "pending"));
    assert_eq!(noc.api_post("/api/v1/satellites/MUC3/accept").await.0, 200);
    assert_eq!(enroll().await.expect("enroll").status(), 200);
    assert_eq!(noc.send_as(key, "MUC3", &f).await.0, 200);
    // The same key cannot speak for another location.
    let resp = noc
        .client
        .post(noc.url("/api/v1/enroll"))
        .bearer_auth(key)
        .header("X-Outpost-Location", "XXX9")
        .json(&serde_json::json!({"location": "XXX9"}))
        .send()
        .await
        .expect("enroll");
    assert_eq!(resp.status(), 403);
    assert_eq!(noc.api_post("/api/v1/satellites/MUC3/revoke").await.0, 200);
    assert_eq!(noc.send_as(key, "MUC3", &f).await.0, 401, "revoked");
    assert_eq!(enroll().await.expect("enroll").status(), 403);
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_answers_429_with_retry_after() {
    let noc = TestNoc::start("", "[rate_limit]\nper_second = 0.5\nburst = 2\n").await;
    let f = full("FRA1", EPOCH, 1, snapshot("FRA1", &[("h", "", 0)]));
    assert_eq!(noc.send(&f).await.0, 200);
    assert_eq!(noc.send(&f).await.0, 200);
    let resp = noc.post_frame_bytes(FRA1_KEY, "FRA1", f.encode().expect("encode")).await;
    assert_eq!(resp.status(), 429);
    let retry: u64 = resp.headers()["retry-after"].to_str().expect("ascii").parse().expect("seconds");
    assert!((1..=2).contains(&retry), "{retry}");
    assert_eq!(noc.send(&full("BER2", EPOCH, 1, snapshot("BER2", &[("h", "", 0)]))).await.0, 200, "per location");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_satellite_goes_stale_and_returns() {
    let noc = TestNoc::start("", "[freshness]\nsilent_factor = 1.0\n").await;
    let f = full("FRA1", EPOCH, 1, snapshot("FRA1", &[("h", "", 0)]));
    let resp = noc
        .client
        .post(noc.url("/api/v1/frames"))
        .bearer_auth(FRA1_KEY)
        .header("X-Outpost-Location", "FRA1")
        .header("X-Outpost-Ship-Interval", "1")
        .header("X-Outpost-Sent-At", (now_ms() + 5_000).to_string())
        .body(f.encode().expect("encode"))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status(), 200);
    // Housekeeping runs every second; silence is declared after 1 s × factor 1.0 without a request.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let l = noc.api("/api/v1/locations").await;
        if l[0]["health"] == "stale" {
            let offset = l[0]["clock_offset_ms"].as_i64().expect("offset");
            assert!((3_000..=5_500).contains(&offset), "offset estimate {offset}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never went stale: {l}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(noc.object("FRA1_h").await["stale"], true);
    let kinds = noc.api("/api/v1/events?kind=lifecycle").await;
    assert!(kinds["items"][0]["summary"].as_str().expect("summary").contains("silent"), "{kinds}");
    noc.send(&events("FRA1", EPOCH, vec![state_change(1, "h", "x", 0, "ok")])).await;
    assert_eq!(noc.object("FRA1_h").await["stale"], false);
    let kinds = noc.api("/api/v1/events?kind=lifecycle").await;
    assert!(kinds["items"][0]["summary"].as_str().expect("summary").contains("returned"), "{kinds}");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_stream_delivers_committed_events_and_object_changes() {
    let noc = TestNoc::start("", "").await;
    noc.send(&full("FRA1", EPOCH, 1, snapshot("FRA1", &[("web01", "", 0), ("web01", "HTTP", 0)]))).await;
    let mut resp =
        noc.client.get(noc.url("/api/v1/events/stream")).bearer_auth(API_TOKEN).send().await.expect("stream");
    assert_eq!(resp.status(), 200);
    noc.send(&events("FRA1", EPOCH, vec![state_change(1, "web01", "HTTP", 2, "refused")])).await;
    let mut text = String::new();
    let read = async {
        while !(text.contains("event: event") && text.contains("event: objects")) {
            let chunk = resp.chunk().await.expect("chunk").expect("stream open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(20), read).await.expect("SSE messages arrive");
    assert!(text.contains("\"object\":\"FRA1_web01/HTTP\""), "{text}");
    assert!(text.contains("\"locations\":[\"FRA1\"]"), "{text}");
    noc.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn held_snapshot_released_from_the_cli_path() {
    let noc = TestNoc::start("", "").await;
    noc.send(&full("FRA1", EPOCH, 1, snapshot("FRA1", &[("a", "", 0), ("b", "", 0), ("c", "", 0)]))).await;
    noc.send(&full("FRA1", EPOCH, 2, snapshot("FRA1", &[("c", "", 0)]))).await;
    assert_eq!(noc.object_names(None).await.len(), 3, "held");
    // What `noc held release FRA1` does: mark the row; the daemon's housekeeping applies it.
    let client = outpost_noc::store::Store::open_client(&noc.dir.path().join("data/noc.db")).expect("open store");
    assert!(client.request_release("FRA1").expect("request"));
    assert!(!client.request_release("BER2").expect("request"), "nothing held for BER2");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while noc.object_names(None).await != ["FRA1_c"] {
        assert!(std::time::Instant::now() < deadline, "release never applied");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The released snapshot is the new base: a delta against seq 2 applies.
    let s2 = snapshot("FRA1", &[("c", "", 0)]);
    let s3 = snapshot("FRA1", &[("c", "", 2)]);
    let (_, ack) = noc.send(&delta("FRA1", EPOCH, 3, &s2, 2, &s3)).await;
    let ack = ack.expect("ack");
    assert!(ack.requests.is_empty(), "{ack:?}");
    noc.stop().await;
}
