//! The fault schedule: at seeded random times, one fault at a time is started against a satellite, its link,
//! the NOC or the northbound sink, and undone after a seeded random time. Faults on different targets overlap.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use outpost_tests::proxy::Fault;

use crate::cluster::{Noc, Satellite};
use crate::rng::Rng;
use crate::traps::{self, Counter};
use crate::webhook::Receiver;

/// What the soak can do to the system. `name` is what the summary counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    KillSatellite,
    KillNoc,
    PulledCable,
    Stall,
    Reset,
    Refuse,
    Trickle,
    CutMidRequest,
    SinkDown,
    FillSpool,
    CorruptSpool,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::KillSatellite => "kill -9 satellite",
            Kind::KillNoc => "kill -9 NOC",
            Kind::PulledCable => "pulled cable (link unplugged)",
            Kind::Stall => "link stalled",
            Kind::Reset => "link reset (RST)",
            Kind::Refuse => "connections refused",
            Kind::Trickle => "link slowed (trickle)",
            Kind::CutMidRequest => "connections cut mid-request",
            Kind::SinkDown => "webhook receiver down (503)",
            Kind::FillSpool => "spool budget filled (trap storm, link unplugged)",
            Kind::CorruptSpool => "spool segment corrupted",
        }
    }
}

/// The random mix; the spool faults also happen at fixed points (see [`Chaos::new`]) so every run has them.
const MIX: &[Kind] = &[
    Kind::KillSatellite,
    Kind::KillSatellite,
    Kind::KillSatellite,
    Kind::KillNoc,
    Kind::PulledCable,
    Kind::PulledCable,
    Kind::PulledCable,
    Kind::Stall,
    Kind::Stall,
    Kind::Reset,
    Kind::Reset,
    Kind::Refuse,
    Kind::Refuse,
    Kind::Trickle,
    Kind::CutMidRequest,
    Kind::CutMidRequest,
    Kind::SinkDown,
];

enum Undo {
    StartSatellite(usize),
    StartNoc,
    Link(usize),
    SinkUp,
}

pub struct Chaos {
    rng: Rng,
    undo: Vec<(Instant, Undo)>,
    /// A satellite (its process and link) is busy until its current fault is undone.
    sat_busy: Vec<bool>,
    noc_busy: bool,
    sink_busy: bool,
    next: Instant,
    /// Spool faults planned at fixed fractions of the run, and one long pulled cable on long runs.
    planned: Vec<(Instant, Kind, Duration)>,
    pub injected: BTreeMap<&'static str, u64>,
    /// When each satellite's cable was pulled, while it is out.
    unplugged_at: Vec<Option<Instant>>,
    pub pulled_cable_secs: f64,
    pub longest_pulled_cable: Duration,
    pub log: Vec<String>,
    started: Instant,
}

/// The satellite with the small spool budget, which FillSpool targets.
pub const SMALL_BUDGET_SAT: usize = 0;

impl Chaos {
    pub fn new(seed: u64, run: Duration, satellites: usize) -> Chaos {
        let now = Instant::now();
        let mut planned = vec![
            (now + run.mul_f64(0.3), Kind::FillSpool, Duration::from_secs(8)),
            (now + run.mul_f64(0.55), Kind::CorruptSpool, Duration::from_secs(4)),
        ];
        // On long runs, one outage as long as the ten-minute one that costs Icinga 2 15% of its results.
        if run >= Duration::from_secs(20 * 60) {
            planned.push((now + run.mul_f64(0.1), Kind::PulledCable, Duration::from_secs(600)));
        }
        Chaos {
            rng: Rng::new(seed),
            undo: Vec::new(),
            sat_busy: vec![false; satellites],
            noc_busy: false,
            sink_busy: false,
            next: now + Duration::from_secs(3),
            planned,
            injected: BTreeMap::new(),
            unplugged_at: vec![None; satellites],
            pulled_cable_secs: 0.0,
            longest_pulled_cable: Duration::ZERO,
            log: Vec::new(),
            started: now,
        }
    }

    fn note(&mut self, kind: Kind, what: String) {
        *self.injected.entry(kind.name()).or_default() += 1;
        self.log.push(format!("{:>7.1}s {}: {what}", self.started.elapsed().as_secs_f64(), kind.name()));
    }

