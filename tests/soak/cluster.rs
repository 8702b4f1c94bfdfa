//! The processes under test: one `noc serve` and several `satellite run`, each satellite behind its own
//! fault proxy, with configs, identities and logs under the soak's directory.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use outpost_satellite::control::SOCKET_NAME;
use outpost_satellite::spool::{Spool, SpoolConfig, SpoolStats};
use outpost_tests::proxy::FaultProxy;
use outpost_tests::{bin, free_port, wait_for};
use sha2::{Digest, Sha256};

/// The operator API token of the soak's NOC.
pub const API_TOKEN: &str = "soak-operator-token";

pub fn sha_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// A child process whose stderr is appended to a log file; killed (SIGKILL) when dropped.
pub struct Proc {
    child: Option<Child>,
    pub starts: u64,
}

impl Proc {
    fn new() -> Proc {
        Proc { child: None, starts: 0 }
    }

    fn spawn(&mut self, mut cmd: Command, log: &Path) {
        let log = OpenOptions::new().create(true).append(true).open(log).expect("open process log");
        cmd.stdout(Stdio::null()).stderr(Stdio::from(log));
        self.child = Some(cmd.spawn().expect("start process"));
        self.starts += 1;
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// kill -9 and reap.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM (a clean stop) and reap.
    pub fn terminate(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: kill(2) on our own child's pid has no memory-safety preconditions.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
            let _ = c.wait();
        }
    }

    /// Running, or died on its own (which the soak reports as a failure).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut().and_then(|c| c.try_wait().ok().flatten())
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

pub struct Noc {
    pub port: u16,
    config: PathBuf,
    log: PathBuf,
    pub proc: Proc,
}

impl Noc {
    /// Writes the NOC config (every satellite's token, a webhook sink to `webhook_port`) and starts it.
    pub fn start(dir: &Path, locations: &[String], webhook_port: u16) -> Noc {
        std::fs::create_dir_all(dir).expect("noc dir");
        let port = free_port();
        let mut text = format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
             [api]\ntokens_sha256 = [\"{}\"]\n[rate_limit]\nper_second = 100000\nburst = 100000\n",
            sha_hex(API_TOKEN)
        );
        for loc in locations {
            text.push_str(&format!(
                "[[satellites]]\nlocation = \"{loc}\"\ntoken_sha256 = \"{}\"\n",
                sha_hex(&identity_key(loc))
            ));
        }
        text.push_str(&format!(
            "[[sinks.webhook]]\nname = \"soak\"\nurl = \"http://127.0.0.1:{webhook_port}/hook\"\n\
             secret = \"soak-webhook-secret-0123456789\"\nbatch_size = 500\ntimeout_ms = 5000\n"
        ));
        let config = dir.join("noc.toml");
        std::fs::write(&config, text).expect("write noc.toml");
        let mut noc = Noc { port, config, log: dir.join("noc.log"), proc: Proc::new() };
        noc.restart();
        noc
    }

    pub fn restart(&mut self) {
        let mut cmd = Command::new(bin("noc"));
        cmd.args(["serve", "--config"]).arg(&self.config).env("NOC_LOG", "warn");
        self.proc.spawn(cmd, &self.log);
        let port = self.port;
        wait_for("the NOC to listen", Duration::from_secs(60), || TcpStream::connect(("127.0.0.1", port)).ok());
    }

    /// GET a JSON API path (HTTP/1.0: the body ends when the connection closes).
    pub fn get(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port))?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        write!(s, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_TOKEN}\r\n\r\n")?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf)?;
        let text = String::from_utf8_lossy(&buf);
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        anyhow::ensure!(head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"), "GET {path}: {head}");
        Ok(serde_json::from_str(body)?)
    }

    /// Every event the NOC holds (for one location, or all), in commit order, as the API returns them.
    pub fn events(&self, location: Option<&str>) -> anyhow::Result<Vec<serde_json::Value>> {
        let mut out = Vec::new();
        let mut after = 0i64;
        let filter = location.map(|l| format!("location={l}&")).unwrap_or_default();
        loop {
            let v = self.get(&format!("/api/v1/events?{filter}limit=1000&after_id={after}"))?;
            let items = v["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                return Ok(out);
            }
            for e in items {
                after = after.max(e["id"].as_i64().unwrap_or(0));
                out.push(e);
            }
        }
    }
}

/// A satellite's identity key (its bearer token), derived from its location.
fn identity_key(location: &str) -> String {
    sha_hex(&format!("soak identity {location}"))
}

/// What a satellite checks and how big its spool is.
pub struct SatPlan {
    pub location: String,
    pub services: usize,
    pub check_interval_secs: u64,
    pub flip_period_secs: u64,
    pub spool: SpoolConfig,
}

pub struct Satellite {
    pub plan: SatPlan,
    pub config: PathBuf,
    pub spool_dir: PathBuf,
    /// The daemon's control socket: it answers once the daemon is up.
    control_socket: PathBuf,
    pub trap_port: u16,
    pub proxy: FaultProxy,
    log: PathBuf,
    pub proc: Proc,
}

/// Services per host.
const PER_HOST: usize = 10;

