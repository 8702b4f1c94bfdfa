//! `noc.toml`: the raw, user-facing configuration and the one validating step that turns it into [`Config`].
//!
//! Sections owned by other parts of the NOC (`[web]`, `[sinks]`, `[inbox]`) are kept here as raw
//! [`toml::Table`]s so that their owners parse them into their own typed structs.
//! See `docs/noc-config.md` for every field.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use outpost_format::naming::Prefixer;
use serde::Deserialize;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8443";
pub const DEFAULT_MAX_BODY_BYTES: u32 = 64 << 20;
pub const DEFAULT_MAX_RAW_BYTES: u32 = 512 << 20;
pub const DEFAULT_RATE_PER_SECOND: f64 = 50.0;
pub const DEFAULT_RATE_BURST: f64 = 200.0;
pub const DEFAULT_MAX_DELETE_SHARE: f64 = 0.5;
pub const DEFAULT_EVENTS_MAX_AGE_DAYS: u64 = 30;
pub const DEFAULT_EVENTS_MAX_ROWS: u64 = 5_000_000;
pub const DEFAULT_TOMBSTONE_GRACE_SECS: u64 = 24 * 3600;
pub const DEFAULT_SILENT_FACTOR: f64 = 3.0;
pub const DEFAULT_SHIP_INTERVAL_SECS: u64 = 60;
pub const DEFAULT_CLOCK_TOLERANCE_SECS: u64 = 300;
pub const DEFAULT_FAR_PAST_DAYS: u64 = 30;
/// Open client connections; the packaged unit raises the file limit to 65536, so this leaves room for the store.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 4096;
/// Connections one source address may hold (lowered to `max` when that is smaller). A satellite holds one or two,
/// a browser tab about six: 64 leaves room for a NATed site or an office behind one proxy.
pub const DEFAULT_MAX_PER_ADDRESS: u32 = 64;
pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 30;
/// Above the event stream's 15 s keep-alive, so an open web view is never idle.
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 60;
/// Well above the satellite's own request timeout (30 s by default), so only stalled or trickling clients hit it.
pub const DEFAULT_BODY_READ_TIMEOUT_SECS: u64 = 120;

