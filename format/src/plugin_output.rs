//! Parsing plugin output per the Nagios plugin API: `output|perfdata` on the first line, long output
//! on the following lines, and more perfdata after a second `|`.
//! (Stub with the agreed API; being implemented under issue #2.)

use crate::perfdata::{self, PerfData, PerfWarning};

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PluginOutput {
    /// First line before `|`.
    pub output: String,
    /// Further lines before any second `|`.
    pub long_output: String,
    /// All perfdata: the first line's and the long output's.
    pub perfdata: PerfData,
    /// The perfdata text as the plugin printed it (both parts joined by a space).
    pub perfdata_text: String,
    pub warnings: Vec<PerfWarning>,
}

/// Never fails: invalid UTF-8 is replaced, malformed perfdata is kept raw with a warning.
pub fn parse(stdout: &[u8]) -> PluginOutput {
    let text = String::from_utf8_lossy(stdout);
    let mut lines = text.splitn(2, '\n');
    let first = lines.next().unwrap_or("");
    let (output, perf) = first.split_once('|').unwrap_or((first, ""));
    let (perfdata, warnings) = perfdata::parse(perf);
    PluginOutput {
        output: output.trim().to_string(),
        long_output: lines.next().unwrap_or("").trim_end().to_string(),
        perfdata,
        perfdata_text: perf.trim().to_string(),
        warnings,
    }
}
