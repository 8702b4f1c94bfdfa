//! The web view's login flow over real HTTP on 127.0.0.1: anonymous users are sent to the login page,
//! cookies are HttpOnly and SameSite=Strict, every state-changing form needs its CSRF token, and the
//! session then lets the browser through `session_is_valid` (the hook the operator API calls).

use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderMap, Method};
use outpost_noc::web::{self, OperatorConfig, WebAuth, WebConfig};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

const PASSWORD: &str = "correct horse battery staple";

struct TestWeb {
    base: String,
    auth: Arc<WebAuth>,
    http: reqwest::Client,
}

async fn start() -> TestWeb {
    let hash = web::password::hash_password(PASSWORD).expect("hash");
    let auth = Arc::new(WebAuth::new(WebConfig {
        operators: vec![OperatorConfig { name: "alice".into(), password_hash: hash }],
        session_ttl: Duration::from_secs(600),
        secure_cookies: false,
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let app: axum::Router = web::router(auth.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
    TestWeb { base: format!("http://{addr}"), auth, http }
}

/// `name=value` of the first `Set-Cookie` for `name`, and the whole header line.
fn set_cookie(headers: &reqwest::header::HeaderMap, name: &str) -> Option<(String, String)> {
    headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|line| {
        let pair = line.split(';').next()?.trim();
        pair.starts_with(&format!("{name}=")).then(|| (pair.to_string(), line.to_string()))
    })
}

/// The value of the hidden `csrf` input in a page.
fn form_csrf(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("page has a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().expect("closing quote").to_string()
}

impl TestWeb {
    /// Loads the login page and returns (login-CSRF cookie pair, form token).
    async fn login_form(&self) -> (String, String) {
        let resp = self.http.get(format!("{}/login", self.base)).send().await.expect("GET /login");
        assert_eq!(resp.status(), StatusCode::OK);
        let (cookie, line) = set_cookie(resp.headers(), "outpost_login_csrf").expect("login CSRF cookie");
        assert!(line.contains("HttpOnly") && line.contains("SameSite=Strict"), "{line}");
        let html = resp.text().await.expect("body");
        (cookie, form_csrf(&html))
    }

    async fn post_login(&self, cookie: &str, csrf: &str, name: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/login", self.base))
            .header(COOKIE, cookie)
            .header(CONTENT_TYPE, FORM)
            .body(form_body(&[("name", name), ("password", password), ("csrf", csrf)]))
            .send()
            .await
            .expect("POST /login")
    }

    /// Logs in and returns the session cookie pair.
    async fn login(&self) -> String {
        let (cookie, csrf) = self.login_form().await;
        let resp = self.post_login(&cookie, &csrf, "alice", PASSWORD).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER);
        assert_eq!(resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()), Some("/"));
        let (pair, line) = set_cookie(resp.headers(), "outpost_session").expect("session cookie");
        assert!(line.contains("HttpOnly"), "{line}");
        assert!(line.contains("SameSite=Strict"), "{line}");
        assert!(!line.contains("Secure"), "plain-HTTP loopback config must not set Secure: {line}");
        pair
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// An `application/x-www-form-urlencoded` body, as a browser's form submission sends it.
fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
                b' ' => "+".to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    fields.iter().map(|(k, v)| format!("{}={}", enc(k), enc(v))).collect::<Vec<_>>().join("&")
}

fn headers_with(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(*k, v.parse().expect("header value"));
    }
    h
}

#[tokio::test]
async fn anonymous_page_requests_are_sent_to_the_login_page() {
    let t = start().await;
    let resp = t.http.get(format!("{}/", t.base)).send().await.expect("GET /");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()), Some("/login"));
    assert!(!session_ok(&t.auth, Method::GET, &[]));
}

fn session_ok(auth: &WebAuth, method: Method, pairs: &[(&'static str, &str)]) -> bool {
    web::session_is_valid(auth, &method, &headers_with(pairs))
}

#[tokio::test]
async fn wrong_password_unknown_operator_and_missing_csrf_are_refused() {
    let t = start().await;
    let (cookie, csrf) = t.login_form().await;
    let resp = t.post_login(&cookie, &csrf, "alice", "wrong").await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(resp.headers(), "outpost_session").is_none());
    assert!(resp.text().await.expect("body").contains("wrong password"));

    let resp = t.post_login(&cookie, &csrf, "mallory", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    // A cross-site form cannot read the login CSRF cookie, so its token does not match.
    let resp = t.post_login(&cookie, "forged", "alice", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let resp = t.post_login("", &csrf, "alice", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn login_serves_the_app_with_a_csrf_token_that_api_writes_require() {
    let t = start().await;
    let session = t.login().await;
    let resp = t.http.get(format!("{}/", t.base)).header(COOKIE, &session).send().await.expect("GET /");
    assert_eq!(resp.status(), StatusCode::OK);
    let csp = resp.headers().get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = resp.text().await.expect("body");
    assert!(html.contains("alice"));
    let at = html.find("name=\"csrf-token\" content=\"").expect("csrf meta") + "name=\"csrf-token\" content=\"".len();
    let token = html[at..].split('"').next().expect("quote").to_string();
    assert_eq!(token.len(), 64);

    assert!(session_ok(&t.auth, Method::GET, &[("cookie", &session)]));
    assert!(!session_ok(&t.auth, Method::POST, &[("cookie", &session)]));
    assert!(!session_ok(&t.auth, Method::POST, &[("cookie", &session), ("x-csrf-token", &"0".repeat(64))]));
    assert!(session_ok(&t.auth, Method::POST, &[("cookie", &session), ("x-csrf-token", &token)]));
}

#[tokio::test]
async fn logout_needs_the_csrf_token_and_ends_the_session() {
    let t = start().await;
    let session = t.login().await;
    let html = t.http.get(format!("{}/", t.base)).header(COOKIE, &session).send().await.expect("GET /");
    let token = form_csrf(&html.text().await.expect("body"));

    let resp = t
        .http
        .post(format!("{}/logout", t.base))
        .header(COOKIE, &session)
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("csrf", "forged")]))
        .send()
        .await
        .expect("POST /logout");
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(session_ok(&t.auth, Method::GET, &[("cookie", &session)]));

    let resp = t
        .http
        .post(format!("{}/logout", t.base))
        .header(COOKIE, &session)
        .header(CONTENT_TYPE, FORM)
        .body(form_body(&[("csrf", token.as_str())]))
        .send()
        .await
        .expect("POST /logout");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(!session_ok(&t.auth, Method::GET, &[("cookie", &session)]));
    let resp = t.http.get(format!("{}/", t.base)).header(COOKIE, &session).send().await.expect("GET /");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn assets_are_embedded_and_served_with_their_types() {
    let t = start().await;
    for (name, ty) in [("app.js", "text/javascript"), ("app.css", "text/css"), ("favicon.svg", "image/svg+xml")] {
        let resp = t.http.get(format!("{}/assets/{name}", t.base)).send().await.expect("GET asset");
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
        let got = resp.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(got.starts_with(ty), "{name}: {got}");
    }
    let resp = t.http.get(format!("{}/assets/..%2Fmain.rs", t.base)).send().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
}
