//! Any bytes into the frame decoder: it must return a frame or a typed error, never panic,
//! and never allocate past its limits (the tight limits here make over-allocation visible as OOM).
#![no_main]

use libfuzzer_sys::fuzz_target;
use outpost_format::frame::{Frame, FrameHeader, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_payload: 1 << 20, max_raw: 8 << 20 };
    let _ = FrameHeader::decode(data, &limits);
    if let Ok(frame) = Frame::decode(data, &limits) {
        // Whatever decodes must encode again.
        let _ = frame.encode();
    }
});
