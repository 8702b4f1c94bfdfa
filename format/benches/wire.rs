//! Wire-format benchmarks at 10,000 and 100,000 services (numbers and commands in `docs/benchmarks.md`).
//!
//! `cargo bench -p outpost-format --bench wire -- --warm-up-time 1 --measurement-time 3`
//! Wire sizes are deterministic and printed by `cargo run --release -p outpost-format --example wire-report`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use outpost_format::frame::{Frame, Limits, Payload};
use outpost_format::{delta, ops, sitegen};

fn bench(c: &mut Criterion) {
    for services in [10_000usize, 100_000] {
        let base = sitegen::site(services, 1);
        let n_obj = base.objects.len() as u64;
        let rechecked = sitegen::change_states(&sitegen::recheck(&base, 60_000), 0.01, 2);
        let frame = Frame { location: "FRA1".into(), epoch: 1, seq: 1, payload: Payload::Full(base.clone()) };
        let encoded = frame.encode().expect("encode");

        let mut g = c.benchmark_group(format!("wire/{services}"));
        g.sample_size(10);
        g.throughput(Throughput::Elements(n_obj));
        g.bench_function("encode+compress full", |b| b.iter(|| frame.encode().expect("encode")));
        // Each decoded snapshot is dropped inside the timed loop, so its memory is reused by the next decode
        // as in a long-running NOC. (Keeping the outputs until the end, `iter_with_large_drop`, measured
        // slower: every decode then writes fresh pages the kernel must fault in and zero.)
        g.bench_function("decompress+decode full", |b| {
            b.iter(|| Frame::decode(&encoded, &Limits::default()).expect("decode"))
        });
        g.bench_function("diff unchanged (compare only)", |b| b.iter(|| ops::diff(&base, &base)));
        g.bench_function("diff 1% changed + all rechecked", |b| b.iter(|| ops::diff(&base, &rechecked)));
        g.bench_function("content_hash", |b| b.iter(|| delta::content_hash(&base)));
        g.bench_function("delta make (b)", |b| b.iter(|| delta::make(&base, 1, &rechecked)));
        let d = delta::make(&base, 1, &rechecked);
        g.bench_function("delta apply (b)", |b| b.iter(|| delta::apply(&base, &d).expect("apply")));
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
