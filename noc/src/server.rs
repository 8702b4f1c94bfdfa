//! `noc serve`: opens the store, builds the router (ingest, operator API, web view), listens with TLS
//! (or plain HTTP on loopback when configured), runs housekeeping, and shuts down gracefully on SIGTERM/SIGINT:
//! the listener stops accepting, in-flight requests finish (their applies commit and are acknowledged),
//! then the store's writer drains its queue and stops.
//! Connection count and slow clients are bounded by `connections.rs` (`[connections]` in `noc.toml`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::routing::get;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::connections::CappedAddr;
use crate::ingest::rate_limit::RateLimiter;
use crate::state::AppState;
use crate::store::{Store, StoreOptions};

/// How often housekeeping runs (silence detection, retention, tombstones, CLI release requests).
pub const MAINTENANCE_INTERVAL: Duration = Duration::from_secs(1);
/// How long in-flight requests get to finish after SIGTERM.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Builds the shared state: opens the store and, if configured, the web view's session store.
pub fn build_state(config: Config, cancel: CancellationToken) -> anyhow::Result<AppState> {
    let store = Store::open(&config.db_path(), StoreOptions::from_config(&config))?;
    let web = crate::web::WebConfig::from_table(&config.web, config.tls.is_some())
        .map(|wc| Arc::new(crate::web::WebAuth::new(wc)))
        .context("[web]")?;
    Ok(AppState {
        rate: Arc::new(RateLimiter::new(config.rate_per_second, config.rate_burst)),
        config: Arc::new(config),
        store,
        metrics: crate::metrics::install(),
        cancel,
        web: Some(web),
    })
}

/// Every route the daemon serves.
pub fn build_router(state: AppState) -> Router {
    let mut app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .merge(crate::ingest::router(&state.config))
        .merge(crate::api::router(&state))
        .with_state(state.clone());
    if let Some(web) = &state.web {
        app = app.merge(crate::web::router(web.clone()));
    }
    app
}

/// Runs the daemon until SIGTERM or SIGINT.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let cancel = CancellationToken::new();
    {
        let cancel = cancel.clone();
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested: finishing in-flight requests");
            cancel.cancel();
        });
    }
    run(config, cancel, |_| {}).await
}

/// Runs the daemon until `cancel` fires; `on_listening` gets the bound address (useful with port 0).
pub async fn run(
    config: Config,
    cancel: CancellationToken,
    on_listening: impl FnOnce(std::net::SocketAddr) + Send + 'static,
) -> anyhow::Result<()> {
    let tracker = TaskTracker::new();
    let listen = config.listen;
    let tls = config.tls.clone();
    let limits = config.connections;
    let state = build_state(config, cancel.clone())?;
    let app = build_router(state.clone())
        .layer(axum::middleware::from_fn_with_state(limits.body_read_timeout, crate::connections::body_deadline));

    // Housekeeping: one task, stops with the cancel token.
    {
        let store = state.store.clone();
        let cancel = cancel.clone();
        tracker.spawn(async move {
            let mut tick = tokio::time::interval(MAINTENANCE_INTERVAL);
            loop {
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    _ = tick.tick() => {
                        if let Err(e) = store.maintain().await {
                            tracing::warn!(error = %e, "housekeeping failed; retrying next tick");
                        }
                    }
                }
            }
        });
    }
    // Background consumers of the store; each stops with the cancel token.
    crate::inbox::spawn(&state, &tracker)?;
    // Northbound sinks, each with its own durable cursor; waited for before the store stops.
    for sink in crate::sinks::spawn_all(&state.store, &state.config.sinks, &cancel)? {
        tracker.spawn(async move {
            if sink.await.is_err() {
                tracing::error!("a sink task panicked");
            }
        });
    }

    let handle = axum_server::Handle::<CappedAddr>::new();
    {
        let handle = handle.clone();
        let cancel = cancel.clone();
        tokio::spawn(async move {
            cancel.cancelled().await;
            handle.graceful_shutdown(Some(SHUTDOWN_GRACE));
        });
    }
    {
        let handle = handle.clone();
        let tls_on = tls.is_some();
        tokio::spawn(async move {
            if let Some(CappedAddr { addr, max, max_per_address, .. }) = handle.listening().await {
                tracing::info!(%addr, tls = tls_on, max_connections = max, max_per_address, "noc listening");
                on_listening(addr);
            }
        });
    }
    let mut server = axum_server::Server::bind(CappedAddr {
        addr: listen,
        max: limits.max,
        max_per_address: limits.max_per_address,
        idle: limits.idle_timeout,
    })
    .handle(handle);
    // hyper enforces its header read timeout only with a timer; without one it is silently off.
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let served = match &tls {
        Some(paths) => {
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
            let rustls_config = axum_server::tls_rustls::RustlsConfig::from_pem_file(&paths.cert, &paths.key)
                .await
                .with_context(|| {
                    format!(
                        "load TLS certificate {} and key {} (create a pair with `noc init`)",
                        paths.cert.display(),
                        paths.key.display()
                    )
                })?;
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls_config)
                .handshake_timeout(limits.header_read_timeout);
            server.acceptor(acceptor).serve(app.into_make_service()).await
        }
        None => {
            tracing::warn!(%listen, "serving plain HTTP on loopback (insecure_plain_http = true)");
            server.serve(app.into_make_service()).await
        }
    };
    cancel.cancel();
    tracker.close();
    tracker.wait().await;
    let store = state.store.clone();
    tokio::task::spawn_blocking(move || store.shutdown()).await.context("stop the store writer")?;
    served.with_context(|| format!("serve on {listen}"))?;
    tracing::info!("noc stopped");
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the NOC");
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
