//! Loads `docs/openapi.yaml` and checks JSON values against its schemas.
//! Covers the subset of OpenAPI 3.0 schema keywords the document uses.

use serde_json::Value;

pub struct Doc(pub Value);

impl Doc {
    pub fn load() -> Doc {
        let path = super::repo_root().join("docs/openapi.yaml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Doc(serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
    }

    /// Follows `$ref: "#/a/b"` (repeatedly).
    pub fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v.get("$ref").and_then(Value::as_str) {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("external $ref {r}"));
            v = self
                .0
                .pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"));
        }
        v
    }

    pub fn schema(&self, name: &str) -> &Value {
        self.0
            .pointer(&format!("/components/schemas/{name}"))
            .unwrap_or_else(|| panic!("no schema {name}"))
    }

    /// The response object documented for `method path status`, if any.
    pub fn response(&self, path: &str, method: &str, status: u16) -> Option<&Value> {
        let op = self
            .0
            .get("paths")?
            .get(path)?
            .get(method.to_ascii_lowercase())?;
        op.get("responses")?
            .get(status.to_string())
            .map(|r| self.resolve(r))
    }

    /// The JSON schema of a documented response body.
    pub fn response_schema(&self, path: &str, method: &str, status: u16) -> Option<&Value> {
        self.response(path, method, status)?
            .pointer("/content/application~1json/schema")
    }

    /// Checks `value` against `schema`; the error names the JSON path.
    pub fn check(&self, schema: &Value, value: &Value) -> Result<(), String> {
        self.check_at(schema, value, "$")
    }

    fn check_at(&self, schema: &Value, value: &Value, at: &str) -> Result<(), String> {
        let schema = self.resolve(schema);
        if value.is_null() && schema.get("nullable") == Some(&Value::Bool(true)) {
            return Ok(());
        }
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let matches = options
                .iter()
                .filter(|o| self.check_at(o, value, at).is_ok())
                .count();
            return if matches == 1 {
                Ok(())
            } else {
                Err(format!("{at}: matches {matches} of oneOf, want exactly 1"))
            };
        }
        if let Some(t) = schema.get("type").and_then(Value::as_str) {
            let ok = match t {
                "object" => value.is_object(),
                "array" => value.is_array(),
                "string" => value.is_string(),
                "integer" => value.is_i64() || value.is_u64(),
                "number" => value.is_number(),
                "boolean" => value.is_boolean(),
                other => return Err(format!("{at}: schema type {other} unsupported")),
            };
            if !ok {
                return Err(format!("{at}: {value} is not of type {t}"));
            }
        }
        if let (Some("date-time"), Some(text)) =
            (schema.get("format").and_then(Value::as_str), value.as_str())
        {
            if !is_date_time(text) {
                return Err(format!("{at}: {text:?} is not an RFC 3339 date-time"));
            }
        }
        if let (Some(pattern), Some(text)) = (
            schema.get("pattern").and_then(Value::as_str),
            value.as_str(),
        ) {
            let re = regex_lite::Regex::new(pattern)
                .map_err(|e| format!("{at}: bad pattern {pattern}: {e}"))?;
            if !re.is_match(text) {
                return Err(format!("{at}: {text:?} does not match {pattern}"));
            }
        }
        if let Some(v) = value.as_f64() {
            let bound = |k: &str| schema.get(k).and_then(Value::as_f64);
            if bound("minimum").is_some_and(|min| v < min)
                || bound("maximum").is_some_and(|max| v > max)
            {
                return Err(format!("{at}: {v} is outside the schema's bounds"));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                return Err(format!("{at}: {value} not in enum {allowed:?}"));
            }
        }
        if let Some(obj) = value.as_object() {
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let name = req.as_str().unwrap_or_default();
                if !obj.contains_key(name) {
                    return Err(format!("{at}: required property {name} missing"));
                }
            }
            for (k, v) in obj {
                let child = format!("{at}.{k}");
                match (
                    props.and_then(|p| p.get(k)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) => self.check_at(s, v, &child)?,
                    (None, Some(Value::Bool(false))) => {
                        return Err(format!("{at}: undocumented property {k}"))
                    }
                    (None, Some(s)) if s.is_object() => self.check_at(s, v, &child)?,
                    _ => {}
                }
            }
        }
        if let (Some(items), Some(arr)) = (schema.get("items"), value.as_array()) {
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if (arr.len() as u64) < min {
                    return Err(format!("{at}: fewer than {min} items"));
                }
            }
            for (i, v) in arr.iter().enumerate() {
                self.check_at(items, v, &format!("{at}[{i}]"))?;
            }
        }
        Ok(())
    }
}

/// RFC 3339 section 5.6 `date-time`: `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`, a four-digit year
/// (chrono alone would also read other forms).
pub fn is_date_time(text: &str) -> bool {
    let shape = regex_lite::Regex::new(
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$",
    )
    .unwrap();
    shape.is_match(text) && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
