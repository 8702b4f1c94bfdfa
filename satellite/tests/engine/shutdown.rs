//! Shutdown is prompt and lets go of the event sink: running checks are abandoned (their plugins killed),
//! and once the engine has stopped it no longer holds the sink, so the spool writer can finish.

use std::time::{Duration, Instant};

use super::timeout::wait_reaped;
use super::{DEADLINE, fixture_plugin, start, write_config};

#[tokio::test]
async fn cancel_abandons_running_checks_and_releases_the_sink() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("child.pid");
    let path = write_config(
        dir.path(),
        &format!(
            "[[hosts]]\nname = \"h1\"\n\n[[services]]\nhost = \"h1\"\nname = \"hang\"\ncheck_interval = \"1s\"\ntimeout = \"120s\"\ncheck_command = \"{} {}\"\n",
            fixture_plugin("check_setsid_child").display(),
            pidfile.display()
        ),
    );
    let mut sat = start(&path);
    let started = Instant::now();
    let child: i32 = loop {
        if let Some(pid) = std::fs::read_to_string(&pidfile).ok().and_then(|t| t.trim().parse().ok()) {
            break pid;
        }
        assert!(started.elapsed() < DEADLINE, "the hanging check never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    sat.cancel.cancel();
    // The plugin would hang for 300 s and its timeout is 120 s: joining within the deadline means it was abandoned.
    tokio::time::timeout(DEADLINE, sat.engine.join()).await.expect("the engine stops without waiting for the check");
    assert!(wait_reaped(child).await, "the abandoned plugin's child {child} survived shutdown");
    // The handle is still alive here, yet the sink is released: the event stream ends.
    let ended = tokio::time::timeout(DEADLINE, async { while sat.events.recv().await.is_some() {} }).await;
    assert!(ended.is_ok(), "the engine still holds its event sink after it stopped");
    drop(sat.engine);
}
