//! The whole NOC (`server::run`) with a web operator: a browser session logged in through `/login` may use the
//! operator API, state-changing API calls need the page's CSRF token, and anonymous requests get 401.

mod common;

use common::{TestNoc, snapshot};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};

const PASSWORD: &str = "web api session password";

/// Starts a NOC with operator `alice`, logs in like a browser, and returns (NOC, session cookie, CSRF token).
async fn logged_in() -> (TestNoc, reqwest::Client, String, String) {
    let hash = outpost_noc::web::password::hash_password(PASSWORD).expect("hash");
    let noc =
        TestNoc::start("", &format!("[web]\n[[web.operators]]\nname = \"alice\"\npassword_hash = \"{hash}\"\n")).await;
    // The browser-like client: no bearer token, no automatic redirects, the NOC's test certificate trusted.
    let browser = noc_client(&noc);
    let page = browser.get(noc.url("/login")).send().await.expect("GET /login");
    let login_cookie = cookie_pair(page.headers(), "outpost_login_csrf").expect("login cookie");
    let html = page.text().await.expect("body");
    let csrf = attr_after(&html, "name=\"csrf\" value=\"");
    let resp = browser
        .post(noc.url("/login"))
        .header(COOKIE, &login_cookie)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("name=alice&password={}&csrf={csrf}", PASSWORD.replace(' ', "+")))
        .send()
        .await
        .expect("POST /login");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let session = cookie_pair(resp.headers(), "outpost_session").expect("session cookie");
    let line = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|l| l.starts_with("outpost_session="));
    assert!(line.is_some_and(|l| l.contains("Secure")), "a TLS NOC must mark the session cookie Secure: {line:?}");
    let app = browser.get(noc.url("/")).header(COOKIE, &session).send().await.expect("GET /");
    assert_eq!(app.status(), StatusCode::OK);
    let token = attr_after(&app.text().await.expect("body"), "name=\"csrf-token\" content=\"");
    (noc, browser, session, token)
}

fn noc_client(noc: &TestNoc) -> reqwest::Client {
    let pem = std::fs::read(noc.dir.path().join("cert.pem")).expect("test cert");
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("cert")])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

fn cookie_pair(headers: &reqwest::header::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|l| l.split(';').next())
        .find(|p| p.starts_with(&format!("{name}=")))
        .map(str::to_string)
}

fn attr_after(html: &str, marker: &str) -> String {
    let at = html.find(marker).unwrap_or_else(|| panic!("page has {marker}")) + marker.len();
    html[at..].split('"').next().expect("closing quote").to_string()
}

#[tokio::test]
async fn a_logged_in_browser_reads_the_operator_api_with_its_session() {
    let (noc, browser, session, _) = logged_in().await;
    let (status, _) = noc.send(&common::full("FRA1", 7, 1, snapshot("FRA1", &[("web01", "HTTP", 2)]))).await;
    assert_eq!(status, 200);

    let resp =
        browser.get(noc.url("/api/v1/objects?problems=true")).header(COOKIE, &session).send().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::OK);
    let page: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["name"], "FRA1_web01/HTTP");
    assert_eq!(page["items"][0]["state_name"], "CRITICAL");

    let resp = browser.get(noc.url("/api/v1/locations")).header(COOKIE, &session).send().await.expect("GET");
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test]
async fn anonymous_browsers_get_401_from_the_api_and_a_redirect_from_pages() {
    let (noc, browser, _, _) = logged_in().await;
    for path in ["/api/v1/locations", "/api/v1/objects", "/api/v1/events", "/api/v1/satellites", "/api/v1/held"] {
        let resp = browser.get(noc.url(path)).send().await.expect("GET");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
        let resp = browser.get(noc.url(path)).header(COOKIE, "outpost_session=forged").send().await.expect("GET");
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path} with a forged cookie");
    }
    let resp = browser.get(noc.url("/")).send().await.expect("GET /");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers().get(LOCATION).and_then(|v| v.to_str().ok()), Some("/login"));
}

#[tokio::test]
async fn api_writes_from_a_session_need_the_csrf_token() {
    let (noc, browser, session, token) = logged_in().await;
    // An unknown key enrolls as pending for LAB4.
    let resp = noc
        .client
        .post(noc.url("/api/v1/enroll"))
        .bearer_auth("lab4-new-key")
        .header("X-Outpost-Location", "LAB4")
        .json(&serde_json::json!({ "location": "LAB4", "version": "0.1.0", "hostname": "lab4" }))
        .send()
        .await
        .expect("enroll");
    assert_eq!(resp.status(), StatusCode::ACCEPTED);

    let accept = noc.url("/api/v1/satellites/LAB4/accept");
    let resp = browser.post(&accept).header(COOKIE, &session).send().await.expect("POST");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "a session POST without the CSRF token must be refused");
    let resp = browser
        .post(&accept)
        .header(COOKIE, &session)
        .header("X-CSRF-Token", "0".repeat(64))
        .send()
        .await
        .expect("POST");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "a wrong CSRF token must be refused");
    let sats = noc.api("/api/v1/satellites").await;
    assert!(
        sats.as_array().into_iter().flatten().any(|s| s["location"] == "LAB4" && s["status"] == "pending"),
        "{sats}"
    );

    let resp =
        browser.post(&accept).header(COOKIE, &session).header("X-CSRF-Token", &token).send().await.expect("POST");
    assert_eq!(resp.status(), StatusCode::OK);
    let sats = noc.api("/api/v1/satellites").await;
    assert!(
        sats.as_array().into_iter().flatten().any(|s| s["location"] == "LAB4" && s["status"] == "accepted"),
        "{sats}"
    );
}
