//! Writes a synthetic site snapshot (compact MessagePack, as in a full-snapshot frame's payload) and,
//! optionally, the equivalent Nagios 4 `status.dat`. Deterministic by seed.
//!
//! `cargo run --release -p outpost-format --example gen-site -- --services 10000 --seed 1 --out site.msgpack --status-dat status.dat`

use std::path::PathBuf;

use outpost_format::sitegen;

const USAGE: &str =
    "usage: gen-site [--services N (default 10000)] [--seed S (default 1)] [--out FILE (default site-N-S.msgpack)] [--status-dat FILE]

Writes a synthetic site: N services on N/10 hosts, as a compact MessagePack Snapshot,
and optionally the equivalent Nagios 4 status.dat. The same seed gives the same bytes.";

fn main() {
    if let Err(e) = run() {
        eprintln!("gen-site: {e}\n\n{USAGE}");
        std::process::exit(2);
    }
}

fn run() -> Result<(), String> {
    let mut services = 10_000usize;
    let mut seed = 1u64;
    let mut out: Option<PathBuf> = None;
    let mut status_dat: Option<PathBuf> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--services" => services = value()?.parse().map_err(|e| format!("--services: {e}"))?,
            "--seed" => seed = value()?.parse().map_err(|e| format!("--seed: {e}"))?,
            "--out" => out = Some(value()?.into()),
            "--status-dat" => status_dat = Some(value()?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let out = out.unwrap_or_else(|| format!("site-{services}-{seed}.msgpack").into());
    let site = sitegen::site(services, seed);
    let bytes = rmp_serde::to_vec(&site).map_err(|e| format!("encode: {e}"))?;
    std::fs::write(&out, &bytes).map_err(|e| format!("write {}: {e}", out.display()))?;
    println!("{}: {} objects, {} bytes", out.display(), site.objects.len(), bytes.len());
    if let Some(path) = status_dat {
        let dat = sitegen::status_dat(&site);
        std::fs::write(&path, dat.as_bytes()).map_err(|e| format!("write {}: {e}", path.display()))?;
        println!("{}: {} bytes", path.display(), dat.len());
    }
    Ok(())
}
