//! Writes the sample frames under `fixtures/frames/` and `expected.txt`, which names the outcome of each.
//!
//! `cargo run -p outpost-format --example gen-frames` (from the repository root)
//! Outcomes are `ok <kind>` or `err <FrameError variant>`; `format/tests/fixtures.rs` checks them all.

use std::fmt::Write as _;

use outpost_format::event::{Event, EventKind, Lifecycle};
use outpost_format::frame::{Ack, Frame, Payload, StreamAck};
use outpost_format::model::Stream;
use outpost_format::{delta, sitegen};
use sha2::{Digest, Sha256};

fn reseal(buf: &mut [u8]) {
    let mut h = Sha256::new();
    h.update(&buf[..36]);
    h.update(&buf[68..]);
    let sum: [u8; 32] = h.finalize().into();
    buf[36..68].copy_from_slice(&sum);
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::path::Path::new("fixtures/frames");
    std::fs::create_dir_all(dir)?;
    let base = sitegen::site(20, 1);
    let cur = sitegen::change_states(&sitegen::recheck(&base, 60_000), 0.2, 1);
    let frame = |payload| Frame { location: "FRA1".into(), epoch: 1, seq: 1, payload };
    let full = frame(Payload::Full(base.clone())).encode()?;
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("full.bin", full.clone(), "ok FullSnapshot"),
        ("delta.bin", frame(Payload::Delta(delta::make(&base, 1, &cur))).encode()?, "ok DeltaSnapshot"),
        (
            "events.bin",
            frame(Payload::Events(vec![Event { seq: 1, time: 1, kind: EventKind::Lifecycle(Lifecycle::Stopping) }]))
                .encode()?,
            "ok EventBatch",
        ),
        (
            "ack.bin",
            Frame {
                location: String::new(),
                epoch: 1,
                seq: 1,
                payload: Payload::Ack(Ack {
                    acks: vec![StreamAck { stream: Stream::Snapshots, epoch: 1, seq: 1 }],
                    ..Ack::default()
                }),
            }
            .encode()?,
            "ok Ack",
        ),
        ("truncated-header.bin", full[..40].to_vec(), "err Truncated"),
        ("truncated-payload.bin", full[..full.len() - 10].to_vec(), "err Truncated"),
    ];
    let mut tweak = |name, f: &dyn Fn(&mut Vec<u8>), reseal_it: bool, outcome| {
        let mut b = full.clone();
        f(&mut b);
        if reseal_it {
            reseal(&mut b);
        }
        cases.push((name, b, outcome));
    };
    tweak("bad-magic.bin", &|b| b[0] = b'X', false, "err BadMagic");
    tweak("bad-version.bin", &|b| b[4] = 9, false, "err UnsupportedVersion");
    tweak("unknown-kind.bin", &|b| b[5] = 77, false, "err UnknownKind");
    tweak("reserved-flag.bin", &|b| b[6] |= 0x40, false, "err ReservedBits");
    tweak("reserved-byte.bin", &|b| b[19] = 1, false, "err ReservedBits");
    tweak("unknown-stream.bin", &|b| b[16] = 5, false, "err UnknownStream");
    tweak("wrong-stream.bin", &|b| b[16] = 1, false, "err StreamMismatch");
    tweak("location-too-long.bin", &|b| b[7] = 200, false, "err LocationTooLong");
    tweak("bad-location.bin", &|b| b[68] = b'\n', true, "err BadLocation");
    tweak(
        "huge-payload-len.bin",
        &|b| b[28..32].copy_from_slice(&u32::MAX.to_be_bytes()),
        false,
        "err PayloadTooLarge",
    );
    tweak("huge-raw-len.bin", &|b| b[32..36].copy_from_slice(&u32::MAX.to_be_bytes()), false, "err RawTooLarge");
    tweak("bad-checksum.bin", &|b| b[40] ^= 1, false, "err Checksum");
    tweak("flipped-payload-bit.bin", &|b| *b.last_mut().expect("non-empty") ^= 1, false, "err Checksum");
    tweak("raw-len-too-small.bin", &|b| b[32..36].copy_from_slice(&10u32.to_be_bytes()), true, "err RawLenMismatch");
    tweak("trailing-bytes.bin", &|b| b.extend_from_slice(b"\0\0"), false, "err Trailing");
    // A zstd bomb: 16 MiB of zeros declared as 1 KiB.
    let bomb = zstd::bulk::compress(&vec![0u8; 16 << 20], 19)?;
    let mut b = full[..68 + 4].to_vec();
    b[28..32].copy_from_slice(&(bomb.len() as u32).to_be_bytes());
    b[32..36].copy_from_slice(&1024u32.to_be_bytes());
    b.extend_from_slice(&bomb);
    reseal(&mut b);
    cases.push(("zstd-bomb.bin", b, "err RawLenMismatch"));
    // Not zstd at all.
    let junk = b"this is not a zstd frame";
    let mut b = full[..68 + 4].to_vec();
    b[28..32].copy_from_slice(&(junk.len() as u32).to_be_bytes());
    b.extend_from_slice(junk);
    reseal(&mut b);
    cases.push(("not-zstd.bin", b, "err Decompress"));
    // Valid zstd of MessagePack that is not a snapshot.
    let raw = rmp_serde::to_vec(&("not", "a", "snapshot"))?;
    let z = zstd::bulk::compress(&raw, 3)?;
    let mut b = full[..68 + 4].to_vec();
    b[28..32].copy_from_slice(&(z.len() as u32).to_be_bytes());
    b[32..36].copy_from_slice(&(raw.len() as u32).to_be_bytes());
    b.extend_from_slice(&z);
    reseal(&mut b);
    cases.push(("wrong-payload.bin", b, "err Payload"));

    let mut expected =
        String::from("# file outcome — checked by format/tests/fixtures.rs; regenerate with the gen-frames example\n");
    for (name, bytes, outcome) in &cases {
        std::fs::write(dir.join(name), bytes)?;
        writeln!(expected, "{name} {outcome}")?;
    }
    std::fs::write(dir.join("expected.txt"), expected)?;
    println!("wrote {} frames to {}", cases.len(), dir.display());
    Ok(())
}
