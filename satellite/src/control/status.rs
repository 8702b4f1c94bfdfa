//! `satellite status`: a summary and a table of problems (worst first), built from the engine's table.

use std::fmt::Write as _;

use outpost_format::model::{severity, state_name};
use outpost_format::{ObjectKey, UnixMillis};
use serde::{Deserialize, Serialize};

use crate::engine::EngineStats;
use crate::state::ObjectState;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub location: String,
    pub stats: EngineStats,
    /// UP, DOWN, UNREACHABLE.
    pub hosts: [u64; 3],
    /// OK, WARNING, CRITICAL, UNKNOWN.
    pub services: [u64; 4],
    pub rows: Vec<Row>,
    /// `rows` lists every object, not only problems.
    pub all: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub object: String,
    pub state: String,
    pub state_type: String,
    pub attempt: String,
    pub last_check: i64,
    pub output: String,
    pub acknowledged: bool,
    pub in_downtime: bool,
    pub flapping: bool,
    /// `id: comment` of each downtime and comment, so operators can cancel or remove them.
    pub notes: Vec<String>,
    #[serde(skip)]
    severity: u8,
}

/// One object as the report reads it, borrowed from the engine's table: a status request copies only the rows
/// it shows, never the whole site (about 60 MiB at 100,000 services as a `Snapshot`).
pub struct ObjectView<'a> {
    pub key: &'a ObjectKey,
    pub max_attempts: u32,
    pub state: &'a ObjectState,
}

pub fn build<'a>(
    location: &str,
    now: UnixMillis,
    objects: impl Iterator<Item = ObjectView<'a>>,
    stats: EngineStats,
    all: bool,
) -> StatusReport {
    let mut hosts = [0u64; 3];
    let mut services = [0u64; 4];
    let mut rows = Vec::new();
    for ObjectView { key, max_attempts, state: obj } in objects {
        let is_host = key.is_host();
        let code = obj.status.state;
        if is_host {
            hosts[usize::from(code.min(2))] += 1;
        } else {
            services[usize::from(code.min(3))] += 1;
        }
        if !all && code == 0 {
            continue;
        }
        let mut notes = Vec::new();
        for d in &obj.downtimes {
            notes.push(format!("downtime {}: {} ({})", d.id, d.comment, d.author));
        }
        for c in &obj.comments {
            notes.push(format!("comment {}: {} ({})", c.id, c.text, c.author));
        }
        rows.push(Row {
            object: key.to_string(),
            state: state_name(is_host, code).to_string(),
            state_type: obj.status.state_type.name().to_string(),
            attempt: format!("{}/{}", obj.status.current_attempt, max_attempts),
            last_check: obj.status.last_check,
            output: obj.status.output.to_string(),
            acknowledged: obj.acknowledgement.is_some(),
            in_downtime: obj.in_downtime(now),
            flapping: obj.status.is_flapping,
            notes,
            severity: severity(is_host, code),
        });
    }
    rows.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.object.cmp(&b.object)));
    StatusReport { location: location.to_string(), stats, hosts, services, rows, all }
}

pub fn render(r: &StatusReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "location {}{}  hosts: {} up, {} down, {} unreachable  services: {} ok, {} warning, {} critical, {} unknown",
        r.location,
        if r.stats.paused { " (checks PAUSED)" } else { "" },
        r.hosts[0],
        r.hosts[1],
        r.hosts[2],
        r.services[0],
        r.services[1],
        r.services[2],
        r.services[3]
    );
    let _ = writeln!(
        out,
        "checks run: {}  latency p50 {} ms, p99 {} ms, max {} ms  scheduled: {}",
        r.stats.checks_run, r.stats.latency_p50_ms, r.stats.latency_p99_ms, r.stats.latency_max_ms, r.stats.scheduled
    );
    if r.rows.is_empty() {
        let _ = writeln!(out, "{}", if r.all { "no objects configured" } else { "no problems" });
        return out;
    }
    let width = r.rows.iter().map(|row| row.object.len()).max().unwrap_or(6).clamp(6, 60);
    let _ = writeln!(out, "{:<width$}  {:<11} {:<4} {:<7} {:<5} OUTPUT", "OBJECT", "STATE", "TYPE", "ATTEMPT", "FLAGS");
    for row in &r.rows {
        let flags = format!(
            "{}{}{}",
            if row.acknowledged { "A" } else { "" },
            if row.in_downtime { "D" } else { "" },
            if row.flapping { "F" } else { "" }
        );
        let output: String = row.output.chars().take(100).collect();
        let _ = writeln!(
            out,
            "{:<width$}  {:<11} {:<4} {:<7} {:<5} {}",
            row.object, row.state, row.state_type, row.attempt, flags, output
        );
        for note in &row.notes {
            let _ = writeln!(out, "{:<width$}    {}", "", note);
        }
    }
    let _ = writeln!(out, "flags: A acknowledged, D in downtime, F flapping");
    out
}
