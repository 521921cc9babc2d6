//! A validating, allocation-free scanner for one JSON object per line.
//!
//! Building a `serde_json::Value` per line costs more than everything else on the hot
//! path, so the scanner walks the line once, validates it fully (strings with their
//! escapes, numbers, nesting), and borrows the raw bytes of the few top-level fields
//! the processor needs. Nested values are validated and skipped.

use memchr::memchr2;

/// Deeper nesting than this is rejected instead of risking the stack.
const MAX_DEPTH: usize = 64;

/// A top-level value, borrowed from the line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Raw<'a> {
    /// The bytes between the quotes; `escaped` says whether they contain `\` escapes.
    Str {
        raw: &'a [u8],
        escaped: bool,
    },
    /// The number's text, already checked against the JSON grammar.
    Num(&'a [u8]),
    Bool(bool),
    Null,
    /// An object or array (validated, not kept).
    Composite,
}

/// Which recognised field a key names. Lower rank wins when aliases repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Timestamp,
    Service,
    Level,
    Latency,
    Status,
    /// `_aws`: the line is CloudWatch Embedded Metric Format.
    Emf,
}

const FIELD_COUNT: usize = 6;

/// Field aliases from the product brief, in priority order.
fn classify(key: &[u8]) -> Option<(Field, u8)> {
    Some(match key {
        b"timestamp" => (Field::Timestamp, 0),
        b"time" => (Field::Timestamp, 1),
        b"@timestamp" => (Field::Timestamp, 2),
        b"ts" => (Field::Timestamp, 3),
        b"service" => (Field::Service, 0),
        b"service_name" => (Field::Service, 1),
        b"app" => (Field::Service, 2),
        b"level" => (Field::Level, 0),
        b"severity" => (Field::Level, 1),
        b"latency_ms" => (Field::Latency, 0),
        b"duration_ms" => (Field::Latency, 1),
        b"response_time_ms" => (Field::Latency, 2),
        b"status" => (Field::Status, 0),
        b"status_code" => (Field::Status, 1),
        b"_aws" => (Field::Emf, 0),
        _ => return None,
    })
}

