//! The object model shared by satellite and NOC: hosts and services with their configuration and status,
//! acknowledgements, scheduled downtimes and comments, as Nagios-family users know them.
//!
//! A site's whole state is a [`Snapshot`]: an ordered map ([`ObjectMap`]) from [`ObjectKey`] to [`Object`].
//! A key with no service names a host; a key with a service names that service on that host.
//! Names inside a snapshot are the satellite's local names; the NOC adds the location prefix (see [`crate::naming`]).

use std::collections::BTreeMap;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::compat::forward_compatible;
use crate::object_map::ObjectMap;
use crate::perfdata::PerfData;

/// Milliseconds since the Unix epoch, UTC. Every time on the wire uses this unit.
pub type UnixMillis = i64;

/// A satellite's per-location delivery stream. Each stream has its own sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "u8", try_from = "u8")]
pub enum Stream {
    /// Events: alerts, notifications, acknowledgements, downtimes, comments, traps, lifecycle.
    Events = 1,
    /// Status snapshots: full snapshots and deltas.
    Snapshots = 2,
}

impl From<Stream> for u8 {
    fn from(s: Stream) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for Stream {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            1 => Ok(Stream::Events),
            2 => Ok(Stream::Snapshots),
            other => Err(format!("unknown stream {other}")),
        }
    }
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Events => "events",
            Stream::Snapshots => "snapshots",
        }
    }
}

/// Names one host (`service == None`) or one service on a host.
/// Ordering puts a host before its services, so a snapshot lists each host followed by its services.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ObjectKey {
    pub host: CompactString,
    pub service: Option<CompactString>,
}

impl ObjectKey {
    pub fn host(host: impl Into<CompactString>) -> Self {
        ObjectKey { host: host.into(), service: None }
    }
    pub fn service(host: impl Into<CompactString>, service: impl Into<CompactString>) -> Self {
        ObjectKey { host: host.into(), service: Some(service.into()) }
    }
    pub fn is_host(&self) -> bool {
        self.service.is_none()
    }
}

impl std::fmt::Display for ObjectKey {
    /// `host` or `host/service`, as operators write it in logs and CLIs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.service {
            None => write!(f, "{}", self.host),
            Some(s) => write!(f, "{}/{}", self.host, s),
        }
    }
}

/// Host states, numbered as Nagios numbers them (and as host check plugins exit, with 1..=3 meaning DOWN).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostState {
    Up = 0,
    Down = 1,
    Unreachable = 2,
}

/// Service states, numbered as the Nagios plugin API's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServiceState {
    Ok = 0,
    Warning = 1,
    Critical = 2,
    Unknown = 3,
}

impl HostState {
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(HostState::Up),
            1 => Some(HostState::Down),
            2 => Some(HostState::Unreachable),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            HostState::Up => "UP",
            HostState::Down => "DOWN",
            HostState::Unreachable => "UNREACHABLE",
        }
    }
}

impl ServiceState {
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(ServiceState::Ok),
            1 => Some(ServiceState::Warning),
            2 => Some(ServiceState::Critical),
            3 => Some(ServiceState::Unknown),
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warning => "WARNING",
            ServiceState::Critical => "CRITICAL",
            ServiceState::Unknown => "UNKNOWN",
        }
    }
}

/// The name of a numeric state code for a host (`is_host`) or a service, e.g. `"DOWN"` or `"CRITICAL"`.
pub fn state_name(is_host: bool, code: u8) -> &'static str {
    if is_host {
        HostState::from_code(code).map_or("UNKNOWN", HostState::name)
    } else {
        ServiceState::from_code(code).map_or("UNKNOWN", ServiceState::name)
    }
}

/// How bad a state is, for sorting problem lists worst first: CRITICAL/DOWN > UNKNOWN/UNREACHABLE > WARNING > OK/UP.
pub fn severity(is_host: bool, code: u8) -> u8 {
    match (is_host, code) {
        (_, 0) => 0,
        (true, 1) => 4,
        (true, _) => 3,
        (false, 1) => 1,
        (false, 2) => 4,
        (false, _) => 2,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(into = "u8", try_from = "u8")]
pub enum StateType {
    Soft = 0,
    #[default]
    Hard = 1,
}

impl From<StateType> for u8 {
    fn from(s: StateType) -> u8 {
        s as u8
    }
}

impl TryFrom<u8> for StateType {
    type Error = String;
    fn try_from(v: u8) -> Result<Self, String> {
        match v {
            0 => Ok(StateType::Soft),
            1 => Ok(StateType::Hard),
            other => Err(format!("unknown state type {other}")),
        }
    }
}

impl StateType {
    pub fn name(self) -> &'static str {
        match self {
            StateType::Soft => "SOFT",
            StateType::Hard => "HARD",
        }
    }
}

