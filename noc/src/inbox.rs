//! The file-drop inbox: frames that arrive as files (sneakernet, data diodes, rsync) instead of HTTPS.
//!
//! `[inbox] dir = "/var/spool/outpost/inbox"` in `noc.toml` turns it on (`rescan_secs`, default 10;
//! `give_up_after_secs`, default 86400). The NOC watches the directory (notify, on the directory itself)
//! and also rescans it periodically, because inotify can overflow and does not work on every filesystem.
//!
//! Rules:
//! - Only `*.opf` files whose names do not start with `.` are read. Writers (`satellite export`) write
//!   `.name.tmp` and rename, so a partial file is never seen under a name the inbox reads.
//! - Files are applied in name order (`satellite export` names sort by location, export time, stream, seq),
//!   through the same `Store::apply_frame` as HTTP: same dedupe, ordering and acknowledgement rules.
//! - Applied, duplicate or held frames move to `done/`. A frame that does not decode, or that the store refuses
//!   as malformed, moves to `rejected/` with `<name>.reason` beside it.
//! - A frame that arrived before its predecessor (gap) or needs a base the NOC lacks stays where it is and
//!   is retried on the next scan; after `give_up_after_secs` it is rejected with the reason.
//! - Anything else named `*.opf` (a symlink, directory, FIFO or device) is rejected unread: the inbox never
//!   follows a link, so a link planted in the inbox cannot make it read outside (checked again on the opened
//!   file, against a swap after listing).
//! - The directory is trusted: whoever can write into it speaks for the location named in the frame
//!   (there is no bearer token on a file). Protect it with file permissions.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;
use outpost_format::{Frame, Limits};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::state::AppState;
use crate::store::apply::Disposition;
use crate::store::{ApplyError, FrameMeta, Store};

pub const DEFAULT_RESCAN: Duration = Duration::from_secs(10);
pub const DEFAULT_GIVE_UP_AFTER: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone)]
pub struct InboxConfig {
    pub dir: PathBuf,
    pub rescan: Duration,
    pub give_up_after: Duration,
    pub limits: Limits,
}

/// What one scan did, for logs and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScanReport {
    pub applied: usize,
    pub duplicates: usize,
    pub rejected: usize,
    pub deferred: usize,
}

impl InboxConfig {
    /// Reads `[inbox]`; `Ok(None)` when there is no `dir`. Relative paths are relative to the config file.
    pub fn from_table(t: &toml::Table, config_path: &Path, limits: Limits) -> anyhow::Result<Option<InboxConfig>> {
        for key in t.keys() {
            anyhow::ensure!(
                matches!(key.as_str(), "dir" | "rescan_secs" | "give_up_after_secs"),
                "{}: unknown key inbox.{key} (known: dir, rescan_secs, give_up_after_secs)",
                config_path.display()
            );
        }
        let Some(dir) = t.get("dir") else { return Ok(None) };
        let dir = dir.as_str().with_context(|| format!("{}: inbox.dir must be a string", config_path.display()))?;
        let base = config_path.parent().unwrap_or(Path::new("."));
        let secs = |key: &str, default: Duration| -> anyhow::Result<Duration> {
            match t.get(key) {
                None => Ok(default),
                Some(v) => v
                    .as_integer()
                    .filter(|n| *n > 0)
                    .map(|n| Duration::from_secs(n as u64))
                    .with_context(|| format!("{}: inbox.{key} must be a positive integer", config_path.display())),
            }
        };
        Ok(Some(InboxConfig {
            dir: base.join(dir),
            rescan: secs("rescan_secs", DEFAULT_RESCAN)?,
            give_up_after: secs("give_up_after_secs", DEFAULT_GIVE_UP_AFTER)?,
            limits,
        }))
    }
}

/// Starts the inbox task if `[inbox]` configures one.
pub fn spawn(state: &AppState, tracker: &TaskTracker) -> anyhow::Result<()> {
    let limits = state.config.limits;
    let Some(cfg) = InboxConfig::from_table(&state.config.inbox, &state.config.path, limits)? else {
        return Ok(());
    };
    for sub in ["", "done", "rejected"] {
        let d = cfg.dir.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("create inbox directory {}", d.display()))?;
    }
    tracing::info!(dir = %cfg.dir.display(), "file-drop inbox enabled");
    tracker.spawn(run(state.store.clone(), cfg, state.cancel.clone()));
    Ok(())
}

/// Watches and rescans until cancelled.
pub async fn run(store: Store, cfg: InboxConfig, cancel: CancellationToken) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    // The watcher lives as long as this task; if it cannot start, the periodic rescan still works.
    let _watcher = {
        use notify::Watcher;
        let tx = tx.clone();
        let w = notify::recommended_watcher(move |_res: notify::Result<notify::Event>| {
            let _ = tx.try_send(());
        });
        match w {
            Ok(mut w) => match w.watch(&cfg.dir, notify::RecursiveMode::NonRecursive) {
                Ok(()) => Some(w),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot watch the inbox; relying on the periodic rescan");
                    None
                }
            },
            Err(e) => {
                tracing::warn!(error = %e, "no file watcher; relying on the periodic rescan");
                None
            }
        }
    };
    loop {
        let report = scan_once(&store, &cfg).await;
        if report != ScanReport::default() {
            tracing::info!(?report, "inbox scan");
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = rx.recv() => {}
            _ = tokio::time::sleep(cfg.rescan) => {}
        }
    }
}

