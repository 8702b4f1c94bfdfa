//! NOC-side diff: a new snapshot compared with the stored object set becomes explicit
//! create/update/delete operations, plus the suspect-snapshot guard rail.
//!
//! The diff walks both key-ordered maps in one merge pass (no lookups) and compares objects field by field,
//! so an unchanged object costs one comparison per field and no allocation.
//! Names here are the satellite's local names; prefixing with the location is [`crate::naming`]'s job.

use std::cmp::Ordering;

use crate::model::{Object, ObjectKey, Snapshot};
use crate::object_map::ObjectMap;

/// The default guard rail: hold a snapshot that would delete more than half of a location's objects.
pub const DEFAULT_MAX_DELETE_SHARE: f64 = 0.5;

/// One operation, borrowing the key and the new object from the snapshots it was computed from:
/// the diff itself never copies an object, so a round where every object changed costs no more than
/// the comparisons. A receiver that keeps the objects clones (or writes) exactly the ones it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op<'a> {
    Create {
        key: &'a ObjectKey,
        object: &'a Object,
    },
    /// `changed` names the fields that changed, e.g. `status.state` and `status.output`.
    Update {
        key: &'a ObjectKey,
        object: &'a Object,
        changed: Changed,
    },
    Delete {
        key: &'a ObjectKey,
    },
}

impl<'a> Op<'a> {
    pub fn key(&self) -> &'a ObjectKey {
        match *self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key } => key,
        }
    }
}

/// Operations that turn `old` into `new`, in key order. Keys are the satellite's local names.
pub fn diff<'a>(old: &'a Snapshot, new: &'a Snapshot) -> Vec<Op<'a>> {
    diff_objects(&old.objects, &new.objects)
}

/// [`diff`] over bare object maps, for a store that does not keep whole snapshots.
pub fn diff_objects<'a>(old: &'a ObjectMap, new: &'a ObjectMap) -> Vec<Op<'a>> {
    let Some(mid) = split_key(old, new) else {
        return merge_diff(old.iter(), new.iter());
    };
    // Two halves of the key space on two threads: the diff is memory-bound, one core's misses overlap another's.
    let (old_low, old_high) = old.split_at_key(mid);
    let (new_low, new_high) = new.split_at_key(mid);
    let pairs = |entries: &'a [(ObjectKey, Object)]| entries.iter().map(|(k, o)| (k, o));
    let (low, high) = std::thread::scope(|s| {
        let low = s.spawn(|| merge_diff(pairs(old_low), pairs(new_low)));
        let high = merge_diff(pairs(old_high), pairs(new_high));
        (low.join(), high)
    });
    match low {
        Ok(mut ops) => {
            ops.extend(high);
            ops
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Below this many objects a second thread costs more than it saves.
const PARALLEL_MIN_OBJECTS: usize = 16_384;

/// The key that splits the work in two, or `None` to diff on one thread.
fn split_key<'a>(old: &ObjectMap, new: &'a ObjectMap) -> Option<&'a ObjectKey> {
    if old.len() + new.len() < PARALLEL_MIN_OBJECTS || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    new.keys().nth(new.len() / 2)
}

/// One merge pass over two key-ordered sequences (no lookups).
fn merge_diff<'a>(
    old: impl Iterator<Item = (&'a ObjectKey, &'a Object)>,
    new: impl Iterator<Item = (&'a ObjectKey, &'a Object)>,
) -> Vec<Op<'a>> {
    let mut ops = Vec::new();
    let mut old_it = old.peekable();
    let mut new_it = new.peekable();
    loop {
        let order = match (old_it.peek(), new_it.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ok, _)), Some((nk, _))) => ok.cmp(nk),
        };
        match order {
            Ordering::Less => {
                if let Some((key, _)) = old_it.next() {
                    ops.push(Op::Delete { key });
                }
            }
            Ordering::Greater => {
                if let Some((key, object)) = new_it.next() {
                    ops.push(Op::Create { key, object });
                }
            }
            Ordering::Equal => {
                if let (Some((_, before)), Some((key, object))) = (old_it.next(), new_it.next()) {
                    let changed = changed_fields(before, object);
                    if !changed.is_empty() {
                        ops.push(Op::Update { key, object, changed });
                    }
                }
            }
        }
    }
    ops
}

