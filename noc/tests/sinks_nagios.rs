//! The Nagios sink against a real Nagios 4 (`/usr/sbin/nagios4`, run in the foreground as a test instance with
//! its own nagios.cfg in a temp dir, `check_external_commands=1` and a command FIFO there).
//! The NOC's objects become prefixed passive hosts and services with a host group per location; events become
//! external commands; the test reads Nagios' status.dat and asserts states, acknowledgements, comments and
//! downtimes, including removals, and that objects created later get config before their first results.

mod sinks_support;

use std::path::PathBuf;
use std::time::Duration;

use outpost_format::event::Lifecycle;
use outpost_format::model::{Acknowledgement, Comment, Downtime};
use outpost_format::{EventKind, ObjectKey};
use outpost_noc::sinks;
use outpost_noc::sinks::nagios_status::{Block, read};
use outpost_noc::store::NOC_LOCATION;
use sinks_support::{DEADLINE, TestStore, now_ms, state_change};
use tokio_util::sync::CancellationToken;

const NAGIOS: &str = "/usr/sbin/nagios4";

struct TestNagios {
    dir: tempfile::TempDir,
    child: tokio::process::Child,
}

impl TestNagios {
    async fn start(extra_base: &str) -> TestNagios {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        std::fs::create_dir_all(d.join("outpost")).expect("mkdir");
        std::fs::create_dir_all(d.join("checkresults")).expect("mkdir");
        let user = std::process::Command::new("id").arg("-un").output().expect("id");
        let user = String::from_utf8_lossy(&user.stdout).trim().to_string();
        let group = std::process::Command::new("id").arg("-gn").output().expect("id");
        let group = String::from_utf8_lossy(&group.stdout).trim().to_string();
        // Nagios wants at least one host, service and contact before Outpost has written anything.
        std::fs::write(
            d.join("base.cfg"),
            "define command {\n command_name noop\n command_line /bin/true\n}\n\
             define timeperiod {\n timeperiod_name always\n alias always\n monday 00:00-24:00\n}\n\
             define contact {\n contact_name nobody\n host_notifications_enabled 0\n service_notifications_enabled 0\n \
             host_notification_period always\n service_notification_period always\n host_notification_options n\n \
             service_notification_options n\n host_notification_commands noop\n service_notification_commands noop\n}\n\
             define host {\n host_name placeholder\n address 127.0.0.1\n max_check_attempts 1\n check_period always\n \
             active_checks_enabled 0\n notification_period always\n contacts nobody\n}\n\
             define service {\n host_name placeholder\n service_description placeholder\n check_command noop\n \
             max_check_attempts 1\n check_interval 5\n retry_interval 1\n check_period always\n active_checks_enabled 0\n \
             notification_period always\n contacts nobody\n}\n",
        )
        .expect("base.cfg");
        let mut base = std::fs::read_to_string(d.join("base.cfg")).expect("base.cfg");
        base.push_str(extra_base);
        std::fs::write(d.join("base.cfg"), base).expect("base.cfg");
        let p = |name: &str| d.join(name).display().to_string();
        let cfg = format!(
            "log_file={log}\ncfg_file={base}\ncfg_dir={outpost}\nobject_cache_file={oc}\nprecached_object_file={pc}\n\
             status_file={status}\nstatus_update_interval=1\nnagios_user={user}\nnagios_group={group}\n\
             check_external_commands=1\ncommand_file={cmd}\nlock_file={lock}\ntemp_file={tmp}\ntemp_path={dir}\n\
             check_result_path={cr}\nstate_retention_file={ret}\nretain_state_information=0\nenable_notifications=0\n\
             accept_passive_service_checks=1\naccept_passive_host_checks=1\npassive_host_checks_are_soft=0\n\
             log_passive_checks=1\nlog_external_commands=1\ncheck_service_freshness=1\ncheck_host_freshness=1\n\
             query_socket={qh}\nuse_syslog=0\ndate_format=iso8601\nillegal_macro_output_chars=`~$&|'\"<>\n",
            log = p("nagios.log"),
            base = p("base.cfg"),
            outpost = p("outpost"),
            oc = p("objects.cache"),
            pc = p("objects.precache"),
            status = p("status.dat"),
            cmd = p("nagios.cmd"),
            lock = p("nagios.lock"),
            tmp = p("nagios.tmp"),
            dir = d.display(),
            cr = p("checkresults"),
            ret = p("retention.dat"),
            qh = p("nagios.qh"),
        );
        std::fs::write(d.join("nagios.cfg"), cfg).expect("nagios.cfg");
        let child = tokio::process::Command::new(NAGIOS)
            .arg(d.join("nagios.cfg"))
            .current_dir(d)
            .stdout(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start nagios4 (scripts/install-test-deps installs it)");
        let n = TestNagios { dir, child };
        n.wait_status(|b| b.iter().any(|x| x.kind == "programstatus"), "Nagios to write status.dat").await;
        n
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("nagios running")
    }

    async fn wait_status(&self, ok: impl Fn(&[Block]) -> bool, what: &str) -> Vec<Block> {
        let path = self.path("status.dat");
        let r = tokio::time::timeout(DEADLINE, async {
            loop {
                if let Ok(blocks) = read(&path)
                    && ok(&blocks)
                {
                    return blocks;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
        .await;
        r.unwrap_or_else(|_| {
            panic!(
                "waited for {what}; nagios.log:\n{}",
                std::fs::read_to_string(self.path("nagios.log")).unwrap_or_default()
            )
        })
    }
}

fn find<'a>(blocks: &'a [Block], kind: &str, fields: &[(&str, &str)]) -> Option<&'a Block> {
    blocks.iter().find(|b| b.kind == kind && fields.iter().all(|(k, v)| b.get(k) == Some(*v)))
}

fn has(kind: &'static str, fields: &'static [(&'static str, &'static str)]) -> impl Fn(&[Block]) -> bool {
    move |b| find(b, kind, fields).is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nagios4_loads_config_and_follows_results_acks_comments_downtimes() {
    let mut ts = TestStore::new();
    ts.snapshot(
        "FRA1",
        &[("web01", "", 0, "PING OK"), ("web01", "HTTP", 0, "HTTP OK"), ("db01", "Disk /", 1, "DISK WARNING")],
    )
    .await;
    let nagios = TestNagios::start("").await;
    let p = |name: &str| nagios.path(name).display().to_string();
    let mut cfg = toml::Table::new();
    let nagios_cfg: toml::Table = toml::from_str(&format!(
        "command_file = {:?}\nconfig_dir = {:?}\nvalidate_command = \"{NAGIOS} -v {}\"\nreload_command = \"kill -HUP {}\"\n\
         status_file = {:?}\nreload_settle_ms = 2000\nfreshness_threshold_s = 3600\n",
        p("nagios.cmd"),
        p("outpost"),
        p("nagios.cfg"),
        nagios.pid(),
        p("status.dat"),
    ))
    .expect("toml");
    cfg.insert("nagios".into(), toml::Value::Table(nagios_cfg));
    cfg.insert("replay_history".into(), toml::Value::Boolean(true));
    let cancel = CancellationToken::new();
    let handles = sinks::spawn_all(&ts.store, &cfg, &cancel).expect("sinks start");

    // The generated config is loaded and the current states written.
    let blocks = nagios
        .wait_status(
            has(
                "servicestatus",
                &[("host_name", "FRA1_db01"), ("service_description", "Disk /"), ("current_state", "1")],
            ),
            "FRA1_db01/Disk / WARNING",
        )
        .await;
    assert!(find(&blocks, "hoststatus", &[("host_name", "FRA1_web01"), ("current_state", "0")]).is_some());
    assert!(find(&blocks, "servicestatus", &[("host_name", "FRA1_web01"), ("service_description", "HTTP")]).is_some());
    let objects_cache = std::fs::read_to_string(nagios.path("objects.cache")).expect("objects.cache");
    assert!(objects_cache.contains("hostgroup_name\toutpost-FRA1"), "host group per location");

    // Results, an acknowledgement, a comment and a downtime, with escaping on the way.
    let now = now_ms();
    ts.events(
        "FRA1",
        vec![
            state_change("web01", "HTTP", 2, "CRITICAL - 500; see log"),
            EventKind::AcknowledgementSet {
                key: ObjectKey::service("web01", "HTTP"),
                ack: Acknowledgement {
                    author: "ann".into(),
                    comment: "on it; ticket 7".into(),
                    sticky: true,
                    time: now,
                },
            },
            EventKind::CommentAdded {
                key: ObjectKey::service("db01", "Disk /"),
                comment: Comment { id: 5, author: "bob".into(), text: "grows 1%/day".into(), time: now },
            },
            EventKind::DowntimeScheduled {
                key: ObjectKey::host("db01"),
                downtime: Downtime {
                    id: 9,
                    author: "ann".into(),
                    comment: "patching".into(),
                    start: now - 1000,
                    end: now + 3_600_000,
                    fixed: true,
                    duration_s: 3600,
                    started_at: None,
                },
            },
        ],
    )
    .await;
    let blocks = nagios
        .wait_status(
            |b| {
                find(
                    b,
                    "servicestatus",
                    &[
                        ("host_name", "FRA1_web01"),
                        ("service_description", "HTTP"),
                        ("current_state", "2"),
                        ("problem_has_been_acknowledged", "1"),
                    ],
                )
                .is_some()
                    && find(
                        b,
                        "servicecomment",
                        &[("host_name", "FRA1_db01"), ("comment_data", "grows 1%/day [outpost:FRA1:c5]")],
                    )
                    .is_some()
                    && find(b, "hostdowntime", &[("host_name", "FRA1_db01")]).is_some()
            },
            "state, ack, comment and downtime in status.dat",
        )
        .await;
    let svc =
        find(&blocks, "servicestatus", &[("host_name", "FRA1_web01"), ("service_description", "HTTP")]).expect("svc");
    // The whole output arrived (nothing cut at the `;`); Nagios itself shows `;` in plugin output as `:`.
    assert_eq!(svc.get("plugin_output"), Some("CRITICAL - 500: see log"));
    let ack =
        find(&blocks, "servicecomment", &[("host_name", "FRA1_web01"), ("entry_type", "4")]).expect("ack comment");
    assert_eq!(ack.get("comment_data"), Some("on it; ticket 7"));
    let dt = find(&blocks, "hostdowntime", &[("host_name", "FRA1_db01")]).expect("downtime");
    assert_eq!(dt.get("fixed"), Some("1"));
    assert_eq!(dt.get("end_time").and_then(|t| t.parse::<i64>().ok()), Some((now + 3_600_000) / 1000));

    // Removals find Nagios' own IDs through the markers.
    ts.events(
        "FRA1",
        vec![
            EventKind::CommentRemoved { key: ObjectKey::service("db01", "Disk /"), comment_id: 5 },
            EventKind::DowntimeCancelled { key: ObjectKey::host("db01"), downtime_id: 9 },
            EventKind::AcknowledgementRemoved { key: ObjectKey::service("web01", "HTTP") },
        ],
    )
    .await;
    nagios
        .wait_status(
            |b| {
                find(b, "servicecomment", &[("host_name", "FRA1_db01")]).is_none()
                    && find(b, "hostdowntime", &[("host_name", "FRA1_db01")]).is_none()
                    && find(
                        b,
                        "servicestatus",
                        &[
                            ("host_name", "FRA1_web01"),
                            ("service_description", "HTTP"),
                            ("problem_has_been_acknowledged", "0"),
                        ],
                    )
                    .is_some()
            },
            "comment, downtime and acknowledgement removed",
        )
        .await;

    // A new location: its config is live before its first result, which therefore sticks.
    ts.snapshot("LON2", &[("fw", "", 0, "UP")]).await;
    ts.events("LON2", vec![state_change("fw", "", 1, "DOWN - no ping")]).await;
    nagios.wait_status(has("hoststatus", &[("host_name", "LON2_fw"), ("current_state", "1")]), "LON2_fw DOWN").await;
    let objects_cache = std::fs::read_to_string(nagios.path("objects.cache")).expect("objects.cache");
    assert!(objects_cache.contains("hostgroup_name\toutpost-LON2"));
    let log = std::fs::read_to_string(nagios.path("nagios.log")).expect("nagios.log");
    assert!(!log.contains("could not be found"), "a result arrived before its object's config:\n{log}");

    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
}

fn nagios_sink_config(nagios: &TestNagios) -> toml::Table {
    let p = |name: &str| nagios.path(name).display().to_string();
    let nagios_cfg: toml::Table = toml::from_str(&format!(
        "command_file = {:?}\nconfig_dir = {:?}\nvalidate_command = \"{NAGIOS} -v {}\"\nreload_command = \"kill -HUP {}\"\n\
         status_file = {:?}\nreload_settle_ms = 2000\nfreshness_threshold_s = 3600\n",
        p("nagios.cmd"),
        p("outpost"),
        p("nagios.cfg"),
        nagios.pid(),
        p("status.dat"),
    ))
    .expect("toml");
    let mut cfg = toml::Table::new();
    cfg.insert("nagios".into(), toml::Value::Table(nagios_cfg));
    cfg.insert("replay_history".into(), toml::Value::Boolean(true));
    cfg
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_config_that_fails_validation_is_not_loaded_and_results_still_flow() {
    // The site's own Nagios config already defines FRA1_dup, so Outpost's FRA1_dup would be a duplicate.
    let nagios = TestNagios::start(
        "define host {\n host_name FRA1_dup\n address 127.0.0.1\n max_check_attempts 1\n check_period always\n \
         active_checks_enabled 0\n notification_period always\n contacts nobody\n}\n",
    )
    .await;
    let mut ts = TestStore::new();
    ts.snapshot("FRA1", &[("web01", "HTTP", 0, "HTTP OK")]).await;
    let cancel = CancellationToken::new();
    let handles = sinks::spawn_all(&ts.store, &nagios_sink_config(&nagios), &cancel).expect("sinks start");
    nagios
        .wait_status(
            has(
                "servicestatus",
                &[("host_name", "FRA1_web01"), ("service_description", "HTTP"), ("current_state", "0")],
            ),
            "FRA1_web01/HTTP loaded",
        )
        .await;
    let good = std::fs::read_to_string(nagios.path("outpost/outpost-FRA1.cfg")).expect("generated config");

    ts.snapshot("FRA1", &[("web01", "HTTP", 0, "HTTP OK"), ("dup", "", 0, "UP")]).await;
    ts.events("FRA1", vec![state_change("dup", "", 1, "DOWN"), state_change("web01", "HTTP", 2, "CRITICAL - after")])
        .await;
    nagios
        .wait_status(
            has(
                "servicestatus",
                &[("host_name", "FRA1_web01"), ("service_description", "HTTP"), ("current_state", "2")],
            ),
            "results for known objects despite the invalid config",
        )
        .await;
    assert_eq!(
        std::fs::read_to_string(nagios.path("outpost/outpost-FRA1.cfg")).expect("config"),
        good,
        "old config kept"
    );
    let log = std::fs::read_to_string(nagios.path("nagios.log")).expect("log");
    assert_eq!(log.matches("Caught SIGHUP").count(), 1, "no reload for the invalid config:\n{log}");
    // The rejection is in the event log, as the NOC's own event, with Nagios' verdict.
    let rejected = tokio::time::timeout(DEADLINE, async {
        loop {
            let events = ts.store.events_after(0, 1000).expect("read events");
            if let Some(e) = events
                .into_iter()
                .find(|e| matches!(e.event.kind, EventKind::Lifecycle(Lifecycle::NorthboundConfigRejected { .. })))
            {
                return e;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("a NorthboundConfigRejected event in the event log");
    assert_eq!((rejected.location.as_str(), rejected.epoch, rejected.kind.as_str()), (NOC_LOCATION, 0, "lifecycle"));
    let EventKind::Lifecycle(Lifecycle::NorthboundConfigRejected { sink, error }) = &rejected.event.kind else {
        unreachable!("matched above")
    };
    assert_eq!(sink, "nagios");
    assert!(error.contains("failed validation") && error.contains("FRA1_dup"), "{error}");
    assert!(rejected.summary.contains("rejected"), "{}", rejected.summary);
    cancel.cancel();
    for h in handles {
        h.await.expect("sink task");
    }
}
