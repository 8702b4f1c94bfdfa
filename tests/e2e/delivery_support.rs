//! Helpers for the delivery tests: a NOC and a satellite as real processes on 127.0.0.1, spools filled
//! through the satellite's own spool library (as its producers would), and the NOC's view read over its API.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use outpost_format::event::Lifecycle;
use outpost_format::model::{Object, ObjectKey, Snapshot};
use outpost_format::{EventKind, UnixMillis};
use outpost_satellite::spool::{Spool, SpoolConfig, SpoolStats};
use outpost_tests::{bin, wait_for};
use sha2::{Digest, Sha256};

/// The satellite's identity key (written into its state dir) and the operator API token.
pub const KEY: &str = "5a7e111e5a7e111e5a7e111e5a7e111e5a7e111e5a7e111e5a7e111e5a7e111e";
pub const API: &str = "delivery-test-operator-token";
/// Event times of filled events are `base_time() + i`, so the NOC's copy can be matched to the original.
/// Recent (an hour ago), so the satellite's age budget keeps them.
pub fn base_time() -> UnixMillis {
    static BASE: std::sync::OnceLock<UnixMillis> = std::sync::OnceLock::new();
    *BASE.get_or_init(|| outpost_satellite::spool::now_ms() - 3_600_000)
}

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

pub struct Noc {
    child: Option<Child>,
    pub port: u16,
    config: PathBuf,
    /// Set for a NOC serving HTTPS: the certificate to trust when reading its API.
    pub tls_cert: Option<PathBuf>,
}

impl Noc {
    /// Writes `noc.toml` under `dir` (with an inbox when given) and starts `noc serve` on `port`.
    pub fn start(dir: &Path, port: u16, inbox: Option<&Path>) -> Noc {
        let config = dir.join("noc.toml");
        let mut text = format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
             [api]\ntokens_sha256 = [\"{}\"]\n[[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{}\"\n\
             [rate_limit]\nper_second = 100000\nburst = 100000\n",
            sha(API),
            sha(KEY)
        );
        if let Some(inbox) = inbox {
            text.push_str(&format!("[inbox]\ndir = \"{}\"\nrescan_secs = 1\n", inbox.display()));
        }
        std::fs::write(&config, text).expect("write noc.toml");
        Noc::start_with(config, port)
    }

    /// Starts `noc serve` with a config file written by the caller.
    pub fn start_with(config: PathBuf, port: u16) -> Noc {
        let mut noc = Noc { child: None, port, config, tls_cert: None };
        noc.restart();
        noc
    }

    /// The operator token and the satellite token lines every test NOC config carries.
    pub fn credentials_toml() -> String {
        format!(
            "[api]\ntokens_sha256 = [\"{}\"]\n[[satellites]]\nlocation = \"FRA1\"\ntoken_sha256 = \"{}\"\n",
            sha(API),
            sha(KEY)
        )
    }

