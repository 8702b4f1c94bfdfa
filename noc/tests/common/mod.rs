//! Shared helpers for the NOC's integration tests: an in-process NOC on 127.0.0.1 over HTTPS with a fresh
//! self-signed certificate, two pre-shared satellites (FRA1, BER2), and frame builders.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use outpost_format::event::{EventKind, StateChange};
use outpost_format::frame::{Ack, Payload};
use outpost_format::model::{Object, ObjectKey, Snapshot, StateType};
use outpost_format::{Event, Frame, Limits};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

pub const FRA1_KEY: &str = "fra1-secret-key";
pub const BER2_KEY: &str = "ber2-secret-key";
pub const API_TOKEN: &str = "operator-token";

pub fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub struct TestNoc {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestNoc {
    /// Starts a NOC with the default test config plus `extra` TOML (top-level keys and sections).
    pub async fn start(extra_top: &str, extra_sections: &str) -> TestNoc {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .expect("generate cert");
        std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).expect("write cert");
        std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).expect("write key");
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\n{extra_top}\n[tls]\ncert = \"cert.pem\"\nkey = \"key.pem\"\n\
             [api]\ntokens_sha256 = [\"{api}\"]\n\
             [[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{fra}\"\n\
             [[satellites]]\nlocation = \"BER2\"\ntoken_sha256 = \"{ber}\"\n{extra_sections}\n",
            api = sha(API_TOKEN),
            fra = sha(FRA1_KEY),
            ber = sha(BER2_KEY)
        );
        let path = dir.path().join("noc.toml");
        std::fs::write(&path, toml).expect("write config");
        let config = outpost_noc::config::Config::load(&path).expect("valid test config");
        let cancel = CancellationToken::new();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(outpost_noc::server::run(config, cancel.clone(), move |addr| {
            let _ = tx.send(addr);
        }));
        let addr = tokio::time::timeout(Duration::from_secs(20), rx).await.expect("noc starts").expect("address");
        let client = client_builder(&dir, addr).build().expect("client");
        TestNoc { addr, dir, client, cancel, task }
    }

    /// A client whose connections come from `source`, any address of 127.0.0.0/8 (Linux routes all of it to lo),
    /// so that tests can be several clients as the NOC sees them. It keeps no idle connection.
    pub fn client_from(&self, source: IpAddr) -> reqwest::Client {
        client_builder(&self.dir, self.addr).local_address(source).pool_max_idle_per_host(0).build().expect("client")
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }

    /// Posts raw bytes to `/api/v1/frames` as `location` with `key`.
    pub async fn post_frame_bytes(&self, key: &str, location: &str, body: Vec<u8>) -> reqwest::Response {
        self.client
            .post(self.url("/api/v1/frames"))
            .bearer_auth(key)
            .header("X-Outpost-Location", location)
            .header("Content-Type", "application/x-outpost-frame")
            .header("X-Outpost-Sent-At", now_ms().to_string())
            .header("X-Outpost-Backlog", "items=3;bytes=1200;oldest_ms=1700000000000")
            .header("X-Outpost-Version", "0.1.0-test")
            .body(body)
            .send()
            .await
            .expect("request")
    }

    /// Sends a frame with the key of its own location; returns the status and the decoded acknowledgement.
    pub async fn send(&self, frame: &Frame) -> (u16, Option<Ack>) {
        let key = key_for(&frame.location);
        self.send_as(key, &frame.location.clone(), frame).await
    }

    pub async fn send_as(&self, key: &str, location: &str, frame: &Frame) -> (u16, Option<Ack>) {
        let resp = self.post_frame_bytes(key, location, frame.encode().expect("encode")).await;
        let status = resp.status().as_u16();
        let body = resp.bytes().await.expect("body");
        if status != 200 {
            return (status, None);
        }
        match Frame::decode(&body, &Limits::default()).expect("ack decodes").payload {
            Payload::Ack(a) => (status, Some(a)),
            other => panic!("expected an ack, got {other:?}"),
        }
    }

    pub async fn api(&self, path: &str) -> serde_json::Value {
        let resp = self.client.get(self.url(path)).bearer_auth(API_TOKEN).send().await.expect("api request");
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.expect("json")
    }

    pub async fn api_post(&self, path: &str) -> (u16, serde_json::Value) {
        let resp = self.client.post(self.url(path)).bearer_auth(API_TOKEN).send().await.expect("api request");
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or_default())
    }

    /// Names of live objects, sorted, optionally for one location.
    pub async fn object_names(&self, location: Option<&str>) -> Vec<String> {
        let q = location.map(|l| format!("&location={l}")).unwrap_or_default();
        let v = self.api(&format!("/api/v1/objects?limit=10000{q}")).await;
        let mut names: Vec<String> = v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|o| o["name"].as_str().expect("name").to_string())
            .collect();
        names.sort();
        names
    }

    pub async fn object(&self, name: &str) -> serde_json::Value {
        let v = self.api(&format!("/api/v1/objects?limit=10000&q={}", urlencode(name))).await;
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .find(|o| o["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("object {name} not found in {v}"))
    }

    /// The Prometheus text of `/metrics`.
    pub async fn metrics(&self) -> String {
        let resp = self.client.get(self.url("/metrics")).bearer_auth(API_TOKEN).send().await.expect("metrics");
        assert_eq!(resp.status(), 200, "GET /metrics (only the first NOC of a test binary has the recorder)");
        resp.text().await.expect("metrics text")
    }

    pub async fn healthy(&self) -> bool {
        self.client.get(self.url("/healthz")).send().await.map(|r| r.status() == 200).unwrap_or(false)
    }

    pub async fn stop(self) {
        self.cancel.cancel();
        let r = tokio::time::timeout(Duration::from_secs(30), self.task).await.expect("noc stops");
        r.expect("join").expect("noc ran cleanly");
    }
}

/// The value of one series in Prometheus text, e.g. `name{label="value"}`; `None` if it is absent.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Polls `f` every 50 ms until it returns `Some`; panics naming `what` after 20 s (a bound against hangs only).
pub async fn poll_until<T, F: Future<Output = Option<T>>>(what: &str, mut f: impl FnMut() -> F) -> T {
    let poll = async {
        loop {
            if let Some(v) = f().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), poll)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for: {what}"))
}

/// Trusts the NOC's certificate in `dir` and sends `localhost` to `addr`.
fn client_builder(dir: &tempfile::TempDir, addr: SocketAddr) -> reqwest::ClientBuilder {
    let pem = std::fs::read(dir.path().join("cert.pem")).expect("read cert");
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("cert")])
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(30))
}

