//! Throughput of the sketch operations on the log processor's hot path.
//! Run: `cargo bench -p metrics-core --bench sketch` (prints ns per operation; no external harness).

use metrics_core::aggregate::Aggregate;
use metrics_core::Sketch;
use std::hint::black_box;
use std::time::Instant;

/// Latency-like values, 0.1 ms to 10 s, log-uniform (xorshift: deterministic, no dependency).
fn values(n: usize) -> Vec<f64> {
    let mut x: u64 = 88_172_645_463_325_252;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x >> 11) as f64 / (1u64 << 53) as f64;
            (u * 11.5 - 2.3).exp()
        })
        .collect()
}

fn time<T>(label: &str, per: usize, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = black_box(f());
    let ns = start.elapsed().as_nanos() as f64 / per as f64;
    println!("{label:<28} {ns:>10.2} ns/op");
    out
}

fn main() {
    let vals = values(10_000_000);
    let sketch = time("Sketch::add", vals.len(), || {
        let mut s = Sketch::new();
        for &v in &vals {
            s.add(black_box(v));
        }
        s
    });
    time("Aggregate::record", vals.len(), || {
        let mut a = Aggregate::new();
        for &v in &vals {
            a.record(black_box(v));
        }
        a
    });
    time("Sketch::merge (~800 buckets)", 10_000, || {
        let mut total = Sketch::new();
        for _ in 0..10_000 {
            total.merge(&sketch);
        }
        total
    });
    let bytes = sketch.encode();
    println!("encoded size                 {:>10} bytes", bytes.len());
    time("Sketch::encode", 10_000, || {
        (0..10_000).map(|_| sketch.encode().len()).sum::<usize>()
    });
    time("Sketch::decode", 10_000, || {
        (0..10_000)
            .filter(|_| Sketch::decode(&bytes).is_ok())
            .count()
    });
    time("Sketch::quantile(0.99)", 100_000, || {
        (0..100_000)
            .filter_map(|_| sketch.quantile(black_box(0.99)))
            .sum::<f64>()
    });
}
