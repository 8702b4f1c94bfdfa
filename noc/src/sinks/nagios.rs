//! The Nagios sink: keeps a Nagios-family core's objects and state in step with the NOC.
//!
//! 1. Object config: every NOC object becomes a passive, location-prefixed Nagios object (see
//!    [`super::nagios_config`]); regenerated at start, when the store reports changed objects, and whenever an
//!    event names an object Nagios does not know yet. Validate-then-reload runs only when the text changed.
//! 2. Events become external commands ([`super::nagios_cmd`]) written to the command file, with the event's
//!    original timestamp: check results, acknowledgements, comments and downtimes.
//! 3. Every `resubmit_interval_s` the current state of every non-stale object is written again, so Nagios'
//!    freshness checking turns objects UNKNOWN only when their satellite really went silent.
//!
//! Order: before commands for an object are written, the config naming it has been validated and the reload
//! command has returned (plus `reload_settle_ms`); commands for objects that are still unknown are dropped.
//! Comments and downtimes carry a marker `[outpost:<location>:c<id>]` / `[outpost:<location>:d<id>]` in their
//! text, which is how the sink finds the IDs Nagios gave them (in `status.dat`) when they are removed.
//!
//! A failed validation keeps the old config, does not hold up results for objects Nagios has (commands for the
//! others are dropped; they get their current state once a config naming them loads), is logged at ERROR, counted in
//! `outpost_sink_nagios_config_invalid_total`, and raises a `Lifecycle::NorthboundConfigRejected` event (location
//! [`NOC_LOCATION`]) in the event log. The event is raised once per rejected generation: the sink retries the same
//! config on every idle poll (the site's own Nagios config may have been fixed meanwhile), and those retries do not
//! raise it again until a config applies or the generated text changes.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use outpost_format::event::Lifecycle;
use outpost_format::{EventKind, ObjectKey};
use serde::Deserialize;

use super::filter::{Filter, FilterConfig};
use super::nagios_cmd::{CommandWriter, NagiosCommand, plugin_output};
use super::nagios_config::{Applied, ConfigDir, GenSettings, NagiosObject, generate};
use super::nagios_status::{find_id, read as read_status};
use super::{DeliveryError, Sink};
use crate::store::{NOC_LOCATION, ObjectRow, Store, StoredEvent};

/// `[sinks.nagios]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct NagiosConfig {
    /// Nagios' `command_file` (a FIFO), e.g. `/var/lib/nagios4/rw/nagios.cmd`.
    pub command_file: PathBuf,
    /// A directory Nagios reads with `cfg_dir=`; Outpost owns the `outpost-*.cfg` files in it.
    pub config_dir: PathBuf,
    /// e.g. `/usr/sbin/nagios4 -v /etc/nagios4/nagios.cfg`.
    #[serde(default)]
    pub validate_command: Option<String>,
    /// e.g. `systemctl reload nagios4`.
    #[serde(default)]
    pub reload_command: Option<String>,
    /// Nagios' `status_file`, read to find comment and downtime IDs when they are removed.
    #[serde(default)]
    pub status_file: Option<PathBuf>,
    #[serde(default = "default_freshness")]
    pub freshness_threshold_s: u32,
    #[serde(default = "default_resubmit")]
    pub resubmit_interval_s: u64,
    /// Wait after the reload command returns before writing commands for new objects.
    #[serde(default = "default_settle")]
    pub reload_settle_ms: u64,
    #[serde(default = "default_cmd_timeout")]
    pub command_timeout_s: u64,
    #[serde(default)]
    pub notifications_enabled: bool,
    #[serde(default)]
    pub contact_groups: Vec<String>,
    /// Default: the kinds Nagios can take (results, acknowledgements, comments, downtimes).
    #[serde(default)]
    pub filter: FilterConfig,
}

fn default_freshness() -> u32 {
    super::nagios_config::DEFAULT_FRESHNESS_S
}
fn default_resubmit() -> u64 {
    300
}
fn default_settle() -> u64 {
    1000
}
fn default_cmd_timeout() -> u64 {
    60
}

/// The event kinds that become commands.
pub const NAGIOS_KINDS: &[&str] = &[
    "state_change",
    "check_result",
    "acknowledgement_set",
    "acknowledgement_removed",
    "comment_added",
    "comment_removed",
    "downtime_scheduled",
    "downtime_cancelled",
];

type Known = HashSet<(String, Option<String>)>;

