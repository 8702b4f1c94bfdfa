//! Counts datagrams that async-snmp could not turn into a notification.
//!
//! The library's receive loop skips a malformed datagram (bad BER, wrong version, failed USM digest or
//! decryption) itself: it logs a `failed to parse notification` warning and keeps receiving, which is the
//! resilience we want, but it offers no counter. So the receiver task runs under [`CountingDispatch`]:
//! a tracing subscriber that counts those warnings and passes every call on to the process's own
//! subscriber, so logs look exactly as they would without it.
//! NB: depends on the wording of async-snmp 0.18's warning; `malformed_datagrams_are_counted` in
//! `satellite/tests/traps_netsnmp.rs` fails if a new version changes it.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Dispatch, Event, Level, Metadata, Subscriber};

use super::admission::TrapStats;

const LIBRARY_TARGET: &str = "async_snmp::notification";
const PARSE_FAILURE_MESSAGES: [&str; 2] =
    ["failed to parse notification", "discarding datagram with invalid receive metadata"];

/// Forwards everything to `inner` and counts the library's parse-failure warnings into `stats.malformed`.
pub struct CountingDispatch {
    inner: Dispatch,
    stats: Arc<TrapStats>,
}

impl CountingDispatch {
    /// Wraps the subscriber that is current when called (the global one when called from a task).
    pub fn wrap_current(stats: Arc<TrapStats>) -> Dispatch {
        let inner = tracing::dispatcher::get_default(Dispatch::clone);
        Dispatch::new(CountingDispatch { inner, stats })
    }

    fn is_watched(meta: &Metadata<'_>) -> bool {
        meta.is_event() && *meta.level() == Level::WARN && meta.target() == LIBRARY_TARGET
    }
}

struct MessageIs {
    matched: bool,
}

impl Visit for MessageIs {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" && PARSE_FAILURE_MESSAGES.contains(&value) {
            self.matched = true;
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let text = format!("{value:?}");
            if PARSE_FAILURE_MESSAGES.contains(&text.as_str()) {
                self.matched = true;
            }
        }
    }
}

impl Subscriber for CountingDispatch {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if Self::is_watched(meta) { Interest::always() } else { self.inner.register_callsite(meta) }
    }
    fn enabled(&self, meta: &Metadata<'_>) -> bool {
        Self::is_watched(meta) || self.inner.enabled(meta)
    }
    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        // None: "anything may be enabled", so the library's WARN is seen even where the operator logs only ERROR.
        None
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        self.inner.new_span(span)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        self.inner.record(span, values)
    }
    fn record_follows_from(&self, span: &Id, follows: &Id) {
        self.inner.record_follows_from(span, follows)
    }
    fn event(&self, event: &Event<'_>) {
        if Self::is_watched(event.metadata()) {
            let mut visitor = MessageIs { matched: false };
            event.record(&mut visitor);
            if visitor.matched {
                let n = self.stats.malformed.fetch_add(1, Ordering::Relaxed) + 1;
                metrics::counter!("outpost_traps_malformed_total").increment(1);
                // The library already logged this one at WARN; a flood must not flood our log too.
                if !n.is_power_of_two() {
                    return;
                }
            }
        }
        if self.inner.enabled(event.metadata()) {
            self.inner.event(event)
        }
    }
    fn enter(&self, span: &Id) {
        self.inner.enter(span)
    }
    fn exit(&self, span: &Id) {
        self.inner.exit(span)
    }
    fn clone_span(&self, id: &Id) -> Id {
        self.inner.clone_span(id)
    }
    fn try_close(&self, id: Id) -> bool {
        self.inner.try_close(id)
    }
}
