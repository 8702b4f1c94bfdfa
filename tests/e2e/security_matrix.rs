//! The security matrix (issue #8): one test per row, against the real `noc serve` binary on 127.0.0.1.
//!
//! Every row asserts three things: (1) the refusal (status code, closed connection or start-up error);
//! (2) nothing was applied: the NOC's objects and event log, read back over the operator API, are unchanged;
//! (3) the daemon keeps serving others: a legitimate satellite's frame is acknowledged right after (or during).
//! `docs/reliability.md` (## Security matrix) lists the rows and what each found.
//!
//! The NOC serves HTTPS with the certificate `noc init` made, except in the slow-client and connection-cap rows,
//! which write raw HTTP/1 bytes on a loopback plain-HTTP NOC: the header and body timeouts and the cap sit above
//! TLS, and the TLS handshake timeout has its own row.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use outpost_format::frame::{Ack, Payload};
use outpost_format::model::{Object, ObjectKey, Snapshot, Stream};
use outpost_format::{Event, Frame, Limits};
use outpost_satellite::spool::SpoolConfig;
use outpost_tests::{bin, free_port, wait_for};
use sha2::{Digest, Sha256};

use crate::delivery_support::{API, KEY, Noc, Sat, filled_kind};

/// FRA1 (key [`KEY`]) is the legitimate satellite; BER2 is a second pre-shared one; MUC3 enrolls.
const BER2_KEY: &str = "ber2-security-matrix-key";
const MUC3_KEY: &str = "muc3-security-matrix-key";
const LEGIT_EPOCH: u64 = 0x5ec_0001;
const PASSWORD: &str = "security matrix password";

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

struct Matrix {
    noc: Noc,
    dir: tempfile::TempDir,
    config: PathBuf,
    base: String,
    rt: tokio::runtime::Runtime,
    client: reqwest::Client,
    /// The last events seq the legitimate satellite had acknowledged.
    legit_seq: AtomicU64,
}

