//! The state machine against the scenarios Nagios Core documents ("State Types", "Notifications",
//! "Flap Detection"), one row per check result.

use outpost_format::model::{Acknowledgement, Downtime, StateType};
use outpost_format::plugin_output::PluginOutput;
use outpost_format::{EventKind, ObjectKey};

use super::*;
use crate::state::TestObject;

const MIN: i64 = 60_000;

fn service(max_attempts: u32, options: &str) -> TestObject {
    let mut o = TestObject::default();
    o.config.max_attempts = max_attempts;
    o.config.notifications.enabled = true;
    o.config.notifications.interval = 3600;
    o.config.notifications.options = options.into();
    o
}

/// The engine passes the config apart from the object; the tests keep it in `obj.config`.
fn apply(key: &ObjectKey, obj: &mut TestObject, rt: &mut Runtime, input: CheckInput, ctx: &Context) -> Outcome {
    let cfg = obj.config.clone();
    apply_result(key, &cfg, obj, rt, input, ctx)
}

fn ctx() -> Context {
    Context { flap_detection: false, flap_low: 5.0, flap_high: 20.0, ..Context::default() }
}

fn input(code: u8, t: i64) -> CheckInput {
    CheckInput {
        code,
        output: PluginOutput { output: format!("state {code}"), ..PluginOutput::default() },
        finished: t,
    }
}

/// Events as short strings: `alert:CRITICAL:SOFT:1`, `notify:PROBLEM:1`, `ack_removed`.
fn describe(events: &[EventKind]) -> Vec<String> {
    events
        .iter()
        .map(|e| match e {
            EventKind::StateChange(s) => format!(
                "alert:{}:{}:{}",
                outpost_format::model::state_name(s.key.is_host(), s.state),
                s.state_type.name(),
                s.attempt
            ),
            EventKind::Notification(n) => format!("notify:{}:{}", n.notification_type.nagios_name(), n.number),
            EventKind::AcknowledgementRemoved { .. } => "ack_removed".into(),
            other => other.name().into(),
        })
        .collect()
}

struct Case {
    code: u8,
    state_type: StateType,
    attempt: u32,
    events: &'static [&'static str],
}

fn run_cases(key: &ObjectKey, obj: &mut TestObject, ctx: &Context, cases: &[Case]) {
    let mut rt = Runtime::default();
    for (i, c) in cases.iter().enumerate() {
        let out = apply(key, obj, &mut rt, input(c.code, (i as i64 + 1) * MIN), ctx);
        assert_eq!(obj.status.state, c.code, "row {i}: state");
        assert_eq!(obj.status.state_type, c.state_type, "row {i}: state type");
        assert_eq!(obj.status.current_attempt, c.attempt, "row {i}: attempt");
        assert_eq!(describe(&out.events), c.events, "row {i}: events");
        assert_eq!(out.retry, c.state_type == StateType::Soft && c.code != 0, "row {i}: retry interval");
    }
}

use StateType::{Hard as H, Soft as S};

/// The example table of Nagios Core's "State Types" page, max_check_attempts = 3.
#[test]
fn nagios_state_types_example() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(3, "w,u,c,r,f,s");
    #[rustfmt::skip]
    let cases = [
        Case { code: 0, state_type: H, attempt: 1, events: &[] },
        Case { code: 2, state_type: S, attempt: 1, events: &["alert:CRITICAL:SOFT:1"] },
        Case { code: 1, state_type: S, attempt: 2, events: &["alert:WARNING:SOFT:2"] },
        Case { code: 2, state_type: H, attempt: 3, events: &["alert:CRITICAL:HARD:3", "notify:PROBLEM:1"] },
        Case { code: 1, state_type: H, attempt: 3, events: &["alert:WARNING:HARD:3", "notify:PROBLEM:2"] },
        Case { code: 1, state_type: H, attempt: 3, events: &[] },
        Case { code: 0, state_type: H, attempt: 1, events: &["alert:OK:HARD:1", "notify:RECOVERY:0"] },
        Case { code: 0, state_type: H, attempt: 1, events: &[] },
        Case { code: 3, state_type: S, attempt: 1, events: &["alert:UNKNOWN:SOFT:1"] },
        Case { code: 0, state_type: S, attempt: 1, events: &["alert:OK:SOFT:1"] },
        Case { code: 0, state_type: H, attempt: 1, events: &[] },
    ];
    run_cases(&key, &mut obj, &ctx(), &cases);
    assert_eq!(obj.status.notification_number, 0, "reset by the recovery");
}

