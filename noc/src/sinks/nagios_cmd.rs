//! Nagios external commands (as Nagios, Naemon and Icinga 1 read them from their command file or FIFO):
//! formatting with escaping, and a writer.
//!
//! A command is one line: `[<unix seconds>] NAME;arg;arg;...\n`.
//! The timestamp is the event's original time (satellite clock), not the time we write it.
//! Nagios splits arguments on `;`, except the last free-text argument (plugin output, comment text), which
//! runs to the end of the line; so a `;` is harmless there but must not appear in names or authors, and a
//! newline must never appear anywhere. Newlines in output become the two characters `\n`, which Nagios 4
//! turns back into line breaks (long output); a literal backslash is doubled.
//!
//! What the sink does with events (which command for which event) lives in `nagios.rs`, not here.

use std::io::Write;
use std::path::{Path, PathBuf};

use outpost_format::ObjectKey;

/// One external command. Names are the prefixed NOC names (`FRA1_web01`, service `HTTP`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NagiosCommand {
    HostCheckResult {
        host: String,
        state: u8,
        output: String,
    },
    ServiceCheckResult {
        host: String,
        service: String,
        state: u8,
        output: String,
    },
    AcknowledgeProblem {
        host: String,
        service: Option<String>,
        sticky: bool,
        notify: bool,
        persistent: bool,
        author: String,
        comment: String,
    },
    RemoveAcknowledgement {
        host: String,
        service: Option<String>,
    },
    AddComment {
        host: String,
        service: Option<String>,
        persistent: bool,
        author: String,
        comment: String,
    },
    /// `nagios_id` is the comment ID Nagios assigned (see `status.dat`), not Outpost's.
    DeleteComment {
        service: bool,
        nagios_id: u64,
    },
    ScheduleDowntime {
        host: String,
        service: Option<String>,
        /// Unix seconds.
        start: i64,
        end: i64,
        fixed: bool,
        /// Nagios downtime ID that triggers this one; 0 for none.
        trigger_id: u64,
        duration_s: u32,
        author: String,
        comment: String,
    },
    /// `nagios_id` is the downtime ID Nagios assigned.
    DeleteDowntime {
        service: bool,
        nagios_id: u64,
    },
}

impl NagiosCommand {
    /// The command line, newline-terminated, stamped with `time_s` (Unix seconds).
    pub fn format(&self, time_s: i64) -> String {
        let body = match self {
            NagiosCommand::HostCheckResult { host, state, output } => {
                format!("PROCESS_HOST_CHECK_RESULT;{};{state};{}", name(host), text(output))
            }
            NagiosCommand::ServiceCheckResult { host, service, state, output } => {
                format!("PROCESS_SERVICE_CHECK_RESULT;{};{};{state};{}", name(host), name(service), text(output))
            }
            NagiosCommand::AcknowledgeProblem { host, service, sticky, notify, persistent, author, comment } => {
                // sticky is 2 (stays until OK/UP) or 0/1 (cleared at the next state change)
                let sticky = if *sticky { 2 } else { 1 };
                let tail = format!(
                    "{sticky};{};{};{};{}",
                    u8::from(*notify),
                    u8::from(*persistent),
                    name(author),
                    text(comment)
                );
                match service {
                    None => format!("ACKNOWLEDGE_HOST_PROBLEM;{};{tail}", name(host)),
                    Some(s) => format!("ACKNOWLEDGE_SVC_PROBLEM;{};{};{tail}", name(host), name(s)),
                }
            }
            NagiosCommand::RemoveAcknowledgement { host, service } => match service {
                None => format!("REMOVE_HOST_ACKNOWLEDGEMENT;{}", name(host)),
                Some(s) => format!("REMOVE_SVC_ACKNOWLEDGEMENT;{};{}", name(host), name(s)),
            },
            NagiosCommand::AddComment { host, service, persistent, author, comment } => {
                let tail = format!("{};{};{}", u8::from(*persistent), name(author), text(comment));
                match service {
                    None => format!("ADD_HOST_COMMENT;{};{tail}", name(host)),
                    Some(s) => format!("ADD_SVC_COMMENT;{};{};{tail}", name(host), name(s)),
                }
            }
            NagiosCommand::DeleteComment { service, nagios_id } => {
                format!("DEL_{}_COMMENT;{nagios_id}", if *service { "SVC" } else { "HOST" })
            }
            NagiosCommand::ScheduleDowntime {
                host,
                service,
                start,
                end,
                fixed,
                trigger_id,
                duration_s,
                author,
                comment,
            } => {
                let tail = format!(
                    "{start};{end};{};{trigger_id};{duration_s};{};{}",
                    u8::from(*fixed),
                    name(author),
                    text(comment)
                );
                match service {
                    None => format!("SCHEDULE_HOST_DOWNTIME;{};{tail}", name(host)),
                    Some(s) => format!("SCHEDULE_SVC_DOWNTIME;{};{};{tail}", name(host), name(s)),
                }
            }
            NagiosCommand::DeleteDowntime { service, nagios_id } => {
                format!("DEL_{}_DOWNTIME;{nagios_id}", if *service { "SVC" } else { "HOST" })
            }
        };
        format!("[{time_s}] {body}\n")
    }

