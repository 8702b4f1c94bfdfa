//! Webhook sink: POSTs batches of events as JSON, signed with HMAC-SHA256.
//!
//! Body: `{"sink": "<name>", "events": [ <event>, ... ]}` where each event is the store's row (`id`, `location`,
//! `epoch`, `seq`, `time`, `received_at`, `kind`, `object`, `state`, `summary`, `time_flag`) plus `detail`, the
//! full typed event. Headers: `X-Outpost-Signature: sha256=<hex HMAC of the body with the secret>` and
//! `X-Outpost-Delivery: <first id>-<last id>` (stable across retries, for receivers that de-duplicate).
//! A non-2xx answer or a timeout fails the batch; the cursor loop retries it with backoff.

use std::time::Duration;

use anyhow::{Context, bail};
use hmac::{Hmac, KeyInit, Mac};
use serde::Deserialize;
use sha2::Sha256;

use super::filter::{Filter, FilterConfig};
use super::{DeliveryError, Sink};
use crate::store::StoredEvent;

/// `[[sinks.webhook]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    pub name: String,
    /// `https://…` (or `http://` for a receiver on the same host).
    pub url: String,
    /// The HMAC key. Receivers recompute the signature over the raw body and compare in constant time.
    pub secret: String,
    /// Events per POST.
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Default: all events.
    #[serde(default)]
    pub filter: FilterConfig,
}

fn default_batch() -> usize {
    100
}
fn default_timeout_ms() -> u64 {
    10_000
}

pub struct WebhookSink {
    name: String,
    config: WebhookConfig,
    filter: Filter,
    client: reqwest::Client,
}

/// `sha256=<hex>` of `body` under `secret`.
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    // new_from_slice accepts keys of any length for HMAC; the error arm cannot happen.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// The JSON body for a batch.
pub fn body(sink: &str, events: &[StoredEvent]) -> serde_json::Result<Vec<u8>> {
    let mut list = Vec::with_capacity(events.len());
    for ev in events {
        let mut v = serde_json::to_value(ev)?;
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("detail".into(), serde_json::to_value(&ev.event.kind)?);
        }
        list.push(v);
    }
    serde_json::to_vec(&serde_json::json!({ "sink": sink, "events": list }))
}

impl WebhookSink {
    pub fn new(config: WebhookConfig) -> anyhow::Result<WebhookSink> {
        let url: reqwest::Url = config.url.parse().with_context(|| format!("sinks.webhook {:?}: url", config.name))?;
        if !matches!(url.scheme(), "http" | "https") {
            bail!("sinks.webhook {:?}: url must be http or https", config.name);
        }
        if config.secret.len() < 16 {
            bail!("sinks.webhook {:?}: secret must be at least 16 characters", config.name);
        }
        if config.batch_size == 0 {
            bail!("sinks.webhook {:?}: batch_size must be at least 1", config.name);
        }
        let filter = Filter::new(&config.filter, "all").context("sinks.webhook.filter")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_millis(config.timeout_ms.max(1)))
            .build()
            .context("build the webhook HTTP client")?;
        Ok(WebhookSink { name: format!("webhook:{}", config.name), config, filter, client })
    }

    async fn post(&self, events: &[StoredEvent]) -> anyhow::Result<()> {
        let body = body(&self.config.name, events).context("encode the webhook body")?;
        let sig = signature(self.config.secret.as_bytes(), &body);
        let first = events.first().map_or(0, |e| e.id);
        let last = events.last().map_or(0, |e| e.id);
        let resp = self
            .client
            .post(&self.config.url)
            .header("Content-Type", "application/json")
            .header("X-Outpost-Signature", sig)
            .header("X-Outpost-Delivery", format!("{first}-{last}"))
            .body(body)
            .send()
            .await
            .with_context(|| format!("POST to {}", self.config.url))?;
        if !resp.status().is_success() {
            bail!("{} answered {}", self.config.url, resp.status());
        }
        Ok(())
    }
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn filter(&self) -> &Filter {
        &self.filter
    }

    async fn deliver(&mut self, events: &[StoredEvent]) -> Result<(), DeliveryError> {
        let mut delivered = 0;
        for chunk in events.chunks(self.config.batch_size) {
            if let Err(error) = self.post(chunk).await {
                return Err(DeliveryError { delivered, error });
            }
            delivered += chunk.len();
            metrics::counter!("outpost_sink_sent_total", "sink" => self.name.clone()).increment(chunk.len() as u64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use outpost_format::ObjectKey;

    use super::*;
    use crate::sinks::filter::tests::{state_change, stored};

    #[test]
    fn signature_matches_rfc4231_case_2() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn body_carries_rows_and_typed_detail() {
        let ev = stored(5, "FRA1", state_change(ObjectKey::service("web", "HTTP"), 2, "CRITICAL - x"));
        let v: serde_json::Value = serde_json::from_slice(&body("ops", &[ev]).expect("json")).expect("parse");
        assert_eq!(v["sink"], "ops");
        let e = &v["events"][0];
        assert_eq!(e["id"], 5);
        assert_eq!(e["location"], "FRA1");
        assert_eq!(e["object"], "FRA1_web/HTTP");
        assert_eq!(e["kind"], "state_change");
        assert_eq!(e["detail"]["StateChange"]["output"], "CRITICAL - x");
    }

    #[test]
    fn config_is_checked() {
        let ok = |url: &str, secret: &str| {
            WebhookSink::new(WebhookConfig {
                name: "w".into(),
                url: url.into(),
                secret: secret.into(),
                batch_size: 10,
                timeout_ms: 1000,
                filter: FilterConfig::default(),
            })
            .is_ok()
        };
        assert!(ok("http://127.0.0.1:9/hook", "0123456789abcdef"));
        assert!(!ok("ftp://127.0.0.1/", "0123456789abcdef"));
        assert!(!ok("http://127.0.0.1/", "short"));
    }
}
