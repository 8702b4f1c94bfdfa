//! Forward-compatible decoding for the model structs that dominate snapshots.
//!
//! Snapshots go on the wire as *compact* MessagePack: a struct is an array of its fields in declaration
//! order, which decodes about twice as fast and zstd-compresses ~13% smaller than named maps (measured in
//! `docs/benchmarks.md`). serde's derived decoders refuse arrays longer than the struct, so these structs
//! decode through [`forward_compatible!`] instead, which implements the rule in `docs/format.md`:
//!
//! - extra trailing elements (fields a newer writer appended) are skipped;
//! - missing trailing elements (an older writer) take the field's `Default`;
//! - the named form (a map, e.g. JSON or `to_vec_named`) is accepted too: unknown keys are skipped,
//!   missing keys take the field's `Default`.
//!
//! So new fields are only ever appended at the end of a struct, and must have a meaningful default.

/// Implements `Deserialize` for a struct from an array or a map, per the module's forward-compat rule.
/// List every field, in declaration order; the first `required` fields must be present in either form
/// (so that, say, an acknowledgement's map is not mistaken for an empty snapshot).
macro_rules! forward_compatible {
    ($ty:ident { $($field:ident),+ $(,)? }) => {
        forward_compatible!($ty { $($field),+ } required 0);
    };
    ($ty:ident { $($field:ident),+ $(,)? } required $required:literal) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $ty;
                    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        f.write_str(concat!("a ", stringify!($ty), " as an array or a map"))
                    }
                    #[allow(unused_comparisons)] // `required` may be 0
                    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<$ty, A::Error> {
                        let mut ended = false;
                        let mut idx: usize = 0;
                        $(
                            let $field = if ended {
                                Default::default()
                            } else {
                                match seq.next_element()? {
                                    Some(v) => v,
                                    None if idx < $required => {
                                        return Err(serde::de::Error::invalid_length(idx, &self));
                                    }
                                    None => {
                                        ended = true;
                                        Default::default()
                                    }
                                }
                            };
                            idx += 1;
                        )+
                        let _ = idx;
                        if !ended {
                            // Fields appended by a newer writer.
                            while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                        }
                        Ok($ty { $($field),+ })
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        $( let mut $field = None; )+
                        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                            match key.as_ref() {
                                $( stringify!($field) => $field = Some(map.next_value()?), )+
                                _ => {
                                    map.next_value::<serde::de::IgnoredAny>()?;
                                }
                            }
                        }
                        let names: &[&'static str] = &[$(stringify!($field)),+];
                        let present = [$($field.is_some()),+];
                        if let Some(i) = (0..$required).find(|&i| !present[i]) {
                            return Err(serde::de::Error::missing_field(names[i]));
                        }
                        Ok($ty { $($field: $field.unwrap_or_default()),+ })
                    }
                }
                deserializer.deserialize_struct(stringify!($ty), &[$(stringify!($field)),+], V)
            }
        }
    };
}

pub(crate) use forward_compatible;

#[cfg(test)]
mod tests {
    use crate::model::{Comment, Object, Status};

    #[test]
    fn appended_fields_from_a_newer_writer_are_skipped() {
        // A newer Comment with one more field, and a newer Status nested in an Object.
        let newer = rmp_serde::to_vec(&(7u64, "ann", "text", 5i64, "a field from the future")).expect("encode");
        let c: Comment = rmp_serde::from_slice(&newer).expect("decode");
        assert_eq!(c, Comment { id: 7, author: "ann".into(), text: "text".into(), time: 5 });
    }

    #[test]
    fn missing_trailing_fields_from_an_older_writer_default() {
        let older = rmp_serde::to_vec(&(2u8,)).expect("encode");
        let s: Status = rmp_serde::from_slice(&older).expect("decode");
        assert_eq!(s, Status { state: 2, ..Status::default() });
    }

    #[test]
    fn a_snapshot_needs_its_required_fields() {
        use crate::model::Snapshot;
        let ack_like = rmp_serde::to_vec_named(&std::collections::BTreeMap::from([("acks", 1)])).expect("encode");
        assert!(rmp_serde::from_slice::<Snapshot>(&ack_like).is_err());
        let short = rmp_serde::to_vec(&("FRA1", 5i64)).expect("encode");
        assert!(rmp_serde::from_slice::<Snapshot>(&short).is_err());
    }

    #[test]
    fn named_form_skips_unknown_keys_and_defaults_missing_ones() {
        let json = r#"{"status": {"state": 1, "output": "warn", "future": [1, 2]}, "also_future": null}"#;
        let o: Object = serde_json::from_str(json).expect("decode");
        assert_eq!(o.status.state, 1);
        assert_eq!(o.status.output, "warn");
        let named = rmp_serde::to_vec_named(&o).expect("encode");
        assert_eq!(rmp_serde::from_slice::<Object>(&named).expect("decode"), o);
        let compact = rmp_serde::to_vec(&o).expect("encode");
        assert_eq!(rmp_serde::from_slice::<Object>(&compact).expect("decode"), o);
    }
}
