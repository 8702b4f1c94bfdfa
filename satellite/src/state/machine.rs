//! The Nagios Core state machine for one host or service, as its documentation on state types,
//! notifications and flapping describes it:
//!
//! - A problem starts SOFT (attempt 1) and turns HARD after `max_attempts` non-OK results; with
//!   `max_attempts = 1`, or for a service whose host is not UP, it is HARD at once.
//! - Every SOFT result and every HARD state change raises an alert (`StateChange`) event.
//! - A HARD problem raises a problem notification, repeated every `notification_interval` (0: once), and a
//!   new one when the HARD state changes (WARNING -> CRITICAL). A recovery notification follows only a
//!   problem notification that was sent.
//! - Notifications are suppressed while acknowledged, in downtime (the object's or, for a service, its
//!   host's), while flapping, for a service whose host is not UP, and for states missing from the options.
//! - A non-sticky acknowledgement ends at any state change; a sticky one at recovery.

use compact_str::CompactString;
use outpost_format::event::{Notification, NotificationType, StateChange};
use outpost_format::model::{ObjectConfig, StateType, Status};
use outpost_format::plugin_output::PluginOutput;
use outpost_format::{EventKind, ObjectKey, UnixMillis};

use super::{ObjectState, Runtime};

/// A finished check, as the state machine sees it.
#[derive(Debug, Clone)]
pub struct CheckInput {
    pub code: u8,
    pub output: PluginOutput,
    pub finished: UnixMillis,
}

/// Facts from outside the object that the rules depend on.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context {
    /// Services only: the host is DOWN or UNREACHABLE (problems go HARD at once, no notifications).
    pub host_problem: bool,
    /// Services only: the host is in scheduled downtime.
    pub host_in_downtime: bool,
    pub flap_detection: bool,
    pub flap_low: f64,
    pub flap_high: f64,
}

/// What a result did, besides updating the object.
#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub events: Vec<EventKind>,
    /// The object is in a SOFT problem: the next check uses the retry interval.
    pub retry: bool,
}

