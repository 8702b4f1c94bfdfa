//! Timeouts kill the plugin's whole process group, children included, and children that left the group;
//! what plugins leave behind is reaped (the satellite is a child subreaper), so no zombies remain.

use std::path::Path;
use std::time::Duration;

use outpost_satellite::check::{self, RunOptions};
use outpost_satellite::config::CommandLine;

use super::fixture_plugin;

/// Dead or a zombie waiting for PID 1 to reap it: either way it no longer runs.
fn is_running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            let state = stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next());
            !matches!(state, Some("Z") | Some("X"))
        }
    }
}

async fn wait_gone(pid: i32) -> bool {
    for _ in 0..100 {
        if !is_running(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

/// Gone from the process table: not running and not a zombie either (someone reaped it).
pub fn is_reaped(pid: i32) -> bool {
    !Path::new(&format!("/proc/{pid}")).exists()
}

/// The parent pid of `pid`, from /proc.
fn parent_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("PPid:")).and_then(|v| v.trim().parse().ok())
}

pub async fn wait_reaped(pid: i32) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < super::DEADLINE {
        if is_reaped(pid) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

async fn run_hanging(timeout_state: u8) -> (outpost_satellite::check::CheckOutcome, i32) {
    run_fixture("check_fork_and_hang", timeout_state, &[]).await
}

async fn run_fixture(plugin: &str, timeout_state: u8, extra: &[&str]) -> (outpost_satellite::check::CheckOutcome, i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    let mut argv = vec![fixture_plugin(plugin).display().to_string(), pidfile.display().to_string()];
    argv.extend(extra.iter().map(|a| a.to_string()));
    let cl = CommandLine::Direct { argv };
    let opts = RunOptions {
        timeout: Duration::from_millis(1500),
        timeout_state,
        max_output_bytes: 8192,
        shell: Path::new("/bin/sh"),
        is_host: false,
    };
    let out = check::run(&cl, opts).await;
    let pid: i32 = std::fs::read_to_string(&pidfile).expect("child pid written").trim().parse().expect("pid");
    (out, pid)
}

#[tokio::test]
async fn timeout_kills_the_plugin_and_the_child_it_forked() {
    let (out, child) = run_hanging(3).await;
    assert!(out.timed_out);
    assert_eq!(out.code, 3);
    assert_eq!(out.output.output, "(Service check timed out after 1.50 seconds)");
    assert!(wait_gone(child).await, "the plugin's child {child} survived the timeout");
}

#[tokio::test]
async fn timeout_state_can_be_critical() {
    let (out, child) = run_hanging(2).await;
    assert!(out.timed_out);
    assert_eq!(out.code, 2);
    assert!(wait_gone(child).await, "the plugin's child {child} survived the timeout");
}

#[tokio::test]
async fn timeout_kills_a_child_that_left_the_process_group_and_reaps_it() {
    outpost_satellite::check::reaper::start();
    let (out, child) = run_fixture("check_setsid_child", 3, &[]).await;
    assert!(out.timed_out);
    assert!(wait_reaped(child).await, "the plugin's setsid child {child} is still in the process table");
}

#[tokio::test]
async fn a_daemonised_grandchild_becomes_ours_and_is_reaped_when_it_exits() {
    outpost_satellite::check::reaper::start();
    let (out, grandchild) = run_fixture("check_daemonize", 3, &["2"]).await;
    assert!(!out.timed_out);
    assert_eq!(out.output.output, "OK - daemonised");
    if let Some(parent) = parent_of(grandchild) {
        assert_eq!(parent, std::process::id() as i32, "orphans are re-parented to the satellite (child subreaper)");
    }
    assert!(wait_reaped(grandchild).await, "the daemonised grandchild {grandchild} was left a zombie");
}
