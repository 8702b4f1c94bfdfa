//! From raw files to a validated [`Config`]: merging files, applying templates and defaults, expanding
//! macros, and collecting every error with its file and line.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use compact_str::CompactString;
use outpost_format::ObjectKey;
use outpost_format::model::{NotificationConfig, ObjectConfig};
use outpost_format::naming;

use super::command::{MacroContext, expand_macros, parse_command_line};
use super::error::{ConfigError, ConfigErrors, SourceFile, file_error};
use super::intern::Interner;
use super::raw::{RawBytes, RawDuration, RawFile, RawHost, RawService};
use super::*;

/// A raw object and the file it came from.
struct Located<T> {
    file: usize,
    item: T,
}

struct Loader {
    sources: Vec<SourceFile>,
    errors: Vec<ConfigError>,
    /// Shares equal parts of definitions as each is built, so the duplicate is freed at once and its memory
    /// reused by the next object (freed only at the end, 100,000 duplicates left ~70 MB of holes behind).
    interner: Interner,
}

pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
    let mut loader = Loader::new();
    let Some(main) = loader.read(path) else {
        return Err(ConfigErrors(loader.errors));
    };
    let mut files = vec![(0usize, main)];
    let base = path.parent().unwrap_or(Path::new("."));
    let include = match &files[0].1.include_dir {
        Some(dir) => Some(base.join(dir)),
        None => Some(base.join("conf.d")).filter(|d| d.is_dir()),
    };
    if let Some(dir) = include {
        match std::fs::read_dir(&dir) {
            Ok(entries) => {
                let mut paths: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().is_some_and(|e| e == "toml"))
                    .collect();
                paths.sort();
                for p in paths {
                    let idx = loader.sources.len();
                    if let Some(raw) = loader.read(&p) {
                        files.push((idx, raw));
                    }
                }
            }
            Err(e) => loader.errors.push(file_error(
                &dir,
                format!("cannot read the include directory: {e}"),
                "create it, or fix `include_dir` in the main file",
            )),
        }
    }
    loader.finish(files)
}

/// Loads `text` as if it were the main file at `path`, alone: no `conf.d/` or `include_dir` is read
/// (the fuzz target and its corpus test use this to exercise parsing and validation without files).
pub fn load_text(path: &Path, text: String) -> Result<Config, ConfigErrors> {
    let mut loader = Loader::new();
    match loader.parse(SourceFile { path: path.to_path_buf(), text }) {
        Some(main) => loader.finish(vec![(0, main)]),
        None => Err(ConfigErrors(loader.errors)),
    }
}

/// Parses `64`, `"90s"`, `"5m"`, `"1h 30m"` into a duration.
pub fn parse_duration(raw: &RawDuration) -> Result<Duration, String> {
    match raw {
        RawDuration::Seconds(s) => Ok(Duration::from_secs(*s)),
        RawDuration::Text(t) => {
            humantime::parse_duration(t.trim()).map_err(|e| format!("`{t}` is not a duration: {e}"))
        }
    }
}

