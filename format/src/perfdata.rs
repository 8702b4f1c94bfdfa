//! Performance data per the Nagios plugin guidelines.
//! (Stub: being implemented under issue #2.)

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PerfData {
    /// Malformed perfdata, kept verbatim.
    pub raw: String,
}
