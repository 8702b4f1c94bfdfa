//! The typed event model: everything a satellite reports the moment it happens.
//!
//! An event's identity is (location, epoch, stream, seq): the frame carries location and epoch,
//! the event carries its own `seq` in the events stream, so the NOC can drop replays and report gaps.
//! `time` is when it happened at the satellite, by the satellite's clock; it is never rewritten in transit.

use serde::{Deserialize, Serialize};

use crate::model::{Acknowledgement, Comment, Downtime, ObjectKey, StateType, UnixMillis};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Sequence number in the satellite's events stream (epoch-scoped, starts at 1, no gaps).
    pub seq: u64,
    /// When it happened at the satellite.
    pub time: UnixMillis,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum EventKind {
    /// An alert: every SOFT and every HARD state change (unaffected by acknowledgements and downtimes).
    StateChange(StateChange),
    /// A notification: HARD problems and recoveries, suppressed by acknowledgement, downtime and flapping.
    Notification(Notification),
    AcknowledgementSet {
        key: ObjectKey,
        ack: Acknowledgement,
    },
    AcknowledgementRemoved {
        key: ObjectKey,
    },
    DowntimeScheduled {
        key: ObjectKey,
        downtime: Downtime,
    },
    DowntimeStarted {
        key: ObjectKey,
        downtime_id: u64,
    },
    DowntimeEnded {
        key: ObjectKey,
        downtime_id: u64,
    },
    DowntimeCancelled {
        key: ObjectKey,
        downtime_id: u64,
    },
    CommentAdded {
        key: ObjectKey,
        comment: Comment,
    },
    CommentRemoved {
        key: ObjectKey,
        comment_id: u64,
    },
    /// A passive check result, e.g. from a trap mapped to a service by an OID rule.
    CheckResult(StateChange),
    Trap(Trap),
    Lifecycle(Lifecycle),
}

impl EventKind {
    /// Short stable name, used in APIs, filters and logs.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::StateChange(_) => "state_change",
            EventKind::Notification(_) => "notification",
            EventKind::AcknowledgementSet { .. } => "acknowledgement_set",
            EventKind::AcknowledgementRemoved { .. } => "acknowledgement_removed",
            EventKind::DowntimeScheduled { .. } => "downtime_scheduled",
            EventKind::DowntimeStarted { .. } => "downtime_started",
            EventKind::DowntimeEnded { .. } => "downtime_ended",
            EventKind::DowntimeCancelled { .. } => "downtime_cancelled",
            EventKind::CommentAdded { .. } => "comment_added",
            EventKind::CommentRemoved { .. } => "comment_removed",
            EventKind::CheckResult(_) => "check_result",
            EventKind::Trap(_) => "trap",
            EventKind::Lifecycle(_) => "lifecycle",
        }
    }

    /// The object the event is about, if any.
    pub fn key(&self) -> Option<&ObjectKey> {
        match self {
            EventKind::StateChange(s) | EventKind::CheckResult(s) => Some(&s.key),
            EventKind::Notification(n) => Some(&n.key),
            EventKind::AcknowledgementSet { key, .. }
            | EventKind::AcknowledgementRemoved { key }
            | EventKind::DowntimeScheduled { key, .. }
            | EventKind::DowntimeStarted { key, .. }
            | EventKind::DowntimeEnded { key, .. }
            | EventKind::DowntimeCancelled { key, .. }
            | EventKind::CommentAdded { key, .. }
            | EventKind::CommentRemoved { key, .. } => Some(key),
            EventKind::Trap(_) | EventKind::Lifecycle(_) => None,
        }
    }
}

/// A state change (alert) or a passive result for one host or service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange {
    pub key: ObjectKey,
    /// New state code (see [`crate::model::HostState`] / [`crate::model::ServiceState`]).
    pub state: u8,
    pub previous_state: u8,
    pub state_type: StateType,
    pub attempt: u32,
    pub max_attempts: u32,
    pub output: String,
    pub long_output: String,
    /// Performance data as the plugin printed it.
    pub perfdata: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NotificationType {
    Problem,
    Recovery,
    Acknowledgement,
    FlappingStart,
    FlappingStop,
    DowntimeStart,
    DowntimeEnd,
    DowntimeCancelled,
}

