//! Incremental snapshots: a delta against a named base snapshot.
//!
//! A delta carries only what changed between the base (the last snapshot the NOC acknowledged) and the
//! current snapshot, sorted into the cheapest form that describes each object:
//!
//! - **deleted** keys and **upserted** whole objects (created, or configuration/annotations changed);
//! - **status updates**: a whole [`Status`] for objects whose configuration is unchanged;
//! - a **last-check column**: for every object that is kept without an upsert, in key order, the
//!   `status.last_check` delta against the base. Checks on an even grid give a column of one repeated
//!   value, which zstd (the frame's compression) reduces to almost nothing. A new last-check time alone
//!   therefore never makes an object "changed";
//! - **perfdata value changes**: for objects whose perfdata changed only in its values, one integer per
//!   metric: the difference of the decimal mantissas (`12.345` → `12.401` is `56`), or a sentinel
//!   plus the new text when a value is not a plain decimal of the same scale.
//!
//! The "kept" objects are the base's keys in order, minus deleted and upserted keys; both sides derive
//! this list, so the delta never names them. Status and perfdata changes refer to kept objects by the
//! gap from the previous referenced index in that list.
//!
//! `apply` verifies the base hash before and the target hash after, and builds the result on a copy:
//! it never half-applies. The body is MessagePack with named fields; see `docs/format.md`.

use std::borrow::Borrow;
use std::io;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{Object, ObjectKey, Snapshot, Status};
use crate::object_map::ObjectMap;
use crate::perfdata::PerfData;

/// SHA-256 over a snapshot's canonical encoding (objects in key order), used to name bases and to verify results.
pub type ContentHash = [u8; 32];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Delta {
    /// Sequence (in the snapshots stream) of the base this delta applies to.
    pub base_seq: u64,
    pub base_hash: ContentHash,
    /// Hash of the snapshot the delta produces; the receiver verifies it.
    pub target_hash: ContentHash,
    pub taken_at: i64,
    /// The encoded [`DeltaBody`]-style change set (MessagePack, named fields). Opaque to callers.
    #[serde(with = "bytes")]
    pub body: Vec<u8>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DeltaError {
    /// The receiver does not hold the delta's base. Recoverable: ask the sender for a full snapshot.
    #[error("delta is against base seq {want_seq} ({want_hash}), but the held base is {have_hash}")]
    BaseMismatch { want_seq: u64, want_hash: String, have_hash: String },
    /// The delta applied but produced another state than the sender's. Ask for a full snapshot.
    #[error("delta result hashes to {actual}, the sender said {expected}")]
    ResultMismatch { expected: String, actual: String },
    /// The body does not decode or refers to objects the base lacks. Ask for a full snapshot.
    #[error("malformed delta: {0}")]
    Malformed(String),
}

/// Counts of what a delta carries, for logs and benchmarks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeltaStats {
    pub deleted: usize,
    pub upserted: usize,
    pub status_updates: usize,
    pub perf_updates: usize,
    pub kept: usize,
}

/// The change set inside [`Delta::body`]. Fields are named on the wire; unknown fields are ignored and
/// missing ones default to empty, so a later version may add change kinds that older peers refuse by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
struct DeltaBody {
    #[serde(default, rename = "d")]
    deleted: Vec<ObjectKey>,
    #[serde(default, rename = "u", deserialize_with = "crate::object_map::deserialize_entry_list")]
    upserts: Vec<(ObjectKey, Object)>,
    /// Per kept object, `last_check - base.last_check`.
    #[serde(default, rename = "lc")]
    last_check: Vec<i64>,
    /// Gaps between kept indexes that get a whole status.
    #[serde(default, rename = "si")]
    status_idx: Vec<u32>,
    #[serde(default, rename = "s")]
    statuses: Vec<Status>,
    /// Gaps between kept indexes whose perfdata values changed.
    #[serde(default, rename = "pi")]
    perf_idx: Vec<u32>,
    /// One entry per metric of each such object: mantissa difference, or [`PERF_TEXT`].
    #[serde(default, rename = "pn")]
    perf_num: Vec<i64>,
    /// New value texts, one per [`PERF_TEXT`] entry, in order.
    #[serde(default, rename = "ps")]
    perf_str: Vec<String>,
}

