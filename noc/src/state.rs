//! [`AppState`]: what every HTTP handler and background task of the daemon shares.
//!
//! Where others plug in:
//! - the web view mounts `web::router(..)` beside the API in `server::build_router`;
//! - northbound sinks are spawned from `server::serve` with the store, the config and the cancel token;
//! - their config sections are `config.web`, `config.sinks` and `config.inbox` (raw `toml::Table`s).

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::ingest::rate_limit::RateLimiter;
use crate::store::Store;

/// Shared by all handlers. Cheap to clone (everything inside is reference-counted).
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    /// Renders `/metrics`; `None` when another recorder was already installed (tests in one process).
    pub metrics: Option<PrometheusHandle>,
    /// Per-satellite request budget for ingest and enrollment.
    pub rate: Arc<RateLimiter>,
    /// Cancelled on SIGTERM/SIGINT: long-lived streams (SSE, `--follow`) end, the listener drains.
    pub cancel: CancellationToken,
    /// Web-view sessions, so a logged-in browser may call the operator API (see `api::auth`).
    pub web: Option<Arc<crate::web::WebAuth>>,
}
