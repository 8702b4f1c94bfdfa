//! NOC-side diff: a new snapshot compared with the stored object set becomes explicit
//! create/update/delete operations, plus the suspect-snapshot guard rail.
//!
//! The diff walks both key-ordered maps in one merge pass (no lookups) and compares objects field by field,
//! so an unchanged object costs one comparison per field and no allocation.
//! Names here are the satellite's local names; prefixing with the location is [`crate::naming`]'s job.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::model::{Object, ObjectKey, Snapshot};

/// The default guard rail: hold a snapshot that would delete more than half of a location's objects.
pub const DEFAULT_MAX_DELETE_SHARE: f64 = 0.5;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Create {
        key: ObjectKey,
        object: Object,
    },
    /// `changed` names the fields that changed, e.g. `["status.state", "status.output"]`.
    Update {
        key: ObjectKey,
        object: Object,
        changed: Vec<&'static str>,
    },
    Delete {
        key: ObjectKey,
    },
}

impl Op {
    pub fn key(&self) -> &ObjectKey {
        match self {
            Op::Create { key, .. } | Op::Update { key, .. } | Op::Delete { key } => key,
        }
    }
}

/// Operations that turn `old` into `new`, in key order. Keys are the satellite's local names.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Op> {
    diff_objects(&old.objects, &new.objects)
}

/// [`diff`] over bare object maps, for a store that does not keep whole snapshots.
pub fn diff_objects(old: &BTreeMap<ObjectKey, Object>, new: &BTreeMap<ObjectKey, Object>) -> Vec<Op> {
    let Some(mid) = split_key(old, new) else {
        return merge_diff(old.iter(), new.iter(), clone_new);
    };
    // Two halves of the key space on two threads: the diff is memory-bound, one core's misses overlap another's.
    let (low, high) = std::thread::scope(|s| {
        let low = s.spawn(|| merge_diff(old.range(..mid), new.range(..mid), clone_new));
        let high = merge_diff(old.range(mid..), new.range(mid..), clone_new);
        (low.join(), high)
    });
    join_halves(low, high)
}

/// [`diff`] that consumes the new snapshot and moves its objects into the operations instead of cloning
/// them: the fast path for a receiver that decoded the snapshot only to diff it.
pub fn diff_owned(old: &Snapshot, new: Snapshot) -> Vec<Op> {
    diff_objects_owned(&old.objects, new.objects)
}

/// [`diff_owned`] over bare object maps.
pub fn diff_objects_owned(old: &BTreeMap<ObjectKey, Object>, mut new: BTreeMap<ObjectKey, Object>) -> Vec<Op> {
    let Some(mid) = split_key(old, &new).cloned() else {
        return merge_diff(old.iter(), new.into_iter(), move_new);
    };
    let high_new = new.split_off(&mid);
    let (low, high) = std::thread::scope(|s| {
        let low = s.spawn(|| merge_diff(old.range(..&mid), new.into_iter(), move_new));
        let high = merge_diff(old.range(&mid..), high_new.into_iter(), move_new);
        (low.join(), high)
    });
    join_halves(low, high)
}

/// Below this many objects a second thread costs more than it saves.
const PARALLEL_MIN_OBJECTS: usize = 16_384;

/// The key that splits the work in two, or `None` to diff on one thread.
fn split_key<'a>(old: &BTreeMap<ObjectKey, Object>, new: &'a BTreeMap<ObjectKey, Object>) -> Option<&'a ObjectKey> {
    if old.len() + new.len() < PARALLEL_MIN_OBJECTS || std::thread::available_parallelism().map_or(1, |n| n.get()) < 2 {
        return None;
    }
    new.keys().nth(new.len() / 2)
}

fn join_halves(low: std::thread::Result<Vec<Op>>, high: Vec<Op>) -> Vec<Op> {
    match low {
        Ok(mut ops) => {
            ops.extend(high);
            ops
        }
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

fn clone_new((key, object): (&ObjectKey, &Object)) -> (ObjectKey, Object) {
    (key.clone(), object.clone())
}

fn move_new(entry: (ObjectKey, Object)) -> (ObjectKey, Object) {
    entry
}

/// One merge pass over two key-ordered sequences. `own` turns a new entry into owned data, only for
/// entries that become operations.
fn merge_diff<'a, N, B>(
    old: impl Iterator<Item = (&'a ObjectKey, &'a Object)>,
    new: impl Iterator<Item = N>,
    own: fn(N) -> (ObjectKey, Object),
) -> Vec<Op>
where
    N: std::borrow::Borrow<B>,
    B: EntryRef + ?Sized,
{
    let mut ops = Vec::new();
    let mut old_it = old.peekable();
    let mut new_it = new.peekable();
    loop {
        let order = match (old_it.peek(), new_it.peek()) {
            (None, None) => break,
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some((ok, _)), Some(n)) => (*ok).cmp(n.borrow().key()),
        };
        match order {
            Ordering::Less => {
                if let Some((key, _)) = old_it.next() {
                    ops.push(Op::Delete { key: key.clone() });
                }
            }
            Ordering::Greater => {
                if let Some(n) = new_it.next() {
                    let (key, object) = own(n);
                    ops.push(Op::Create { key, object });
                }
            }
            Ordering::Equal => {
                if let (Some((_, before)), Some(n)) = (old_it.next(), new_it.next()) {
                    let changed = changed_fields(before, n.borrow().object());
                    if !changed.is_empty() {
                        let (key, object) = own(n);
                        ops.push(Op::Update { key, object, changed });
                    }
                }
            }
        }
    }
    ops
}