    /// Runs due undos and, when it is time, starts the next fault.
    pub fn tick(
        &mut self,
        sats: &mut [Satellite],
        noc: &mut Noc,
        sink: &Receiver,
        counters: &[std::sync::Arc<Counter>],
    ) {
        let now = Instant::now();
        let due: Vec<Undo> = {
            let (due, keep): (Vec<_>, Vec<_>) =
                std::mem::take(&mut self.undo).into_iter().partition(|(t, _)| *t <= now);
            self.undo = keep;
            due.into_iter().map(|(_, u)| u).collect()
        };
        for u in due {
            self.apply_undo(u, sats, noc, sink);
        }
        if let Some(i) = self.planned.iter().position(|(t, _, _)| *t <= now) {
            let (_, kind, dur) = self.planned[i];
            let target = match kind {
                Kind::FillSpool => SMALL_BUDGET_SAT,
                // The long outage goes to a satellite whose budget holds it: it must lose nothing at all.
                Kind::PulledCable if sats.len() > 1 => self.rng.range(1, sats.len() as u64 - 1) as usize,
                _ => self.rng.range(0, sats.len() as u64 - 1) as usize,
            };
            if !self.sat_busy[target] {
                self.planned.remove(i);
                self.inject_on_satellite(kind, target, dur, sats, counters);
            }
        }
        if now < self.next {
            return;
        }
        self.next = now + self.rng.millis(1000, 5000);
        let kind = *self.rng.pick(MIX);
        match kind {
            Kind::KillNoc => {
                if self.noc_busy {
                    return;
                }
                noc.proc.kill9();
                let down = self.rng.millis(500, 8000);
                self.note(kind, format!("down for {down:?}"));
                self.noc_busy = true;
                self.undo.push((now + down, Undo::StartNoc));
            }
            Kind::SinkDown => {
                if self.sink_busy {
                    return;
                }
                sink.received.down.store(true, std::sync::atomic::Ordering::SeqCst);
                let down = self.rng.millis(5000, 30_000);
                self.note(kind, format!("for {down:?}"));
                self.sink_busy = true;
                self.undo.push((now + down, Undo::SinkUp));
            }
            _ => {
                let target = self.rng.range(0, sats.len() as u64 - 1) as usize;
                if self.sat_busy[target] {
                    return;
                }
                let dur = match kind {
                    Kind::KillSatellite => self.rng.millis(200, 5000),
                    Kind::PulledCable => self.rng.millis(5000, 90_000),
                    Kind::Stall => self.rng.millis(2000, 20_000),
                    Kind::Reset => self.rng.millis(500, 3000),
                    Kind::Refuse => self.rng.millis(2000, 15_000),
                    Kind::Trickle => self.rng.millis(5000, 20_000),
                    _ => self.rng.millis(2000, 10_000),
                };
                self.inject_on_satellite(kind, target, dur, sats, counters);
            }
        }
    }

    fn inject_on_satellite(
        &mut self,
        kind: Kind,
        i: usize,
        dur: Duration,
        sats: &mut [Satellite],
        counters: &[std::sync::Arc<Counter>],
    ) {
        let sat = &mut sats[i];
        let loc = sat.location().to_string();
        let undo = match kind {
            Kind::KillSatellite => {
                sat.proc.kill9();
                Undo::StartSatellite(i)
            }
            Kind::PulledCable => {
                sat.proxy.set(Fault::Unplug);
                self.unplugged_at[i] = Some(Instant::now());
                Undo::Link(i)
            }
            Kind::Stall => {
                sat.proxy.set(Fault::Stall);
                Undo::Link(i)
            }
            Kind::Reset => {
                sat.proxy.set(Fault::Reset);
                Undo::Link(i)
            }
            Kind::Refuse => {
                sat.proxy.set(Fault::Refuse);
                Undo::Link(i)
            }
            Kind::Trickle => {
                let bytes = self.rng.range(256, 4096) as usize;
                let every = self.rng.millis(5, 50);
                sat.proxy.set(Fault::Trickle { bytes, every });
                Undo::Link(i)
            }
            Kind::CutMidRequest => {
                sat.proxy.set(Fault::CutAfter(self.rng.range(200, 60_000)));
                Undo::Link(i)
            }
            Kind::FillSpool => {
                // Unplugged, a trap storm of about twice the byte budget (a trap event takes about 260 bytes).
                sat.proxy.set(Fault::Unplug);
                let count = 2 * sat.plan.spool.max_bytes / 260;
                traps::burst(sat.trap_port, &counters[i], count);
                self.note(kind, format!("{loc}: {count} traps while unplugged, link back in {dur:?}"));
                self.sat_busy[i] = true;
                self.undo.push((Instant::now() + dur, Undo::Link(i)));
                return;
            }
            Kind::CorruptSpool => {
                // Unplugged so segments pile up, then a storm, a crash, one flipped byte and a restart.
                sat.proxy.set(Fault::Unplug);
                traps::burst(sat.trap_port, &counters[i], 3000);
                std::thread::sleep(Duration::from_secs(1));
                sat.proc.kill9();
                let victim = sat.corrupt_spool(self.rng.next_u64());
                sat.start();
                self.note(kind, format!("{loc}: {victim:?}"));
                self.sat_busy[i] = true;
                self.undo.push((Instant::now() + dur, Undo::Link(i)));
                return;
            }
            Kind::KillNoc | Kind::SinkDown => unreachable!("not a satellite fault"),
        };
        self.note(kind, format!("{loc} for {dur:?}"));
        self.sat_busy[i] = true;
        self.undo.push((Instant::now() + dur, undo));
    }

    fn apply_undo(&mut self, u: Undo, sats: &mut [Satellite], noc: &mut Noc, sink: &Receiver) {
        match u {
            Undo::StartSatellite(i) => {
                sats[i].start();
                self.sat_busy[i] = false;
            }
            Undo::Link(i) => {
                sats[i].proxy.set(Fault::Pass);
                // Measured, not planned: the end of the run can plug a cable back early.
                if let Some(at) = self.unplugged_at[i].take() {
                    self.pulled_cable_secs += at.elapsed().as_secs_f64();
                    self.longest_pulled_cable = self.longest_pulled_cable.max(at.elapsed());
                }
                self.sat_busy[i] = false;
            }
            Undo::StartNoc => {
                noc.restart();
                self.noc_busy = false;
            }
            Undo::SinkUp => {
                sink.received.down.store(false, std::sync::atomic::Ordering::SeqCst);
                self.sink_busy = false;
            }
        }
    }

    /// Undoes every fault still in force (the run is over).
    pub fn undo_all(&mut self, sats: &mut [Satellite], noc: &mut Noc, sink: &Receiver) {
        for (_, u) in std::mem::take(&mut self.undo) {
            self.apply_undo(u, sats, noc, sink);
        }
    }
}
