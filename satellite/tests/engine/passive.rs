//! Passive results (what a trap rule submits): the same SOFT/HARD state machine and events as active results.

use outpost_format::EventKind;
use outpost_format::event::NotificationType;
use outpost_format::model::StateType;
use outpost_satellite::state::table::OpError;

use super::{key, plugin, start, write_config};

// See: #6
#[tokio::test]
async fn passive_results_go_soft_then_hard_raise_notifications_and_recover() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_config(
        dir.path(),
        &format!(
            r#"
[[hosts]]
name = "router1"

[[services]]
name = "link"
host = "router1"
check_command = "{dummy} 0"
active_checks = false
max_attempts = 2
"#,
            dummy = plugin("check_dummy").display()
        ),
    );
    let mut sat = start(&config);
    let link = key("router1/link");
    let submit = |code, output: &str, at| sat.engine.process_passive_result(&link, code, output, at);

    let first = submit(2, "CRITICAL - ifIndex 2 down|errors=3", 1_000).expect("known service");
    let second = submit(2, "CRITICAL - ifIndex 2 down", 2_000).expect("known service");
    let recovered = submit(0, "OK - ifIndex 2 up", 3_000).expect("known service");
    let alert = |events: &[EventKind]| {
        events.iter().find_map(|e| match e {
            EventKind::StateChange(s) => Some((s.state, s.state_type, s.attempt)),
            _ => None,
        })
    };
    let notified = |events: &[EventKind]| {
        events.iter().find_map(|e| match e {
            EventKind::Notification(n) => Some(n.notification_type),
            _ => None,
        })
    };
    assert_eq!(alert(&first), Some((2, StateType::Soft, 1)), "{first:?}");
    assert_eq!(notified(&first), None, "a SOFT problem does not notify: {first:?}");
    assert_eq!(alert(&second), Some((2, StateType::Hard, 2)), "{second:?}");
    assert_eq!(notified(&second), Some(NotificationType::Problem), "{second:?}");
    assert_eq!(alert(&recovered), Some((0, StateType::Hard, 1)), "{recovered:?}");
    assert_eq!(notified(&recovered), Some(NotificationType::Recovery), "{recovered:?}");

    let snapshot = sat.engine.snapshot();
    let status = &snapshot.objects[&link].status;
    assert_eq!((status.state, status.output.as_str(), status.last_check), (0, "OK - ifIndex 2 up", 3_000));
    // The caller records the events: the engine emitted none of them itself.
    assert!(!sat.drain().iter().any(|e| matches!(e.kind, EventKind::StateChange(_))), "passive events emitted twice");

    assert!(matches!(
        sat.engine.process_passive_result(&key("router9/link"), 2, "x", 4_000),
        Err(OpError::UnknownObject(_))
    ));
    assert!(matches!(sat.engine.process_passive_result(&link, 4, "x", 4_000), Err(OpError::Invalid(_))));
    sat.stop().await;
}
