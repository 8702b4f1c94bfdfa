//! Running one check per the Nagios plugin API: spawn the plugin, read its stdout (capped), wait with a
//! timeout, and turn exit code and output into a [`CheckOutcome`].
//!
//! - The plugin runs in its own process group; on timeout the whole group gets SIGKILL, and so does every
//!   descendant that left the group (`setsid`), so children the plugin forked die with it. A run that is
//!   abandoned (engine shutdown) kills the same way. What a plugin leaves behind is reaped by [`reaper`].
//! - Direct commands are spawned without a shell (`std::process::Command`, which uses posix_spawn on
//!   Linux); only command lines that need one go through `sh -c` (see `config::command`).
//! - Only stdout is read, as the plugin API says; stderr goes to /dev/null.
//! - No thread per check: the process is awaited on tokio's reactor.
//!
//! Not here: scheduling, concurrency limits (the engine holds the semaphores), and state logic.

use std::path::Path;
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use outpost_format::plugin_output::{self, PluginOutput};
use tokio::io::AsyncReadExt;
use tokio::process::Command;

use crate::config::CommandLine;

pub mod reaper;

/// After the plugin exits, how long to keep reading output that is still in flight.
/// A grandchild that keeps the pipe open longer is killed with the group.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(200);

/// What a check produced, ready for the state machine.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// State code: a service state (0..=3), or for host checks UP (0) or DOWN (1).
    pub code: u8,
    pub output: PluginOutput,
    /// Wall time the plugin took.
    pub duration: Duration,
    /// True when the plugin was killed for running past its timeout.
    pub timed_out: bool,
}

/// Limits and settings for one run.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions<'a> {
    pub timeout: Duration,
    /// State to report on timeout.
    pub timeout_state: u8,
    pub max_output_bytes: usize,
    pub shell: &'a Path,
    pub is_host: bool,
}

/// Runs `command` and never fails: a plugin that cannot start, crashes or hangs yields UNKNOWN (or the
/// configured timeout state) with an output that says why.
pub async fn run(command: &CommandLine, opts: RunOptions<'_>) -> CheckOutcome {
    let started = Instant::now();
    let mut cmd = match command {
        CommandLine::Direct { argv } => {
            let mut c = Command::new(&argv[0]);
            c.args(&argv[1..]);
            c
        }
        CommandLine::Shell { script } => {
            let mut c = Command::new(opts.shell);
            c.arg("-c").arg(script);
            c
        }
    };
    // process_group(0) is supported by posix_spawn (POSIX_SPAWN_SETPGROUP), so it keeps the fast path.
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).process_group(0).kill_on_drop(true);
    let child = match reaper::spawn(&mut cmd) {
        Ok(c) => c,
        Err(e) => {
            let hint = if e.kind() == std::io::ErrorKind::NotFound {
                "; check the path and $USER1$ (is monitoring-plugins installed?)"
            } else {
                ""
            };
            return synthetic(
                3,
                format!("(could not execute {}: {e}{hint})", command.program()),
                started,
                opts.is_host,
            );
        }
    };
    let mut tracked = Tracked { pid: child.id(), child, finished: false };
    let child = &mut tracked.child;
    let mut stdout = child.stdout.take();
    let mut buf: Vec<u8> = Vec::with_capacity(256);
    let mut truncated = false;

    let run = async {
        // Small: it lives in every running check's future. Longer output just takes more reads.
        let mut chunk = [0u8; 1024];
        let mut status: Option<std::io::Result<ExitStatus>> = None;
        // Read and wait together: a plugin that fills the pipe must not block on us.
        while status.is_none() {
            match stdout.as_mut() {
                Some(out) => tokio::select! {
                    n = out.read(&mut chunk) => match n {
                        Ok(0) | Err(_) => stdout = None,
                        Ok(n) => keep(&mut buf, &chunk[..n], opts.max_output_bytes, &mut truncated),
                    },
                    st = child.wait() => status = Some(st),
                },
                None => status = Some(child.wait().await),
            }
        }
        let mut lingering = false;
        if let Some(out) = stdout.as_mut() {
            let drain = async {
                loop {
                    match out.read(&mut chunk).await {
                        Ok(0) | Err(_) => return true,
                        Ok(n) => keep(&mut buf, &chunk[..n], opts.max_output_bytes, &mut truncated),
                    }
                }
            };
            lingering = !tokio::time::timeout(DRAIN_AFTER_EXIT, drain).await.unwrap_or(false);
        }
        (status, lingering)
    };
    let (status, lingering) = match tokio::time::timeout(opts.timeout, run).await {
        Ok(done) => done,
        Err(_) => {
            tracked.kill();
            let _ = tracked.child.wait().await;
            tracked.finished = true;
            let what = if opts.is_host { "Host" } else { "Service" };
            let mut outcome = synthetic(
                opts.timeout_state,
                format!("({what} check timed out after {:.2} seconds)", opts.timeout.as_secs_f64()),
                started,
                false,
            );
            outcome.timed_out = true;
            return outcome;
        }
    };
    tracked.finished = true;
    if lingering {
        // The plugin exited but something it started still holds its stdout: don't leave it running.
        tracked.kill();
    }
    let status = match status {
        Some(Ok(s)) => s,
        Some(Err(e)) => {
            return synthetic(3, format!("(could not wait for {}: {e})", command.program()), started, opts.is_host);
        }
        None => return synthetic(3, "(plugin status unavailable)".into(), started, opts.is_host),
    };
    outcome_from(status, &buf, truncated, started, opts.is_host)
}

