//! Prometheus metrics: the recorder, and gauges refreshed when `/metrics` is scraped.
//!
//! Counters and histograms are recorded where things happen:
//! `outpost_noc_frames_total{kind,result}`, `outpost_noc_frames_rejected_total{reason}`,
//! `outpost_noc_object_updates_total`, `outpost_noc_frames_committed_total`, `outpost_noc_apply_seconds`,
//! `outpost_noc_apply_batch_seconds`, `outpost_noc_auth_failures_total{reason,path}`,
//! `outpost_noc_rate_limited_total`, `outpost_noc_snapshots_held_total`.
//! Gauges set here: `outpost_noc_store_bytes`, `outpost_noc_location_lag_ms{location}`,
//! `outpost_noc_location_last_seen_ms{location}`, `outpost_noc_objects`.

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;
use crate::store::now_ms;

/// Installs the global recorder; `None` if one is already installed in this process.
pub fn install() -> Option<PrometheusHandle> {
    PrometheusBuilder::new().install_recorder().ok()
}

pub async fn refresh_gauges(state: &AppState) {
    let store = state.store.clone();
    let Ok(Ok(rows)) = tokio::task::spawn_blocking(move || store.locations(now_ms())).await else {
        return;
    };
    metrics::gauge!("outpost_noc_store_bytes").set(state.store.size_bytes() as f64);
    let mut objects = 0;
    for r in rows {
        objects += r.objects;
        if let Some(lag) = r.lag_ms {
            metrics::gauge!("outpost_noc_location_lag_ms", "location" => r.location.clone()).set(lag as f64);
        }
        if let Some(seen) = r.last_seen {
            metrics::gauge!("outpost_noc_location_last_seen_ms", "location" => r.location.clone()).set(seen as f64);
        }
    }
    metrics::gauge!("outpost_noc_objects").set(objects as f64);
}
