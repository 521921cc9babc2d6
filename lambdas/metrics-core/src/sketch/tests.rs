use super::*;
use proptest::prelude::*;

#[test]
fn constants_are_consistent() {
    let gamma = (1.0 + INTERNAL_ACCURACY) / (1.0 - INTERNAL_ACCURACY);
    assert!((MULTIPLIER - 1.0 / gamma.ln()).abs() < 1e-9);
    const { assert!(INTERNAL_ACCURACY < RELATIVE_ACCURACY) };
    assert!(bucket_index(MIN_INDEXABLE) >= MIN_INDEX);
    assert!(bucket_index(f64::MAX) <= MAX_INDEX);
}

/// The mapping itself: every magnitude from 1e-9 to f64::MAX is within 1% of its bucket's value.
#[test]
fn every_bucket_is_within_one_percent() {
    let mut v = MIN_INDEXABLE;
    let mut worst = 0.0f64;
    while v.is_finite() {
        let r = bucket_value(bucket_index(v));
        worst = worst.max((r - v).abs() / v);
        v *= 1.000_37;
    }
    assert!(worst <= RELATIVE_ACCURACY, "worst relative error {worst}");
    // Also at exact powers of two and their neighbours, where approx_log2 has its kinks.
    for e in -29..1023 {
        let p = 2f64.powi(e);
        for x in [
            p,
            f64::from_bits(p.to_bits() - 1),
            f64::from_bits(p.to_bits() + 1),
        ] {
            let r = bucket_value(bucket_index(x));
            assert!((r - x).abs() <= RELATIVE_ACCURACY * x, "{x}: {r}");
        }
    }
}

#[test]
fn empty_and_out_of_range() {
    let s = Sketch::new();
    assert_eq!(s.quantile(0.5), None);
    assert_eq!(s.count(), 0);
    let mut s = Sketch::new();
    s.add(1.0);
    assert_eq!(s.quantile(-0.1), None);
    assert_eq!(s.quantile(1.1), None);
    assert_eq!(s.quantile(f64::NAN), None);
    s.add(f64::NAN);
    s.add(f64::INFINITY);
    s.add_n(5.0, 0);
    assert_eq!(s.count(), 1);
}

#[test]
fn zero_negative_and_positive_order() {
    let mut s = Sketch::new();
    for v in [-100.0, -1.0, 0.0, 0.0, 1e-12, 3.0, 1000.0] {
        s.add(v);
    }
    // Sorted: -100, -1, 0, 0, 0(1e-12), 3, 1000 → ranks 0..6.
    let want = [-100.0, -1.0, 0.0, 0.0, 0.0, 3.0, 1000.0];
    for (rank, w) in want.iter().enumerate() {
        let q = rank as f64 / 6.0;
        let got = s.quantile(q).unwrap();
        assert!(
            (got - w).abs() <= RELATIVE_ACCURACY * w.abs(),
            "q={q}: {got} vs {w}"
        );
    }
}

#[test]
fn quantile_of_saturated_merge_does_not_overflow() {
    // Each sketch decodes fine on its own (totals fit in u64); merged, the buckets sum past
    // u64::MAX while the total saturates. The rank walk must not overflow.
    let mut a = Sketch::new();
    a.add_n(1.0, u64::MAX - 1);
    let mut b = Sketch::new();
    b.add_n(2.0, 5);
    let a = Sketch::decode(&a.encode()).unwrap();
    let b = Sketch::decode(&b.encode()).unwrap();
    let mut merged = a.clone();
    merged.merge(&b);
    assert_eq!(merged.count(), u64::MAX);
    for q in [0.0, 0.5, 1.0] {
        let v = merged.quantile(q).unwrap();
        let ok = (1.0 - RELATIVE_ACCURACY..=2.0 * (1.0 + RELATIVE_ACCURACY)).contains(&v);
        assert!(ok, "q={q}: {v}");
    }
}

#[test]
fn add_n_equals_repeated_add() {
    let mut a = Sketch::new();
    let mut b = Sketch::new();
    a.add_n(42.5, 1000);
    a.add_n(-7.0, 3);
    for _ in 0..1000 {
        b.add(42.5);
    }
    for _ in 0..3 {
        b.add(-7.0);
    }
    assert_eq!(a, b);
    assert_eq!(a.encode(), b.encode());
}

#[test]
fn encoding_is_compact_and_canonical() {
    let mut s = Sketch::new();
    for i in 1..=10_000 {
        s.add(f64::from(i) * 0.1); // 0.1 ms .. 1 s of latencies
    }
    let bytes = s.encode();
    assert!(bytes.len() < 2_500, "{} bytes", bytes.len());
    assert_eq!(Sketch::decode(&bytes).unwrap(), s);
    // Same contents built in another order (different dense ranges) encode identically.
    let mut t = Sketch::new();
    for i in (1..=10_000).rev() {
        t.add(f64::from(i) * 0.1);
    }
    assert_eq!(t.encode(), bytes);
    assert_eq!(Sketch::new().encode(), vec![1, 0, 0, 0]);
}