pub struct NagiosSink {
    store: Store,
    config: NagiosConfig,
    filter: Filter,
    dir: ConfigDir,
    writer: CommandWriter,
    gen_settings: GenSettings,
    /// Objects in the config Nagios has loaded (prefixed host, service).
    known: Known,
    last_resubmit: Option<Instant>,
    /// When a generated config last failed to apply; retried at most every [`FAILED_SYNC_RETRY`] from `deliver`.
    last_failed_sync: Option<Instant>,
    /// Hash of the generated files last rejected, so each rejected generation raises one event, not one per retry.
    rejected: Option<u64>,
}

/// Longest validator verdict carried in a `NorthboundConfigRejected` event (its head and tail are kept).
pub const MAX_REJECT_ERROR: usize = 2048;

/// How long `deliver` waits before trying again a config that failed validation (it would fail the same way
/// until the objects or the Nagios config change; the idle poll retries anyway).
pub const FAILED_SYNC_RETRY: Duration = Duration::from_secs(30);

impl NagiosSink {
    pub fn new(config: NagiosConfig, store: Store) -> anyhow::Result<NagiosSink> {
        let filter_cfg = if config.filter == FilterConfig::default() {
            FilterConfig { kinds: NAGIOS_KINDS.iter().map(|k| k.to_string()).collect(), ..FilterConfig::default() }
        } else {
            config.filter.clone()
        };
        let filter = Filter::new(&filter_cfg, "all").context("sinks.nagios.filter")?;
        let dir = ConfigDir {
            dir: config.config_dir.clone(),
            validate_command: config.validate_command.clone(),
            reload_command: config.reload_command.clone(),
            command_timeout: Duration::from_secs(config.command_timeout_s.max(1)),
        };
        let gen_settings = GenSettings {
            freshness_threshold_s: config.freshness_threshold_s,
            notifications_enabled: config.notifications_enabled,
            contact_groups: config.contact_groups.clone(),
            ..GenSettings::default()
        };
        Ok(NagiosSink {
            store,
            writer: CommandWriter::new(&config.command_file),
            config,
            filter,
            dir,
            gen_settings,
            known: Known::new(),
            last_resubmit: None,
            last_failed_sync: None,
            rejected: None,
        })
    }