/// `perf_num` sentinel: take the next string from `perf_str`.
const PERF_TEXT: i64 = i64::MIN;

/// The content hash of a snapshot: SHA-256 of `rmp_serde::to_vec(&snapshot.objects)` (compact MessagePack,
/// key order), streamed into the hasher without building the encoding in memory.
pub fn content_hash(snapshot: &Snapshot) -> ContentHash {
    content_hash_objects(&snapshot.objects)
}

/// [`content_hash`] over a bare object map.
pub fn content_hash_objects(objects: &ObjectMap) -> ContentHash {
    let mut w = io::BufWriter::with_capacity(64 << 10, HashWriter(Sha256::new()));
    rmp_serde::encode::write(&mut w, objects).expect("encoding owned model types into a hasher cannot fail");
    match w.into_inner() {
        Ok(h) => h.0.finalize().into(),
        Err(_) => unreachable!("HashWriter never fails"),
    }
}

struct HashWriter(Sha256);

impl io::Write for HashWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Builds the delta that turns `base` (seq `base_seq`) into `current`.
pub fn make(base: &Snapshot, base_seq: u64, current: &Snapshot) -> Delta {
    make_with_base_hash(base, base_seq, content_hash(base), current)
}

/// [`make`] with the base's hash already known (a sender keeps it from when the base was built).
pub fn make_with_base_hash(base: &Snapshot, base_seq: u64, base_hash: ContentHash, current: &Snapshot) -> Delta {
    let target = Target { hash: content_hash(current), taken_at: current.taken_at };
    make_from_entries(base.objects.iter(), base_seq, base_hash, current.objects.iter(), target)
}

/// What a delta produces: the current snapshot's content hash and time, known to a sender that hashed
/// the snapshot as it encoded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    pub hash: ContentHash,
    pub taken_at: i64,
}

/// [`make`] over two streams of entries in strictly ascending key order (as a [`Snapshot`] holds them),
/// owned or borrowed: a sender can decode its base and current snapshots one object at a time instead of
/// holding two whole sites in memory. The result is the same delta [`make`] builds from the same objects.
pub fn make_from_entries<K, O>(
    base: impl Iterator<Item = (K, O)>,
    base_seq: u64,
    base_hash: ContentHash,
    current: impl Iterator<Item = (K, O)>,
    target: Target,
) -> Delta
where
    K: Borrow<ObjectKey>,
    O: Borrow<Object>,
{
    let body = build_body(base, current);
    Delta {
        base_seq,
        base_hash,
        target_hash: target.hash,
        taken_at: target.taken_at,
        body: rmp_serde::to_vec_named(&body).expect("encoding owned model types into a Vec cannot fail"),
    }
}

/// Applies a delta to `base`, verifying the base and the result; never half-applies.
pub fn apply(base: &Snapshot, delta: &Delta) -> Result<Snapshot, DeltaError> {
    apply_with_base_hash(base, content_hash(base), delta)
}

/// [`apply`] with the base's hash already known (the receiver stored it with the base).
pub fn apply_with_base_hash(base: &Snapshot, base_hash: ContentHash, delta: &Delta) -> Result<Snapshot, DeltaError> {
    if base_hash != delta.base_hash {
        return Err(DeltaError::BaseMismatch {
            want_seq: delta.base_seq,
            want_hash: hex::encode(delta.base_hash),
            have_hash: hex::encode(base_hash),
        });
    }
    let body: DeltaBody = rmp_serde::from_slice(&delta.body).map_err(|e| DeltaError::Malformed(e.to_string()))?;
    let objects = apply_body(&base.objects, body)?;
    let actual = content_hash_objects(&objects);
    if actual != delta.target_hash {
        return Err(DeltaError::ResultMismatch {
            expected: hex::encode(delta.target_hash),
            actual: hex::encode(actual),
        });
    }
    Ok(Snapshot { location: base.location.clone(), taken_at: delta.taken_at, objects })
}

