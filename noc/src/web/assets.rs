//! The web view's files, compiled into the binary with `include_str!` so the NOC needs no asset directory
//! and the browser loads nothing from another origin.
//!
//! The sources live in `web/assets/`; editing one there changes the next build.

/// The app shell; `{{operator}}` and `{{csrf}}` are replaced (HTML-escaped) per session.
pub const INDEX_HTML: &str = include_str!("assets/index.html");
/// The login page; `{{csrf}}` and `{{error}}` are replaced per request.
pub const LOGIN_HTML: &str = include_str!("assets/login.html");

const APP_JS: &str = include_str!("assets/app.js");
const APP_CSS: &str = include_str!("assets/app.css");
const FAVICON_SVG: &str = include_str!("assets/favicon.svg");

/// The content type and body of the asset called `name`, if it exists.
pub fn lookup(name: &str) -> Option<(&'static str, &'static str)> {
    match name {
        "app.js" => Some(("text/javascript; charset=utf-8", APP_JS)),
        "app.css" => Some(("text/css; charset=utf-8", APP_CSS)),
        "favicon.svg" => Some(("image/svg+xml", FAVICON_SVG)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_page_links_only_embedded_assets() {
        for page in [super::INDEX_HTML, super::LOGIN_HTML] {
            for part in page.split("/assets/").skip(1) {
                let name = part.split('"').next().unwrap_or("");
                assert!(super::lookup(name).is_some(), "page links /assets/{name}, which is not embedded");
            }
            assert!(!page.contains("http://") && !page.contains("https://"), "pages must not load other origins");
        }
        assert!(super::lookup("../main.rs").is_none());
    }
}
