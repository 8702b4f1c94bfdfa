//! Helpers shared by the spool's integration tests.

use outpost_format::Event;
use outpost_satellite::spool::Spool;

/// Reads everything unacknowledged, in order, without acknowledging it.
pub fn drain(spool: &Spool) -> Vec<Event> {
    let mut out = Vec::new();
    let mut from = 0;
    loop {
        let b = spool.read(from, 10_000, usize::MAX).expect("read");
        if b.events.is_empty() {
            return out;
        }
        from = b.next_spool_seq;
        out.extend(b.events);
    }
}