/// What a delta carries, without applying it.
pub fn stats(delta: &Delta) -> Result<DeltaStats, DeltaError> {
    let body: DeltaBody = rmp_serde::from_slice(&delta.body).map_err(|e| DeltaError::Malformed(e.to_string()))?;
    Ok(DeltaStats {
        deleted: body.deleted.len(),
        upserted: body.upserts.len(),
        status_updates: body.statuses.len(),
        perf_updates: body.perf_idx.len(),
        kept: body.last_check.len(),
    })
}

fn build_body<K: Borrow<ObjectKey>, O: Borrow<Object>>(
    base: impl Iterator<Item = (K, O)>,
    current: impl Iterator<Item = (K, O)>,
) -> DeltaBody {
    let mut body = DeltaBody::default();
    let mut kept_idx: u32 = 0;
    let mut last_status_idx: u32 = 0;
    let mut last_perf_idx: u32 = 0;
    let mut cur = current.peekable();
    for (key, before) in base {
        let (key, before) = (key.borrow(), before.borrow());
        // Everything in `current` before this base key is new.
        while let Some((k, o)) = cur.next_if(|(k, _)| k.borrow() < key) {
            body.upserts.push((k.borrow().clone(), o.borrow().clone()));
        }
        let Some((_, after)) = cur.next_if(|(k, _)| k.borrow() == key) else {
            body.deleted.push(key.clone());
            continue;
        };
        let after = after.borrow();
        if before.config != after.config
            || before.acknowledgement != after.acknowledgement
            || before.downtimes != after.downtimes
            || before.comments != after.comments
        {
            body.upserts.push((key.clone(), after.clone()));
            continue;
        }
        let (s, t) = (&before.status, &after.status);
        if !stable_status_eq(s, t) || !same_perf_shape(&s.perfdata, &t.perfdata) {
            body.last_check.push(0);
            body.status_idx.push(kept_idx - last_status_idx);
            last_status_idx = kept_idx;
            body.statuses.push(t.clone());
        } else {
            body.last_check.push(t.last_check.wrapping_sub(s.last_check));
            if s.perfdata != t.perfdata {
                body.perf_idx.push(kept_idx - last_perf_idx);
                last_perf_idx = kept_idx;
                for (m, n) in s.perfdata.metrics.iter().zip(&t.perfdata.metrics) {
                    match (Decimal::parse(&m.value), Decimal::parse(&n.value)) {
                        (Some(a), Some(b)) if a.scale == b.scale && b.mantissa.checked_sub(a.mantissa).is_some() => {
                            body.perf_num.push(b.mantissa - a.mantissa);
                        }
                        _ if m.value == n.value => body.perf_num.push(0),
                        _ => {
                            body.perf_num.push(PERF_TEXT);
                            body.perf_str.push(n.value.to_string());
                        }
                    }
                }
            }
        }
        kept_idx += 1;
    }
    body.upserts.extend(cur.map(|(k, o)| (k.borrow().clone(), o.borrow().clone())));
    body
}

