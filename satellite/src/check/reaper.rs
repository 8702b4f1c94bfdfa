//! Orphans of plugins: the satellite is a child subreaper, so processes a plugin left behind (a child that
//! called `setsid()`, a daemonised grandchild) are re-parented to the satellite instead of PID 1, and a
//! sweeper thread reaps them when they exit. In containers PID 1 is often not an init that reaps, so
//! without this every escaped plugin child would stay a zombie for the life of the container.
//!
//! The sweeper must never reap a child someone still waits for (its waiter would get ECHILD and lose the exit
//! status). So it reaps only zombies outside this process's own process group, which other code's children
//! (spawned with default settings, e.g. by tests) never are, and plugins themselves (each in its own group)
//! are spawned through [`spawn`], which records their pids under the lock the sweeper holds while it reaps.
//!
//! Also here: [`kill_tree`], which on timeout kills the plugin's process group *and* every descendant that
//! left the group (`setsid`), found by walking `/proc/<pid>/task/*/children` before anything is killed.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, Once};
use std::time::Duration;

/// How often the sweeper looks for exited orphans. Zombies cost a process-table slot each, not memory or
/// CPU, so a second's delay is harmless.
const SWEEP_EVERY: Duration = Duration::from_millis(500);

/// Plugins spawned and not yet waited for: the check runner reaps these itself.
static OWN: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
static START: Once = Once::new();

fn own() -> MutexGuard<'static, BTreeSet<u32>> {
    OWN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Makes this process a child subreaper and starts the sweeper thread. Idempotent; the engine calls it at
/// start. Failure (an old kernel) is logged: orphans then go to PID 1 as before.
pub fn start() {
    START.call_once(|| {
        // SAFETY: prctl(PR_SET_CHILD_SUBREAPER) takes plain integers and only changes this process's flags.
        let rc = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
        if rc != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not become a child subreaper; processes that plugins leave behind go to PID 1"
            );
            return;
        }
        let spawned = std::thread::Builder::new().name("orphan-reaper".into()).spawn(|| {
            loop {
                std::thread::sleep(SWEEP_EVERY);
                let n = sweep();
                if n > 0 {
                    metrics::counter!("outpost_check_orphans_reaped_total").increment(n as u64);
                    tracing::debug!(reaped = n, "reaped processes that plugins left behind");
                }
            }
        });
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "could not start the orphan reaper thread");
        }
    });
}

/// Spawns `cmd` and records its pid as one the check runner will wait for itself.
pub fn spawn(cmd: &mut tokio::process::Command) -> std::io::Result<tokio::process::Child> {
    let mut own = own();
    let child = cmd.spawn()?;
    if let Some(pid) = child.id() {
        own.insert(pid);
    }
    Ok(child)
}

/// The check runner has waited for `pid` (or given up on it): the sweeper may reap it from now on.
pub fn forget(pid: u32) {
    own().remove(&pid);
}

/// Reaps every exited child outside our process group that is not a plugin the check runner waits for.
/// Returns how many.
pub fn sweep() -> usize {
    let own = own();
    // SAFETY: getpgrp has no preconditions.
    let our_group = unsafe { libc::getpgrp() };
    let mut reaped = 0;
    for pid in children_of("self") {
        if own.contains(&pid) {
            continue;
        }
        let Ok(pid) = i32::try_from(pid) else { continue };
        if !matches!(zombie_group(pid), Some(g) if g != our_group) {
            continue;
        }
        let mut status = 0;
        // SAFETY: waitpid writes only into `status`; WNOHANG never blocks. `pid` is our child and not one a
        // Child handle waits for (checked under the lock that spawn holds).
        if unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) } == pid {
            reaped += 1;
        }
    }
    reaped
}

/// The process group of `pid` if it is a zombie (from `/proc/<pid>/stat`: fields after the `(comm)`).
fn zombie_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let state = fields.next()?;
    let _ppid = fields.next()?;
    let pgrp = fields.next()?.parse().ok()?;
    (state == "Z").then_some(pgrp)
}

/// Direct children of `pid` (a number or `self`), from every thread's `children` file.
fn children_of(pid: &str) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return Vec::new() };
    let mut out = Vec::new();
    for task in tasks.flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("children")) {
            out.extend(text.split_whitespace().filter_map(|p| p.parse::<u32>().ok()));
        }
    }
    out
}

/// SIGKILLs the process group `pid` leads and every descendant of `pid`, including those that moved to
/// another group or session. Descendants are collected first: once `pid` dies they are re-parented and can no
/// longer be found from it.
pub fn kill_tree(pid: u32) {
    let mut found = Vec::new();
    let mut todo = vec![pid];
    // Bounded: a fork bomb must not keep us walking forever.
    while let Some(p) = todo.pop() {
        if found.len() >= 4096 {
            break;
        }
        for c in children_of(&p.to_string()) {
            found.push(c);
            todo.push(c);
        }
    }
    kill_group(pid);
    for c in found.into_iter().filter_map(|c| i32::try_from(c).ok()).filter(|&c| c > 1) {
        // SAFETY: kill has no memory-safety preconditions; `c` descends from the plugin (read from /proc just now).
        unsafe {
            libc::kill(c, libc::SIGKILL);
        }
    }
}

/// SIGKILLs the process group `pgid` (the one created for a plugin).
pub fn kill_group(pgid: u32) {
    if let Ok(pgid) = i32::try_from(pgid)
        && pgid > 1
    {
        // SAFETY: killpg has no memory-safety preconditions.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}
