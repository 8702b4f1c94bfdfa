//! The end-of-soak checks: state equality, exactly-once accounting per satellite, trap uniqueness, sink
//! catch-up. Each check returns what it found; `main` decides pass or fail from the numbers.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use outpost_format::EventKind;
use outpost_format::event::{Lifecycle, SnmpValue};
use outpost_format::model::state_name;
use outpost_satellite::control::status::StatusReport;

use crate::cluster::{Noc, Satellite};
use crate::webhook::Receiver;

/// object (without the location prefix) -> (state code, output)
type Objects = BTreeMap<String, (u64, String)>;

/// The satellite's own view, from `satellite status --all --json` (the daemon must be running).
pub fn satellite_objects(sat: &Satellite) -> anyhow::Result<Objects> {
    let out = sat.command(&["status", "--all", "--json"]);
    anyhow::ensure!(out.status.success(), "satellite status: {}", String::from_utf8_lossy(&out.stderr));
    let report: StatusReport = serde_json::from_slice(&out.stdout)?;
    let code = |is_host: bool, name: &str| (0..=3u8).find(|c| state_name(is_host, *c) == name).map_or(99, u64::from);
    Ok(report
        .rows
        .into_iter()
        .map(|r| {
            let is_host = !r.object.contains('/');
            (r.object.clone(), (code(is_host, &r.state), r.output))
        })
        .collect())
}

fn noc_objects(noc: &Noc, location: &str) -> anyhow::Result<Objects> {
    let v = noc.get(&format!("/api/v1/objects?location={location}&limit=1000000"))?;
    let prefix = format!("{location}_");
    Ok(v["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .map(|o| {
                    let name = o["name"].as_str().unwrap_or("");
                    let name = name.strip_prefix(&prefix).unwrap_or(name).to_string();
                    (name, (o["state"].as_u64().unwrap_or(99), o["output"].as_str().unwrap_or("").to_string()))
                })
                .collect()
        })
        .unwrap_or_default())
}