    /// Host and service this command is about, if it names one.
    pub fn object(&self) -> Option<ObjectKey> {
        match self {
            NagiosCommand::HostCheckResult { host, .. } => Some(ObjectKey::host(host.clone())),
            NagiosCommand::ServiceCheckResult { host, service, .. } => {
                Some(ObjectKey::service(host.clone(), service.clone()))
            }
            NagiosCommand::AcknowledgeProblem { host, service, .. }
            | NagiosCommand::RemoveAcknowledgement { host, service }
            | NagiosCommand::AddComment { host, service, .. }
            | NagiosCommand::ScheduleDowntime { host, service, .. } => {
                Some(ObjectKey { host: host.into(), service: service.as_deref().map(Into::into) })
            }
            NagiosCommand::DeleteComment { .. } | NagiosCommand::DeleteDowntime { .. } => None,
        }
    }
}

/// Plugin output as Nagios reads it from a passive result: `output|perfdata` then long output lines.
pub fn plugin_output(output: &str, perfdata: &str, long_output: &str) -> String {
    let mut s = output.to_string();
    if !perfdata.is_empty() {
        s.push('|');
        s.push_str(perfdata);
    }
    if !long_output.is_empty() {
        s.push('\n');
        s.push_str(long_output);
    }
    s
}

/// A name or author field: `;` would split the field, and control characters would break the line.
fn name(s: &str) -> String {
    s.chars().map(|c| if c == ';' || c.is_control() { '_' } else { c }).collect()
}

/// The last, free-text field: backslashes doubled, newlines as `\n`, other control characters as spaces.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Appends commands to a Nagios command file (a FIFO normally; a regular file in tests and for Icinga's
/// checkresult spool setups).
///
/// Each batch is written with one `write` of at most [`PIPE_BUF`]-sized chunks at line boundaries, so lines
/// from concurrent writers (Nagios' own CGIs) never interleave inside a line.
pub struct CommandWriter {
    path: PathBuf,
}

/// Linux's atomic pipe write size.
pub const PIPE_BUF: usize = 4096;

impl CommandWriter {
    pub fn new(path: &Path) -> Self {
        CommandWriter { path: path.to_path_buf() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes lines (each ending in `\n`). Blocking: a FIFO with no reader would block in `open`, so the file
    /// is opened non-blocking and the call fails fast with a clear error when Nagios is not running.
    pub fn write_lines(&self, lines: &[String]) -> std::io::Result<()> {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file =
            std::fs::OpenOptions::new().append(true).custom_flags(libc::O_NONBLOCK).open(&self.path).map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "open Nagios command file {}: {e} (is Nagios running with check_external_commands=1?)",
                        self.path.display()
                    ),
                )
            })?;
        // Back to blocking writes: a full pipe should make us wait for Nagios, not fail.
        set_blocking(&file)?;
        let mut chunk = String::with_capacity(PIPE_BUF);
        for line in lines {
            if !chunk.is_empty() && chunk.len() + line.len() > PIPE_BUF {
                file.write_all(chunk.as_bytes())?;
                chunk.clear();
            }
            chunk.push_str(line);
        }
        if !chunk.is_empty() {
            file.write_all(chunk.as_bytes())?;
        }
        Ok(())
    }
}

