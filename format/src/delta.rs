//! Incremental snapshots: a delta against a named base snapshot.
//! (Stub: being implemented under issue #2.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Delta {
    pub base_seq: u64,
}
