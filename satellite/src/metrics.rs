//! Prometheus metrics for `satellite run`: the `[metrics]` config section, the recorder, and a `/metrics`
//! listener.
//!
//! Counters and gauges are recorded where things happen (`metrics::counter!` in the engine, trap receiver,
//! ...); the delivery gauges (spool depth, oldest item, NOC reachability) are refreshed by the daemon's
//! status loop through [`record_delivery`]. The listener speaks plain HTTP, so it binds loopback addresses
//! only: scrape it from the same host (node_exporter-style) or through a TLS reverse proxy.

use std::net::SocketAddr;

use anyhow::Context as _;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use crate::daemon::DeliveryStatus;

/// `[metrics]`: where `satellite run` serves `/metrics`. Absent: no listener (metrics are still logged).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsConfig {
    /// Loopback address and port, e.g. `127.0.0.1:9465`.
    pub listen: Option<SocketAddr>,
}

impl MetricsConfig {
    pub fn validate(&self) -> anyhow::Result<()> {
        match self.listen {
            Some(addr) if !addr.ip().is_loopback() => anyhow::bail!(
                "listen = \"{addr}\" is not a loopback address; /metrics is plain HTTP, so bind 127.0.0.1 or [::1] \
                 and scrape through a TLS reverse proxy from other hosts"
            ),
            _ => Ok(()),
        }
    }
}

/// Installs the Prometheus recorder and serves `GET /metrics` on `addr` until `cancel`.
/// Fails (and so fails start-up) when the address cannot be bound, naming it.
pub async fn serve(addr: SocketAddr, cancel: CancellationToken) -> anyhow::Result<()> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .context("install the metrics recorder (is another recorder already installed?)")?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("[metrics] listen = \"{addr}\": cannot bind (port in use? pick another)"))?;
    tracing::info!(%addr, "serving Prometheus metrics at /metrics");
    let app = axum::Router::new().route("/metrics", axum::routing::get(move || render(handle.clone())));
    tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        if let Err(e) = server.await {
            tracing::error!(error = %e, "metrics listener failed");
        }
    });
    Ok(())
}

async fn render(handle: PrometheusHandle) -> String {
    handle.render()
}

/// Sets the delivery gauges from the daemon's status (called on every status-file refresh).
pub fn record_delivery(status: &DeliveryStatus, now_ms: i64) {
    let s = &status.spool;
    metrics::gauge!("outpost_spool_pending_events").set(s.pending_events as f64);
    metrics::gauge!("outpost_spool_pending_snapshots").set(s.pending_snapshots as f64);
    metrics::gauge!("outpost_spool_bytes").set(s.bytes as f64);
    metrics::gauge!("outpost_spool_oldest_age_seconds")
        .set(s.oldest_ms.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0));
    metrics::gauge!("outpost_spool_dropped_events").set(s.dropped_events as f64);
    metrics::gauge!("outpost_spool_dropped_snapshots").set(s.dropped_snapshots as f64);
    metrics::gauge!("outpost_spool_perfdata_stripped_events").set(s.perfdata_stripped as f64);
    metrics::gauge!("outpost_spool_quarantined_segments").set(s.quarantined_segments as f64);
    if let Some(sender) = &status.sender {
        metrics::gauge!("outpost_noc_reachable").set(if sender.reachable == Some(true) { 1.0 } else { 0.0 });
        if let Some(t) = sender.last_success_ms {
            metrics::gauge!("outpost_noc_last_success_age_seconds").set((now_ms - t).max(0) as f64 / 1000.0);
        }
        metrics::gauge!("outpost_delivery_events_per_second").set(sender.events_per_s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_addresses_are_accepted() {
        let ok = |s: &str| MetricsConfig { listen: Some(s.parse().expect("addr")) }.validate();
        assert!(ok("127.0.0.1:9465").is_ok());
        assert!(ok("[::1]:9465").is_ok());
        let err = ok("0.0.0.0:9465").expect_err("wildcard refused").to_string();
        assert!(err.contains("not a loopback address"), "{err}");
        assert!(MetricsConfig::default().validate().is_ok());
    }
}