    pub fn restart(&mut self) {
        let child = Command::new(bin("noc"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("NOC_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start noc");
        self.child = Some(child);
        let port = self.port;
        wait_for("noc listening", Duration::from_secs(30), || TcpStream::connect(("127.0.0.1", port)).ok());
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Polls (gently: every 300 ms, so polling does not compete with delivery for the 2 cores) until the NOC
    /// holds at least `n` events for FRA1.
    pub fn wait_events(&self, what: &str, n: usize) -> Vec<NocEvent> {
        wait_for(what, Duration::from_secs(90), || {
            std::thread::sleep(Duration::from_millis(300));
            let ev = self.events();
            (ev.len() >= n).then_some(ev)
        })
    }

    /// Every event the NOC holds for FRA1, in commit order: (epoch, seq, time, kind name).
    pub fn events(&self) -> Vec<NocEvent> {
        let mut out = Vec::new();
        let mut after = 0i64;
        loop {
            let v = self.get(&format!("/api/v1/events?location=FRA1&limit=1000&after_id={after}"));
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return out;
            }
            for e in &items {
                after = after.max(e["id"].as_i64().unwrap_or(0));
                out.push(NocEvent {
                    epoch: e["epoch"].as_u64().unwrap_or(0),
                    seq: e["seq"].as_u64().unwrap_or(0),
                    time: e["time"].as_i64().unwrap_or(0),
                    kind: e["kind"].as_str().unwrap_or("").to_string(),
                    summary: e["summary"].as_str().unwrap_or("").to_string(),
                });
            }
        }
    }

    fn get(&self, path: &str) -> serde_json::Value {
        match &self.tls_cert {
            None => get_json(self.port, path),
            Some(cert) => get_json_tls(self.port, path, cert),
        }
    }

    /// Objects of FRA1 as name → (state, output).
    pub fn objects(&self) -> BTreeMap<String, (u64, String)> {
        let v = self.get("/api/v1/objects?location=FRA1&limit=100000");
        v["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|o| {
                        let name = o["name"].as_str().unwrap_or("").to_string();
                        (name, (o["state"].as_u64().unwrap_or(99), o["output"].as_str().unwrap_or("").to_string()))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for Noc {
    fn drop(&mut self) {
        self.kill();
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NocEvent {
    pub epoch: u64,
    pub seq: u64,
    pub time: i64,
    pub kind: String,
    pub summary: String,
}

/// GET with HTTP/1.0 over a plain socket (no chunking, connection closes at the end of the body).
pub fn get_json(port: u16, path: &str) -> serde_json::Value {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to noc");
    s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API}\r\n\r\n").expect("send");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read response");
    let text = String::from_utf8_lossy(&buf);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    assert!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
    serde_json::from_str(body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// GET over HTTPS, trusting `cert`.
fn get_json_tls(port: u16, path: &str, cert: &Path) -> serde_json::Value {
    let pem = std::fs::read(cert).expect("read cert");
    let certs = reqwest::Certificate::from_pem_bundle(&pem).expect("parse cert");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder().tls_certs_only(certs).build().expect("client");
        let resp = client
            .get(format!("https://127.0.0.1:{port}{path}"))
            .bearer_auth(API)
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {path}: {e}"));
        assert!(resp.status().is_success(), "GET {path}: {}", resp.status());
        resp.json().await.unwrap_or_else(|e| panic!("GET {path}: {e}"))
    })
}

pub struct Sat {
    pub config: PathBuf,
    pub spool_dir: PathBuf,
    pub spool_cfg: SpoolConfig,
}

impl Sat {
    /// A satellite whose NOC is `url`; `spool_toml` adds lines to `[spool]`.
    pub fn new(root: &Path, url: &str, spool_cfg: SpoolConfig) -> Sat {
        Sat::with_noc_options(root, url, spool_cfg, "")
    }

    /// As [`Sat::new`], with extra `[noc]` lines (e.g. `ca_file = "…"`).
    pub fn with_noc_options(root: &Path, url: &str, spool_cfg: SpoolConfig, noc_extra: &str) -> Sat {
        let state = root.join("state");
        let spool_dir = state.join("spool");
        std::fs::create_dir_all(&state).expect("state dir");
        std::fs::write(state.join("identity.key"), format!("{KEY}\n")).expect("key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(state.join("identity.key"), std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let config = root.join("satellite.toml");
        std::fs::write(
            &config,
            format!(
                "location = \"FRA1\"\nstate_dir = \"{}\"\n[noc]\nurls = [\"{url}\"]\nship_interval = \"1h\"\nrequest_timeout = \"3s\"\n{noc_extra}\n\
                 [spool]\ndir = \"{}\"\nmax_bytes = {}\nsegment_bytes = {}\n",
                state.display(),
                spool_dir.display(),
                spool_cfg.max_bytes,
                spool_cfg.segment_bytes
            ),
        )
        .expect("write satellite.toml");
        Sat { config, spool_dir, spool_cfg }
    }

    /// Appends events `from..from+n` (times base_time() + i) in batches of `batch`, as producers would.
    pub fn fill(&self, from: u32, n: u32, batch: u32) {
        let (spool, _) = Spool::open(&self.spool_dir, self.spool_cfg.clone()).expect("open spool to fill");
        let mut i = from;
        while i < from + n {
            let k = batch.min(from + n - i);
            let evs: Vec<_> = (i..i + k).map(|j| (base_time() + i64::from(j), filled_kind(j))).collect();
            spool.append(&evs).expect("append");
            i += k;
        }
    }

    pub fn put_snapshot(&self, snapshot: &Snapshot) {
        let (spool, _) = Spool::open(&self.spool_dir, self.spool_cfg.clone()).expect("open spool");
        spool.put_snapshot(snapshot).expect("put snapshot");
    }

    /// Spool state (the satellite must not be running).
    pub fn stats(&self) -> SpoolStats {
        let (spool, _) = Spool::open(&self.spool_dir, self.spool_cfg.clone()).expect("open spool for stats");
        spool.stats()
    }

    pub fn run(&self) -> Daemon {
        let child = Command::new(bin("satellite"))
            .arg("--config")
            .arg(&self.config)
            .arg("run")
            .env("OUTPOST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start satellite run");
        Daemon(Some(child))
    }

    pub fn ship(&self, timeout_secs: u32) -> Output {
        Command::new(bin("satellite"))
            .arg("--config")
            .arg(&self.config)
            .args(["ship", "--no-snapshot", "--quiet", "--timeout-secs", &timeout_secs.to_string()])
            .env("OUTPOST_LOG", "warn")
            .output()
            .expect("run satellite ship")
    }

    pub fn export(&self, to: &Path) -> Output {
        Command::new(bin("satellite"))
            .arg("--config")
            .arg(&self.config)
            .args(["export", "--mark-delivered", "--batch", "500", "--to"])
            .arg(to)
            .env("OUTPOST_LOG", "warn")
            .output()
            .expect("run satellite export")
    }
}

pub fn filled_kind(i: u32) -> EventKind {
    EventKind::Lifecycle(Lifecycle::ConfigChanged { added: i, changed: 0, removed: 0 })
}

/// A running `satellite run`. Dropped without [`terminate`] (a test failed), it is killed, so a failed test does not
/// leave a daemon checking and loading the machine for the rest of the run.
pub struct Daemon(Option<Child>);

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Stops a daemon with SIGTERM (it drains its writer) and waits.
pub fn terminate(mut daemon: Daemon) {
    if let Some(mut child) = daemon.0.take() {
        // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
        unsafe {
            libc::kill(child.id() as i32, libc::SIGTERM);
        }
        let _ = child.wait();
    }
}

/// kill -9 and reap.
pub fn kill9(daemon: Daemon) {
    drop(daemon);
}

/// A small site: one host and `n` services with states derived from `round`.
pub fn snapshot(n: usize, round: u64) -> Snapshot {
    let mut objects = outpost_format::ObjectMap::new();
    objects.insert(ObjectKey::host("web01"), Object::default());
    for i in 0..n {
        let mut o = Object::default();
        o.status.state = ((i as u64 + round) % 3) as u8;
        o.status.output = format!("svc{i} round {round}").into();
        objects.insert(ObjectKey::service("web01", format!("svc{i:03}")), o);
    }
    Snapshot { location: "FRA1".into(), taken_at: base_time() + round as i64, objects }
}

/// Drains what is left with `satellite ship`, then asserts the NOC holds every spooled event of the current epoch
/// exactly once and in order, and every filled event (by its original time) exactly once overall.
pub fn assert_exactly_once(sat: &Sat, noc: &Noc, filled: std::ops::Range<u32>) -> Vec<NocEvent> {
    let out = sat.ship(60);
    assert!(out.status.success(), "ship: {:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    let stats = sat.stats();
    assert_eq!(stats.pending_events, 0, "spool drained");
    let events = wait_for("the NOC to hold every event", Duration::from_secs(30), || {
        let ev = noc.events();
        (ev.iter().filter(|e| e.epoch == stats.epoch).count() as u64 >= stats.next_seq - 1).then_some(ev)
    });
    let seqs: Vec<u64> = events.iter().filter(|e| e.epoch == stats.epoch).map(|e| e.seq).collect();
    assert_eq!(seqs, (1..stats.next_seq).collect::<Vec<_>>(), "current epoch: every seq once, in order");
    let mut times: BTreeMap<i64, usize> = BTreeMap::new();
    for e in &events {
        *times.entry(e.time).or_default() += 1;
    }
    for i in filled {
        let t = base_time() + i64::from(i);
        assert_eq!(times.get(&t).copied(), Some(1), "filled event {i} (time {t}) arrives exactly once");
    }
    events
}

/// The NOC's objects equal `snapshot`.
pub fn assert_state_equal(noc: &Noc, snapshot: &Snapshot) {
    let objects = wait_for("the NOC to hold the snapshot", Duration::from_secs(30), || {
        let o = noc.objects();
        (o.len() == snapshot.objects.len()).then_some(o)
    });
    for (key, o) in &snapshot.objects {
        let found = objects
            .iter()
            .find(|(name, _)| match &key.service {
                Some(svc) => name.ends_with(&format!("/{svc}")),
                None => !name.contains('/'),
            })
            .unwrap_or_else(|| panic!("{key:?} missing at the NOC: {objects:?}"));
        assert_eq!(found.1.0, u64::from(o.status.state), "{key:?}");
        assert_eq!(found.1.1, o.status.output, "{key:?}");
    }
}

/// The satellite's `/metrics` page (Prometheus text), or `None` while it does not answer.
pub fn scrape_metrics(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").ok()?;
    let mut text = String::new();
    stream.read_to_string(&mut text).ok()?;
    text.starts_with("HTTP/1.1 200").then_some(text)
}

/// The value of an unlabelled sample in Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}
