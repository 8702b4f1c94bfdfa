//! The engine end to end with a real plugin: scheduling, SOFT -> HARD, events, and operator commands.

use outpost_format::EventKind;
use outpost_format::event::{Lifecycle, NotificationType};
use outpost_format::model::StateType;

use super::{fixture_plugin, key, plugin, start, write_config};

fn config(dir: &std::path::Path, state_file: &std::path::Path) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            r#"
[engine]
retention_interval = "1s"

[[hosts]]
name = "web1"
address = "127.0.0.1"
check_command = "{dummy} 0 'host up'"

[[services]]
name = "state"
host = "web1"
check_command = "{file_state} -f {state_file}"
check_interval = "1s"
retry_interval = "1s"
max_attempts = 2
notification_options = "w,u,c,r"
"#,
            dummy = plugin("check_dummy").display(),
            file_state = fixture_plugin("check_file_state").display(),
            state_file = state_file.display(),
        ),
    )
}

#[tokio::test]
async fn problem_goes_soft_then_hard_and_operator_commands_show_in_state_and_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_file = dir.path().join("svc.state");
    let mut sat = start(&config(dir.path(), &state_file));
    sat.wait_for("web1/state", "a first OK check", |o| o.status.last_check > 0 && o.status.state == 0).await;

    std::fs::write(&state_file, "2 disk on fire\n").expect("write state");
    let obj = sat
        .wait_for("web1/state", "HARD CRITICAL", |o| o.status.state == 2 && o.status.state_type == StateType::Hard)
        .await;
    assert_eq!(obj.status.output, "CRITICAL - disk on fire");
    assert!(obj.status.problem_notified);
    let events = sat.drain();
    let alerts: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::StateChange(s) if s.state == 2 => Some((s.state_type, s.attempt)),
            _ => None,
        })
        .collect();
    assert_eq!(alerts, [(StateType::Soft, 1), (StateType::Hard, 2)]);
    assert!(
        events
            .iter()
            .any(|e| matches!(&e.kind, EventKind::Notification(n) if n.notification_type == NotificationType::Problem))
    );

    let svc = key("web1/state");
    sat.engine.acknowledge(&svc, "alice", "replacing the disk", true).await.expect("ack");
    let comment_id = sat.engine.add_comment(&svc, "alice", "ticket 42").await.expect("comment");
    let now = outpost_satellite::engine::now_ms();
    let dt =
        sat.engine.schedule_downtime(&svc, "alice", "maint", now, now + 3_600_000, true, 0).await.expect("downtime");
    let snap = sat.engine.snapshot();
    let obj = &snap.objects[&svc];
    assert_eq!(obj.acknowledgement.as_ref().map(|a| a.author.as_str()), Some("alice"));
    assert_eq!(obj.comments.iter().map(|c| c.id).collect::<Vec<_>>(), [comment_id]);
    assert!(obj.in_downtime(now + 1));
    // What the shipper takes, encoded straight from the table, holds the same site (checks may have run since).
    let blob = sat.engine.snapshot_blob().expect("encodes");
    let shipped = blob.decode().expect("decodes");
    assert_eq!(blob.hash, outpost_format::delta::content_hash(&shipped));
    assert_eq!(shipped.objects.keys().collect::<Vec<_>>(), snap.objects.keys().collect::<Vec<_>>());
    for (k, o) in &shipped.objects {
        let s = &snap.objects[k];
        assert_eq!(
            (&o.config, &o.acknowledgement, &o.comments, &o.downtimes),
            (&s.config, &s.acknowledgement, &s.comments, &s.downtimes)
        );
    }
    // `satellite status` reads the same from the table.
    let report = sat.engine.status_report(false);
    let row = report.rows.iter().find(|r| r.object == "web1/state").expect("the problem is listed");
    assert!(row.acknowledged && row.in_downtime, "{row:?}");
    assert_eq!((row.state.as_str(), row.attempt.as_str()), ("CRITICAL", "2/2"));
    assert!(row.notes.iter().any(|n| n.starts_with(&format!("comment {comment_id}:"))), "{row:?}");
    assert_eq!(report.services[2], 1);
    let names: Vec<&str> = sat.drain().iter().map(|e| e.kind.name()).collect();
    for want in ["acknowledgement_set", "comment_added", "downtime_scheduled", "downtime_started"] {
        assert!(names.contains(&want), "{want} missing from {names:?}");
    }

    // Refusals say what is wrong.
    let err = sat.engine.acknowledge(&key("web1/nope"), "a", "b", false).await.expect_err("unknown object");
    assert!(err.to_string().contains("satellite status --all"), "{err}");
    assert!(sat.engine.cancel_downtime(999).await.is_err());

    sat.engine.cancel_downtime(dt).await.expect("cancel");
    sat.engine.remove_comment(comment_id).await.expect("remove comment");
    assert!(sat.engine.set_paused(true).await.expect("pause"));
    assert!(!sat.engine.snapshot().objects[&svc].status.checks_enabled);
    assert!(sat.engine.set_paused(false).await.expect("resume"));
    let names: Vec<String> = sat
        .drain()
        .iter()
        .map(|e| match &e.kind {
            EventKind::Lifecycle(l) => format!("{l:?}"),
            k => k.name().to_string(),
        })
        .collect();
    for want in ["downtime_cancelled", "comment_removed", "Paused", "Resumed"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from {names:?}");
    }

    // Recovery: the sticky ack ends, and a recovery notification follows the problem notification.
    std::fs::write(&state_file, "0 fixed\n").expect("write state");
    sat.engine.check_now(&svc, false).expect("check now");
    sat.wait_for("web1/state", "OK", |o| o.status.state == 0).await;
    let events = sat.drain();
    assert!(events.iter().any(|e| matches!(e.kind, EventKind::AcknowledgementRemoved { .. })));
    assert!(
        events.iter().any(
            |e| matches!(&e.kind, EventKind::Notification(n) if n.notification_type == NotificationType::Recovery)
        )
    );
    sat.stop().await;
}

