//! A minimal W3C WebDriver client for the browser tests: starts Debian's `chromedriver` on 127.0.0.1 and
//! drives headless `chromium` through it over plain HTTP.
//!
//! Only the handful of commands the tests need: navigate, find, type, click, run a script, screenshot.
//! Everything else (waiting for the page to settle) is done by polling [`Browser::eval`] with a deadline.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine;
use serde_json::{Value, json};

pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// A running chromedriver; killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

/// One browser session (its own Chromium and empty profile); closed on [`Browser::close`].
pub struct Browser {
    base: String,
    http: reqwest::Client,
    _profile: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver on a free loopback port and waits until it is ready.
    pub async fn start(log_dir: &Path) -> anyhow::Result<Driver> {
        for p in [CHROMEDRIVER, CHROMIUM] {
            if !Path::new(p).exists() {
                bail!("{p} is missing: run scripts/install-test-deps (Debian packages chromium and chromium-driver)");
            }
        }
        let port = outpost_tests::free_port();
        let log = std::fs::File::create(log_dir.join("chromedriver.log")).context("create chromedriver log")?;
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("start chromedriver")?;
        let driver = Driver { child, base: format!("http://127.0.0.1:{port}"), http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(resp) = driver.http.get(format!("{}/status", driver.base)).send().await
                && let Ok(v) = resp.json::<Value>().await
                && v["value"]["ready"].as_bool() == Some(true)
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("chromedriver did not become ready on {}", driver.base);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Opens headless Chromium with a new empty profile and no background traffic.
    pub async fn browser(&self) -> anyhow::Result<Browser> {
        let profile = tempfile::tempdir().context("profile dir")?;
        let args = vec![
            "--headless".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--disable-dev-shm-usage".into(),
            "--window-size=1400,900".into(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let caps = json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": { "binary": CHROMIUM, "args": args },
        }}});
        let v = send(&self.http, self.http.post(format!("{}/session", self.base)).json(&caps)).await?;
        let id = v["sessionId"].as_str().context("new session has no sessionId")?.to_string();
        Ok(Browser { base: format!("{}/session/{id}", self.base), http: self.http.clone(), _profile: profile })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn send(http: &reqwest::Client, req: reqwest::RequestBuilder) -> anyhow::Result<Value> {
    let _ = http;
    let resp = req.send().await.context("WebDriver request")?;
    let status = resp.status();
    let v: Value = resp.json().await.context("WebDriver answer is not JSON")?;
    if !status.is_success() {
        bail!("WebDriver error {status}: {}", v["value"]["message"].as_str().unwrap_or("?"));
    }
    Ok(v["value"].clone())
}

impl Browser {
    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        send(&self.http, self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    pub async fn goto(&self, url: &str) -> anyhow::Result<()> {
        self.post("/url", json!({ "url": url })).await.map(|_| ())
    }

    pub async fn current_url(&self) -> anyhow::Result<String> {
        let v = send(&self.http, self.http.get(format!("{}/url", self.base))).await?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    /// Runs `script` (a function body; `arguments` holds `args`) in the page and returns its result.
    pub async fn eval(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.post("/execute/sync", json!({ "script": script, "args": args })).await
    }

    /// Like [`Browser::eval`] for an async body: it gets a callback as its last argument.
    pub async fn eval_async(&self, script: &str, args: Value) -> anyhow::Result<Value> {
        self.post("/execute/async", json!({ "script": script, "args": args })).await
    }

    async fn element(&self, css: &str) -> anyhow::Result<String> {
        let v = self.post("/element", json!({ "using": "css selector", "value": css })).await?;
        v.as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .map(str::to_string)
            .with_context(|| format!("no element id for {css}"))
    }

    /// Types `text` into the element matching `css`, as a user would.
    pub async fn type_into(&self, css: &str, text: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.post(&format!("/element/{id}/value"), json!({ "text": text })).await.map(|_| ())
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) -> anyhow::Result<()> {
        let id = self.element(css).await?;
        self.post(&format!("/element/{id}/click"), json!({})).await.map(|_| ())
    }

    /// Polls `script` until it returns something truthy; returns that value or fails naming `what`.
    pub async fn wait_until(&self, what: &str, timeout: Duration, script: &str, args: Value) -> anyhow::Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let last = match self.eval(script, args.clone()).await {
                Ok(v) if truthy(&v) => return Ok(v),
                Ok(v) => v,
                Err(e) => json!(e.to_string()),
            };
            if Instant::now() > deadline {
                bail!("timed out after {timeout:?} waiting for {what} (last result: {last})");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Saves a PNG screenshot of the viewport.
    pub async fn screenshot(&self, path: &PathBuf) -> anyhow::Result<()> {
        let v = send(&self.http, self.http.get(format!("{}/screenshot", self.base))).await?;
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().context("screenshot is not a string")?)
            .context("screenshot is not base64")?;
        std::fs::write(path, png).with_context(|| format!("write {}", path.display()))
    }

    pub async fn close(self) {
        let _ = self.http.delete(&self.base).send().await;
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}
