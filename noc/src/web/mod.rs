//! The operator web view: a login page and a single-page app (vanilla JS, no framework, no CDN) whose
//! assets are compiled into the binary.
//!
//! This module owns the pages, the login/logout flow and the assets. The data the page shows comes from
//! the operator JSON API (`/api/v1/...`, owned by `api/`), which accepts a logged-in browser through
//! [`auth::session_is_valid`]; the page sends its CSRF token in `X-CSRF-Token` on every POST.
//!
//! Mount it with `Router::merge(web::router(web_auth))`: the returned router carries its own state, so it
//! merges into a router of any state type.

pub mod assets;
pub mod auth;
pub mod password;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

pub use auth::{OperatorConfig, WebAuth, WebConfig, session_is_valid};

/// How long the login form stays valid before it must be reloaded.
const LOGIN_FORM_TTL: Duration = Duration::from_secs(3600);
/// Pause after a failed login, on top of Argon2's own cost, to slow down password guessing.
const FAILED_LOGIN_DELAY: Duration = Duration::from_millis(400);

/// The web view's routes: `/`, `/login`, `/logout` and `/assets/*`.
pub fn router<S: Clone + Send + Sync + 'static>(web: Arc<WebAuth>) -> Router<S> {
    Router::new()
        .route("/", get(index))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/assets/{file}", get(asset))
        .layer(axum::middleware::map_response(security_headers))
        .with_state(web)
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

#[derive(Deserialize)]
struct LogoutForm {
    csrf: String,
}

/// The app shell for a logged-in operator; anyone else is sent to the login page.
async fn index(State(web): State<Arc<WebAuth>>, headers: HeaderMap) -> Response {
    let Some(session) = web.session(&headers) else {
        return Redirect::to("/login").into_response();
    };
    let html = assets::INDEX_HTML
        .replace("{{operator}}", &escape_html(&session.operator))
        .replace("{{csrf}}", &escape_html(&session.csrf));
    html_response(StatusCode::OK, html)
}

async fn login_page(State(web): State<Arc<WebAuth>>, headers: HeaderMap) -> Response {
    if web.session(&headers).is_some() {
        return Redirect::to("/").into_response();
    }
    login_form(&web, StatusCode::OK, "")
}

async fn login(State(web): State<Arc<WebAuth>>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    let expected = auth::cookie_value(&headers, auth::LOGIN_CSRF_COOKIE).unwrap_or("");
    if !auth::constant_time_eq(form.csrf.as_bytes(), expected.as_bytes()) {
        return login_form(&web, StatusCode::FORBIDDEN, "The login form expired. Please sign in again.");
    }
    let checker = web.clone();
    let name = form.name.clone();
    let ok = tokio::task::spawn_blocking(move || checker.check_password(&name, &form.password)).await.unwrap_or(false);
    if !ok {
        tracing::warn!(operator = %form.name, "web login refused: unknown operator or wrong password");
        tokio::time::sleep(FAILED_LOGIN_DELAY).await;
        return login_form(&web, StatusCode::UNAUTHORIZED, "Unknown operator or wrong password.");
    }
    tracing::info!(operator = %form.name, "web login");
    let (token, _) = web.create_session(&form.name);
    let mut resp = Redirect::to("/").into_response();
    append_cookie(&mut resp, &web.cookie(auth::SESSION_COOKIE, &token, web.config().session_ttl));
    append_cookie(&mut resp, &web.clear_cookie(auth::LOGIN_CSRF_COOKIE));
    resp
}

async fn logout(State(web): State<Arc<WebAuth>>, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    match web.session(&headers) {
        Some(s) if auth::constant_time_eq(form.csrf.as_bytes(), s.csrf.as_bytes()) => {
            tracing::info!(operator = %s.operator, "web logout");
            web.end_session(&headers);
        }
        Some(_) => return (StatusCode::FORBIDDEN, "missing or wrong CSRF token; reload the page").into_response(),
        None => {}
    }
    let mut resp = Redirect::to("/login").into_response();
    append_cookie(&mut resp, &web.clear_cookie(auth::SESSION_COOKIE));
    resp
}

async fn asset(axum::extract::Path(file): axum::extract::Path<String>) -> Response {
    match assets::lookup(&file) {
        Some((content_type, body)) => {
            ([(header::CONTENT_TYPE, content_type), (header::CACHE_CONTROL, "no-cache")], body).into_response()
        }
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

/// The login page with a fresh login-CSRF token (in a cookie and repeated in the form).
fn login_form(web: &WebAuth, status: StatusCode, error: &str) -> Response {
    let token = auth::random_token();
    let error_html = if error.is_empty() {
        String::new()
    } else {
        format!("<p class=\"error\" role=\"alert\">{}</p>", escape_html(error))
    };
    let html = assets::LOGIN_HTML.replace("{{csrf}}", &token).replace("{{error}}", &error_html);
    let mut resp = html_response(status, html);
    append_cookie(&mut resp, &web.cookie(auth::LOGIN_CSRF_COOKIE, &token, LOGIN_FORM_TTL));
    resp
}

fn html_response(status: StatusCode, html: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], html)
        .into_response()
}

fn append_cookie(resp: &mut Response, cookie: &str) {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
}

/// Everything the pages load comes from this origin; nothing may frame them.
async fn security_headers(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    resp
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn escape_html_escapes_markup_and_quotes() {
        assert_eq!(
            super::escape_html("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