#[test]
fn repeated_soft_results_in_the_same_state_each_raise_an_alert() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(4, "w,u,c,r");
    #[rustfmt::skip]
    let cases = [
        Case { code: 2, state_type: S, attempt: 1, events: &["alert:CRITICAL:SOFT:1"] },
        Case { code: 2, state_type: S, attempt: 2, events: &["alert:CRITICAL:SOFT:2"] },
        Case { code: 2, state_type: S, attempt: 3, events: &["alert:CRITICAL:SOFT:3"] },
        Case { code: 2, state_type: H, attempt: 4, events: &["alert:CRITICAL:HARD:4", "notify:PROBLEM:1"] },
    ];
    run_cases(&key, &mut obj, &ctx(), &cases);
}

#[test]
fn max_attempts_one_is_hard_at_once() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "w,u,c,r");
    #[rustfmt::skip]
    let cases = [
        Case { code: 2, state_type: H, attempt: 1, events: &["alert:CRITICAL:HARD:1", "notify:PROBLEM:1"] },
        Case { code: 0, state_type: H, attempt: 1, events: &["alert:OK:HARD:1", "notify:RECOVERY:0"] },
    ];
    run_cases(&key, &mut obj, &ctx(), &cases);
}

#[test]
fn service_on_a_down_host_goes_hard_at_once_without_notifying() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(3, "w,u,c,r");
    let c = Context { host_problem: true, ..ctx() };
    #[rustfmt::skip]
    let cases = [
        Case { code: 2, state_type: H, attempt: 3, events: &["alert:CRITICAL:HARD:3"] },
        // Recovery of a problem that was never notified: no recovery notification.
        Case { code: 0, state_type: H, attempt: 1, events: &["alert:OK:HARD:1"] },
    ];
    run_cases(&key, &mut obj, &c, &cases);
}

#[test]
fn host_states_use_host_names_and_letters() {
    let key = ObjectKey::host("h");
    let mut obj = service(2, "d,r");
    #[rustfmt::skip]
    let cases = [
        Case { code: 1, state_type: S, attempt: 1, events: &["alert:DOWN:SOFT:1"] },
        Case { code: 1, state_type: H, attempt: 2, events: &["alert:DOWN:HARD:2", "notify:PROBLEM:1"] },
        // UNREACHABLE is not in the options ("u" missing): alert, but no notification.
        Case { code: 2, state_type: H, attempt: 2, events: &["alert:UNREACHABLE:HARD:2"] },
        Case { code: 0, state_type: H, attempt: 1, events: &["alert:UP:HARD:1", "notify:RECOVERY:0"] },
    ];
    run_cases(&key, &mut obj, &ctx(), &cases);
}

#[test]
fn re_notifies_at_the_notification_interval() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "c,r");
    obj.config.notifications.interval = 600; // 10 minutes; checks every minute
    let mut rt = Runtime::default();
    let mut numbers = Vec::new();
    for minute in 1..=25 {
        let out = apply(&key, &mut obj, &mut rt, input(2, minute * MIN), &ctx());
        for e in out.events {
            if let EventKind::Notification(n) = e {
                numbers.push((minute, n.number));
            }
        }
    }
    assert_eq!(numbers, [(1, 1), (11, 2), (21, 3)]);
}

#[test]
fn notification_interval_zero_notifies_once() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "c,r");
    obj.config.notifications.interval = 0;
    let mut rt = Runtime::default();
    let n: usize = (1..=30)
        .map(|m| {
            let out = apply(&key, &mut obj, &mut rt, input(2, m * 10 * MIN), &ctx());
            out.events.iter().filter(|e| matches!(e, EventKind::Notification(_))).count()
        })
        .sum();
    assert_eq!(n, 1);
}

fn ack(sticky: bool) -> Acknowledgement {
    Acknowledgement { author: "op".into(), comment: "on it".into(), sticky, time: 0 }
}

