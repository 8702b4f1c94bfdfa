//! Synthetic sites for fixtures, benchmarks and tests: deterministic by seed, no I/O.
//!
//! A site has one host per ten services, with the plugin outputs and perfdata that common
//! monitoring-plugins print. Checks run on an even grid, so re-checking a site ([`recheck`]) moves every
//! `last_check` by the same step, as a real scheduler does between two snapshots.
//! [`status_dat`] renders the equivalent Nagios 4 `status.dat`, the size baseline in `docs/benchmarks.md`.

use std::fmt::Write as _;

use crate::model::{NotificationConfig, Object, ObjectConfig, ObjectKey, Snapshot, StateType, Status};
use crate::perfdata;

/// Services per generated host.
pub const SERVICES_PER_HOST: usize = 10;
/// When generated sites were taken: 2026-01-01T00:00:00Z.
pub const EPOCH_MS: i64 = 1_767_225_600_000;
/// Check interval of generated services, in seconds.
pub const CHECK_INTERVAL_S: u32 = 60;

/// SplitMix64: tiny, fast and good enough for reproducible synthetic data (not for anything secret).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9e37_79b9_7f4a_7c15)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

struct ServiceKind {
    name: &'static str,
    command: &'static str,
    output: fn(&mut Rng) -> (String, String),
}

const KINDS: [ServiceKind; SERVICES_PER_HOST] = [
    ServiceKind { name: "PING", command: "check_ping!100.0,20%!500.0,60%", output: ping },
    ServiceKind { name: "SSH", command: "check_ssh", output: ssh },
    ServiceKind { name: "HTTP", command: "check_http", output: http },
    ServiceKind { name: "Disk /", command: "check_disk!20%!10%!/", output: disk },
    ServiceKind { name: "Load", command: "check_load!5.0,4.0,3.0!10.0,6.0,4.0", output: load },
    ServiceKind { name: "Swap", command: "check_swap!20%!10%", output: swap },
    ServiceKind { name: "Users", command: "check_users!20!50", output: users },
    ServiceKind { name: "Procs", command: "check_procs!250!400", output: procs },
    ServiceKind { name: "NTP", command: "check_ntp_time!0.5!1", output: ntp },
    ServiceKind { name: "Memory", command: "check_mem!80!90", output: mem },
];

fn ping(r: &mut Rng) -> (String, String) {
    let rta = 100 + r.below(9000);
    let rta = format!("{}.{:03}", rta / 1000, rta % 1000);
    (format!("PING OK - Packet loss = 0%, RTA = {rta} ms"), format!("rta={rta}ms;100.000;500.000;0; pl=0%;20;60;;"))
}
fn ssh(r: &mut Rng) -> (String, String) {
    let t = r.below(50_000);
    ("SSH OK - OpenSSH_9.2p1 Debian-2+deb12u3 (protocol 2.0)".into(), format!("time=0.{t:06}s;;;0.000000;10.000000"))
}
fn http(r: &mut Rng) -> (String, String) {
    let t = r.below(200_000);
    let size = 10_000 + r.below(500);
    (
        format!("HTTP OK: HTTP/1.1 200 OK - {size} bytes in 0.{t:03} second response time"),
        format!("time=0.{t:06}s;;;0.000000;10.000000 size={size}B;;;0"),
    )
}
fn disk(r: &mut Rng) -> (String, String) {
    let used = 2_000 + r.below(3_000);
    let free = 5_968 - used;
    (
        format!("DISK OK - free space: / {free} MB ({}% inode=91%);", free * 100 / 5_968),
        format!("/={used}MB;4774;5371;0;5968"),
    )
}
fn load(r: &mut Rng) -> (String, String) {
    let (a, b, c) = (r.below(300), r.below(300), r.below(300));
    let f = |v: u64| format!("{}.{:02}", v / 100, v % 100);
    (
        format!("OK - load average: {}, {}, {}", f(a), f(b), f(c)),
        format!("load1={};5.000;10.000;0; load5={};4.000;6.000;0; load15={};3.000;4.000;0;", f(a), f(b), f(c)),
    )
}
fn swap(r: &mut Rng) -> (String, String) {
    let free = 1_800 + r.below(247);
    (
        format!("SWAP OK - {}% free ({free} MB out of 2047 MB)", free * 100 / 2_047),
        format!("swap={free}MB;409;204;0;2047"),
    )
}
fn users(r: &mut Rng) -> (String, String) {
    let n = r.below(5);
    (format!("USERS OK - {n} users currently logged in"), format!("users={n};20;50;0"))
}
fn procs(r: &mut Rng) -> (String, String) {
    let n = 80 + r.below(120);
    (format!("PROCS OK: {n} processes"), format!("procs={n};250;400;0;"))
}
fn ntp(r: &mut Rng) -> (String, String) {
    let off = r.below(20_000);
    (format!("NTP OK: Offset 0.{off:06} secs"), format!("offset=0.{off:06}s;0.500000;1.000000;"))
}
fn mem(r: &mut Rng) -> (String, String) {
    let pct = 20 + r.below(50);
    (format!("OK - {pct}% of 7936 MB used"), format!("used={pct}%;80;90;0;100"))
}

