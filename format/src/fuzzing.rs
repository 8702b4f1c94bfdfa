//! Entry points shared by the cargo-fuzz targets in `fuzz/` and the corpus regression tests in
//! `format/tests/fuzz_corpus.rs`, so the fuzzer and CI check the same invariants with the same code.
//!
//! Each takes arbitrary bytes, must not panic on any of them, and panics itself (with a message naming
//! the broken invariant) when the code under test misbehaves. Not an API: hidden from the docs.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::delta::{self, ContentHash, Delta, DeltaError};
use crate::frame::{Frame, FrameHeader, Limits};
use crate::{Snapshot, perfdata, plugin_output, sitegen};

/// Tight limits, so that an allocation past them shows up as an out-of-memory crash in the fuzzer.
const LIMITS: Limits = Limits { max_payload: 1 << 20, max_raw: 8 << 20 };

/// Any bytes into the frame decoder: a frame or a typed error; what decodes encodes and decodes back equal.
pub fn frame_decode(data: &[u8]) {
    let header = FrameHeader::decode(data, &LIMITS);
    let Ok(frame) = Frame::decode(data, &LIMITS) else { return };
    let header = header.expect("a frame that decodes has a header that decodes");
    assert_eq!((&header.location, header.epoch, header.seq), (&frame.location, frame.epoch, frame.seq));
    assert_eq!(header.kind, frame.kind());
    let bytes = frame.encode().expect("a decoded frame encodes");
    let again = Frame::decode(&bytes, &Limits::default()).expect("a re-encoded frame decodes");
    assert_eq!(again, frame, "frame changed in an encode/decode round trip");
}

/// Objects in the fuzzed base: enough for deletes, upserts and status/perfdata columns, small enough to be fast.
const DELTA_MAX_SERVICES: u8 = 24;

/// The bytes [`delta_apply`] reads: the base is `sitegen::site(services, seed)`, the rest is a delta body.
/// Used to write seed inputs from real deltas.
pub fn delta_input(services: u8, seed: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![services, seed];
    out.extend_from_slice(body);
    out
}

/// The base snapshot for [`delta_apply`] input starting with `services`, `seed`.
pub fn delta_base(services: u8, seed: u8) -> Snapshot {
    sitegen::site(usize::from(services % (DELTA_MAX_SERVICES + 1)), u64::from(seed))
}

/// [`delta_base`] and its hash, built once per thread and input prefix: generating and hashing the base
/// would otherwise cost more than what is under test.
fn cached_base(services: u8, seed: u8) -> (Snapshot, ContentHash) {
    thread_local! {
        static BASES: RefCell<HashMap<(u8, u8), (Snapshot, ContentHash)>> = RefCell::new(HashMap::new());
    }
    BASES.with_borrow_mut(|bases| {
        bases
            .entry((services % (DELTA_MAX_SERVICES + 1), seed))
            .or_insert_with(|| {
                let base = delta_base(services, seed);
                let hash = delta::content_hash(&base);
                (base, hash)
            })
            .clone()
    })
}

/// A delta body (arbitrary bytes) applied to a generated base. It must be refused with a typed error or apply;
/// anything that applies must hash to what the result is, and the delta `make` builds for that result must
/// apply to the same result (make and apply agree on arbitrary targets, not only generated ones).
pub fn delta_apply(data: &[u8]) {
    let [services, seed, body @ ..] = data else { return };
    let (base, base_hash) = cached_base(*services, *seed);
    let mut delta = Delta { base_seq: 1, base_hash, target_hash: [0; 32], taken_at: 7, body: body.to_vec() };
    let _ = delta::stats(&delta);
    let actual: ContentHash = match delta::apply_with_base_hash(&base, base_hash, &delta) {
        Err(DeltaError::ResultMismatch { actual, .. }) => {
            let bytes = hex::decode(&actual).expect("ResultMismatch names the actual hash in hex");
            bytes.try_into().expect("a content hash is 32 bytes")
        }
        Err(DeltaError::Malformed(_)) => return,
        Err(e @ DeltaError::BaseMismatch { .. }) => panic!("base hash was set to the base's own hash: {e}"),
        Ok(_) => return, // only if the result hashes to zero
    };
    delta.target_hash = actual;
    let result = delta::apply_with_base_hash(&base, base_hash, &delta)
        .unwrap_or_else(|e| panic!("the same delta with the hash it produced was refused: {e}"));
    assert_eq!(delta::content_hash(&result), actual, "result does not hash to the hash apply verified");
    assert_eq!(result.taken_at, delta.taken_at);
    let remade = delta::make_with_base_hash(&base, 1, base_hash, &result);
    assert_eq!(remade.target_hash, actual);
    let again = delta::apply_with_base_hash(&base, base_hash, &remade)
        .unwrap_or_else(|e| panic!("make's delta to a state apply produced was refused: {e}"));
    assert_eq!(again, result, "make/apply round trip changed the snapshot");
}