/// Parses `1048576`, `"256MiB"`, `"1GB"`, `"512 KiB"` into bytes.
pub fn parse_bytes(raw: &RawBytes) -> Result<u64, String> {
    let text = match raw {
        RawBytes::Bytes(b) => return Ok(*b),
        RawBytes::Text(t) => t.trim(),
    };
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (num, unit) = text.split_at(split);
    let n: u64 = num.parse().map_err(|_| format!("`{text}` is not a size"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1000,
        "kib" | "k" => 1 << 10,
        "mb" => 1_000_000,
        "mib" | "m" => 1 << 20,
        "gb" => 1_000_000_000,
        "gib" | "g" => 1 << 30,
        other => return Err(format!("unknown size unit `{other}` in `{text}`")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("`{text}` is too large"))
}

impl Loader {
    fn new() -> Loader {
        Loader { sources: Vec::new(), errors: Vec::new(), interner: Interner::default() }
    }

    fn read(&mut self, path: &Path) -> Option<RawFile> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.errors.push(file_error(
                    path,
                    format!("cannot read the config file: {e}"),
                    "check the path and permissions (pass --config <file>)",
                ));
                return None;
            }
        };
        self.parse(SourceFile { path: path.to_path_buf(), text })
    }

    /// Parses one file's text and keeps it as a source for line numbers.
    fn parse(&mut self, source: SourceFile) -> Option<RawFile> {
        let parsed = toml::from_str::<RawFile>(&source.text);
        let result = match parsed {
            Ok(raw) => Some(raw),
            Err(e) => {
                let line = e.span().map(|s| source.line_of_offset(s.start));
                let hint = if e.message().contains("unknown field") {
                    "remove or correct the key; docs/satellite-config.md lists every key"
                } else {
                    "fix the TOML syntax or the value's type; docs/satellite-config.md lists every key"
                };
                self.errors.push(source.error(line, e.message().trim().to_string(), hint));
                None
            }
        };
        self.sources.push(source);
        result
    }

    /// Builds the config from the parsed files; any error recorded on the way refuses the whole config.
    fn finish(mut self, files: Vec<(usize, RawFile)>) -> Result<Config, ConfigErrors> {
        match self.build(files) {
            Some(c) if self.errors.is_empty() => Ok(c),
            _ => Err(ConfigErrors(self.errors)),
        }
    }

    fn err(&mut self, file: usize, line: Option<usize>, message: impl Into<String>, hint: impl Into<String>) {
        let e = self.sources[file].error(line, message, hint);
        self.errors.push(e);
    }

    fn line_of_name(&self, file: usize, name: Option<&str>) -> Option<usize> {
        name.and_then(|n| self.sources[file].line_of_assignment("name", n))
    }

    fn duration(
        &mut self,
        file: usize,
        line: Option<usize>,
        key: &str,
        raw: Option<&RawDuration>,
        default: Duration,
    ) -> Duration {
        match raw.map(parse_duration) {
            None => default,
            Some(Ok(d)) => d,
            Some(Err(msg)) => {
                self.err(
                    file,
                    line,
                    format!("{key}: {msg}"),
                    "write seconds as a number, or a duration like \"90s\", \"5m\", \"1h\"",
                );
                default
            }
        }
    }

    /// A section that validates itself (`[traps]`, `[metrics]`): its error is reported at the section's line,
    /// and an absent section is the default.
    fn validated_section<T: Default, R>(
        &mut self,
        found: Option<(usize, T)>,
        header: &str,
        name: &str,
        validate: impl Fn(&T) -> anyhow::Result<R>,
    ) -> T {
        let Some((file, section)) = found else { return T::default() };
        if let Err(e) = validate(&section) {
            let line = self.sources[file].line_containing(header);
            self.err(
                file,
                line,
                format!("[{name}]: {e:#}"),
                format!("see the [{name}] section of docs/satellite-config.md"),
            );
        }
        section
    }

    fn build(&mut self, files: Vec<(usize, RawFile)>) -> Option<Config> {
        let mut location: Option<(usize, String)> = None;
        let mut state_dir: Option<PathBuf> = None;
        let mut noc = None;
        let mut spool = None;
        let mut traps = None;
        let mut metrics = None;
        let mut engine = None;
        let mut macros: BTreeMap<String, String> = BTreeMap::new();
        let mut commands: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut host_defaults: Option<RawHost> = None;
        let mut service_defaults: Option<RawService> = None;
        let mut host_templates: BTreeMap<String, RawHost> = BTreeMap::new();
        let mut service_templates: BTreeMap<String, RawService> = BTreeMap::new();
        let mut hosts: Vec<Located<RawHost>> = Vec::new();
        let mut services: Vec<Located<RawService>> = Vec::new();

        // Sections that may appear once across all files.
        macro_rules! once {
            ($slot:ident, $value:expr, $file:expr, $key:literal) => {
                if let Some(v) = $value {
                    if $slot.is_some() {
                        let line = self.sources[$file].line_containing($key);
                        self.err(
                            $file,
                            line,
                            concat!("`", $key, "` is set in more than one file"),
                            "keep it in the main file only",
                        );
                    } else {
                        $slot = Some(v);
                    }
                }
            };
        }
        for (file, raw) in files {
            once!(location, raw.location.map(|l| (file, l)), file, "location");
            once!(state_dir, raw.state_dir, file, "state_dir");
            once!(noc, raw.noc, file, "[noc]");
            once!(spool, raw.spool, file, "[spool]");
            once!(traps, raw.traps.map(|t| (file, t)), file, "[traps");
            once!(metrics, raw.metrics.map(|m| (file, m)), file, "[metrics]");
            once!(engine, raw.engine.map(|e| (file, e)), file, "[engine]");
            once!(host_defaults, raw.defaults.host, file, "[defaults.host]");
            once!(service_defaults, raw.defaults.service, file, "[defaults.service]");
            if file != 0 && raw.include_dir.is_some() {
                let line = self.sources[file].line_containing("include_dir");
                self.err(file, line, "`include_dir` is only read from the main file", "move it to the main file");
            }
            for (k, v) in raw.macros {
                if !is_user_macro(&k) {
                    let line = self.sources[file].line_containing(&k);
                    self.err(
                        file,
                        line,
                        format!("macro `{k}` is not a user macro"),
                        "name user macros USER1 .. USER256",
                    );
                } else if macros.insert(k.clone(), v).is_some() {
                    let line = self.sources[file].line_containing(&k);
                    self.err(file, line, format!("macro `{k}` is defined twice"), "define each $USERn$ once");
                }
            }
            for (k, v) in raw.commands {
                if commands.insert(k.clone(), (file, v)).is_some() {
                    let line = self.sources[file].line_containing(&k);
                    self.err(file, line, format!("command `{k}` is defined twice"), "rename one of them");
                }
            }
            for (k, v) in raw.templates.host {
                if host_templates.insert(k.clone(), v).is_some() {
                    let line = self.sources[file].line_containing(&k);
                    self.err(file, line, format!("host template `{k}` is defined twice"), "rename one of them");
                }
            }
            for (k, v) in raw.templates.service {
                if service_templates.insert(k.clone(), v).is_some() {
                    let line = self.sources[file].line_containing(&k);
                    self.err(file, line, format!("service template `{k}` is defined twice"), "rename one of them");
                }
            }
            hosts.extend(raw.hosts.into_iter().map(|item| Located { file, item }));
            services.extend(raw.services.into_iter().map(|item| Located { file, item }));
        }
        macros.entry("USER1".into()).or_insert_with(|| DEFAULT_PLUGIN_DIR.into());

        let location = match location {
            Some((file, loc)) => {
                if let Err(e) = naming::validate_location(&loc) {
                    let line = self.sources[file].line_of_assignment("location", &loc);
                    self.err(
                        file,
                        line,
                        format!("location `{loc}`: {e}"),
                        "use a short ID such as FRA1 (letters, digits, '-')",
                    );
                }
                loc
            }
            None => {
                self.err(
                    0,
                    None,
                    "`location` is missing",
                    "add `location = \"FRA1\"` (this site's ID) at the top of the main file",
                );
                String::new()
            }
        };
        let state_dir = state_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR));
        let noc = self.build_noc(noc.unwrap_or_default());
        let spool = self.build_spool(spool.unwrap_or_default(), &state_dir);
        let traps = self.validated_section(traps, "[traps", "traps", TrapConfig::validate);
        let metrics = self.validated_section(metrics, "[metrics]", "metrics", MetricsConfig::validate);
        let engine = self.build_engine(engine);

        let ctx = Templates {
            macros: &macros,
            commands: &commands,
            host_templates: &host_templates,
            service_templates: &service_templates,
            host_defaults: host_defaults.unwrap_or_default(),
            service_defaults: service_defaults.unwrap_or_default(),
        };
        let hosts = self.build_hosts(hosts, &ctx);
        let services = self.build_services(services, &hosts, &ctx);
        Some(Config {
            location,
            state_dir,
            noc,
            spool,
            traps,
            metrics,
            engine,
            hosts,
            services,
            files: self.sources.iter().map(|s| s.path.clone()).collect(),
        })
    }

    fn build_noc(&mut self, raw: super::raw::RawNoc) -> NocConfig {
        let line = |s: &Self, k: &str| s.sources[0].line_containing(k);
        for url in &raw.urls {
            let ok =
                reqwest::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
            if !ok {
                let l = line(self, url);
                self.err(
                    0,
                    l,
                    format!("[noc] urls: `{url}` is not an http(s) URL"),
                    "write it as https://noc.example:8443",
                );
            } else if plain_http_off_loopback(url) {
                // The bearer key and every frame would cross the network in clear; the NOC refuses plain HTTP off
                // loopback for the same reason.
                let l = line(self, url);
                self.err(
                    0,
                    l,
                    format!("[noc] urls: `{url}` is plain HTTP to a host that is not loopback"),
                    "use https:// (plain http:// is only for 127.0.0.1, ::1 or localhost)",
                );
            }
        }
        if let Some(pin) = &raw.pinned_cert_sha256 {
            let clean = pin.replace(':', "").to_ascii_lowercase();
            if clean.len() != 64 || !clean.chars().all(|c| c.is_ascii_hexdigit()) {
                let l = line(self, "pinned_cert_sha256");
                self.err(
                    0,
                    l,
                    "[noc] pinned_cert_sha256 is not 64 hex digits",
                    "use `openssl x509 -noout -fingerprint -sha256 -in noc.pem`",
                );
            }
        }
        let ship = match (&raw.ship_interval, &raw.ship_cron) {
            (Some(_), Some(_)) => {
                let l = line(self, "ship_cron");
                self.err(0, l, "[noc] has both ship_interval and ship_cron", "keep one of them");
                ShipSchedule::Interval(DEFAULT_SHIP_INTERVAL)
            }
            (_, Some(cron)) => {
                if let Err(e) = cron.parse::<croner::Cron>() {
                    let l = line(self, "ship_cron");
                    self.err(
                        0,
                        l,
                        format!("[noc] ship_cron `{cron}`: {e}"),
                        "use five cron fields, e.g. \"*/1 * * * *\"",
                    );
                }
                ShipSchedule::Cron(cron.clone())
            }
            (interval, None) => {
                let l = line(self, "ship_interval");
                let d = self.duration(0, l, "[noc] ship_interval", interval.as_ref(), DEFAULT_SHIP_INTERVAL);
                if d.is_zero() {
                    self.err(0, l, "[noc] ship_interval must be above zero", "use e.g. \"10s\"");
                }
                ShipSchedule::Interval(d)
            }
        };
        let l = line(self, "full_every");
        let full_every = self.duration(0, l, "[noc] full_every", raw.full_every.as_ref(), DEFAULT_FULL_EVERY);
        let l = line(self, "request_timeout");
        let request_timeout =
            self.duration(0, l, "[noc] request_timeout", raw.request_timeout.as_ref(), DEFAULT_REQUEST_TIMEOUT);
        let pinned_cert_sha256 = raw.pinned_cert_sha256.map(|p| p.replace(':', "").to_ascii_lowercase());
        NocConfig { urls: raw.urls, ca_file: raw.ca_file, pinned_cert_sha256, ship, full_every, request_timeout }
    }

    fn build_spool(&mut self, raw: super::raw::RawSpool, state_dir: &Path) -> SpoolSettings {
        let bytes = |s: &mut Self, key: &str, v: Option<&RawBytes>, default: u64| match v.map(parse_bytes) {
            None => default,
            Some(Ok(b)) => b,
            Some(Err(msg)) => {
                let l = s.sources[0].line_containing(key);
                s.err(0, l, format!("[spool] {key}: {msg}"), "write bytes as a number or with a unit: \"256MiB\"");
                default
            }
        };
        let max_bytes = bytes(self, "max_bytes", raw.max_bytes.as_ref(), crate::spool::DEFAULT_MAX_BYTES);
        let segment_bytes =
            bytes(self, "segment_bytes", raw.segment_bytes.as_ref(), crate::spool::DEFAULT_SEGMENT_BYTES);
        if segment_bytes == 0 || segment_bytes > max_bytes {
            let l = self.sources[0].line_containing("segment_bytes");
            self.err(
                0,
                l,
                "[spool] segment_bytes must be above zero and at most max_bytes",
                "keep segments well below max_bytes, e.g. 8MiB",
            );
        }
        let l = self.sources[0].line_containing("max_age");
        let max_age = match &raw.max_age {
            Some(RawDuration::Seconds(0)) => None,
            other => Some(self.duration(0, l, "[spool] max_age", other.as_ref(), crate::spool::DEFAULT_MAX_AGE)),
        };
        SpoolSettings { dir: raw.dir.unwrap_or_else(|| state_dir.join("spool")), max_bytes, max_age, segment_bytes }
    }

    fn build_engine(&mut self, raw: Option<(usize, super::raw::RawEngine)>) -> EngineConfig {
        let (file, raw) = raw.unwrap_or_default();
        let line = |s: &Self, k: &str| s.sources[file].line_containing(k);
        let max_concurrent_checks = raw.max_concurrent_checks.unwrap_or(DEFAULT_MAX_CONCURRENT_CHECKS);
        let max_checks_per_host = raw.max_checks_per_host.unwrap_or(DEFAULT_MAX_CHECKS_PER_HOST);
        let max_output_bytes = raw.max_output_bytes.unwrap_or(DEFAULT_MAX_OUTPUT_BYTES);
        for (key, v, max) in [
            ("max_concurrent_checks", max_concurrent_checks, 65_536),
            ("max_checks_per_host", max_checks_per_host, 65_536),
            ("max_output_bytes", max_output_bytes, 1 << 20),
        ] {
            if v == 0 || v > max {
                let l = line(self, key);
                self.err(
                    file,
                    l,
                    format!("[engine] {key} = {v} is out of range"),
                    format!("use a value from 1 to {max}"),
                );
            }
        }
        let l = line(self, "retention_interval");
        let retention_interval = self.duration(
            file,
            l,
            "[engine] retention_interval",
            raw.retention_interval.as_ref(),
            DEFAULT_RETENTION_INTERVAL,
        );
        let l = line(self, "latency_warn");
        let latency_warn =
            self.duration(file, l, "[engine] latency_warn", raw.latency_warn.as_ref(), DEFAULT_LATENCY_WARN);
        let flap_low_threshold = raw.flap_low_threshold.unwrap_or(DEFAULT_FLAP_LOW);
        let flap_high_threshold = raw.flap_high_threshold.unwrap_or(DEFAULT_FLAP_HIGH);
        if !(0.0..=100.0).contains(&flap_low_threshold)
            || !(0.0..=100.0).contains(&flap_high_threshold)
            || flap_low_threshold > flap_high_threshold
        {
            let l = line(self, "flap_");
            self.err(
                file,
                l,
                "[engine] flap thresholds must be percentages with low <= high",
                "Nagios uses 5.0 and 20.0",
            );
        }
        EngineConfig {
            max_concurrent_checks,
            max_checks_per_host,
            max_output_bytes,
            shell: raw.shell.unwrap_or_else(|| PathBuf::from("/bin/sh")),
            retention_interval,
            flap_low_threshold,
            flap_high_threshold,
            latency_warn,
        }
    }
}