/// Host name of generated host number `i`.
pub fn host_name(i: usize) -> String {
    format!("srv{i:05}")
}

/// A site of `services` services (rounded up to whole hosts) plus their hosts, deterministic by `seed`.
pub fn site(services: usize, seed: u64) -> Snapshot {
    let mut rng = Rng::new(seed);
    let mut snap = Snapshot { location: "FRA1".into(), taken_at: EPOCH_MS, objects: Default::default() };
    let n_hosts = services.div_ceil(SERVICES_PER_HOST);
    let interval_ms = i64::from(CHECK_INTERVAL_S) * 1000;
    for h in 0..n_hosts {
        let host = host_name(h);
        let rta = 100 + rng.below(900);
        let host_obj = object(
            ObjectConfig {
                display_name: format!("{host}.example.net").into(),
                address: format!("10.{}.{}.{}", h >> 16 & 255, h >> 8 & 255, h & 255).into(),
                check_command: "check-host-alive".into(),
                groups: vec!["linux-servers".into()],
                ..config(&mut rng)
            },
            format!("PING OK - Packet loss = 0%, RTA = 0.{rta:03} ms"),
            &format!("rta=0.{rta:03}ms;3000.000;5000.000;0; pl=0%;80;100;0;"),
            EPOCH_MS - rng.below(interval_ms as u64) as i64,
        );
        snap.objects.insert(ObjectKey::host(&host), host_obj);
        for kind in KINDS.iter().take(services - h * SERVICES_PER_HOST) {
            let (output, perf) = (kind.output)(&mut rng);
            let obj = object(
                ObjectConfig { display_name: kind.name.into(), check_command: kind.command.into(), ..config(&mut rng) },
                output,
                &perf,
                EPOCH_MS - rng.below(interval_ms as u64) as i64,
            );
            snap.objects.insert(ObjectKey::service(&host, kind.name), obj);
        }
    }
    snap
}

fn config(rng: &mut Rng) -> ObjectConfig {
    let mut custom_vars = std::collections::BTreeMap::new();
    if rng.below(4) == 0 {
        custom_vars.insert("OWNER".into(), "team-ops".into());
    }
    ObjectConfig {
        check_interval: CHECK_INTERVAL_S,
        retry_interval: 30,
        max_attempts: 3,
        notifications: NotificationConfig { enabled: true, interval: 3600, options: "w,u,c,r".into() },
        custom_vars,
        ..ObjectConfig::default()
    }
}

