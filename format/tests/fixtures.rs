//! Decodes every sample frame under `fixtures/frames/` and checks the outcome `expected.txt` names,
//! and checks that the small site fixture still decodes.

use std::path::Path;

use outpost_format::Snapshot;
use outpost_format::frame::{Frame, Limits};

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

#[test]
fn every_sample_frame_decodes_to_its_expected_outcome() {
    let dir = fixtures().join("frames");
    let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("fixtures/frames/expected.txt");
    let mut n = 0;
    for line in expected.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let (name, outcome) = line.split_once(' ').expect("`file outcome` per line");
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = match Frame::decode(&bytes, &Limits::default()) {
            Ok(frame) => format!("ok {:?}", frame.kind()),
            Err(e) => {
                let dbg = format!("{e:?}");
                let variant = dbg.split(|c: char| !c.is_alphanumeric()).next().unwrap_or("").to_string();
                format!("err {variant}")
            }
        };
        assert_eq!(got, outcome, "{name}");
        n += 1;
    }
    assert!(n >= 20, "only {n} sample frames listed");
}

#[test]
fn small_site_fixture_decodes() {
    let bytes = std::fs::read(fixtures().join("snapshots/small.msgpack")).expect("fixtures/snapshots/small.msgpack");
    let site: Snapshot = rmp_serde::from_slice(&bytes).expect("decodes");
    assert_eq!(site, outpost_format::sitegen::site(20, 1));
}