/// The names [`Changed`] can hold, in declaration order (bit `i` is `FIELD_NAMES[i]`).
pub const FIELD_NAMES: [&str; 25] = [
    "config.display_name",
    "config.address",
    "config.check_command",
    "config.check_interval",
    "config.retry_interval",
    "config.max_attempts",
    "config.notifications",
    "config.groups",
    "config.custom_vars",
    "status.state",
    "status.state_type",
    "status.current_attempt",
    "status.output",
    "status.long_output",
    "status.perfdata",
    "status.last_check",
    "status.last_state_change",
    "status.last_hard_state_change",
    "status.is_flapping",
    "status.checks_enabled",
    "status.problem_notified",
    "status.notification_number",
    "acknowledgement",
    "downtimes",
    "comments",
];

/// A set of changed fields: one bit per [`FIELD_NAMES`] entry, so naming the changes allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changed(u32);

impl Changed {
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// True when the field named `name` (one of [`FIELD_NAMES`]) changed.
    pub fn contains(self, name: &str) -> bool {
        self.names().any(|n| n == name)
    }
    /// The changed fields' names, in declaration order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        FIELD_NAMES.iter().enumerate().filter(move |(i, _)| self.0 & (1 << i) != 0).map(|(_, n)| *n)
    }
}

impl std::fmt::Display for Changed {
    /// Comma-separated names, as logs and the event log show them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, name) in self.names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        Ok(())
    }
}

/// The fields that differ between two versions of an object.
pub fn changed_fields(a: &Object, b: &Object) -> Changed {
    let mut bits = 0u32;
    let mut bit = 0u32;
    macro_rules! cmp {
        ($($path:ident).+) => {
            if a.$($path).+ != b.$($path).+ {
                bits |= 1 << bit;
            }
            bit += 1;
        };
    }
    // The configuration rarely changes, so one whole-struct comparison usually settles all nine fields.
    // The status nearly always differs (the last check time moves), so its fields are compared once each
    // instead of as a whole first: comparing it twice was a third of the diff's time.
    if a.config != b.config {
        cmp!(config.display_name);
        cmp!(config.address);
        cmp!(config.check_command);
        cmp!(config.check_interval);
        cmp!(config.retry_interval);
        cmp!(config.max_attempts);
        cmp!(config.notifications);
        cmp!(config.groups);
        cmp!(config.custom_vars);
    } else {
        bit += 9;
    }
    cmp!(status.state);
    cmp!(status.state_type);
    cmp!(status.current_attempt);
    cmp!(status.output);
    cmp!(status.long_output);
    cmp!(status.perfdata);
    cmp!(status.last_check);
    cmp!(status.last_state_change);
    cmp!(status.last_hard_state_change);
    cmp!(status.is_flapping);
    cmp!(status.checks_enabled);
    cmp!(status.problem_notified);
    cmp!(status.notification_number);
    cmp!(acknowledgement);
    cmp!(downtimes);
    cmp!(comments);
    debug_assert_eq!(bit as usize, FIELD_NAMES.len());
    Changed(bits)
}

/// Applies operations to an object map (what the NOC store does, in memory). Used to check `diff` and by tests.
/// Each key appears at most once in `ops`, as [`diff`] gives them. Linear in the map's size however many
/// operations there are: deletes are one pass, writes one merge.
pub fn apply_ops(objects: &mut ObjectMap, ops: &[Op<'_>]) {
    let deleted: std::collections::BTreeSet<&ObjectKey> =
        ops.iter().filter_map(|op| if let Op::Delete { key } = *op { Some(key) } else { None }).collect();
    if !deleted.is_empty() {
        objects.retain(|k, _| !deleted.contains(k));
    }
    objects.extend(ops.iter().filter_map(|op| match *op {
        Op::Create { key, object } | Op::Update { key, object, .. } => Some((key.clone(), object.clone())),
        Op::Delete { .. } => None,
    }));
}

/// The guard rail: a snapshot that deletes more than `max_delete_share` (0.0..=1.0) of a location's objects is suspect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "suspect snapshot: it would delete {deletes} of {existing} objects (more than {max_percent}%); held for an operator"
)]
pub struct Suspect {
    pub deletes: usize,
    pub existing: usize,
    pub max_percent: u32,
}