fn keep(buf: &mut Vec<u8>, data: &[u8], max: usize, truncated: &mut bool) {
    let room = max.saturating_sub(buf.len());
    if data.len() > room {
        *truncated = true;
    }
    buf.extend_from_slice(&data[..data.len().min(room)]);
}

/// A spawned plugin until its run ends. Dropped before the run finished (abandoned at shutdown), it kills
/// the plugin; either way it hands the pid over to the orphan sweeper.
struct Tracked {
    child: tokio::process::Child,
    pid: Option<u32>,
    finished: bool,
}

impl Tracked {
    /// Kills the plugin's process group, and while the plugin is not reaped yet (so its pid is still
    /// its own) also its descendants that left the group.
    fn kill(&self) {
        let Some(pid) = self.pid else { return };
        if self.child.id().is_some() { reaper::kill_tree(pid) } else { reaper::kill_group(pid) }
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        if !self.finished {
            self.kill();
        }
        if let Some(pid) = self.pid {
            reaper::forget(pid);
        }
    }
}

/// Maps a plugin exit code to a state: services take 0..=3 as is; hosts are UP for 0 and 1
/// (Nagios treats a WARNING host check as UP), DOWN otherwise.
pub fn state_from_exit(code: i32, is_host: bool) -> Option<u8> {
    match (is_host, code) {
        (false, 0..=3) => u8::try_from(code).ok(),
        (true, 0 | 1) => Some(0),
        (true, 2 | 3) => Some(1),
        _ => None,
    }
}

fn outcome_from(status: ExitStatus, stdout: &[u8], truncated: bool, started: Instant, is_host: bool) -> CheckOutcome {
    use std::os::unix::process::ExitStatusExt;
    let (code, note) = match (status.code(), status.signal()) {
        (Some(c), _) => match state_from_exit(c, is_host) {
            Some(s) => (s, None),
            None => (unknown(is_host), Some(format!("(Return code of {c} is out of bounds)"))),
        },
        (None, Some(sig)) => (unknown(is_host), Some(format!("(Plugin was killed by signal {sig})"))),
        (None, None) => (unknown(is_host), Some("(Plugin ended without an exit status)".into())),
    };
    let mut output = plugin_output::parse(stdout);
    if let Some(note) = note {
        output.output = if output.output.is_empty() { note } else { format!("{note} {}", output.output) };
    } else if output.output.is_empty() {
        output.output = "(No output returned from plugin)".into();
    }
    if truncated {
        output.long_output.push_str(if output.long_output.is_empty() {
            "(output truncated)"
        } else {
            "\n(output truncated)"
        });
    }
    CheckOutcome { code, output, duration: started.elapsed(), timed_out: false }
}

fn unknown(is_host: bool) -> u8 {
    if is_host { 1 } else { 3 }
}

fn synthetic(code: u8, text: String, started: Instant, is_host: bool) -> CheckOutcome {
    let code = if is_host && code == 3 { 1 } else { code };
    CheckOutcome {
        code,
        output: PluginOutput { output: text, ..PluginOutput::default() },
        duration: started.elapsed(),
        timed_out: false,
    }
}
