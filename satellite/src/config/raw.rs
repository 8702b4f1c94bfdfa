//! What users write: the serde shape of `satellite.toml` and `conf.d/*.toml`.
//!
//! Every field is optional here so that templates and defaults can fill the gaps; [`super::load`]
//! turns these into the validated [`super::Config`]. Unknown keys are refused, so a typo is an error, not a no-op.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use crate::metrics::MetricsConfig;
use crate::traps::TrapConfig;

/// A duration written as whole seconds (`60`) or in words (`"1m"`, `"90s"`, `"1h 30m"`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawDuration {
    Seconds(u64),
    Text(String),
}

/// A byte count written as a number (`1048576`) or with a unit (`"256MiB"`, `"1GB"`).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum RawBytes {
    Bytes(u64),
    Text(String),
}

/// One name or several: `use = "linux"` or `use = ["linux", "web"]`.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn to_vec(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
        }
    }
}

/// One file: the main file or one of `conf.d/*.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFile {
    pub location: Option<String>,
    pub state_dir: Option<PathBuf>,
    /// Directory of further `*.toml` files, relative to the main file; `conf.d` when it exists.
    pub include_dir: Option<PathBuf>,
    pub noc: Option<RawNoc>,
    pub spool: Option<RawSpool>,
    pub traps: Option<TrapConfig>,
    pub metrics: Option<MetricsConfig>,
    pub engine: Option<RawEngine>,
    /// `$USER1$`..`$USER256$`: plugin directory and secrets, as Nagios's `resource.cfg`.
    #[serde(default)]
    pub macros: BTreeMap<String, String>,
    /// Named commands referenced as `check_command = "name!arg1!arg2"`.
    #[serde(default)]
    pub commands: BTreeMap<String, String>,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub templates: RawTemplates,
    #[serde(default)]
    pub hosts: Vec<RawHost>,
    #[serde(default)]
    pub services: Vec<RawService>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    pub host: Option<RawHost>,
    pub service: Option<RawService>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTemplates {
    #[serde(default)]
    pub host: BTreeMap<String, RawHost>,
    #[serde(default)]
    pub service: BTreeMap<String, RawService>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawNoc {
    #[serde(default)]
    pub urls: Vec<String>,
    pub ca_file: Option<PathBuf>,
    pub pinned_cert_sha256: Option<String>,
    pub ship_interval: Option<RawDuration>,
    pub ship_cron: Option<String>,
    pub full_every: Option<RawDuration>,
    pub request_timeout: Option<RawDuration>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpool {
    pub dir: Option<PathBuf>,
    pub max_bytes: Option<RawBytes>,
    pub max_age: Option<RawDuration>,
    pub segment_bytes: Option<RawBytes>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEngine {
    pub max_concurrent_checks: Option<usize>,
    pub max_checks_per_host: Option<usize>,
    pub max_output_bytes: Option<usize>,
    pub shell: Option<PathBuf>,
    pub retention_interval: Option<RawDuration>,
    pub flap_low_threshold: Option<f64>,
    pub flap_high_threshold: Option<f64>,
    pub latency_warn: Option<RawDuration>,
}

/// Fields shared by hosts and services (and their templates and defaults).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHost {
    pub name: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<OneOrMany>,
    pub address: Option<String>,
    pub alias: Option<String>,
    pub groups: Option<Vec<String>>,
    pub parents: Option<Vec<String>>,
    pub vars: Option<BTreeMap<String, String>>,
    pub check_command: Option<String>,
    pub check_interval: Option<RawDuration>,
    pub retry_interval: Option<RawDuration>,
    pub max_attempts: Option<u32>,
    pub timeout: Option<RawDuration>,
    pub timeout_state: Option<String>,
    pub active_checks: Option<bool>,
    pub notifications_enabled: Option<bool>,
    pub notification_interval: Option<RawDuration>,
    pub notification_options: Option<String>,
    pub flap_detection: Option<bool>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawService {
    pub name: Option<String>,
    #[serde(rename = "use")]
    pub use_: Option<OneOrMany>,
    /// The host (or hosts) this service runs on.
    pub host: Option<OneOrMany>,
    /// Every host in these groups gets this service.
    pub host_groups: Option<Vec<String>>,
    pub display_name: Option<String>,
    pub groups: Option<Vec<String>>,
    pub vars: Option<BTreeMap<String, String>>,
    pub check_command: Option<String>,
    pub check_interval: Option<RawDuration>,
    pub retry_interval: Option<RawDuration>,
    pub max_attempts: Option<u32>,
    pub timeout: Option<RawDuration>,
    pub timeout_state: Option<String>,
    pub active_checks: Option<bool>,
    pub notifications_enabled: Option<bool>,
    pub notification_interval: Option<RawDuration>,
    pub notification_options: Option<String>,
    pub flap_detection: Option<bool>,
}

/// Fills every unset field of `$dst` from `$src`; `vars` are merged key by key (the object's own win).
macro_rules! fill_from {
    ($dst:expr, $src:expr, $($field:ident),*) => {
        $( if $dst.$field.is_none() { $dst.$field = $src.$field.clone(); } )*
        if let Some(src_vars) = &$src.vars {
            let vars = $dst.vars.get_or_insert_with(Default::default);
            for (k, v) in src_vars {
                vars.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
    };
}

impl RawHost {
    /// Takes every field this host leaves unset from `lower` (a template or the defaults).
    pub fn fill_from(&mut self, lower: &RawHost) {
        fill_from!(
            self,
            lower,
            address,
            alias,
            groups,
            parents,
            check_command,
            check_interval,
            retry_interval,
            max_attempts,
            timeout,
            timeout_state,
            active_checks,
            notifications_enabled,
            notification_interval,
            notification_options,
            flap_detection
        );
    }
}

impl RawService {
    /// Takes every field this service leaves unset from `lower` (a template or the defaults).
    pub fn fill_from(&mut self, lower: &RawService) {
        fill_from!(
            self,
            lower,
            host,
            host_groups,
            display_name,
            groups,
            check_command,
            check_interval,
            retry_interval,
            max_attempts,
            timeout,
            timeout_state,
            active_checks,
            notifications_enabled,
            notification_interval,
            notification_options,
            flap_detection
        );
    }
}