impl Matrix {
    /// A NOC over HTTPS (`tls`) or loopback plain HTTP, with FRA1 and BER2 pre-shared, the operator token, generous
    /// rate limits, and `extra` TOML sections appended.
    fn start(tls: bool, extra: &str) -> Matrix {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let noc_dir = dir.path().join("noc");
        let transport = if tls {
            noc_init(&noc_dir, port);
            "[tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/key.pem\"\n"
        } else {
            std::fs::create_dir_all(&noc_dir).expect("noc dir");
            "insecure_plain_http = true\n"
        };
        let config = noc_dir.join("noc.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = \"data\"\n{transport}{}\
                 [[satellites]]\nlocation = \"BER2\"\ntoken_sha256 = \"{}\"\n\
                 [rate_limit]\nper_second = 100000\nburst = 100000\n{extra}",
                Noc::credentials_toml(),
                sha(BER2_KEY)
            ),
        )
        .expect("write noc.toml");
        let mut noc = Noc::start_with(config.clone(), port);
        // No connection pool: every request opens its own connection, so none holds a slot of the cap.
        let mut builder = reqwest::Client::builder().pool_max_idle_per_host(0).timeout(Duration::from_secs(60));
        builder = builder.redirect(reqwest::redirect::Policy::none());
        if tls {
            let cert = noc_dir.join("tls/cert.pem");
            let pem = std::fs::read(&cert).expect("read cert");
            builder = builder.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).expect("parse cert"));
            noc.tls_cert = Some(cert);
        }
        let scheme = if tls { "https" } else { "http" };
        Matrix {
            noc,
            dir,
            config,
            base: format!("{scheme}://127.0.0.1:{port}"),
            rt: tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime"),
            client: builder.build().expect("client"),
            legit_seq: AtomicU64::new(0),
        }
    }

    fn port(&self) -> u16 {
        self.noc.port
    }

    fn noc_dir(&self) -> &Path {
        self.config.parent().expect("config dir")
    }

    /// POSTs `body` to `/api/v1/frames` with the given credential headers; returns status and body.
    fn post_frame(&self, key: Option<&str>, location: Option<&str>, body: Vec<u8>) -> (u16, Vec<u8>) {
        let mut req = self
            .client
            .post(format!("{}/api/v1/frames", self.base))
            .header("Content-Type", "application/x-outpost-frame")
            .body(body);
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(l) = location {
            req = req.header("X-Outpost-Location", l);
        }
        self.rt.block_on(async {
            let resp = req.send().await.expect("POST /api/v1/frames");
            let status = resp.status().as_u16();
            (status, resp.bytes().await.expect("body").to_vec())
        })
    }

    /// Sends `frame` as `location` with `key`; the acknowledgement when the answer is 200.
    fn send(&self, key: &str, location: &str, frame: &Frame) -> (u16, Option<Ack>) {
        let (status, body) = self.post_frame(Some(key), Some(location), frame.encode().expect("encode"));
        if status != 200 {
            return (status, None);
        }
        match Frame::decode(&body, &Limits::default()).expect("ack decodes").payload {
            Payload::Ack(a) => (status, Some(a)),
            other => panic!("expected an ack, got {other:?}"),
        }
    }

    fn request(&self, method: reqwest::Method, path: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        // `send` arms the client's timeout, so it must run inside the runtime.
        self.rt.block_on(async { req.send().await }).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn text(&self, resp: reqwest::Response) -> String {
        self.rt.block_on(resp.text()).expect("body")
    }

    fn api(&self, path: &str) -> serde_json::Value {
        let auth = format!("Bearer {API}");
        let resp = self.request(reqwest::Method::GET, path, &[("Authorization", &auth)]);
        assert_eq!(resp.status(), 200, "GET {path}");
        serde_json::from_str(&self.text(resp)).expect("json")
    }

    /// What an attack must not change: every object and every event, of every location.
    fn state(&self) -> serde_json::Value {
        serde_json::json!({
            "objects": self.api("/api/v1/objects?limit=100000")["items"],
            "events": self.api("/api/v1/events?limit=1000")["items"],
        })
    }

    fn satellite_status(&self, location: &str) -> String {
        let sats = self.api("/api/v1/satellites");
        sats.as_array()
            .into_iter()
            .flatten()
            .find(|s| s["location"] == location)
            .and_then(|s| s["status"].as_str())
            .unwrap_or("absent")
            .to_string()
    }

    fn metric(&self, name: &str) -> f64 {
        let auth = format!("Bearer {API}");
        let text = self.text(self.request(reqwest::Method::GET, "/metrics", &[("Authorization", &auth)]));
        text.lines()
            .filter(|l| l.starts_with(name) && !l.starts_with('#'))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// The legitimate satellite sends its next event and must get it acknowledged and logged.
    fn legit_is_served(&self) {
        let seq = self.legit_seq.fetch_add(1, Ordering::SeqCst) + 1;
        let events_before = self.api("/api/v1/events?location=FRA1&limit=1000")["items"].as_array().map_or(0, Vec::len);
        let (status, ack) = self.send(KEY, "FRA1", &events_frame("FRA1", LEGIT_EPOCH, seq));
        assert_eq!(status, 200, "the legitimate satellite is served");
        let ack = ack.expect("ack");
        assert!(
            ack.acks.iter().any(|a| a.stream == Stream::Events && a.epoch == LEGIT_EPOCH && a.seq == seq),
            "acknowledged up to {seq}: {ack:?}"
        );
        let events_after = self.api("/api/v1/events?location=FRA1&limit=1000")["items"].as_array().map_or(0, Vec::len);
        assert_eq!(events_after, events_before + 1, "the legitimate event is logged");
    }

    /// MUC3 enrolls (`POST /api/v1/enroll`); returns the status.
    fn enroll_muc3(&self) -> u16 {
        let resp = self.rt.block_on(async {
            self.client
                .post(format!("{}/api/v1/enroll", self.base))
                .bearer_auth(MUC3_KEY)
                .header("X-Outpost-Location", "MUC3")
                .json(&serde_json::json!({"location": "MUC3", "version": "0.1.0", "hostname": "muc3"}))
                .send()
                .await
                .expect("enroll")
        });
        resp.status().as_u16()
    }

    /// MUC3 enrolls and an operator accepts it; its frames are served from now on.
    fn muc3_accepted(&self) {
        assert_eq!(self.enroll_muc3(), 202, "enrollment recorded as pending");
        self.satellites_cli("accept", "MUC3");
    }

    /// `noc satellites --config … <action> <location>`, as an operator would run it beside the daemon.
    fn satellites_cli(&self, action: &str, location: &str) {
        let out = Command::new(bin("noc"))
            .args(["satellites", "--config"])
            .arg(&self.config)
            .args([action, location])
            .output()
            .expect("noc satellites");
        assert!(out.status.success(), "noc satellites {action}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `noc init`: a config, a self-signed certificate (`tls/cert.pem`) and key under `dir`.
fn noc_init(dir: &Path, port: u16) {
    let out = Command::new(bin("noc"))
        .args(["init", "--dir"])
        .arg(dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .output()
        .expect("noc init");
    assert!(out.status.success(), "noc init: {}", String::from_utf8_lossy(&out.stderr));
}

fn event(seq: u64) -> Event {
    Event { seq, time: outpost_satellite::spool::now_ms(), kind: filled_kind(seq as u32) }
}

fn events_frame(location: &str, epoch: u64, seq: u64) -> Frame {
    Frame { location: location.into(), epoch, seq, payload: Payload::Events(vec![event(seq)]) }
}

/// A full snapshot of `location` holding one host per name, each with `output`.
fn snapshot_frame(location: &str, epoch: u64, seq: u64, hosts: &[&str], output: &str) -> Frame {
    let mut objects = outpost_format::ObjectMap::new();
    for h in hosts {
        let mut o = Object::default();
        o.status.output = output.into();
        objects.insert(ObjectKey::host(*h), o);
    }
    let s = Snapshot { location: location.into(), taken_at: outpost_satellite::spool::now_ms(), objects };
    Frame { location: location.into(), epoch, seq, payload: Payload::Full(s) }
}

// ---- credentials ----

#[test]
fn no_credential_is_refused() {
    let m = Matrix::start(true, "");
    let before = m.state();
    let f = snapshot_frame("FRA1", 1, 1, &["intruder"], "");
    assert_eq!(m.post_frame(None, Some("FRA1"), f.encode().expect("encode")).0, 401, "no Authorization");
    assert_eq!(m.post_frame(Some(""), Some("FRA1"), f.encode().expect("encode")).0, 401, "empty bearer");
    assert_eq!(m.post_frame(Some(KEY), None, f.encode().expect("encode")).0, 401, "no X-Outpost-Location");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

#[test]
fn wrong_credential_is_refused() {
    let m = Matrix::start(true, "");
    let before = m.state();
    let f = snapshot_frame("FRA1", 1, 1, &["intruder"], "");
    assert_eq!(m.send("not-the-fra1-key", "FRA1", &f).0, 401);
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

#[test]
fn pending_satellite_is_refused() {
    let m = Matrix::start(true, "");
    assert_eq!(m.enroll_muc3(), 202, "enrollment recorded as pending");
    assert_eq!(m.satellite_status("MUC3"), "pending");
    let before = m.state();
    let (status, body) =
        m.post_frame(Some(MUC3_KEY), Some("MUC3"), snapshot_frame("MUC3", 1, 1, &["h"], "").encode().expect("encode"));
    assert_eq!(status, 403, "a pending key may not write");
    assert!(String::from_utf8_lossy(&body).contains("noc satellites accept MUC3"), "says what to do next");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

#[test]
fn revoked_credential_is_refused() {
    let m = Matrix::start(true, "");
    m.muc3_accepted();
    assert_eq!(m.send(MUC3_KEY, "MUC3", &snapshot_frame("MUC3", 1, 1, &["h"], "before")).0, 200, "accepted: served");
    m.satellites_cli("revoke", "MUC3");
    let before = m.state();
    assert_eq!(m.send(MUC3_KEY, "MUC3", &snapshot_frame("MUC3", 1, 2, &["h"], "after")).0, 401, "revoked");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

// ---- cross-location writes and replays ----

#[test]
fn satellite_a_cannot_write_location_b() {
    let m = Matrix::start(true, "");
    assert_eq!(m.send(BER2_KEY, "BER2", &snapshot_frame("BER2", 1, 1, &["db01"], "ber2's own")).0, 200);
    let before = m.state();
    let forged = snapshot_frame("BER2", 1, 2, &["db01"], "written by FRA1");
    assert_eq!(m.send(KEY, "BER2", &forged).0, 403, "FRA1's key claiming to be BER2");
    assert_eq!(m.send(KEY, "FRA1", &forged).0, 403, "FRA1's key carrying a BER2 frame");
    // A FRA1 frame whose snapshot names BER2 inside.
    let mut inner = snapshot_frame("FRA1", 1, 1, &["db01"], "written by FRA1");
    if let Payload::Full(s) = &mut inner.payload {
        s.location = "BER2".into();
    }
    assert_eq!(m.send(KEY, "FRA1", &inner).0, 400, "snapshot naming another location");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

#[test]
fn replayed_frame_is_refused_for_another_satellite_and_after_revocation() {
    let m = Matrix::start(true, "");
    m.muc3_accepted();
    // The frame MUC3 sent, as captured on the wire.
    let captured = snapshot_frame("MUC3", 9, 1, &["web01"], "captured").encode().expect("encode");
    assert_eq!(m.post_frame(Some(MUC3_KEY), Some("MUC3"), captured.clone()).0, 200);
    let before = m.state();
    assert_eq!(m.post_frame(Some(BER2_KEY), Some("BER2"), captured.clone()).0, 403, "BER2 replaying MUC3's frame");
    assert_eq!(m.post_frame(Some(BER2_KEY), Some("MUC3"), captured.clone()).0, 403, "BER2's key claiming MUC3");
    // Replayed with MUC3's own key: a duplicate, acknowledged again but applied once.
    let (status, body) = m.post_frame(Some(MUC3_KEY), Some("MUC3"), captured.clone());
    assert_eq!(status, 200, "a duplicate is acknowledged");
    let ack = match Frame::decode(&body, &Limits::default()).expect("ack").payload {
        Payload::Ack(a) => a,
        other => panic!("{other:?}"),
    };
    assert!(ack.acks.iter().any(|a| a.stream == Stream::Snapshots && a.epoch == 9 && a.seq == 1), "{ack:?}");
    assert_eq!(m.state(), before, "the duplicate applied nothing");
    m.satellites_cli("revoke", "MUC3");
    assert_eq!(m.post_frame(Some(MUC3_KEY), Some("MUC3"), captured).0, 401, "MUC3's key after revocation");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

// ---- hostile bodies ----

/// Re-declares a frame's decompressed length (`raw_len`, offset 32) and fixes its checksum, as an attacker would.
fn with_raw_len(mut frame: Vec<u8>, raw_len: u32) -> Vec<u8> {
    frame[32..36].copy_from_slice(&raw_len.to_be_bytes());
    let loc_len = usize::from(frame[7]);
    let mut h = Sha256::new();
    h.update(&frame[..36]);
    h.update(&frame[68..]);
    let sum: [u8; 32] = h.finalize().into();
    frame[36..68].copy_from_slice(&sum);
    assert!(frame.len() > 68 + loc_len);
    frame
}

#[test]
fn oversized_and_decompression_bomb_bodies_are_refused() {
    // Plain HTTP, so that a raw request can declare a body it never sends; body limits sit above TLS.
    let m = Matrix::start(false, "[limits]\nmax_body_bytes = 65536\nmax_decompressed_bytes = 1048576\n");
    let before = m.state();
    // A declared 1 GB body is refused from its Content-Length, before any of it is read (or waited for).
    let mut s = TcpStream::connect(("127.0.0.1", m.port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let head = frame_request(&[]);
    let head = String::from_utf8(head).expect("ascii").replace("Content-Length: 0", "Content-Length: 1000000000");
    s.write_all(head.as_bytes()).expect("send head");
    let mut buf = [0u8; 256];
    let n = s.read(&mut buf).expect("an answer before the body");
    let status = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string();
    assert!(status.contains(" 413"), "declared oversized body: {status}");
    // Incompressible output: the payload itself is over 64 KiB.
    let noise: String = (0..200_000).map(|_| char::from(b'a' + rand::random::<u8>() % 26)).collect();
    let big = snapshot_frame("FRA1", 1, 1, &["big"], &noise).encode().expect("encode");
    assert!(big.len() > 65536 + 100);
    assert_eq!(m.post_frame(Some(KEY), Some("FRA1"), big).0, 413, "oversized body");
    // 8 MiB of one letter: a small payload that inflates past the 1 MiB limit (declared honestly).
    let bomb = snapshot_frame("FRA1", 1, 1, &["bomb"], &"A".repeat(8 << 20)).encode().expect("encode");
    assert!(bomb.len() < 65536, "the bomb fits the body limit: {} bytes", bomb.len());
    assert_eq!(m.post_frame(Some(KEY), Some("FRA1"), bomb.clone()).0, 413, "bomb over max_decompressed_bytes");
    // The same bomb lying about its size: decompression stops at the declared size and the frame is refused.
    let (status, body) = m.post_frame(Some(KEY), Some("FRA1"), with_raw_len(bomb, 1000));
    assert_eq!(status, 400, "lying bomb: {}", String::from_utf8_lossy(&body));
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

// ---- slow clients and connection count ----

/// How a trickling client's connection ended.
#[derive(Debug)]
enum Trickle {
    /// The NOC closed the connection (or reset it) after this many bytes were sent.
    Closed { sent: usize },
    /// The NOC answered after this many bytes were sent.
    Answered { sent: usize, head: String },
    /// Every byte was sent and the NOC never cut in: the slowloris won.
    Finished,
}

/// Sends `fast` at once, then `slow` one byte every 200 ms, watching for an answer or a close after each byte.
fn trickle(port: u16, fast: &[u8], slow: &[u8], started: std::sync::mpsc::Sender<()>) -> Trickle {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    s.write_all(fast).expect("send head");
    let _ = started.send(());
    let mut buf = [0u8; 4096];
    for (i, b) in slow.iter().enumerate() {
        if s.write_all(&[*b]).is_err() {
            return Trickle::Closed { sent: fast.len() + i };
        }
        match s.read(&mut buf) {
            Ok(0) => return Trickle::Closed { sent: fast.len() + i + 1 },
            Ok(n) => {
                let head = String::from_utf8_lossy(&buf[..n]).lines().next().unwrap_or("").to_string();
                return Trickle::Answered { sent: fast.len() + i + 1, head };
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return Trickle::Closed { sent: fast.len() + i + 1 },
        }
    }
    Trickle::Finished
}

fn frame_request(frame: &[u8]) -> Vec<u8> {
    let mut req = format!(
        "POST /api/v1/frames HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {KEY}\r\nX-Outpost-Location: FRA1\r\n\
         Content-Type: application/x-outpost-frame\r\nContent-Length: {}\r\n\r\n",
        frame.len()
    )
    .into_bytes();
    req.extend_from_slice(frame);
    req
}

const SLOW: &str = "[connections]\nheader_read_timeout_secs = 2\nbody_read_timeout_secs = 3\n";

/// A slowloris sends a FRA1 frame request, trickling the head (or, with `body_only`, sending the head at once and
/// trickling the body) while the legitimate satellite is served. Returns how it ended and the head's length.
fn slowloris(m: &Matrix, body_only: bool) -> (Trickle, usize) {
    let req = frame_request(&snapshot_frame("FRA1", 1, 1, &["slowloris"], "").encode().expect("encode"));
    let head_len = req.windows(4).position(|w| w == b"\r\n\r\n").expect("head end") + 4;
    let (fast, slow) = req.split_at(if body_only { head_len } else { 0 });
    let (tx, rx) = std::sync::mpsc::channel();
    let port = m.port();
    let outcome = std::thread::scope(|scope| {
        let client = scope.spawn(move || trickle(port, fast, slow, tx));
        rx.recv().expect("slow client started");
        m.legit_is_served();
        client.join().expect("slow client")
    });
    (outcome, head_len)
}

#[test]
fn slow_request_headers_are_cut_off_while_others_are_served() {
    let m = Matrix::start(false, SLOW);
    let before = m.state();
    // The head alone takes about 40 s at this pace; the NOC allows 2 s.
    match slowloris(&m, false) {
        (Trickle::Closed { sent }, head_len) => assert!(sent < head_len, "closed before the head was complete"),
        (Trickle::Answered { sent, head }, head_len) => {
            assert!(sent < head_len, "answered before the head was complete: {head}");
            assert!(!head.contains(" 200 "), "{head}");
        }
        (Trickle::Finished, _) => panic!("the NOC waited for a whole head trickled over ~40 s"),
    }
    assert_only_legit_applied(&m, &before);
    m.legit_is_served();
}

#[test]
fn slow_request_body_gets_408_while_others_are_served() {
    let m = Matrix::start(false, SLOW);
    let before = m.state();
    match slowloris(&m, true).0 {
        Trickle::Answered { head, .. } => assert!(head.contains(" 408"), "answered {head}"),
        other => panic!("expected 408 Request Timeout, got {other:?}"),
    }
    assert_only_legit_applied(&m, &before);
    assert!(m.metric("outpost_noc_body_timeouts_total") >= 1.0);
    m.legit_is_served();
}

/// Asserts that since `before` nothing changed but the legitimate satellite's own events (for rows where it is
/// served while the attack is still under way).
fn assert_only_legit_applied(m: &Matrix, before: &serde_json::Value) {
    let now = m.state();
    assert_eq!(now["objects"], before["objects"], "no object changed");
    let others = |v: &serde_json::Value| -> Vec<serde_json::Value> {
        v["events"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|e| !(e["location"] == "FRA1" && e["epoch"] == LEGIT_EPOCH))
            .cloned()
            .collect()
    };
    assert_eq!(others(&now), others(before), "no event but the legitimate satellite's");
}

/// True when the NOC closed (or reset) `s`; false if it is still open after 60 s (a bound against hangs only).
fn closed_by_noc(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    let mut buf = [0u8; 64];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

#[test]
fn idle_tls_connection_is_closed_by_the_handshake_timeout() {
    let m = Matrix::start(true, SLOW);
    let mut idle = TcpStream::connect(("127.0.0.1", m.port())).expect("connect");
    m.legit_is_served();
    // Never say a word: the NOC must close the connection itself (2 s handshake timeout).
    assert!(closed_by_noc(&mut idle), "the NOC kept a connection that never started TLS open for 60 s");
    m.legit_is_served();
}

/// Opens `n` connections that send nothing; each holds one slot of the cap.
fn idle_connections(port: u16, n: usize) -> Vec<TcpStream> {
    (0..n).map(|_| TcpStream::connect(("127.0.0.1", port)).expect("connect idle")).collect()
}

#[test]
fn connections_over_the_cap_wait_and_are_served_once_a_slot_frees() {
    // Idle connections are not evicted during this test (60 s timeouts): only closing frees slots.
    let m = Matrix::start(false, "[connections]\nmax = 4\nheader_read_timeout_secs = 60\nidle_timeout_secs = 60\n");
    let before = m.state();
    let idle = idle_connections(m.port(), 4);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            m.legit_is_served();
            let _ = tx.send(());
        });
        // Not a timing claim about the NOC: if the cap did not hold, the legitimate request would be served
        // while all four slots are taken; one second is ample for that on an idle loopback.
        std::thread::sleep(Duration::from_secs(1));
        assert!(rx.try_recv().is_err(), "a fifth connection was served while four held every slot");
        drop(idle);
        rx.recv_timeout(Duration::from_secs(60)).expect("served once the idle connections closed");
    });
    assert!(m.metric("outpost_noc_connections_at_limit_total") >= 1.0, "the cap was reached and counted");
    assert_only_legit_applied(&m, &before);
    m.legit_is_served();
}

#[test]
fn idle_connections_at_the_cap_are_evicted_by_the_idle_timeout() {
    let m = Matrix::start(false, "[connections]\nmax = 4\nidle_timeout_secs = 2\n");
    let mut idle = idle_connections(m.port(), 4);
    // The holders never close and never send; the NOC closes them after 2 s, and the legitimate satellite gets a slot.
    m.legit_is_served();
    for c in &mut idle {
        assert!(closed_by_noc(c), "an idle connection was never closed");
    }
    assert!(m.metric("outpost_noc_connections_at_limit_total") >= 1.0, "the cap was reached and counted");
    assert!(m.metric("outpost_noc_connections_idle_closed_total") >= 4.0, "idle closes counted");
    m.legit_is_served();
}

// ---- web view ----

fn web_section() -> String {
    let mut child = Command::new(bin("noc"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("noc hash-password");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    let out = child.wait_with_output().expect("hash");
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).expect("utf8").trim().to_string();
    format!("[web]\n[[web.operators]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n")
}

fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|l| l.split(';').next())
        .find(|p| p.starts_with(&format!("{name}=")) && p.len() > name.len() + 1)
        .map(str::to_string)
}

fn attr_after(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("page has {marker}")) + marker.len();
    html[at..].split('"').next().expect("closing quote").to_string()
}

#[test]
fn web_view_and_operator_api_without_a_login_are_refused() {
    let m = Matrix::start(true, &web_section());
    assert_eq!(m.enroll_muc3(), 202);
    let before = m.state();
    let page = m.request(reqwest::Method::GET, "/", &[]);
    assert_eq!(page.status(), 303, "anonymous page request");
    assert_eq!(page.headers().get("location").and_then(|v| v.to_str().ok()), Some("/login"));
    for path in ["/api/v1/objects", "/api/v1/events", "/api/v1/satellites", "/metrics"] {
        assert_eq!(m.request(reqwest::Method::GET, path, &[]).status(), 401, "anonymous {path}");
        let forged = [("Cookie", "outpost_session=forged")];
        assert_eq!(m.request(reqwest::Method::GET, path, &forged).status(), 401, "forged session on {path}");
    }
    let accept = m.request(reqwest::Method::POST, "/api/v1/satellites/MUC3/accept", &[]);
    assert_eq!(accept.status(), 401, "anonymous accept");
    let wrong = m.request(reqwest::Method::GET, "/", &[("Authorization", "Bearer not-an-operator-token")]);
    assert_ne!(wrong.status(), 200, "a wrong operator token does not open the web view");
    assert_eq!(m.satellite_status("MUC3"), "pending", "nothing changed");
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}

#[test]
fn csrf_without_a_token_is_refused() {
    let m = Matrix::start(true, &web_section());
    assert_eq!(m.enroll_muc3(), 202);
    // Login without the form's CSRF token: no session.
    let form = format!("name=alice&password={}", PASSWORD.replace(' ', "+"));
    let ct = ("Content-Type", "application/x-www-form-urlencoded");
    let login = m.client.post(format!("{}/login", m.base)).header(ct.0, ct.1).body(format!("{form}&csrf="));
    let resp = m.rt.block_on(async { login.send().await });
    let resp = resp.expect("POST /login");
    assert_eq!(resp.status(), 403, "login without the CSRF token");
    assert!(cookie(&resp, "outpost_session").is_none(), "no session handed out");
    // A real login.
    let page = m.request(reqwest::Method::GET, "/login", &[]);
    let login_cookie = cookie(&page, "outpost_login_csrf").expect("login cookie");
    let csrf = attr_after(&m.text(page), "name=\"csrf\" value=\"");
    let login = m
        .client
        .post(format!("{}/login", m.base))
        .header(ct.0, ct.1)
        .header("Cookie", &login_cookie)
        .body(format!("{form}&csrf={csrf}"));
    let resp = m.rt.block_on(async { login.send().await });
    let resp = resp.expect("POST /login");
    assert_eq!(resp.status(), 303);
    let session = cookie(&resp, "outpost_session").expect("session cookie");
    let app = m.request(reqwest::Method::GET, "/", &[("Cookie", &session)]);
    assert_eq!(app.status(), 200);
    let token = attr_after(&m.text(app), "name=\"csrf-token\" content=\"");
    let before = m.state();
    let accept = "/api/v1/satellites/MUC3/accept";
    let no_token = m.request(reqwest::Method::POST, accept, &[("Cookie", &session)]);
    assert_eq!(no_token.status(), 401, "session POST without the CSRF token");
    let wrong = "0".repeat(64);
    let bad = m.request(reqwest::Method::POST, accept, &[("Cookie", &session), ("X-CSRF-Token", &wrong)]);
    assert_eq!(bad.status(), 401, "session POST with a wrong CSRF token");
    assert_eq!(m.satellite_status("MUC3"), "pending", "nothing changed");
    assert_eq!(m.state(), before, "nothing applied");
    // The operator with the token is served, and so is the satellite.
    let ok = m.request(reqwest::Method::POST, accept, &[("Cookie", &session), ("X-CSRF-Token", &token)]);
    assert_eq!(ok.status(), 200);
    assert_eq!(m.satellite_status("MUC3"), "accepted");
    m.legit_is_served();
}

// ---- file-drop inbox ----

#[test]
fn inbox_never_reads_outside_through_links_or_subdirectories() {
    let m = Matrix::start(false, "[inbox]\ndir = \"inbox\"\nrescan_secs = 1\n");
    let inbox = m.noc_dir().join("inbox");
    wait_for("the inbox to exist", Duration::from_secs(30), || inbox.join("rejected").is_dir().then_some(()));
    let outside = m.dir.path().join("outside");
    std::fs::create_dir_all(&outside).expect("outside dir");
    let secret = snapshot_frame("FRA1", 1, 1, &["outside-host"], "read through a link").encode().expect("encode");
    std::fs::write(outside.join("secret.opf"), &secret).expect("outside frame");
    std::fs::write(outside.join("victim.txt"), "untouched\n").expect("victim");
    let before = m.state();
    use std::os::unix::fs::symlink;
    symlink(outside.join("secret.opf"), inbox.join("a-file-link.opf")).expect("symlink to a file");
    symlink(&outside, inbox.join("b-dir-link.opf")).expect("symlink to a directory");
    std::fs::create_dir(inbox.join("c-dir.opf")).expect("directory named like a frame");
    std::fs::write(inbox.join("c-dir.opf").join("x.opf"), &secret).expect("frame inside it");
    std::fs::create_dir(inbox.join("nested")).expect("nested");
    std::fs::write(inbox.join("nested").join("y.opf"), &secret).expect("nested frame");
    // A planted reason file: rejecting `d-garbage.opf` must not write through it.
    symlink(outside.join("victim.txt"), inbox.join("rejected").join("d-garbage.opf.reason")).expect("reason link");
    std::fs::write(inbox.join("d-garbage.opf"), b"not a frame").expect("garbage");
    // Last, a legitimate drop from BER2, which must be applied.
    let legit = snapshot_frame("BER2", 1, 1, &["dropped"], "via the inbox").encode().expect("encode");
    std::fs::write(inbox.join(".e-legit.tmp"), &legit).expect("legit");
    std::fs::rename(inbox.join(".e-legit.tmp"), inbox.join("e-legit.opf")).expect("rename");
    wait_for("the legitimate drop to be applied", Duration::from_secs(60), || {
        inbox.join("done").join("e-legit.opf").exists().then_some(())
    });
    let rejected = inbox.join("rejected");
    for name in ["a-file-link.opf", "b-dir-link.opf", "c-dir.opf"] {
        let reason = std::fs::read_to_string(rejected.join(format!("{name}.reason")))
            .unwrap_or_else(|e| panic!("{name} rejected with a reason: {e}"));
        assert!(reason.contains("not a regular file"), "{name}: {reason}");
        assert!(std::fs::symlink_metadata(rejected.join(name)).is_ok(), "{name} moved to rejected/");
        assert!(std::fs::symlink_metadata(inbox.join(name)).is_err(), "{name} gone from the inbox");
    }
    assert!(rejected.join("d-garbage.opf").exists(), "garbage rejected");
    assert_eq!(std::fs::read_to_string(outside.join("victim.txt")).expect("victim"), "untouched\n");
    assert_eq!(std::fs::read(outside.join("secret.opf")).expect("secret"), secret, "the outside file is untouched");
    assert!(inbox.join("nested").join("y.opf").exists(), "subdirectories are not descended into");
    let names: Vec<String> = m.api("/api/v1/objects?limit=1000")["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(names, ["BER2_dropped"], "only the legitimate drop applied");
    assert_eq!(m.state()["events"], before["events"], "no events from the inbox attack");
    m.legit_is_served();
}

// ---- TLS ----

#[test]
fn plain_http_off_loopback_is_refused_at_start_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("noc.toml");
    let port = free_port();
    std::fs::write(&config, format!("listen = \"0.0.0.0:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n"))
        .expect("write noc.toml");
    let mut child = Command::new(bin("noc"))
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("noc serve");
    let status =
        wait_for("noc serve to refuse the config", Duration::from_secs(30), || child.try_wait().ok().flatten());
    let mut stderr = String::new();
    child.stderr.take().expect("stderr").read_to_string(&mut stderr).expect("stderr");
    assert!(!status.success(), "a plain-HTTP NOC on 0.0.0.0 must not start");
    assert!(stderr.contains("loopback") && stderr.contains("[tls]"), "says why and what to do: {stderr}");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "nothing listens");
}

#[test]
fn satellite_refuses_a_noc_certificate_it_does_not_trust() {
    let m = Matrix::start(true, "");
    let url = m.base.clone();
    let spool = SpoolConfig { max_bytes: 64 << 20, max_age: None, segment_bytes: 1 << 20, fsync: true };
    let root = m.dir.path().join("sat");
    let before = m.state();
    // No CA file and no pin: the system roots do not vouch for the NOC's self-signed certificate.
    let sat = Sat::with_noc_options(&root, &url, spool.clone(), "");
    sat.fill(0, 20, 20);
    let out = sat.ship(3);
    assert_eq!(out.status.code(), Some(4), "no trust: {}", String::from_utf8_lossy(&out.stderr));
    // A CA file holding some other certificate.
    let other = m.dir.path().join("other");
    noc_init(&other, free_port());
    let wrong_ca = format!("ca_file = \"{}\"", other.join("tls/cert.pem").display());
    let out = Sat::with_noc_options(&root, &url, spool.clone(), &wrong_ca).ship(3);
    assert_eq!(out.status.code(), Some(4), "wrong CA: {}", String::from_utf8_lossy(&out.stderr));
    let spooled = sat.stats().pending_events;
    assert!(spooled >= 20, "everything stays spooled: {spooled}");
    assert_eq!(m.state(), before, "nothing crossed to an untrusted NOC");
    // The right CA: delivered, so the NOC was serving all along.
    let right_ca = format!("ca_file = \"{}\"", m.noc_dir().join("tls/cert.pem").display());
    let out = Sat::with_noc_options(&root, &url, spool, &right_ca).ship(30);
    assert!(out.status.success(), "trusted: {}", String::from_utf8_lossy(&out.stderr));
    let delivered = m.api("/api/v1/events?location=FRA1&limit=1000")["items"].as_array().map_or(0, Vec::len);
    assert!(delivered as u64 >= spooled, "{delivered} of {spooled} delivered");
}

#[test]
fn satellite_refuses_plain_http_to_a_noc_off_loopback() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spool = SpoolConfig { max_bytes: 64 << 20, max_age: None, segment_bytes: 1 << 20, fsync: true };
    let check = |url: &str| {
        let sat = Sat::new(&dir.path().join("sat"), url, spool.clone());
        Command::new(bin("satellite")).arg("--config").arg(&sat.config).arg("check-config").output().expect("check")
    };
    // 192.0.2.0/24 is TEST-NET-1: nothing is sent anywhere, the config is refused before any connection.
    let out = check("http://192.0.2.10:8443");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "plain HTTP off loopback must not validate: {stderr}");
    assert!(stderr.contains("not loopback") && stderr.contains("https://"), "says why and what to do: {stderr}");
    for ok in ["http://127.0.0.1:8443", "http://[::1]:8443", "http://localhost:8443", "https://192.0.2.10:8443"] {
        let out = check(ok);
        assert!(out.status.success(), "{ok}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn plain_http_to_the_tls_port_is_not_served() {
    let m = Matrix::start(true, "");
    let before = m.state();
    // The operator token and a request in clear: the NOC must not answer in HTTP, let alone serve it.
    let mut s = TcpStream::connect(("127.0.0.1", m.port())).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(60))).expect("timeout");
    write!(s, "GET /api/v1/objects HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API}\r\n\r\n").expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/"), "answered in clear: {}", String::from_utf8_lossy(&answer));
    assert_eq!(m.state(), before, "nothing applied");
    m.legit_is_served();
}