fn object(config: ObjectConfig, output: String, perf: &str, last_check: i64) -> Object {
    let since = last_check - 86_400_000 * 3;
    Object {
        config,
        status: Status {
            state: 0,
            state_type: StateType::Hard,
            current_attempt: 1,
            output: output.into(),
            long_output: Default::default(),
            perfdata: perfdata::parse(perf).0,
            last_check,
            last_state_change: since,
            last_hard_state_change: since,
            is_flapping: false,
            checks_enabled: true,
            problem_notified: false,
            notification_number: 0,
        },
        ..Object::default()
    }
}

/// The same site `step_ms` later: every object re-checked (same state, output and perfdata).
pub fn recheck(snap: &Snapshot, step_ms: i64) -> Snapshot {
    let mut next = snap.clone();
    next.taken_at += step_ms;
    for o in next.objects.values_mut() {
        o.status.last_check += step_ms;
    }
    next
}

/// Changes state and output of `share` (0.0..=1.0) of the services, picked by `seed`.
pub fn change_states(snap: &Snapshot, share: f64, seed: u64) -> Snapshot {
    let mut rng = Rng::new(seed);
    let mut next = snap.clone();
    let threshold = (share.clamp(0.0, 1.0) * 1_000_000.0) as u64;
    for (key, o) in next.objects.iter_mut() {
        if key.is_host() || rng.below(1_000_000) >= threshold {
            continue;
        }
        let s = &mut o.status;
        s.state = if s.state == 0 { 2 } else { 0 };
        s.state_type = StateType::Soft;
        s.current_attempt = 1;
        s.output = if s.state == 0 { "OK - recovered".into() } else { format!("CRITICAL - {} failed", key).into() };
        s.last_state_change = s.last_check;
    }
    next
}

/// Moves every service's perfdata values a little (a random walk on the last digit), picked by `seed`.
pub fn change_perf_values(snap: &Snapshot, seed: u64) -> Snapshot {
    let mut rng = Rng::new(seed);
    let mut next = snap.clone();
    for (key, o) in next.objects.iter_mut() {
        if key.is_host() {
            continue;
        }
        for m in &mut o.status.perfdata.metrics {
            m.value = nudge(&m.value, &mut rng).into();
        }
    }
    next
}

/// Changes the last digits of a decimal by a small amount, keeping its scale (at least 1 when digits allow).
fn nudge(value: &str, rng: &mut Rng) -> String {
    let scale = value.split_once('.').map_or(0, |(_, f)| f.len());
    let digits: String = value.chars().filter(char::is_ascii_digit).collect();
    let Ok(m) = digits.parse::<i64>() else {
        return value.to_string();
    };
    let step = 1 + rng.below(20) as i64;
    let m = if m >= step && rng.below(2) == 0 { m - step } else { m + step };
    if scale == 0 {
        return m.to_string();
    }
    let pow = 10i64.pow(scale as u32);
    format!("{}.{:0width$}", m / pow, m % pow, width = scale)
}

