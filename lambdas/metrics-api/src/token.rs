//! The opaque `next_token`: base64url(JSON) of where the next page starts,
//! the resolved range (so defaulted `from`/`to` stay put across pages) and a
//! hash of the other query parameters, so a token only resumes the query
//! that produced it.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageToken {
    /// Start of the next page (epoch seconds, a period boundary).
    pub start: i64,
    pub from: i64,
    pub to: i64,
    /// `params_hash` of the query that produced the token.
    pub hash: String,
    /// A `top` query's ranking, computed on its first page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranked: Option<Vec<(String, f64)>>,
}

const ENGINE: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

impl PageToken {
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        ENGINE.encode(json)
    }

    pub fn decode(s: &str) -> Result<Self, ApiError> {
        let bad = || ApiError::param("next_token", "next_token is not a token this API issued");
        let bytes = ENGINE.decode(s.as_bytes()).map_err(|_| bad())?;
        serde_json::from_slice(&bytes).map_err(|_| bad())
    }
}

/// Hash of every query parameter except `next_token`, in key order.
pub fn params_hash(query: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    for (k, v) in query.iter().filter(|(k, _)| k.as_str() != "next_token") {
        // Length-prefixed so that ("ab","c") and ("a","bc") differ.
        h.update((k.len() as u64).to_be_bytes());
        h.update(k.as_bytes());
        h.update((v.len() as u64).to_be_bytes());
        h.update(v.as_bytes());
    }
    let digest = h.finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let t = PageToken {
            start: 120,
            from: 60,
            to: 600,
            hash: "abc".into(),
            ranked: None,
        };
        assert_eq!(PageToken::decode(&t.encode()).unwrap(), t);
        assert_eq!(
            PageToken::decode("!!").unwrap_err().field.as_deref(),
            Some("next_token")
        );
        assert!(PageToken::decode(&ENGINE.encode(b"{\"x\":1}")).is_err());
    }

    #[test]
    fn hash_ignores_next_token_but_not_other_params() {
        let a: BTreeMap<String, String> = [("service".into(), "a".into())].into();
        let mut b = a.clone();
        b.insert("next_token".into(), "zzz".into());
        assert_eq!(params_hash(&a), params_hash(&b));
        b.insert("stat".into(), "p99".into());
        assert_ne!(params_hash(&a), params_hash(&b));
    }
}
