//! The webhook sink against a small HTTP receiver on 127.0.0.1: batches arrive as JSON with a valid
//! `X-Outpost-Signature`, a receiver that fails gets the same batch again (nothing lost, nothing skipped),
//! and the durable cursor ends at the last event.

mod sinks_support;

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use outpost_noc::sinks;
use outpost_noc::sinks::webhook::signature;
use sinks_support::{DEADLINE, TestStore, state_change};
use tokio_util::sync::CancellationToken;

const SECRET: &str = "0123456789abcdef-test-secret";

#[derive(Default)]
struct Received {
    /// Answers still to fail with 503.
    fail_next: usize,
    attempts: usize,
    /// (delivery header, body) of accepted posts.
    accepted: Vec<(String, serde_json::Value)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_signed_retried_and_resumed() {
    let received = Arc::new(Mutex::new(Received { fail_next: 2, ..Received::default() }));
    let r = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let r = r.clone();
            async move {
                let sig =
                    headers.get("x-outpost-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                assert_eq!(sig, signature(SECRET.as_bytes(), &body), "signature over the raw body");
                let mut r = r.lock().expect("lock");
                r.attempts += 1;
                if r.fail_next > 0 {
                    r.fail_next -= 1;
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                let delivery =
                    headers.get("x-outpost-delivery").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                r.accepted.push((delivery, serde_json::from_slice(&body).expect("json body")));
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let mut ts = TestStore::new();
    ts.snapshot("FRA1", &[("web01", "HTTP", 0, "OK")]).await;
    let cfg: toml::Table = toml::from_str(&format!(
        "replay_history = true\n[[webhook]]\nname = \"ops\"\nurl = \"http://{addr}/hook\"\nsecret = \"{SECRET}\"\nbatch_size = 2\n[webhook.filter]\nkinds = [\"state_change\"]\n"
    ))
    .expect("toml");
    let cancel = CancellationToken::new();
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");
    ts.events(
        "FRA1",
        vec![
            state_change("web01", "HTTP", 1, "WARNING - 1"),
            state_change("web01", "HTTP", 2, "CRITICAL - 2"),
            state_change("web01", "HTTP", 0, "OK - 3"),
        ],
    )
    .await;
    tokio::time::timeout(DEADLINE, async {
        loop {
            let n: usize = received
                .lock()
                .expect("lock")
                .accepted
                .iter()
                .map(|(_, b)| b["events"].as_array().map_or(0, Vec::len))
                .sum();
            if n >= 3 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("all three events delivered after the receiver recovered");
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
    let r = received.lock().expect("lock");
    assert_eq!(r.attempts, 4, "two failures, then two batches of at most two events");
    let outputs: Vec<String> = r
        .accepted
        .iter()
        .flat_map(|(_, b)| b["events"].as_array().cloned().unwrap_or_default())
        .map(|e| e["detail"]["StateChange"]["output"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(outputs, ["WARNING - 1", "CRITICAL - 2", "OK - 3"], "in order, once each");
    assert_eq!(r.accepted[0].1["sink"], "ops");
    assert_eq!(r.accepted[0].1["events"][0]["object"], "FRA1_web01/HTTP");
    let first_id = r.accepted[0].1["events"][0]["id"].as_i64().expect("id");
    assert_eq!(r.accepted[0].0, format!("{}-{}", first_id, first_id + 1));
    assert_eq!(ts.store.sink_cursor("webhook:ops").expect("cursor"), ts.store.last_event_id().expect("last"));
}
