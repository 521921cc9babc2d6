//! Loading the runbook an alarm points at from SSM Parameter Store, and the notify-only fallback
//! used when it is missing or rejected. The model and its validation are the contract's.
//!
//! Format reference: docs/runbooks.md.

use crate::ports::BoxFuture;

/// The runbook types and every limit live in the contract crate `gen` validates with.
pub use contract::runbook::{
    OnFailure, ParseError, Runbook, Step, DEFAULT_LOOKBACK_MINUTES, MAX_LOOKBACK_MINUTES, MAX_STEPS,
};

/// Why the configured runbook could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunbookError {
    #[error("runbook parameter {0} does not exist")]
    Missing(String),
    #[error("runbook parameter {name} could not be read: {reason}")]
    Unreadable { name: String, reason: String },
    #[error("{0}")]
    Rejected(ParseError),
}

/// Reads a parameter (decrypted when it is a SecureString). `Ok(None)` when it does not exist.
pub trait RunbookSource: Send + Sync {
    fn get_parameter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Option<String>>>;
}

/// A runbook ready to run, and why the fallback replaced the configured one (if it did).
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    pub runbook: Runbook,
    pub fallback_reason: Option<String>,
}

/// Loads `<prefix><alarm name>`; any problem yields the notify-only fallback with its reason.
pub async fn load(source: &dyn RunbookSource, prefix: &str, alarm_name: &str) -> Loaded {
    let name = format!("{prefix}{alarm_name}");
    let result = match source.get_parameter(&name).await {
        Ok(Some(raw)) => Runbook::parse(&raw, alarm_name).map_err(RunbookError::Rejected),
        Ok(None) => Err(RunbookError::Missing(name)),
        Err(e) => Err(RunbookError::Unreadable {
            name,
            reason: format!("{e:#}"),
        }),
    };
    match result {
        Ok(runbook) => Loaded {
            runbook,
            fallback_reason: None,
        },
        Err(e) => Loaded {
            runbook: Runbook::fallback(alarm_name),
            fallback_reason: Some(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A valid runbook (the format's own tests are in `contract::runbook`).
    const FULL: &str =
        r#"{"alarm":"checkout-5xx","steps":[{"type":"record_incident"},{"type":"notify"}]}"#;

    struct Fixed(anyhow::Result<Option<String>>);
    impl RunbookSource for Fixed {
        fn get_parameter<'a>(
            &'a self,
            name: &'a str,
        ) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
            assert_eq!(name, "/appmon/runbooks/checkout-5xx");
            let r = match &self.0 {
                Ok(v) => Ok(v.clone()),
                Err(e) => Err(anyhow::anyhow!("{e}")),
            };
            Box::pin(async move { r })
        }
    }

    #[tokio::test]
    async fn load_falls_back_to_notify_only() {
        let prefix = "/appmon/runbooks/";
        let ok = load(&Fixed(Ok(Some(FULL.into()))), prefix, "checkout-5xx").await;
        assert_eq!(ok.fallback_reason, None);
        assert_eq!(ok.runbook.steps.len(), 2);
        for (source, why) in [
            (Fixed(Ok(None)), "does not exist"),
            (Fixed(Ok(Some("{".into()))), "not valid JSON"),
            (Fixed(Err(anyhow::anyhow!("AccessDenied"))), "AccessDenied"),
        ] {
            let l = load(&source, prefix, "checkout-5xx").await;
            assert_eq!(l.runbook, Runbook::fallback("checkout-5xx"));
            assert!(
                l.fallback_reason.as_deref().unwrap().contains(why),
                "{:?}",
                l.fallback_reason
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parsing_never_panics(s in "\\PC{0,200}") {
            let _ = Runbook::parse(&s, "a");
        }

        #[test]
        fn lookback_is_accepted_exactly_in_range(n in 0u32..3000) {
            let raw = format!(r#"{{"alarm":"a","steps":[{{"type":"gather_context","lookback_minutes":{n}}}]}}"#);
            prop_assert_eq!(Runbook::parse(&raw, "a").is_ok(), (1..=MAX_LOOKBACK_MINUTES).contains(&n));
        }
    }
}