#[test]
fn acknowledgement_suppresses_notifications_and_a_non_sticky_one_ends_at_a_state_change() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "w,c,r");
    obj.config.notifications.interval = 60;
    let mut rt = Runtime::default();
    let out = apply(&key, &mut obj, &mut rt, input(1, MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:WARNING:HARD:1", "notify:PROBLEM:1"]);
    obj.acknowledgement = Some(Box::new(ack(false)));
    let out = apply(&key, &mut obj, &mut rt, input(1, 5 * MIN), &ctx());
    assert_eq!(describe(&out.events), Vec::<String>::new(), "acknowledged: no re-notification");
    let out = apply(&key, &mut obj, &mut rt, input(2, 6 * MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:CRITICAL:HARD:1", "ack_removed", "notify:PROBLEM:2"]);
}

#[test]
fn sticky_acknowledgement_lasts_until_recovery() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "w,c,r");
    let mut rt = Runtime::default();
    apply(&key, &mut obj, &mut rt, input(1, MIN), &ctx());
    obj.acknowledgement = Some(Box::new(ack(true)));
    let out = apply(&key, &mut obj, &mut rt, input(2, 2 * MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:CRITICAL:HARD:1"], "sticky: kept through WARNING -> CRITICAL");
    assert!(obj.acknowledgement.is_some());
    let out = apply(&key, &mut obj, &mut rt, input(0, 3 * MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:OK:HARD:1", "ack_removed", "notify:RECOVERY:0"]);
    assert!(obj.acknowledgement.is_none());
}

#[test]
fn downtime_suppresses_problem_and_recovery_notifications() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "c,r");
    obj.downtimes.push(Downtime {
        id: 1,
        author: "op".into(),
        comment: "maint".into(),
        start: 0,
        end: 100 * MIN,
        fixed: true,
        duration_s: 0,
        started_at: Some(0),
    });
    let mut rt = Runtime::default();
    let out = apply(&key, &mut obj, &mut rt, input(2, MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:CRITICAL:HARD:1"]);
    let out = apply(&key, &mut obj, &mut rt, input(0, 2 * MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:OK:HARD:1"], "no problem was notified, so no recovery");
}

#[test]
fn problem_suppressed_during_downtime_is_notified_once_it_ends() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "c,r");
    obj.downtimes.push(Downtime {
        id: 1,
        author: "op".into(),
        comment: String::new(),
        start: 0,
        end: 3 * MIN,
        fixed: true,
        duration_s: 0,
        started_at: Some(0),
    });
    let mut rt = Runtime::default();
    apply(&key, &mut obj, &mut rt, input(2, MIN), &ctx());
    obj.downtimes.clear();
    let out = apply(&key, &mut obj, &mut rt, input(2, 4 * MIN), &ctx());
    assert_eq!(describe(&out.events), ["notify:PROBLEM:1"]);
}

#[test]
fn host_in_downtime_suppresses_service_notifications() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "c,r");
    let c = Context { host_in_downtime: true, ..ctx() };
    let mut rt = Runtime::default();
    let out = apply(&key, &mut obj, &mut rt, input(2, MIN), &c);
    assert_eq!(describe(&out.events), ["alert:CRITICAL:HARD:1"]);
}

#[test]
fn flapping_starts_and_suppresses_problem_notifications() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "w,u,c,r,f");
    let c = Context { flap_detection: true, ..ctx() };
    let mut rt = Runtime::default();
    let mut all = Vec::new();
    for i in 0..12 {
        let out = apply(&key, &mut obj, &mut rt, input(if i % 2 == 0 { 2 } else { 0 }, (i + 1) * MIN), &c);
        all.extend(describe(&out.events));
    }
    assert!(obj.status.is_flapping);
    let start = all.iter().position(|e| e == "notify:FLAPPINGSTART:0").expect("flapping start notified");
    assert!(
        all[start + 1..].iter().all(|e| !e.starts_with("notify:PROBLEM") && !e.starts_with("notify:RECOVERY")),
        "{all:?}"
    );
}

#[test]
fn notifications_disabled_still_alerts() {
    let key = ObjectKey::service("h", "s");
    let mut obj = service(1, "w,u,c,r");
    obj.config.notifications.enabled = false;
    let mut rt = Runtime::default();
    let out = apply(&key, &mut obj, &mut rt, input(2, MIN), &ctx());
    assert_eq!(describe(&out.events), ["alert:CRITICAL:HARD:1"]);
}
