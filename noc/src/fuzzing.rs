//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus regression tests in
//! `noc/tests/fuzz_corpus.rs`, so the fuzzer and CI check the same invariants with the same code.
//!
//! Each takes arbitrary bytes, must not panic on any of them, and panics itself (with a message naming
//! the broken invariant) when the code under test misbehaves. Not an API: hidden from the docs.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use outpost_format::frame::{Frame, Limits, Payload};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::config::{Config, RawConfig, sha256_hex};
use crate::inbox::InboxConfig;
use crate::ingest::FRAME_CONTENT_TYPE;
use crate::sinks::SinksConfig;
use crate::web::WebConfig;

/// `noc.toml` text (lossy UTF-8): parsing and every section's validation return a result, never panic.
pub fn config_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let Ok(raw) = toml::from_str::<RawConfig>(&text) else { return };
    let path = Path::new("/etc/outpost/noc.toml");
    let Ok(config) = Config::from_raw(raw, path) else { return };
    assert!(config.listen.ip().is_loopback() || config.tls.is_some(), "plain HTTP off loopback was accepted");
    let _ = WebConfig::from_table(&config.web, config.tls.is_some());
    let _ = SinksConfig::from_table(&config.sinks);
    let _ = InboxConfig::from_table(&config.inbox, path, config.limits);
}

/// Keys of the two satellites the ingest harness knows (pre-shared, as in `noc.toml`).
pub const FRA1_KEY: &str = "fra1-fuzz-key";
pub const BER2_KEY: &str = "ber2-fuzz-key";

/// Statuses the frame endpoint may answer; anything else (a 500 above all) is a bug.
const EXPECTED: [StatusCode; 6] = [
    StatusCode::OK,
    StatusCode::BAD_REQUEST,
    StatusCode::UNAUTHORIZED,
    StatusCode::FORBIDDEN,
    StatusCode::PAYLOAD_TOO_LARGE,
    StatusCode::TOO_MANY_REQUESTS,
];

/// The NOC's router (ingest, API, web) over a store in a temporary directory, driven in-process without sockets.
pub struct IngestHarness {
    runtime: tokio::runtime::Runtime,
    router: Router,
    cancel: CancellationToken,
    dir: PathBuf,
}

impl IngestHarness {
    /// A NOC that knows FRA1 and BER2 (keys [`FRA1_KEY`], [`BER2_KEY`]), with no rate limit to speak of.
    pub fn new() -> IngestHarness {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "outpost-fuzz-noc-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the harness directory");
        let toml = format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = \"data\"\ninsecure_plain_http = true\n\
             [rate_limit]\nper_second = 1e9\nburst = 1e9\n\
             [limits]\nmax_body_bytes = 1048576\nmax_decompressed_bytes = 8388608\n\
             [[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{}\"\n\
             [[satellites]]\nlocation = \"BER2\"\ntoken_sha256 = \"{}\"\n",
            sha256_hex(FRA1_KEY),
            sha256_hex(BER2_KEY)
        );
        let path = dir.join("noc.toml");
        std::fs::write(&path, toml).expect("write the harness config");
        let config = Config::load(&path).expect("the harness config is valid");
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime");
        let cancel = CancellationToken::new();
        let router = runtime.block_on(async {
            let state = crate::server::build_state(config, cancel.clone()).expect("the store opens");
            crate::server::build_router(state)
        });
        IngestHarness { runtime, router, cancel, dir }
    }

    /// One `POST /api/v1/frames`. `data` is header lines (`Name: value`, invalid ones skipped), an empty line,
    /// then the body. The answer must be an expected status; a 200 must carry an acknowledgement frame.
    pub fn request(&self, data: &[u8]) -> StatusCode {
        let (head, body) = match data.windows(2).position(|w| w == b"\n\n") {
            Some(i) => (&data[..i], &data[i + 2..]),
            None => (data, &[][..]),
        };
        let mut req = Request::post("/api/v1/frames").body(Body::from(body.to_vec())).expect("a request builds");
        for line in head.split(|&b| b == b'\n') {
            let Some(colon) = line.iter().position(|&b| b == b':') else { continue };
            let value = line[colon + 1..].trim_ascii();
            if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(&line[..colon]), HeaderValue::from_bytes(value)) {
                req.headers_mut().append(name, value);
            }
        }
        let router = self.router.clone();
        self.runtime.block_on(async move {
            let resp = router.oneshot(req).await.expect("the router is infallible");
            let status = resp.status();
            assert!(EXPECTED.contains(&status), "frame endpoint answered {status}");
            let content_type = resp.headers().get(header::CONTENT_TYPE).cloned();
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20).await.expect("the answer is readable");
            if status == StatusCode::OK {
                assert_eq!(content_type.as_ref().and_then(|v| v.to_str().ok()), Some(FRAME_CONTENT_TYPE));
                let ack = Frame::decode(&bytes, &Limits::default()).expect("a 200 carries a frame");
                assert!(matches!(ack.payload, Payload::Ack(_)), "a 200 carries an acknowledgement");
            } else {
                assert!(!bytes.is_empty(), "a refusal ({status}) says why");
            }
            status
        })
    }
}

impl Default for IngestHarness {
    fn default() -> Self {
        IngestHarness::new()
    }
}

impl Drop for IngestHarness {
    fn drop(&mut self) {
        self.cancel.cancel();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
