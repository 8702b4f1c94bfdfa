//! What the NOC benchmarks share: starting the `noc` binary beside the example as a child process, and reading
//! its CPU time. Included by each example with `#[path = "support/mod.rs"] mod support;`.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The directory holding the examples' `noc` binary (`target/<profile>/`).
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent().and_then(|p| p.parent()).expect("target dir").to_path_buf()
}

/// Starts `noc serve --config CONFIG` (warnings only on stderr) and waits until it accepts on `port`.
pub async fn start_noc(config: &Path, port: u16) -> anyhow::Result<Child> {
    let child = Command::new(bin_dir().join("noc"))
        .args(["serve", "--config"])
        .arg(config)
        .env("NOC_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()?;
    for _ in 0..400 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(child)
}

/// CPU seconds (user + system) the process has used so far: less sensitive to a loaded host than wall time.
pub fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may contain spaces) start at field 3; utime and stime are 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: Vec<f64> = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse().ok()).collect();
    // SAFETY: sysconf has no memory-safety preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks.iter().sum::<f64>() / hz
}
