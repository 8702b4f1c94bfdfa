//! Scheduled downtime transitions: fixed downtimes start at their start time; flexible ones start at the
//! first problem inside their window and last `duration_s`; both end (and are removed) when over.

use outpost_format::event::NotificationType;
use outpost_format::model::ObjectConfig;
use outpost_format::{EventKind, ObjectKey, UnixMillis};

use super::ObjectState;
use super::machine::{allows, notification};

/// Starts and ends downtimes due at `now`; returns the events, in order.
pub fn tick(key: &ObjectKey, cfg: &ObjectConfig, obj: &mut ObjectState, now: UnixMillis) -> Vec<EventKind> {
    let mut events = Vec::new();
    let in_problem = obj.status.state != 0;
    let was_in_downtime = obj.in_downtime(now.saturating_sub(1));
    let mut ended = Vec::new();
    for d in &mut obj.downtimes {
        if d.started_at.is_none() {
            let in_window = d.start <= now && now < d.end;
            if in_window && (d.fixed || in_problem) {
                d.started_at = Some(now);
                events.push(EventKind::DowntimeStarted { key: key.clone(), downtime_id: d.id });
            }
        }
        let over = match d.started_at {
            Some(_) => !d.is_active(now),
            None => now >= d.end,
        };
        if over {
            ended.push(d.id);
        }
    }
    let now_in_downtime_before_end = obj.in_downtime(now);
    obj.downtimes.retain(|d| !ended.contains(&d.id));
    for id in &ended {
        events.push(EventKind::DowntimeEnded { key: key.clone(), downtime_id: *id });
    }
    if allows(cfg, 's') {
        let now_in_downtime = obj.in_downtime(now);
        if !was_in_downtime && now_in_downtime_before_end {
            events.push(notification(key, &obj.status, NotificationType::DowntimeStart, 0));
        }
        if (was_in_downtime || now_in_downtime_before_end) && !now_in_downtime && !ended.is_empty() {
            events.push(notification(key, &obj.status, NotificationType::DowntimeEnd, 0));
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use outpost_format::model::Downtime;

    use super::*;
    use crate::state::TestObject;

    fn downtime(id: u64, start: i64, end: i64, fixed: bool, duration_s: u32) -> Downtime {
        Downtime { id, author: "op".into(), comment: "maint".into(), start, end, fixed, duration_s, started_at: None }
    }

    fn names(events: &[EventKind]) -> Vec<String> {
        events
            .iter()
            .map(|e| match e {
                EventKind::Notification(n) => format!("notify:{}", n.notification_type.nagios_name()),
                other => other.name().to_string(),
            })
            .collect()
    }

    fn obj() -> TestObject {
        let mut o = TestObject::default();
        o.config.notifications.options = "w,u,c,r,f,s".into();
        o.config.notifications.enabled = true;
        o
    }

    #[test]
    fn fixed_downtime_starts_and_ends_on_time() {
        let key = ObjectKey::service("h", "s");
        let mut o = obj();
        o.downtimes.push(downtime(7, 10_000, 20_000, true, 0));
        assert!(tick(&key, &o.config.clone(), &mut o, 5_000).is_empty());
        assert_eq!(names(&tick(&key, &o.config.clone(), &mut o, 10_000)), ["downtime_started", "notify:DOWNTIMESTART"]);
        assert!(o.in_downtime(15_000));
        assert!(tick(&key, &o.config.clone(), &mut o, 15_000).is_empty());
        assert_eq!(names(&tick(&key, &o.config.clone(), &mut o, 20_000)), ["downtime_ended", "notify:DOWNTIMEEND"]);
        assert!(o.downtimes.is_empty());
    }

    #[test]
    fn flexible_downtime_waits_for_a_problem_then_lasts_its_duration() {
        let key = ObjectKey::host("h");
        let mut o = obj();
        o.config.notifications.options = "d,u,r,s".into();
        o.downtimes.push(downtime(1, 0, 100_000, false, 30));
        assert!(tick(&key, &o.config.clone(), &mut o, 1_000).is_empty(), "no problem yet, so not started");
        o.status.state = 1;
        assert_eq!(names(&tick(&key, &o.config.clone(), &mut o, 50_000)), ["downtime_started", "notify:DOWNTIMESTART"]);
        assert!(o.in_downtime(79_999));
        assert_eq!(names(&tick(&key, &o.config.clone(), &mut o, 80_000)), ["downtime_ended", "notify:DOWNTIMEEND"]);
    }

    #[test]
    fn flexible_downtime_never_triggered_expires_silently_at_window_end() {
        let key = ObjectKey::host("h");
        let mut o = obj();
        o.downtimes.push(downtime(1, 0, 10_000, false, 30));
        assert_eq!(names(&tick(&key, &o.config.clone(), &mut o, 10_000)), ["downtime_ended"]);
    }
}
