//! The satellite's configuration: loading `satellite.toml` plus `conf.d/*.toml`, resolving templates and
//! defaults, expanding macros, and validating everything into a [`Config`] that later code trusts.
//!
//! Loading either returns a whole [`Config`] or every error found ([`ConfigErrors`]), each with file,
//! line and a hint: a bad config never half-loads. What the keys mean is documented for users in
//! `docs/satellite-config.md`; the annotated example is `fixtures/satellite/satellite.toml`.
//!
//! Not here: running checks (`check`), the delivery layer's use of `[noc]`/`[spool]`, the trap receiver's
//! use of `[traps]` (this module only parses and validates those sections).

pub mod command;
pub mod error;
mod intern;
pub mod raw;
mod resolve;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use outpost_format::ObjectKey;
use outpost_format::model::ObjectConfig;

pub use command::CommandLine;
pub use error::{ConfigError, ConfigErrors};

use crate::metrics::MetricsConfig;
use crate::traps::TrapConfig;

pub const DEFAULT_STATE_DIR: &str = "/var/lib/outpost-satellite";
/// Debian's monitoring-plugins directory, the default `$USER1$`.
pub const DEFAULT_PLUGIN_DIR: &str = "/usr/lib/nagios/plugins";
pub const DEFAULT_CHECK_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_RETRY_INTERVAL: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Nagios's `service_check_timeout` default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_MAX_CONCURRENT_CHECKS: usize = 256;
pub const DEFAULT_MAX_CHECKS_PER_HOST: usize = 16;
/// Nagios 4's `MAX_PLUGIN_OUTPUT_LENGTH`.
pub const DEFAULT_MAX_OUTPUT_BYTES: usize = 8192;
pub const DEFAULT_NOTIFICATION_INTERVAL: Duration = Duration::from_secs(30 * 60);
pub const DEFAULT_SERVICE_NOTIFICATION_OPTIONS: &str = "w,u,c,r,f,s";
pub const DEFAULT_HOST_NOTIFICATION_OPTIONS: &str = "d,u,r,f,s";
pub const DEFAULT_SHIP_INTERVAL: Duration = Duration::from_secs(10);
pub const DEFAULT_FULL_EVERY: Duration = Duration::from_secs(3600);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_RETENTION_INTERVAL: Duration = Duration::from_secs(2);
/// Nagios's default flap thresholds (percent state change).
pub const DEFAULT_FLAP_LOW: f64 = 5.0;
pub const DEFAULT_FLAP_HIGH: f64 = 20.0;
pub const DEFAULT_LATENCY_WARN: Duration = Duration::from_secs(5);

/// A validated configuration. Cheap to share: the engine holds it in an `Arc`.
#[derive(Debug, Clone)]
pub struct Config {
    /// Location ID, validated by `outpost_format::naming::validate_location`.
    pub location: String,
    pub state_dir: PathBuf,
    pub noc: NocConfig,
    pub spool: SpoolSettings,
    /// Parsed here, validated with `TrapConfig::validate`; the trap receiver owns its meaning.
    pub traps: TrapConfig,
    /// `[metrics]`: the `/metrics` listener of `satellite run`.
    pub metrics: MetricsConfig,
    pub engine: EngineConfig,
    /// Shared with the engine's table (`Arc`), so each object's definition exists once in memory.
    pub hosts: Vec<Arc<CheckDef>>,
    pub services: Vec<Arc<CheckDef>>,
    /// Every file the config was read from, main file first.
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NocConfig {
    /// NOC base URLs, tried in order (`https://noc.example:8443`). Empty: run without a NOC.
    pub urls: Vec<String>,
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of the NOC's certificate (hex, lower case), when pinning instead of a CA.
    pub pinned_cert_sha256: Option<String>,
    pub ship: ShipSchedule,
    /// Send a full snapshot at least this often; deltas in between.
    pub full_every: Duration,
    pub request_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ShipSchedule {
    Interval(Duration),
    /// A cron expression (5 fields), checked with croner.
    Cron(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SpoolSettings {
    pub dir: PathBuf,
    pub max_bytes: u64,
    pub max_age: Option<Duration>,
    pub segment_bytes: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EngineConfig {
    pub max_concurrent_checks: usize,
    pub max_checks_per_host: usize,
    pub max_output_bytes: usize,
    /// Used only for command lines that need a shell (see `config::command`).
    pub shell: PathBuf,
    /// How often changed state is written to the retention file (operator commands are written at once).
    pub retention_interval: Duration,
    pub flap_low_threshold: f64,
    pub flap_high_threshold: f64,
    /// Check latency above this is logged as a warning (and always exported as a metric).
    pub latency_warn: Duration,
}

/// One host or service, fully resolved: templates applied, macros expanded.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckDef {
    pub key: ObjectKey,
    /// What the snapshot shows as configuration; shared by every object whose configuration is equal.
    pub config: Arc<ObjectConfig>,
    /// `None` for a host without a check command: it is assumed UP, as in Nagios. Shared like `config`.
    pub command: Option<Arc<CommandLine>>,
    pub check_interval: Duration,
    pub retry_interval: Duration,
    pub timeout: Duration,
    /// State code reported when the plugin times out (UNKNOWN by default; DOWN for hosts).
    pub timeout_state: u8,
    pub active_checks: bool,
    pub flap_detection: bool,
    /// Hosts only: parents, for telling DOWN from UNREACHABLE.
    pub parents: Vec<String>,
}

impl CheckDef {
    pub fn is_host(&self) -> bool {
        self.key.is_host()
    }
}

impl Config {
    /// Loads and validates the config at `path` (a file; `conf.d/` beside it is read too).
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        resolve::load(path)
    }

    /// Validates `text` as the main file at `path` without reading anything from disk (no `conf.d/`).
    pub fn load_text(path: &Path, text: String) -> Result<Config, ConfigErrors> {
        resolve::load_text(path, text)
    }

    /// Every object, hosts first, as the engine indexes them.
    pub fn objects(&self) -> impl Iterator<Item = &Arc<CheckDef>> {
        self.hosts.iter().chain(self.services.iter())
    }
}