fn is_user_macro(name: &str) -> bool {
    name.strip_prefix("USER").and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| (1..=256).contains(&n))
}

struct Templates<'a> {
    macros: &'a BTreeMap<String, String>,
    commands: &'a BTreeMap<String, (usize, String)>,
    host_templates: &'a BTreeMap<String, RawHost>,
    service_templates: &'a BTreeMap<String, RawService>,
    host_defaults: RawHost,
    service_defaults: RawService,
}

/// Applies `use` templates depth-first (the first listed wins, as in Nagios), then `defaults`.
fn apply_templates<T: Clone>(
    item: &mut T,
    uses: Vec<String>,
    templates: &BTreeMap<String, T>,
    use_of: impl Fn(&T) -> Vec<String> + Copy,
    fill: impl Fn(&mut T, &T) + Copy,
    seen: &mut Vec<String>,
) -> Result<(), String> {
    for name in uses {
        if seen.contains(&name) {
            return Err(format!("templates use each other in a loop: {} -> {name}", seen.join(" -> ")));
        }
        let Some(t) = templates.get(&name) else {
            return Err(format!("unknown template `{name}`"));
        };
        let mut t = t.clone();
        seen.push(name);
        let nested = use_of(&t);
        apply_templates(&mut t, nested, templates, use_of, fill, seen)?;
        seen.pop();
        fill(item, &t);
    }
    Ok(())
}

