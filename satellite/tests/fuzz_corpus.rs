//! The committed fuzz corpora and crash reproducers (`fuzz/corpus/`, `fuzz/regressions/`) of the satellite's
//! targets, replayed through the same checks the fuzz targets run (`outpost_satellite::fuzzing`).

use outpost_format::fuzzing::replay_corpus;
use outpost_satellite::fuzzing::{TrapHarness, config_text};

#[test]
fn satellite_config_corpus() {
    replay_corpus("satellite_config", config_text);
}

#[test]
fn snmp_datagram_corpus() {
    let mut harness = TrapHarness::new();
    replay_corpus("snmp_datagram", |datagram| harness.datagram(datagram));
}
