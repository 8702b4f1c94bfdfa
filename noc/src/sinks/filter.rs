//! Which events a sink forwards: by kind, by state, by location, and "notifications only" versus all alerts.
//!
//! Alerts and notifications follow the seeds' distinction (see `outpost_format::event`): an alert is every
//! SOFT and HARD state change (`state_change`); a notification is a HARD problem or recovery that survived
//! acknowledgement, downtime and flapping suppression (`notification`).

use std::collections::BTreeSet;

use anyhow::bail;
use serde::Deserialize;

use crate::store::StoredEvent;

/// `[sinks.<kind>.filter]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct FilterConfig {
    /// `notifications` (only `notification` events), `alerts` (every state change and every notification)
    /// or `all` (every kind). Each sink has its own default. Ignored when `kinds` is set.
    #[serde(default)]
    pub events: Option<String>,
    /// Exact event kinds, e.g. `["notification", "acknowledgement_set"]`.
    #[serde(default)]
    pub kinds: Vec<String>,
    /// State names, e.g. `["CRITICAL", "DOWN", "OK", "UP"]`. Events without a state are dropped when set.
    #[serde(default)]
    pub states: Vec<String>,
    /// Location IDs; empty means all.
    #[serde(default)]
    pub locations: Vec<String>,
}

/// All kind names, as `EventKind::name` spells them.
pub const ALL_KINDS: &[&str] = &[
    "state_change",
    "notification",
    "acknowledgement_set",
    "acknowledgement_removed",
    "downtime_scheduled",
    "downtime_started",
    "downtime_ended",
    "downtime_cancelled",
    "comment_added",
    "comment_removed",
    "check_result",
    "trap",
    "lifecycle",
];

/// A validated filter.
#[derive(Debug, Clone)]
pub struct Filter {
    kinds: Option<BTreeSet<String>>,
    /// (applies to hosts, state code)
    states: Vec<(bool, u8)>,
    locations: BTreeSet<String>,
}

impl Filter {
    /// Validates `cfg`; `default_events` is the sink's default for `events`.
    pub fn new(cfg: &FilterConfig, default_events: &str) -> anyhow::Result<Filter> {
        let kinds: Option<BTreeSet<String>> = if cfg.kinds.is_empty() {
            match cfg.events.as_deref().unwrap_or(default_events) {
                "notifications" => Some(["notification".to_string()].into()),
                "alerts" => Some(["state_change".to_string(), "notification".to_string()].into()),
                "all" => None,
                other => bail!("filter.events = {other:?}: use \"notifications\", \"alerts\" or \"all\""),
            }
        } else {
            for k in &cfg.kinds {
                if !ALL_KINDS.contains(&k.as_str()) {
                    bail!("filter.kinds: unknown event kind {k:?}; known kinds: {}", ALL_KINDS.join(", "));
                }
            }
            Some(cfg.kinds.iter().cloned().collect())
        };
        let mut states = Vec::new();
        for s in &cfg.states {
            let parsed: &[(bool, u8)] = match s.to_ascii_uppercase().as_str() {
                "OK" => &[(false, 0)],
                "WARNING" => &[(false, 1)],
                "CRITICAL" => &[(false, 2)],
                "UNKNOWN" => &[(false, 3)],
                "UP" => &[(true, 0)],
                "DOWN" => &[(true, 1)],
                "UNREACHABLE" => &[(true, 2)],
                other => bail!(
                    "filter.states: unknown state {other:?} (OK, WARNING, CRITICAL, UNKNOWN, UP, DOWN, UNREACHABLE)"
                ),
            };
            states.extend_from_slice(parsed);
        }
        Ok(Filter { kinds, states, locations: cfg.locations.iter().cloned().collect() })
    }

    /// Everything passes.
    pub fn all() -> Filter {
        Filter { kinds: None, states: Vec::new(), locations: BTreeSet::new() }
    }

