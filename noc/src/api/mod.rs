//! The operator JSON API under `/api/v1/` plus `/metrics`: locations, objects, events (paged and as
//! Server-Sent Events), satellites and enrollment decisions, held snapshots. Every route requires an operator
//! (see [`auth`]). Query parsing and JSON shapes live here; the queries themselves are the store's.

pub mod auth;
mod events_stream;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::state::AppState;
use crate::store::{EventFilter, ObjectFilter, SatelliteStatus, StoredEvent, now_ms};

/// The operator routes, behind [`auth::require_operator`].
pub fn router(state: &AppState) -> Router<AppState> {
    Router::new()
        .route("/api/v1/locations", get(locations))
        .route("/api/v1/objects", get(objects))
        .route("/api/v1/events", get(events))
        .route("/api/v1/events/stream", get(events_stream::stream))
        .route("/api/v1/satellites", get(satellites))
        .route("/api/v1/satellites/{location}/{action}", post(satellite_action))
        .route("/api/v1/held", get(held))
        .route("/api/v1/held/{location}/release", post(release))
        .route("/metrics", get(metrics_text))
        .layer(axum::middleware::from_fn_with_state(state.clone(), auth::require_operator))
}

fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn internal(e: anyhow::Error) -> Response {
    tracing::error!(error = %format!("{e:#}"), "operator API query failed");
    error(StatusCode::SERVICE_UNAVAILABLE, "store query failed; see the NOC log")
}

/// Runs a blocking store query off the async runtime.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> anyhow::Result<T> + Send + 'static) -> Result<T, Response> {
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(internal(e)),
        Err(_) => Err(error(StatusCode::INTERNAL_SERVER_ERROR, "query task failed")),
    }
}

async fn locations(State(s): State<AppState>) -> Response {
    let store = s.store.clone();
    match blocking(move || store.locations(now_ms())).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct ObjectQuery {
    pub location: Option<String>,
    pub problems: Option<bool>,
    /// A state code (`2`) or name (`CRITICAL`, `down`).
    pub state: Option<String>,
    pub acknowledged: Option<bool>,
    pub downtime: Option<bool>,
    pub q: Option<String>,
    pub offset: Option<usize>,
    pub limit: Option<usize>,
}

/// `2`, `CRITICAL`, `down`: numeric codes pass through; names map to their Nagios codes.
pub fn parse_state(s: &str) -> Option<u8> {
    if let Ok(n) = s.parse::<u8>() {
        return Some(n);
    }
    Some(match s.to_ascii_uppercase().as_str() {
        "OK" | "UP" => 0,
        "WARNING" | "DOWN" => 1,
        "CRITICAL" | "UNREACHABLE" => 2,
        "UNKNOWN" => 3,
        _ => return None,
    })
}

async fn objects(State(s): State<AppState>, Query(q): Query<ObjectQuery>) -> Response {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => match parse_state(v) {
            Some(n) => Some(n),
            None => return error(StatusCode::BAD_REQUEST, format!("state={v:?}: use a code 0-3 or a state name")),
        },
        None => None,
    };
    let filter = ObjectFilter {
        location: q.location.filter(|l| !l.is_empty()),
        problems: q.problems.unwrap_or(false),
        state,
        acknowledged: q.acknowledged,
        downtime: q.downtime,
        q: q.q,
        offset: q.offset.unwrap_or(0),
        limit: q.limit.unwrap_or(100),
    };
    let store = s.store.clone();
    match blocking(move || store.query_objects(&filter)).await {
        Ok(page) => Json(page).into_response(),
        Err(r) => r,
    }
}

#[derive(Debug, Deserialize, Default)]
pub struct EventQuery {
    pub location: Option<String>,
    pub kind: Option<String>,
    pub state: Option<String>,
    pub before_id: Option<i64>,
    pub after_id: Option<i64>,
    pub limit: Option<usize>,
}

/// JSON for one event: the columns plus the full event under `event` for detail views.
pub fn event_json(e: &StoredEvent) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    if let Some(obj) = v.as_object_mut() {
        obj.insert("event".into(), serde_json::to_value(&e.event.kind).unwrap_or_default());
    }
    v
}

async fn events(State(s): State<AppState>, Query(q): Query<EventQuery>) -> Response {
    let state = match q.state.as_deref().filter(|v| !v.is_empty()) {
        Some(v) => match parse_state(v) {
            Some(n) => Some(n),
            None => return error(StatusCode::BAD_REQUEST, format!("state={v:?}: use a code 0-3 or a state name")),
        },
        None => None,
    };
    let filter = EventFilter {
        location: q.location.filter(|l| !l.is_empty()),
        kind: q.kind.filter(|k| !k.is_empty()),
        state,
        before_id: q.before_id,
        after_id: q.after_id,
        limit: q.limit.unwrap_or(100),
    };
    let store = s.store.clone();
    match blocking(move || store.query_events(&filter)).await {
        Ok(items) => Json(json!({ "items": items.iter().map(event_json).collect::<Vec<_>>() })).into_response(),
        Err(r) => r,
    }
}

async fn satellites(State(s): State<AppState>) -> Response {
    let store = s.store.clone();
    match blocking(move || store.satellites()).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r,
    }
}

async fn satellite_action(State(s): State<AppState>, Path((location, action)): Path<(String, String)>) -> Response {
    let to = match action.as_str() {
        "accept" => SatelliteStatus::Accepted,
        "reject" => SatelliteStatus::Rejected,
        "revoke" => SatelliteStatus::Revoked,
        other => return error(StatusCode::NOT_FOUND, format!("unknown action {other:?}: accept, reject or revoke")),
    };
    let store = s.store.clone();
    let loc = location.clone();
    match blocking(move || store.set_satellite_status(&loc, to, now_ms())).await {
        Ok(0) => error(StatusCode::CONFLICT, format!("no key of {location} can be moved to {}", to.as_str())),
        Ok(n) => {
            tracing::info!(location, action, keys = n, "satellite status changed by operator API");
            Json(json!({ "location": location, "status": to.as_str(), "keys": n })).into_response()
        }
        Err(r) => r,
    }
}

async fn held(State(s): State<AppState>) -> Response {
    let store = s.store.clone();
    match blocking(move || store.held()).await {
        Ok(rows) => Json(rows).into_response(),
        Err(r) => r,
    }
}

async fn release(State(s): State<AppState>, Path(location): Path<String>) -> Response {
    match s.store.release_held(&location).await {
        Ok(true) => Json(json!({ "location": location, "released": true })).into_response(),
        Ok(false) => error(StatusCode::NOT_FOUND, format!("no snapshot of {location} is held")),
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
    }
}

async fn metrics_text(State(s): State<AppState>) -> Response {
    crate::metrics::refresh_gauges(&s).await;
    match &s.metrics {
        Some(h) => ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], h.render()).into_response(),
        None => error(StatusCode::SERVICE_UNAVAILABLE, "metrics recorder not installed in this process"),
    }
}
