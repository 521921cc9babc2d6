//! Names both sides validate: service names (the table's partition key), metric names, and the reserved key space.
//!
//! Valid service names match `[A-Za-z0-9._-]{1,128}`; every character is above `#` in byte order,
//! so items the stack keeps for itself (idempotency markers, incidents) use partition keys that
//! start with [`RESERVED_PREFIX`] and can never collide with a service, and sort before all of them.

use std::fmt;

/// First character of every partition key the stack reserves for itself.
pub const RESERVED_PREFIX: char = '#';
/// Longest valid service name, in characters.
pub const MAX_SERVICE_NAME_LEN: usize = 128;
/// [`validate_service_name`] as a regular expression (RE2 and Rust `regex` syntax), for the
/// module's `validation` blocks.
pub const SERVICE_NAME_PATTERN: &str = "^[A-Za-z0-9._-]{1,128}$";
/// [`validate_metric_name`] as a regular expression.
pub const METRIC_NAME_PATTERN: &str = "^[A-Za-z0-9._:/-]{1,255}$";
/// Longest valid metric name, in characters.
pub const MAX_METRIC_NAME_LEN: usize = 255;

/// Why a service or metric name was rejected. `what` says which kind of name it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty {
        what: &'static str,
    },
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    BadChar {
        what: &'static str,
        index: usize,
        ch: char,
        allowed: &'static str,
    },
}

/// Error of [`validate_service_name`].
pub type ServiceNameError = NameError;
/// Error of [`validate_metric_name`].
pub type MetricNameError = NameError;

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty { what } => write!(f, "{what} is empty"),
            NameError::TooLong { what, len, max } => {
                write!(
                    f,
                    "{what} is {len} characters long, at most {max} are allowed"
                )
            }
            NameError::BadChar {
                what,
                index,
                ch,
                allowed,
            } => write!(
                f,
                "{what} has character {ch:?} at index {index}; allowed characters: {allowed}"
            ),
        }
    }
}

impl std::error::Error for NameError {}

fn validate(
    name: &str,
    what: &'static str,
    max: usize,
    allowed: &'static str,
    ok: impl Fn(u8) -> bool,
) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty { what });
    }
    if let Some((index, ch)) = name
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii() && ok(c as u8)))
    {
        return Err(NameError::BadChar {
            what,
            index,
            ch,
            allowed,
        });
    }
    // Only ASCII is left, so bytes == characters.
    if name.len() > max {
        return Err(NameError::TooLong {
            what,
            len: name.len(),
            max,
        });
    }
    Ok(())
}

/// Checks `[A-Za-z0-9._-]{1,128}`.
pub fn validate_service_name(name: &str) -> Result<(), ServiceNameError> {
    validate(
        name,
        "service name",
        MAX_SERVICE_NAME_LEN,
        "A-Z a-z 0-9 . _ -",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'),
    )
}

/// Checks `[A-Za-z0-9._:/-]{1,255}`.
pub fn validate_metric_name(name: &str) -> Result<(), MetricNameError> {
    validate(
        name,
        "metric name",
        MAX_METRIC_NAME_LEN,
        "A-Z a-z 0-9 . _ : / -",
        |b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'/' | b'-'),
    )
}

/// True for partition keys in the stack's reserved key space.
pub fn is_reserved_key(pk: &str) -> bool {
    pk.starts_with(RESERVED_PREFIX)
}

/// Partition key `#kind#id` of a reserved item (e.g. `reserved_key("incident", alarm_arn)`).
pub fn reserved_key(kind: &str, id: &str) -> String {
    format!("{RESERVED_PREFIX}{kind}{RESERVED_PREFIX}{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_names() {
        assert!(validate_service_name("checkout-api_v2.eu").is_ok());
        assert!(validate_service_name(&"a".repeat(128)).is_ok());
        assert_eq!(
            validate_service_name(""),
            Err(NameError::Empty {
                what: "service name"
            })
        );
        assert!(matches!(
            validate_service_name(&"a".repeat(129)),
            Err(NameError::TooLong {
                len: 129,
                max: 128,
                ..
            })
        ));
        assert!(matches!(
            validate_service_name("ab c"),
            Err(NameError::BadChar {
                index: 2,
                ch: ' ',
                ..
            })
        ));
        assert!(matches!(
            validate_service_name("#x"),
            Err(NameError::BadChar {
                index: 0,
                ch: '#',
                ..
            })
        ));
        assert!(matches!(
            validate_service_name("añb"),
            Err(NameError::BadChar {
                index: 1,
                ch: 'ñ',
                ..
            })
        ));
        assert!(validate_service_name("a/b").is_err());
        let msg = validate_service_name("a b").unwrap_err().to_string();
        assert!(msg.contains("index 1"), "{msg}");
    }

    #[test]
    fn metric_names() {
        assert!(validate_metric_name("http/latency:p99-x_y.z").is_ok());
        assert!(validate_metric_name(&"m".repeat(255)).is_ok());
        assert!(validate_metric_name(&"m".repeat(256)).is_err());
        assert!(validate_metric_name("").is_err());
        assert!(validate_metric_name("a b").is_err());
    }

    #[test]
    fn reserved_keys_never_collide_with_services() {
        let k = reserved_key("idem", "bucket/key");
        assert_eq!(k, "#idem#bucket/key");
        assert!(is_reserved_key(&k));
        assert!(validate_service_name(&k).is_err());
        assert!(!is_reserved_key("checkout"));
        // Every valid first character sorts after '#': the GSI query relies on it.
        for b in 0u8..=127 {
            if validate_service_name(&(b as char).to_string()).is_ok() {
                assert!(b > b'$', "{}", b as char);
            }
        }
    }
}
