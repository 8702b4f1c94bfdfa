//! `noc status` (problems table and location health) and `noc events [--follow]`.

use std::time::Duration;

use super::ConfigArg;
use crate::store::{EventFilter, ObjectFilter, Store, StoredEvent, now_ms};

#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this location.
    #[arg(long)]
    pub location: Option<String>,
    /// Most problems to print.
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}

#[derive(clap::Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only events of this location.
    #[arg(long)]
    pub location: Option<String>,
    /// Only events of this kind, e.g. `state_change`, `trap`, `lifecycle`.
    #[arg(long)]
    pub kind: Option<String>,
    /// How many recent events to print first.
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Keep printing new events as they are committed.
    #[arg(long, short)]
    pub follow: bool,
}

pub fn status(args: &StatusArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let store = Store::open_client(&config.db_path())?;
    println!(
        "{:<20} {:<8} {:<10} {:>8} {:>9} {:>10}",
        "LOCATION", "HEALTH", "STATUS", "OBJECTS", "PROBLEMS", "LAST SEEN"
    );
    let now = now_ms();
    for l in store.locations(now)? {
        if args.location.as_ref().is_some_and(|x| *x != l.location) {
            continue;
        }
        let p = &l.problems;
        let seen = l.last_seen.map_or("never".to_string(), |t| format!("{}s ago", (now - t).max(0) / 1000));
        println!(
            "{:<20} {:<8} {:<10} {:>8} {:>9} {:>10}",
            l.location,
            l.health,
            l.status,
            l.objects,
            p.critical + p.warning + p.unknown + p.down + p.unreachable,
            seen
        );
    }
    let page = store.query_objects(&ObjectFilter {
        location: args.location.clone(),
        problems: true,
        limit: args.limit,
        ..Default::default()
    })?;
    println!();
    println!("{} problem(s)", page.total);
    println!("{:<12} {:<40} {:<5} {:<5} {:<4} OUTPUT", "STATE", "OBJECT", "ACK", "DOWN", "STALE");
    let yes = |b: bool| if b { "yes" } else { "" };
    for o in page.items {
        println!(
            "{:<12} {:<40} {:<5} {:<5} {:<4} {}",
            o.state_name,
            o.name,
            yes(o.acknowledged),
            yes(o.in_downtime),
            yes(o.stale),
            o.output
        );
    }
    Ok(())
}

fn print_event(e: &StoredEvent) {
    let flag = e.time_flag.as_deref().map(|f| format!(" [time {f}]")).unwrap_or_default();
    // RFC 3339 in UTC, to the millisecond: what the satellite's clock said when it happened.
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_millis(e.time.max(0) as u64);
    let when = humantime::format_rfc3339_millis(when);
    println!("{:>8} {} {:<10} {:<20} {}{}", e.id, when, e.location, e.kind, e.summary, flag);
}

pub fn events(args: &EventsArgs) -> anyhow::Result<()> {
    let config = args.config.load()?;
    let store = Store::open_client(&config.db_path())?;
    let filter = EventFilter {
        location: args.location.clone(),
        kind: args.kind.clone(),
        limit: args.limit,
        ..Default::default()
    };
    let mut recent = store.query_events(&filter)?;
    recent.reverse();
    let mut last_id = recent.last().map_or(store.last_event_id()?, |e| e.id);
    for e in &recent {
        print_event(e);
    }
    if !args.follow {
        return Ok(());
    }
    loop {
        let batch = store.events_after(last_id, 1000)?;
        for e in &batch {
            last_id = e.id;
            let wanted = args.location.as_ref().is_none_or(|l| *l == e.location)
                && args.kind.as_ref().is_none_or(|k| *k == e.kind);
            if wanted {
                print_event(e);
            }
        }
        if batch.is_empty() {
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}