fn state_code(is_host: bool, text: &str) -> Option<u8> {
    match (is_host, text.to_ascii_lowercase().as_str()) {
        (false, "ok") => Some(0),
        (false, "warning") => Some(1),
        (false, "critical") => Some(2),
        (false, "unknown") => Some(3),
        (true, "up") => Some(0),
        (true, "down") => Some(1),
        (true, "unreachable") => Some(2),
        _ => None,
    }
}

fn valid_options(is_host: bool, options: &str) -> bool {
    let allowed: &[&str] = if is_host { &["d", "u", "r", "f", "s", "n"] } else { &["w", "u", "c", "r", "f", "s", "n"] };
    options.split(',').map(str::trim).filter(|o| !o.is_empty()).all(|o| allowed.contains(&o))
}

/// The fields hosts and services share after templates, for one common build step.
struct Common<'a> {
    check_command: Option<&'a str>,
    check_interval: Option<&'a RawDuration>,
    retry_interval: Option<&'a RawDuration>,
    max_attempts: Option<u32>,
    timeout: Option<&'a RawDuration>,
    timeout_state: Option<&'a str>,
    active_checks: Option<bool>,
    notifications_enabled: Option<bool>,
    notification_interval: Option<&'a RawDuration>,
    notification_options: Option<&'a str>,
    flap_detection: Option<bool>,
}

