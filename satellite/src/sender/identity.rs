//! The satellite's secret key: 32 random bytes, hex, in `<state_dir>/identity.key` (mode 0600), created on first use.
//! The NOC stores only its SHA-256; the satellite sends it as a bearer token (see `docs/protocol.md`).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use anyhow::{Context, bail};

pub const KEY_FILE: &str = "identity.key";

/// Reads the key, creating it (0600, fsynced) if there is none.
pub fn load_or_create(state_dir: &Path) -> anyhow::Result<String> {
    let path = state_dir.join(KEY_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => {
            let key = text.trim().to_string();
            if key.len() != 64 || !key.bytes().all(|b| b.is_ascii_hexdigit()) {
                bail!(
                    "{} does not hold a 64-digit hex key; move it aside to create a new identity (the NOC must then accept it again)",
                    path.display()
                );
            }
            let mode = fs::metadata(&path).with_context(|| format!("stat {}", path.display()))?.permissions().mode();
            if mode & 0o077 != 0 {
                tracing::warn!(path = %path.display(), mode = format!("{mode:o}"), "identity key is readable by others; run chmod 600 on it");
            }
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(state_dir).with_context(|| format!("create state dir {}", state_dir.display()))?;
            let key = hex::encode(rand::random::<[u8; 32]>());
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .with_context(|| format!("create {}", path.display()))?;
            f.write_all(key.as_bytes())
                .and_then(|()| f.write_all(b"\n"))
                .and_then(|()| f.sync_all())
                .with_context(|| format!("write {}", path.display()))?;
            tracing::info!(path = %path.display(), "created a new satellite identity key; accept it at the NOC");
            Ok(key)
        }
        Err(e) => Err(e).with_context(|| format!("read {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_with_mode_0600_then_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = load_or_create(dir.path()).expect("create");
        let b = load_or_create(dir.path()).expect("load");
        assert_eq!(a, b);
        assert_eq!(a.len(), 64);
        let mode = fs::metadata(dir.path().join(KEY_FILE)).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
