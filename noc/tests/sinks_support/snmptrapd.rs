//! A net-snmp `snmptrapd` on 127.0.0.1 for tests of northbound SNMP, and reading what it received.
//!
//! Self-contained (tokio and tempfile only), so the end-to-end tests in `tests/e2e` include this file with
//! `#[path]` and assert against the same peer setup as the sink tests here.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

/// Hang guard only.
const DEADLINE: Duration = Duration::from_secs(20);

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
