//! Operator API authentication: a bearer token whose SHA-256 is in `[api] tokens_sha256`, or a logged-in
//! web-view session (`web::session_is_valid`, which also checks the CSRF token on POSTs).
//!
//! HOOK: this is the one place that decides who may use the operator API; add other schemes here.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::config::sha256_hex;
use crate::state::AppState;

/// Middleware for every operator route: 401 unless the request carries a valid token or web session.
pub async fn require_operator(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if is_operator(&state, &req) {
        return next.run(req).await;
    }
    metrics::counter!("outpost_noc_auth_failures_total", "reason" => "operator", "path" => "api").increment(1);
    tracing::warn!(path = %req.uri().path(), "operator API request refused: no valid token or session");
    (
        StatusCode::UNAUTHORIZED,
        [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
        "operator API: send `Authorization: Bearer <token>` (its SHA-256 in [api] tokens_sha256) or log in to the web view",
    )
        .into_response()
}

fn is_operator(state: &AppState, req: &Request) -> bool {
    let headers = req.headers();
    if let Some(token) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let h = sha256_hex(token.trim());
        // Comparing hashes: equal-length digests of a secret, so timing reveals nothing useful.
        if state.config.api_tokens_sha256.contains(&h) {
            return true;
        }
    }
    match &state.web {
        Some(web) => crate::web::session_is_valid(web, req.method(), headers),
        None => false,
    }
}
