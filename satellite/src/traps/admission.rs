//! Which notifications get in: source networks, community and USM user allow-lists, and the flood limit.
//!
//! This runs as async-snmp's acceptance policy, after decoding and USM checks but before an inform is
//! answered, so a refused inform is never acknowledged and its sender retries later.
//! Every refusal is counted by reason in [`TrapStats`] and in the `outpost_traps_dropped_total` metric.

use std::net::SocketAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use async_snmp::SecurityLevel;
use async_snmp::notification::{NotificationAcceptance, NotificationEnvelope};

use super::config::{Cidr, ReceiverSettings};

/// Counters of the receiver, shared with whoever wants to read them (tests, status pages).
#[derive(Debug, Default)]
pub struct TrapStats {
    /// Notifications admitted and queued for the spool.
    pub received: AtomicU64,
    /// Events the spool has durably recorded.
    pub recorded: AtomicU64,
    /// Events the spool refused (it was shutting down); an inform among them was left unanswered.
    pub not_recorded: AtomicU64,
    /// Informs answered, each after all of its events were durable.
    pub informs_answered: AtomicU64,
    /// Passive results produced by OID rules.
    pub rule_results: AtomicU64,
    pub dropped_source: AtomicU64,
    pub dropped_community: AtomicU64,
    pub dropped_user: AtomicU64,
    pub dropped_rate_limit: AtomicU64,
    /// Refused because the queue to the spool was full (the spool is slower than the trap rate); such an inform is
    /// not answered and its sender retries it.
    pub dropped_queue_full: AtomicU64,
    /// Datagrams that were not valid SNMP (counted from the library's parse-failure warnings).
    pub malformed: AtomicU64,
    /// SNMPv3 messages that failed USM: wrong digest, unknown user, unsupported security level, decryption
    /// error (the library's RFC 3414 usmStats counters, copied after each notification and every second).
    pub usm_failures: AtomicU64,
}

/// Why a notification was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    Source,
    Community,
    User,
    RateLimit,
    QueueFull,
}

impl DropReason {
    pub fn label(self) -> &'static str {
        match self {
            DropReason::Source => "source",
            DropReason::Community => "community",
            DropReason::User => "user",
            DropReason::RateLimit => "rate_limit",
            DropReason::QueueFull => "queue_full",
        }
    }
}

impl TrapStats {
    pub fn count_drop(&self, reason: DropReason) {
        let counter = match reason {
            DropReason::Source => &self.dropped_source,
            DropReason::Community => &self.dropped_community,
            DropReason::User => &self.dropped_user,
            DropReason::RateLimit => &self.dropped_rate_limit,
            DropReason::QueueFull => &self.dropped_queue_full,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        metrics::counter!("outpost_traps_dropped_total", "reason" => reason.label()).increment(1);
    }

    /// All drops, whatever the reason.
    pub fn dropped(&self) -> u64 {
        [
            &self.dropped_source,
            &self.dropped_community,
            &self.dropped_user,
            &self.dropped_rate_limit,
            &self.dropped_queue_full,
        ]
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .sum()
    }
}

/// A token bucket: `rate` tokens per second, holding at most `burst`.
#[derive(Debug)]
pub struct RateLimiter {
    rate: f64,
    burst: f64,
    // std Mutex: held for a few arithmetic operations, never across .await
    state: Mutex<(f64, Instant)>,
}

impl RateLimiter {
    pub fn new(rate_per_sec: u32, burst: u32) -> Self {
        RateLimiter {
            rate: f64::from(rate_per_sec),
            burst: f64::from(burst.max(1)),
            state: Mutex::new((f64::from(burst.max(1)), Instant::now())),
        }
    }

    /// Takes one token at `now`, or says no.
    pub fn try_take(&self, now: Instant) -> bool {
        let mut guard = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, last) = *guard;
        let elapsed = now.saturating_duration_since(last).as_secs_f64();
        let tokens = (tokens + elapsed * self.rate).min(self.burst);
        if tokens >= 1.0 {
            *guard = (tokens - 1.0, now.max(last));
            true
        } else {
            *guard = (tokens, now.max(last));
            false
        }
    }
}

/// The acceptance rules, built once from validated settings.
#[derive(Debug)]
pub struct Admission {
    allowed_sources: Vec<Cidr>,
    communities: Vec<Vec<u8>>,
    users: Vec<Vec<u8>>,
    limiter: RateLimiter,
}

impl Admission {
    pub fn new(settings: &ReceiverSettings) -> Self {
        Admission {
            allowed_sources: settings.allowed_sources.clone(),
            communities: settings.communities.iter().map(|c| c.as_bytes().to_vec()).collect(),
            users: settings.users.iter().map(|u| u.name.as_bytes().to_vec()).collect(),
            limiter: RateLimiter::new(settings.rate_limit_per_sec, settings.burst),
        }
    }

