//! Retention against sinks: a webhook sink whose receiver is down while retention deletes the events it had not
//! delivered reports the loss (count in the store, `outpost_noc_sink_events_lost_total{sink}`), then delivers what
//! is left once the receiver is back; a sink that kept up loses nothing.

mod sinks_support;

use std::sync::{Arc, Mutex};

use outpost_noc::sinks;
use outpost_noc::store::StoreOptions;
use sinks_support::webhook::{Receiver, receiver};
use sinks_support::{TestStore, state_change, wait_for};
use tokio_util::sync::CancellationToken;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_behind_retention_reports_its_loss_and_a_sink_that_kept_up_loses_nothing() {
    let metrics = outpost_noc::metrics::install().expect("the only recorder in this test binary");
    let up = Arc::new(Mutex::new(Receiver::default()));
    let down = Arc::new(Mutex::new(Receiver { down: true, ..Receiver::default() }));
    let (up_addr, down_addr) = (receiver(up.clone()).await, receiver(down.clone()).await);

    let mut ts = TestStore::with_options(StoreOptions { events_max_rows: 2, ..StoreOptions::default() });
    let cfg: toml::Table = toml::from_str(&format!(
        "replay_history = true\n\
         [[webhook]]\nname = \"up\"\nurl = \"http://{up_addr}/hook\"\nsecret = \"0123456789abcdef-up\"\n\
         [[webhook]]\nname = \"down\"\nurl = \"http://{down_addr}/hook\"\nsecret = \"0123456789abcdef-down\"\n"
    ))
    .expect("toml");
    let cancel = CancellationToken::new();
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");
    let outputs: Vec<String> = (1..=5).map(|i| format!("CRITICAL - {i}")).collect();
    ts.events("FRA1", outputs.iter().map(|o| state_change("web01", "HTTP", 2, o)).collect()).await;
    let logged = ts.store.events_after(-1, 1000).expect("events").len() as u64;
    assert_eq!(logged, 5);
    let last = ts.store.last_event_id().expect("last id");
    wait_for("the up sink delivers everything", || ts.store.sink_cursor("webhook:up").expect("cursor") == last).await;
    assert_eq!(up.lock().expect("lock").outputs, outputs);

    // Retention keeps the newest 2: the down sink had delivered none of the 3 it deletes.
    ts.store.maintain().await.expect("maintain");
    assert_eq!(ts.store.events_after(-1, 1000).expect("events").len(), 2);
    // The sink marks the loss reported in the store, then logs and counts it: wait for the count.
    let lost_down = "outpost_noc_sink_events_lost_total{sink=\"webhook:down\"}";
    wait_for("the down sink counts its loss", || metrics.render().contains(lost_down)).await;
    let text = metrics.render();
    assert!(text.contains(&format!("{lost_down} 3\n")), "{text}");
    assert!(!text.contains("outpost_noc_sink_events_lost_total{sink=\"webhook:up\"}"), "{text}");
    assert_eq!(ts.store.sink_losses("webhook:down").expect("losses"), (3, 3), "reported once");
    assert_eq!(ts.store.sink_losses("webhook:up").expect("losses"), (0, 0));

    // The receiver comes back: the down sink delivers what is left, once, and reports nothing more.
    down.lock().expect("lock").down = false;
    wait_for("the down sink catches up", || ts.store.sink_cursor("webhook:down").expect("cursor") == last).await;
    assert_eq!(down.lock().expect("lock").outputs, outputs[3..]);
    assert_eq!(ts.store.sink_losses("webhook:down").expect("losses"), (3, 3));
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
}
