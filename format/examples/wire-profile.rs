//! One wire-format operation in a loop, for profilers (`perf stat`, `valgrind --tool=callgrind`) that want
//! a plain process instead of criterion's harness.
//!
//! `cargo run --release -p outpost-format --example wire-profile -- decode|diff|diff1 SERVICES ITERATIONS`

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Counts heap allocations, so a run reports allocations per object beside its time.
struct Counting;
static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
#[global_allocator]
static GLOBAL: Counting = Counting;

use outpost_format::frame::{Frame, Limits, Payload};
use outpost_format::{ops, sitegen};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (op, services, iterations) = match args.as_slice() {
        [_, op, s, i] => (op.as_str(), s.parse().unwrap_or(10_000), i.parse().unwrap_or(10)),
        _ => {
            eprintln!("usage: wire-profile decode|diff|diff1 SERVICES ITERATIONS");
            std::process::exit(2);
        }
    };
    let base = sitegen::site(services, 1);
    let n = base.objects.len();
    let rechecked = sitegen::change_states(&sitegen::recheck(&base, 60_000), 0.01, 2);
    let frame = Frame { location: "FRA1".into(), epoch: 1, seq: 1, payload: Payload::Full(base.clone()) };
    let encoded = frame.encode().expect("encode");
    let mut kept = Vec::new();
    let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
    let start = Instant::now();
    for _ in 0..iterations {
        match op {
            "decode" => drop(std::hint::black_box(Frame::decode(&encoded, &Limits::default()).expect("decode"))),
            "decode-nodrop" => {
                kept.push(std::hint::black_box(Frame::decode(&encoded, &Limits::default()).expect("decode")))
            }
            "diff" => drop(std::hint::black_box(ops::diff(&base, &base))),
            "diff1" => drop(std::hint::black_box(ops::diff(&base, &rechecked))),
            other => {
                eprintln!("unknown operation {other:?}: use decode, diff or diff1");
                std::process::exit(2);
            }
        }
    }
    let per = start.elapsed() / iterations;
    let allocations = (ALLOCATIONS.load(Ordering::Relaxed) - allocations_before) as f64 / f64::from(iterations);
    println!(
        "{op} {services} services ({n} objects): {per:?} per run, {:.0} objects/s, {:.1} allocations per object \
         (size of an object: {} bytes)",
        n as f64 / per.as_secs_f64(),
        allocations / n as f64,
        std::mem::size_of::<outpost_format::Object>() + std::mem::size_of::<outpost_format::model::ObjectKey>(),
    );
}
