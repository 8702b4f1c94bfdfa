//! [`ObjectMap`]: a site's objects, kept sorted by key in one contiguous list.
//!
//! A snapshot is decoded, diffed, hashed and encoded far more often than it is edited one object at a time,
//! and every one of those walks it in key order. A sorted list serves them all without a tree: decoding
//! appends entries as they arrive (already in key order on the wire), a diff is a merge over two slices,
//! a lookup is a binary search. Edits in the middle move the tail, so bulk changes go through
//! [`ObjectMap::retain`] and [`Extend`], which are linear whatever their size.
//!
//! On the wire it is a MessagePack map in key order, byte for byte what a `BTreeMap` gives. A map whose keys
//! arrive out of order, or twice, is sorted on decoding, and the last of equal keys wins, as with a
//! `BTreeMap`.

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::model::{Object, ObjectKey};

/// One object and its key.
pub type Entry = (ObjectKey, Object);

/// Most objects one snapshot, or one delta's upserts, may hold: 20 times the largest site Outpost is built for
/// (100,000 services), about 1 GiB decoded. An object can take as little as 4 bytes on the wire and about 512 in
/// memory, so without a count a padded payload could decode to over 100 times its size; a declared count above
/// this is refused before anything is decoded.
pub const MAX_OBJECTS: usize = 2_000_000;

fn too_many<E: serde::de::Error>(n: usize) -> E {
    E::custom(format!("{n} objects, more than the {MAX_OBJECTS} a snapshot may hold"))
}

/// A site's objects in key order, each key once.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ObjectMap {
    entries: Vec<Entry>,
}

impl ObjectMap {
    pub fn new() -> Self {
        ObjectMap::default()
    }

    /// Takes a list of entries in any order; the last of equal keys wins.
    pub fn from_entries(mut entries: Vec<Entry>) -> Self {
        if !is_strictly_sorted(&entries) {
            // Stable, so equal keys stay in arrival order and the last one is the one to keep.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            dedup_keep_last(&mut entries);
        }
        ObjectMap { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn position(&self, key: &ObjectKey) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub fn get(&self, key: &ObjectKey) -> Option<&Object> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &ObjectKey) -> Option<&mut Object> {
        self.position(key).ok().map(|i| &mut self.entries[i].1)
    }

    pub fn contains_key(&self, key: &ObjectKey) -> bool {
        self.position(key).is_ok()
    }

    /// Inserts or replaces one object; returns the object it replaced.
    /// Appending in key order is constant time; an insert in the middle moves the entries after it.
    pub fn insert(&mut self, key: ObjectKey, object: Object) -> Option<Object> {
        if self.entries.last().is_none_or(|(last, _)| *last < key) {
            self.entries.push((key, object));
            return None;
        }
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, object)),
            Err(i) => {
                self.entries.insert(i, (key, object));
                None
            }
        }
    }

    /// Removes one object (moving the entries after it); for many, use [`ObjectMap::retain`].
    pub fn remove(&mut self, key: &ObjectKey) -> Option<Object> {
        self.position(key).ok().map(|i| self.entries.remove(i).1)
    }

    /// Keeps the objects for which `keep` says true, in one pass.
    pub fn retain(&mut self, mut keep: impl FnMut(&ObjectKey, &mut Object) -> bool) {
        self.entries.retain_mut(|(k, o)| keep(k, o));
    }

    pub fn iter(&self) -> Iter<'_> {
        self.entries.iter().map(|(k, o)| (k, o))
    }

    pub fn iter_mut(&mut self) -> impl DoubleEndedIterator<Item = (&ObjectKey, &mut Object)> + ExactSizeIterator {
        self.entries.iter_mut().map(|(k, o)| (&*k, o))
    }

    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &ObjectKey> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl DoubleEndedIterator<Item = &Object> + ExactSizeIterator + Clone {
        self.entries.iter().map(|(_, o)| o)
    }

    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut Object> + ExactSizeIterator {
        self.entries.iter_mut().map(|(_, o)| o)
    }

    /// The objects whose keys are below `key` and those from `key` on: two halves for two threads.
    pub fn split_at_key(&self, key: &ObjectKey) -> (&[Entry], &[Entry]) {
        let at = self.entries.partition_point(|(k, _)| k < key);
        self.entries.split_at(at)
    }
}

