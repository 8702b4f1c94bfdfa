//! The HTTPS client: TLS trust (the NOC's CA file, or a pinned certificate SHA-256), the request headers of
//! `docs/protocol.md`, and the mapping of NOC answers to [`SendError`]s the sender loop can act on.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use outpost_format::Limits;
use outpost_format::frame::{Ack, Frame, Payload};
use reqwest::{StatusCode, Url};

/// How the satellite decides to trust the NOC.
#[derive(Debug, Clone)]
pub enum Trust {
    /// PEM file with the CA (or the NOC's own certificate) to trust; nothing else is trusted.
    CaFile(PathBuf),
    /// SHA-256 of the NOC's leaf certificate (DER); any chain is accepted if the leaf matches and signs the handshake.
    Pinned([u8; 32]),
    /// The system's roots (for a NOC behind a public certificate).
    System,
}

/// What went wrong with one request, sorted by what the sender should do about it.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Connection refused, reset, timed out, TLS failure, 5xx: try the next URL, then back off.
    #[error("NOC unreachable at {url}: {msg}")]
    Unreachable { url: String, msg: String },
    /// 401: the key is unknown or revoked. Not fixed by retrying; an operator must act.
    #[error("the NOC refused our credential (401); check identity.key and the NOC's satellite list")]
    Unauthorized,
    /// 403: pending enrollment, rejected, or wrong location.
    #[error("the NOC refused this satellite (403): {0}")]
    Forbidden(String),
    /// 413: the frame is too large; send smaller batches.
    #[error("frame too large for the NOC (413)")]
    TooLarge,
    /// 429: wait this long.
    #[error("rate limited by the NOC; retry after {0:?}")]
    RateLimited(Duration),
    /// 400: the NOC could not decode what we sent. A bug on one side; retrying the same bytes will not help.
    #[error("the NOC rejected the frame as malformed (400): {0}")]
    Malformed(String),
    /// 200 with a body that is not an acknowledgement frame.
    #[error("bad acknowledgement from {url}: {msg}")]
    BadAck { url: String, msg: String },
}

pub struct NocClient {
    client: reqwest::Client,
    urls: Vec<Url>,
    location: String,
    key: String,
    version: String,
    /// Index into `urls` of the NOC that answered last; failover moves it on.
    current: usize,
}

/// Headers describing the backlog and the schedule, sent with every frame.
#[derive(Debug, Clone, Default)]
pub struct FrameHeaders {
    pub backlog_items: u64,
    pub backlog_bytes: u64,
    pub backlog_oldest_ms: i64,
    pub ship_interval_s: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrollment {
    Accepted,
    Pending,
    Rejected(String),
}

impl NocClient {
    pub fn new(
        urls: Vec<Url>,
        trust: &Trust,
        location: &str,
        key: &str,
        timeout: Duration,
    ) -> anyhow::Result<NocClient> {
        anyhow::ensure!(!urls.is_empty(), "no NOC URL configured");
        let mut b = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .pool_idle_timeout(Duration::from_secs(50))
            .user_agent(concat!("outpost-satellite/", env!("CARGO_PKG_VERSION")));
        b = match trust {
            Trust::System => b,
            Trust::CaFile(path) => {
                let pem = std::fs::read(path).with_context(|| format!("read NOC CA file {}", path.display()))?;
                let certs = reqwest::Certificate::from_pem_bundle(&pem)
                    .with_context(|| format!("parse NOC CA file {} as PEM", path.display()))?;
                anyhow::ensure!(!certs.is_empty(), "{} holds no certificate", path.display());
                b.tls_certs_only(certs)
            }
            Trust::Pinned(sha) => b.tls_backend_preconfigured(pinned_tls_config(*sha)?),
        };
        Ok(NocClient {
            client: b.build().context("build the HTTPS client")?,
            urls,
            location: location.to_string(),
            key: key.to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            current: 0,
        })
    }

    pub fn current_url(&self) -> &Url {
        &self.urls[self.current]
    }

    /// Moves to the next NOC URL (failover); returns true when it wrapped back to the first.
    pub fn fail_over(&mut self) -> bool {
        self.current = (self.current + 1) % self.urls.len();
        self.current == 0
    }

    pub fn n_urls(&self) -> usize {
        self.urls.len()
    }

