//! The site's live state: every configured object with its status, annotations and schedule, plus the
//! operator commands that change it. One `Table` sits behind the engine's lock; its methods are
//! synchronous and return the events to emit once the lock is released.

use std::collections::HashMap;
use std::sync::Arc;

use outpost_format::event::NotificationType;
use outpost_format::model::{Acknowledgement, Comment, Downtime, Object, ObjectConfig, StateType, Status};
use outpost_format::plugin_output::PluginOutput;
use outpost_format::{EventKind, ObjectKey, Snapshot, UnixMillis};

use super::machine::{self, CheckInput, Context};
use super::retention::{Retained, RetainedObject, RetainedObjectRef, RetainedRef, RetainedSettings};
use super::{ObjectState, Runtime, downtime};
use crate::check::CheckOutcome;
use crate::config::{CheckDef, Config};
use crate::scheduler::{self, Due, LatencyHistogram, Schedule};
use crate::snapshot_blob::{BlobWriter, ObjectRef, SnapshotBlob};

/// One host or service.
#[derive(Debug)]
pub struct Slot {
    pub def: Arc<CheckDef>,
    pub obj: ObjectState,
    pub rt: Runtime,
    /// A check of this object is running; it is not scheduled again until the result is in.
    pub in_flight: bool,
    /// The host's slot (itself for a host).
    pub host_idx: u32,
    /// Hosts only: checks of this host and its services now running (the per-host limit).
    pub running: u32,
}

#[derive(Debug)]
pub struct Table {
    pub config: Arc<Config>,
    pub slots: Vec<Slot>,
    /// Slot numbers sorted by key, for lookups by name (binary search; no second copy of the names).
    pub index: Vec<u32>,
    pub schedule: Schedule,
    /// Bumped by every reload; schedule entries from older generations are dropped.
    pub generation: u32,
    pub paused: bool,
    pub next_downtime_id: u64,
    pub next_comment_id: u64,
    /// Check latency since start (for `status` and benchmarks).
    pub latency: LatencyHistogram,
    /// Check latency in the current minute (for the warning log and the metric); reset every minute.
    pub latency_window: LatencyHistogram,
}

/// Why an operator command was refused. Each says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpError {
    #[error("no host or service `{0}` in this satellite's config; `satellite status --all` lists them")]
    UnknownObject(String),
    #[error("no downtime with id {0}; `satellite status --all` shows downtime ids")]
    UnknownDowntime(u64),
    #[error("no comment with id {0}; `satellite status --all` shows comment ids")]
    UnknownComment(u64),
    #[error("`{0}` is not in a problem state; only problems can be acknowledged")]
    NotAProblem(String),
    #[error("{0}")]
    Invalid(String),
}

/// Counts a reload reports in its `ConfigChanged` event.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReloadCounts {
    pub added: u32,
    pub changed: u32,
    pub removed: u32,
}

/// A check the scheduler should start now.
#[derive(Debug, Clone)]
pub struct Launch {
    pub idx: u32,
    pub generation: u32,
    pub due: UnixMillis,
    pub def: Arc<CheckDef>,
}

/// `host` or `host/service`, as operators type it.
pub fn parse_key(text: &str) -> ObjectKey {
    match text.split_once('/') {
        Some((h, s)) => ObjectKey::service(h, s),
        None => ObjectKey::host(text),
    }
}

fn fresh_status(def: &CheckDef, paused: bool) -> Status {
    Status {
        state: 0,
        state_type: StateType::Hard,
        current_attempt: 1,
        checks_enabled: def.active_checks && !paused,
        output: if def.command.is_some() || !def.is_host() {
            String::new().into()
        } else {
            "(no check command: assumed UP)".into()
        },
        ..Status::default()
    }
}

impl Table {
    /// Builds the table for `config`, taking state from `retained` for objects that still exist.
    pub fn new(config: Arc<Config>, retained: Option<Retained>, now: UnixMillis) -> Table {
        let mut table = Table::unscheduled(config);
        if let Some(r) = retained {
            let settings = RetainedSettings {
                saved_at: r.saved_at,
                paused: r.paused,
                next_downtime_id: r.next_downtime_id,
                next_comment_id: r.next_comment_id,
            };
            for o in r.objects {
                table.restore(o);
            }
            table.restore_settings(settings);
        }
        table.begin(now);
        table
    }