/// Waits (up to `timeout`) for the NOC's objects of the satellite's location to equal the satellite's own, read
/// afresh each round (a check that was running when the satellite paused may still change its state); returns how
/// many objects the satellite has, how many still differ (0 = equal) and a few examples.
pub fn wait_state_equal(noc: &Noc, sat: &Satellite, timeout: Duration) -> anyhow::Result<(usize, usize, Vec<String>)> {
    let start = Instant::now();
    loop {
        let expected = satellite_objects(sat)?;
        let got = noc_objects(noc, sat.location()).unwrap_or_default();
        let mut diffs: Vec<String> = expected
            .iter()
            .filter(|(k, v)| got.get(*k) != Some(v))
            .map(|(k, v)| format!("{k}: satellite {v:?}, NOC {:?}", got.get(k)))
            .collect();
        diffs.extend(got.keys().filter(|k| !expected.contains_key(*k)).map(|k| format!("{k}: only at the NOC")));
        if diffs.is_empty() || start.elapsed() > timeout {
            let n = diffs.len();
            diffs.truncate(5);
            return Ok((expected.len(), n, diffs));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}

/// Exactly-once accounting for one satellite, from its spool (stopped, drained) and the NOC's event log.
#[derive(Debug, Default)]
pub struct Accounting {
    /// Events the satellite's spool numbered (spool seqs 1..=produced).
    pub produced: u64,
    /// Distinct (epoch, seq) at the NOC.
    pub delivered: u64,
    pub duplicated: u64,
    /// Dropped by the spool budget, per the satellite's ledger.
    pub dropped: u64,
    /// Dropped, per the SpoolOverflow reports that reached the NOC.
    pub reported_dropped: u64,
    /// Events lost to a corrupt segment, each replaced by a SpoolCorruption placeholder with its seq.
    pub corruption_placeholders: u64,
    pub quarantined_segments: u64,
    /// Seqs missing inside an epoch, or out of order (commit order against seq order).
    pub gaps: u64,
    pub out_of_order: u64,
    pub epochs: usize,
    pub traps_delivered: u64,
    pub trap_duplicates: u64,
    pub pending_after_drain: u64,
    /// Produced events that are neither at the NOC nor explained by a drop. Seqs are checked gap-free per
    /// epoch, so anything missing can only sit at the tail of an epoch, which is what a drop removes.
    pub lost: u64,
    /// Events both delivered and counted as dropped: the NOC had applied them but its acknowledgement had not
    /// reached the satellite (an unplugged link) when the budget dropped their segment. Each is at the NOC once.
    pub in_flight_at_drop: u64,
}

impl Accounting {
    /// Drops the satellite made that no report at the NOC accounts for.
    pub fn unreported_drops(&self) -> u64 {
        self.dropped.saturating_sub(self.reported_dropped)
    }

    pub fn ok(&self) -> bool {
        self.lost == 0
            && self.duplicated == 0
            && self.gaps == 0
            && self.out_of_order == 0
            && self.trap_duplicates == 0
            && self.unreported_drops() == 0
            && self.pending_after_drain == 0
    }
}

/// Stops the satellite cleanly, drains what is left with `satellite ship`, and accounts every event.
pub fn account(sat: &mut Satellite, noc: &Noc) -> anyhow::Result<Accounting> {
    sat.proc.terminate();
    let out = sat.command(&["ship", "--no-snapshot", "--quiet", "--timeout-secs", "120"]);
    anyhow::ensure!(
        out.status.success(),
        "{}: final `satellite ship` failed ({}): {}",
        sat.location(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let (stats, next_spool_seq) = sat.spool_stats()?;
    let mut acc = Accounting {
        produced: next_spool_seq - 1,
        dropped: stats.dropped_events,
        quarantined_segments: stats.quarantined_segments,
        pending_after_drain: stats.pending_events,
        ..Accounting::default()
    };
    let events = noc.events(Some(sat.location()))?;
    // Per epoch, in commit order: the seqs must be 1, 2, 3, ... with nothing repeated or skipped.
    let mut last_seq: HashMap<u64, u64> = HashMap::new();
    let mut traps: HashMap<Vec<u8>, u64> = HashMap::new();
    for e in &events {
        let epoch = e["epoch"].as_u64().unwrap_or(0);
        if epoch == 0 {
            continue; // raised by the NOC itself (silence, return), not by the satellite
        }
        let seq = e["seq"].as_u64().unwrap_or(0);
        let last = last_seq.entry(epoch).or_insert(0);
        if seq <= *last {
            acc.duplicated += 1;
            continue;
        }
        if seq > *last + 1 {
            acc.gaps += seq - *last - 1;
        }
        *last = seq;
        acc.delivered += 1;
        match serde_json::from_value::<EventKind>(e["event"].clone()) {
            Ok(EventKind::Lifecycle(Lifecycle::SpoolOverflow { dropped_events, .. })) => {
                acc.reported_dropped += dropped_events
            }
            Ok(EventKind::Lifecycle(Lifecycle::SpoolCorruption { .. })) => acc.corruption_placeholders += 1,
            Ok(EventKind::Trap(t)) => {
                for vb in t.varbinds {
                    if let SnmpValue::OctetString(b) = vb.value
                        && b.len() == 7
                        && b[0] == b'q'
                    {
                        *traps.entry(b).or_default() += 1;
                    }
                }
            }
            Ok(_) => {}
            Err(err) => anyhow::bail!("{}: event {} does not decode: {err}", sat.location(), e["id"]),
        }
    }
    acc.epochs = last_seq.len();
    acc.traps_delivered = traps.len() as u64;
    acc.trap_duplicates = traps.values().filter(|n| **n > 1).map(|n| n - 1).sum();
    // Seqs are checked per epoch above; out_of_order counts an epoch coming back after a newer one began.
    let mut seen_epochs: Vec<u64> = Vec::new();
    for e in &events {
        let epoch = e["epoch"].as_u64().unwrap_or(0);
        if epoch == 0 || seen_epochs.last() == Some(&epoch) {
            continue;
        }
        if seen_epochs.contains(&epoch) {
            acc.out_of_order += 1;
        }
        seen_epochs.push(epoch);
    }
    acc.lost = acc.produced.saturating_sub(acc.delivered + acc.dropped);
    acc.in_flight_at_drop = (acc.delivered + acc.dropped).saturating_sub(acc.produced);
    Ok(acc)
}

/// Waits for the webhook receiver to hold every event the NOC logged; returns how many it still lacks.
pub fn wait_sink_caught_up(noc: &Noc, receiver: &Receiver, timeout: Duration) -> anyhow::Result<(usize, usize)> {
    let start = Instant::now();
    loop {
        let ids: Vec<i64> = noc.events(None)?.iter().filter_map(|e| e["id"].as_i64()).collect();
        let missing = ids.iter().filter(|id| !receiver.has(**id)).count();
        if missing == 0 || start.elapsed() > timeout {
            return Ok((ids.len(), missing));
        }
        std::thread::sleep(Duration::from_secs(2));
    }
}
