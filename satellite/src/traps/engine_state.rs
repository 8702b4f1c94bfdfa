//! The SNMPv3 engine ID and boots counter, kept in a small file so that engineBoots grows across restarts
//! (RFC 3414 section 2.2: a receiver whose boots went backwards would accept replayed messages,
//! and senders' informs would be rejected as outside the time window).
//!
//! File format, one line: `outpost-snmp-engine v1 <engine-id-hex> <boots>`.
//! Written to a temp file, fsynced, renamed over the old one, and the directory fsynced.

use std::path::Path;

use anyhow::{Context, bail};
use async_snmp::{AuthoritativeEngine, PersistedAuthoritativeEngine};

const MAGIC: &str = "outpost-snmp-engine";

/// Loads the engine state (creating it on first start) and returns an engine whose boots counter has
/// already been incremented and persisted.
pub fn load_or_install(path: &Path) -> anyhow::Result<AuthoritativeEngine> {
    let persist_path = path.to_path_buf();
    let persist = move |state: &PersistedAuthoritativeEngine| write_state(&persist_path, state);
    match std::fs::read_to_string(path) {
        Ok(text) => {
            let previous = parse_state(&text).with_context(|| {
                format!("read SNMPv3 engine state {}; fix or delete the file (deleting it gives the receiver a new engine ID)", path.display())
            })?;
            AuthoritativeEngine::restart(previous, persist).map_err(|e| anyhow::anyhow!("{e}"))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let engine_id = async_snmp::generate_engine_id().map_err(|e| anyhow::anyhow!("{e}"))?;
            AuthoritativeEngine::install(engine_id, persist).map_err(|e| anyhow::anyhow!("{e}"))
        }
        Err(e) => Err(e).with_context(|| format!("read SNMPv3 engine state {}", path.display())),
    }
}

fn parse_state(text: &str) -> anyhow::Result<PersistedAuthoritativeEngine> {
    let mut parts = text.split_whitespace();
    if parts.next() != Some(MAGIC) || parts.next() != Some("v1") {
        bail!("not an Outpost SNMP engine state file (version 1)");
    }
    let id = parts.next().context("missing engine ID")?;
    let id = hex::decode(id).context("engine ID is not hex")?;
    let boots: u32 = parts.next().context("missing boots")?.parse().context("boots is not a number")?;
    PersistedAuthoritativeEngine::new(id, boots).map_err(|e| anyhow::anyhow!("{e}"))
}

fn write_state(path: &Path, state: &PersistedAuthoritativeEngine) -> std::io::Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let line = format!("{MAGIC} v1 {} {}\n", hex::encode(state.engine_id()), state.engine_boots());
    crate::durable::write_atomic(path, line.as_bytes(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boots_grow_across_restarts_and_id_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("engine");
        let first = load_or_install(&path).expect("install");
        assert_eq!(first.engine_boots(), 1);
        let second = load_or_install(&path).expect("restart");
        assert_eq!(second.engine_boots(), 2);
        assert_eq!(first.engine_id(), second.engine_id());
    }

    #[test]
    fn corrupt_file_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("engine");
        std::fs::write(&path, "garbage").expect("write");
        let err = format!("{:#}", load_or_install(&path).expect_err("corrupt"));
        assert!(err.contains("delete the file"), "{err}");
    }
}