/// A map entry seen by reference, whether the map is borrowed or being consumed.
trait EntryRef {
    fn key(&self) -> &ObjectKey;
    fn object(&self) -> &Object;
}

impl EntryRef for (&ObjectKey, &Object) {
    fn key(&self) -> &ObjectKey {
        self.0
    }
    fn object(&self) -> &Object {
        self.1
    }
}

impl EntryRef for (ObjectKey, Object) {
    fn key(&self) -> &ObjectKey {
        &self.0
    }
    fn object(&self) -> &Object {
        &self.1
    }
}

/// Names of the fields that differ between two versions of an object, in declaration order.
pub fn changed_fields(a: &Object, b: &Object) -> Vec<&'static str> {
    let mut changed = Vec::new();
    macro_rules! cmp {
        ($($path:ident).+ => $name:literal) => {
            if a.$($path).+ != b.$($path).+ {
                changed.push($name);
            }
        };
    }
    if a.config != b.config {
        cmp!(config.display_name => "config.display_name");
        cmp!(config.address => "config.address");
        cmp!(config.check_command => "config.check_command");
        cmp!(config.check_interval => "config.check_interval");
        cmp!(config.retry_interval => "config.retry_interval");
        cmp!(config.max_attempts => "config.max_attempts");
        cmp!(config.notifications => "config.notifications");
        cmp!(config.groups => "config.groups");
        cmp!(config.custom_vars => "config.custom_vars");
    }
    let (s, t) = (&a.status, &b.status);
    if s != t {
        cmp!(status.state => "status.state");
        cmp!(status.state_type => "status.state_type");
        cmp!(status.current_attempt => "status.current_attempt");
        cmp!(status.output => "status.output");
        cmp!(status.long_output => "status.long_output");
        cmp!(status.perfdata => "status.perfdata");
        cmp!(status.last_check => "status.last_check");
        cmp!(status.last_state_change => "status.last_state_change");
        cmp!(status.last_hard_state_change => "status.last_hard_state_change");
        cmp!(status.is_flapping => "status.is_flapping");
        cmp!(status.checks_enabled => "status.checks_enabled");
        cmp!(status.problem_notified => "status.problem_notified");
        cmp!(status.notification_number => "status.notification_number");
    }
    cmp!(acknowledgement => "acknowledgement");
    cmp!(downtimes => "downtimes");
    cmp!(comments => "comments");
    changed
}

/// Applies operations to an object map (what the NOC store does, in memory). Used to check `diff` and by tests.
pub fn apply_ops(objects: &mut BTreeMap<ObjectKey, Object>, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Create { key, object } | Op::Update { key, object, .. } => {
                objects.insert(key.clone(), object.clone());
            }
            Op::Delete { key } => {
                objects.remove(key);
            }
        }
    }
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
pub fn guard(existing: usize, ops: &[Op], max_delete_share: f64) -> Result<(), Suspect> {
    let share = if max_delete_share.is_nan() { DEFAULT_MAX_DELETE_SHARE } else { max_delete_share.clamp(0.0, 1.0) };
    let deletes = ops.iter().filter(|o| matches!(o, Op::Delete { .. })).count();
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
        assert_eq!(diff_owned(&old, new.clone()), ops);
        assert_eq!(
            ops,
            vec![
                Op::Update { key: b, object: svc(2, "bad"), changed: vec!["status.state", "status.output"] },
                Op::Delete { key: c },
                Op::Create { key: d, object: svc(0, "up") },
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
            changed_fields(&a, &b),
            vec!["config.check_interval", "config.custom_vars", "status.last_check", "comments"]
        );
        assert!(changed_fields(&a, &a.clone()).is_empty());
    }

    #[test]
    fn the_two_thread_diff_matches_one_pass() {
        let old = crate::sitegen::site(16_000, 1);
        let mut new = crate::sitegen::change_states(&crate::sitegen::recheck(&old, 60_000), 0.05, 2);
        new.objects.retain(|k, _| !k.host.ends_with('7'));
        new.objects.insert(ObjectKey::host("zzz"), Object::default());
        assert!(split_key(&old.objects, &new.objects).is_some() || std::thread::available_parallelism().is_err());
        let one_pass = merge_diff(old.objects.iter(), new.objects.iter(), clone_new);
        assert!(one_pass.iter().any(|o| matches!(o, Op::Delete { .. })));
        assert_eq!(diff(&old, &new), one_pass);
        assert_eq!(diff_owned(&old, new), one_pass);
    }

    #[test]
    fn guard_holds_snapshots_that_delete_more_than_the_share() {
        let del = |n: usize| (0..n).map(|i| Op::Delete { key: ObjectKey::host(format!("h{i}")) }).collect::<Vec<_>>();
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
