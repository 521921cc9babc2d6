//! SSM: runbook parameters (decrypted SecureString or String) and Automation executions.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ssm::Client;
use contract::iam::{AwsClient, Operation};

use crate::ports::BoxFuture;
use crate::runbook::RunbookSource;
use crate::steps::start_automation::AutomationRunner;

pub struct Ssm(pub(super) Client);

impl AwsClient for Ssm {
    const OPERATIONS: &'static [Operation] = &[
        Operation::SsmGetParameter,
        Operation::SsmStartAutomationExecution,
    ];
}

impl RunbookSource for Ssm {
    fn get_parameter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        Box::pin(async move {
            match self
                .0
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
            {
                Ok(out) => Ok(out.parameter.and_then(|p| p.value)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(super::sdk_error("SSM GetParameter", e)),
            }
        })
    }
}

impl AutomationRunner for Ssm {
    fn start<'a>(
        &'a self,
        document: &'a str,
        parameters: &'a BTreeMap<String, Vec<String>>,
        client_token: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>> {
        Box::pin(async move {
            let params: HashMap<String, Vec<String>> = parameters.clone().into_iter().collect();
            let out = self
                .0
                .start_automation_execution()
                .document_name(document)
                .set_parameters(Some(params))
                .client_token(client_token)
                .send()
                .await
                .map_err(|e| super::sdk_error("SSM StartAutomationExecution", e))?;
            Ok(out.automation_execution_id.unwrap_or_default())
        })
    }
}
