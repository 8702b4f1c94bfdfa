//! Per-satellite token buckets: each location may send `per_second` requests sustained, `burst` at once.
//! A refused request learns how long to wait (429 + `Retry-After`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Buckets exist only for authenticated locations, so the map is bounded by the number of credentials.
pub struct RateLimiter {
    per_second: f64,
    burst: f64,
    /// std Mutex: never held across .await.
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(per_second: f64, burst: f64) -> Self {
        RateLimiter { per_second, burst, buckets: Mutex::new(HashMap::new()) }
    }

    /// Takes one token for `key`; on refusal returns how long until one is available.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().expect("rate limiter lock poisoned");
        let b = buckets.entry(key.to_string()).or_insert(Bucket { tokens: self.burst, at: now });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.per_second).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / self.per_second))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let r = RateLimiter::new(2.0, 3.0);
        let t0 = Instant::now();
        assert!(r.check("A", t0).is_ok());
        assert!(r.check("A", t0).is_ok());
        assert!(r.check("A", t0).is_ok());
        let wait = r.check("A", t0).expect_err("bucket empty");
        assert!(wait <= Duration::from_millis(500), "{wait:?}");
        assert!(r.check("B", t0).is_ok(), "buckets are per location");
        assert!(r.check("A", t0 + Duration::from_millis(600)).is_ok());
    }
}
