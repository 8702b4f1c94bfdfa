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
use outpost_format::model::{Acknowledgement, Comment, Downtime, Status};
use serde::{Deserialize, Serialize};

/// One object's state as the engine keeps it: an `outpost_format::Object` without its configuration, which
/// lives once in the shared definition. An empty `ObjectConfig` in every object would cost about 170 B each
/// (18 MiB at 100,000 services); snapshots put the configuration back from the definition.
/// It serialises as the matching fields of an `Object` (see `snapshot_blob::ObjectRef`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectState {
    pub status: Status,
    /// Boxed: rare, and 64 B inline in every object.
    pub acknowledgement: Option<Box<Acknowledgement>>,
    pub downtimes: Vec<Downtime>,
    pub comments: Vec<Comment>,
}

impl ObjectState {
    /// True while a scheduled downtime is in effect at `now` (as `Object::in_downtime`).
    pub fn in_downtime(&self, now: UnixMillis) -> bool {
        self.downtimes.iter().any(|d| d.is_active(now))
    }
}

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

/// An object's configuration and state side by side, as the state machine's tests keep them.
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct TestObject {
    pub config: outpost_format::model::ObjectConfig,
    pub state: ObjectState,
}

#[cfg(test)]
impl std::ops::Deref for TestObject {
    type Target = ObjectState;
    fn deref(&self) -> &ObjectState {
        &self.state
    }
}

#[cfg(test)]
impl std::ops::DerefMut for TestObject {
    fn deref_mut(&mut self) -> &mut ObjectState {
        &mut self.state
    }
}