    /// The table for `config` with every object fresh and nothing scheduled: retained state goes in with
    /// [`Table::restore`] (one object at a time, as `retention::load_each` decodes them) and
    /// [`Table::restore_settings`], then [`Table::begin`] schedules the checks.
    pub fn unscheduled(config: Arc<Config>) -> Table {
        let mut table = Table {
            config: config.clone(),
            slots: Vec::new(),
            index: Vec::new(),
            schedule: Schedule::default(),
            generation: 0,
            paused: false,
            next_downtime_id: 1,
            next_comment_id: 1,
            latency: LatencyHistogram::default(),
            latency_window: LatencyHistogram::default(),
        };
        table.build_slots(&config, |_| None);
        table
    }

    /// Moves a retained object's state into its slot; returns false (and drops it) if it is no longer configured.
    pub fn restore(&mut self, o: RetainedObject) -> bool {
        let Some(idx) = self.position(&o.key) else { return false };
        let slot = &mut self.slots[idx as usize];
        let RetainedObject { status, acknowledgement, downtimes, comments, runtime, .. } = o;
        slot.obj = ObjectState { status, acknowledgement: acknowledgement.map(Box::new), downtimes, comments };
        slot.rt = runtime;
        true
    }

    /// Takes the retained settings (pause, id counters); call after every [`Table::restore`].
    pub fn restore_settings(&mut self, s: RetainedSettings) {
        self.paused = s.paused;
        self.next_downtime_id = s.next_downtime_id.max(1);
        self.next_comment_id = s.next_comment_id.max(1);
        for slot in &mut self.slots {
            slot.obj.status.checks_enabled = slot.def.active_checks && !self.paused;
        }
    }

    /// Puts every actively checked object on the schedule (keeping retained times that are still ahead).
    pub fn begin(&mut self, now: UnixMillis) {
        self.schedule_all(now);
    }

    fn build_slots(&mut self, config: &Config, mut take: impl FnMut(&Arc<CheckDef>) -> Option<(ObjectState, Runtime)>) {
        self.slots = Vec::with_capacity(config.hosts.len() + config.services.len());
        let mut host_slots: HashMap<compact_str::CompactString, u32> = HashMap::with_capacity(config.hosts.len());
        for def in config.objects() {
            let idx = self.slots.len() as u32;
            let host_idx = if def.is_host() { idx } else { host_slots.get(&def.key.host).copied().unwrap_or(idx) };
            // The configuration lives in `def` (shared between objects); snapshots copy it in.
            let mut obj = ObjectState { status: fresh_status(def, self.paused), ..ObjectState::default() };
            let mut rt = Runtime::default();
            if let Some((state, runtime)) = take(def) {
                obj = state;
                obj.status.checks_enabled = def.active_checks && !self.paused;
                rt = runtime;
            }
            if def.is_host() {
                host_slots.insert(def.key.host.clone(), idx);
            }
            self.slots.push(Slot { def: def.clone(), obj, rt, in_flight: false, host_idx, running: 0 });
        }
        let slots = &self.slots;
        let mut index: Vec<u32> = (0..slots.len() as u32).collect();
        index.sort_unstable_by(|&a, &b| slots[a as usize].def.key.cmp(&slots[b as usize].def.key));
        self.index = index;
    }