impl Loader {
    /// Definitions go into their final `Arc` as they are built: what is kept is then allocated in order,
    /// not scattered among the loader's garbage.
    fn build_hosts(&mut self, raw: Vec<Located<RawHost>>, t: &Templates<'_>) -> Vec<Arc<CheckDef>> {
        let mut out: Vec<Arc<CheckDef>> = Vec::with_capacity(raw.len());
        let mut seen: HashSet<String> = HashSet::new();
        for Located { file, item: mut h } in raw {
            let line = self.line_of_name(file, h.name.as_deref());
            let Some(name) = h.name.clone() else {
                let l = self.sources[file].line_containing("[[hosts]]");
                self.err(file, l, "a host has no `name`", "add `name = \"...\"` to every [[hosts]] entry");
                continue;
            };
            if let Err(e) = naming::validate_object_name(&name) {
                self.err(file, line, format!("host name `{name}`: {e}"), "use letters, digits, '.', '-', '_'");
                continue;
            }
            if !seen.insert(name.clone()) {
                self.err(
                    file,
                    line,
                    format!("host `{name}` is defined twice"),
                    "host names must be unique across all files",
                );
                continue;
            }
            let uses = h.use_.as_ref().map(|u| u.to_vec()).unwrap_or_default();
            if let Err(msg) = apply_templates(
                &mut h,
                uses,
                t.host_templates,
                |x: &RawHost| x.use_.as_ref().map(|u| u.to_vec()).unwrap_or_default(),
                RawHost::fill_from,
                &mut vec![],
            ) {
                self.err(
                    file,
                    line,
                    format!("host `{name}`: {msg}"),
                    "define the template under [templates.host.<name>]",
                );
                continue;
            }
            h.fill_from(&t.host_defaults);
            let address = h.address.clone().unwrap_or_else(|| name.clone());
            let alias = h.alias.clone().unwrap_or_else(|| name.clone());
            let vars = custom_vars(h.vars.as_ref());
            let common = Common {
                check_command: h.check_command.as_deref(),
                check_interval: h.check_interval.as_ref(),
                retry_interval: h.retry_interval.as_ref(),
                max_attempts: h.max_attempts,
                timeout: h.timeout.as_ref(),
                timeout_state: h.timeout_state.as_deref(),
                active_checks: h.active_checks,
                notifications_enabled: h.notifications_enabled,
                notification_interval: h.notification_interval.as_ref(),
                notification_options: h.notification_options.as_deref(),
                flap_detection: h.flap_detection,
            };
            let macro_ctx = MacroContext {
                host_name: &name,
                host_address: &address,
                host_alias: &alias,
                service_desc: None,
                service_display_name: None,
                args: &[],
                user: t.macros,
                host_vars: &vars,
                service_vars: None,
            };
            let key = ObjectKey::host(name.clone());
            if let Some(mut def) = self.build_common(file, line, key, common, macro_ctx, t) {
                let config = Arc::make_mut(&mut def.config);
                config.display_name = alias.as_str().into();
                config.address = address.as_str().into();
                config.groups = h.groups.iter().flatten().map(Into::into).collect();
                config.custom_vars = vars.clone();
                def.parents = h.parents.clone().unwrap_or_default();
                out.push(Arc::new(self.interner.share(def)));
            }
        }
        let names: HashSet<&str> = out.iter().map(|h| h.key.host.as_str()).collect();
        let mut errors = Vec::new();
        for h in &out {
            for p in &h.parents {
                if *p == h.key.host || !names.contains(p.as_str()) {
                    errors.push((h.key.host.clone(), p.clone()));
                }
            }
        }
        for (host, parent) in errors {
            let l = self.sources.iter().position(|s| s.line_of_assignment("name", &host).is_some()).unwrap_or(0);
            let line = self.sources[l].line_of_assignment("name", &host);
            self.err(
                l,
                line,
                format!("host `{host}`: parent `{parent}` is not a defined host (or is itself)"),
                "list only other hosts defined in this config",
            );
        }
        out
    }