    /// Regenerates the config from the store, applies it, and writes current state for objects new to Nagios.
    async fn sync_config(&mut self) -> anyhow::Result<()> {
        let store = self.store.clone();
        let rows = tokio::task::spawn_blocking(move || store.all_objects()).await.context("store task")??;
        let objects: Vec<NagiosObject> = rows
            .iter()
            .map(|r| NagiosObject { location: r.location.clone(), host: r.host.clone(), service: r.service.clone() })
            .collect();
        let (files, skipped) = generate(&objects, &self.gen_settings);
        for s in skipped.iter().take(10) {
            tracing::warn!(host = %s.host, service = ?s.service, "object name is not valid in Nagios; left out of the Nagios config");
        }
        let generation = {
            use std::hash::{Hash, Hasher};
            let mut h = std::hash::DefaultHasher::new();
            files.hash(&mut h);
            h.finish()
        };
        let dir = self.dir.clone();
        let applied = tokio::task::spawn_blocking(move || dir.apply(&files)).await.context("config task")?;
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                metrics::counter!("outpost_sink_nagios_config_invalid_total").increment(1);
                let error = format!("{e:#}");
                tracing::error!(error, "Nagios config not applied; Nagios keeps running the previous one");
                if self.rejected != Some(generation) {
                    self.rejected = Some(generation);
                    self.raise_rejected(&error).await;
                }
                return Err(e);
            }
        };
        self.rejected = None;
        let skipped: HashSet<(String, Option<String>)> = skipped.into_iter().map(|o| (o.host, o.service)).collect();
        // A service's host is generated even when the NOC has no row for the host itself.
        let now_known: Known = objects
            .iter()
            .filter(|o| !skipped.contains(&(o.host.clone(), o.service.clone())))
            .flat_map(|o| [(o.host.clone(), o.service.clone()), (o.host.clone(), None)])
            .collect();
        if applied == Applied::Reloaded {
            tracing::info!(objects = now_known.len(), "Nagios config written and reloaded");
            tokio::time::sleep(Duration::from_millis(self.config.reload_settle_ms)).await;
        }
        let new_rows: Vec<&ObjectRow> =
            rows.iter().filter(|r| !self.known.contains(&(r.host.clone(), r.service.clone())) && !r.stale).collect();
        let lines: Vec<String> = new_rows.iter().filter(|r| r.last_check > 0).map(|r| current_result(r)).collect();
        self.known = now_known;
        self.write(lines).await
    }

    /// Records the rejection in the event log. A store that cannot take it is logged; the sink carries on.
    async fn raise_rejected(&self, error: &str) {
        let lifecycle =
            Lifecycle::NorthboundConfigRejected { sink: self.name().to_string(), error: clip_middle(error) };
        if let Err(e) = self.store.raise_lifecycle(NOC_LOCATION, lifecycle).await {
            tracing::warn!(error = %e, "could not record the rejected Nagios config in the event log");
        }
    }

    async fn write(&self, lines: Vec<String>) -> anyhow::Result<()> {
        if lines.is_empty() {
            return Ok(());
        }
        let writer = CommandWriter::new(self.writer.path());
        let n = lines.len() as u64;
        tokio::task::spawn_blocking(move || writer.write_lines(&lines)).await.context("writer task")??;
        metrics::counter!("outpost_sink_sent_total", "sink" => "nagios").increment(n);
        Ok(())
    }

    async fn resubmit_if_due(&mut self) -> anyhow::Result<()> {
        let due =
            self.last_resubmit.is_none_or(|t| t.elapsed() >= Duration::from_secs(self.config.resubmit_interval_s));
        if !due {
            return Ok(());
        }
        self.last_resubmit = Some(Instant::now());
        let store = self.store.clone();
        let rows = tokio::task::spawn_blocking(move || store.all_objects()).await.context("store task")??;
        let lines = rows
            .iter()
            .filter(|r| !r.stale && r.last_check > 0 && self.known.contains(&(r.host.clone(), r.service.clone())))
            .map(current_result)
            .collect();
        self.write(lines).await
    }

    /// The commands for one event; `None` entries were dropped (logged).
    fn commands(
        &self,
        ev: &StoredEvent,
        status: &mut Option<Vec<super::nagios_status::Block>>,
    ) -> Vec<(ObjectKey, String)> {
        let Some(key) = ev.event.kind.key() else { return Vec::new() };
        let object = ev.object.clone().unwrap_or_default();
        let host = match &key.service {
            Some(s) => object.strip_suffix(&format!("/{s}")).unwrap_or(&object).to_string(),
            None => object.clone(),
        };
        let service = key.service.as_ref().map(|s| s.to_string());
        let nkey = ObjectKey { host: host.clone().into(), service: key.service.clone() };
        let time_s = ev.time.div_euclid(1000);
        let loc = &ev.location;
        let cmd = match &ev.event.kind {
            EventKind::StateChange(s) | EventKind::CheckResult(s) => {
                let output = plugin_output(&s.output, &s.perfdata, &s.long_output);
                match service {
                    None => NagiosCommand::HostCheckResult { host, state: s.state, output },
                    Some(service) => NagiosCommand::ServiceCheckResult { host, service, state: s.state, output },
                }
            }
            EventKind::AcknowledgementSet { ack, .. } => NagiosCommand::AcknowledgeProblem {
                host,
                service,
                sticky: ack.sticky,
                notify: false,
                persistent: false,
                author: ack.author.clone(),
                comment: ack.comment.clone(),
            },
            EventKind::AcknowledgementRemoved { .. } => NagiosCommand::RemoveAcknowledgement { host, service },
            EventKind::CommentAdded { comment, .. } => NagiosCommand::AddComment {
                host,
                service,
                persistent: true,
                author: comment.author.clone(),
                comment: format!("{} [outpost:{loc}:c{}]", comment.text, comment.id),
            },
            EventKind::DowntimeScheduled { downtime, .. } => NagiosCommand::ScheduleDowntime {
                host,
                service,
                start: downtime.start.div_euclid(1000),
                end: downtime.end.div_euclid(1000),
                fixed: downtime.fixed,
                trigger_id: 0,
                duration_s: downtime.duration_s,
                author: downtime.author.clone(),
                comment: format!("{} [outpost:{loc}:d{}]", downtime.comment, downtime.id),
            },
            EventKind::CommentRemoved { comment_id, .. } => {
                let marker = format!("[outpost:{loc}:c{comment_id}]");
                match self.lookup(status, &["hostcomment", "servicecomment"], "comment_data", "comment_id", &marker) {
                    Some(id) => NagiosCommand::DeleteComment { service: service.is_some(), nagios_id: id },
                    None => {
                        tracing::warn!(object = %object, marker, "comment to delete not found in Nagios' status file");
                        return Vec::new();
                    }
                }
            }
            EventKind::DowntimeCancelled { downtime_id, .. } => {
                let marker = format!("[outpost:{loc}:d{downtime_id}]");
                match self.lookup(status, &["hostdowntime", "servicedowntime"], "comment", "downtime_id", &marker) {
                    Some(id) => NagiosCommand::DeleteDowntime { service: service.is_some(), nagios_id: id },
                    None => {
                        tracing::warn!(object = %object, marker, "downtime to delete not found in Nagios' status file");
                        return Vec::new();
                    }
                }
            }
            _ => return Vec::new(),
        };
        vec![(nkey, cmd.format(time_s))]
    }

    fn lookup(
        &self,
        status: &mut Option<Vec<super::nagios_status::Block>>,
        kinds: &[&str],
        text_field: &str,
        id_field: &str,
        marker: &str,
    ) -> Option<u64> {
        let path = self.config.status_file.as_ref()?;
        if status.is_none() {
            match read_status(path) {
                Ok(b) => *status = Some(b),
                Err(e) => {
                    tracing::warn!(error = format!("{e:#}"), "cannot read Nagios' status file");
                    return None;
                }
            }
        }
        find_id(status.as_deref()?, kinds, text_field, id_field, marker)
    }
}