/// A raw TCP connection to `noc` from `source` (any address of 127.0.0.0/8) that sends nothing.
pub async fn connect_from(source: IpAddr, noc: SocketAddr) -> tokio::net::TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(SocketAddr::new(source, 0)).expect("bind the source address");
    socket.connect(noc).await.expect("connect")
}

/// True when the NOC closed (or reset) `s`; false if it is still open after 60 s (a bound against hangs only).
pub async fn closed_by_noc(s: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 64];
    match tokio::time::timeout(Duration::from_secs(60), s.read(&mut buf)).await {
        Ok(Ok(0) | Err(_)) => true,
        Ok(Ok(_)) | Err(_) => false,
    }
}

pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub fn key_for(location: &str) -> &'static str {
    match location {
        "FRA1" => FRA1_KEY,
        "BER2" => BER2_KEY,
        _ => "unknown",
    }
}

pub fn now_ms() -> i64 {
    outpost_noc::store::now_ms()
}

/// A service object in `state` with `output`.
pub fn service(state: u8, output: &str) -> Object {
    let mut o = Object::default();
    o.status.state = state;
    o.status.state_type = StateType::Hard;
    o.status.output = output.into();
    o.status.last_check = 1_700_000_000_000;
    o
}

/// A snapshot of `location` from (host, service, state) triples; `service == ""` makes a host.
pub fn snapshot(location: &str, objects: &[(&str, &str, u8)]) -> Snapshot {
    let mut map = outpost_format::ObjectMap::new();
    for (host, svc, state) in objects {
        let key = if svc.is_empty() { ObjectKey::host(*host) } else { ObjectKey::service(*host, *svc) };
        map.insert(key, service(*state, &format!("{host}/{svc} state {state}")));
    }
    Snapshot { location: location.to_string(), taken_at: now_ms(), objects: map }
}

pub fn full(location: &str, epoch: u64, seq: u64, s: Snapshot) -> Frame {
    Frame { location: location.into(), epoch, seq, payload: Payload::Full(s) }
}

pub fn delta(location: &str, epoch: u64, seq: u64, base: &Snapshot, base_seq: u64, current: &Snapshot) -> Frame {
    Frame {
        location: location.into(),
        epoch,
        seq,
        payload: Payload::Delta(outpost_format::delta::make(base, base_seq, current)),
    }
}

pub fn state_change(seq: u64, host: &str, svc: &str, state: u8, output: &str) -> Event {
    Event {
        seq,
        time: now_ms(),
        kind: EventKind::StateChange(StateChange {
            key: ObjectKey::service(host, svc),
            state,
            previous_state: 0,
            state_type: StateType::Hard,
            attempt: 1,
            max_attempts: 3,
            output: output.into(),
            long_output: String::new(),
            perfdata: String::new(),
        }),
    }
}

pub fn events(location: &str, epoch: u64, events: Vec<Event>) -> Frame {
    let seq = events.last().map_or(0, |e| e.seq);
    Frame { location: location.into(), epoch, seq, payload: Payload::Events(events) }
}

/// Hand-built frame bytes, for malformed and bomb cases the encoder refuses to make.
pub fn raw_frame(kind: u8, location: &str, stream: u8, seq: u64, payload: &[u8], raw_len: u32, zstd: bool) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(b"OPST");
    out.push(1);
    out.push(kind);
    out.push(u8::from(zstd));
    out.push(location.len() as u8);
    out.extend_from_slice(&1u64.to_be_bytes());
    out.push(stream);
    out.extend_from_slice(&[0, 0, 0]);
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&raw_len.to_be_bytes());
    let mut h = Sha256::new();
    h.update(&out[..36]);
    h.update(location.as_bytes());
    h.update(payload);
    let sum: [u8; 32] = h.finalize().into();
    out.extend_from_slice(&sum);
    out.extend_from_slice(location.as_bytes());
    out.extend_from_slice(payload);
    out
}

/// The ack's seq for `stream` (0 when absent).
pub fn acked(ack: &Ack, stream: outpost_format::Stream) -> u64 {
    ack.acks.iter().find(|a| a.stream == stream).map_or(0, |a| a.seq)
}
