//! Operator login for the web view: the `[web]` config section, in-memory sessions, and CSRF tokens.
//!
//! A session is a random 256-bit token in an `HttpOnly; SameSite=Strict` cookie (plus `Secure` when the
//! NOC serves TLS). The server keeps only the SHA-256 of each token, with the operator's name, a per-session
//! CSRF token and an expiry. Every state-changing request made with a session cookie must also carry the
//! CSRF token (header `X-CSRF-Token` or form field `csrf`), so a cross-site form cannot act for an operator.
//!
//! Sessions live in memory only: restarting the NOC logs every operator out, which is the safe default.
//! This module does not authenticate satellites or API bearer tokens; `api/` does, and asks
//! [`session_is_valid`] whether a browser session may use the operator API as well.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use axum::http::{HeaderMap, Method, header};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::password;

/// Name of the session cookie.
pub const SESSION_COOKIE: &str = "outpost_session";
/// Name of the cookie carrying the login form's CSRF token (double-submit: the form repeats it).
pub const LOGIN_CSRF_COOKIE: &str = "outpost_login_csrf";
/// Header the web view sends its CSRF token in on every POST.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// Default session lifetime from login.
pub const DEFAULT_SESSION_SECS: u64 = 12 * 3600;
/// At most this many live sessions; the oldest is dropped beyond it, so memory stays bounded.
pub const MAX_SESSIONS: usize = 10_000;

/// The `[web]` section of `noc.toml`, as written.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RawWebConfig {
    /// Seconds a login lasts.
    pub session_secs: Option<u64>,
    /// Operators allowed to log in to the web view.
    #[serde(default)]
    pub operators: Vec<OperatorConfig>,
}

/// One `[[web.operators]]` entry.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct OperatorConfig {
    /// Login name.
    pub name: String,
    /// Argon2id PHC string from `noc hash-password`; never the password itself.
    pub password_hash: String,
}

/// Validated web settings.
#[derive(Debug, Clone)]
pub struct WebConfig {
    pub operators: Vec<OperatorConfig>,
    pub session_ttl: Duration,
    /// Add `Secure` to cookies: true whenever the NOC serves HTTPS.
    pub secure_cookies: bool,
}

impl WebConfig {
    /// Parses the raw `[web]` table. `tls` says whether the NOC serves HTTPS (cookies then get `Secure`).
    pub fn from_table(table: &toml::Table, tls: bool) -> anyhow::Result<WebConfig> {
        let raw: RawWebConfig = toml::Value::Table(table.clone()).try_into().context("parse [web]")?;
        let mut seen = std::collections::HashSet::new();
        for op in &raw.operators {
            if op.name.is_empty() || op.name.len() > 64 || op.name.chars().any(char::is_control) {
                bail!("[[web.operators]] name {:?} must be 1 to 64 printable characters", op.name);
            }
            if !seen.insert(op.name.as_str()) {
                bail!("[[web.operators]] name {:?} appears twice", op.name);
            }
            password::validate_hash(&op.password_hash).with_context(|| {
                format!(
                    "[[web.operators]] {:?}: password_hash is invalid; create one with `noc hash-password`",
                    op.name
                )
            })?;
        }
        let session_secs = raw.session_secs.unwrap_or(DEFAULT_SESSION_SECS);
        if session_secs == 0 {
            bail!("[web] session_secs must be at least 1");
        }
        Ok(WebConfig { operators: raw.operators, session_ttl: Duration::from_secs(session_secs), secure_cookies: tls })
    }
}

/// Operators and their live sessions. Shared by the web router and the API's auth check.
#[derive(Debug)]
pub struct WebAuth {
    config: WebConfig,
    /// SHA-256 of the session token → session. std Mutex: never held across `.await`.
    sessions: Mutex<HashMap<[u8; 32], Session>>,
}

#[derive(Debug, Clone)]
struct Session {
    operator: String,
    csrf: String,
    created: Instant,
    expires: Instant,
}

/// What a valid session cookie tells a handler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub operator: String,
    pub csrf: String,
}

/// True when `headers` carry a live session cookie and, for any method other than GET, HEAD and OPTIONS,
/// the session's CSRF token in `X-CSRF-Token`. This is the hook the operator API calls so that a logged-in
/// browser may use it; a bearer token is checked separately by the API.
pub fn session_is_valid(web: &WebAuth, method: &Method, headers: &HeaderMap) -> bool {
    let Some(info) = web.session(headers) else {
        return false;
    };
    if is_safe_method(method) {
        return true;
    }
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    constant_time_eq(sent.as_bytes(), info.csrf.as_bytes())
}

impl WebAuth {
    pub fn new(config: WebConfig) -> WebAuth {
        WebAuth { config, sessions: Mutex::new(HashMap::new()) }
    }

    pub fn config(&self) -> &WebConfig {
        &self.config
    }

    /// Checks a login. Runs Argon2 even for unknown names so that timing does not reveal which names exist.
    /// CPU-heavy: call it from a blocking thread.
    pub fn check_password(&self, name: &str, password: &str) -> bool {
        // A hash of a random password, so unknown names cost the same as known ones.
        static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
        match self.config.operators.iter().find(|o| o.name == name) {
            Some(op) => password::verify_password(password, &op.password_hash),
            None => {
                let dummy = DUMMY.get_or_init(|| password::hash_password(&random_token()).unwrap_or_default());
                let _ = password::verify_password(password, dummy);
                false
            }
        }
    }