fn apply_body(base: &ObjectMap, body: DeltaBody) -> Result<ObjectMap, DeltaError> {
    let bad = |msg: String| Err(DeltaError::Malformed(msg));
    let mut deleted = std::collections::BTreeSet::new();
    for key in &body.deleted {
        if !base.contains_key(key) || !deleted.insert(key) {
            return bad(format!("deletes {key}, which the base does not hold"));
        }
    }
    let mut objects = base.clone();
    if !deleted.is_empty() {
        objects.retain(|k, _| !deleted.contains(k));
    }
    drop(deleted);
    let mut upserted = std::collections::BTreeSet::new();
    for (key, _) in &body.upserts {
        if !upserted.insert(key) {
            return bad(format!("upserts {key} twice"));
        }
    }
    // The kept objects: base keys that are neither deleted nor upserted, in key order.
    let mut kept_objects: Vec<&mut Object> =
        objects.iter_mut().filter(|(k, _)| !upserted.contains(k)).map(|(_, o)| o).collect();
    drop(upserted);
    let n_kept = kept_objects.len();
    if body.last_check.len() != n_kept {
        return bad(format!("last-check column has {} entries for {n_kept} kept objects", body.last_check.len()));
    }
    for (object, d) in kept_objects.iter_mut().zip(&body.last_check) {
        object.status.last_check = object.status.last_check.wrapping_add(*d);
    }
    if body.status_idx.len() != body.statuses.len() {
        return bad(format!("{} status indexes for {} statuses", body.status_idx.len(), body.statuses.len()));
    }
    let mut idx: u64 = 0;
    for (gap, status) in body.status_idx.iter().zip(body.statuses) {
        idx += u64::from(*gap);
        let Some(object) = usize::try_from(idx).ok().and_then(|i| kept_objects.get_mut(i)) else {
            return bad(format!("status update for kept object {idx}, but only {n_kept} are kept"));
        };
        object.status = status;
    }
    let mut idx: u64 = 0;
    let mut nums = body.perf_num.iter();
    let mut strs = body.perf_str.into_iter();
    for gap in &body.perf_idx {
        idx += u64::from(*gap);
        let Some(object) = usize::try_from(idx).ok().and_then(|i| kept_objects.get_mut(i)) else {
            return bad(format!("perfdata update for kept object {idx}, but only {n_kept} are kept"));
        };
        for metric in &mut object.status.perfdata.metrics {
            let Some(&n) = nums.next() else {
                return bad("perfdata value column ends early".into());
            };
            if n == PERF_TEXT {
                let Some(s) = strs.next() else {
                    return bad("perfdata text column ends early".into());
                };
                metric.value = s.into();
            } else if n != 0 {
                let Some(d) = Decimal::parse(&metric.value) else {
                    return bad(format!("perfdata value delta for non-decimal {:?}", metric.value));
                };
                let Some(mantissa) = d.mantissa.checked_add(n) else {
                    return bad("perfdata value delta overflows".into());
                };
                metric.value = compact_str::format_compact!("{}", Decimal { mantissa, scale: d.scale });
            }
        }
    }
    if nums.next().is_some() || strs.next().is_some() {
        return bad("perfdata value columns have entries left over".into());
    }
    drop(kept_objects);
    objects.extend(body.upserts);
    Ok(objects)
}

/// Status equality ignoring the volatile parts: `last_check` and perfdata values.
fn stable_status_eq(s: &Status, t: &Status) -> bool {
    s.state == t.state
        && s.state_type == t.state_type
        && s.current_attempt == t.current_attempt
        && s.output == t.output
        && s.long_output == t.long_output
        && s.last_state_change == t.last_state_change
        && s.last_hard_state_change == t.last_hard_state_change
        && s.is_flapping == t.is_flapping
        && s.checks_enabled == t.checks_enabled
        && s.problem_notified == t.problem_notified
        && s.notification_number == t.notification_number
}

/// Same metrics (labels, units, thresholds, layout) and unparsed text; only values may differ.
fn same_perf_shape(a: &PerfData, b: &PerfData) -> bool {
    a.unparsed == b.unparsed
        && a.metrics.len() == b.metrics.len()
        && a.metrics.iter().zip(&b.metrics).all(|(m, n)| {
            m.label == n.label
                && m.uom == n.uom
                && m.warn == n.warn
                && m.crit == n.crit
                && m.min == n.min
                && m.max == n.max
                && m.semicolons == n.semicolons
                && m.quoted == n.quoted
        })
}

/// A plain decimal `-?(0|[1-9][0-9]*)(\.[0-9]+)?` of at most 18 digits, which renders back exactly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Decimal {
    mantissa: i64,
    scale: u8,
}

