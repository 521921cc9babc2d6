//! Function configuration from the environment the Terraform module sets.

use crate::ingest::DEFAULT_MAX_BODY_BYTES;
use crate::respond::Cors;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub cors: Cors,
    pub max_body_bytes: usize,
}

impl Config {
    /// `CORS_ALLOWED_ORIGINS` (comma list or `*`; unset: `*`, since auth is an
    /// API key header, not a cookie) and `MAX_BODY_BYTES` (default 256 KiB).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let cors = Cors::parse(&get("CORS_ALLOWED_ORIGINS").unwrap_or_else(|| "*".to_owned()));
        let max_body_bytes = match get("MAX_BODY_BYTES").filter(|v| !v.trim().is_empty()) {
            None => DEFAULT_MAX_BODY_BYTES,
            Some(v) => v
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| format!("MAX_BODY_BYTES must be a positive integer, got {v:?}"))?,
        };
        Ok(Self {
            cors,
            max_body_bytes,
        })
    }

    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_validation() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!((c.cors, c.max_body_bytes), (Cors::Any, 262_144));
        let c = Config::from_lookup(|k| (k == "MAX_BODY_BYTES").then(|| "1024".into())).unwrap();
        assert_eq!(c.max_body_bytes, 1024);
        assert!(Config::from_lookup(|k| (k == "MAX_BODY_BYTES").then(|| "lots".into())).is_err());
    }
}
