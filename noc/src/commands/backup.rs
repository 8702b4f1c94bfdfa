//! `noc backup --to FILE`: a consistent copy of the store, taken while the NOC runs; `noc restore --from FILE`
//! puts one back while the NOC is stopped.
//!
//! SQLite's `VACUUM INTO` reads the database inside one read transaction, so the copy is exactly the store as of
//! one commit, whatever the writer does meanwhile (WAL readers never block the writer, and the writer never blocks
//! them). The page-stepping backup API would restart whenever the daemon commits, which it does several times a
//! second under load. The copy is written beside the target, checked, fsynced and then renamed, so a file with the
//! target's name is always a complete backup.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use rusqlite::{Connection, OpenFlags};

use super::ConfigArg;

#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// File to write the copy to; it must not exist yet. Restore: see docs/operations.md.
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// A file written by `noc backup`. Stop the NOC first; the current store is kept beside it, renamed.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
}

/// What a backup contains, printed for the operator's records.
#[derive(Debug, PartialEq, Eq)]
pub struct BackupSummary {
    pub schema_version: i64,
    pub objects: i64,
    pub events: i64,
    pub bytes: u64,
}

pub fn run(args: &BackupArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let summary = backup(&config.db_path(), &args.to)?;
    println!(
        "{}: schema version {}, {} objects, {} events, {} bytes",
        args.to.display(),
        summary.schema_version,
        summary.objects,
        summary.events,
        summary.bytes
    );
    Ok(())
}

/// How far event ids jump at a restore: more than any NOC commits between a backup and its restore (2^32).
pub const EVENT_ID_JUMP: i64 = 1 << 32;

pub fn restore_command(args: &RestoreArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let mut probe = config.listen;
    if probe.ip().is_unspecified() {
        probe.set_ip(if probe.is_ipv4() { [127, 0, 0, 1].into() } else { std::net::Ipv6Addr::LOCALHOST.into() });
    }
    if std::net::TcpStream::connect_timeout(&probe, std::time::Duration::from_secs(1)).is_ok() {
        bail!(
            "something answers on {probe}, the NOC's listen address: stop the NOC first (systemctl stop outpost-noc)"
        );
    }
    let (summary, kept) = restore(&args.from, &config.db_path())?;
    if let Some(kept) = kept {
        println!("the previous store is kept as {}", kept.display());
    }
    println!(
        "restored {} into {}: {} objects, {} events; start the NOC now",
        args.from.display(),
        config.db_path().display(),
        summary.objects,
        summary.events
    );
    Ok(())
}

