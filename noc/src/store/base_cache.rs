//! In-memory cache of decoded delta bases (each location's last applied snapshot), so that preparing a delta
//! does not decompress and decode the stored base every time.
//!
//! The stored base (`bases` table) stays authoritative. An entry is used only when its identity (seq, content
//! hash) equals the identity the store holds at that moment; since the hash is SHA-256 over the objects, a
//! match means the same objects, whatever inserted the entry and whenever. A stale, missing or evicted entry
//! therefore costs a decode from the store, never a wrong result. The writer inserts a new base only after
//! the transaction that stored it has committed, and before it acknowledges the frame.
//!
//! A hit takes the entry out ([`BaseCache::take`]): the preparation owns the old base while it works and frees
//! it on its own (blocking-pool) thread, so the writer thread, the ingest bottleneck, never frees a whole
//! snapshot's allocations. A preparation that ends without a new base (a refused delta) leaves its location
//! uncached until the next miss reads the store again.
//!
//! Budget: entries are charged an estimate of their heap size ([`estimate_bytes`]), and the total stays within
//! the configured byte budget (`[store] base_cache_mib`; 0 disables the cache).
//! Satellites ship in a cycle, so plain LRU would evict exactly the base needed next once the working set
//! exceeds the budget, and hit nothing. Instead a full cache evicts only entries idle for longer than
//! [`IDLE_EVICT`] (least recently used first) and otherwise declines the new entry: the locations already
//! cached keep hitting, the rest fall back to the store.
//!
//! Not owned here: what a base is and how it is stored (`snapshot.rs`, `codec.rs`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use outpost_format::Snapshot;

use super::snapshot::BaseId;

/// An entry unused for this long may be evicted to make room (a location silent for minutes).
pub const IDLE_EVICT: Duration = Duration::from_secs(600);

/// A decoded base shared between the cache and the preparations that use it.
#[derive(Clone)]
pub struct CachedBase {
    pub id: BaseId,
    pub snapshot: Arc<Snapshot>,
}

/// Thread-safe base cache; see the module docs. Cheap to share behind an `Arc`.
pub struct BaseCache {
    budget_bytes: u64,
    /// std Mutex: held only for map operations, never across I/O or `.await`.
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<String, Entry>,
    used_bytes: u64,
}

struct Entry {
    base: CachedBase,
    bytes: u64,
    last_used: Instant,
}

impl BaseCache {
    pub fn new(budget_bytes: u64) -> BaseCache {
        BaseCache { budget_bytes, inner: Mutex::new(Inner::default()) }
    }

    /// Takes the cached base of `location` out of the cache if it is the one identified by `id`;
    /// a stale entry is dropped. The writer inserts the next base after its commit.
    pub fn take(&self, location: &str, id: BaseId) -> Option<Arc<Snapshot>> {
        let entry = self.lock().remove(location);
        let hit = match entry {
            Some(e) if e.base.id == id => Some(e.base.snapshot),
            // Dropping a snapshot frees thousands of allocations: done here, outside the lock.
            _ => None,
        };
        metrics::counter!("outpost_noc_base_cache_total", "result" => if hit.is_some() { "hit" } else { "miss" })
            .increment(1);
        hit
    }

    /// Remembers `snapshot` as the base of `location`, replacing any older entry, if the budget allows.
    /// `bytes` is the entry's estimated size ([`estimate_bytes`]). Returns whether it was cached.
    pub fn insert(&self, location: &str, id: BaseId, snapshot: Arc<Snapshot>, bytes: u64) -> bool {
        self.insert_deferred(location, id, snapshot, bytes).0
    }

    /// [`BaseCache::insert`] that returns what it lets go of (replaced, evicted or declined snapshots) instead of
    /// freeing it, so that the caller can free it on another thread.
    pub fn insert_deferred(
        &self,
        location: &str,
        id: BaseId,
        snapshot: Arc<Snapshot>,
        bytes: u64,
    ) -> (bool, Vec<Arc<Snapshot>>) {
        let mut freed = Vec::new();
        let now = Instant::now();
        let cached = {
            let mut inner = self.lock();
            freed.extend(inner.remove(location));
            if bytes > self.budget_bytes {
                false
            } else {
                if inner.used_bytes + bytes > self.budget_bytes {
                    freed.extend(inner.evict_idle(self.budget_bytes - bytes, now));
                }
                let fits = inner.used_bytes + bytes <= self.budget_bytes;
                if fits {
                    inner.used_bytes += bytes;
                    let base = CachedBase { id, snapshot: snapshot.clone() };
                    inner.entries.insert(location.to_string(), Entry { base, bytes, last_used: now });
                }
                fits
            }
        };
        let mut freed: Vec<Arc<Snapshot>> = freed.into_iter().map(|e| e.base.snapshot).collect();
        if !cached {
            freed.push(snapshot);
        }
        let (entries, used) = self.usage();
        metrics::gauge!("outpost_noc_base_cache_bytes").set(used as f64);
        metrics::gauge!("outpost_noc_base_cache_entries").set(entries as f64);
        if !cached {
            metrics::counter!("outpost_noc_base_cache_declined_total").increment(1);
        }
        (cached, freed)
    }

    /// (entries, estimated bytes) held now.
    pub fn usage(&self) -> (usize, u64) {
        let inner = self.lock();
        (inner.entries.len(), inner.used_bytes)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().expect("base cache lock poisoned")
    }
}

impl Inner {
    fn remove(&mut self, location: &str) -> Option<Entry> {
        let e = self.entries.remove(location)?;
        self.used_bytes -= e.bytes;
        Some(e)
    }

