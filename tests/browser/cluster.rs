//! A NOC and satellites for the browser tests: the real `noc` and `satellite` binaries on 127.0.0.1, in a
//! temporary directory, configured the way `scripts/demo` configures them (from `fixtures/demo/`).
//! Every process is stopped when the [`Cluster`] is dropped, also when a test fails.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

pub const OPERATOR: &str = "admin";
pub const PASSWORD: &str = "browser-test-password";

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub url: String,
    pub flags: PathBuf,
    api_token: String,
    http: reqwest::Client,
    children: Vec<(String, Child)>,
}

impl Cluster {
    /// Starts a NOC with one web operator ([`OPERATOR`] / [`PASSWORD`]) and an API token, and waits until it serves.
    pub async fn start_noc() -> anyhow::Result<Cluster> {
        let dir = tempfile::Builder::new().prefix("outpost-browser-").tempdir().context("temp dir")?;
        std::fs::create_dir_all(dir.path().join("logs"))?;
        let flags = dir.path().join("flags");
        std::fs::create_dir_all(&flags)?;
        let port = outpost_tests::free_port();
        let api_token = hex_token();
        let hash = hash_password(PASSWORD)?;
        let config = std::fs::read_to_string(fixture("noc.toml"))?
            .replace("@PORT@", &port.to_string())
            .replace("@API_TOKEN_SHA256@", &sha256_hex(&api_token))
            .replace("@ADMIN_PASSWORD_HASH@", &hash);
        let config_path = dir.path().join("noc.toml");
        std::fs::write(&config_path, config)?;
        let mut cluster = Cluster {
            url: format!("http://127.0.0.1:{port}"),
            flags,
            api_token,
            http: reqwest::Client::new(),
            children: Vec::new(),
            dir,
        };
        let log = cluster.log_file("noc")?;
        let child = Command::new(outpost_tests::bin("noc"))
            .arg("serve")
            .arg("--config")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("start noc")?;
        cluster.children.push(("noc".into(), child));
        let deadline = Instant::now() + Duration::from_secs(30);
        while cluster.http.get(format!("{}/login", cluster.url)).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("the NOC did not answer on {}:\n{}", cluster.url, cluster.log_tail("noc"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(cluster)
    }

    /// Starts a satellite configured from `fixtures/demo/<location>.toml`, as `scripts/demo` does.
    pub fn start_demo_satellite(&mut self, location: &str) -> anyhow::Result<()> {
        let text = std::fs::read_to_string(fixture(&format!("{location}.toml")))?;
        self.start_satellite(location, &text)
    }

    /// Starts a satellite from a config template (the `@PLACEHOLDERS@` of `fixtures/demo/` are filled in).
    pub fn start_satellite(&mut self, location: &str, template: &str) -> anyhow::Result<()> {
        let state_dir = self.dir.path().join(location);
        std::fs::create_dir_all(&state_dir)?;
        let plugins = outpost_tests::workspace_root().join("fixtures/plugins");
        let config = template
            .replace("@STATE_DIR@", &state_dir.display().to_string())
            .replace("@NOC_URL@", &self.url)
            .replace("@PLUGINS@", &plugins.display().to_string())
            .replace("@FLAGS@", &self.flags.display().to_string())
            .replace("@TRAP_PORT@", &outpost_tests::free_port().to_string());
        let path = state_dir.join("satellite.toml");
        std::fs::write(&path, config)?;
        let log = self.log_file(location)?;
        let child = Command::new(outpost_tests::bin("satellite"))
            .arg("run")
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("start satellite {location}"))?;
        self.children.push((location.to_string(), child));
        Ok(())
    }

    /// GET on the operator API with the bearer token.
    pub async fn api_get(&self, path: &str) -> anyhow::Result<Value> {
        let resp = self.http.get(format!("{}{path}", self.url)).bearer_auth(&self.api_token).send().await?;
        let status = resp.status();
        if !status.is_success() {
            bail!("GET {path}: {status} {}", resp.text().await.unwrap_or_default());
        }
        Ok(resp.json().await?)
    }

    /// Accepts each of `locations` as soon as it shows up as pending (what an operator does after a first start).
    pub async fn accept_when_pending(&self, locations: &[&str], timeout: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + timeout;
        let mut left: Vec<&str> = locations.to_vec();
        while !left.is_empty() {
            let sats = self.api_get("/api/v1/satellites").await?;
            for loc in left.clone() {
                let pending =
                    sats.as_array().into_iter().flatten().any(|s| s["location"] == loc && s["status"] == "pending");
                if pending {
                    let resp = self
                        .http
                        .post(format!("{}/api/v1/satellites/{loc}/accept", self.url))
                        .bearer_auth(&self.api_token)
                        .send()
                        .await?;
                    if resp.status().is_success() {
                        left.retain(|l| *l != loc);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("satellites {left:?} never enrolled:\n{}", self.all_log_tails());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Ok(())
    }

    fn log_file(&self, name: &str) -> anyhow::Result<std::fs::File> {
        std::fs::File::create(self.dir.path().join("logs").join(format!("{name}.log"))).context("create log")
    }

    /// The last lines of a process's log, for failure messages.
    pub fn log_tail(&self, name: &str) -> String {
        let text =
            std::fs::read_to_string(self.dir.path().join("logs").join(format!("{name}.log"))).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let from = lines.len().saturating_sub(15);
        format!("--- {name} log (last lines) ---\n{}", lines[from..].join("\n"))
    }

    pub fn all_log_tails(&self) -> String {
        self.children.iter().map(|(name, _)| self.log_tail(name)).collect::<Vec<_>>().join("\n")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Satellites first, then the NOC; SIGTERM lets them shut down cleanly, SIGKILL bounds the wait.
        for (_, child) in self.children.iter_mut().rev() {
            // SAFETY: kill(2) on a child we spawned and have not reaped yet.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        }
        for (_, child) in self.children.iter_mut().rev() {
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub fn fixture(name: &str) -> PathBuf {
    outpost_tests::workspace_root().join("fixtures/demo").join(name)
}

fn hash_password(password: &str) -> anyhow::Result<String> {
    use std::io::Write;
    let mut child = Command::new(outpost_tests::bin("noc"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("run noc hash-password")?;
    child.stdin.take().context("stdin")?.write_all(format!("{password}\n").as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("noc hash-password failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_string())
}

fn hex_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

fn sha256_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

/// Where a test may write files that outlive it (screenshots).
pub fn artifacts_dir() -> PathBuf {
    let dir = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| outpost_tests::workspace_root().join("target/tmp"));
    let _ = std::fs::create_dir_all(&dir);
    dir
}
