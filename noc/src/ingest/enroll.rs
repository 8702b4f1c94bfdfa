//! `POST /api/v1/enroll`: a satellite announces its location and key and waits as *pending* until accepted.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::credentials::{Refusal, bearer_and_location, record_refusal};
use crate::state::AppState;
use crate::store::{SatelliteStatus, now_ms};

/// At most this many pending keys are recorded, so unauthenticated requests cannot grow the table without bound.
pub const MAX_PENDING: i64 = 10_000;

#[derive(Debug, Deserialize)]
pub struct EnrollRequest {
    pub location: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub hostname: String,
}

fn status_json(status: StatusCode, s: &str) -> Response {
    (status, Json(json!({ "status": s }))).into_response()
}

pub async fn enroll(State(state): State<AppState>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    let (key_sha, location) = match bearer_and_location(&headers) {
        Ok(v) => v,
        Err(r) => {
            record_refusal(None, &r, "enroll");
            return (r.status(), r.message()).into_response();
        }
    };
    let req: EnrollRequest = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("enrollment body must be JSON {{location, version, hostname}}: {e}"),
            )
                .into_response();
        }
    };
    if req.location != location {
        return (StatusCode::BAD_REQUEST, "body location and X-Outpost-Location differ").into_response();
    }
    if let Err(wait) = state.rate.check(&format!("enroll:{location}"), std::time::Instant::now()) {
        return super::too_many(wait);
    }
    if let Some((_, bound)) = state.config.satellite_tokens.iter().find(|(h, _)| *h == key_sha) {
        if *bound == location {
            return status_json(StatusCode::OK, "accepted");
        }
        let r = Refusal::Forbidden(format!("this credential is bound to location {bound}"));
        record_refusal(Some(&location), &r, "enroll");
        return status_json(StatusCode::FORBIDDEN, "wrong_location");
    }
    let store = state.store.clone();
    let hostname: String = req.hostname.chars().take(255).collect();
    let version: String = req.version.chars().take(64).collect();
    let result = tokio::task::spawn_blocking(move || {
        if let Some(row) = store.satellite_by_key(&key_sha)? {
            return Ok(Some(row));
        }
        let pending: i64 = store
            .read(|c| c.query_row("SELECT count(*) FROM satellites WHERE status = 'pending'", [], |r| r.get(0)))?;
        if pending >= MAX_PENDING {
            return Ok(None);
        }
        let row = store.enroll(&key_sha, &location, &hostname, &version, now_ms())?;
        tracing::info!(location, hostname, "enrollment request recorded as pending");
        Ok::<_, anyhow::Error>(Some(row))
    })
    .await;
    let row = match result {
        Ok(Ok(Some(row))) => row,
        Ok(Ok(None)) => {
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "too many pending enrollments; an operator must accept or reject some",
            )
                .into_response();
        }
        Ok(Err(e)) => {
            tracing::error!(error = %format!("{e:#}"), "enrollment failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "store unavailable; retry").into_response();
        }
        Err(_) => return (StatusCode::INTERNAL_SERVER_ERROR, "enrollment task failed").into_response(),
    };
    if row.location != req.location {
        let r = Refusal::Forbidden(format!("this key is bound to location {}", row.location));
        record_refusal(Some(&req.location), &r, "enroll");
        return status_json(StatusCode::FORBIDDEN, "wrong_location");
    }
    match row.status {
        SatelliteStatus::Accepted => status_json(StatusCode::OK, "accepted"),
        SatelliteStatus::Pending => status_json(StatusCode::ACCEPTED, "pending"),
        SatelliteStatus::Rejected => status_json(StatusCode::FORBIDDEN, "rejected"),
        SatelliteStatus::Revoked => status_json(StatusCode::FORBIDDEN, "revoked"),
    }
}
