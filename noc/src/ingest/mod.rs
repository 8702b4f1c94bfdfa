//! Satellite-facing HTTP: `POST /api/v1/frames` and `POST /api/v1/enroll`, as `docs/protocol.md` specifies.
//!
//! Owns authentication of satellites, rate limits, size limits and the mapping of outcomes to statuses.
//! What a frame does to the state is the store's business (`store::apply`).

pub mod credentials;
pub mod enroll;
pub mod rate_limit;

use std::time::Instant;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use outpost_format::frame::{FrameError, Payload};
use outpost_format::{Frame, Limits};

use crate::config::Config;
use crate::state::AppState;
use crate::store::{ApplyError, FrameMeta, apply::Backlog, now_ms};
use credentials::{Refusal, authenticate, record_refusal};

pub const FRAME_CONTENT_TYPE: &str = "application/x-outpost-frame";

/// The satellite-facing routes, with the body limit from config.
pub fn router(config: &Config) -> Router<AppState> {
    let max_body = outpost_format::frame::HEADER_LEN
        + outpost_format::frame::MAX_LOCATION_LEN
        + config.limits.max_payload as usize;
    Router::new()
        .route("/api/v1/frames", post(frames))
        .route("/api/v1/enroll", post(enroll::enroll))
        .layer(DefaultBodyLimit::max(max_body))
        // Refuses a declared Content-Length over the limit at once (413), instead of reading up to the limit first.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(max_body))
}

fn text(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, msg.into()).into_response()
}

fn refused(refusal: &Refusal, location: Option<&str>) -> Response {
    record_refusal(location, refusal, "frames");
    text(refusal.status(), refusal.message())
}

fn too_many(wait: std::time::Duration) -> Response {
    metrics::counter!("outpost_noc_rate_limited_total").increment(1);
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = text(StatusCode::TOO_MANY_REQUESTS, format!("rate limited: retry after {secs} s"));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
    r
}

async fn frames(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let received_at = now_ms();
    let location = match authenticate(&state, &headers) {
        Ok(l) => l,
        Err(r) => return refused(&r, headers.get(credentials::LOCATION_HEADER).and_then(|v| v.to_str().ok())),
    };
    if let Err(wait) = state.rate.check(&location, Instant::now()) {
        return too_many(wait);
    }
    let frame = match decode(&body, &state.config.limits) {
        Ok(f) => f,
        Err(resp) => {
            metrics::counter!("outpost_noc_frames_rejected_total", "reason" => "decode").increment(1);
            tracing::warn!(location, "frame refused: {:?}", resp.status());
            return *resp;
        }
    };
    if frame.location != location {
        let r = Refusal::Forbidden(format!(
            "frame is for location {:?} but the credential is for {location:?}; nothing applied",
            frame.location
        ));
        return refused(&r, Some(&location));
    }
    if matches!(frame.payload, Payload::Ack(_)) {
        return text(StatusCode::BAD_REQUEST, "malformed frame: satellites do not send acknowledgement frames");
    }
    let meta = meta_from_headers(&headers, received_at);
    let kind = frame.kind();
    let started = Instant::now();
    match state.store.apply_frame(frame, meta).await {
        Ok(outcome) => {
            metrics::histogram!("outpost_noc_apply_seconds").record(started.elapsed().as_secs_f64());
            metrics::counter!("outpost_noc_frames_total", "kind" => format!("{kind:?}"), "result" => format!("{:?}", outcome.disposition)).increment(1);
            let ack = Frame { location: String::new(), epoch: 0, seq: 0, payload: Payload::Ack(outcome.ack) };
            match ack.encode() {
                Ok(bytes) => ([(header::CONTENT_TYPE, FRAME_CONTENT_TYPE)], bytes).into_response(),
                Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("could not encode the acknowledgement: {e}")),
            }
        }
        Err(ApplyError::Malformed(m)) => {
            metrics::counter!("outpost_noc_frames_rejected_total", "reason" => "content").increment(1);
            tracing::warn!(location, "frame refused: {m}");
            text(StatusCode::BAD_REQUEST, format!("malformed frame: {m}; nothing applied"))
        }
        Err(ApplyError::Unavailable(m)) => {
            tracing::error!(location, "frame not applied: {m}");
            let mut r = text(StatusCode::SERVICE_UNAVAILABLE, format!("{m}; nothing applied, retry"));
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            r
        }
    }
}

/// Decodes the body, mapping size violations to 413 and everything else to 400.
fn decode(body: &[u8], limits: &Limits) -> Result<Frame, Box<Response>> {
    Frame::decode(body, limits).map_err(|e| {
        Box::new(match e {
            FrameError::PayloadTooLarge { .. } | FrameError::RawTooLarge { .. } => {
                text(StatusCode::PAYLOAD_TOO_LARGE, format!("frame too large: {e}; nothing applied"))
            }
            other => text(StatusCode::BAD_REQUEST, format!("malformed frame: {other}; nothing applied")),
        })
    })
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the optional delivery headers; malformed values are ignored (they are advisory).
pub fn meta_from_headers(headers: &HeaderMap, received_at: i64) -> FrameMeta {
    FrameMeta {
        received_at,
        sent_at: header_str(headers, "x-outpost-sent-at").and_then(|v| v.trim().parse().ok()),
        backlog: header_str(headers, "x-outpost-backlog").and_then(Backlog::parse),
        ship_interval_s: header_str(headers, "x-outpost-ship-interval").and_then(|v| v.trim().parse().ok()),
        version: header_str(headers, "x-outpost-version").map(|v| v.chars().take(64).collect()),
    }
}