/// A snapshot payload (uncompressed MessagePack): the hand-written compact decoder and rmp-serde agree on it,
/// both on the whole payload and on its bytes read as `data[0] % 16` map entries.
pub fn snapshot_payload(data: &[u8]) {
    let [count, entries @ ..] = data else { return };
    crate::snapshot_decode::check_decoders_agree(entries, u64::from(count % 16));
    crate::snapshot_decode::check_decoders_agree(data, 0);
}

/// Perfdata text (lossy UTF-8): parsing never panics; what parses with no warning renders back exactly when
/// its items are separated by single spaces; rendering is a fixed point; the wire form round-trips.
pub fn perfdata(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (parsed, warnings) = perfdata::parse(&text);
    let rendered = parsed.to_string();
    if warnings.is_empty() && is_normalised(&text) {
        assert_eq!(rendered, text, "well-formed perfdata did not render back byte for byte");
    }
    let (again, _) = perfdata::parse(&rendered);
    assert_eq!(again.metrics.len(), parsed.metrics.len(), "re-parsing the rendering lost or gained metrics");
    assert_eq!(again.to_string(), rendered, "rendering is not a fixed point");
    for m in &parsed.metrics {
        let _ = (m.value_f64(), m.warn_range(), m.crit_range());
    }
    let bytes = rmp_serde::to_vec(&parsed).expect("perfdata encodes");
    let back: perfdata::PerfData = rmp_serde::from_slice(&bytes).expect("encoded perfdata decodes");
    assert_eq!(back, parsed, "perfdata changed in a wire round trip");
}

/// No leading, trailing or repeated whitespace, and no whitespace but the plain space (which the renderer
/// normalises to): the form in which parse-then-render must give the input back.
fn is_normalised(text: &str) -> bool {
    !text.starts_with(' ')
        && !text.ends_with(' ')
        && !text.contains("  ")
        && !text.bytes().any(|b| b.is_ascii_whitespace() && b != b' ')
}

/// Plugin stdout: parsing never panics; the first line never leaks into the long output or vice versa, and
/// the perfdata is the perfdata parser's reading of the perfdata text.
pub fn plugin_output(data: &[u8]) {
    let out = plugin_output::parse(data);
    assert!(!out.output.contains('\n'), "output spans lines: {:?}", out.output);
    assert!(!out.output.contains('|'), "output keeps the perfdata separator: {:?}", out.output);
    assert!(!out.long_output.contains('|'), "long output keeps the perfdata separator");
    let (perf, warnings) = perfdata::parse(&out.perfdata_text);
    assert_eq!(perf, out.perfdata);
    assert_eq!(warnings, out.warnings);
}

/// Feeds every committed input of a fuzz target (`fuzz/corpus/<target>/` and `fuzz/regressions/<target>/`)
/// to `check`, and panics naming every input that panicked. What the corpus tests in CI call, so that
/// interesting inputs keep being checked without the fuzzer. Test support: the only file access in this crate.
pub fn replay_corpus(target: &str, mut check: impl FnMut(&[u8])) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut inputs = Vec::new();
    for dir in ["corpus", "regressions"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else { continue };
        for entry in entries {
            let path = entry.expect("readable corpus directory").path();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            inputs.push((path, bytes));
        }
    }
    inputs.sort();
    assert!(inputs.len() >= 10, "only {} committed inputs for fuzz target {target}", inputs.len());
    let failed: Vec<String> = inputs
        .iter()
        .filter(|(_, bytes)| std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(bytes))).is_err())
        .map(|(path, _)| path.display().to_string())
        .collect();
    assert!(failed.is_empty(), "{target}: {} of {} inputs panicked: {failed:#?}", failed.len(), inputs.len());
}