impl NotificationType {
    /// The `$NOTIFICATIONTYPE$` macro value Nagios uses.
    pub fn nagios_name(self) -> &'static str {
        match self {
            NotificationType::Problem => "PROBLEM",
            NotificationType::Recovery => "RECOVERY",
            NotificationType::Acknowledgement => "ACKNOWLEDGEMENT",
            NotificationType::FlappingStart => "FLAPPINGSTART",
            NotificationType::FlappingStop => "FLAPPINGSTOP",
            NotificationType::DowntimeStart => "DOWNTIMESTART",
            NotificationType::DowntimeEnd => "DOWNTIMEEND",
            NotificationType::DowntimeCancelled => "DOWNTIMECANCELLED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    pub key: ObjectKey,
    pub notification_type: NotificationType,
    pub state: u8,
    pub output: String,
    /// 1 for the first problem notification, counting up on re-notification.
    pub number: u32,
    pub author: String,
    pub comment: String,
}

/// An SNMP trap or inform received from a local device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trap {
    /// Source address and port, e.g. `192.0.2.7:49152`.
    pub source: String,
    pub version: SnmpVersion,
    /// Community (v1/v2c) or USM user name (v3).
    pub community_or_user: String,
    /// snmpTrapOID.0; for v1 traps, mapped per RFC 3584 section 3.1.
    pub trap_oid: String,
    /// v1 only: enterprise OID, agent address, generic and specific trap numbers, as received.
    pub v1: Option<TrapV1Fields>,
    /// sysUpTime.0 in hundredths of a second.
    pub uptime: u32,
    pub is_inform: bool,
    pub varbinds: Vec<VarBind>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnmpVersion {
    V1,
    V2c,
    V3,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrapV1Fields {
    pub enterprise: String,
    pub agent_addr: String,
    pub generic_trap: i32,
    pub specific_trap: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VarBind {
    pub oid: String,
    pub value: SnmpValue,
}

/// SNMP values, typed as SMIv2 types them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SnmpValue {
    Integer(i64),
    OctetString(Vec<u8>),
    Null,
    ObjectId(String),
    IpAddress(String),
    Counter32(u32),
    Gauge32(u32),
    TimeTicks(u32),
    Opaque(Vec<u8>),
    Counter64(u64),
    NoSuchObject,
    NoSuchInstance,
    EndOfMibView,
}

/// Satellite lifecycle and delivery events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Lifecycle {
    Started {
        version: String,
    },
    Stopping,
    /// A reload applied a new configuration.
    ConfigChanged {
        added: u32,
        changed: u32,
        removed: u32,
    },
    /// The spool ran out of budget and gave way, in this order: pending snapshots, then perfdata of queued events
    /// (oldest first; the events stay), then whole events (oldest first). Counts since the last such report.
    SpoolOverflow {
        dropped_events: u64,
        dropped_snapshots: u64,
        /// Bytes freed by all of the above.
        dropped_bytes: u64,
        first_dropped_seq: u64,
        last_dropped_seq: u64,
        /// Queued events whose perfdata was removed (the events themselves were kept).
        /// Added after the first release: absent (0) from older satellites.
        #[serde(default)]
        perfdata_stripped: u64,
    },
    /// A corrupt spool segment was quarantined; the records it held could not be read.
    SpoolCorruption {
        segment: String,
        lost_bytes: u64,
    },
    /// Active checking was paused or resumed by an operator.
    Paused,
    Resumed,
    /// The satellite lost, and later regained, its connection to the NOC.
    NocDisconnected,
    NocReconnected {
        outage_ms: u64,
    },
    /// Raised by the NOC itself when a satellite falls silent, and when it returns.
    SatelliteSilent {
        last_seen: UnixMillis,
    },
    SatelliteReturned {
        silent_ms: u64,
    },
    /// Raised by the NOC itself when a northbound sink's generated configuration was refused (for example
    /// Nagios object config that failed the validate command); the peer keeps running its previous config.
    /// `sink` is the sink's cursor name (e.g. `nagios`); `error` is the validator's verdict, clipped.
    NorthboundConfigRejected {
        sink: String,
        error: String,
    },
}