    /// Decides on one notification. `community` is set for v1/v2c, `user` and `level` for v3.
    pub fn decide(
        &self,
        source: SocketAddr,
        community: Option<&[u8]>,
        user: Option<&[u8]>,
        level: Option<SecurityLevel>,
        now: Instant,
    ) -> Result<(), DropReason> {
        if !self.allowed_sources.is_empty() && !self.allowed_sources.iter().any(|c| c.contains(source.ip())) {
            return Err(DropReason::Source);
        }
        match (community, user) {
            (Some(c), _) => {
                if !self.communities.is_empty() && !self.communities.iter().any(|ok| ok.as_slice() == c) {
                    return Err(DropReason::Community);
                }
            }
            (None, Some(u)) => {
                // noAuthNoPriv v3 would let anyone claim a configured user name: refuse it.
                let authenticated = level.is_some_and(|l| l >= SecurityLevel::AuthNoPriv);
                if !authenticated || !self.users.iter().any(|ok| ok.as_slice() == u) {
                    return Err(DropReason::User);
                }
            }
            (None, None) => return Err(DropReason::User),
        }
        if !self.limiter.try_take(now) {
            return Err(DropReason::RateLimit);
        }
        Ok(())
    }

    /// The async-snmp acceptance policy: decide, count refusals, never panic.
    pub fn evaluate(&self, envelope: &NotificationEnvelope<'_>, stats: &TrapStats) -> NotificationAcceptance {
        match self.decide(
            envelope.source,
            envelope.community.map(|c| c.as_bytes()),
            envelope.username,
            envelope.security_level,
            Instant::now(),
        ) {
            Ok(()) => NotificationAcceptance::Accept,
            Err(reason) => {
                stats.count_drop(reason);
                if stats.dropped().is_power_of_two() {
                    tracing::warn!(source = %envelope.source, reason = reason.label(), total_dropped = stats.dropped(),
                        "refused SNMP notification (logged at powers of two; see outpost_traps_dropped_total)");
                }
                NotificationAcceptance::Reject
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::traps::config::TrapConfig;

    fn admission(cfg: TrapConfig) -> Admission {
        Admission::new(&cfg.validate().expect("valid"))
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn source_filter() {
        let a = admission(TrapConfig { allowed_sources: vec!["127.0.0.0/8".into()], ..TrapConfig::default() });
        let now = Instant::now();
        assert_eq!(a.decide(addr("127.0.0.9:5000"), Some(b"x"), None, None, now), Ok(()));
        assert_eq!(a.decide(addr("10.0.0.1:5000"), Some(b"x"), None, None, now), Err(DropReason::Source));
    }

    #[test]
    fn community_allow_list() {
        let a = admission(TrapConfig { communities: vec!["public".into()], ..TrapConfig::default() });
        let now = Instant::now();
        let src = addr("127.0.0.1:1");
        assert_eq!(a.decide(src, Some(b"public"), None, None, now), Ok(()));
        assert_eq!(a.decide(src, Some(b"private"), None, None, now), Err(DropReason::Community));
        // empty allow-list accepts any community
        let any = admission(TrapConfig::default());
        assert_eq!(any.decide(src, Some(b"whatever"), None, None, now), Ok(()));
    }

    #[test]
    fn v3_needs_a_configured_authenticated_user() {
        let cfg: TrapConfig = toml::from_str(
            r#"engine_state_file = "/tmp/e"
            [[users]]
            name = "ops"
            auth_protocol = "SHA"
            auth_password = "12345678""#,
        )
        .expect("toml");
        let a = admission(cfg);
        let now = Instant::now();
        let src = addr("127.0.0.1:1");
        assert_eq!(a.decide(src, None, Some(b"ops"), Some(SecurityLevel::AuthNoPriv), now), Ok(()));
        assert_eq!(a.decide(src, None, Some(b"ops"), Some(SecurityLevel::AuthPriv), now), Ok(()));
        assert_eq!(a.decide(src, None, Some(b"ops"), Some(SecurityLevel::NoAuthNoPriv), now), Err(DropReason::User));
        assert_eq!(a.decide(src, None, Some(b"eve"), Some(SecurityLevel::AuthPriv), now), Err(DropReason::User));
    }

    #[test]
    fn token_bucket_allows_burst_then_rate() {
        let limiter = RateLimiter::new(10, 5);
        let t0 = Instant::now();
        let admitted = (0..20).filter(|_| limiter.try_take(t0)).count();
        assert_eq!(admitted, 5, "the burst");
        // one second later, ten more tokens (capped at the burst of five)
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!((0..20).filter(|_| limiter.try_take(t1)).count(), 5);
        let t2 = t1 + Duration::from_millis(200);
        assert_eq!((0..20).filter(|_| limiter.try_take(t2)).count(), 2);
    }

    #[test]
    fn drops_are_counted_by_reason() {
        let stats = TrapStats::default();
        stats.count_drop(DropReason::RateLimit);
        stats.count_drop(DropReason::Source);
        assert_eq!(stats.dropped_rate_limit.load(Ordering::Relaxed), 1);
        assert_eq!(stats.dropped(), 2);
    }
}
