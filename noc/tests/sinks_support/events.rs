//! Event builders shared by the sink tests and the end-to-end tests in `tests/e2e` (which include this file
//! with `#[path]`; it needs only `outpost_format`).
#![allow(dead_code)]

use outpost_format::event::{Notification, NotificationType, StateChange};
use outpost_format::model::StateType;
use outpost_format::{EventKind, ObjectKey};

/// A HARD state change of `host` (service `""`) or `host`/`svc`.
pub fn state_change(host: &str, svc: &str, state: u8, output: &str) -> EventKind {
    EventKind::StateChange(StateChange {
        key: if svc.is_empty() { ObjectKey::host(host) } else { ObjectKey::service(host, svc) },
        state,
        previous_state: 0,
        state_type: StateType::Hard,
        attempt: 3,
        max_attempts: 3,
        output: output.into(),
        long_output: String::new(),
        perfdata: String::new(),
    })
}

/// A first PROBLEM notification for `host` (service `""`) or `host`/`svc`.
pub fn problem(host: &str, svc: &str, state: u8, output: &str) -> EventKind {
    EventKind::Notification(Notification {
        key: if svc.is_empty() { ObjectKey::host(host) } else { ObjectKey::service(host, svc) },
        notification_type: NotificationType::Problem,
        state,
        output: output.into(),
        number: 1,
        author: String::new(),
        comment: String::new(),
    })
}
