//! Prints the wire sizes recorded in `docs/benchmarks.md` ("Wire format"), and rough single-run timings.
//!
//! `cargo run --release -p outpost-format --example wire-report -- 10000 100000`
//!
//! Sizes are deterministic (seeded sites); timings here are one run each, the criterion benches are the
//! measured numbers. The status.dat baseline is gzipped with the system's `gzip -6`.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Instant;

use outpost_format::frame::{Frame, Limits, Payload};
use outpost_format::{delta, ops, sitegen};

fn gzip6_len(data: &[u8]) -> std::io::Result<usize> {
    let mut child = Command::new("gzip").arg("-6").stdin(Stdio::piped()).stdout(Stdio::piped()).spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| std::io::Error::other("no stdin"))?;
    let data = data.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| std::io::Error::other("writer panicked"))??;
    Ok(out.stdout.len())
}

/// A window that covers the whole base encoding (about 200 B per object), capped at zstd's 2^27 default.
fn window_log(n_obj: usize) -> u32 {
    ((n_obj * 256).next_power_of_two().trailing_zeros()).clamp(20, 27)
}

fn patch_from(base: &[u8], current: &[u8]) -> std::io::Result<usize> {
    let n_obj = base.len() / 200;
    let mut enc = zstd::stream::write::Encoder::with_ref_prefix(Vec::new(), 3, base)?;
    enc.window_log(window_log(n_obj))?;
    enc.long_distance_matching(true)?;
    enc.write_all(current)?;
    Ok(enc.finish()?.len())
}

fn frame(payload: Payload, seq: u64) -> Frame {
    Frame { location: "FRA1".into(), epoch: 1, seq, payload }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let sizes = if sizes.is_empty() { vec![10_000] } else { sizes };
    for n in sizes {
        let base = sitegen::site(n, 1);
        let n_obj = base.objects.len();
        let dat = sitegen::status_dat(&base);
        let dat_gz = gzip6_len(dat.as_bytes())?;
        println!("== {n} services ({n_obj} objects)");
        println!("status.dat: {} bytes, gzip -6: {dat_gz} bytes", dat.len());

        let t = Instant::now();
        let full = frame(Payload::Full(base.clone()), 1).encode()?;
        let enc = t.elapsed();
        let t = Instant::now();
        let decoded = Frame::decode(&full, &Limits::default())?;
        let dec = t.elapsed();
        assert!(matches!(&decoded.payload, Payload::Full(s) if *s == base));
        println!(
            "(a) full snapshot frame: {} bytes = {:.1}% of status.dat.gz (target <= 50%); encode {:.0} obj/s, decode {:.0} obj/s",
            full.len(),
            100.0 * full.len() as f64 / dat_gz as f64,
            n_obj as f64 / enc.as_secs_f64(),
            n_obj as f64 / dec.as_secs_f64(),
        );

        let cur = sitegen::change_states(&sitegen::recheck(&base, 60_000), 0.01, 2);
        let t = Instant::now();
        let d = delta::make(&base, 1, &cur);
        let make_t = t.elapsed();
        let st = delta::stats(&d)?;
        let bytes_b = frame(Payload::Delta(d.clone()), 2).encode()?.len();
        let t = Instant::now();
        let applied = delta::apply(&base, &d)?;
        let apply_t = t.elapsed();
        assert_eq!(applied, cur);
        println!(
            "(b) delta, 1% state+output changed, all re-checked: {bytes_b} bytes = {:.2}% of status.dat.gz (target <= 5%); {st:?}; make {:?}, apply {:?}",
            100.0 * bytes_b as f64 / dat_gz as f64,
            make_t,
            apply_t,
        );

        // The alternative considered: zstd "patch-from", the current snapshot's encoding compressed with
        // the base's encoding as reference prefix.
        let t = Instant::now();
        let patch = patch_from(&rmp_serde::to_vec(&base)?, &rmp_serde::to_vec(&cur)?)?;
        println!(
            "(b') same change as zstd patch-from (level 3, window 2^{}) instead of a delta: {} bytes in {:?}",
            window_log(n_obj),
            patch,
            t.elapsed()
        );

        let cur_c = sitegen::change_perf_values(&sitegen::recheck(&base, 60_000), 3);
        let n_values: usize =
            cur_c.objects.iter().filter(|(k, _)| !k.is_host()).map(|(_, o)| o.status.perfdata.metrics.len()).sum();
        let d = delta::make(&base, 1, &cur_c);
        let bytes_c = frame(Payload::Delta(d.clone()), 2).encode()?.len();
        assert_eq!(delta::apply(&base, &d)?, cur_c);
        println!(
            "(c) delta, every service's perfdata values changed: {bytes_c} bytes for {n_values} values = {:.2} B/value (target <= 4)",
            bytes_c as f64 / n_values as f64
        );

        let t = Instant::now();
        let ops = ops::diff(&base, &cur);
        let diff_t = t.elapsed();
        println!("full diff: {} ops in {diff_t:?} = {:.0} obj/s", ops.len(), n_obj as f64 / diff_t.as_secs_f64());
    }
    Ok(())
}
