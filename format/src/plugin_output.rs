//! Parsing plugin output per the Nagios plugin API: `output|perfdata`, long output lines, more perfdata after a second `|`.
//! (Stub: being implemented under issue #2.)
