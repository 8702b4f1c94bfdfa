//! The committed fuzz corpora and crash reproducers (`fuzz/corpus/`, `fuzz/regressions/`) of the NOC's
//! targets, replayed through the same checks the fuzz targets run (`outpost_noc::fuzzing`).

use outpost_format::fuzzing::replay_corpus;
use outpost_noc::fuzzing::{IngestHarness, config_text};

#[test]
fn noc_config_corpus() {
    replay_corpus("noc_config", config_text);
}

#[test]
fn ingest_http_corpus() {
    let harness = IngestHarness::new();
    replay_corpus("ingest_http", |request| {
        harness.request(request);
    });
}
