//! Check engine integration tests: real monitoring-plugins, timeouts, operator commands, retention across
//! restarts and kill -9, and config errors. One binary with modules; shared helpers live here.

mod config_errors;
mod operator;
mod passive;
mod plugins;
mod retention;
mod shutdown;
mod timeout;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use outpost_format::{Event, Object, ObjectKey};
use outpost_satellite::config::Config;
use outpost_satellite::engine::{Engine, EngineHandle};
use outpost_satellite::outbox::EventSink;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_util::sync::CancellationToken;

/// Generous: only a guard against hangs, never a performance assertion.
pub const DEADLINE: Duration = Duration::from_secs(25);

/// A monitoring-plugins plugin; fails (never skips) when it is missing.
pub fn plugin(name: &str) -> PathBuf {
    let p = Path::new("/usr/lib/nagios/plugins").join(name);
    assert!(p.exists(), "{} is missing: run scripts/install-test-deps (installs monitoring-plugins)", p.display());
    p
}

/// One of our test plugins in fixtures/plugins.
pub fn fixture_plugin(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/plugins").join(name)
}

pub fn write_config(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("satellite.toml");
    let text = format!("location = \"TST1\"\nstate_dir = \"{}\"\n{body}", dir.join("state").display());
    std::fs::write(&path, text).expect("write config");
    path
}

pub struct Running {
    pub engine: EngineHandle,
    pub events: UnboundedReceiver<Event>,
    pub cancel: CancellationToken,
}

pub fn start(config_path: &Path) -> Running {
    let config = Config::load(config_path).unwrap_or_else(|e| panic!("config: {e}"));
    let state_dir = config.state_dir.clone();
    let (sink, events) = EventSink::in_memory();
    let cancel = CancellationToken::new();
    let engine = Engine::start(Arc::new(config), &state_dir, sink, cancel.clone()).expect("start engine");
    Running { engine, events, cancel }
}

impl Running {
    pub async fn stop(self) {
        self.cancel.cancel();
        tokio::time::timeout(DEADLINE, self.engine.join()).await.expect("engine stops");
    }

    /// Polls the snapshot until `pred` holds for `key`.
    pub async fn wait_for(&self, key: &str, what: &str, pred: impl Fn(&Object) -> bool) -> Object {
        let key = outpost_satellite::state::table::parse_key(key);
        let started = Instant::now();
        loop {
            let snap = self.engine.snapshot();
            let obj = snap.objects.get(&key).unwrap_or_else(|| panic!("no object {key}"));
            if pred(obj) {
                return obj.clone();
            }
            assert!(started.elapsed() < DEADLINE, "{key} never reached {what}; last status: {:?}", obj.status);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything emitted so far.
    pub fn drain(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

pub fn key(text: &str) -> ObjectKey {
    outpost_satellite::state::table::parse_key(text)
}
