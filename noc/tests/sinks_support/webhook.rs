//! A webhook receiver on 127.0.0.1 for the sink tests: it records the events it accepts, answers 503 while down,
//! or holds posts unanswered while stuck.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;

#[derive(Default)]
pub struct Receiver {
    /// Answer 503 to every post.
    pub down: bool,
    /// Leave every post unanswered until this is cleared (a receiver that accepted the connection, then hangs).
    pub stuck: bool,
    /// Outputs of the accepted (state change) events, in order.
    pub outputs: Vec<String>,
}

/// Serves `POST /hook` for `r` on a free port of 127.0.0.1.
pub async fn receiver(r: Arc<Mutex<Receiver>>) -> SocketAddr {
    let hook = post(move |body: Bytes| {
        let r = r.clone();
        async move {
            while r.lock().expect("lock").stuck {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            let mut r = r.lock().expect("lock");
            if r.down {
                return StatusCode::SERVICE_UNAVAILABLE;
            }
            let body: serde_json::Value = serde_json::from_slice(&body).expect("json body");
            for e in body["events"].as_array().cloned().unwrap_or_default() {
                r.outputs.push(e["detail"]["StateChange"]["output"].as_str().unwrap_or_default().to_string());
            }
            StatusCode::NO_CONTENT
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, axum::Router::new().route("/hook", hook)).await });
    addr
}