impl Decimal {
    fn parse(s: &str) -> Option<Decimal> {
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int, frac) = match digits.split_once('.') {
            Some((i, f)) if !f.is_empty() => (i, f),
            Some(_) => return None,
            None => (digits, ""),
        };
        if int.is_empty()
            || (int.len() > 1 && int.starts_with('0'))
            || int.len() + frac.len() > 18
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let mut mantissa: i64 = 0;
        for b in int.bytes().chain(frac.bytes()) {
            mantissa = mantissa * 10 + i64::from(b - b'0');
        }
        if neg {
            if mantissa == 0 {
                return None; // "-0" would render as "0"
            }
            mantissa = -mantissa;
        }
        Some(Decimal { mantissa, scale: frac.len() as u8 })
    }
}

impl std::fmt::Display for Decimal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let abs = self.mantissa.unsigned_abs();
        let sign = if self.mantissa < 0 { "-" } else { "" };
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let pow = 10u64.pow(u32::from(self.scale));
        write!(f, "{sign}{}.{:0width$}", abs / pow, abs % pow, width = self.scale as usize)
    }
}

/// `Vec<u8>` as a MessagePack `bin` (not an array of integers, which costs up to twice the bytes).
mod bytes {
    use serde::de::{self, SeqAccess, Visitor};
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct BytesVisitor;
        impl<'de> Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1 << 16));
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_byte_buf(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::perfdata;

    fn object(state: u8, last_check: i64, perf: &str) -> Object {
        let mut o = Object::default();
        o.config.check_command = "check_dummy".into();
        o.status.state = state;
        o.status.output = format!("state {state}").into();
        o.status.last_check = last_check;
        o.status.perfdata = perfdata::parse(perf).0;
        o
    }

    fn site(n: usize, f: impl Fn(usize) -> Object) -> Snapshot {
        Snapshot {
            location: "FRA1".into(),
            taken_at: 1,
            objects: (0..n).map(|i| (ObjectKey::service("h", format!("s{i:04}")), f(i))).collect(),
        }
    }

    #[test]
    fn decimals_render_back_exactly() {
        for s in ["0", "1", "-1", "12.345", "-0.5", "0.00", "100", "999999999999999999"] {
            let d = Decimal::parse(s).unwrap_or_else(|| panic!("{s}"));
            assert_eq!(d.to_string(), s);
        }
        for s in ["", "-", "-0", "01", "1.", ".5", "1e3", "+1", "1.2.3", "9999999999999999999", "U"] {
            assert_eq!(Decimal::parse(s), None, "{s:?}");
        }
    }

    #[test]
    fn new_last_check_alone_changes_nothing_but_the_column() {
        let base = site(100, |i| object(0, 1_000, &format!("t={i}ms")));
        let cur = site(100, |i| object(0, 61_000, &format!("t={i}ms")));
        let delta = make(&base, 7, &cur);
        let st = stats(&delta).expect("decodes");
        assert_eq!(st, DeltaStats { kept: 100, ..DeltaStats::default() });
        assert_eq!(apply(&base, &delta), Ok(cur));
    }

    #[test]
    fn perfdata_value_changes_are_mantissa_deltas() {
        let base = site(3, |i| object(0, 0, &format!("a=1.50s;1;2 b={i} c=U d=7")));
        let cur = site(3, |i| object(0, 0, &format!("a=1.75s;1;2 b={} c=3 d=7.0", i * 3)));
        let delta = make(&base, 1, &cur);
        let body: DeltaBody = rmp_serde::from_slice(&delta.body).expect("decodes");
        assert_eq!(body.perf_idx, vec![0, 1, 1]);
        assert_eq!(&body.perf_num[..4], &[25, 0, PERF_TEXT, PERF_TEXT]);
        assert_eq!(&body.perf_str[..2], &["3".to_string(), "7.0".to_string()]);
        assert!(body.statuses.is_empty() && body.upserts.is_empty());
        assert_eq!(apply(&base, &delta), Ok(cur));
    }

    #[test]
    fn state_changes_carry_a_status_and_config_changes_a_whole_object() {
        let base = site(10, |_| object(0, 0, "x=1"));
        let mut cur = base.clone();
        let keys: Vec<ObjectKey> = cur.objects.keys().cloned().collect();
        cur.objects.get_mut(&keys[3]).expect("exists").status.state = 2;
        cur.objects.get_mut(&keys[5]).expect("exists").config.check_interval = 30;
        cur.objects.remove(&keys[7]);
        cur.objects.insert(ObjectKey::host("new"), object(0, 0, ""));
        let delta = make(&base, 1, &cur);
        let st = stats(&delta).expect("decodes");
        assert_eq!(st, DeltaStats { deleted: 1, upserted: 2, status_updates: 1, perf_updates: 0, kept: 8 });
        assert_eq!(apply(&base, &delta), Ok(cur));
    }

    #[test]
    fn owned_streams_of_entries_make_the_same_delta() {
        let base = site(10, |i| object(0, 0, &format!("x={i}")));
        let mut cur = site(12, |i| object(u8::from(i == 4), 60, &format!("x={}", i * 2)));
        cur.objects.remove(&ObjectKey::service("h", "s0001"));
        cur.objects.insert(ObjectKey::host("a-first"), object(0, 0, ""));
        let target = Target { hash: content_hash(&cur), taken_at: cur.taken_at };
        let owned = |s: &Snapshot| s.objects.clone().into_iter();
        let streamed = make_from_entries(owned(&base), 9, content_hash(&base), owned(&cur), target);
        assert_eq!(streamed, make(&base, 9, &cur));
        assert_eq!(apply(&base, &streamed), Ok(cur));
    }

    #[test]
    fn a_delta_against_another_base_is_refused() {
        let base = site(5, |_| object(0, 0, ""));
        let other = site(5, |_| object(1, 0, ""));
        let delta = make(&base, 4, &other);
        let err = apply(&other, &delta).expect_err("wrong base");
        assert!(matches!(err, DeltaError::BaseMismatch { want_seq: 4, .. }), "{err}");
    }

    #[test]
    fn a_tampered_result_is_refused() {
        let base = site(5, |_| object(0, 0, ""));
        let cur = site(5, |_| object(0, 10, ""));
        let mut delta = make(&base, 1, &cur);
        delta.target_hash[0] ^= 1;
        assert!(matches!(apply(&base, &delta), Err(DeltaError::ResultMismatch { .. })));
    }

    #[test]
    fn inconsistent_bodies_are_malformed() {
        let base = site(3, |_| object(0, 0, "a=1"));
        let hash = content_hash(&base);
        let with = |body: DeltaBody| Delta {
            base_hash: hash,
            body: rmp_serde::to_vec_named(&body).expect("encodes"),
            ..Delta::default()
        };
        let cases = [
            (DeltaBody { last_check: vec![0; 2], ..DeltaBody::default() }, "last-check column"),
            (
                DeltaBody { deleted: vec![ObjectKey::host("nope")], last_check: vec![0; 3], ..DeltaBody::default() },
                "does not hold",
            ),
            (
                DeltaBody {
                    last_check: vec![0; 3],
                    status_idx: vec![5],
                    statuses: vec![Status::default()],
                    ..DeltaBody::default()
                },
                "status update for kept object 5",
            ),
            (DeltaBody { last_check: vec![0; 3], perf_idx: vec![0], ..DeltaBody::default() }, "ends early"),
            (DeltaBody { last_check: vec![0; 3], perf_num: vec![1], ..DeltaBody::default() }, "left over"),
        ];
        for (body, why) in cases {
            let err = apply(&base, &with(body)).expect_err(why);
            assert!(matches!(&err, DeltaError::Malformed(m) if m.contains(why)), "{why}: {err}");
        }
        let garbage = Delta { base_hash: hash, body: vec![0xc1, 0xff], ..Delta::default() };
        assert!(matches!(apply(&base, &garbage), Err(DeltaError::Malformed(_))));
    }
}
