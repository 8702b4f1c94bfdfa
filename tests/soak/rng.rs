//! The soak's seeded choices, on `sitegen`'s SplitMix64: the same seed gives the same fault schedule on every
//! machine and with every version of the `rand` crate.

use std::time::Duration;

pub struct Rng(outpost_format::sitegen::Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(outpost_format::sitegen::Rng::new(seed))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.0.below(hi - lo + 1)
    }

    /// Uniform in `lo..=hi` milliseconds.
    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.0.below(items.len() as u64) as usize]
    }
}
