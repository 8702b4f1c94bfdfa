//! `noc satellites ...` and `noc held ...`: operator decisions, written straight into the store.
//! A held-snapshot release from the CLI is a request the running daemon carries out within a second.

use anyhow::bail;
use clap::Subcommand;

use crate::config::Config;
use crate::store::{SatelliteStatus, Store, now_ms};

#[derive(Subcommand, Debug)]
pub enum SatelliteAction {
    /// List every satellite key with its location and status.
    List,
    /// Accept the pending key(s) of a location.
    Accept { location: String },
    /// Reject the pending key(s) of a location.
    Reject { location: String },
    /// Revoke the key(s) of a location: its requests get 401 from now on.
    Revoke { location: String },
}

#[derive(Subcommand, Debug)]
pub enum HeldAction {
    /// List held snapshots.
    List,
    /// Apply the held snapshot of a location (its deletes included).
    Release { location: String },
}

pub fn satellites(config: &Config, action: SatelliteAction) -> anyhow::Result<()> {
    let store = Store::open_client(&config.db_path())?;
    let (location, to) = match action {
        SatelliteAction::List => {
            println!("{:<20} {:<10} {:<18} {:<24} {:<10}", "LOCATION", "STATUS", "KEY", "HOSTNAME", "VERSION");
            for s in store.satellites()? {
                println!(
                    "{:<20} {:<10} {:<18} {:<24} {:<10}",
                    s.location,
                    s.status.as_str(),
                    s.key_fingerprint,
                    s.hostname,
                    s.version
                );
            }
            for (_, loc) in &config.satellite_tokens {
                println!("{loc:<20} {:<10} {:<18}", "preshared", "(config)");
            }
            return Ok(());
        }
        SatelliteAction::Accept { location } => (location, SatelliteStatus::Accepted),
        SatelliteAction::Reject { location } => (location, SatelliteStatus::Rejected),
        SatelliteAction::Revoke { location } => (location, SatelliteStatus::Revoked),
    };
    let n = store.set_satellite_status(&location, to, now_ms())?;
    if n == 0 {
        bail!(
            "no key of {location} can become {}: accept and reject act on pending keys, revoke on accepted ones \
             (see `noc satellites list`)",
            to.as_str()
        );
    }
    println!("{location}: {n} key(s) now {}", to.as_str());
    Ok(())
}

pub fn held(config: &Config, action: HeldAction) -> anyhow::Result<()> {
    let store = Store::open_client(&config.db_path())?;
    match action {
        HeldAction::List => {
            println!("{:<20} {:>8} {:>8} {:>8}  REASON", "LOCATION", "SEQ", "DELETES", "OF");
            for h in store.held()? {
                println!("{:<20} {:>8} {:>8} {:>8}  {}", h.location, h.seq, h.deletes, h.existing, h.reason);
            }
            Ok(())
        }
        HeldAction::Release { location } => {
            if !store.request_release(&location)? {
                bail!("no snapshot of {location} is held (see `noc held list`)");
            }
            println!("{location}: release requested; the running NOC applies it within a second");
            Ok(())
        }
    }
}
