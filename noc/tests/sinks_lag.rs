//! The per-sink lag gauges, read from `/metrics` of a NOC with two webhook sinks whose receivers fail: one answers
//! 503 (the sink retries with backoff), one leaves the post unanswered (the sink waits inside one delivery, so only
//! the periodic refresh can move its gauges). Events arrive, the lag counts them and the age of the oldest grows;
//! the receivers come back and both gauges return to 0.

mod common;
mod sinks_support;

use std::sync::{Arc, Mutex};

use common::{TestNoc, events, metric, poll_until, state_change};
use sinks_support::webhook::{Receiver, receiver};

fn lag(sink: &str) -> String {
    format!("outpost_noc_sink_lag_events{{sink=\"webhook:{sink}\"}}")
}

fn age(sink: &str) -> String {
    format!("outpost_noc_sink_oldest_undelivered_age_seconds{{sink=\"webhook:{sink}\"}}")
}

/// A webhook sink named `name` posting to `addr`, state changes only, with a timeout longer than the test.
fn sink(name: &str, addr: std::net::SocketAddr) -> String {
    format!(
        "[[sinks.webhook]]\nname = \"{name}\"\nurl = \"http://{addr}/hook\"\nsecret = \"0123456789abcdef-{name}\"\n\
         timeout_ms = 120000\n[sinks.webhook.filter]\nkinds = [\"state_change\"]\n"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sinks_whose_receivers_fail_show_their_lag_and_a_growing_age_until_they_catch_up() {
    let down = Arc::new(Mutex::new(Receiver { down: true, ..Receiver::default() }));
    let stuck = Arc::new(Mutex::new(Receiver { stuck: true, ..Receiver::default() }));
    let (down_addr, stuck_addr) = (receiver(down.clone()).await, receiver(stuck.clone()).await);
    let noc = TestNoc::start("", &(sink("down", down_addr) + &sink("stuck", stuck_addr))).await;
    let outputs: Vec<String> = (1..=3).map(|i| format!("CRITICAL - {i}")).collect();
    let batch = outputs.iter().enumerate().map(|(i, o)| state_change(i as u64 + 1, "web01", "HTTP", 2, o)).collect();
    assert_eq!(noc.send(&events("FRA1", 7, batch)).await.0, 200);
    // Every event in the log is after the sinks' cursors (they started on the empty log), NOC-raised ones included.
    let logged = noc.api("/api/v1/events?limit=1000").await["items"].as_array().map_or(0, Vec::len) as f64;
    assert!(logged >= 3.0, "the three events are logged");

    for name in ["down", "stuck"] {
        let first_age = poll_until(&format!("{name}: the lag gauge counts the undelivered events"), || async {
            let text = noc.metrics().await;
            (metric(&text, &lag(name)) == Some(logged)).then(|| metric(&text, &age(name)).expect("age beside lag"))
        })
        .await;
        poll_until(&format!("{name}: the age of the oldest undelivered event grows"), || async {
            let text = noc.metrics().await;
            assert_eq!(metric(&text, &lag(name)), Some(logged), "nothing delivered, nothing new: {text}");
            metric(&text, &age(name)).filter(|age| *age > first_age)
        })
        .await;
    }
    assert!(down.lock().expect("lock").outputs.is_empty() && stuck.lock().expect("lock").outputs.is_empty());

    down.lock().expect("lock").down = false;
    stuck.lock().expect("lock").stuck = false;
    for name in ["down", "stuck"] {
        poll_until(&format!("{name}: lag and age return to 0 once the receiver is back"), || async {
            let text = noc.metrics().await;
            (metric(&text, &lag(name)) == Some(0.0) && metric(&text, &age(name)) == Some(0.0)).then_some(())
        })
        .await;
    }
    assert_eq!(down.lock().expect("lock").outputs, outputs, "delivered in order once the receiver is back");
    assert_eq!(stuck.lock().expect("lock").outputs, outputs, "delivered in order once the receiver answers");
    noc.stop().await;
}
