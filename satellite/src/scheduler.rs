//! When checks run: a min-heap of due times, the spreading of first checks, and check-latency statistics.
//!
//! Pure and synchronous: the engine owns the clock and the loop. Times are wall-clock [`UnixMillis`] so that
//! retained schedules mean the same thing after a restart.
//!
//! - First checks are spread evenly: object `i` of `n` is first due `i/n` of its interval after start.
//! - After a restart, a retained next-check time that is still ahead (and no further than one interval) is
//!   kept; one that passed while the satellite was down is re-spread the same way, so a restart does not
//!   stampede.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use outpost_format::UnixMillis;

/// One scheduled check. `generation` is the config generation it was scheduled under: entries from before
/// a reload are recognised and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Due {
    pub at: UnixMillis,
    pub idx: u32,
    pub generation: u32,
}

#[derive(Debug, Default)]
pub struct Schedule {
    heap: BinaryHeap<Reverse<Due>>,
}

impl Schedule {
    pub fn push(&mut self, due: Due) {
        self.heap.push(Reverse(due));
    }

    /// Removes and returns the earliest entry due at or before `now`.
    pub fn pop_due(&mut self, now: UnixMillis) -> Option<Due> {
        match self.heap.peek() {
            Some(Reverse(d)) if d.at <= now => self.heap.pop().map(|Reverse(d)| d),
            _ => None,
        }
    }

    /// When the earliest entry is due.
    pub fn next_at(&self) -> Option<UnixMillis> {
        self.heap.peek().map(|Reverse(d)| d.at)
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    pub fn clear(&mut self) {
        self.heap.clear();
    }
}

/// When object `i` of `n` first runs: spread evenly across its interval.
pub fn spread(now: UnixMillis, interval_ms: i64, i: usize, n: usize) -> UnixMillis {
    let n = n.max(1) as i128;
    now + i64::try_from(i128::from(interval_ms) * (i as i128) / n).unwrap_or(0)
}

/// First due time at start: the retained time if it is still ahead and plausible, else an even spread.
pub fn first_due(now: UnixMillis, retained: UnixMillis, interval_ms: i64, i: usize, n: usize) -> UnixMillis {
    if retained > now && retained <= now + interval_ms { retained } else { spread(now, interval_ms, i, n) }
}

/// Next due time after a check that was due at `due` and finished at `finished`.
/// Keeps the cadence of `due` (no drift by the plugin's run time) unless the check ran late.
pub fn next_due(due: UnixMillis, finished: UnixMillis, interval_ms: i64) -> UnixMillis {
    let next = due + interval_ms;
    if next > finished { next } else { finished + interval_ms }
}

/// Check latency (how late checks start) in a fixed log-scale histogram: no allocation per sample.
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    /// Bucket b counts samples below `BOUNDS_MS[b]`; the last bucket is everything above.
    counts: [u64; BOUNDS_MS.len() + 1],
    total: u64,
    max_ms: u64,
}

const BOUNDS_MS: [u64; 16] = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000];

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: [0; BOUNDS_MS.len() + 1], total: 0, max_ms: 0 }
    }
}

impl LatencyHistogram {
    pub fn record(&mut self, latency_ms: u64) {
        let b = BOUNDS_MS.iter().position(|&bound| latency_ms < bound).unwrap_or(BOUNDS_MS.len());
        self.counts[b] += 1;
        self.total += 1;
        self.max_ms = self.max_ms.max(latency_ms);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    pub fn max_ms(&self) -> u64 {
        self.max_ms
    }

    /// Upper bound (ms) of the bucket holding quantile `q` (0.0..=1.0); 0 when empty.
    pub fn quantile_ms(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((self.total as f64) * q).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (b, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return BOUNDS_MS.get(b).copied().unwrap_or(self.max_ms);
            }
        }
        self.max_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_checks_spread_evenly_across_the_interval() {
        let due: Vec<i64> = (0..4).map(|i| spread(1_000, 60_000, i, 4)).collect();
        assert_eq!(due, [1_000, 16_000, 31_000, 46_000]);
    }

    #[test]
    fn retained_schedule_is_kept_only_when_still_ahead() {
        assert_eq!(first_due(10_000, 40_000, 60_000, 1, 2), 40_000);
        assert_eq!(first_due(10_000, 5_000, 60_000, 1, 2), 40_000, "overdue: re-spread");
        assert_eq!(first_due(10_000, 900_000, 60_000, 0, 2), 10_000, "implausibly far: re-spread");
    }

    #[test]
    fn next_due_keeps_cadence_unless_late() {
        assert_eq!(next_due(60_000, 60_150, 60_000), 120_000);
        assert_eq!(next_due(60_000, 130_000, 60_000), 190_000);
    }

    #[test]
    fn heap_pops_in_time_order_and_only_when_due() {
        let mut s = Schedule::default();
        for (at, idx) in [(30, 3), (10, 1), (20, 2)] {
            s.push(Due { at, idx, generation: 0 });
        }
        assert_eq!(s.pop_due(15).map(|d| d.idx), Some(1));
        assert_eq!(s.pop_due(15), None);
        assert_eq!(s.next_at(), Some(20));
        assert_eq!(s.pop_due(100).map(|d| d.idx), Some(2));
    }

    #[test]
    fn latency_quantiles() {
        let mut h = LatencyHistogram::default();
        for _ in 0..98 {
            h.record(3);
        }
        h.record(700);
        h.record(40_000);
        assert_eq!(h.quantile_ms(0.5), 5);
        assert_eq!(h.quantile_ms(0.99), 1_000);
        assert_eq!(h.max_ms(), 40_000);
    }
}
