//! `[connections] max_per_address` with the NOC's real listener on 127.0.0.1: one source address flooding
//! connections holds at most its cap, the rest are closed at once and counted, another address is still served,
//! and the flooder's slots come back when its connections close. Clients pick their source address in 127.0.0.0/8.

mod common;

use std::net::IpAddr;

use common::{TestNoc, closed_by_noc, connect_from, metric, poll_until};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_at_its_cap_is_closed_at_once_and_does_not_lock_out_another() {
    // 60 s timeouts: during the test only the per-address cap closes connections.
    let noc = TestNoc::start(
        "",
        "[connections]\nmax = 6\nmax_per_address = 2\nheader_read_timeout_secs = 60\nidle_timeout_secs = 60\n",
    )
    .await;
    let flooder: IpAddr = "127.0.0.2".parse().expect("ip");
    // As many silent connections as the global cap: without the per-address cap they would hold every slot.
    let mut flood = Vec::new();
    for _ in 0..6 {
        flood.push(connect_from(flooder, noc.addr).await);
    }
    // The kernel queues completed handshakes in order: the first two take the address's slots.
    for (i, c) in flood.iter_mut().enumerate().skip(2) {
        assert!(closed_by_noc(c).await, "connection {i} over the address's cap was not closed");
    }
    assert!(noc.healthy().await, "another address (127.0.0.1) is served while 127.0.0.2 is at its cap");
    let refused = "outpost_noc_connections_refused_total{reason=\"per_address\"}";
    let text = noc.metrics().await;
    assert_eq!(metric(&text, refused), Some(4.0), "{text}");

    // At its cap the flooder itself is refused, over HTTPS as well; once its connections close it is served again.
    let from_flooder = noc.client_from(flooder);
    assert!(from_flooder.get(noc.url("/healthz")).send().await.is_err(), "a third connection from 127.0.0.2");
    assert_eq!(metric(&noc.metrics().await, refused), Some(5.0));
    drop(flood);
    // The NOC frees the slots when it sees the closes; until then a new connection may still be refused.
    poll_until("127.0.0.2 is served again once its connections closed", || async {
        from_flooder.get(noc.url("/healthz")).send().await.ok().filter(|r| r.status() == 200)
    })
    .await;
    noc.stop().await;
}