#[tokio::test]
async fn reload_keeps_state_of_unchanged_objects_and_reports_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state_file = dir.path().join("svc.state");
    std::fs::write(&state_file, "1 slow\n").expect("write state");
    let path = config(dir.path(), &state_file);
    let mut sat = start(&path);
    sat.wait_for("web1/state", "HARD WARNING", |o| o.status.state == 1 && o.status.state_type == StateType::Hard).await;

    // Add a service; the old one keeps its HARD WARNING.
    let mut text = std::fs::read_to_string(&path).expect("read");
    text.push_str(&format!(
        "\n[[services]]\nname = \"ping\"\nhost = \"web1\"\ncheck_command = \"{} 0 pong\"\n",
        plugin("check_dummy").display()
    ));
    std::fs::write(&path, &text).expect("write");
    let counts = sat.engine.reload_from(&path).await.expect("reload");
    assert_eq!((counts.added, counts.changed, counts.removed), (1, 0, 0));
    let snap = sat.engine.snapshot();
    assert_eq!(snap.objects[&key("web1/state")].status.state, 1);
    assert!(snap.objects.contains_key(&key("web1/ping")));
    assert!(
        sat.drain().iter().any(|e| matches!(e.kind, EventKind::Lifecycle(Lifecycle::ConfigChanged { added: 1, .. })))
    );

    // A broken config is refused whole; the running one stays.
    std::fs::write(&path, text.replace("max_attempts = 2", "max_attempts = \"two\"")).expect("write");
    let err = sat.engine.reload_from(&path).await.expect_err("bad config refused");
    assert!(format!("{err:#}").contains("satellite.toml:"), "{err:#}");
    assert!(sat.engine.snapshot().objects.contains_key(&key("web1/ping")));
    sat.stop().await;
}
