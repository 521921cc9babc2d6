//! `start_automation`: starts an SSM Automation document with the runbook's parameters.
//!
//! On ALARM only (the executor skips it for other states). The client token is derived from the
//! SNS message id and step index, so even a retried API call cannot start a second execution.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use super::{Done, Run};
use crate::ports::BoxFuture;

pub trait AutomationRunner: Send + Sync {
    /// Starts the document; returns the automation execution id.
    fn start<'a>(
        &'a self,
        document: &'a str,
        parameters: &'a BTreeMap<String, Vec<String>>,
        client_token: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>>;
}

/// A UUID-shaped token (SSM requires that form) unique to (message, step).
pub fn client_token(message_id: &str, step_index: usize) -> String {
    let digest = Sha256::digest(format!("{message_id}#{step_index}").as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

pub async fn run(
    runner: &dyn AutomationRunner,
    run: &Run<'_>,
    step_index: usize,
    document: &str,
    parameters: &BTreeMap<String, Vec<String>>,
) -> anyhow::Result<Done> {
    let token = client_token(run.message_id, step_index);
    let id = runner.start(document, parameters, &token).await?;
    Ok(Done::Ok(format!(
        "started {document} as automation execution {id}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_is_uuid_shaped_and_stable() {
        let t = client_token("95df01b4-ee98-5cb9-9903-4c221d41eb5e", 3);
        assert_eq!(t.len(), 36);
        assert_eq!(t.matches('-').count(), 4);
        assert_eq!(t, client_token("95df01b4-ee98-5cb9-9903-4c221d41eb5e", 3));
        assert_ne!(t, client_token("95df01b4-ee98-5cb9-9903-4c221d41eb5e", 4));
    }
}