    fn build_services(
        &mut self,
        raw: Vec<Located<RawService>>,
        hosts: &[Arc<CheckDef>],
        t: &Templates<'_>,
    ) -> Vec<Arc<CheckDef>> {
        let mut by_group: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, h) in hosts.iter().enumerate() {
            by_name.insert(h.key.host.as_str(), i);
            for g in &h.config.groups {
                by_group.entry(g.as_str()).or_default().push(i);
            }
        }
        let mut out = Vec::with_capacity(raw.len());
        // Service name -> hosts that have it (no per-service key copy: see `interner`).
        let mut seen: HashMap<String, HashSet<usize>> = HashMap::new();
        for Located { file, item: mut s } in raw {
            let line = self.line_of_name(file, s.name.as_deref());
            let Some(name) = s.name.clone() else {
                let l = self.sources[file].line_containing("[[services]]");
                self.err(
                    file,
                    l,
                    "a service has no `name`",
                    "add `name = \"...\"` (the service description) to every [[services]] entry",
                );
                continue;
            };
            if let Err(e) = naming::validate_object_name(&name) {
                self.err(
                    file,
                    line,
                    format!("service name `{name}`: {e}"),
                    "use letters, digits, spaces, '.', '-', '_'",
                );
                continue;
            }
            let uses = s.use_.as_ref().map(|u| u.to_vec()).unwrap_or_default();
            if let Err(msg) = apply_templates(
                &mut s,
                uses,
                t.service_templates,
                |x: &RawService| x.use_.as_ref().map(|u| u.to_vec()).unwrap_or_default(),
                RawService::fill_from,
                &mut vec![],
            ) {
                self.err(
                    file,
                    line,
                    format!("service `{name}`: {msg}"),
                    "define the template under [templates.service.<name>]",
                );
                continue;
            }
            s.fill_from(&t.service_defaults);
            let mut targets: Vec<usize> = Vec::new();
            for h in s.host.as_ref().map(|h| h.to_vec()).unwrap_or_default() {
                match by_name.get(h.as_str()) {
                    Some(&i) => targets.push(i),
                    None => self.err(
                        file,
                        line,
                        format!("service `{name}`: host `{h}` is not defined"),
                        "define it under [[hosts]] or fix the name",
                    ),
                }
            }
            for g in s.host_groups.clone().unwrap_or_default() {
                match by_group.get(g.as_str()) {
                    Some(members) => targets.extend(members),
                    None => self.err(
                        file,
                        line,
                        format!("service `{name}`: no host is in group `{g}`"),
                        "add `groups = [\"...\"]` to the hosts, or fix the group name",
                    ),
                }
            }
            if s.host.is_none() && s.host_groups.is_none() {
                self.err(
                    file,
                    line,
                    format!("service `{name}` names no host"),
                    "add `host = \"...\"` or `host_groups = [\"...\"]`",
                );
                continue;
            }
            targets.sort_unstable();
            targets.dedup();
            let svc_vars = custom_vars(s.vars.as_ref());
            for hi in targets {
                let host = &hosts[hi];
                let key = ObjectKey::service(host.key.host.clone(), name.clone());
                if !seen.entry(name.clone()).or_default().insert(hi) {
                    self.err(
                        file,
                        line,
                        format!("service `{key}` is defined twice"),
                        "a host can have only one service of each name",
                    );
                    continue;
                }
                let common = Common {
                    check_command: s.check_command.as_deref(),
                    check_interval: s.check_interval.as_ref(),
                    retry_interval: s.retry_interval.as_ref(),
                    max_attempts: s.max_attempts,
                    timeout: s.timeout.as_ref(),
                    timeout_state: s.timeout_state.as_deref(),
                    active_checks: s.active_checks,
                    notifications_enabled: s.notifications_enabled,
                    notification_interval: s.notification_interval.as_ref(),
                    notification_options: s.notification_options.as_deref(),
                    flap_detection: s.flap_detection,
                };
                if common.check_command.is_none() {
                    self.err(
                        file,
                        line,
                        format!("service `{name}` has no check_command"),
                        "add `check_command = \"$USER1$/check_...\"` or set it in a template",
                    );
                    break;
                }
                let macro_ctx = MacroContext {
                    host_name: &host.key.host,
                    host_address: &host.config.address,
                    host_alias: &host.config.display_name,
                    service_desc: Some(&name),
                    service_display_name: s.display_name.as_deref(),
                    args: &[],
                    user: t.macros,
                    host_vars: &host.config.custom_vars,
                    service_vars: Some(&svc_vars),
                };
                let Some(mut def) = self.build_common(file, line, key, common, macro_ctx, t) else {
                    break;
                };
                let config = Arc::make_mut(&mut def.config);
                config.display_name = s.display_name.as_deref().unwrap_or(&name).into();
                config.groups = s.groups.iter().flatten().map(Into::into).collect();
                config.custom_vars = svc_vars.clone();
                out.push(Arc::new(self.interner.share(def)));
            }
        }
        out
    }

    fn build_common(
        &mut self,
        file: usize,
        line: Option<usize>,
        key: ObjectKey,
        c: Common<'_>,
        macro_ctx: MacroContext<'_>,
        t: &Templates<'_>,
    ) -> Option<CheckDef> {
        let is_host = key.is_host();
        let n_errors = self.errors.len();
        let check_interval = self.duration(file, line, "check_interval", c.check_interval, DEFAULT_CHECK_INTERVAL);
        let retry_interval = self.duration(file, line, "retry_interval", c.retry_interval, DEFAULT_RETRY_INTERVAL);
        let timeout = self.duration(file, line, "timeout", c.timeout, DEFAULT_TIMEOUT);
        let notification_interval =
            self.duration(file, line, "notification_interval", c.notification_interval, DEFAULT_NOTIFICATION_INTERVAL);
        if check_interval < Duration::from_secs(1)
            || retry_interval < Duration::from_secs(1)
            || timeout < Duration::from_secs(1)
        {
            self.err(
                file,
                line,
                format!("`{key}`: check_interval, retry_interval and timeout must be at least 1s"),
                "use e.g. \"1m\"",
            );
        }
        let max_attempts = c.max_attempts.unwrap_or(DEFAULT_MAX_ATTEMPTS);
        if max_attempts == 0 {
            self.err(
                file,
                line,
                format!("`{key}`: max_attempts must be at least 1"),
                "1 makes every problem HARD at once",
            );
        }
        let default_timeout_state = if is_host { 1 } else { 3 };
        let timeout_state = match c.timeout_state {
            None => default_timeout_state,
            Some(text) => match state_code(is_host, text) {
                Some(code) => code,
                None => {
                    let allowed = if is_host { "\"down\" or \"unreachable\"" } else { "\"unknown\" or \"critical\"" };
                    self.err(
                        file,
                        line,
                        format!("`{key}`: timeout_state `{text}` is not a state"),
                        format!("use {allowed}"),
                    );
                    default_timeout_state
                }
            },
        };
        let options = c.notification_options.unwrap_or(if is_host {
            DEFAULT_HOST_NOTIFICATION_OPTIONS
        } else {
            DEFAULT_SERVICE_NOTIFICATION_OPTIONS
        });
        if !valid_options(is_host, options) {
            let allowed = if is_host { "d,u,r,f,s or n" } else { "w,u,c,r,f,s or n" };
            self.err(
                file,
                line,
                format!("`{key}`: notification_options `{options}` has an unknown letter"),
                format!("use a comma list of {allowed}"),
            );
        }
        let command = match c.check_command {
            None => None,
            Some(text) => {
                let (name, args) = match text.split_once('!') {
                    Some((n, a)) => (n, a.split('!').map(str::to_string).collect::<Vec<_>>()),
                    None => (text, Vec::new()),
                };
                let template = match t.commands.get(name.trim()) {
                    Some((_, line)) => line.as_str(),
                    None if text.contains('!') => {
                        self.err(
                            file,
                            line,
                            format!("`{key}`: command `{name}` is not defined"),
                            "define it under [commands], or write the full command line",
                        );
                        return None;
                    }
                    None => text,
                };
                // As in Nagios, macros inside $ARGn$ values are expanded too (`check_http!$_HOSTPORT$`).
                let mut expanded_args = Vec::with_capacity(args.len());
                for a in &args {
                    match expand_macros(a, &macro_ctx) {
                        Ok(v) => expanded_args.push(v),
                        Err(bad) => {
                            self.err(
                                file,
                                line,
                                format!("`{key}`: unknown macro ${bad}$ in argument `{a}`"),
                                "see the macro list in docs/satellite-config.md",
                            );
                            return None;
                        }
                    }
                }
                let ctx = MacroContext { args: &expanded_args, ..macro_ctx };
                match expand_macros(template, &ctx) {
                    Err(bad) => {
                        self.err(
                            file,
                            line,
                            format!("`{key}`: unknown macro ${bad}$ in `{template}`"),
                            "known macros: $HOSTNAME$ $HOSTADDRESS$ $HOSTALIAS$ $SERVICEDESC$ $ARGn$ $USERn$ (set under [macros]) $_HOSTvar$ $_SERVICEvar$; write $$ for a literal $",
                        );
                        None
                    }
                    Ok(expanded) => match parse_command_line(&expanded) {
                        Ok(cl) => Some(cl),
                        Err(msg) => {
                            self.err(
                                file,
                                line,
                                format!("`{key}`: check_command: {msg}"),
                                "balance the quotes in the command line",
                            );
                            None
                        }
                    },
                }
            }
        };
        if self.errors.len() > n_errors {
            return None;
        }
        let secs = |d: Duration| u32::try_from(d.as_secs()).unwrap_or(u32::MAX);
        let config = ObjectConfig {
            display_name: CompactString::default(),
            address: CompactString::default(),
            check_command: c.check_command.unwrap_or_default().into(),
            check_interval: secs(check_interval),
            retry_interval: secs(retry_interval),
            max_attempts,
            notifications: NotificationConfig {
                enabled: c.notifications_enabled.unwrap_or(true) && !options.split(',').any(|o| o.trim() == "n"),
                interval: secs(notification_interval),
                options: options.replace(' ', "").into(),
            },
            groups: Vec::new(),
            custom_vars: BTreeMap::new(),
        };
        Some(CheckDef {
            key,
            config: Arc::new(config),
            command: command.map(Arc::new),
            check_interval,
            retry_interval,
            timeout,
            timeout_state,
            active_checks: c.active_checks.unwrap_or(true),
            flap_detection: c.flap_detection.unwrap_or(true),
            parents: Vec::new(),
        })
    }
}

/// True for an `http://` URL whose host is not loopback (127.0.0.0/8, ::1, localhost).
fn plain_http_off_loopback(url: &str) -> bool {
    let Ok(u) = reqwest::Url::parse(url) else { return false };
    if u.scheme() != "http" {
        return false;
    }
    match u.host_str() {
        Some(h) if h.eq_ignore_ascii_case("localhost") => false,
        Some(h) => !h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// Custom variables from the config file, in the model's string type.
fn custom_vars(vars: Option<&BTreeMap<String, String>>) -> BTreeMap<CompactString, CompactString> {
    vars.into_iter().flatten().map(|(k, v)| (k.into(), v.into())).collect()
}