    /// Starts a session for `operator` and returns the cookie token (to send once, never to store).
    pub fn create_session(&self, operator: &str) -> (String, SessionInfo) {
        let token = random_token();
        let now = Instant::now();
        let info = SessionInfo { operator: operator.to_string(), csrf: random_token() };
        let session = Session {
            operator: info.operator.clone(),
            csrf: info.csrf.clone(),
            created: now,
            expires: now + self.config.session_ttl,
        };
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.retain(|_, s| s.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(token_key(&token), session);
        (token, info)
    }

    /// The session named by the request's cookie, if it is live.
    pub fn session(&self, headers: &HeaderMap) -> Option<SessionInfo> {
        let token = cookie_value(headers, SESSION_COOKIE)?;
        let key = token_key(token);
        let sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let s = sessions.get(&key)?;
        (s.expires > Instant::now()).then(|| SessionInfo { operator: s.operator.clone(), csrf: s.csrf.clone() })
    }

    /// Ends the session named by the request's cookie, if any.
    pub fn end_session(&self, headers: &HeaderMap) {
        if let Some(token) = cookie_value(headers, SESSION_COOKIE) {
            self.sessions.lock().unwrap_or_else(|p| p.into_inner()).remove(&token_key(token));
        }
    }

    /// `Set-Cookie` value carrying a session or login-CSRF token.
    pub fn cookie(&self, name: &str, value: &str, max_age: Duration) -> String {
        let secure = if self.config.secure_cookies { "; Secure" } else { "" };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}", max_age.as_secs())
    }

    /// `Set-Cookie` value that deletes cookie `name`.
    pub fn clear_cookie(&self, name: &str) -> String {
        self.cookie(name, "", Duration::ZERO)
    }
}

/// GET, HEAD and OPTIONS change nothing, so they need no CSRF token.
pub fn is_safe_method(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// Compares secrets without an early exit, so response timing does not leak matching prefixes.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 256 random bits from the thread-local CSPRNG, hex-encoded.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn auth() -> WebAuth {
        let hash = password::hash_password("pw").expect("hash");
        WebAuth::new(WebConfig {
            operators: vec![OperatorConfig { name: "admin".into(), password_hash: hash }],
            session_ttl: Duration::from_secs(60),
            secure_cookies: true,
        })
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn password_check_accepts_only_the_configured_operator() {
        let a = auth();
        assert!(a.check_password("admin", "pw"));
        assert!(!a.check_password("admin", "PW"));
        assert!(!a.check_password("root", "pw"));
    }

    #[test]
    fn session_cookie_allows_reads_and_needs_csrf_for_writes() {
        let a = auth();
        let (token, info) = a.create_session("admin");
        let cookie = format!("other=1; {SESSION_COOKIE}={token}");
        assert!(session_is_valid(&a, &Method::GET, &headers(&[("cookie", &cookie)])));
        assert!(!session_is_valid(&a, &Method::POST, &headers(&[("cookie", &cookie)])));
        assert!(!session_is_valid(&a, &Method::POST, &headers(&[("cookie", &cookie), ("x-csrf-token", "nope")])));
        assert!(session_is_valid(&a, &Method::POST, &headers(&[("cookie", &cookie), ("x-csrf-token", &info.csrf)])));
        assert!(!session_is_valid(&a, &Method::GET, &headers(&[("cookie", "outpost_session=forged")])));
        assert!(!session_is_valid(&a, &Method::GET, &HeaderMap::new()));
        a.end_session(&headers(&[("cookie", &cookie)]));
        assert!(!session_is_valid(&a, &Method::GET, &headers(&[("cookie", &cookie)])));
    }

    #[test]
    fn expired_sessions_are_refused() {
        let mut a = auth();
        a.config.session_ttl = Duration::ZERO;
        let (token, _) = a.create_session("admin");
        assert!(a.session(&headers(&[("cookie", &format!("{SESSION_COOKIE}={token}"))])).is_none());
    }

    #[test]
    fn cookies_are_http_only_strict_and_secure_under_tls() {
        let c = auth().cookie(SESSION_COOKIE, "abc", Duration::from_secs(5));
        assert_eq!(c, "outpost_session=abc; Path=/; HttpOnly; SameSite=Strict; Max-Age=5; Secure");
    }

    #[test]
    fn config_rejects_plaintext_passwords_and_duplicates() {
        let t: toml::Table =
            toml::from_str("[[operators]]\nname = \"a\"\npassword_hash = \"hunter2\"\n").expect("toml");
        let err = WebConfig::from_table(&t, false).expect_err("plaintext");
        assert!(format!("{err:#}").contains("noc hash-password"), "{err:#}");
        let hash = password::hash_password("pw").expect("hash");
        let dup = format!(
            "[[operators]]\nname = \"a\"\npassword_hash = \"{hash}\"\n[[operators]]\nname = \"a\"\npassword_hash = \"{hash}\"\n"
        );
        assert!(WebConfig::from_table(&toml::from_str(&dup).expect("toml"), false).is_err());
        let ok = format!("session_secs = 60\n[[operators]]\nname = \"a\"\npassword_hash = \"{hash}\"\n");
        let c = WebConfig::from_table(&toml::from_str(&ok).expect("toml"), true).expect("valid");
        assert_eq!(c.session_ttl, Duration::from_secs(60));
        assert!(c.secure_cookies);
    }

    #[test]
    fn constant_time_eq_refuses_empty_and_different_lengths() {
        assert!(constant_time_eq(b"ab", b"ab"));
        assert!(!constant_time_eq(b"", b""));
        assert!(!constant_time_eq(b"ab", b"abc"));
    }
}
