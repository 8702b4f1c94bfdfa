//! The committed fuzz corpora and crash reproducers (`fuzz/corpus/`, `fuzz/regressions/`) of the format
//! crate's targets, replayed through the same checks the fuzz targets run (`outpost_format::fuzzing`).

use outpost_format::fuzzing;

#[test]
fn frame_decode_corpus() {
    fuzzing::replay_corpus("frame_decode", fuzzing::frame_decode);
}

#[test]
fn snapshot_payload_corpus() {
    fuzzing::replay_corpus("snapshot_payload", fuzzing::snapshot_payload);
}

#[test]
fn delta_apply_corpus() {
    fuzzing::replay_corpus("delta_apply", fuzzing::delta_apply);
}

#[test]
fn perfdata_corpus() {
    fuzzing::replay_corpus("perfdata", fuzzing::perfdata);
}

#[test]
fn plugin_output_corpus() {
    fuzzing::replay_corpus("plugin_output", fuzzing::plugin_output);
}
