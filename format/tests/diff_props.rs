//! Property tests over arbitrary object sets: `apply(a, make(a, b)) == b`, and `ops` consistency
//! (applying `diff(a, b)` to `a` gives `b`; an update names exactly the fields that differ).

use outpost_format::frame::{Frame, Limits, Payload};
use outpost_format::model::{Acknowledgement, Comment, Object, ObjectKey, Snapshot, StateType};
use outpost_format::{delta, ops, perfdata};
use proptest::prelude::*;

/// Small alphabets so that a and b share keys and values often.
fn object() -> impl Strategy<Value = Object> {
    (
        (0u8..4, any::<bool>(), 0u32..4, "(OK|WARN|CRIT)( - [a-z]{0,4})?", "(|line2)"),
        "(|t=[0-9]{1,2}(\\.[0-9])?s;1;2|a=1 b=[0-9]|x=U|junk|v=1\\.50 w=-0\\.5)",
        (0i64..4, 0i64..3, any::<bool>()),
        ("(check_a|check_b)", 0u32..3, prop::collection::btree_map("[AB]", "[xy]", 0..2)),
        (proptest::option::of(("[ab]", any::<bool>())), prop::collection::vec((0u64..3, "[a-c]"), 0..2)),
    )
        .prop_map(|(st, perf, times, cfg, notes)| {
            let mut o = Object::default();
            o.status.state = st.0;
            o.status.state_type = if st.1 { StateType::Hard } else { StateType::Soft };
            o.status.current_attempt = st.2;
            o.status.output = st.3.into();
            o.status.long_output = st.4.into();
            o.status.perfdata = perfdata::parse(&perf).0;
            o.status.last_check = times.0 * 60_000;
            o.status.last_state_change = times.1;
            o.status.is_flapping = times.2;
            o.config.check_command = cfg.0.into();
            o.config.check_interval = cfg.1;
            o.config.custom_vars = cfg.2.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
            o.acknowledgement =
                notes.0.map(|(author, sticky)| Acknowledgement { author, comment: String::new(), sticky, time: 1 });
            o.comments =
                notes.1.into_iter().map(|(id, text)| Comment { id, author: "op".into(), text, time: 2 }).collect();
            o
        })
}

fn key() -> impl Strategy<Value = ObjectKey> {
    ("h[0-3]", proptest::option::of("s[0-4]"))
        .prop_map(|(host, service)| ObjectKey { host: host.into(), service: service.map(Into::into) })
}

fn snapshot() -> impl Strategy<Value = Snapshot> {
    (prop::collection::btree_map(key(), object(), 0..12), 0i64..10).prop_map(|(objects, taken_at)| Snapshot {
        location: "FRA1".into(),
        taken_at,
        objects: objects.into(),
    })
}

/// A pair where b is mostly a with some changes, so the delta's columns get exercised, plus unrelated pairs.
fn pair() -> impl Strategy<Value = (Snapshot, Snapshot)> {
    prop_oneof![
        (snapshot(), snapshot()),
        (snapshot(), prop::collection::vec((any::<prop::sample::Index>(), object()), 0..4), 1i64..5).prop_map(
            |(a, changes, step)| {
                let mut b = a.clone();
                b.taken_at += 1;
                for o in b.objects.values_mut() {
                    o.status.last_check += step * 60_000;
                }
                let keys: Vec<ObjectKey> = b.objects.keys().cloned().collect();
                for (idx, mut new) in changes {
                    if keys.is_empty() {
                        break;
                    }
                    let k = &keys[idx.index(keys.len())];
                    let old = &b.objects[k];
                    // Keep config and annotations half the time, so status-only changes happen.
                    if idx.index(2) == 0 {
                        new.config = old.config.clone();
                        new.acknowledgement = old.acknowledgement.clone();
                        new.comments = old.comments.clone();
                    }
                    b.objects.insert(k.clone(), new);
                }
                (a, b)
            }
        ),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn applying_a_delta_gives_the_target((a, b) in pair()) {
        let d = delta::make(&a, 3, &b);
        let got = delta::apply(&a, &d);
        prop_assert_eq!(got, Ok(b.clone()));
        // Through the wire encoding too.
        let bytes = rmp_serde::to_vec_named(&d).expect("encode");
        let back: delta::Delta = rmp_serde::from_slice(&bytes).expect("decode");
        prop_assert_eq!(back, d);
    }

    #[test]
    fn a_delta_is_refused_on_any_other_base((a, b) in pair(), c in snapshot()) {
        prop_assume!(c.objects != a.objects);
        let d = delta::make(&a, 3, &b);
        let refused = matches!(delta::apply(&c, &d), Err(delta::DeltaError::BaseMismatch { want_seq: 3, .. }));
        prop_assert!(refused);
    }

    #[test]
    fn full_snapshot_frames_round_trip(a in snapshot()) {
        // Decoding takes the hand-written compact decoder's path (rmp-serde is its fallback).
        let frame = Frame { location: "FRA1".into(), epoch: 1, seq: 1, payload: Payload::Full(a) };
        let bytes = frame.encode().expect("encode");
        prop_assert_eq!(Frame::decode(&bytes, &Limits::default()).expect("decode"), frame);
    }

    #[test]
    fn diff_ops_turn_a_into_b_and_name_the_changed_fields((a, b) in pair()) {
        let ops = ops::diff(&a, &b);
        let mut objects = a.objects.clone();
        ops::apply_ops(&mut objects, &ops);
        prop_assert_eq!(&objects, &b.objects);
        let mut last: Option<&ObjectKey> = None;
        for op in &ops {
            prop_assert!(last < Some(op.key()), "ops are in key order");
            last = Some(op.key());
            match op {
                ops::Op::Create { key, .. } => prop_assert!(!a.objects.contains_key(key)),
                ops::Op::Delete { key } => prop_assert!(!b.objects.contains_key(key)),
                ops::Op::Update { key, object, changed } => {
                    let before = &a.objects[*key];
                    prop_assert!(before != *object);
                    prop_assert_eq!(*changed, ops::changed_fields(before, object));
                    prop_assert!(!changed.is_empty());
                    prop_assert_eq!(
                        changed.contains("status.last_check"),
                        before.status.last_check != object.status.last_check
                    );
                    prop_assert_eq!(changed.contains("status.state"), before.status.state != object.status.state);
                    prop_assert_eq!(changed.contains("comments"), before.comments != object.comments);
                }
            }
        }
        let unchanged = b.objects.iter().filter(|(k, o)| a.objects.get(k) == Some(*o)).count();
        prop_assert_eq!(ops.len() + unchanged, a.objects.keys().chain(b.objects.keys()).collect::<std::collections::BTreeSet<_>>().len());
    }
}
