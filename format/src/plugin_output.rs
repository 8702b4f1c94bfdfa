//! Parsing plugin output per the Nagios plugin API: `output|perfdata` on the first line, long output
//! on the following lines, and more perfdata after a second `|` that spans the rest of the output.
//!
//! ```text
//! DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968
//! / 15272 MB (77%);
//! /boot 68 MB (69%);
//! /home 69357 MB (27%); | /boot=68MB;88;93;0;98
//! /home=69357MB;253404;253409;0;253414
//! ```
//!
//! This module does not cap the output's size: the caller (the check runner) truncates stdout before parsing.

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
    let (first, rest) = match text.split_once('\n') {
        Some((first, rest)) => (first, rest),
        None => (&*text, ""),
    };
    let (output, perf_first) = first.split_once('|').unwrap_or((first, ""));
    // In the long output, the first `|` ends the text; everything after it, across lines, is perfdata.
    let (long, perf_rest) = rest.split_once('|').unwrap_or((rest, ""));

    let long_output = long.lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n");
    let perf_rest = perf_rest.split_whitespace().collect::<Vec<_>>().join(" ");
    let perfdata_text = match (perf_first.trim(), perf_rest.as_str()) {
        (a, "") => a.to_string(),
        ("", b) => b.to_string(),
        (a, b) => format!("{a} {b}"),
    };
    let (perfdata, warnings) = perfdata::parse(&perfdata_text);
    PluginOutput {
        output: output.trim().to_string(),
        long_output: long_output.trim_end().to_string(),
        perfdata,
        perfdata_text,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (stdout, output, long_output, perfdata as rendered, number of warnings)
    const CASES: &[(&str, &str, &str, &str, usize)] = &[
        ("", "", "", "", 0),
        ("OK", "OK", "", "", 0),
        ("OK\n", "OK", "", "", 0),
        ("PING OK - rta 0.1ms", "PING OK - rta 0.1ms", "", "", 0),
        ("OK | time=1s", "OK", "", "time=1s", 0),
        ("OK|time=1s;;;0", "OK", "", "time=1s;;;0", 0),
        ("OK | a=1 b=2\n", "OK", "", "a=1 b=2", 0),
        ("OK\nline 2\nline 3", "OK", "line 2\nline 3", "", 0),
        ("OK\nline 2\nline 3\n", "OK", "line 2\nline 3", "", 0),
        ("OK\r\nline 2\r\n", "OK", "line 2", "", 0),
        ("OK | a=1\nline 2 | b=2\nc=3\n", "OK", "line 2", "a=1 b=2 c=3", 0),
        ("OK\nline 2 | b=2\nc=3", "OK", "line 2", "b=2 c=3", 0),
        (
            "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n/ 15272 MB (77%);\n\
             /boot 68 MB (69%);\n/home 69357 MB (27%); | /boot=68MB;88;93;0;98\n/home=69357MB;253404;253409;0;253414\n",
            "DISK OK - free space: / 3326 MB (56%);",
            "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);",
            "/=2643MB;5948;5958;0;5968 /boot=68MB;88;93;0;98 /home=69357MB;253404;253409;0;253414",
            0,
        ),
        ("OK | junk", "OK", "", "junk", 1),
        ("OK | a=1 | b=2", "OK", "", "a=1 b=2 |", 1),
        ("|a=1", "", "", "a=1", 0),
        ("CRITICAL - x\n\nafter blank", "CRITICAL - x", "\nafter blank", "", 0),
    ];

    #[test]
    fn plugin_api_cases() {
        for &(stdout, output, long, perf, n_warnings) in CASES {
            let got = parse(stdout.as_bytes());
            assert_eq!(got.output, output, "output of {stdout:?}");
            assert_eq!(got.long_output, long, "long output of {stdout:?}");
            assert_eq!(got.perfdata.to_string(), perf, "perfdata of {stdout:?}");
            assert_eq!(got.warnings.len(), n_warnings, "warnings of {stdout:?}: {:?}", got.warnings);
        }
    }

    #[test]
    fn perfdata_text_keeps_what_the_plugin_printed() {
        let got = parse(b"OK | a=1;;  b=2\nmore | c=3");
        assert_eq!(got.perfdata_text, "a=1;;  b=2 c=3");
        assert_eq!(got.perfdata.to_string(), "a=1;; b=2 c=3");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let got = parse(b"OK \xff\xfe done | a=1");
        assert_eq!(got.output, "OK \u{fffd}\u{fffd} done");
        assert_eq!(got.perfdata.metrics.len(), 1);
    }
}
