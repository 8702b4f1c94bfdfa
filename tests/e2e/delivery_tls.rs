//! HTTPS delivery: the satellite trusts the NOC through its CA file or a pinned certificate, and refuses
//! a NOC whose certificate does not match the pin.

use std::path::Path;
use std::process::Command;

use base64::Engine;
use outpost_satellite::spool::SpoolConfig;
use outpost_tests::{bin, free_port};
use sha2::{Digest, Sha256};

use crate::delivery_support::{Noc, Sat};

fn spool_cfg() -> SpoolConfig {
    SpoolConfig { max_bytes: 64 << 20, max_age: None, segment_bytes: 1 << 20, fsync: true }
}

/// SHA-256 of the DER certificate inside a PEM file.
fn pem_sha256(pem: &Path) -> String {
    let text = std::fs::read_to_string(pem).expect("read cert");
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).expect("base64 PEM body");
    hex::encode(Sha256::digest(der))
}

#[test]
fn https_with_ca_file_and_with_pinned_certificate_delivers_and_a_wrong_pin_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let noc_dir = dir.path().join("noc");
    let out = Command::new(bin("noc"))
        .args(["init", "--dir"])
        .arg(&noc_dir)
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .output()
        .expect("noc init");
    assert!(out.status.success(), "noc init: {}", String::from_utf8_lossy(&out.stderr));
    let config = noc_dir.join("noc.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ndata_dir = \"data\"\n[tls]\ncert = \"tls/cert.pem\"\nkey = \"tls/key.pem\"\n{}",
            Noc::credentials_toml()
        ),
    )
    .expect("write noc.toml");
    let mut noc = Noc::start_with(config, port);
    let cert = noc_dir.join("tls/cert.pem");
    noc.tls_cert = Some(cert.clone());
    let url = format!("https://127.0.0.1:{port}");

    // Trust by CA file.
    let a =
        Sat::with_noc_options(&dir.path().join("a"), &url, spool_cfg(), &format!("ca_file = \"{}\"", cert.display()));
    a.fill(0, 100, 50);
    let out = a.ship(30);
    assert!(out.status.success(), "ship with ca_file: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(noc.events().len(), 100);

    // A wrong pin: the handshake is refused, nothing is sent, the data stays spooled (exit 4).
    let wrong = "00".repeat(32);
    let b =
        Sat::with_noc_options(&dir.path().join("b"), &url, spool_cfg(), &format!("pinned_cert_sha256 = \"{wrong}\""));
    b.fill(100, 100, 50);
    let out = b.ship(2);
    assert_eq!(out.status.code(), Some(4), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(noc.events().len(), 100, "nothing crossed to a NOC that failed the pin");

    // The right pin (same satellite, same spool): everything arrives.
    let c = Sat::with_noc_options(
        &dir.path().join("b"),
        &url,
        spool_cfg(),
        &format!("pinned_cert_sha256 = \"{}\"", pem_sha256(&cert)),
    );
    let out = c.ship(30);
    assert!(out.status.success(), "ship with pin: {}", String::from_utf8_lossy(&out.stderr));
    let times: Vec<i64> = noc.events().iter().map(|e| e.time - crate::delivery_support::base_time()).collect();
    for i in 0..200 {
        assert_eq!(times.iter().filter(|t| **t == i).count(), 1, "event {i} exactly once");
    }
}

#[test]
fn unknown_satellite_enrolls_waits_for_acceptance_then_delivers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    // No pre-shared token for FRA1: the satellite must enroll.
    let config = dir.path().join("noc.toml");
    std::fs::write(
        &config,
        format!(
            "listen = \"127.0.0.1:{port}\"\ninsecure_plain_http = true\ndata_dir = \"data\"\n\
             [rate_limit]\nper_second = 1000\nburst = 1000\n"
        ),
    )
    .expect("write noc.toml");
    let _noc = Noc::start_with(config.clone(), port);
    let sat = Sat::new(&dir.path().join("sat"), &format!("http://127.0.0.1:{port}"), spool_cfg());
    sat.fill(0, 50, 50);
    let out = sat.ship(10);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("pending"), "says enrollment is pending: {stderr}");
    assert_eq!(sat.stats().pending_events, 50, "everything stays spooled");
    let accept = Command::new(bin("noc"))
        .args(["satellites", "--config"])
        .arg(&config)
        .args(["accept", "FRA1"])
        .output()
        .expect("noc satellites accept");
    assert!(accept.status.success(), "accept: {}", String::from_utf8_lossy(&accept.stderr));
    let out = sat.ship(30);
    assert!(out.status.success(), "after acceptance: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(sat.stats().pending_events, 0);
}
