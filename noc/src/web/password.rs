//! Operator password hashing: Argon2id PHC strings, as `noc hash-password` prints them and `[[web.operators]]`
//! stores them. Plain-text passwords never reach the config file, the logs or a URL.
//!
//! Argon2id (RustCrypto's `argon2` crate) is the OWASP-recommended default; verification reads the cost
//! parameters from the stored string, so raising the cost later does not invalidate existing hashes.

use std::io::BufRead;

use anyhow::{Context, bail};
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Longest password accepted, in bytes: Argon2 handles any length, but an unbounded form field is a cheap DoS.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Hashes `password` with Argon2id and a random salt into a PHC string (`$argon2id$v=19$...`).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    if password.is_empty() {
        bail!("the password is empty; type a password, then press Enter");
    }
    if password.len() > MAX_PASSWORD_BYTES {
        bail!("the password is longer than {MAX_PASSWORD_BYTES} bytes");
    }
    let hash =
        Argon2::default().hash_password(password.as_bytes()).map_err(|e| anyhow::anyhow!("hash password: {e}"))?;
    Ok(hash.to_string())
}

/// Checks that `phc` is a PHC string this build can verify, so a typo in the config fails at startup.
pub fn validate_hash(phc: &str) -> anyhow::Result<()> {
    let parsed = PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("not a PHC password hash ({e})"))?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        bail!("hash algorithm {:?} is not supported; create the hash with `noc hash-password`", parsed.algorithm);
    }
    Ok(())
}

/// True when `password` matches the PHC string `phc`. A malformed hash never matches.
/// CPU-heavy (tens of milliseconds by design): call it from a blocking thread.
pub fn verify_password(password: &str, phc: &str) -> bool {
    if password.len() > MAX_PASSWORD_BYTES {
        return false;
    }
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok(),
        Err(_) => false,
    }
}

/// `noc hash-password`: reads one password line from `input` (stdin, so it stays out of the shell history
/// and the process list) and returns the PHC string to paste into `[[web.operators]]`.
pub fn hash_password_from_reader(input: &mut dyn BufRead) -> anyhow::Result<String> {
    let mut line = String::new();
    input.read_line(&mut line).context("read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    hash_password(password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify_round_trips_and_rejects_other_passwords() {
        let phc = hash_password("correct horse").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        validate_hash(&phc).expect("valid");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn malformed_hashes_never_match_and_fail_validation() {
        assert!(!verify_password("x", "plaintext"));
        assert!(validate_hash("plaintext").is_err());
        assert!(validate_hash("$2b$12$abcdefghijklmnopqrstuv").is_err());
    }

    #[test]
    fn reader_strips_the_line_ending_and_refuses_empty_input() {
        let phc = hash_password_from_reader(&mut "pw\r\n".as_bytes()).expect("hash");
        assert!(verify_password("pw", &phc));
        assert!(hash_password_from_reader(&mut "\n".as_bytes()).is_err());
        assert!(hash_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
