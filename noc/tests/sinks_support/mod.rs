//! Shared helpers for the sink tests: a store in a temp dir fed with frames, and real peers
//! (snmptrapd, Nagios 4) started on 127.0.0.1 with their own config in a temp dir.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use outpost_format::event::StateChange;
use outpost_format::frame::Payload;
use outpost_format::model::StateType;
use outpost_format::{Event, EventKind, Frame, Object, ObjectKey, Snapshot};
use outpost_noc::store::{FrameMeta, Store, StoreOptions};

/// Hang guard only.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
    epoch: u64,
    /// Per location: last snapshot seq and last event seq (each location's streams start at 1).
    seqs: BTreeMap<String, (u64, u64)>,
}

pub fn now_ms() -> i64 {
    outpost_noc::store::now_ms()
}

impl TestStore {
    pub fn new() -> TestStore {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("noc.db"), StoreOptions::default()).expect("open store");
        TestStore { store, dir, epoch: 42, seqs: BTreeMap::new() }
    }

    async fn apply(&self, frame: Frame) {
        let meta = FrameMeta { received_at: now_ms(), ..FrameMeta::default() };
        self.store.apply_frame(frame, meta).await.expect("frame applies");
    }

    /// A full snapshot of `location` from (host, service, state, output); service "" is a host.
    pub async fn snapshot(&mut self, location: &str, objects: &[(&str, &str, u8, &str)]) {
        let mut map = BTreeMap::new();
        for (host, svc, state, output) in objects {
            let key = if svc.is_empty() { ObjectKey::host(*host) } else { ObjectKey::service(*host, *svc) };
            let mut o = Object::default();
            o.status.state = *state;
            o.status.state_type = StateType::Hard;
            o.status.output = output.to_string();
            o.status.last_check = now_ms();
            o.status.checks_enabled = true;
            map.insert(key, o);
        }
        let seqs = self.seqs.entry(location.to_string()).or_default();
        seqs.0 += 1;
        let seq = seqs.0;
        let snap = Snapshot { location: location.into(), taken_at: now_ms(), objects: map };
        self.apply(Frame { location: location.into(), epoch: self.epoch, seq, payload: Payload::Full(snap) }).await;
    }

    /// Events for `location`, numbered on from the last ones.
    pub async fn events(&mut self, location: &str, kinds: Vec<EventKind>) {
        let seqs = self.seqs.entry(location.to_string()).or_default();
        let events: Vec<Event> = kinds
            .into_iter()
            .map(|kind| {
                seqs.1 += 1;
                Event { seq: seqs.1, time: now_ms(), kind }
            })
            .collect();
        let seq = seqs.1;
        self.apply(Frame { location: location.into(), epoch: self.epoch, seq, payload: Payload::Events(events) }).await;
    }
}

pub fn state_change(host: &str, svc: &str, state: u8, output: &str) -> EventKind {
    EventKind::StateChange(StateChange {
        key: if svc.is_empty() { ObjectKey::host(host) } else { ObjectKey::service(host, svc) },
        state,
        previous_state: 0,
        state_type: StateType::Hard,
        attempt: 3,
        max_attempts: 3,
        output: output.into(),
        long_output: String::new(),
        perfdata: String::new(),
    })
}

/// A UDP port free on 127.0.0.1 at the time of the call.
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

/// A net-snmp `snmptrapd` on 127.0.0.1 writing one line per notification (`TRAP\t<varbinds, tab-separated>`).
pub struct TrapDaemon {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Option<tokio::process::Child>,
    /// snmptrapd truncates its log file when it starts, so each start logs to its own file.
    starts: usize,
}

impl TrapDaemon {
    pub async fn start(port: u16) -> TrapDaemon {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = TrapDaemon { port, dir, child: None, starts: 0 };
        d.restart().await;
        d
    }

    pub fn log(&self) -> std::path::PathBuf {
        self.log_of(self.starts)
    }

    fn log_of(&self, start: usize) -> std::path::PathBuf {
        self.dir.path().join(format!("traps-{start}.log"))
    }

    fn all_logs(&self) -> String {
        (1..=self.starts).map(|n| std::fs::read_to_string(self.log_of(n)).unwrap_or_default()).collect()
    }

    pub async fn restart(&mut self) {
        self.starts += 1;
        let conf = self.dir.path().join("snmptrapd.conf");
        std::fs::write(&conf, "authCommunity log public\ncreateUser informuser SHA authpass123 AES privpass123\nauthUser log informuser priv\n").expect("conf");
        let child = tokio::process::Command::new("snmptrapd")
            .args(["-f", "-C", "-c"])
            .arg(&conf)
            .args(["-n", "-On", "-Lf"])
            .arg(self.log())
            .args(["-F", "TRAP\t%v\n", &format!("udp:127.0.0.1:{}", self.port)])
            .env("SNMPCONFPATH", self.dir.path())
            .env("SNMP_PERSISTENT_DIR", self.dir.path())
            .env("MIBS", "")
            .kill_on_drop(true)
            .spawn()
            .expect("start snmptrapd (install net-snmp's snmptrapd with scripts/install-test-deps)");
        self.child = Some(child);
        // snmptrapd logs its version line once it listens
        wait_for(&self.log(), "NET-SNMP version", 1).await;
    }

    pub async fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill().await;
        }
    }

    /// The varbinds of received notifications, as (numeric OID, rendered value) pairs.
    pub fn traps(&self) -> Vec<Vec<(String, String)>> {
        let text = self.all_logs();
        text.lines()
            .filter_map(|l| l.strip_prefix("TRAP\t"))
            .map(|l| {
                l.split('\t')
                    .filter_map(|vb| vb.split_once(" = "))
                    .map(|(o, v)| (o.trim_start_matches('.').to_string(), v.trim().to_string()))
                    .collect()
            })
            .collect()
    }

    /// Waits until at least `n` notifications were logged.
    pub async fn wait_traps(&self, n: usize) -> Vec<Vec<(String, String)>> {
        tokio::time::timeout(DEADLINE, async {
            loop {
                let t = self.traps();
                if t.len() >= n {
                    return t;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("snmptrapd did not log {n} notifications; log:\n{}", self.all_logs()))
    }
}

/// Waits until `path` contains `needle` at least `n` times.
pub async fn wait_for(path: &Path, needle: &str, n: usize) {
    let ok = tokio::time::timeout(DEADLINE, async {
        loop {
            if std::fs::read_to_string(path).unwrap_or_default().matches(needle).count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(
        ok.is_ok(),
        "{} never contained {needle:?} {n} times:\n{}",
        path.display(),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

pub fn value<'a>(trap: &'a [(String, String)], oid: &str) -> Option<&'a str> {
    trap.iter().find(|(o, _)| o == oid).map(|(_, v)| v.as_str())
}