    /// Evicts entries idle for longer than [`IDLE_EVICT`], least recently used first, until at most `target`
    /// bytes are used or no idle entry is left. Returns them so the caller drops them outside the lock.
    fn evict_idle(&mut self, target: u64, now: Instant) -> Vec<Entry> {
        let mut idle: Vec<(Instant, String)> = self
            .entries
            .iter()
            .filter(|(_, e)| now.saturating_duration_since(e.last_used) > IDLE_EVICT)
            .map(|(k, e)| (e.last_used, k.clone()))
            .collect();
        idle.sort_unstable();
        let mut evicted = Vec::new();
        for (_, location) in idle {
            if self.used_bytes <= target {
                break;
            }
            evicted.extend(self.remove(&location));
        }
        evicted
    }
}

/// Estimated resident bytes of a decoded snapshot whose compact MessagePack encoding is `encoded_len` bytes:
/// the fixed size of each map entry plus B-tree overhead, plus about the encoding's length for the strings
/// and vectors the entries own, times [`RSS_FACTOR`] for allocator overhead and fragmentation.
pub fn estimate_bytes(snapshot: &Snapshot, encoded_len: usize) -> u64 {
    // A BTreeMap leaf holds up to 11 entries; 16 bytes per entry covers the node headers and slack.
    let per_object = std::mem::size_of::<(outpost_format::model::ObjectKey, outpost_format::Object)>() + 16;
    let heap = (snapshot.objects.len() * per_object + encoded_len) as f64;
    (heap * RSS_FACTOR) as u64
}

/// Measured with `ingest_bench` (1,000 sites of 1,050 objects): the NOC's RSS grew by 1.74–1.96 times the
/// heap estimate once the bases were cached (malloc headers, many small strings, per-thread arenas).
const RSS_FACTOR: f64 = 1.8;

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(n: usize) -> Arc<Snapshot> {
        let mut s = Snapshot::default();
        for i in 0..n {
            s.objects.insert(outpost_format::model::ObjectKey::host(format!("h{i}")), Default::default());
        }
        Arc::new(s)
    }

    #[test]
    fn a_hit_needs_the_same_identity_and_takes_the_entry_out() {
        let cache = BaseCache::new(1 << 20);
        assert!(cache.insert("A", (1, [1; 32]), snap(3), 100));
        assert_eq!(cache.usage(), (1, 100));
        assert_eq!(cache.take("A", (1, [1; 32])).map(|s| s.objects.len()), Some(3));
        assert_eq!(cache.usage(), (0, 0), "taken out until the writer puts the next base in");
        assert!(cache.take("A", (1, [1; 32])).is_none());
        assert!(cache.insert("A", (1, [1; 32]), snap(3), 100));
        assert!(cache.take("A", (1, [2; 32])).is_none(), "same seq, other content");
        assert_eq!(cache.usage(), (0, 0), "the stale entry is gone");
        assert!(cache.take("B", (1, [1; 32])).is_none());
    }

    #[test]
    fn replacing_a_location_releases_its_bytes() {
        let cache = BaseCache::new(1000);
        assert!(cache.insert("A", (1, [1; 32]), snap(1), 600));
        assert!(cache.insert("A", (2, [2; 32]), snap(1), 700));
        assert_eq!(cache.usage(), (1, 700));
        assert!(cache.take("A", (2, [2; 32])).is_some());
    }

    #[test]
    fn a_full_cache_keeps_active_entries_and_declines_new_ones() {
        let cache = BaseCache::new(1000);
        assert!(cache.insert("A", (1, [1; 32]), snap(1), 400));
        assert!(cache.insert("B", (1, [1; 32]), snap(1), 400));
        assert!(!cache.insert("C", (1, [1; 32]), snap(1), 400), "A and B are not idle");
        assert!(!cache.insert("D", (1, [1; 32]), snap(1), 2000), "larger than the whole budget");
        assert_eq!(cache.usage(), (2, 800));
        assert!(cache.take("A", (1, [1; 32])).is_some() && cache.take("B", (1, [1; 32])).is_some());
        assert!(cache.take("C", (1, [1; 32])).is_none());
    }

    #[test]
    fn idle_entries_make_room_least_recently_used_first() {
        let cache = BaseCache::new(1000);
        assert!(cache.insert("A", (1, [1; 32]), snap(1), 400));
        assert!(cache.insert("B", (1, [1; 32]), snap(1), 400));
        let later = Instant::now() + IDLE_EVICT + Duration::from_secs(1);
        {
            let mut inner = cache.lock();
            // B was put in more recently than A; both are idle by `later`.
            inner.entries.get_mut("B").expect("B cached").last_used += Duration::from_secs(1);
            let evicted = inner.evict_idle(600, later);
            assert_eq!(evicted.len(), 1);
        }
        assert_eq!(cache.usage(), (1, 400));
        assert!(cache.take("A", (1, [1; 32])).is_none(), "A was the least recently used");
        assert!(cache.take("B", (1, [1; 32])).is_some());
    }

    #[test]
    fn a_zero_budget_caches_nothing() {
        let cache = BaseCache::new(0);
        assert!(!cache.insert("A", (1, [1; 32]), snap(1), 1));
        assert_eq!(cache.usage(), (0, 0));
    }

    #[test]
    fn estimate_grows_with_objects_and_encoding() {
        let s = snap(10);
        assert!(estimate_bytes(&s, 500) > estimate_bytes(&snap(1), 500));
        assert_eq!(estimate_bytes(&s, 1500) - estimate_bytes(&s, 500), 1800);
    }
}
