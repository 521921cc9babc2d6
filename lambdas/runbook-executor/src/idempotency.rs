//! Per-(message, step) claims that make SNS redelivery harmless.
//!
//! Before a step with side effects runs for SNS message `M`, the executor writes the item
//! `#delivery#M#<step index>` / `<step type>` with `attribute_not_exists`. Only the delivery that
//! wrote it runs the step; afterwards the item is marked `done` or `failed` with the outcome.
//! A redelivery finds the item and skips the step, reporting the earlier outcome.
//!
//! Crash semantics: a crash between the claim and the step's completion leaves the claim in
//! `started`; redeliveries skip that step rather than risk running it twice (at most once per
//! step). The `started` claim stays visible (with its time) until its TTL for an operator to see.
//! Steps after the crashed one were never claimed, so a redelivery runs them. A failure to write
//! a claim (table unreachable) fails the invocation before the step runs, so Lambda's retry can
//! run it later. Read-only steps (`gather_context`) take no claim and simply run again.

use chrono::{DateTime, Utc};
use metrics_core::service::reserved_key;

use crate::ports::BoxFuture;

/// Key of a claim item in table `ApplicationMetrics`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimKey {
    /// `#delivery#<message id>#<step index>`
    pub pk: String,
    /// The step type, e.g. `notify`.
    pub sk: String,
}

impl ClaimKey {
    pub fn new(message_id: &str, step_index: usize, step_kind: &str) -> ClaimKey {
        ClaimKey {
            pk: reserved_key("delivery", &format!("{message_id}#{step_index}")),
            sk: step_kind.to_string(),
        }
    }
}

/// Result of trying to claim a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This delivery owns the step and must run it.
    Acquired,
    /// An earlier delivery claimed it; `status` is `started`, `done` or `failed`.
    AlreadyClaimed { status: String, claimed_at: String },
}

pub trait ClaimStore: Send + Sync {
    /// Conditionally creates the claim (status `started`, TTL `expires_at` epoch seconds).
    fn claim<'a>(
        &'a self,
        key: &'a ClaimKey,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> BoxFuture<'a, anyhow::Result<Claim>>;
    /// Records how the claimed step ended (`done` or `failed`) and a short detail.
    fn complete<'a>(
        &'a self,
        key: &'a ClaimKey,
        status: &'a str,
        detail: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_live_in_the_reserved_space() {
        let k = ClaimKey::new("95df01b4-ee98-5cb9-9903-4c221d41eb5e", 2, "notify");
        assert_eq!(k.pk, "#delivery#95df01b4-ee98-5cb9-9903-4c221d41eb5e#2");
        assert_eq!(k.sk, "notify");
        assert!(metrics_core::service::validate_service_name(&k.pk).is_err());
    }
}