/// Applies one check result to `obj` and returns the events it raises, in order.
///
/// `cfg` is the object's configuration; the engine keeps it apart from `obj` (see [`ObjectState`]).
pub fn apply_result(
    key: &ObjectKey,
    cfg: &ObjectConfig,
    obj: &mut ObjectState,
    rt: &mut Runtime,
    input: CheckInput,
    ctx: &Context,
) -> Outcome {
    let mut out = Outcome::default();
    let now = input.finished;
    let is_host = key.is_host();
    let max_attempts = cfg.max_attempts.max(1);
    let prev_state = obj.status.state;
    let prev_type = obj.status.state_type;
    let code = input.code;
    let changed = code != prev_state;

    // Flap detection first: the flapping flag suppresses this very result's notifications.
    let was_flapping = obj.status.is_flapping;
    if ctx.flap_detection {
        rt.flap.record(changed);
        obj.status.is_flapping = rt.flap.is_flapping(was_flapping, ctx.flap_low, ctx.flap_high);
    } else {
        obj.status.is_flapping = false;
    }

    let (state_type, attempt) = if code == 0 {
        // A recovery from a SOFT problem is a SOFT recovery; OK after OK is simply HARD.
        let t = if prev_state != 0 && prev_type == StateType::Soft { StateType::Soft } else { StateType::Hard };
        (t, 1)
    } else if prev_state == 0 {
        let hard = max_attempts == 1 || ctx.host_problem;
        (if hard { StateType::Hard } else { StateType::Soft }, if hard { max_attempts } else { 1 })
    } else if prev_type == StateType::Soft {
        let attempt = (obj.status.current_attempt + 1).min(max_attempts);
        let hard = attempt >= max_attempts || ctx.host_problem;
        (if hard { StateType::Hard } else { StateType::Soft }, if hard { max_attempts } else { attempt })
    } else {
        (StateType::Hard, max_attempts)
    };
    let hard_change =
        state_type == StateType::Hard && (changed || prev_type == StateType::Soft) && !(code == 0 && prev_state == 0);
    let alert = changed || (state_type == StateType::Soft && code != 0) || hard_change;

    let st = &mut obj.status;
    st.state = code;
    st.state_type = state_type;
    st.current_attempt = attempt;
    // In place: reuses the strings' capacity, so a steady stream of results allocates nothing long-lived
    // (long-lived small allocations scattered among short-lived ones fragment the heap).
    replace_in_place(&mut st.output, &input.output.output);
    replace_in_place(&mut st.long_output, &input.output.long_output);
    st.perfdata = input.output.perfdata;
    st.last_check = now;
    if changed {
        st.last_state_change = now;
    }
    if hard_change {
        st.last_hard_state_change = now;
    }

    if alert {
        out.events.push(EventKind::StateChange(StateChange {
            key: key.clone(),
            state: code,
            previous_state: prev_state,
            state_type,
            attempt,
            max_attempts,
            output: obj.status.output.to_string(),
            long_output: obj.status.long_output.to_string(),
            perfdata: input.output.perfdata_text,
        }));
    }

    // Acknowledgements end at recovery, and (non-sticky ones) at any state change.
    if let Some(ack) = &obj.acknowledgement
        && (code == 0 || (changed && !ack.sticky))
    {
        obj.acknowledgement = None;
        out.events.push(EventKind::AcknowledgementRemoved { key: key.clone() });
    }

    if obj.status.is_flapping != was_flapping && allows(cfg, 'f') {
        let t = if obj.status.is_flapping { NotificationType::FlappingStart } else { NotificationType::FlappingStop };
        out.events.push(notification(key, &obj.status, t, 0));
    }

    let suppressed = |obj: &ObjectState| {
        !cfg.notifications.enabled
            || obj.in_downtime(now)
            || obj.status.is_flapping
            || ctx.host_problem
            || ctx.host_in_downtime
    };
    if code == 0 {
        let was_notified_hard_problem = prev_type == StateType::Hard && prev_state != 0 && rt.notified_state.is_some();
        if was_notified_hard_problem && !suppressed(obj) && allows(cfg, 'r') {
            out.events.push(notification(key, &obj.status, NotificationType::Recovery, 0));
        }
        if prev_state != 0 {
            rt.notified_state = None;
            obj.status.problem_notified = false;
            obj.status.notification_number = 0;
        }
    } else if state_type == StateType::Hard {
        let letter = problem_letter(is_host, code);
        let interval_ms = i64::from(cfg.notifications.interval) * 1000;
        let due = match rt.notified_state {
            Some(s) if s == code => interval_ms > 0 && now - rt.last_notification >= interval_ms,
            _ => true,
        };
        if due && !suppressed(obj) && obj.acknowledgement.is_none() && allows(cfg, letter) {
            obj.status.notification_number += 1;
            obj.status.problem_notified = true;
            rt.notified_state = Some(code);
            rt.last_notification = now;
            let n = obj.status.notification_number;
            out.events.push(notification(key, &obj.status, NotificationType::Problem, n));
        }
    }
    out.retry = state_type == StateType::Soft && code != 0;
    out
}

fn replace_in_place(dst: &mut CompactString, src: &str) {
    if dst != src {
        dst.clear();
        dst.push_str(src);
    }
}

/// The notification option letter for a problem state.
fn problem_letter(is_host: bool, code: u8) -> char {
    match (is_host, code) {
        (true, 1) => 'd',
        (true, _) => 'u',
        (false, 1) => 'w',
        (false, 2) => 'c',
        (false, _) => 'u',
    }
}

/// Whether the object's notification options include `letter`.
pub fn allows(cfg: &ObjectConfig, letter: char) -> bool {
    cfg.notifications.options.split(',').any(|o| o.trim().len() == 1 && o.trim().starts_with(letter))
}

/// A notification event about an object in its current state.
pub fn notification(key: &ObjectKey, status: &Status, notification_type: NotificationType, number: u32) -> EventKind {
    EventKind::Notification(Notification {
        key: key.clone(),
        notification_type,
        state: status.state,
        output: status.output.to_string(),
        number,
        author: String::new(),
        comment: String::new(),
    })
}

#[cfg(test)]
#[path = "machine_tests.rs"]
mod tests;