/// The recognised top-level fields of one line.
#[derive(Debug, Default, Clone, Copy)]
pub struct Fields<'a> {
    slots: [Option<(u8, Raw<'a>)>; FIELD_COUNT],
}

impl<'a> Fields<'a> {
    pub fn get(&self, f: Field) -> Option<Raw<'a>> {
        self.slots[f as usize].map(|(_, v)| v)
    }

    fn set(&mut self, f: Field, rank: u8, v: Raw<'a>) {
        let slot = &mut self.slots[f as usize];
        if slot.is_none_or(|(r, _)| rank < r) {
            *slot = Some((rank, v));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidJson;

/// Index of the first `"` or `\\`. Most JSON strings are short, where memchr's set-up
/// costs more than the search: look 8 bytes at a time first (SWAR), then hand long
/// strings to memchr. The lowest flagged byte of the zero-byte trick is always a true
/// match, so `trailing_zeros` finds the first one.
#[inline]
fn find_quote_or_backslash(s: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let mut i = 0;
    while i + 8 <= s.len() && i < 64 {
        let w = u64::from_le_bytes(s[i..i + 8].try_into().ok()?);
        let q = w ^ (LO * b'"' as u64);
        let b = w ^ (LO * b'\\' as u64);
        let hit = (q.wrapping_sub(LO) & !q & HI) | (b.wrapping_sub(LO) & !b & HI);
        if hit != 0 {
            return Some(i + (hit.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if i < 64 {
        return s[i..]
            .iter()
            .position(|&c| c == b'"' || c == b'\\')
            .map(|p| p + i);
    }
    memchr2(b'"', b'\\', &s[i..]).map(|p| p + i)
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    #[inline]
    fn expect(&mut self, b: u8) -> Result<(), InvalidJson> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(InvalidJson)
        }
    }

    /// At an opening quote: returns the contents and whether they hold escapes.
    #[inline]
    fn string(&mut self) -> Result<(&'a [u8], bool), InvalidJson> {
        self.expect(b'"')?;
        let start = self.i;
        let mut escaped = false;
        loop {
            self.i += find_quote_or_backslash(&self.s[self.i..]).ok_or(InvalidJson)?;
            if self.s[self.i] == b'"' {
                let raw = &self.s[start..self.i];
                self.i += 1;
                return Ok((raw, escaped));
            }
            escaped = true;
            self.i += 1;
            match self.peek() {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 1,
                Some(b'u') => {
                    let hex = self.s.get(self.i + 1..self.i + 5).ok_or(InvalidJson)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return Err(InvalidJson);
                    }
                    self.i += 5;
                }
                _ => return Err(InvalidJson),
            }
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.i += 1;
        }
        self.i - start
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
    fn number(&mut self) -> Result<&'a [u8], InvalidJson> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        match self.peek() {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(InvalidJson),
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(InvalidJson);
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.i += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(InvalidJson);
            }
        }
        Ok(&self.s[start..self.i])
    }

    fn literal(&mut self, word: &[u8]) -> Result<(), InvalidJson> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(())
        } else {
            Err(InvalidJson)
        }
    }

    fn value(&mut self, depth: usize) -> Result<Raw<'a>, InvalidJson> {
        match self.peek().ok_or(InvalidJson)? {
            b'"' => self
                .string()
                .map(|(raw, escaped)| Raw::Str { raw, escaped }),
            b'{' => self
                .object(depth + 1, &mut |_, _| {})
                .map(|_| Raw::Composite),
            b'[' => self.array(depth + 1).map(|_| Raw::Composite),
            b't' => self.literal(b"true").map(|_| Raw::Bool(true)),
            b'f' => self.literal(b"false").map(|_| Raw::Bool(false)),
            b'n' => self.literal(b"null").map(|_| Raw::Null),
            b'-' | b'0'..=b'9' => self.number().map(Raw::Num),
            _ => Err(InvalidJson),
        }
    }

    fn array(&mut self, depth: usize) -> Result<(), InvalidJson> {
        if depth > MAX_DEPTH {
            return Err(InvalidJson);
        }
        self.expect(b'[')?;
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            self.value(depth)?;
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(InvalidJson),
            }
        }
    }

    /// Walks an object, handing each member's (key, escaped) and value to `member`.
    fn object<F: FnMut((&'a [u8], bool), Raw<'a>)>(
        &mut self,
        depth: usize,
        mut member: F,
    ) -> Result<(), InvalidJson> {
        if depth > MAX_DEPTH {
            return Err(InvalidJson);
        }
        self.expect(b'{')?;
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.ws();
            self.expect(b':')?;
            self.ws();
            let v = self.value(depth)?;
            member(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(());
                }
                _ => return Err(InvalidJson),
            }
        }
    }
}

/// Scans `line`, which must be exactly one JSON object (surrounding whitespace allowed).
pub fn scan(line: &[u8]) -> Result<Fields<'_>, InvalidJson> {
    let mut sc = Scanner { s: line, i: 0 };
    let mut fields = Fields::default();
    sc.ws();
    sc.object(1, |(key, escaped), v| {
        let class = if escaped {
            // Rare: a key spelled with escapes still names the same field.
            decode_str(key).and_then(|k| classify(k.as_bytes()))
        } else {
            classify(key)
        };
        if let Some((f, rank)) = class {
            fields.set(f, rank, v);
        }
    })?;
    sc.ws();
    if sc.i != line.len() {
        return Err(InvalidJson);
    }
    Ok(fields)
}

