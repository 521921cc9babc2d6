use super::*;
use crate::aggregate::{Batch, LATENCY_MS, REQUESTS};
use proptest::prelude::*;

fn sample() -> StoredGroup {
    let minute = Minute::parse_key("2026-11-29T18:05:00Z").unwrap();
    let mut b = Batch::new();
    for v in [12.5, 3.25, 800.0, 0.0, -4.0] {
        b.record("checkout", minute, LATENCY_MS, v);
        b.record("checkout", minute, REQUESTS, 1.0);
    }
    let (key, metrics) = b.0.into_iter().next().unwrap();
    StoredGroup {
        key,
        metrics,
        version: 7,
        sources: ["a".repeat(32), "b".repeat(32)].into(),
    }
}

#[test]
fn layout_matches_the_data_contract() {
    let item = encode_group(&sample());
    assert_eq!(item[PK].as_s().unwrap(), "checkout");
    assert_eq!(item[SK].as_s().unwrap(), "2026-11-29T18:05:00Z");
    assert_eq!(item[VERSION].as_n().unwrap(), "7");
    assert_eq!(item[SOURCES].as_ss().unwrap().len(), 2);
    assert!(item[UPDATED_AT].as_s().unwrap().ends_with('Z'));
    let lat = item[METRICS].as_m().unwrap()[LATENCY_MS].as_m().unwrap();
    assert_eq!(lat["n"].as_n().unwrap(), "5");
    assert_eq!(lat["s"].as_n().unwrap(), "811.75");
    assert_eq!(lat["lo"].as_n().unwrap(), "-4");
    assert_eq!(lat["hi"].as_n().unwrap(), "800");
    assert!(lat["h"].as_b().is_ok());
    assert_eq!(key_of(&sample().key).len(), 2);
}

#[test]
fn no_sources_means_no_attribute() {
    let mut g = sample();
    g.sources.clear();
    let item = encode_group(&g);
    assert!(
        !item.contains_key(SOURCES),
        "an empty SS is not allowed by DynamoDB"
    );
    assert_eq!(decode_group(&item).unwrap(), g);
}

#[test]
fn round_trip() {
    let g = sample();
    assert_eq!(decode_group(&encode_group(&g)).unwrap(), g);
}

fn corrupt(f: impl FnOnce(&mut HashMap<String, AttributeValue>)) -> String {
    let mut item = encode_group(&sample());
    f(&mut item);
    decode_group(&item).unwrap_err().to_string()
}

fn metric_field(
    item: &mut HashMap<String, AttributeValue>,
    field: &str,
    value: Option<AttributeValue>,
) {
    let Some(AttributeValue::M(metrics)) = item.get_mut(METRICS) else {
        unreachable!()
    };
    let Some(AttributeValue::M(fields)) = metrics.get_mut(LATENCY_MS) else {
        unreachable!()
    };
    match value {
        Some(v) => fields.insert(field.to_owned(), v),
        None => fields.remove(field),
    };
}

#[test]
fn corrupt_items_name_the_attribute() {
    let cases: Vec<(String, &str)> = vec![
        (
            corrupt(|i| drop(i.remove(PK))),
            "attribute ServiceName is missing",
        ),
        (
            corrupt(|i| drop(i.insert(PK.into(), AttributeValue::N("1".into())))),
            "ServiceName has the wrong type",
        ),
        (
            corrupt(|i| drop(i.insert(PK.into(), AttributeValue::S("#idem#x".into())))),
            "ServiceName is invalid",
        ),
        (
            corrupt(|i| {
                drop(i.insert(SK.into(), AttributeValue::S("2026-11-29T18:05:30Z".into())))
            }),
            "Timestamp is invalid",
        ),
        (
            corrupt(|i| drop(i.remove(VERSION))),
            "attribute Version is missing",
        ),
        (
            corrupt(|i| drop(i.insert(VERSION.into(), AttributeValue::N("-1".into())))),
            "Version is invalid",
        ),
        (
            corrupt(|i| drop(i.insert(SOURCES.into(), AttributeValue::S("x".into())))),
            "Sources has the wrong type",
        ),
        (
            corrupt(|i| drop(i.remove(METRICS))),
            "attribute Metrics is missing",
        ),
        (
            corrupt(|i| metric_field(i, "n", None)),
            "Metrics.latency_ms.n is missing",
        ),
        (
            corrupt(|i| metric_field(i, "n", Some(AttributeValue::N("6".into())))),
            "Metrics.latency_ms.h is invalid: sketch holds 5 values",
        ),
        (
            corrupt(|i| metric_field(i, "s", Some(AttributeValue::S("1".into())))),
            "Metrics.latency_ms.s has the wrong type",
        ),
        (
            corrupt(|i| metric_field(i, "s", Some(AttributeValue::N("abc".into())))),
            "Metrics.latency_ms.s is invalid",
        ),
        (
            corrupt(|i| metric_field(i, "lo", Some(AttributeValue::N("1e400".into())))),
            "Metrics.latency_ms.lo is invalid: not finite",
        ),
        (
            corrupt(|i| metric_field(i, "lo", Some(AttributeValue::N("900".into())))),
            "Metrics.latency_ms is invalid: min 900",
        ),
        (
            corrupt(|i| metric_field(i, "h", Some(AttributeValue::B(Blob::new(vec![9]))))),
            "Metrics.latency_ms.h is invalid: malformed sketch: unknown format version",
        ),
        (
            corrupt(|i| {
                let Some(AttributeValue::M(m)) = i.get_mut(METRICS) else {
                    unreachable!()
                };
                m.insert("bad name".into(), AttributeValue::M(HashMap::new()));
            }),
            "Metrics.bad name is invalid",
        ),
    ];
    for (got, want) in cases {
        assert!(got.contains(want), "{got:?} should contain {want:?}");
    }
}

proptest! {
    #[test]
    fn round_trip_any_group(
        service in "[A-Za-z0-9._-]{1,128}",
        minute in -62_167_219_200i64..253_402_300_799,
        version in 1u64..u64::MAX,
        points in prop::collection::vec(("[a-z:/]{1,8}", -1e30..1e30f64), 1..50),
        sources in prop::collection::btree_set("[0-9a-f]{32}", 0..5),
    ) {
        let minute = Minute::from_epoch_seconds(minute);
        let mut metrics = MinuteMetrics::default();
        for (name, v) in &points {
            metrics.record(name, *v);
        }
        let g = StoredGroup { key: GroupKey::new(service, minute), metrics, version, sources };
        let back = decode_group(&encode_group(&g)).unwrap();
        prop_assert_eq!(back, g);
    }

    #[test]
    fn decode_never_panics_on_junk(
        n in "\\PC{0,12}", s in "\\PC{0,12}", h in prop::collection::vec(any::<u8>(), 0..16), v in "\\PC{0,8}",
    ) {
        let mut item = encode_group(&sample());
        item.insert(VERSION.into(), AttributeValue::N(v));
        metric_field(&mut item, "n", Some(AttributeValue::N(n)));
        metric_field(&mut item, "s", Some(AttributeValue::N(s)));
        metric_field(&mut item, "h", Some(AttributeValue::B(Blob::new(h))));
        let _ = decode_group(&item);
    }
}
