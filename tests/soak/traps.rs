//! The trap source: a real net-snmp v2c capture (`fixtures/traps/v2c-trap.bin`) sent over UDP with its
//! `sysName` value ("router1") replaced by a marker unique per satellite (`q` and six digits), so the
//! verifier can tell a trap delivered twice from two traps.

use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

const PLACEHOLDER: &[u8] = b"router1";

pub struct TrapSource {
    template: Vec<u8>,
    at: usize,
    socket: UdpSocket,
}

impl TrapSource {
    pub fn new() -> TrapSource {
        let path = outpost_tests::workspace_root().join("fixtures/traps/v2c-trap.bin");
        let template = std::fs::read(&path).expect("read fixtures/traps/v2c-trap.bin");
        let at = template.windows(PLACEHOLDER.len()).position(|w| w == PLACEHOLDER).expect("sysName in the capture");
        TrapSource { template, at, socket: UdpSocket::bind("127.0.0.1:0").expect("bind trap source") }
    }

    /// Sends trap number `n` to `port`.
    pub fn send(&self, port: u16, n: u64) {
        let mut pkt = self.template.clone();
        pkt[self.at..self.at + PLACEHOLDER.len()].copy_from_slice(marker(n).as_bytes());
        // A satellite that is down (killed by the soak) refuses with ICMP; that trap was never received.
        let _ = self.socket.send_to(&pkt, ("127.0.0.1", port));
    }
}

/// The marker of trap `n`: always 7 bytes, the length of the value it replaces.
pub fn marker(n: u64) -> String {
    format!("q{:06}", n % 1_000_000)
}

/// Per-satellite trap counter, shared by the steady source and the soak's bursts.
#[derive(Default)]
pub struct Counter(AtomicU64);

impl Counter {
    pub fn next(&self) -> u64 {
        self.0.fetch_add(1, Ordering::SeqCst)
    }
    pub fn sent(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sends `per_sec` traps per second to each port until `stop`.
pub fn steady(ports: Vec<(u16, Arc<Counter>)>, per_sec: u64, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let src = TrapSource::new();
        let pause = Duration::from_millis(1000 / per_sec.max(1));
        while !stop.load(Ordering::SeqCst) {
            for (port, counter) in &ports {
                src.send(*port, counter.next());
            }
            std::thread::sleep(pause);
        }
    })
}

/// Sends `count` traps to `port` as fast as a small pacing allows (a trap storm).
pub fn burst(port: u16, counter: &Counter, count: u64) {
    let src = TrapSource::new();
    for i in 0..count {
        src.send(port, counter.next());
        // 1 ms every 8 traps: fast, yet below what the socket buffer would drop on a busy machine.
        if i % 8 == 7 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