/// The iterator of [`ObjectMap::iter`]: entries in key order.
pub type Iter<'a> = std::iter::Map<std::slice::Iter<'a, Entry>, fn(&'a Entry) -> (&'a ObjectKey, &'a Object)>;

fn is_strictly_sorted(entries: &[Entry]) -> bool {
    entries.windows(2).all(|w| w[0].0 < w[1].0)
}

/// Drops all but the last of each run of equal keys in a sorted list.
fn dedup_keep_last(entries: &mut Vec<Entry>) {
    entries.reverse();
    entries.dedup_by(|later, earlier| later.0 == earlier.0);
    entries.reverse();
}

impl fmt::Debug for ObjectMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl std::ops::Index<&ObjectKey> for ObjectMap {
    type Output = Object;
    /// Panics when the key is absent, as `BTreeMap`'s index does; for tests and known keys.
    fn index(&self, key: &ObjectKey) -> &Object {
        self.get(key).expect("no object with this key")
    }
}

impl FromIterator<(ObjectKey, Object)> for ObjectMap {
    fn from_iter<I: IntoIterator<Item = (ObjectKey, Object)>>(iter: I) -> Self {
        ObjectMap::from_entries(iter.into_iter().collect())
    }
}

impl Extend<(ObjectKey, Object)> for ObjectMap {
    /// Inserts or replaces many objects in linear time: they are appended, and only when they do not
    /// already follow in order is the list merged (a stable sort of two sorted runs) and de-duplicated.
    fn extend<I: IntoIterator<Item = (ObjectKey, Object)>>(&mut self, iter: I) {
        let old_len = self.entries.len();
        self.entries.extend(iter);
        let ordered_from = old_len.saturating_sub(1);
        if !is_strictly_sorted(&self.entries[ordered_from..]) {
            let entries = std::mem::take(&mut self.entries);
            *self = ObjectMap::from_entries(entries);
        }
    }
}

impl IntoIterator for ObjectMap {
    type Item = (ObjectKey, Object);
    type IntoIter = std::vec::IntoIter<(ObjectKey, Object)>;
    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a ObjectMap {
    type Item = (&'a ObjectKey, &'a Object);
    type IntoIter = Iter<'a>;
    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl From<std::collections::BTreeMap<ObjectKey, Object>> for ObjectMap {
    fn from(map: std::collections::BTreeMap<ObjectKey, Object>) -> Self {
        ObjectMap { entries: map.into_iter().collect() }
    }
}

impl Serialize for ObjectMap {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for ObjectMap {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MapVisitor;
        impl<'de> Visitor<'de> for MapVisitor {
            type Value = ObjectMap;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a map of objects")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ObjectMap, A::Error> {
                Ok(ObjectMap::from_entries(bounded(map.size_hint(), || map.next_entry())?))
            }
        }
        deserializer.deserialize_map(MapVisitor)
    }
}

/// Collects entries from `next` (a map's or a list's), refusing more than [`MAX_OBJECTS`]: at once when the
/// declared length (`size_hint`) says so, else when one more arrives. The declared length is the sender's claim,
/// so it only caps what is reserved up front.
fn bounded<E: serde::de::Error>(
    size_hint: Option<usize>,
    mut next: impl FnMut() -> Result<Option<Entry>, E>,
) -> Result<Vec<Entry>, E> {
    if let Some(n) = size_hint.filter(|n| *n > MAX_OBJECTS) {
        return Err(too_many(n));
    }
    let mut entries = Vec::with_capacity(size_hint.unwrap_or(0).min(4096));
    while let Some(entry) = next()? {
        if entries.len() == MAX_OBJECTS {
            return Err(too_many(MAX_OBJECTS + 1));
        }
        entries.push(entry);
    }
    Ok(entries)
}

/// `#[serde(deserialize_with)]` for a list of key/object pairs (a delta's upserts), bounded as [`ObjectMap`] is.
pub(crate) fn deserialize_entry_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Entry>, D::Error> {
    struct ListVisitor;
    impl<'de> Visitor<'de> for ListVisitor {
        type Value = Vec<Entry>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of [key, object] pairs")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Entry>, A::Error> {
            bounded(seq.size_hint(), || seq.next_element())
        }
    }
    deserializer.deserialize_seq(ListVisitor)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    fn object(attempt: u32) -> Object {
        let mut o = Object::default();
        o.status.current_attempt = attempt;
        o
    }

    /// Edits as (host number, attempt or None to remove).
    fn edits() -> impl Strategy<Value = Vec<(u8, Option<u32>)>> {
        prop::collection::vec((0u8..40, prop::option::of(0u32..5)), 0..80)
    }

    proptest! {
        /// Every way of editing gives what a `BTreeMap` gives, and the same bytes on the wire.
        #[test]
        fn behaves_as_a_btree_map(first in edits(), second in edits()) {
            let key = |h: u8| ObjectKey::host(format!("h{h:02}"));
            let mut ours = ObjectMap::new();
            let mut model = BTreeMap::new();
            for (h, edit) in &first {
                match edit {
                    Some(a) => prop_assert_eq!(ours.insert(key(*h), object(*a)), model.insert(key(*h), object(*a))),
                    None => prop_assert_eq!(ours.remove(&key(*h)), model.remove(&key(*h))),
                }
            }
            let bulk: Vec<_> = second.iter().filter_map(|(h, a)| a.map(|a| (key(*h), object(a)))).collect();
            ours.extend(bulk.clone());
            model.extend(bulk.clone());
            ours.retain(|k, _| !k.host.ends_with('3'));
            model.retain(|k, _| !k.host.ends_with('3'));
            prop_assert_eq!(ours.iter().collect::<Vec<_>>(), model.iter().collect::<Vec<_>>());
            prop_assert_eq!(rmp_serde::to_vec(&ours).expect("encode"), rmp_serde::to_vec(&model).expect("encode"));
            for h in 0..40 {
                prop_assert_eq!(ours.get(&key(h)), model.get(&key(h)));
            }
            let collected: ObjectMap = bulk.iter().cloned().collect();
            let model_collected: BTreeMap<_, _> = bulk.into_iter().collect();
            prop_assert_eq!(collected, ObjectMap::from(model_collected));
        }
    }

    /// A declared count over [`MAX_OBJECTS`] is refused before any object is decoded, as a snapshot's map and as
    /// a delta's list of upserts.
    #[test]
    fn more_than_max_objects_are_refused_by_the_declared_count() {
        let over = u32::try_from(MAX_OBJECTS + 1).expect("fits");
        let mut map = vec![0xdf];
        map.extend(over.to_be_bytes());
        let err = rmp_serde::from_slice::<ObjectMap>(&map).expect_err("refused");
        assert!(err.to_string().contains("2000001 objects, more than the 2000000"), "{err}");
        let mut list = vec![0xdd];
        list.extend(over.to_be_bytes());
        let mut de = rmp_serde::Deserializer::from_read_ref(&list);
        let err = deserialize_entry_list(&mut de).expect_err("refused");
        assert!(err.to_string().contains("more than the 2000000"), "{err}");
        // At the limit the count is accepted, and the missing objects are what fails.
        let mut list = vec![0xdd];
        list.extend(u32::try_from(MAX_OBJECTS).expect("fits").to_be_bytes());
        let mut de = rmp_serde::Deserializer::from_read_ref(&list);
        let err = deserialize_entry_list(&mut de).expect_err("no objects follow");
        assert!(!err.to_string().contains("more than"), "{err}");
    }

    #[test]
    fn decoding_sorts_and_keeps_the_last_of_equal_keys() {
        let entries = vec![
            (ObjectKey::host("b"), object(1)),
            (ObjectKey::host("a"), object(2)),
            (ObjectKey::host("b"), object(3)),
        ];
        struct Pairs<'a>(&'a [(ObjectKey, Object)]);
        impl Serialize for Pairs<'_> {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_map(self.0.iter().map(|(k, o)| (k, o)))
            }
        }
        let bytes = rmp_serde::to_vec(&Pairs(&entries)).expect("encode");
        let ours: ObjectMap = rmp_serde::from_slice(&bytes).expect("decode");
        let model: BTreeMap<ObjectKey, Object> = rmp_serde::from_slice(&bytes).expect("decode");
        assert_eq!(ours, ObjectMap::from(model));
        assert_eq!(ours.get(&ObjectKey::host("b")).map(|o| o.status.current_attempt), Some(3));
    }
}