impl Satellite {
    /// Writes the satellite's config and identity under `dir/<location>/`, with its NOC behind a new proxy.
    pub fn create(root: &Path, plan: SatPlan, noc_port: u16, plugin: &Path) -> Satellite {
        let dir = root.join(&plan.location);
        let state = dir.join("state");
        let spool_dir = state.join("spool");
        std::fs::create_dir_all(&state).expect("state dir");
        let key = state.join("identity.key");
        std::fs::write(&key, format!("{}\n", identity_key(&plan.location))).expect("identity key");
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod identity key");
        }
        let proxy = FaultProxy::start(([127, 0, 0, 1], noc_port).into());
        let trap_port = free_port();
        let plugin = plugin.display();
        let interval = plan.check_interval_secs;
        let mut text = format!(
            "location = \"{loc}\"\nstate_dir = \"{state}\"\n\
             [noc]\nurls = [\"{url}\"]\nship_interval = \"5s\"\nrequest_timeout = \"5s\"\n\
             [spool]\ndir = \"{spool}\"\nmax_bytes = {max}\nsegment_bytes = {seg}\n\
             [traps]\nenabled = true\nlisten = \"127.0.0.1:{trap_port}\"\ncommunities = [\"public\"]\n\
             allowed_sources = [\"127.0.0.1\"]\nrate_limit_per_sec = 100000\nburst = 100000\n\
             [defaults.host]\ncheck_command = \"{plugin} host\"\ncheck_interval = \"300s\"\nmax_attempts = 1\n\
             [defaults.service]\ncheck_interval = \"{interval}s\"\nretry_interval = \"{retry}s\"\nmax_attempts = 2\n\
             timeout = \"10s\"\n",
            loc = plan.location,
            state = state.display(),
            url = proxy.url(),
            spool = spool_dir.display(),
            max = plan.spool.max_bytes,
            seg = plan.spool.segment_bytes,
            retry = (interval / 2).max(1),
        );
        for h in 0..plan.services.div_ceil(PER_HOST) {
            text.push_str(&format!("[[hosts]]\nname = \"h{h:04}\"\naddress = \"127.0.0.1\"\n"));
            let n = PER_HOST.min(plan.services - h * PER_HOST);
            for s in 0..n {
                text.push_str(&format!(
                    "[[services]]\nname = \"svc{s}\"\nhost = \"h{h:04}\"\ncheck_command = \"{plugin} h{h:04}/svc{s} {}\"\n",
                    plan.flip_period_secs
                ));
            }
        }
        let config = dir.join("satellite.toml");
        std::fs::write(&config, text).expect("write satellite.toml");
        Satellite {
            plan,
            config,
            spool_dir,
            control_socket: state.join(SOCKET_NAME),
            trap_port,
            proxy,
            log: dir.join("satellite.log"),
            proc: Proc::new(),
        }
    }

    pub fn location(&self) -> &str {
        &self.plan.location
    }

    /// Starts `satellite run` and waits until its control socket answers, so what the soak does next (`pause` and
    /// `status` at the end of the run, a fault) meets a running daemon however slowly it starts on a loaded machine.
    /// A daemon that dies while starting is left to the soak's crash check.
    pub fn start(&mut self) {
        let mut cmd = Command::new(bin("satellite"));
        cmd.arg("--config").arg(&self.config).arg("run").env("OUTPOST_LOG", "warn");
        self.proc.spawn(cmd, &self.log);
        let (socket, proc) = (&self.control_socket, &mut self.proc);
        // A killed daemon's socket file stays behind, refusing connections until the new daemon replaces it.
        let what = format!("{} to answer on {}", self.plan.location, socket.display());
        wait_for(&what, Duration::from_secs(120), || {
            (proc.exited().is_some() || UnixStream::connect(socket).is_ok()).then_some(())
        });
    }

    /// Runs a satellite subcommand (`pause`, `status --all --json`, `ship ...`) and returns its output.
    pub fn command(&self, args: &[&str]) -> Output {
        Command::new(bin("satellite"))
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .env("OUTPOST_LOG", "warn")
            .output()
            .expect("run satellite subcommand")
    }

    /// Spool statistics and the next spool seq; the daemon must be stopped (the spool is locked while it runs).
    pub fn spool_stats(&self) -> anyhow::Result<(SpoolStats, u64)> {
        let (spool, _) = Spool::open(&self.spool_dir, self.plan.spool.clone())?;
        Ok((spool.stats(), spool.next_spool_seq()))
    }

    /// Flips one byte in the middle of a sealed segment that still holds undelivered events; returns which.
    /// The daemon must be stopped.
    pub fn corrupt_spool(&self, pick: u64) -> Option<PathBuf> {
        let mut segs: Vec<PathBuf> = std::fs::read_dir(self.spool_dir.join("segments"))
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "seg"))
            .collect();
        segs.sort();
        // The last segment is the active one; a damaged tail there is a torn write, not corruption.
        segs.pop();
        if segs.is_empty() {
            return None;
        }
        let victim = segs[pick as usize % segs.len()].clone();
        let mut f = OpenOptions::new().read(true).write(true).open(&victim).ok()?;
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).ok()?;
        if bytes.len() < 256 {
            return None;
        }
        let at = 64 + (pick as usize % (bytes.len() - 128));
        bytes[at] ^= 0x5a;
        drop(f);
        let mut f = File::create(&victim).ok()?;
        f.write_all(&bytes).ok()?;
        f.sync_all().ok()?;
        Some(victim)
    }
}