#[test]
fn decode_rejects_malformed() {
    let mut s = Sketch::new();
    s.add(5.0);
    s.add(9.0);
    let good = s.encode();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (vec![], "truncated"),
        (vec![2, 0, 0, 0], "unknown format version"),
        (good[..good.len() - 1].to_vec(), "truncated"),
        ([good.clone(), vec![0]].concat(), "trailing bytes"),
        (vec![1, 0, 1, 2, 0, 0], "empty bucket"),
        (
            vec![1, 0, 2, 2, 1, 0, 1, 0],
            "bucket indexes not strictly ascending",
        ),
        (
            vec![1, 0, 1, 0xfe, 0xff, 0x7f, 1, 0],
            "bucket index out of range",
        ),
        (vec![1, 0x80, 0x00, 0, 0], "overlong varint"),
        (
            vec![
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0,
            ],
            "varint overflows 64 bits",
        ),
        (
            vec![1, 0, 0xff, 0xff, 0xff, 0x7f],
            "more buckets than indexes",
        ),
        (
            vec![
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 2, 1, 0,
            ],
            "total count overflows",
        ),
    ];
    for (bytes, want) in cases {
        match Sketch::decode(&bytes) {
            Err(DecodeError(msg)) => assert_eq!(msg, want, "{bytes:?}"),
            other => panic!("{bytes:?}: expected {want}, got {other:?}"),
        }
    }
}

/// Values from a mix of distributions, heavy tails included, plus zeros and negatives.
fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..1000.0f64,
        // log-normal with a wide sigma: 1e-6 .. 1e8 and beyond
        3 => (1e-12..1.0f64, 0.0..1.0f64).prop_map(|(u1, u2)| {
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            (2.0 + 3.0 * z).exp()
        }),
        // Pareto, alpha 1.1
        2 => (1e-9..1.0f64).prop_map(|u| 5.0 * u.powf(-1.0 / 1.1)),
        1 => -1e6..-1e-6f64,
        1 => Just(0.0),
    ]
}

fn exact_quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((q * (sorted.len() - 1) as f64).floor() as usize).min(sorted.len() - 1)]
}

const QUANTILES: [f64; 12] = [
    0.0, 0.001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0,
];

fn sketch_of(values: &[f64]) -> Sketch {
    let mut s = Sketch::new();
    for &v in values {
        s.add(v);
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn quantiles_within_one_percent(values in prop::collection::vec(value(), 1..3000)) {
        let s = sketch_of(&values);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        prop_assert_eq!(s.count(), values.len() as u64);
        for q in QUANTILES {
            let want = exact_quantile(&sorted, q);
            let got = s.quantile(q).unwrap();
            let allowed = RELATIVE_ACCURACY * want.abs() + MIN_INDEXABLE;
            prop_assert!((got - want).abs() <= allowed, "q={} got={} want={}", q, got, want);
        }
        // All at once, in no particular order (one walk): each within the same bound.
        let mut qs: Vec<f64> = QUANTILES.iter().rev().copied().collect();
        qs.push(f64::NAN);
        let half = qs.len() / 2;
        qs.rotate_left(half);
        for (q, got) in qs.iter().zip(s.quantiles(&qs)) {
            if q.is_nan() {
                prop_assert_eq!(got, None);
                continue;
            }
            let want = exact_quantile(&sorted, *q);
            let got = got.unwrap();
            let allowed = RELATIVE_ACCURACY * want.abs() + MIN_INDEXABLE;
            prop_assert!((got - want).abs() <= allowed, "q={} got={} want={}", q, got, want);
        }
    }

    #[test]
    fn merge_is_commutative_associative_and_lossless(
        a in prop::collection::vec(value(), 0..500),
        b in prop::collection::vec(value(), 0..500),
        c in prop::collection::vec(value(), 0..500),
    ) {
        let (sa, sb, sc) = (sketch_of(&a), sketch_of(&b), sketch_of(&c));
        let mut ab = sa.clone();
        ab.merge(&sb);
        let mut ba = sb.clone();
        ba.merge(&sa);
        prop_assert_eq!(&ab, &ba);
        let mut ab_c = ab.clone();
        ab_c.merge(&sc);
        let mut bc = sb.clone();
        bc.merge(&sc);
        let mut a_bc = sa.clone();
        a_bc.merge(&bc);
        prop_assert_eq!(&ab_c, &a_bc);
        // Merging equals sketching everything at once, and encodes identically.
        let all: Vec<f64> = a.iter().chain(&b).chain(&c).copied().collect();
        let whole = sketch_of(&all);
        prop_assert_eq!(&ab_c, &whole);
        prop_assert_eq!(ab_c.encode(), whole.encode());
    }

    #[test]
    fn encode_decode_round_trip(values in prop::collection::vec(value(), 0..2000)) {
        let s = sketch_of(&values);
        let bytes = s.encode();
        let back = Sketch::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &s);
        prop_assert_eq!(back.encode(), bytes);
        for q in QUANTILES {
            prop_assert_eq!(back.quantile(q), s.quantile(q));
        }
    }

    #[test]
    fn decode_of_random_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        if let Ok(s) = Sketch::decode(&bytes) {
            // Whatever is accepted is canonical.
            prop_assert_eq!(s.encode(), bytes);
        }
    }

    #[test]
    fn decode_of_mutated_encoding_never_panics(
        values in prop::collection::vec(value(), 1..200),
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = sketch_of(&values).encode();
        for (i, b) in flips {
            let at = i.index(bytes.len());
            bytes[at] ^= b;
        }
        if let Ok(s) = Sketch::decode(&bytes) {
            prop_assert_eq!(s.encode(), bytes);
        }
    }
}
