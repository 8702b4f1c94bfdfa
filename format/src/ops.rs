//! NOC-side diff: a new snapshot compared with the stored object set becomes explicit
//! create/update/delete operations, plus the suspect-snapshot guard rail.
//! (Stub with the agreed API; being implemented under issue #2.)

use crate::model::{Object, ObjectKey, Snapshot};

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

/// Operations that turn `old` into `new`, in key order. Keys are the satellite's local names.
pub fn diff(old: &Snapshot, new: &Snapshot) -> Vec<Op> {
    let mut ops = Vec::new();
    for (k, o) in &new.objects {
        match old.objects.get(k) {
            None => ops.push(Op::Create { key: k.clone(), object: o.clone() }),
            Some(prev) if prev != o => ops.push(Op::Update { key: k.clone(), object: o.clone(), changed: Vec::new() }),
            Some(_) => {}
        }
    }
    for k in old.objects.keys() {
        if !new.objects.contains_key(k) {
            ops.push(Op::Delete { key: k.clone() });
        }
    }
    ops
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

pub fn guard(existing: usize, ops: &[Op], max_delete_share: f64) -> Result<(), Suspect> {
    let deletes = ops.iter().filter(|o| matches!(o, Op::Delete { .. })).count();
    if existing > 0 && deletes as f64 > existing as f64 * max_delete_share {
        return Err(Suspect { deletes, existing, max_percent: (max_delete_share * 100.0).round() as u32 });
    }
    Ok(())
}
