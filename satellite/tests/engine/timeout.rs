//! Timeouts kill the plugin's whole process group, children included.

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

async fn run_hanging(timeout_state: u8) -> (outpost_satellite::check::CheckOutcome, i32) {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    let cl = CommandLine::Direct {
        argv: vec![fixture_plugin("check_fork_and_hang").display().to_string(), pidfile.display().to_string()],
    };
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