/// Replaces the (stopped) store at `db` with the backup `from`, marking every events stream as restored so that
/// satellites can carry on past the events the lost store had acknowledged. Returns what the backup holds and
/// where the previous store was moved to, if there was one.
pub fn restore(from: &Path, db: &Path) -> anyhow::Result<(BackupSummary, Option<PathBuf>)> {
    if !from.is_file() {
        bail!("no backup file at {}: give the file `noc backup --to` wrote", from.display());
    }
    let summary = check_copy(from)?;
    if summary.schema_version > crate::store::schema::SCHEMA_VERSION {
        bail!(
            "{} has schema version {}, newer than this build's {}: restore it with the noc that wrote it",
            from.display(),
            summary.schema_version,
            crate::store::schema::SCHEMA_VERSION
        );
    }
    let dir = db.parent().context("the store path has no directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
    let tmp = with_suffix(db, ".restoring");
    std::fs::copy(from, &tmp).with_context(|| format!("copy {} to {}", from.display(), tmp.display()))?;
    {
        let mut c = Connection::open(&tmp).with_context(|| format!("open {}", tmp.display()))?;
        // Rollback journal while we write here, so nothing is left in a `-wal` file that the rename would orphan.
        c.execute_batch("PRAGMA journal_mode = DELETE")?;
        crate::store::schema::migrate(&mut c)?;
        c.execute("UPDATE streams SET restored = 1 WHERE stream = ?1", [u8::from(outpost_format::Stream::Events)])?;
        // The lost store handed out event ids after the backup; consumers (sink peers, SSE clients) may hold them.
        // Jump past any it could have used, so that an id never names two different events.
        let jumped = c.execute("UPDATE sqlite_sequence SET seq = seq + ?1 WHERE name = 'events'", [EVENT_ID_JUMP])?;
        if jumped == 0 {
            c.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('events', ?1)", [EVENT_ID_JUMP])?;
        }
    }
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).with_context(|| format!("fsync {}", tmp.display()))?;
    // Move the current store aside whole: its WAL holds committed transactions the main file may not have yet.
    let kept = db.exists().then(|| with_suffix(db, &format!(".replaced-{}", crate::store::now_ms())));
    for ext in ["", "-wal", "-shm"] {
        let (cur, old) = (with_suffix(db, ext), kept.as_ref().map(|k| with_suffix(k, ext)));
        match old {
            Some(old) if cur.exists() => {
                std::fs::rename(&cur, &old).with_context(|| format!("move {} aside", cur.display()))?
            }
            _ => {}
        }
    }
    std::fs::rename(&tmp, db).with_context(|| format!("rename {} to {}", tmp.display(), db.display()))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).with_context(|| format!("fsync {}", dir.display()))?;
    Ok((summary, kept))
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// Copies the store at `db` to `to` (which must not exist) and returns what the copy holds.
pub fn backup(db: &Path, to: &Path) -> anyhow::Result<BackupSummary> {
    if !db.exists() {
        bail!("no store at {}: check `data_dir` in the config (the NOC creates noc.db there)", db.display());
    }
    if to.exists() {
        bail!("{} exists; choose a new file name (a backup never overwrites)", to.display());
    }
    let name = to.file_name().with_context(|| format!("{} is not a file name", to.display()))?;
    let dir = match to.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = with_suffix(&dir.join(name), ".partial");
    // A leftover from an interrupted backup: VACUUM INTO refuses a non-empty file.
    let _ = std::fs::remove_file(&tmp);

    let source = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .with_context(|| format!("open {}", db.display()))?;
    source.busy_timeout(std::time::Duration::from_secs(10))?;
    let tmp_text = tmp.to_str().with_context(|| format!("{} is not valid UTF-8", tmp.display()))?;
    source
        .execute("VACUUM INTO ?1", [tmp_text])
        .with_context(|| format!("copy {} to {}", db.display(), tmp.display()))?;
    drop(source);

    let summary = check_copy(&tmp).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })?;
    std::fs::File::open(&tmp).and_then(|f| f.sync_all()).with_context(|| format!("fsync {}", tmp.display()))?;
    std::fs::rename(&tmp, to).with_context(|| format!("rename {} to {}", tmp.display(), to.display()))?;
    std::fs::File::open(&dir).and_then(|d| d.sync_all()).with_context(|| format!("fsync {}", dir.display()))?;
    Ok(summary)
}

/// Opens the copy, runs SQLite's quick check and counts what it holds.
fn check_copy(path: &Path) -> anyhow::Result<BackupSummary> {
    let c = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("open {} as an SQLite database", path.display()))?;
    let check: String = c
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .with_context(|| format!("{} is not a NOC store (a file written by `noc backup`)", path.display()))?;
    if check != "ok" {
        bail!("{} is damaged (SQLite quick_check: {check}); use another backup", path.display());
    }
    let schema_version: i64 = c.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let objects = c.query_row("SELECT count(*) FROM objects WHERE deleted_at IS NULL", [], |r| r.get(0))?;
    let events = c.query_row("SELECT count(*) FROM events", [], |r| r.get(0))?;
    let bytes = std::fs::metadata(path)?.len();
    Ok(BackupSummary { schema_version, objects, events, bytes })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Store, StoreOptions};

    #[test]
    fn copies_a_store_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("data/noc.db");
        let store = Store::open(&db, StoreOptions::default()).expect("open store");
        store.set_sink_cursor("test", 7).expect("write");
        let to = dir.path().join("backup.db");
        let summary = backup(&db, &to).expect("backup");
        assert_eq!(summary.schema_version, crate::store::schema::SCHEMA_VERSION);
        assert_eq!((summary.objects, summary.events), (0, 0));
        assert!(!dir.path().join("backup.db.partial").exists());
        let copy = Store::open_client(&to).expect("open copy");
        assert_eq!(copy.sink_cursor("test").expect("read"), 7);
        let err = backup(&db, &to).expect_err("target exists");
        assert!(err.to_string().contains("exists"), "{err}");
        let err = backup(&dir.path().join("nope/noc.db"), &dir.path().join("b2.db")).expect_err("no store");
        assert!(err.to_string().contains("data_dir"), "{err}");
        let not_db = dir.path().join("notes.txt");
        std::fs::write(&not_db, "not a database at all, just some text that is long enough").expect("write");
        let err = restore(&not_db, &dir.path().join("other/noc.db")).expect_err("not a store");
        assert!(format!("{err:#}").contains("is not a NOC store"), "{err:#}");
        let err = restore(&dir.path().join("missing.db"), &dir.path().join("other/noc.db")).expect_err("missing");
        assert!(err.to_string().contains("no backup file"), "{err}");
        assert!(!dir.path().join("other/noc.db").exists(), "nothing put in place");
        store.shutdown();
    }
}