/// The equivalent Nagios 4 `status.dat` (`hoststatus` and `servicestatus` blocks with Nagios 4's fields).
pub fn status_dat(snap: &Snapshot) -> String {
    let mut out = String::with_capacity(snap.objects.len() * 2048);
    let t = snap.taken_at / 1000;
    let _ = write!(
        out,
        "########################################\n#          NAGIOS STATUS FILE\n#\n# THIS FILE IS AUTOMATICALLY GENERATED\n\
         # BY NAGIOS.  DO NOT MODIFY THIS FILE!\n########################################\n\n\
         info {{\n\tcreated={t}\n\tversion=4.4.14\n\tlast_update_check=0\n\tupdate_available=0\n\t\
         last_version=\n\tnew_version=\n\t}}\n\n"
    );
    for (key, o) in &snap.objects {
        let s = &o.status;
        let c = &o.config;
        let secs = |ms: i64| ms / 1000;
        let perf = s.perfdata.to_string();
        match &key.service {
            None => {
                let _ = write!(out, "hoststatus {{\n\thost_name={}\n", key.host);
            }
            Some(svc) => {
                let _ = write!(out, "servicestatus {{\n\thost_name={}\n\tservice_description={svc}\n", key.host);
            }
        }
        let _ = write!(
            out,
            "\tmodified_attributes=0\n\tcheck_command={}\n\tcheck_period=24x7\n\tnotification_period=24x7\n\t\
             check_interval={:.6}\n\tretry_interval={:.6}\n\tevent_handler=\n\thas_been_checked=1\n\t\
             should_be_scheduled=1\n\tcheck_execution_time=0.0{:02}\n\tcheck_latency=0.0{:02}\n\tcheck_type=0\n\t\
             current_state={}\n\tlast_hard_state={}\n\tlast_event_id=0\n\tcurrent_event_id=0\n\t\
             current_problem_id=0\n\tlast_problem_id=0\n\tcurrent_attempt={}\n\tmax_attempts={}\n\t\
             state_type={}\n\tlast_state_change={}\n\tlast_hard_state_change={}\n\tlast_time_ok={}\n\t\
             last_time_warning=0\n\tlast_time_unknown=0\n\tlast_time_critical=0\n\tplugin_output={}\n\t\
             long_plugin_output={}\n\tperformance_data={}\n\tlast_check={}\n\tnext_check={}\n\tcheck_options=0\n\t\
             current_notification_number={}\n\tcurrent_notification_id=0\n\tlast_notification=0\n\t\
             next_notification=0\n\tno_more_notifications=0\n\tnotifications_enabled={}\n\t\
             active_checks_enabled={}\n\tpassive_checks_enabled=1\n\tevent_handler_enabled=1\n\t\
             problem_has_been_acknowledged={}\n\tacknowledgement_type=0\n\tflap_detection_enabled=1\n\t\
             process_performance_data=1\n\tobsess=1\n\tlast_update={t}\n\tis_flapping={}\n\t\
             percent_state_change=0.00\n\tscheduled_downtime_depth=0\n\t}}\n\n",
            c.check_command,
            f64::from(c.check_interval) / 60.0,
            f64::from(c.retry_interval) / 60.0,
            secs(s.last_check) % 100,
            secs(s.last_check) % 97,
            s.state,
            s.state,
            s.current_attempt,
            c.max_attempts,
            u8::from(s.state_type),
            secs(s.last_state_change),
            secs(s.last_hard_state_change),
            secs(s.last_check),
            s.output,
            s.long_output.replace('\n', "\\n"),
            perf,
            secs(s.last_check),
            secs(s.last_check) + i64::from(c.check_interval),
            s.notification_number,
            u8::from(c.notifications.enabled),
            u8::from(s.checks_enabled),
            u8::from(o.acknowledgement.is_some()),
            u8::from(s.is_flapping),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sites_are_deterministic_by_seed() {
        assert_eq!(site(50, 1), site(50, 1));
        assert_ne!(site(50, 1), site(50, 2));
        let s = site(25, 1);
        assert_eq!(s.objects.keys().filter(|k| !k.is_host()).count(), 25);
        assert_eq!(s.objects.keys().filter(|k| k.is_host()).count(), 3);
    }

    #[test]
    fn generated_perfdata_is_well_formed_and_nudges_keep_it_so() {
        let s = change_perf_values(&site(100, 3), 4);
        for o in s.objects.values() {
            assert_eq!(o.status.perfdata.unparsed, "", "{}", o.status.perfdata);
            let text = o.status.perfdata.to_string();
            let (again, warnings) = perfdata::parse(&text);
            assert!(warnings.is_empty(), "{text}: {warnings:?}");
            assert_eq!(again, o.status.perfdata);
        }
    }

    #[test]
    fn status_dat_has_one_block_per_object() {
        let s = site(20, 1);
        let dat = status_dat(&s);
        assert_eq!(dat.matches("servicestatus {").count(), 20);
        assert_eq!(dat.matches("hoststatus {").count(), 2);
    }
}
