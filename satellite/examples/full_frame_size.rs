//! Size and build time of the full snapshot frame the satellite ships, for generated sites
//! (`outpost_format::sitegen`, seed 1), beside the blob it keeps on disk. Each frame is decoded and checked
//! against the site. Compare with `outpost-format`'s `wire-report`, which prints the same sites' status.dat.gz.
//!
//! `cargo run --release -p outpost-satellite --example full_frame_size -- 10000 100000`

use outpost_format::frame::Payload;
use outpost_format::{Frame, Limits, sitegen};
use outpost_satellite::snapshot_blob::SnapshotBlob;

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("a number of services")).collect();
    for services in if sizes.is_empty() { vec![10_000] } else { sizes } {
        let site = sitegen::site(services, 1);
        let blob = SnapshotBlob::from_snapshot(&site).expect("encode the blob");
        let start = std::time::Instant::now();
        let frame = blob.full_frame("FRA1", 1, 1).expect("build the full frame");
        let took = start.elapsed();
        let decoded = Frame::decode(&frame, &Limits::default()).expect("the frame decodes");
        assert!(decoded.payload == Payload::Full(site), "the frame carries the site");
        println!(
            "{services} services: full frame {} B (MessagePack {} B, blob on disk {} B), built in {took:?}",
            frame.len(),
            blob.raw_len,
            blob.zstd.len()
        );
    }
}
