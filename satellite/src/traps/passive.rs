//! Where a rule's passive result goes: into the satellite's own check engine, so that the service's state
//! (`satellite status`, the next snapshot, alerts and notifications) follows the trap, as a Nagios passive check
//! result would.
//!
//! Without an engine (tests, benches) or for a service the satellite does not have, the result is recorded as it
//! was built by the rule: one `CheckResult` event, which the NOC applies.

use std::sync::Arc;

use outpost_format::event::StateChange;
use outpost_format::{EventKind, ObjectKey, UnixMillis};

use crate::engine::EngineHandle;
use crate::state::table::OpError;

/// Something that applies a passive result and returns the events it raised, for the receiver to record.
pub trait PassiveResults: Send + Sync + 'static {
    fn submit(&self, key: &ObjectKey, code: u8, output: &str, received: UnixMillis) -> Result<Vec<EventKind>, OpError>;
}

impl PassiveResults for EngineHandle {
    fn submit(&self, key: &ObjectKey, code: u8, output: &str, received: UnixMillis) -> Result<Vec<EventKind>, OpError> {
        self.process_passive_result(key, code, output, received)
    }
}

/// The events to record for a rule's result.
pub fn events_for(
    engine: Option<&Arc<dyn PassiveResults>>,
    result: StateChange,
    received: UnixMillis,
) -> Vec<EventKind> {
    let Some(engine) = engine else {
        return vec![EventKind::CheckResult(result)];
    };
    match engine.submit(&result.key, result.state, &result.output, received) {
        Ok(events) => events,
        Err(e) => {
            tracing::warn!(error = %e, "trap rule result not applied to the satellite's state; sent to the NOC as is \
                (configure the service on this satellite to have its state follow the trap)");
            vec![EventKind::CheckResult(result)]
        }
    }
}