/// The file as written by the operator.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// Address to listen on, e.g. `0.0.0.0:8443`.
    pub listen: Option<String>,
    /// Directory holding the SQLite store (`noc.db`); relative paths are relative to the config file.
    pub data_dir: Option<PathBuf>,
    pub tls: Option<RawTls>,
    /// Serve plain HTTP instead of HTTPS. Only allowed when `listen` is a loopback address.
    #[serde(default)]
    pub insecure_plain_http: bool,
    #[serde(default)]
    pub naming: RawNaming,
    #[serde(default)]
    pub limits: RawLimits,
    #[serde(default)]
    pub connections: RawConnections,
    #[serde(default)]
    pub rate_limit: RawRateLimit,
    #[serde(default)]
    pub guard: RawGuard,
    #[serde(default)]
    pub retention: RawRetention,
    #[serde(default)]
    pub freshness: RawFreshness,
    #[serde(default)]
    pub api: RawApi,
    #[serde(default)]
    pub store: RawStore,
    /// Pre-shared satellite tokens, accepted without enrollment.
    #[serde(default)]
    pub satellites: Vec<RawSatelliteToken>,
    /// Web view settings (owned by `web/`).
    #[serde(default)]
    pub web: toml::Table,
    /// Northbound sinks (owned by `sinks/`): `[[sinks.snmp]]`, `[[sinks.webhook]]`, `[sinks.nagios]`.
    #[serde(default)]
    pub sinks: toml::Table,
    /// File-drop inbox (owned by `inbox.rs`).
    #[serde(default)]
    pub inbox: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub cert: PathBuf,
    pub key: PathBuf,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawNaming {
    /// Template for NOC object names; `{location}`, `{sep}` and `{name}` are replaced.
    pub template: Option<String>,
    pub separator: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawLimits {
    pub max_body_bytes: Option<u32>,
    pub max_decompressed_bytes: Option<u32>,
}

/// Bounds on what one client can hold: connections, and time to send a request (slowloris).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawConnections {
    /// Open connections; at the limit the NOC stops accepting until one closes.
    pub max: Option<u32>,
    /// Open connections from one source IP address; more are closed right after accept.
    pub max_per_address: Option<u32>,
    /// Time for the TLS handshake, and for each HTTP/1 request head (including an idle keep-alive wait).
    pub header_read_timeout_secs: Option<u64>,
    /// A connection with no byte in either direction for this long is closed.
    pub idle_timeout_secs: Option<u64>,
    /// Time for a request body to arrive in full once its head has (408 after it).
    pub body_read_timeout_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRateLimit {
    /// Sustained requests per second per satellite.
    pub per_second: Option<f64>,
    /// Requests a satellite may send in a burst.
    pub burst: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawGuard {
    /// A snapshot deleting more than this share (0.0..=1.0) of a location's objects is held for an operator.
    pub max_delete_share: Option<f64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawRetention {
    pub events_max_age_days: Option<u64>,
    pub events_max_rows: Option<u64>,
    pub tombstone_grace_secs: Option<u64>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawFreshness {
    /// A satellite is silent after `factor` × its announced shipping interval without a request.
    pub silent_factor: Option<f64>,
    /// Shipping interval assumed until a satellite announces one.
    pub default_ship_interval_secs: Option<u64>,
    /// Timestamps further than this in the future (after clock-offset correction) are flagged.
    pub clock_tolerance_secs: Option<u64>,
    /// Timestamps older than this many days are flagged as far past.
    pub far_past_days: Option<u64>,
}

/// `[store]` has no settings left. It stays so that a file still setting a removed key gets an error saying what to
/// do, not serde's bare "unknown field" (unknown keys are errors, as everywhere in this file).
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawStore {
    /// Removed: the budget of the decoded delta-base cache, which no longer exists.
    pub base_cache_mib: Option<toml::Value>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawApi {
    /// SHA-256 (hex) of operator API bearer tokens.
    #[serde(default)]
    pub tokens_sha256: Vec<String>,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RawSatelliteToken {
    pub location: String,
    pub token_sha256: String,
}

/// Validated configuration: every later stage reads this, never the raw file.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file this came from, for messages.
    pub path: PathBuf,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None` means plain HTTP (validated to be loopback-only).
    pub tls: Option<TlsPaths>,
    pub prefixer: Prefixer,
    pub limits: outpost_format::Limits,
    pub connections: ConnectionLimits,
    pub rate_per_second: f64,
    pub rate_burst: f64,
    pub max_delete_share: f64,
    pub events_max_age: Duration,
    pub events_max_rows: u64,
    pub tombstone_grace: Duration,
    pub silent_factor: f64,
    pub default_ship_interval: Duration,
    pub clock_tolerance: Duration,
    pub far_past: Duration,
    /// Lower-case hex SHA-256 of operator API tokens.
    pub api_tokens_sha256: Vec<String>,
    /// Pre-shared satellite tokens: (lower-case hex SHA-256, location).
    pub satellite_tokens: Vec<(String, String)>,
    pub web: toml::Table,
    pub sinks: toml::Table,
    pub inbox: toml::Table,
}

/// Validated `[connections]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max: u32,
    pub max_per_address: u32,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub body_read_timeout: Duration,
}

impl ConnectionLimits {
    fn from_raw(raw: &RawConnections) -> anyhow::Result<ConnectionLimits> {
        let max = raw.max.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        if max == 0 {
            bail!("connections.max = 0 would refuse every client; set at least 1 (default {DEFAULT_MAX_CONNECTIONS})");
        }
        let max_per_address = match raw.max_per_address {
            None => DEFAULT_MAX_PER_ADDRESS.min(max),
            Some(0) => bail!(
                "connections.max_per_address = 0 would refuse every client; set between 1 and connections.max = {max} \
                 (default {DEFAULT_MAX_PER_ADDRESS}, or max when smaller)"
            ),
            Some(n) if n > max => bail!(
                "connections.max_per_address = {n} is above connections.max = {max}, so it would never apply; \
                 lower it or raise max"
            ),
            Some(n) => n,
        };
        let secs = |v: Option<u64>, default: u64, key: &str| -> anyhow::Result<Duration> {
            match v.unwrap_or(default) {
                0 => {
                    bail!("connections.{key} = 0 is not allowed; set a positive number of seconds (default {default})")
                }
                n => Ok(Duration::from_secs(n)),
            }
        };
        Ok(ConnectionLimits {
            max,
            max_per_address,
            header_read_timeout: secs(
                raw.header_read_timeout_secs,
                DEFAULT_HEADER_READ_TIMEOUT_SECS,
                "header_read_timeout_secs",
            )?,
            idle_timeout: secs(raw.idle_timeout_secs, DEFAULT_IDLE_TIMEOUT_SECS, "idle_timeout_secs")?,
            body_read_timeout: secs(
                raw.body_read_timeout_secs,
                DEFAULT_BODY_READ_TIMEOUT_SECS,
                "body_read_timeout_secs",
            )?,
        })
    }
}

#[derive(Debug, Clone)]
pub struct TlsPaths {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A number of days as a duration; a count too large for seconds in a u64 is a config error, not an overflow.
fn days(n: u64, key: &str) -> anyhow::Result<Duration> {
    n.checked_mul(86_400).map(Duration::from_secs).with_context(|| format!("{key} = {n} is too large"))
}

impl Config {
    /// Reads and validates `path`. Errors name the file and, for syntax errors, the line.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("read config {} (create one with `noc init`)", path.display()))?;
        let raw: RawConfig = toml::from_str(&text).with_context(|| format!("parse config {}", path.display()))?;
        Config::from_raw(raw, path).with_context(|| format!("invalid config {}", path.display()))
    }

    pub fn from_raw(raw: RawConfig, path: &Path) -> anyhow::Result<Config> {
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let resolve = |p: &Path| if p.is_absolute() { p.to_path_buf() } else { base.join(p) };
        let listen_text = raw.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text
            .parse()
            .with_context(|| format!("listen = {listen_text:?} is not an address like 127.0.0.1:8443"))?;
        let tls = match (raw.tls, raw.insecure_plain_http) {
            (Some(_), true) => bail!("both [tls] and insecure_plain_http = true are set; choose one"),
            (Some(t), false) => Some(TlsPaths { cert: resolve(&t.cert), key: resolve(&t.key) }),
            (None, true) => {
                if !listen.ip().is_loopback() {
                    bail!(
                        "insecure_plain_http = true is only allowed on a loopback address, but listen = {listen}; \
                         configure [tls] cert and key (see `noc init`) to listen on other addresses"
                    );
                }
                None
            }
            (None, false) => bail!("no [tls] section: set [tls] cert and key (`noc init` creates a pair)"),
        };
        let data_dir = resolve(&raw.data_dir.unwrap_or_else(|| PathBuf::from("data")));
        let mut prefixer = Prefixer::default();
        if let Some(t) = raw.naming.template {
            if !t.contains("{location}") || !t.contains("{name}") {
                bail!("naming.template = {t:?} must contain {{location}} and {{name}}");
            }
            prefixer.template = t;
        }
        if let Some(s) = raw.naming.separator {
            prefixer.separator = s;
        }
        let limits = outpost_format::Limits {
            max_payload: raw.limits.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_raw: raw.limits.max_decompressed_bytes.unwrap_or(DEFAULT_MAX_RAW_BYTES),
        };
        let rate_per_second = raw.rate_limit.per_second.unwrap_or(DEFAULT_RATE_PER_SECOND);
        let rate_burst = raw.rate_limit.burst.unwrap_or(DEFAULT_RATE_BURST);
        if !(rate_per_second > 0.0 && rate_burst >= 1.0) {
            bail!("rate_limit.per_second must be > 0 and rate_limit.burst >= 1");
        }
        let max_delete_share = raw.guard.max_delete_share.unwrap_or(DEFAULT_MAX_DELETE_SHARE);
        if !(0.0..=1.0).contains(&max_delete_share) {
            bail!("guard.max_delete_share = {max_delete_share} must be between 0.0 and 1.0");
        }
        let silent_factor = raw.freshness.silent_factor.unwrap_or(DEFAULT_SILENT_FACTOR);
        if silent_factor < 1.0 {
            bail!("freshness.silent_factor = {silent_factor} must be at least 1.0");
        }
        let hexes = |v: &[String], what: &str| -> anyhow::Result<Vec<String>> {
            v.iter()
                .map(|h| {
                    let h = h.trim().to_ascii_lowercase();
                    if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
                        bail!("{what}: {h:?} is not a 64-digit hex SHA-256 (use `sha256sum`)");
                    }
                    Ok(h)
                })
                .collect()
        };
        if raw.store.base_cache_mib.is_some() {
            bail!(
                "store.base_cache_mib was removed: the NOC no longer keeps decoded delta bases in memory (the cache \
                 cost memory and CPU and saved nothing, see docs/benchmarks.md); delete the line, and the [store] \
                 header if nothing else is left under it"
            );
        }
        let api_tokens_sha256 = hexes(&raw.api.tokens_sha256, "api.tokens_sha256")?;
        let mut satellite_tokens = Vec::new();
        for s in &raw.satellites {
            outpost_format::naming::validate_location(&s.location)?;
            let h = hexes(std::slice::from_ref(&s.token_sha256), "satellites.token_sha256")?;
            satellite_tokens.extend(h.into_iter().map(|h| (h, s.location.clone())));
        }
        Ok(Config {
            path: path.to_path_buf(),
            listen,
            data_dir,
            tls,
            prefixer,
            limits,
            connections: ConnectionLimits::from_raw(&raw.connections)?,
            rate_per_second,
            rate_burst,
            max_delete_share,
            events_max_age: days(
                raw.retention.events_max_age_days.unwrap_or(DEFAULT_EVENTS_MAX_AGE_DAYS),
                "retention.events_max_age_days",
            )?,
            events_max_rows: raw.retention.events_max_rows.unwrap_or(DEFAULT_EVENTS_MAX_ROWS),
            tombstone_grace: Duration::from_secs(
                raw.retention.tombstone_grace_secs.unwrap_or(DEFAULT_TOMBSTONE_GRACE_SECS),
            ),
            silent_factor,
            default_ship_interval: Duration::from_secs(
                raw.freshness.default_ship_interval_secs.unwrap_or(DEFAULT_SHIP_INTERVAL_SECS),
            ),
            clock_tolerance: Duration::from_secs(
                raw.freshness.clock_tolerance_secs.unwrap_or(DEFAULT_CLOCK_TOLERANCE_SECS),
            ),
            far_past: days(raw.freshness.far_past_days.unwrap_or(DEFAULT_FAR_PAST_DAYS), "freshness.far_past_days")?,
            api_tokens_sha256,
            satellite_tokens,
            web: raw.web,
            sinks: raw.sinks,
            inbox: raw.inbox,
        })
    }

    /// Path of the SQLite database inside the data directory.
    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("noc.db")
    }
}

/// Lower-case hex SHA-256 of a secret, as the config and the store keep it.
pub fn sha256_hex(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> anyhow::Result<Config> {
        let raw: RawConfig = toml::from_str(text)?;
        Config::from_raw(raw, Path::new("/etc/outpost/noc.toml"))
    }

    #[test]
    fn plain_http_is_refused_off_loopback() {
        let err = parse("listen = \"0.0.0.0:8080\"\ninsecure_plain_http = true\n").expect_err("refused");
        assert!(format!("{err:#}").contains("loopback"), "{err:#}");
        assert!(parse("listen = \"127.0.0.1:8080\"\ninsecure_plain_http = true\n").is_ok());
        assert!(parse("listen = \"[::1]:8080\"\ninsecure_plain_http = true\n").is_ok());
    }

    #[test]
    fn tls_is_required_without_plain_http() {
        assert!(parse("listen = \"127.0.0.1:8080\"\n").is_err());
        let c = parse("[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n").expect("valid");
        assert_eq!(c.tls.expect("tls").cert, PathBuf::from("/etc/outpost/c.pem"));
        assert_eq!(c.data_dir, PathBuf::from("/etc/outpost/data"));
    }

    #[test]
    fn connection_limits_have_defaults_and_refuse_zero() {
        let c = parse("insecure_plain_http = true\n").expect("valid");
        assert_eq!(c.connections.max, DEFAULT_MAX_CONNECTIONS);
        assert_eq!(c.connections.header_read_timeout, Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS));
        let c =
            parse("insecure_plain_http = true\n[connections]\nmax = 8\nbody_read_timeout_secs = 3\n").expect("valid");
        assert_eq!((c.connections.max, c.connections.body_read_timeout), (8, Duration::from_secs(3)));
        for bad in [
            "max = 0",
            "max_per_address = 0",
            "max = 8\nmax_per_address = 9",
            "header_read_timeout_secs = 0",
            "body_read_timeout_secs = 0",
            "idle_timeout_secs = 0",
            "idle_secs = 5",
        ] {
            assert!(parse(&format!("insecure_plain_http = true\n[connections]\n{bad}\n")).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_per_address_cap_defaults_to_64_or_max_and_errors_name_the_key() {
        let per_address = |section: &str| {
            parse(&format!("insecure_plain_http = true\n[connections]\n{section}\n"))
                .map(|c| c.connections.max_per_address)
        };
        assert_eq!(per_address("").expect("valid"), DEFAULT_MAX_PER_ADDRESS);
        assert_eq!(per_address("max = 8").expect("valid"), 8, "never above max");
        assert_eq!(per_address("max = 8\nmax_per_address = 8").expect("valid"), 8);
        assert_eq!(per_address("max_per_address = 1").expect("valid"), 1);
        for bad in ["max_per_address = 0", "max = 8\nmax_per_address = 9"] {
            let err = format!("{:#}", per_address(bad).expect_err(bad));
            assert!(err.contains("connections.max_per_address"), "{err}");
        }
    }

    #[test]
    fn unknown_fields_and_bad_hashes_are_errors() {
        assert!(parse("insecure_plain_http = true\nlisten_addr = \"x\"\n").is_err());
        assert!(parse("insecure_plain_http = true\n[api]\ntokens_sha256 = [\"abc\"]\n").is_err());
    }

    #[test]
    fn the_removed_base_cache_key_is_an_error_that_says_what_to_do() {
        let err = parse("insecure_plain_http = true\n[store]\nbase_cache_mib = 64\n").expect_err("refused");
        let text = format!("{err:#}");
        assert!(text.contains("store.base_cache_mib was removed") && text.contains("delete the line"), "{text}");
        assert!(parse("insecure_plain_http = true\n[store]\n").is_ok(), "an empty [store] section is harmless");
    }

    #[test]
    fn day_counts_too_large_for_seconds_are_errors() {
        for key in ["[retention]\nevents_max_age_days", "[freshness]\nfar_past_days"] {
            let err = parse(&format!("insecure_plain_http = true\n{key} = 300000000000000\n")).expect_err("refused");
            assert!(format!("{err:#}").contains("is too large"), "{err:#}");
        }
    }

    #[test]
    fn other_sections_are_kept_raw() {
        let c = parse(
            "insecure_plain_http = true\n[web]\nsession_secs = 5\n[[sinks.webhook]]\nurl = \"http://127.0.0.1/\"\n",
        )
        .expect("valid");
        assert_eq!(c.web.get("session_secs").and_then(toml::Value::as_integer), Some(5));
        assert!(c.sinks.get("webhook").is_some());
    }
}
