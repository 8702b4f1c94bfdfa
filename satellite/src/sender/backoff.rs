//! Retry timing: exponential backoff with full jitter.
//!
//! Full jitter (a uniform draw between zero and the exponential cap) spreads a fleet that lost the NOC
//! at the same moment, so reconnects after an outage do not arrive as one stampede.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    failures: u32,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Backoff {
        Backoff { min, max, failures: 0 }
    }

    /// The cap for the current failure count: min × 2^failures, at most max.
    pub fn cap(&self) -> Duration {
        let factor = 1u32.checked_shl(self.failures.min(20)).unwrap_or(u32::MAX);
        self.min.saturating_mul(factor).min(self.max)
    }

    /// Records a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        let cap = self.cap();
        self.failures = self.failures.saturating_add(1);
        let lo = self.min.min(cap) / 2;
        let span = cap.saturating_sub(lo);
        lo + span.mul_f64(rand::random::<f64>())
    }

    pub fn reset(&mut self) {
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_stay_within_it() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut caps = Vec::new();
        for _ in 0..10 {
            let cap = b.cap();
            let d = b.next_delay();
            assert!(d <= cap, "{d:?} over {cap:?}");
            assert!(d >= Duration::from_millis(50));
            caps.push(cap);
        }
        assert_eq!(caps[0], Duration::from_millis(100));
        assert_eq!(caps[1], Duration::from_millis(200));
        assert_eq!(*caps.last().expect("some"), Duration::from_secs(5));
        b.reset();
        assert_eq!(b.cap(), Duration::from_millis(100));
    }
}
