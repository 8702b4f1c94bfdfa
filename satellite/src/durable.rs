//! Durable whole-file writes: the new content goes to a temp file, is fsynced, renamed over the old file, and
//! the directory is fsynced, so a crash at any instant leaves either the old file or the new one.

use std::fs::File;
use std::io::Write;
use std::path::Path;

/// Replaces `path` with `bytes` through `path` with its extension set to `tmp`.
pub fn write_atomic(path: &Path, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    replace_file(path, &path.with_extension("tmp"), bytes, fsync)
}

/// Replaces `path` with `bytes` through the temp file `tmp` (in the same directory). Without `fsync` the
/// rename is still atomic, but a power loss may lose the new content (tests and benchmarks that say so).
pub fn replace_file(path: &Path, tmp: &Path, bytes: &[u8], fsync: bool) -> std::io::Result<()> {
    {
        let mut f = File::create(tmp)?;
        f.write_all(bytes)?;
        if fsync {
            f.sync_all()?;
        }
    }
    std::fs::rename(tmp, path)?;
    if fsync {
        sync_dir(parent_dir(path))?;
    }
    Ok(())
}

/// Fsyncs a directory, so that renames and new files in it survive a crash.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// The directory holding `path`; `.` for a bare file name (whose `parent()` is empty).
fn parent_dir(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_file_and_leaves_no_temp() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("state");
        write_atomic(&path, b"one", true).expect("write");
        write_atomic(&path, b"two", true).expect("replace");
        assert_eq!(std::fs::read(&path).expect("read"), b"two");
        assert!(!path.with_extension("tmp").exists());
        assert_eq!(parent_dir(Path::new("state")), Path::new("."));
    }
}