fn set_blocking(file: &std::fs::File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: fcntl on a file descriptor we own, with flags read from the same descriptor.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFL) };
    if flags < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: as above.
    if unsafe { libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK) } < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(cmd: NagiosCommand, expected: &str) {
        assert_eq!(cmd.format(1_700_000_000), format!("[1700000000] {expected}\n"));
    }

    #[test]
    fn check_results() {
        check(
            NagiosCommand::HostCheckResult { host: "FRA1_web01".into(), state: 1, output: "DOWN - no ping".into() },
            "PROCESS_HOST_CHECK_RESULT;FRA1_web01;1;DOWN - no ping",
        );
        check(
            NagiosCommand::ServiceCheckResult {
                host: "FRA1_web01".into(),
                service: "HTTP".into(),
                state: 2,
                output: plugin_output("CRITICAL - 500; retry", "time=1.2s;1;2", "line 2\nline 3"),
            },
            "PROCESS_SERVICE_CHECK_RESULT;FRA1_web01;HTTP;2;CRITICAL - 500; retry|time=1.2s;1;2\\nline 2\\nline 3",
        );
    }

    #[test]
    fn escaping() {
        assert_eq!(text("a\\b\r\nc\td"), "a\\\\b\\nc d");
        check(
            NagiosCommand::AddComment {
                host: "h;x".into(),
                service: None,
                persistent: true,
                author: "ann;\nbob".into(),
                comment: "see; ticket\n42".into(),
            },
            "ADD_HOST_COMMENT;h_x;1;ann__bob;see; ticket\\n42",
        );
    }

    #[test]
    fn acks_comments_downtimes() {
        check(
            NagiosCommand::AcknowledgeProblem {
                host: "H".into(),
                service: Some("S".into()),
                sticky: true,
                notify: false,
                persistent: true,
                author: "ann".into(),
                comment: "on it".into(),
            },
            "ACKNOWLEDGE_SVC_PROBLEM;H;S;2;0;1;ann;on it",
        );
        check(
            NagiosCommand::AcknowledgeProblem {
                host: "H".into(),
                service: None,
                sticky: false,
                notify: true,
                persistent: false,
                author: "ann".into(),
                comment: "x".into(),
            },
            "ACKNOWLEDGE_HOST_PROBLEM;H;1;1;0;ann;x",
        );
        check(
            NagiosCommand::RemoveAcknowledgement { host: "H".into(), service: None },
            "REMOVE_HOST_ACKNOWLEDGEMENT;H",
        );
        check(
            NagiosCommand::RemoveAcknowledgement { host: "H".into(), service: Some("S".into()) },
            "REMOVE_SVC_ACKNOWLEDGEMENT;H;S",
        );
        check(
            NagiosCommand::AddComment {
                host: "H".into(),
                service: Some("S".into()),
                persistent: false,
                author: "a".into(),
                comment: "c".into(),
            },
            "ADD_SVC_COMMENT;H;S;0;a;c",
        );
        check(NagiosCommand::DeleteComment { service: false, nagios_id: 7 }, "DEL_HOST_COMMENT;7");
        check(NagiosCommand::DeleteComment { service: true, nagios_id: 8 }, "DEL_SVC_COMMENT;8");
        check(
            NagiosCommand::ScheduleDowntime {
                host: "H".into(),
                service: Some("S".into()),
                start: 100,
                end: 200,
                fixed: true,
                trigger_id: 0,
                duration_s: 100,
                author: "a".into(),
                comment: "maint".into(),
            },
            "SCHEDULE_SVC_DOWNTIME;H;S;100;200;1;0;100;a;maint",
        );
        check(
            NagiosCommand::ScheduleDowntime {
                host: "H".into(),
                service: None,
                start: 100,
                end: 200,
                fixed: false,
                trigger_id: 0,
                duration_s: 30,
                author: "a".into(),
                comment: "m".into(),
            },
            "SCHEDULE_HOST_DOWNTIME;H;100;200;0;0;30;a;m",
        );
        check(NagiosCommand::DeleteDowntime { service: false, nagios_id: 3 }, "DEL_HOST_DOWNTIME;3");
        check(NagiosCommand::DeleteDowntime { service: true, nagios_id: 4 }, "DEL_SVC_DOWNTIME;4");
    }

    #[test]
    fn writer_appends_whole_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nagios.cmd");
        std::fs::write(&path, "").expect("create");
        let w = CommandWriter::new(&path);
        let lines: Vec<String> = (0..2000)
            .map(|i| NagiosCommand::HostCheckResult { host: format!("h{i}"), state: 0, output: "OK".into() }.format(i))
            .collect();
        w.write_lines(&lines).expect("write");
        let written = std::fs::read_to_string(&path).expect("read");
        assert_eq!(written, lines.concat());
    }

    #[test]
    fn missing_command_file_says_what_to_check() {
        let w = CommandWriter::new(Path::new("/nonexistent/nagios.cmd"));
        let err = w.write_lines(&["x\n".into()]).expect_err("missing");
        assert!(err.to_string().contains("check_external_commands"), "{err}");
    }
}
