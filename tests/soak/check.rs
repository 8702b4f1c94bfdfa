//! `soak-check`: the soak's Nagios plugin. Cheap to run (no shell, no libraries), and its state flips with
//! the clock so thousands of services keep producing state changes.
//!
//! `soak-check host` is always UP. `soak-check ID PERIOD_SECS` is OK most of the time and WARNING or
//! CRITICAL for some periods: the state of each PERIOD-long slot is a hash of (ID, slot), and each ID's
//! slots start at a different offset so the services do not all change at once.

use std::time::{SystemTime, UNIX_EPOCH};

fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("host") {
        println!("OK - host is alive");
        return;
    }
    let (Some(id), Some(period)) = (args.first(), args.get(1).and_then(|p| p.parse::<u64>().ok()).filter(|p| *p > 0))
    else {
        println!("UNKNOWN - usage: soak-check host | soak-check ID PERIOD_SECS");
        std::process::exit(3);
    };
    let id_hash = id.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let slot = (now + id_hash % period) / period;
    let (code, name) = match mix(id_hash ^ slot) % 10 {
        0 => (2, "CRITICAL"),
        1 | 2 => (1, "WARNING"),
        _ => (0, "OK"),
    };
    println!("{name} - {id} slot {slot}|slot={slot}");
    std::process::exit(code);
}
