//! Browser tests of the NOC web view: headless Debian Chromium driven through chromedriver (W3C WebDriver on
//! 127.0.0.1), against the real `noc` and `satellite` binaries configured from `fixtures/demo/`.
//!
//! - an anonymous user is refused (pages redirect to the login, the API answers 401);
//! - the overview renders the demo's locations (and saves a screenshot);
//! - a state change at a satellite appears in the open page without a reload;
//! - accepting a pending satellite in the page works, and the satellite's data then arrives.
//!
//! Needs `chromium` and `chromium-driver` (installed by `scripts/install-test-deps`, which `scripts/test` runs).
//! The tests run one at a time (a lock), so that two Chromiums do not compete for the CI machine's two cores.
//! `OUTPOST_UPDATE_SCREENSHOT=1` also copies the overview screenshot to `docs/img/overview.png`.

mod cluster;
mod webdriver;

use std::time::Duration;

use anyhow::Context;
use serde_json::json;

use cluster::{Cluster, OPERATOR, PASSWORD};
use webdriver::{Browser, Driver};

/// Generous bounds against hangs, never performance assertions.
const PAGE_TIMEOUT: Duration = Duration::from_secs(20);
const DATA_TIMEOUT: Duration = Duration::from_secs(90);

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn login(browser: &Browser, url: &str, name: &str, password: &str) -> anyhow::Result<()> {
    browser.goto(&format!("{url}/login")).await?;
    browser.type_into("#login-name", name).await?;
    browser.type_into("#login-password", password).await?;
    browser.click("#login-submit").await?;
    Ok(())
}

