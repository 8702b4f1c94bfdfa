//! Object state: the Nagios state machine (SOFT/HARD, alerts, notifications), flap detection, downtime
//! transitions, and retention of all of it across restarts.
//!
//! Everything here is pure and synchronous except `retention`'s file I/O: the engine calls these
//! functions under its lock and emits the returned events afterwards.

pub mod downtime;
pub mod flap;
pub mod machine;
pub mod retention;
pub mod table;

use outpost_format::UnixMillis;
use serde::{Deserialize, Serialize};

/// Per-object state that the snapshot does not carry but a restart must keep.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    /// When the next active check is due (wall clock), 0 when not scheduled yet.
    pub next_check: UnixMillis,
    /// When the last problem notification went out.
    pub last_notification: UnixMillis,
    /// The state code the last problem notification was about, if one was sent for the current problem.
    pub notified_state: Option<u8>,
    pub flap: flap::FlapHistory,
}
