//! Prose for the module README: what the module creates and how to call it. The README
//! generator (`crate::readme`) adds the input/output tables and the checkov skips.

use crate::config::model::ApiAuth;
use crate::plan::Plan;

/// Markdown: what `gen terraform` with this config creates.
pub fn what_it_creates(plan: &Plan) -> String {
    let config = &plan.config;
    let c = &config.components;
    let mut items: Vec<String> = vec![
        "A customer managed **KMS key** (or yours, via `kms_key_arn`) encrypting everything below; its policy lets CloudWatch alarms publish to the encrypted topic.".into(),
        "The **logs bucket**: SSE-KMS, public access block, TLS-only policy, versioning, lifecycle (transition, expiry, abort incomplete uploads), and an ObjectCreated notification on `logs/` to the log processor.".into(),
        "The **`<name_prefix>-ApplicationMetrics` table**: `ServiceName`/`Timestamp`, `TimestampIndex` GSI (keys inverted), on-demand, SSE-KMS, point-in-time recovery, TTL on `ExpiresAt`.".into(),
        "The **alarm topic** (or yours, via `sns_topic_arn`) with email subscriptions from `alarm_emails`.".into(),
    ];
    let fns: Vec<&str> = plan.functions.iter().map(|f| f.slug()).collect();
    items.push(format!(
        "**Lambda functions** ({}): provided.al2023, X-Ray, one role each with a least-privilege policy, KMS-encrypted log groups with retention, on-failure destinations for the asynchronously invoked ones (an SQS queue for the log processor, the notification topic for the runbook executor); code from `gen package`'s manifest or S3.",
        fns.join(", ")
    ));
    if c.api {
        let mode = |a: ApiAuth| match a {
            ApiAuth::ApiKey => "API key + usage plan",
            ApiAuth::Iam => "IAM (SigV4)",
        };
        let auth = format!(
            "reads by {} and writes (`POST /metrics`) by {} (`api_read_auth`, `api_write_auth`: `api_key` or `iam` each)",
            mode(config.api.read_auth),
            mode(config.api.write_auth)
        );
        items.push(format!("A **REST API**: `/metrics` GET+POST, `/health` GET (Lambda proxy), an unauthenticated OPTIONS preflight the function answers for every allowed origin, {auth}, CORS headers on API Gateway's own 4XX/5XX responses, a stage with JSON access logs, execution logs, X-Ray and throttling."));
    }
    let alarms = &plan.alarms;
    if !alarms.is_empty() {
        let names: Vec<String> = alarms.iter().map(|a| format!("`{}`", a.name)).collect();
        items.push(format!(
            "**CloudWatch alarms** ({}) notifying the topic on ALARM and OK; each description names its runbook link and SSM parameter.",
            names.join(", ")
        ));
    }
    if c.runbooks {
        items.push("**Runbooks** in SSM Parameter Store (`/<name_prefix>/runbooks/<alarm>`, SecureString JSON) and the runbook executor's topic subscription, filtered so its own notifications never trigger it.".into());
    }
    if c.dashboard {
        items.push(
            "A **CloudWatch dashboard** with the alarms and API, Lambda and DynamoDB sections."
                .into(),
        );
    }
    let mut out =
        String::from("This module deploys a serverless application-monitoring stack:\n\n");
    for item in items {
        out.push_str(&format!("- {item}\n"));
    }
    out
}

/// HCL: a typical call of the module.
pub fn usage() -> &'static str {
    r#"module "monitoring" {
  source = "./terraform"

  name_prefix  = "myapp"
  alarm_emails = ["oncall@example.com"]
  tags = {
    Team = "platform"
  }

  # Optional: resources you already have.
  # sns_topic_arn = aws_sns_topic.oncall.arn
  # kms_key_arn   = aws_kms_key.platform.arn
}"#
}

/// Markdown: what on-call's e-mail gets, and how (empty without the runbook executor).
pub fn alarm_email(plan: &Plan) -> String {
    if !plan.deploys(crate::config::model::Function::RunbookExecutor) {
        return String::new();
    }
    "## Alarm e-mail (one message per state change)\n\n\
     SNS cannot deliver a message on a condition, so the module routes e-mail through the runbook \
     executor. CloudWatch publishes to the **alarm topic**; the executor subscribes to it and \
     publishes its enriched message (what fired, the service, since when, recent values, the \
     runbook link, each step and its outcome) to the **notification topic**, where `alarm_emails` \
     subscribe. When the executor does not get its message out (the runbook has no `notify` step, \
     the step failed, a dry run) or a step fails after it, the executor forwards CloudWatch's \
     notification there instead, with the reason; when the executor itself fails (an error on \
     every retry, or the event too old), Lambda's on-failure destination, the same topic, gets \
     the invocation record, whose `requestPayload` holds CloudWatch's notification. So on-call \
     gets one e-mail per state change and loses none while the executor is down. \
     `alarm_email_messages = \"both\"` subscribes `alarm_emails` to the alarm topic as well \
     (CloudWatch's raw notification too); without the runbook executor they subscribe to the \
     alarm topic only. Changing either creates new subscriptions, which each address must \
     confirm again.\n\n\
     **Your own topics.** With `sns_topic_arn` (your alarm topic) the module still creates its \
     notification topic and subscribes `alarm_emails` there; your topic's own subscribers keep \
     getting CloudWatch's raw notifications only. To have the executor's messages on a topic of \
     yours, pass it as `notification_sns_topic_arn` (in the stack's account; unencrypted or under \
     the stack's KMS key, the only key the executor's role may use). The same ARN for both gives \
     one topic whose subscribers get both messages.\n\n"
        .into()
}

/// Markdown: the API Gateway account setting the module manages by default (empty without API).
pub fn api_account_setting(plan: &Plan) -> String {
    let config = &plan.config;
    if !config.components.api {
        return String::new();
    }
    format!(
        "## API Gateway account setting (account-wide, per region)\n\n\
         API Gateway writes a stage's access and execution logs to CloudWatch through one IAM role \
         per AWS account **and region**, shared by every REST API there (`aws_api_gateway_account`). \
         AWS refuses a logging stage until that role is set, so by default \
         (`manage_api_gateway_account_role = true`) the module creates the role \
         (AmazonAPIGatewayPushToCloudWatchLogs) and sets it, before the stage. In an account and \
         region that already has the setting, pass `manage_api_gateway_account_role = false` (the \
         existing role stays in use), or hand your role to `api_gateway_cloudwatch_role_arn` to have \
         the module set that one; with the default, the module overwrites the existing setting.\n\n\
         {}\n\n\
         The execution log group `API-Gateway-Execution-Logs_<api id>/<stage>` is the module's \
         (retention and KMS key like the other groups), created before the stage so that API Gateway \
         does not create it without either.\n",
        super::api::ACCOUNT_SETTING_ON_DESTROY
    )
}