    /// Posts one encoded frame and returns the NOC's acknowledgement.
    ///
    /// # Cancel safety
    /// Safe to drop: the spool is not touched here; a frame that reached the NOC is a duplicate when resent.
    pub async fn post_frame(&self, frame: Vec<u8>, h: &FrameHeaders) -> Result<Ack, SendError> {
        let url = self.endpoint("api/v1/frames");
        let resp = self
            .client
            .post(url.clone())
            .bearer_auth(&self.key)
            .header("X-Outpost-Location", &self.location)
            .header("X-Outpost-Sent-At", crate::spool::now_ms().to_string())
            .header(
                "X-Outpost-Backlog",
                format!("items={};bytes={};oldest_ms={}", h.backlog_items, h.backlog_bytes, h.backlog_oldest_ms),
            )
            .header("X-Outpost-Ship-Interval", h.ship_interval_s.to_string())
            .header("X-Outpost-Version", &self.version)
            .header(reqwest::header::CONTENT_TYPE, "application/x-outpost-frame")
            .body(frame)
            .send()
            .await
            .map_err(|e| SendError::Unreachable { url: url.to_string(), msg: error_chain(&e) })?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body =
            resp.bytes().await.map_err(|e| SendError::Unreachable { url: url.to_string(), msg: error_chain(&e) })?;
        match status {
            StatusCode::OK => {
                let frame = Frame::decode(&body, &Limits { max_payload: 16 << 20, max_raw: 64 << 20 })
                    .map_err(|e| SendError::BadAck { url: url.to_string(), msg: e.to_string() })?;
                match frame.payload {
                    Payload::Ack(ack) => Ok(ack),
                    other => {
                        Err(SendError::BadAck { url: url.to_string(), msg: format!("got a {:?} frame", other.kind()) })
                    }
                }
            }
            StatusCode::UNAUTHORIZED => Err(SendError::Unauthorized),
            StatusCode::FORBIDDEN => Err(SendError::Forbidden(short_text(&body))),
            StatusCode::PAYLOAD_TOO_LARGE => Err(SendError::TooLarge),
            StatusCode::TOO_MANY_REQUESTS => Err(SendError::RateLimited(Duration::from_secs(retry_after.unwrap_or(1)))),
            StatusCode::BAD_REQUEST => Err(SendError::Malformed(short_text(&body))),
            other => Err(SendError::Unreachable {
                url: url.to_string(),
                msg: format!("HTTP {other}: {}", short_text(&body)),
            }),
        }
    }

    /// Asks the NOC to accept this satellite's key (`POST /api/v1/enroll`).
    pub async fn enroll(&self, hostname: &str) -> Result<Enrollment, SendError> {
        let url = self.endpoint("api/v1/enroll");
        let body = serde_json::json!({ "location": self.location, "version": self.version, "hostname": hostname });
        let resp = self
            .client
            .post(url.clone())
            .bearer_auth(&self.key)
            .header("X-Outpost-Location", &self.location)
            .json(&body)
            .send()
            .await
            .map_err(|e| SendError::Unreachable { url: url.to_string(), msg: error_chain(&e) })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match status {
            StatusCode::OK => Ok(Enrollment::Accepted),
            StatusCode::ACCEPTED => Ok(Enrollment::Pending),
            StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED => Ok(Enrollment::Rejected(short_text(text.as_bytes()))),
            other => Err(SendError::Unreachable { url: url.to_string(), msg: format!("HTTP {other} on enroll") }),
        }
    }

    fn endpoint(&self, path: &str) -> Url {
        let base = &self.urls[self.current];
        let mut s = base.as_str().trim_end_matches('/').to_string();
        s.push('/');
        s.push_str(path);
        Url::parse(&s).unwrap_or_else(|_| base.clone())
    }
}

fn short_text(body: &[u8]) -> String {
    let s = String::from_utf8_lossy(&body[..body.len().min(300)]);
    s.trim().replace('\n', " ")
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

/// A rustls config that trusts exactly one leaf certificate, by its SHA-256.
fn pinned_tls_config(sha: [u8; 32]) -> anyhow::Result<rustls::ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = Arc::new(PinnedVerifier { sha, algs: provider.signature_verification_algorithms });
    let mut cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(cfg)
}

#[derive(Debug)]
struct PinnedVerifier {
    sha: [u8; 32],
    algs: rustls::crypto::WebPkiSupportedAlgorithms,
}

impl rustls::client::danger::ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        use sha2::Digest;
        let got: [u8; 32] = sha2::Sha256::digest(end_entity.as_ref()).into();
        if got == self.sha {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "NOC certificate SHA-256 {} does not match the pinned {}",
                hex::encode(got),
                hex::encode(self.sha)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algs.supported_schemes()
    }
}