/// Decodes the escaped contents of a JSON string (rare path; allocates).
pub fn decode_str(raw: &[u8]) -> Option<String> {
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice(&quoted).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(raw: &str) -> Raw<'_> {
        Raw::Str {
            raw: raw.as_bytes(),
            escaped: false,
        }
    }

    #[test]
    fn picks_top_level_fields_and_skips_the_rest() {
        let line = br#"{"ts":1,"msg":"a \"quoted\" {not a brace}","nested":{"service":"inner","a":[1,2,{"b":null}]},"service":"checkout","latency_ms":12.5e0,"status":503,"level":"error"}"#;
        let f = scan(line).unwrap();
        assert_eq!(f.get(Field::Service), Some(s("checkout")));
        assert_eq!(f.get(Field::Timestamp), Some(Raw::Num(b"1")));
        assert_eq!(f.get(Field::Latency), Some(Raw::Num(b"12.5e0")));
        assert_eq!(f.get(Field::Status), Some(Raw::Num(b"503")));
        assert_eq!(f.get(Field::Level), Some(s("error")));
        assert_eq!(f.get(Field::Emf), None);
    }

    #[test]
    fn alias_priority_does_not_depend_on_order() {
        let a = scan(br#"{"ts":1,"time":2,"timestamp":3}"#).unwrap();
        let b = scan(br#"{"timestamp":3,"ts":1}"#).unwrap();
        assert_eq!(a.get(Field::Timestamp), Some(Raw::Num(b"3")));
        assert_eq!(b.get(Field::Timestamp), Some(Raw::Num(b"3")));
    }

    #[test]
    fn escapes_are_checked_and_escaped_keys_still_match() {
        let f = scan(br#"{"serv\u0069ce":"a\\b","x":"\ud83d\ude00 \/ \n"}"#).unwrap();
        assert_eq!(
            f.get(Field::Service),
            Some(Raw::Str {
                raw: br"a\\b",
                escaped: true
            })
        );
        assert_eq!(decode_str(br"a\\b").as_deref(), Some(r"a\b"));
        assert!(scan(br#"{"a":"\x"}"#).is_err());
        assert!(scan(br#"{"a":"\u12g4"}"#).is_err());
        assert!(scan(br#"{"a":"\u12"}"#).is_err());
        assert!(scan(br#"{"a":"ends in backslash\"}"#).is_err());
    }

    #[test]
    fn rejects_invalid_json() {
        for bad in [
            &br#"{"a":1"#[..],
            br#"{"a":1,}"#,
            br#"{"a" 1}"#,
            br#"{"a":01}"#,
            br#"{"a":1.}"#,
            br#"{"a":-}"#,
            br#"{"a":1e}"#,
            br#"{"a":tru}"#,
            br#"{"a":[1,]}"#,
            br#"{"a":1} trailing"#,
            br#"{"a":1}{"b":2}"#,
            br#"{a:1}"#,
            br#"["not","an","object"]"#,
            br#"{"a":"unterminated}"#,
            b"{",
            b"",
        ] {
            assert!(scan(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        for good in [
            &b"{}"[..],
            b" { } ",
            br#"{"a":-0.5E+3,"b":[],"c":{},"d":[[[]]]}"#,
        ] {
            assert!(scan(good).is_ok(), "{}", String::from_utf8_lossy(good));
        }
    }

    #[test]
    fn quote_finder_agrees_with_a_plain_search() {
        let mut text = Vec::new();
        for len in 0..200 {
            for at in [0, 1, 7, 8, 9, 63, 64, 65, 150] {
                for c in [b'"', b'\\'] {
                    text.clear();
                    text.extend((0..len).map(|i| b'a' + (i % 26) as u8));
                    if at < len {
                        text[at] = c;
                    }
                    let want = text.iter().position(|&b| b == b'"' || b == b'\\');
                    assert_eq!(find_quote_or_backslash(&text), want, "len {len} at {at}");
                }
            }
        }
        // Bytes >= 0x80 next to a match must not confuse the zero-byte trick.
        assert_eq!(
            find_quote_or_backslash(&[0xff, 0x80, 0xa2, 0x22, 0x5c]),
            Some(3)
        );
        assert_eq!(find_quote_or_backslash("é\"".as_bytes()), Some(2));
    }

    #[test]
    fn depth_is_bounded() {
        let deep = format!("{{\"a\":{}1{}}}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(scan(deep.as_bytes()).is_err());
        let ok = format!("{{\"a\":{}1{}}}", "[".repeat(50), "]".repeat(50));
        assert!(scan(ok.as_bytes()).is_ok());
    }

    proptest::proptest! {
        // The scanner agrees with serde_json on what is a valid JSON object.
        #[test]
        fn agrees_with_serde_json(v in arb_json()) {
            let text = serde_json::to_string(&serde_json::json!({"x": v, "service": "s"})).unwrap();
            let f = scan(text.as_bytes());
            proptest::prop_assert!(f.is_ok(), "{}", text);
            proptest::prop_assert_eq!(f.unwrap().get(Field::Service), Some(s("s")));
            // Any strict prefix is not a complete object.
            for cut in 1..text.len() {
                if text.is_char_boundary(cut) {
                    proptest::prop_assert!(scan(&text.as_bytes()[..cut]).is_err(), "{}", &text[..cut]);
                }
            }
        }
    }

    fn arb_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::Bool),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| serde_json::json!(f)),
            any::<i64>().prop_map(|i| serde_json::json!(i)),
            "\\PC*".prop_map(serde_json::Value::String),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
                proptest::collection::btree_map("\\PC{0,6}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }
}
