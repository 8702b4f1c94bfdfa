//! Config errors name the file and line and give a hint; a bad config never half-loads.

use outpost_satellite::config::{CommandLine, Config, ConfigError};

fn load(main: &str, extra: &[(&str, &str)]) -> Result<Config, Vec<ConfigError>> {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("satellite.toml"), main).expect("write");
    if !extra.is_empty() {
        std::fs::create_dir(dir.path().join("conf.d")).expect("mkdir");
        for (name, text) in extra {
            std::fs::write(dir.path().join("conf.d").join(name), text).expect("write");
        }
    }
    Config::load(&dir.path().join("satellite.toml")).map_err(|e| e.0)
}

fn one_error(main: &str, extra: &[(&str, &str)]) -> ConfigError {
    let errors = load(main, extra).expect_err("config must be refused");
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.into_iter().next().expect("one")
}

fn at(e: &ConfigError) -> (String, Option<usize>) {
    (e.file.file_name().expect("name").to_string_lossy().to_string(), e.line)
}

#[test]
fn unknown_key_points_at_its_line() {
    let e = one_error("location = \"FRA1\"\n\n[engine]\nmax_concurent_checks = 4\n", &[]);
    assert_eq!(at(&e), ("satellite.toml".into(), Some(4)));
    assert!(e.message.contains("max_concurent_checks"), "{e}");
    assert!(e.hint.contains("docs/satellite-config.md"), "{e}");
}

#[test]
fn missing_location_says_how_to_add_it() {
    let e = one_error("[[hosts]]\nname = \"a\"\n", &[]);
    assert!(e.message.contains("location"), "{e}");
    assert!(e.hint.contains("location = "), "{e}");
}

#[test]
fn errors_in_conf_d_name_that_file_and_all_errors_are_reported() {
    let main = "location = \"FRA1\"\n[[hosts]]\nname = \"web1\"\n";
    let extra = "# services\n\n[[services]]\nname = \"HTTP\"\nhost = \"web2\"\ncheck_command = \"/bin/true\"\n\n[[services]]\nname = \"Disk\"\nhost = \"web1\"\ncheck_command = \"$USER1$/check_disk -w $ARG1 -c 5%\"\n";
    let errors = load(main, &[("web.toml", extra)]).expect_err("refused");
    assert_eq!(errors.len(), 2, "{errors:#?}");
    assert_eq!(at(&errors[0]), ("web.toml".into(), Some(4)));
    assert!(errors[0].message.contains("host `web2` is not defined"), "{}", errors[0]);
    assert_eq!(at(&errors[1]), ("web.toml".into(), Some(9)));
    assert!(errors[1].message.contains("macro"), "{}", errors[1]);
}

#[test]
fn unknown_template_and_template_loops_are_errors() {
    let e = one_error("location = \"FRA1\"\n[[hosts]]\nname = \"a\"\nuse = \"nope\"\n", &[]);
    assert_eq!(e.line, Some(3));
    assert!(e.message.contains("unknown template `nope`"), "{e}");
    let e = one_error(
        "location = \"FRA1\"\n[templates.host.x]\nuse = \"y\"\n[templates.host.y]\nuse = \"x\"\n[[hosts]]\nname = \"a\"\nuse = \"x\"\n",
        &[],
    );
    assert!(e.message.contains("loop"), "{e}");
}

#[test]
fn bad_values_are_reported_with_hints() {
    let cases: &[(&str, &str)] = &[
        ("[[hosts]]\nname = \"a\"\ncheck_interval = \"soon\"\n", "duration"),
        ("[[hosts]]\nname = \"a\"\nmax_attempts = 0\n", "max_attempts"),
        ("[[services]]\nname = \"s\"\nhost_groups = [\"none\"]\ncheck_command = \"x\"\n", "group"),
        ("[[hosts]]\nname = \"a\"\n[[hosts]]\nname = \"a\"\n", "defined twice"),
        ("[noc]\nurls = [\"ftp://x\"]\n", "http"),
        ("[noc]\nurls = [\"http://192.0.2.10:8443\"]\n", "not loopback"),
        ("[noc]\nship_cron = \"every tuesday\"\n", "ship_cron"),
        ("[spool]\nmax_bytes = \"12 parsecs\"\n", "size unit"),
        (
            "[[services]]\nname = \"s\"\nhost = \"a\"\ncheck_command = \"x\"\ntimeout_state = \"bad\"\n[[hosts]]\nname = \"a\"\n",
            "timeout_state",
        ),
        ("[[hosts]]\nname = \"a\"\ncheck_command = \"echo 'unbalanced\"\n", "quote"),
    ];
    for (body, needle) in cases {
        let e = one_error(&format!("location = \"FRA1\"\n{body}"), &[]);
        assert!(e.to_string().contains(needle), "{body}: {e}");
        assert!(!e.hint.is_empty(), "{body}: no hint");
        assert!(e.line.is_some(), "{body}: no line in {e}");
    }
}

#[test]
fn the_fixture_config_loads_with_templates_groups_and_macros_applied() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/satellite/satellite.toml");
    let c = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.location, "FRA1");
    assert_eq!(c.hosts.len(), 2);
    // Load and Root disk on both linux hosts, HTTP on web1, Heartbeat on both.
    assert_eq!(c.services.len(), 7);
    let http = c.services.iter().find(|s| s.key.to_string() == "web1/HTTP").expect("web1/HTTP");
    assert_eq!(
        http.command.as_deref(),
        Some(&CommandLine::Direct {
            argv: ["/usr/lib/nagios/plugins/check_http", "-I", "127.0.0.1", "-p", "8080", "-u", "/"]
                .map(String::from)
                .to_vec()
        })
    );
    assert_eq!(http.timeout_state, 2);
    let load = c.services.iter().find(|s| s.key.to_string() == "gw1/Load").expect("gw1/Load");
    assert_eq!((load.check_interval.as_secs(), load.config.max_attempts), (30, 4), "template over defaults");
    let web1 = c.hosts.iter().find(|h| h.key.host == "web1").expect("web1");
    assert_eq!(web1.config.custom_vars.get("os").map(|v| v.as_str()), Some("debian"), "vars from the template");
    assert_eq!(web1.parents, ["gw1"]);
}