    pub fn matches(&self, ev: &StoredEvent) -> bool {
        if !self.locations.is_empty() && !self.locations.contains(&ev.location) {
            return false;
        }
        if let Some(kinds) = &self.kinds
            && !kinds.contains(ev.event.kind.name())
        {
            return false;
        }
        if !self.states.is_empty() {
            let is_host = ev.event.kind.key().is_some_and(|k| k.is_host());
            match ev.state {
                Some(code) => return self.states.contains(&(is_host, code)),
                None => return false,
            }
        }
        true
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use outpost_format::event::{Notification, NotificationType, StateChange};
    use outpost_format::model::StateType;
    use outpost_format::{Event, EventKind, ObjectKey};

    use super::*;

    pub fn stored(id: i64, location: &str, kind: EventKind) -> StoredEvent {
        let state = match &kind {
            EventKind::StateChange(s) | EventKind::CheckResult(s) => Some(s.state),
            EventKind::Notification(n) => Some(n.state),
            _ => None,
        };
        let object = kind.key().map(|k| match &k.service {
            None => format!("{location}_{}", k.host),
            Some(s) => format!("{location}_{}/{s}", k.host),
        });
        StoredEvent {
            id,
            location: location.into(),
            epoch: 1,
            seq: id as u64,
            time: 1_700_000_000_000 + id,
            received_at: 1_700_000_000_500 + id,
            kind: kind.name().into(),
            object,
            state,
            summary: format!("event {id}"),
            time_flag: None,
            event: Event { seq: id as u64, time: 1_700_000_000_000 + id, kind },
        }
    }

    pub fn state_change(key: ObjectKey, state: u8, output: &str) -> EventKind {
        EventKind::StateChange(StateChange {
            key,
            state,
            previous_state: 0,
            state_type: StateType::Hard,
            attempt: 3,
            max_attempts: 3,
            output: output.into(),
            long_output: String::new(),
            perfdata: String::new(),
        })
    }

    pub fn notification(key: ObjectKey, state: u8) -> EventKind {
        EventKind::Notification(Notification {
            key,
            notification_type: NotificationType::Problem,
            state,
            output: "CRITICAL - down".into(),
            number: 1,
            author: String::new(),
            comment: String::new(),
        })
    }

    fn filter(toml_text: &str, default: &str) -> Filter {
        Filter::new(&toml::from_str(toml_text).expect("toml"), default).expect("valid")
    }

    #[test]
    fn notifications_only_versus_alerts() {
        let sc = stored(1, "FRA1", state_change(ObjectKey::service("web", "HTTP"), 2, "x"));
        let n = stored(2, "FRA1", notification(ObjectKey::service("web", "HTTP"), 2));
        let ack = stored(3, "FRA1", EventKind::AcknowledgementRemoved { key: ObjectKey::host("web") });
        let only_n = filter("", "notifications");
        assert!(!only_n.matches(&sc) && only_n.matches(&n) && !only_n.matches(&ack));
        let alerts = filter("events = \"alerts\"", "notifications");
        assert!(alerts.matches(&sc) && alerts.matches(&n) && !alerts.matches(&ack));
        let all = filter("events = \"all\"", "notifications");
        assert!(all.matches(&ack));
        let kinds = filter("kinds = [\"acknowledgement_removed\"]", "notifications");
        assert!(!kinds.matches(&n) && kinds.matches(&ack));
    }

    #[test]
    fn states_and_locations() {
        let f = filter("events = \"all\"\nstates = [\"CRITICAL\", \"DOWN\"]\nlocations = [\"FRA1\"]", "all");
        assert!(f.matches(&stored(1, "FRA1", state_change(ObjectKey::service("h", "s"), 2, ""))));
        assert!(!f.matches(&stored(2, "FRA1", state_change(ObjectKey::service("h", "s"), 1, ""))));
        // DOWN is a host state: a service WARNING (also code 1) does not match it
        assert!(f.matches(&stored(3, "FRA1", state_change(ObjectKey::host("h"), 1, ""))));
        assert!(!f.matches(&stored(4, "LON2", state_change(ObjectKey::service("h", "s"), 2, ""))));
        assert!(!f.matches(&stored(5, "FRA1", EventKind::AcknowledgementRemoved { key: ObjectKey::host("h") })));
    }

    #[test]
    fn bad_filters_are_refused() {
        assert!(Filter::new(&toml::from_str("events = \"some\"").expect("toml"), "all").is_err());
        assert!(Filter::new(&toml::from_str("kinds = [\"nope\"]").expect("toml"), "all").is_err());
        assert!(Filter::new(&toml::from_str("states = [\"RED\"]").expect("toml"), "all").is_err());
    }
}
