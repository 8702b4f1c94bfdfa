//! The chaos soak's short version for CI: the same driver as `scripts/soak` (tests/soak/), a fixed seed,
//! 90 seconds of faults and fewer services, so the whole test stays near two minutes on two cores.
//! It passes only if the soak's own verification passed: NOC state equals each satellite's, every event is
//! at the NOC exactly once and in order or reported as dropped, memory stayed within bounds, and the
//! webhook sink caught up.

use std::process::Command;

/// A summary line's number, e.g. `events lost:       0 (unexplained)` -> 0.
fn summary_number(summary: &str, label: &str) -> u64 {
    summary
        .lines()
        .find_map(|l| l.strip_prefix(label))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no {label:?} line in the soak summary:\n{summary}"))
}

#[test]
fn short_chaos_soak_loses_and_duplicates_nothing() {
    // The soak starts the noc and satellite binaries itself; build them first, as every e2e test does.
    outpost_tests::bin("noc");
    let out = Command::new(env!("CARGO_BIN_EXE_soak"))
        .args(["--minutes", "1.5", "--seed", "42", "--services", "300", "--check-interval", "20"])
        .args(["--flip-period", "30", "--traps-per-sec", "10"])
        .output()
        .expect("run the soak");
    let summary = String::from_utf8_lossy(&out.stdout);
    println!("{summary}");
    assert!(out.status.success(), "the soak failed ({}):\n{summary}", out.status);
    assert!(summary_number(&summary, "faults injected:") >= 10, "the soak injected faults");
    assert!(summary_number(&summary, "events produced:") > 1000, "the satellites produced events");
    assert_eq!(summary_number(&summary, "events duplicated:"), 0);
    assert_eq!(summary_number(&summary, "events lost:"), 0);
}