/// JS: the number in the overview's "Objects" cell for a location, or 0 while it is not listed.
const LOCATION_OBJECTS: &str = "const row = document.querySelector(`#locations tr[data-location=\"${arguments[0]}\"]`);
    return row ? Number(row.children[6].textContent) : 0;";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_user_is_refused() -> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let noc = Cluster::start_noc().await?;
    let driver = Driver::start(noc.dir.path()).await?;
    let browser = driver.browser().await?;

    for page in ["/", "/#/satellites", "/#/events"] {
        browser.goto(&format!("{}{page}", noc.url)).await?;
        let at = browser.current_url().await?;
        // A redirect keeps the URL fragment (`#/satellites`), so compare without it.
        assert_eq!(
            at.split('#').next(),
            Some(format!("{}/login", noc.url).as_str()),
            "anonymous {page} must land on the login page"
        );
        browser
            .wait_until("the login form", PAGE_TIMEOUT, "return !!document.querySelector('#login-form')", json!([]))
            .await?;
    }
    // The API the page uses refuses the anonymous browser too.
    let status = browser
        .eval_async(
            "const done = arguments[arguments.length - 1];
             Promise.all(['/api/v1/locations', '/api/v1/objects', '/api/v1/satellites'].map((p) => fetch(p).then((r) => r.status)))
               .then(done, (e) => done(String(e)));",
            json!([]),
        )
        .await?;
    assert_eq!(status, json!([401, 401, 401]));

    // A wrong password keeps the user out, with a message.
    login(&browser, &noc.url, OPERATOR, "not the password").await?;
    let msg = browser
        .wait_until(
            "the login error",
            PAGE_TIMEOUT,
            "const e = document.querySelector('.error'); return e && e.textContent;",
            json!([]),
        )
        .await?;
    assert!(msg.as_str().unwrap_or("").contains("wrong password"), "{msg}");
    browser.goto(&format!("{}/", noc.url)).await?;
    assert_eq!(browser.current_url().await?, format!("{}/login", noc.url));
    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_renders_the_demo_locations_and_a_state_change_appears_without_reload() -> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut noc = Cluster::start_noc().await?;
    let locations = ["FRA1", "NYC2", "SIN3"];
    for loc in locations {
        noc.start_demo_satellite(loc)?;
    }
    noc.accept_when_pending(&locations, DATA_TIMEOUT).await?;
    let driver = Driver::start(noc.dir.path()).await?;
    let browser = driver.browser().await?;
    login(&browser, &noc.url, OPERATOR, PASSWORD).await?;
    browser
        .wait_until("the overview", PAGE_TIMEOUT, "return !!document.querySelector('#locations')", json!([]))
        .await?;

    for loc in locations {
        browser
            .wait_until(&format!("{loc} with objects in the overview"), DATA_TIMEOUT, LOCATION_OBJECTS, json!([loc]))
            .await
            .with_context(|| noc.all_log_tails())?;
    }
    let shot = cluster::artifacts_dir().join("overview.png");
    browser.screenshot(&shot).await?;
    if std::env::var_os("OUTPOST_UPDATE_SCREENSHOT").is_some() {
        let docs = outpost_tests::workspace_root().join("docs/img/overview.png");
        std::fs::create_dir_all(docs.parent().context("docs/img")?)?;
        std::fs::copy(&shot, &docs).context("copy screenshot to docs/img")?;
    }

    // Mark this page load: a reload would lose the marker.
    browser.eval("window.__outpostPageMarker = 'still the same page'; return true;", json!([])).await?;
    std::fs::write(noc.flags.join("FRA1-web01"), "2 broken on purpose by the browser test\n")?;
    browser
        .wait_until(
            "FRA1_web01/Override CRITICAL in the problems list",
            DATA_TIMEOUT,
            "return !!document.querySelector('#problems tr[data-object=\"FRA1_web01/Override\"][data-state=\"CRITICAL\"]');",
            json!([]),
        )
        .await
        .with_context(|| noc.all_log_tails())?;
    let output = browser
        .eval(
            "const row = document.querySelector('#problems tr[data-object=\"FRA1_web01/Override\"]');
             return [window.__outpostPageMarker, row.querySelector('td.output').textContent];",
            json!([]),
        )
        .await?;
    assert_eq!(output[0], "still the same page", "the page reloaded instead of updating in place");
    assert!(output[1].as_str().unwrap_or("").contains("broken on purpose"), "{output}");

    // The event log shows the alert too, and the recovery arrives live while the page stays open.
    browser.goto(&format!("{}/#/events?location=FRA1&kind=state_change", noc.url)).await?;
    browser
        .wait_until(
            "the state_change event in the log",
            DATA_TIMEOUT,
            "return [...document.querySelectorAll('#events tbody tr')].some((r) => r.textContent.includes('broken on purpose'));",
            json!([]),
        )
        .await?;
    browser.eval("window.__outpostPageMarker = 'events page'; return true;", json!([])).await?;
    std::fs::write(noc.flags.join("FRA1-web01"), "0 fixed again by the browser test\n")?;
    browser
        .wait_until(
            "the recovery event to appear live",
            DATA_TIMEOUT,
            "return window.__outpostPageMarker === 'events page' &&
               [...document.querySelectorAll('#events tbody tr')].some((r) => r.textContent.includes('fixed again'));",
            json!([]),
        )
        .await
        .with_context(|| noc.all_log_tails())?;
    browser.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepting_a_pending_satellite_in_the_page_lets_its_data_in() -> anyhow::Result<()> {
    let _one = ONE_AT_A_TIME.lock().await;
    let mut noc = Cluster::start_noc().await?;
    noc.start_satellite(
        "LAB4",
        "location = \"LAB4\"\nstate_dir = \"@STATE_DIR@\"\n\n[noc]\nurls = [\"@NOC_URL@\"]\nship_interval = \"2s\"\n\n\
         [macros]\nUSER1 = \"@PLUGINS@\"\n\n[[hosts]]\nname = \"bench01\"\naddress = \"127.0.0.1\"\n\
         check_command = \"$USER1$/check_always -t 'lab bench is up'\"\ncheck_interval = \"5s\"\n",
    )?;
    let driver = Driver::start(noc.dir.path()).await?;
    let browser = driver.browser().await?;
    login(&browser, &noc.url, OPERATOR, PASSWORD).await?;
    browser
        .wait_until("the overview", PAGE_TIMEOUT, "return !!document.querySelector('#locations')", json!([]))
        .await?;
    browser.goto(&format!("{}/#/satellites", noc.url)).await?;
    browser
        .wait_until(
            "LAB4 pending on the Satellites page",
            DATA_TIMEOUT,
            "return !!document.querySelector('#satellites tr[data-satellite=\"LAB4\"][data-status=\"pending\"] button.accept');",
            json!([]),
        )
        .await
        .with_context(|| noc.all_log_tails())?;
    browser.click("#satellites tr[data-satellite=\"LAB4\"] button.accept").await?;
    browser
        .wait_until(
            "LAB4 accepted",
            PAGE_TIMEOUT,
            "return !!document.querySelector('#satellites tr[data-satellite=\"LAB4\"][data-status=\"accepted\"]');",
            json!([]),
        )
        .await?;
    let sats = noc.api_get("/api/v1/satellites").await?;
    assert!(
        sats.as_array().into_iter().flatten().any(|s| s["location"] == "LAB4" && s["status"] == "accepted"),
        "the NOC did not record the acceptance: {sats}"
    );

    // Once accepted, the satellite's retries get through and its host appears in the overview.
    browser.goto(&format!("{}/#/", noc.url)).await?;
    browser
        .wait_until("LAB4 with objects in the overview", DATA_TIMEOUT, LOCATION_OBJECTS, json!(["LAB4"]))
        .await
        .with_context(|| noc.all_log_tails())?;
    browser.close().await;
    Ok(())
}
