//! Satellite credentials: `Authorization: Bearer <key>` plus `X-Outpost-Location`, checked against the
//! pre-shared tokens in config and the enrolled keys in the store. A key is bound to exactly one location.

use axum::http::{HeaderMap, StatusCode};

use crate::config::sha256_hex;
use crate::state::AppState;
use crate::store::SatelliteStatus;

pub const LOCATION_HEADER: &str = "x-outpost-location";

/// Why a request's credential was refused; maps to the status in `docs/protocol.md`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no, malformed, unknown or revoked credential.
    Unauthenticated(&'static str),
    /// 403: a known key that may not write (pending, rejected) or a key used for another location.
    Forbidden(String),
    /// 503: the store could not be read.
    Unavailable,
}

impl Refusal {
    pub fn status(&self) -> StatusCode {
        match self {
            Refusal::Unauthenticated(_) => StatusCode::UNAUTHORIZED,
            Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
            Refusal::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
    pub fn message(&self) -> String {
        match self {
            Refusal::Unauthenticated(why) => format!("unauthenticated: {why}"),
            Refusal::Forbidden(why) => format!("forbidden: {why}"),
            Refusal::Unavailable => "store unavailable; retry later".into(),
        }
    }
}

/// The bearer key and claimed location of a request.
pub fn bearer_and_location(headers: &HeaderMap) -> Result<(String, String), Refusal> {
    let auth = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Unauthenticated("missing Authorization: Bearer header"))?;
    let key = auth
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 256)
        .ok_or(Refusal::Unauthenticated("Authorization must be `Bearer <key>`"))?;
    let location = headers
        .get(LOCATION_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or(Refusal::Unauthenticated("missing X-Outpost-Location header"))?;
    if outpost_format::naming::validate_location(location).is_err() {
        return Err(Refusal::Unauthenticated("X-Outpost-Location is not a valid location ID"));
    }
    Ok((sha256_hex(key), location.to_string()))
}

/// Checks that the request may write as the location it names; returns that location.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, Refusal> {
    let (key_sha, location) = bearer_and_location(headers)?;
    if let Some((_, bound)) = state.config.satellite_tokens.iter().find(|(h, _)| *h == key_sha) {
        return if *bound == location {
            Ok(location)
        } else {
            Err(Refusal::Forbidden(format!("this credential is bound to location {bound}, not {location}")))
        };
    }
    let row = state.store.satellite_by_key(&key_sha).map_err(|e| {
        tracing::error!(error = %format!("{e:#}"), "credential lookup failed");
        Refusal::Unavailable
    })?;
    let Some(row) = row else {
        return Err(Refusal::Unauthenticated("unknown key; enroll first (POST /api/v1/enroll)"));
    };
    if row.location != location {
        return Err(Refusal::Forbidden(format!(
            "this credential is bound to location {}, not {location}",
            row.location
        )));
    }
    match row.status {
        SatelliteStatus::Accepted => Ok(location),
        SatelliteStatus::Revoked => Err(Refusal::Unauthenticated("this key was revoked")),
        SatelliteStatus::Pending => {
            Err(Refusal::Forbidden(format!("pending: an operator must run `noc satellites accept {location}`")))
        }
        SatelliteStatus::Rejected => Err(Refusal::Forbidden("this key was rejected by an operator".into())),
    }
}

/// Logs and counts a refused credential.
pub fn record_refusal(location_hint: Option<&str>, refusal: &Refusal, path: &'static str) {
    let reason = match refusal {
        Refusal::Unauthenticated(_) => "unauthenticated",
        Refusal::Forbidden(_) => "forbidden",
        Refusal::Unavailable => return,
    };
    metrics::counter!("outpost_noc_auth_failures_total", "reason" => reason, "path" => path).increment(1);
    tracing::warn!(location = location_hint.unwrap_or("?"), path, "{}", refusal.message());
}
