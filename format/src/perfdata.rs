//! Performance data per the Nagios plugin guidelines.
//! (Stub with the agreed API; the parser is being implemented under issue #2.)

use serde::{Deserialize, Serialize};

/// Parsed performance data. `Display` renders it back (byte for byte for well-formed input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PerfData {
    pub metrics: Vec<Metric>,
    /// Text that did not parse, kept verbatim (malformed perfdata never fails a check result).
    pub unparsed: String,
}

/// One `'label'=value[UOM];[warn];[crit];[min];[max]` item. Numbers are kept as written, so they render back exactly.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Metric {
    pub label: String,
    pub value: String,
    pub uom: String,
    pub warn: String,
    pub crit: String,
    pub min: String,
    pub max: String,
}

impl Metric {
    pub fn value_f64(&self) -> Option<f64> {
        self.value.parse().ok()
    }
}

/// A problem found while parsing; the text it concerns is kept in `PerfData::unparsed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerfWarning(pub String);

/// Parses perfdata text. Never fails: what does not parse lands in `unparsed` with a warning.
pub fn parse(text: &str) -> (PerfData, Vec<PerfWarning>) {
    let text = text.trim();
    if text.is_empty() {
        return (PerfData::default(), Vec::new());
    }
    (PerfData { metrics: Vec::new(), unparsed: text.to_string() }, Vec::new())
}

impl std::fmt::Display for PerfData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.unparsed)
    }
}
