//! Flap detection as Nagios Core does it: the last 21 check results give 20 transitions; each transition
//! that changed state counts with a weight from 0.8 (oldest) to 1.2 (newest); the weighted share is the
//! "percent state change". Flapping starts above the high threshold and stops below the low one.

use serde::{Deserialize, Serialize};

const TRANSITIONS: u32 = 20;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlapHistory {
    /// Bit i set: the i-th most recent transition was a state change (bit 0 is the newest).
    changes: u32,
    /// Results recorded so far, capped at 21.
    samples: u8,
}

impl FlapHistory {
    /// Records one result; `changed` is whether its state differs from the previous result's.
    pub fn record(&mut self, changed: bool) {
        if self.samples > 0 {
            self.changes = ((self.changes << 1) | u32::from(changed)) & ((1 << TRANSITIONS) - 1);
        }
        self.samples = self.samples.saturating_add(1).min(21);
    }

    /// Weighted percent state change, 0.0 to 100.0.
    pub fn percent_change(&self) -> f64 {
        let mut sum = 0.0;
        for age in 0..TRANSITIONS {
            if self.changes & (1 << age) != 0 {
                // age 0 is the newest transition: weight 1.2; age 19 the oldest: weight 0.8.
                sum += 1.2 - 0.4 * f64::from(age) / f64::from(TRANSITIONS - 1);
            }
        }
        sum / f64::from(TRANSITIONS) * 100.0
    }

    /// Whether the object is flapping after this sample, given whether it was before (hysteresis).
    pub fn is_flapping(&self, was_flapping: bool, low: f64, high: f64) -> bool {
        let p = self.percent_change();
        if was_flapping { p >= low } else { p > high }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_state_never_flaps() {
        let mut h = FlapHistory::default();
        for _ in 0..30 {
            h.record(false);
        }
        assert_eq!(h.percent_change(), 0.0);
        assert!(!h.is_flapping(false, 5.0, 20.0));
    }

    #[test]
    fn alternating_states_flap_and_calm_down_with_hysteresis() {
        let mut h = FlapHistory::default();
        h.record(false);
        for _ in 0..20 {
            h.record(true);
        }
        assert!((h.percent_change() - 100.0).abs() < 1e-9);
        assert!(h.is_flapping(false, 5.0, 20.0));
        // Quiet results push the changes out; between low and high it keeps flapping.
        let mut flapping = true;
        let mut n_quiet = 0;
        while flapping {
            h.record(false);
            n_quiet += 1;
            flapping = h.is_flapping(flapping, 5.0, 20.0);
        }
        assert!(n_quiet > 15 && n_quiet <= 20, "stopped after {n_quiet} quiet results");
    }

    #[test]
    fn newer_changes_weigh_more() {
        let mut old = FlapHistory::default();
        old.record(false);
        old.record(true);
        for _ in 0..19 {
            old.record(false);
        }
        let mut new = FlapHistory::default();
        for _ in 0..20 {
            new.record(false);
        }
        new.record(true);
        assert!(new.percent_change() > old.percent_change());
        assert!((new.percent_change() - 6.0).abs() < 1e-9);
        assert!((old.percent_change() - 4.0).abs() < 1e-9);
    }
}
