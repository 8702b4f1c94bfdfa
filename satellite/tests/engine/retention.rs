//! State, acknowledgements, downtimes, comments and schedule survive a restart and a kill -9.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use outpost_format::model::StateType;

use super::{DEADLINE, fixture_plugin, key, start, write_config};

fn config(dir: &Path, state_file: &Path, max_attempts: u32) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[engine]
retention_interval = "1s"

[[hosts]]
name = "db1"

[[services]]
name = "state"
host = "db1"
check_command = "{} -f {}"
check_interval = "1s"
retry_interval = "1s"
max_attempts = {max_attempts}
"#,
            fixture_plugin("check_file_state").display(),
            state_file.display(),
        ),
    )
}

#[tokio::test]
async fn restart_keeps_soft_attempt_annotations_and_schedule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_file = dir.path().join("svc.state");
    std::fs::write(&state_file, "2 down\n").expect("write");
    let path = config(dir.path(), &state_file, 100);
    let sat = start(&path);
    let before = sat.wait_for("db1/state", "SOFT attempt 2", |o| o.status.current_attempt >= 2).await;
    assert_eq!(before.status.state_type, StateType::Soft);
    let svc = key("db1/state");
    sat.engine.acknowledge(&svc, "bob", "known", true).await.expect("ack");
    sat.engine.add_comment(&svc, "bob", "note").await.expect("comment");
    let now = outpost_satellite::engine::now_ms();
    sat.engine.schedule_downtime(&svc, "bob", "maint", now + 3_600_000, now + 7_200_000, true, 0).await.expect("dt");
    let stopped = sat.engine.snapshot().objects[&svc].clone();
    sat.stop().await;

    // The file keeps the state: the next results continue the SOFT count instead of starting over.
    let sat = start(&path);
    let restored = sat.engine.snapshot().objects[&svc].clone();
    assert_eq!(restored.status.state, 2);
    assert_eq!(restored.status.state_type, StateType::Soft);
    assert!(restored.status.current_attempt >= stopped.status.current_attempt);
    assert_eq!(restored.acknowledgement, stopped.acknowledgement);
    assert_eq!(restored.comments, stopped.comments);
    assert_eq!(restored.downtimes, stopped.downtimes);
    let next = stopped.status.current_attempt + 1;
    sat.wait_for("db1/state", "the next attempt", |o| o.status.current_attempt >= next).await;
    // New ids do not reuse old ones.
    let c2 = sat.engine.add_comment(&svc, "bob", "second").await.expect("comment");
    assert!(stopped.comments.iter().all(|c| c.id < c2));
    sat.stop().await;
}

fn satellite(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_satellite"))
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run satellite")
}

#[test]
fn kill_9_keeps_acknowledgement_and_hard_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_file = dir.path().join("svc.state");
    std::fs::write(&state_file, "2 down\n").expect("write");
    let path = config(dir.path(), &state_file, 2);
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_satellite"))
            .arg("--config")
            .arg(&path)
            .args(["--log", "warn", "run", "--no-fsync"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start satellite run")
    };
    let wait_status = |want: &str| {
        let started = Instant::now();
        loop {
            let out = satellite(&["status", "--json"], &path);
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if out.status.success() && text.contains(want) {
                return text;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "status never showed {want}: {text} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut child = spawn();
    wait_status("\"state_type\": \"HARD\"");
    let ack = satellite(&["ack", "db1/state", "-m", "on it", "--sticky"], &path);
    assert!(ack.status.success(), "{}", String::from_utf8_lossy(&ack.stderr));
    child.kill().expect("kill -9");
    child.wait().expect("reap");

    let mut child = spawn();
    let text = wait_status("\"acknowledged\": true");
    assert!(text.contains("\"state\": \"CRITICAL\""), "{text}");
    assert!(text.contains("\"state_type\": \"HARD\""), "{text}");
    child.kill().expect("kill");
    child.wait().expect("reap");
}