/// `text` cut to about [`MAX_REJECT_ERROR`] bytes at character boundaries: the head says what failed, the tail
/// holds the validator's verdict (Nagios prints it last).
fn clip_middle(text: &str) -> String {
    if text.len() <= MAX_REJECT_ERROR {
        return text.to_string();
    }
    let mut head = MAX_REJECT_ERROR / 4;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - (MAX_REJECT_ERROR - head);
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{} … {}", &text[..head], &text[tail..])
}

/// A passive result with the object's current state, stamped with its last check time.
fn current_result(r: &ObjectRow) -> String {
    let output = plugin_output(&r.output, &r.perfdata, &r.long_output);
    let cmd = match &r.service {
        None => NagiosCommand::HostCheckResult { host: r.host.clone(), state: r.state, output },
        Some(s) => {
            NagiosCommand::ServiceCheckResult { host: r.host.clone(), service: s.clone(), state: r.state, output }
        }
    };
    cmd.format(r.last_check.div_euclid(1000))
}

impl Sink for NagiosSink {
    fn name(&self) -> &str {
        "nagios"
    }

    fn filter(&self) -> &Filter {
        &self.filter
    }

    async fn deliver(&mut self, events: &[StoredEvent]) -> Result<(), DeliveryError> {
        let fail = |error| DeliveryError { delivered: 0, error };
        let mut status = None;
        let mut commands: Vec<(ObjectKey, String)> =
            events.iter().flat_map(|e| self.commands(e, &mut status)).collect();
        let unknown = |known: &Known, k: &ObjectKey| {
            !known.contains(&(k.host.to_string(), k.service.as_ref().map(|s| s.to_string())))
        };
        let recently_failed = self.last_failed_sync.is_some_and(|t| t.elapsed() < FAILED_SYNC_RETRY);
        if commands.iter().any(|(k, _)| unknown(&self.known, k)) && !recently_failed {
            // New objects: their config must be live before their first results are written.
            // A config that fails validation must not hold up results for the objects Nagios has.
            if self.sync_config().await.is_err() {
                self.last_failed_sync = Some(Instant::now());
            } else {
                self.last_failed_sync = None;
            }
        }
        let before = commands.len();
        commands.retain(|(k, _)| !unknown(&self.known, k));
        if commands.len() < before {
            tracing::debug!(
                dropped = before - commands.len(),
                "commands for objects Nagios does not have were dropped"
            );
        }
        self.write(commands.into_iter().map(|(_, line)| line).collect()).await.map_err(fail)?;
        // A NOC that is never idle must still refresh quiet objects before Nagios' freshness check fires.
        if let Err(e) = self.resubmit_if_due().await {
            tracing::warn!(error = format!("{e:#}"), "could not resubmit current states to Nagios");
        }
        Ok(())
    }

    async fn objects_changed(&mut self) -> anyhow::Result<()> {
        self.sync_config().await?;
        self.resubmit_if_due().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_errors_are_clipped_to_head_and_tail_at_char_boundaries() {
        assert_eq!(clip_middle("short"), "short");
        let long = format!("HEAD{}é{}VERDICT", "x".repeat(3000), "ü".repeat(1000));
        let clipped = clip_middle(&long);
        assert!(clipped.len() <= MAX_REJECT_ERROR + " … ".len(), "{} bytes", clipped.len());
        assert!(clipped.starts_with("HEAD") && clipped.ends_with("VERDICT"), "{clipped}");
        assert!(clipped.contains(" … "));
    }
}