/// Applies every ready file once, in name order.
pub async fn scan_once(store: &Store, cfg: &InboxConfig) -> ScanReport {
    let mut report = ScanReport::default();
    // Names come from readdir, so each is one path component: `../x` or `/x` cannot occur, and the inbox
    // only ever joins them onto its own directories.
    let mut names: Vec<(String, bool)> = match std::fs::read_dir(&cfg.dir) {
        Ok(rd) => rd
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                // `file_type` does not follow symlinks: a link is never a regular file here.
                let regular = e.file_type().is_ok_and(|t| t.is_file());
                e.file_name().into_string().ok().map(|n| (n, regular))
            })
            .filter(|(n, _)| !n.starts_with('.') && n.ends_with(".opf"))
            .collect(),
        Err(e) => {
            tracing::warn!(dir = %cfg.dir.display(), error = %e, "cannot read the inbox");
            return report;
        }
    };
    names.sort();
    for (name, regular) in names {
        if !regular {
            // A symlink (which could point outside the inbox), directory, FIFO or device: never opened.
            reject(
                cfg,
                &name,
                "not a regular file (a symlink, directory or special file); the inbox never follows links",
            );
            report.rejected += 1;
            continue;
        }
        let path = cfg.dir.join(&name);
        let bytes = match read_capped(&path, u64::from(cfg.limits.max_payload) + 4096) {
            Ok(b) => b,
            Err(why) => {
                reject(cfg, &name, &why);
                report.rejected += 1;
                continue;
            }
        };
        let frame = match Frame::decode(&bytes, &cfg.limits) {
            Ok(f) => f,
            Err(e) => {
                reject(cfg, &name, &format!("not a valid frame: {e}"));
                report.rejected += 1;
                continue;
            }
        };
        let meta = FrameMeta { received_at: now_ms(), ..FrameMeta::default() };
        match store.apply_frame(frame, meta).await {
            Ok(outcome) => match outcome.disposition {
                Disposition::Applied | Disposition::Held => {
                    done(cfg, &name);
                    report.applied += 1;
                }
                Disposition::Duplicate => {
                    done(cfg, &name);
                    report.duplicates += 1;
                }
                Disposition::Gap | Disposition::NeedFullSnapshot => {
                    let age = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .unwrap_or_default();
                    if age > cfg.give_up_after {
                        let why = format!(
                            "{:?} for {}s: its predecessor (or base snapshot) never arrived; notes: {}",
                            outcome.disposition,
                            age.as_secs(),
                            outcome.ack.notes.join("; ")
                        );
                        reject(cfg, &name, &why);
                        report.rejected += 1;
                    } else {
                        report.deferred += 1;
                    }
                }
            },
            Err(ApplyError::Malformed(why)) => {
                reject(cfg, &name, &why);
                report.rejected += 1;
            }
            Err(ApplyError::Unavailable(why)) => {
                tracing::warn!(file = name, why, "store unavailable; inbox retries on the next scan");
                report.deferred += 1;
                break;
            }
        }
    }
    report
}

/// Reads a regular file of at most `cap` bytes. The file may be swapped for a symlink or a FIFO after the
/// directory was listed, so the checks are made on the opened descriptor: `O_NOFOLLOW` refuses a link,
/// `O_NONBLOCK` keeps a FIFO from blocking the scan, and the read stops at `cap` even if the file grows.
fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| format!("open (symlinks are not followed): {e}"))?;
    let meta = file.metadata().map_err(|e| format!("stat: {e}"))?;
    if !meta.is_file() {
        return Err("not a regular file; the inbox never follows links".into());
    }
    if meta.len() > cap {
        return Err(format!("file is {} bytes, over the frame limit of {cap}", meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1).read_to_end(&mut bytes).map_err(|e| format!("read: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("file grew over the frame limit of {cap} bytes while being read"));
    }
    Ok(bytes)
}

fn done(cfg: &InboxConfig, name: &str) {
    if let Err(e) = std::fs::rename(cfg.dir.join(name), cfg.dir.join("done").join(name)) {
        tracing::error!(file = name, error = %e, "cannot move an ingested file to done/; it will be seen again (and deduped)");
    }
}

fn reject(cfg: &InboxConfig, name: &str, why: &str) {
    tracing::warn!(file = name, why, "inbox file rejected");
    let rejected = cfg.dir.join("rejected");
    // O_NOFOLLOW: a planted `rejected/<name>.reason` symlink must not make the NOC write outside the inbox.
    let reason = {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(rejected.join(format!("{name}.reason")))
            .and_then(|mut f| f.write_all(format!("{why}\n").as_bytes()))
    };
    if let Err(e) = reason {
        tracing::error!(file = name, error = %e, "cannot write the reason file beside a rejected file");
    }
    if let Err(e) = std::fs::rename(cfg.dir.join(name), rejected.join(name)) {
        tracing::error!(file = name, error = %e, "cannot move a rejected file to rejected/");
    }
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_capped_refuses_links_and_special_files_and_stops_at_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let outside = dir.path().join("outside.opf");
        std::fs::write(&outside, b"secret").expect("write");
        let link = dir.path().join("link.opf");
        std::os::unix::fs::symlink(&outside, &link).expect("symlink");
        let err = read_capped(&link, 1024).expect_err("a symlink is not followed");
        assert!(err.contains("symlinks are not followed"), "{err}");

        // A FIFO would block a plain open until a writer appears; O_NONBLOCK plus the type check refuse it.
        let fifo = dir.path().join("fifo.opf");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: mkfifo(3) reads a NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        assert!(read_capped(&fifo, 1024).expect_err("a FIFO is refused").contains("not a regular file"));

        assert_eq!(read_capped(&outside, 6).expect("at the cap"), b"secret");
        assert!(read_capped(&outside, 5).expect_err("over the cap").contains("over the frame limit"));
    }
}