/// A whole site at one instant: what a full snapshot carries and what a delta reconstructs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Snapshot {
    /// The satellite's location ID, e.g. `FRA1`.
    pub location: String,
    /// When the satellite took the snapshot (satellite clock).
    pub taken_at: UnixMillis,
    pub objects: ObjectMap,
}

forward_compatible!(Snapshot { location, taken_at, objects } required 3);

/// One host or service: configuration, status and operator annotations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Object {
    pub config: ObjectConfig,
    pub status: Status,
    pub acknowledgement: Option<Acknowledgement>,
    pub downtimes: Vec<Downtime>,
    pub comments: Vec<Comment>,
}

forward_compatible!(Object { config, status, acknowledgement, downtimes, comments });

impl Object {
    /// True while a scheduled downtime is in effect at `now`.
    pub fn in_downtime(&self, now: UnixMillis) -> bool {
        self.downtimes.iter().any(|d| d.is_active(now))
    }
}

/// Configuration as the satellite resolved it (templates applied, macros not yet expanded).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct ObjectConfig {
    /// Host alias or service display name.
    pub display_name: CompactString,
    /// Host address; empty for services.
    pub address: CompactString,
    /// The check command line as configured, before macro expansion.
    pub check_command: CompactString,
    /// Seconds between checks in an OK/UP or HARD state.
    pub check_interval: u32,
    /// Seconds between checks while a problem is SOFT.
    pub retry_interval: u32,
    pub max_attempts: u32,
    pub notifications: NotificationConfig,
    /// Host groups or service groups.
    pub groups: Vec<CompactString>,
    /// Custom variables (`_VAR` in Nagios), without the leading underscore.
    pub custom_vars: BTreeMap<CompactString, CompactString>,
}

forward_compatible!(ObjectConfig {
    display_name,
    address,
    check_command,
    check_interval,
    retry_interval,
    max_attempts,
    notifications,
    groups,
    custom_vars
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct NotificationConfig {
    pub enabled: bool,
    /// Seconds between repeated problem notifications; 0 notifies once.
    pub interval: u32,
    /// Nagios notification options: letters from `w,u,c,r,f,s` (services) or `d,u,r,f,s` (hosts).
    pub options: CompactString,
}

forward_compatible!(NotificationConfig { enabled, interval, options });

/// Check status, as Nagios keeps it in `status.dat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct Status {
    /// Numeric state: a [`HostState`] for hosts, a [`ServiceState`] for services.
    pub state: u8,
    pub state_type: StateType,
    pub current_attempt: u32,
    /// First line of plugin output, before `|`.
    pub output: CompactString,
    /// Further lines of plugin output.
    pub long_output: CompactString,
    pub perfdata: PerfData,
    /// When the last check finished; 0 when never checked.
    /// Volatile: it moves on every check, so deltas encode it apart from the other fields.
    pub last_check: UnixMillis,
    pub last_state_change: UnixMillis,
    pub last_hard_state_change: UnixMillis,
    pub is_flapping: bool,
    /// False while an operator has paused active checks.
    pub checks_enabled: bool,
    /// The object's HARD problem has been notified (a recovery notification follows only then).
    pub problem_notified: bool,
    /// Number of the current problem notification (0 when none sent).
    pub notification_number: u32,
}

forward_compatible!(Status {
    state,
    state_type,
    current_attempt,
    output,
    long_output,
    perfdata,
    last_check,
    last_state_change,
    last_hard_state_change,
    is_flapping,
    checks_enabled,
    problem_notified,
    notification_number
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Acknowledgement {
    pub author: String,
    pub comment: String,
    /// Sticky: stays until the object recovers, not just until the next state change.
    pub sticky: bool,
    pub time: UnixMillis,
}

forward_compatible!(Acknowledgement { author, comment, sticky, time });

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Downtime {
    /// Satellite-assigned, unique per satellite.
    pub id: u64,
    pub author: String,
    pub comment: String,
    pub start: UnixMillis,
    pub end: UnixMillis,
    /// Fixed downtimes run from start to end; flexible ones start at the first problem inside the window and last `duration_s`.
    pub fixed: bool,
    pub duration_s: u32,
    /// When a flexible downtime was triggered (or when a fixed one started); `None` until then.
    pub started_at: Option<UnixMillis>,
}

forward_compatible!(Downtime { id, author, comment, start, end, fixed, duration_s, started_at });

impl Downtime {
    pub fn is_active(&self, now: UnixMillis) -> bool {
        match self.started_at {
            Some(started) if self.fixed => started <= now && now < self.end,
            Some(started) => now < started + i64::from(self.duration_s) * 1000,
            None => self.fixed && self.start <= now && now < self.end,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Comment {
    /// Satellite-assigned, unique per satellite.
    pub id: u64,
    pub author: String,
    pub text: String,
    pub time: UnixMillis,
}

forward_compatible!(Comment { id, author, text, time });