    /// Puts every actively checked object on the schedule (keeping retained times that are still ahead).
    fn schedule_all(&mut self, now: UnixMillis) {
        self.schedule.clear();
        let n = self.slots.len();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if slot.def.command.is_none() || !slot.def.active_checks {
                continue;
            }
            let interval =
                interval_ms(&slot.def, slot.obj.status.state != 0 && slot.obj.status.state_type == StateType::Soft);
            slot.rt.next_check = scheduler::first_due(now, slot.rt.next_check, interval, i, n);
            if !slot.in_flight {
                self.schedule.push(Due { at: slot.rt.next_check, idx: i as u32, generation: self.generation });
            }
        }
    }

    /// Applies a new config. Unchanged and changed objects keep their state; new ones start fresh.
    pub fn reload(&mut self, config: Arc<Config>, now: UnixMillis) -> ReloadCounts {
        let mut counts = ReloadCounts::default();
        let mut old: HashMap<ObjectKey, Slot> =
            std::mem::take(&mut self.slots).into_iter().map(|s| (s.def.key.clone(), s)).collect();
        let mut in_flight = Vec::new();
        self.build_slots(&config, |def| {
            let s = old.remove(&def.key)?;
            in_flight.push((def.key.clone(), s.in_flight, s.running));
            if *s.def != **def {
                counts.changed += 1;
            }
            Some((s.obj, s.rt))
        });
        counts.removed = old.len() as u32;
        counts.added = (self.slots.len() - in_flight.len()) as u32;
        for (key, flying, running) in in_flight {
            if let Some(idx) = self.position(&key) {
                let slot = &mut self.slots[idx as usize];
                slot.in_flight = flying;
                slot.running = running;
            }
        }
        self.config = config;
        self.generation = self.generation.wrapping_add(1);
        self.schedule_all(now);
        counts
    }

    /// Pops the checks due at `now` (at most `max`), skipping stale entries and hosts at their limit.
    pub fn due_checks(&mut self, now: UnixMillis, max: usize, out: &mut Vec<Launch>) {
        if self.paused {
            return;
        }
        let per_host = self.config.engine.max_checks_per_host as u32;
        let mut deferred = Vec::new();
        while out.len() < max {
            let Some(due) = self.schedule.pop_due(now) else { break };
            if due.generation != self.generation {
                continue;
            }
            let Some(slot) = self.slots.get(due.idx as usize) else { continue };
            if slot.in_flight || slot.rt.next_check != due.at {
                continue;
            }
            let host_idx = slot.host_idx as usize;
            if self.slots[host_idx].running >= per_host {
                // Per-host limit: try again shortly rather than piling onto one device.
                deferred.push(Due { at: now + 250, ..due });
                continue;
            }
            self.slots[host_idx].running += 1;
            let slot = &mut self.slots[due.idx as usize];
            slot.in_flight = true;
            out.push(Launch { idx: due.idx, generation: due.generation, due: due.at, def: slot.def.clone() });
        }
        for d in deferred {
            if let Some(slot) = self.slots.get_mut(d.idx as usize) {
                slot.rt.next_check = d.at;
            }
            self.schedule.push(d);
        }
    }

    fn find(&self, idx: u32, generation: u32, key: &ObjectKey) -> Option<usize> {
        if generation == self.generation && self.slots.get(idx as usize).is_some_and(|s| &s.def.key == key) {
            return Some(idx as usize);
        }
        self.position(key).map(|i| i as usize)
    }

    /// Records a finished check: state machine, reschedule, per-host accounting. Returns events to emit.
    pub fn apply(&mut self, launch: &Launch, outcome: CheckOutcome, finished: UnixMillis) -> Vec<EventKind> {
        let Some(idx) = self.find(launch.idx, launch.generation, &launch.def.key) else {
            return Vec::new(); // removed by a reload while it ran
        };
        let host_idx = self.slots[idx].host_idx as usize;
        self.slots[host_idx].running = self.slots[host_idx].running.saturating_sub(1);
        self.slots[idx].in_flight = false;
        let (events, retry) = self.record_result(idx, outcome.code, outcome.output, finished);
        let generation = self.generation;
        let slot = &mut self.slots[idx];
        if slot.def.command.is_some() && slot.def.active_checks {
            let interval = interval_ms(&slot.def, retry);
            let base = if launch.generation == generation { launch.due } else { finished };
            slot.rt.next_check = scheduler::next_due(base, finished, interval);
            self.schedule.push(Due { at: slot.rt.next_check, idx: idx as u32, generation });
        }
        events
    }

    /// Records a passive result (like Nagios's PROCESS_SERVICE_CHECK_RESULT): the same SOFT/HARD state machine,
    /// flap detection and downtime rules as an active result, without touching the object's schedule.
    /// Returns the events to emit; the caller records them.
    pub fn apply_passive(
        &mut self,
        key: &ObjectKey,
        code: u8,
        output: PluginOutput,
        received: UnixMillis,
    ) -> Result<Vec<EventKind>, OpError> {
        let idx = self.position(key).ok_or_else(|| OpError::UnknownObject(key.to_string()))? as usize;
        let max = if key.is_host() { 2 } else { 3 };
        if code > max {
            return Err(OpError::Invalid(format!("state code {code} is out of range for `{key}` (0..={max})")));
        }
        Ok(self.record_result(idx, code, output, received).0)
    }

    /// The state machine step shared by active and passive results. Returns the events and whether the object is
    /// now in a SOFT problem (retry interval).
    fn record_result(
        &mut self,
        idx: usize,
        code: u8,
        output: PluginOutput,
        finished: UnixMillis,
    ) -> (Vec<EventKind>, bool) {
        let host_idx = self.slots[idx].host_idx as usize;
        let mut code = code;
        let is_host = self.slots[idx].def.is_host();
        if is_host && code == 1 && self.parents_all_down(idx) {
            code = 2;
        }
        let (host_problem, host_in_downtime) = if is_host {
            (false, false)
        } else {
            let h = &self.slots[host_idx].obj;
            (h.status.state != 0, h.in_downtime(finished))
        };
        let ctx = Context {
            host_problem,
            host_in_downtime,
            flap_detection: self.slots[idx].def.flap_detection,
            flap_low: self.config.engine.flap_low_threshold,
            flap_high: self.config.engine.flap_high_threshold,
        };
        let slot = &mut self.slots[idx];
        let key = slot.def.key.clone();
        let input = CheckInput { code, output, finished };
        let result = machine::apply_result(&key, &slot.def.config, &mut slot.obj, &mut slot.rt, input, &ctx);
        let mut events = result.events;
        // A flexible downtime starts at the first problem inside its window.
        if !slot.obj.downtimes.is_empty() {
            events.extend(downtime::tick(&key, &slot.def.config, &mut slot.obj, finished));
        }
        (events, result.retry)
    }

    /// The slot of `key`, if configured.
    pub fn position(&self, key: &ObjectKey) -> Option<u32> {
        self.index.binary_search_by(|&i| self.slots[i as usize].def.key.cmp(key)).ok().map(|pos| self.index[pos])
    }

    fn parents_all_down(&self, idx: usize) -> bool {
        let parents = &self.slots[idx].def.parents;
        !parents.is_empty()
            && parents.iter().all(|p| {
                self.position(&ObjectKey::host(p.clone())).is_some_and(|i| self.slots[i as usize].obj.status.state != 0)
            })
    }

    /// Starts and ends downtimes at `now`.
    pub fn tick(&mut self, now: UnixMillis) -> Vec<EventKind> {
        let mut events = Vec::new();
        for slot in self.slots.iter_mut().filter(|s| !s.obj.downtimes.is_empty()) {
            events.extend(downtime::tick(&slot.def.key, &slot.def.config, &mut slot.obj, now));
        }
        events
    }

    pub fn snapshot(&self, now: UnixMillis) -> Snapshot {
        Snapshot {
            location: self.config.location.clone(),
            taken_at: now,
            objects: self
                .slots
                .iter()
                .map(|s| {
                    let ObjectState { status, acknowledgement, downtimes, comments } = s.obj.clone();
                    let config = ObjectConfig::clone(&s.def.config);
                    let acknowledgement = acknowledgement.map(|a| *a);
                    (s.def.key.clone(), Object { config, status, acknowledgement, downtimes, comments })
                })
                .collect(),
        }
    }

    /// The site's snapshot as a blob, encoded straight from the table in key order: no copy of the site.
    pub fn snapshot_blob(&self, now: UnixMillis) -> std::io::Result<SnapshotBlob> {
        let mut w = BlobWriter::new(&self.config.location, now, self.slots.len())?;
        for &i in &self.index {
            let Slot { def, obj, .. } = &self.slots[i as usize];
            let object = ObjectRef {
                config: &def.config,
                status: &obj.status,
                acknowledgement: obj.acknowledgement.as_deref(),
                downtimes: &obj.downtimes,
                comments: &obj.comments,
            };
            w.push(&def.key, &object)?;
        }
        w.finish()
    }

    /// Writes the retention payload straight from the table into `out` (no copy of the state).
    pub fn write_retained(&self, now: UnixMillis, out: &mut impl std::io::Write) -> Result<(), String> {
        let retained = RetainedRef {
            saved_at: now,
            paused: self.paused,
            next_downtime_id: self.next_downtime_id,
            next_comment_id: self.next_comment_id,
            objects: RetainedObjects(&self.slots),
        };
        rmp_serde::encode::write_named(out, &retained).map_err(|e| e.to_string())
    }

    pub fn retained(&self, now: UnixMillis) -> Retained {
        Retained {
            saved_at: now,
            paused: self.paused,
            next_downtime_id: self.next_downtime_id,
            next_comment_id: self.next_comment_id,
            objects: self
                .slots
                .iter()
                .map(|s| RetainedObject {
                    key: s.def.key.clone(),
                    status: s.obj.status.clone(),
                    acknowledgement: s.obj.acknowledgement.as_deref().cloned(),
                    downtimes: s.obj.downtimes.clone(),
                    comments: s.obj.comments.clone(),
                    runtime: s.rt.clone(),
                })
                .collect(),
        }
    }

    fn lookup(&self, key: &ObjectKey) -> Result<usize, OpError> {
        self.position(key).map(|i| i as usize).ok_or_else(|| OpError::UnknownObject(key.to_string()))
    }

    /// Acknowledges a problem. Raises `AcknowledgementSet` and an acknowledgement notification.
    pub fn acknowledge(&mut self, key: &ObjectKey, ack: Acknowledgement) -> Result<Vec<EventKind>, OpError> {
        let idx = self.lookup(key)?;
        let slot = &mut self.slots[idx];
        if slot.obj.status.state == 0 {
            return Err(OpError::NotAProblem(key.to_string()));
        }
        slot.obj.acknowledgement = Some(Box::new(ack.clone()));
        let mut events = vec![EventKind::AcknowledgementSet { key: key.clone(), ack: ack.clone() }];
        if slot.def.config.notifications.enabled
            && let EventKind::Notification(mut n) = machine::notification(
                key,
                &slot.obj.status,
                NotificationType::Acknowledgement,
                slot.obj.status.notification_number,
            )
        {
            n.author = ack.author;
            n.comment = ack.comment;
            events.push(EventKind::Notification(n));
        }
        Ok(events)
    }

    pub fn remove_acknowledgement(&mut self, key: &ObjectKey) -> Result<Vec<EventKind>, OpError> {
        let idx = self.lookup(key)?;
        Ok(match self.slots[idx].obj.acknowledgement.take() {
            Some(_) => vec![EventKind::AcknowledgementRemoved { key: key.clone() }],
            None => Vec::new(),
        })
    }

    /// Schedules a downtime (id assigned here). A fixed downtime whose window has begun starts at once.
    pub fn schedule_downtime(
        &mut self,
        key: &ObjectKey,
        mut d: Downtime,
        now: UnixMillis,
    ) -> Result<(u64, Vec<EventKind>), OpError> {
        let idx = self.lookup(key)?;
        if d.end <= d.start || d.end <= now {
            return Err(OpError::Invalid(
                "the downtime ends before it starts or is already over; check --start/--end".into(),
            ));
        }
        if !d.fixed && d.duration_s == 0 {
            return Err(OpError::Invalid("a flexible downtime needs --duration".into()));
        }
        d.id = self.next_downtime_id;
        d.started_at = None;
        self.next_downtime_id += 1;
        let slot = &mut self.slots[idx];
        slot.obj.downtimes.push(d.clone());
        let mut events = vec![EventKind::DowntimeScheduled { key: key.clone(), downtime: d.clone() }];
        events.extend(downtime::tick(key, &slot.def.config, &mut slot.obj, now));
        Ok((d.id, events))
    }

    pub fn cancel_downtime(&mut self, id: u64, now: UnixMillis) -> Result<Vec<EventKind>, OpError> {
        for slot in &mut self.slots {
            if let Some(pos) = slot.obj.downtimes.iter().position(|d| d.id == id) {
                let was_active = slot.obj.in_downtime(now);
                slot.obj.downtimes.remove(pos);
                let key = slot.def.key.clone();
                let mut events = vec![EventKind::DowntimeCancelled { key: key.clone(), downtime_id: id }];
                if was_active && !slot.obj.in_downtime(now) && machine::allows(&slot.def.config, 's') {
                    events.push(machine::notification(&key, &slot.obj.status, NotificationType::DowntimeCancelled, 0));
                }
                return Ok(events);
            }
        }
        Err(OpError::UnknownDowntime(id))
    }

    pub fn add_comment(
        &mut self,
        key: &ObjectKey,
        author: String,
        text: String,
        now: UnixMillis,
    ) -> Result<(u64, Vec<EventKind>), OpError> {
        let idx = self.lookup(key)?;
        let comment = Comment { id: self.next_comment_id, author, text, time: now };
        self.next_comment_id += 1;
        self.slots[idx].obj.comments.push(comment.clone());
        Ok((comment.id, vec![EventKind::CommentAdded { key: key.clone(), comment }]))
    }

    pub fn remove_comment(&mut self, id: u64) -> Result<Vec<EventKind>, OpError> {
        for slot in &mut self.slots {
            if let Some(pos) = slot.obj.comments.iter().position(|c| c.id == id) {
                slot.obj.comments.remove(pos);
                return Ok(vec![EventKind::CommentRemoved { key: slot.def.key.clone(), comment_id: id }]);
            }
        }
        Err(OpError::UnknownComment(id))
    }

    /// Schedules an immediate check of `key` (a host's services too when `with_services`). Returns how many.
    pub fn check_now(&mut self, key: &ObjectKey, with_services: bool, now: UnixMillis) -> Result<usize, OpError> {
        self.lookup(key)?;
        let mut n = 0;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            let hit = slot.def.key == *key || (with_services && key.is_host() && slot.def.key.host == key.host);
            if hit && slot.def.command.is_some() {
                n += 1;
                if !slot.in_flight {
                    slot.rt.next_check = now;
                    self.schedule.push(Due { at: now, idx: i as u32, generation: self.generation });
                }
            }
        }
        Ok(n)
    }

    /// Pauses or resumes all active checks. Returns whether anything changed. Resuming re-spreads the
    /// schedule so that the checks missed while paused do not all run at once.
    pub fn set_paused(&mut self, paused: bool, now: UnixMillis) -> bool {
        if self.paused == paused {
            return false;
        }
        self.paused = paused;
        for slot in &mut self.slots {
            slot.obj.status.checks_enabled = slot.def.active_checks && !paused;
        }
        if !paused {
            for slot in &mut self.slots {
                slot.rt.next_check = 0;
            }
            self.schedule_all(now);
        }
        true
    }
}

/// The slots as a sequence of [`RetainedObjectRef`], serialised one at a time (the length is known up front,
/// so the encoder never buffers the sequence).
struct RetainedObjects<'a>(&'a [Slot]);

impl serde::Serialize for RetainedObjects<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|s| RetainedObjectRef {
            key: &s.def.key,
            status: &s.obj.status,
            acknowledgement: s.obj.acknowledgement.as_deref(),
            downtimes: &s.obj.downtimes,
            comments: &s.obj.comments,
            runtime: &s.rt,
        }))
    }
}

fn interval_ms(def: &CheckDef, retry: bool) -> i64 {
    let d = if retry { def.retry_interval } else { def.check_interval };
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}