/// Refuses `ops` when they delete more than `max_delete_share` of the `existing` objects.
/// A share outside 0.0..=1.0 (or NaN) is clamped into it; 1.0 disables the guard.
pub fn guard(existing: usize, ops: &[Op<'_>], max_delete_share: f64) -> Result<(), Suspect> {
    let deletes = ops.iter().filter(|o| matches!(o, Op::Delete { .. })).count();
    guard_deletes(existing, deletes, max_delete_share)
}

/// [`guard`] for a receiver that counted its deletes itself.
pub fn guard_deletes(existing: usize, deletes: usize, max_delete_share: f64) -> Result<(), Suspect> {
    let share = if max_delete_share.is_nan() { DEFAULT_MAX_DELETE_SHARE } else { max_delete_share.clamp(0.0, 1.0) };
    if existing > 0 && deletes as f64 > existing as f64 * share {
        return Err(Suspect { deletes, existing, max_percent: (share * 100.0).round() as u32 });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(objects: &[(ObjectKey, Object)]) -> Snapshot {
        Snapshot { location: "FRA1".into(), taken_at: 0, objects: objects.iter().cloned().collect() }
    }

    fn svc(state: u8, output: &str) -> Object {
        let mut o = Object::default();
        o.status.state = state;
        o.status.output = output.into();
        o
    }

    #[test]
    fn diff_names_creates_updates_and_deletes_in_key_order() {
        let a = ObjectKey::host("a");
        let b = ObjectKey::service("a", "disk");
        let c = ObjectKey::service("a", "load");
        let d = ObjectKey::host("z");
        let old = snap(&[(a.clone(), svc(0, "up")), (b.clone(), svc(0, "ok")), (c.clone(), svc(0, "ok"))]);
        let new = snap(&[(a.clone(), svc(0, "up")), (b.clone(), svc(2, "bad")), (d.clone(), svc(0, "up"))]);
        let ops = diff(&old, &new);
        let (bad, up) = (svc(2, "bad"), svc(0, "up"));
        let changed = changed_fields(&old.objects[&b], &bad);
        assert_eq!(changed.names().collect::<Vec<_>>(), ["status.state", "status.output"]);
        assert_eq!(changed.to_string(), "status.state,status.output");
        assert_eq!(
            ops,
            vec![
                Op::Update { key: &b, object: &bad, changed },
                Op::Delete { key: &c },
                Op::Create { key: &d, object: &up },
            ]
        );
    }

    #[test]
    fn changed_fields_cover_config_status_and_annotations() {
        let a = Object::default();
        let mut b = a.clone();
        b.config.check_interval = 60;
        b.config.custom_vars.insert("OWNER".into(), "ops".into());
        b.status.last_check = 5;
        b.comments.push(crate::model::Comment { id: 1, author: "x".into(), text: "y".into(), time: 0 });
        assert_eq!(
            changed_fields(&a, &b).names().collect::<Vec<_>>(),
            ["config.check_interval", "config.custom_vars", "status.last_check", "comments"]
        );
        assert_eq!(changed_fields(&a, &b).len(), 4);
        assert!(changed_fields(&a, &b).contains("comments") && !changed_fields(&a, &b).contains("downtimes"));
        assert!(changed_fields(&a, &a.clone()).is_empty());
        // Every field has its own bit: changing one names exactly that one.
        let mut c = a.clone();
        c.acknowledgement =
            Some(crate::model::Acknowledgement { author: "x".into(), comment: "y".into(), sticky: false, time: 1 });
        assert_eq!(changed_fields(&a, &c).names().collect::<Vec<_>>(), ["acknowledgement"]);
    }

    #[test]
    fn the_two_thread_diff_matches_one_pass() {
        let old = crate::sitegen::site(16_000, 1);
        let mut new = crate::sitegen::change_states(&crate::sitegen::recheck(&old, 60_000), 0.05, 2);
        new.objects.retain(|k, _| !k.host.ends_with('7'));
        new.objects.insert(ObjectKey::host("zzz"), Object::default());
        assert!(split_key(&old.objects, &new.objects).is_some() || std::thread::available_parallelism().is_err());
        let one_pass = merge_diff(old.objects.iter(), new.objects.iter());
        assert!(one_pass.iter().any(|o| matches!(o, Op::Delete { .. })));
        assert_eq!(diff(&old, &new), one_pass);
    }

    #[test]
    fn guard_holds_snapshots_that_delete_more_than_the_share() {
        let keys: Vec<ObjectKey> = (0..10).map(|i| ObjectKey::host(format!("h{i}"))).collect();
        let del = |n: usize| keys[..n].iter().map(|key| Op::Delete { key }).collect::<Vec<_>>();
        assert_eq!(guard(10, &del(5), DEFAULT_MAX_DELETE_SHARE), Ok(()));
        let err = guard(10, &del(6), DEFAULT_MAX_DELETE_SHARE).expect_err("6 of 10 is over 50%");
        assert_eq!(err, Suspect { deletes: 6, existing: 10, max_percent: 50 });
        assert!(err.to_string().contains("delete 6 of 10 objects (more than 50%)"));
        assert_eq!(guard(0, &[], 0.5), Ok(()));
        assert_eq!(guard(10, &del(10), 1.0), Ok(()));
        assert!(guard(10, &del(1), 0.0).is_err());
        assert!(guard(10, &del(6), f64::NAN).is_err());
    }
}
