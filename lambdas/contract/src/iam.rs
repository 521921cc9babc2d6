//! Least privilege both ways, from one list.
//!
//! [`Function::grants`] declares, for each function, every AWS operation it performs and on which
//! of the stack's resources. Two things are derived from that one list:
//!
//! - the IAM policy `gen` writes for the function's role (actions from
//!   [`Operation::iam_actions`], the KMS actions the encrypted resources need from
//!   [`Operation::key_actions`]);
//! - the compile-time check [`assert_clients!`]: a function reaches AWS only through typed clients
//!   (each implements [`AwsClient`] and lists the operations its methods perform), and the set of
//!   operations of the function's clients must equal the set the grants name. A client that
//!   performs an operation the grants do not name does not compile, and neither does a grant that
//!   no client needs.
//!
//! [`Operation::api_action`] is the `service:Operation` name of the request itself, which is what
//! moto's IAM enforcement checks (for example `dynamodb:TransactWriteItems`, where AWS checks
//! `dynamodb:PutItem` for each Put inside the transaction). `gen contract` prints this table as
//! JSON; the local harness's IAM table (`tests/e2e/iam_map.py`) is tested against it.

use serde::{Deserialize, Serialize};

/// The stack's Lambda functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Function {
    LogProcessor,
    MetricsApi,
    RunbookExecutor,
}

impl Function {
    pub const ALL: [Function; 3] = [
        Function::LogProcessor,
        Function::MetricsApi,
        Function::RunbookExecutor,
    ];

    /// Name used in resource names, the package manifest and Terraform map keys.
    pub const fn slug(self) -> &'static str {
        match self {
            Function::LogProcessor => "log-processor",
            Function::MetricsApi => "metrics-api",
            Function::RunbookExecutor => "runbook-executor",
        }
    }

    /// Name used in Terraform identifiers (resource names, outputs).
    pub const fn ident(self) -> &'static str {
        match self {
            Function::LogProcessor => "log_processor",
            Function::MetricsApi => "metrics_api",
            Function::RunbookExecutor => "runbook_executor",
        }
    }

    /// Every AWS operation the function performs, with its resources. The policy statements of the
    /// function's role, in this order (plus the platform statements every Lambda role needs:
    /// logs, X-Ray, the on-failure queue).
    pub const fn grants(self) -> &'static [Grant] {
        match self {
            Function::LogProcessor => grants::LOG_PROCESSOR,
            Function::MetricsApi => grants::METRICS_API,
            Function::RunbookExecutor => grants::RUNBOOK_EXECUTOR,
        }
    }

    /// KMS actions on the stack's key that the function's operations need (their resources are
    /// encrypted with it), sorted and without duplicates.
    pub fn key_actions(self) -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = self
            .grants()
            .iter()
            .flat_map(|g| g.operations)
            .flat_map(|op| op.key_actions())
            .copied()
            .collect();
        actions.sort_unstable();
        actions.dedup();
        // `kms:GenerateDataKey*` covers `kms:GenerateDataKey`: keep the statement minimal.
        let wildcards: Vec<&str> = actions.iter().filter_map(|a| a.strip_suffix('*')).collect();
        actions.retain(|a| a.ends_with('*') || !wildcards.iter().any(|w| a.starts_with(w)));
        actions
    }

    /// The operations the function's clients must perform (the granted API calls).
    pub fn api_operations(self) -> Vec<Operation> {
        let mut ops: Vec<Operation> = self
            .grants()
            .iter()
            .flat_map(|g| g.operations)
            .copied()
            .filter(|op| op.implied_by().is_none())
            .collect();
        ops.sort_unstable();
        ops.dedup();
        ops
    }
}

/// The declarations behind [`Function::grants`].
mod grants {
    use super::Operation::*;
    use super::Resource::*;
    use super::{Condition, Grant};

    pub const LOG_PROCESSOR: &[Grant] = &[
        Grant::new("ReadLogObjects", &[S3GetObject], &[LogObjects]),
        MERGE_METRIC_ITEMS,
        PUBLISH_SERVICE_METRICS,
    ];

    /// Exactly-once merges of minute items (consistent BatchGetItem, conditional Puts in
    /// TransactWriteItems), then the rollups above them: GetItem, a consistent Query of their
    /// children, a conditional PutItem (`metrics_core::store::rollup`). The table only, never
    /// its index.
    const MERGE_METRIC_ITEMS: Grant = Grant::new(
        "MergeMetricItemsAndRollups",
        &[
            DynamoDbBatchGetItem,
            DynamoDbTransactPuts,
            DynamoDbGetItem,
            DynamoDbQuery,
            DynamoDbPutItem,
        ],
        &[Table],
    );

    /// After each store commit, what it newly applied goes to CloudWatch (service alarms).
    const PUBLISH_SERVICE_METRICS: Grant = Grant::new(
        "PublishServiceMetrics",
        &[CloudWatchPutMetricData],
        &[Unscoped],
    )
    .when(Condition::ServiceMetricNamespace);

    pub const METRICS_API: &[Grant] = &[
        Grant::new("CheckTable", &[DynamoDbDescribeTable], &[Table]),
        Grant::new("QueryMetrics", &[DynamoDbQuery], &[Table, TableIndexes]),
        MERGE_METRIC_ITEMS,
        PUBLISH_SERVICE_METRICS,
    ];

    pub const RUNBOOK_EXECUTOR: &[Grant] = &[
        Grant::new("ReadRunbooks", &[SsmGetParameter], &[RunbookParameters]),
        Grant::new(
            "ClaimStepsRecordIncidentsReadMetrics",
            &[
                DynamoDbGetItem,
                DynamoDbPutItem,
                DynamoDbQuery,
                DynamoDbUpdateItem,
            ],
            &[Table],
        ),
        Grant::new("Notify", &[SnsPublish], &[NotificationTopic]),
        Grant::new("ReadAlarmMetrics", &[CloudWatchGetMetricData], &[Unscoped]),
        Grant::new("PutRunbookMetrics", &[CloudWatchPutMetricData], &[Unscoped])
            .when(Condition::RunbookMetricNamespace),
        Grant::new(
            "StartListedAutomations",
            &[SsmStartAutomationExecution],
            &[AutomationDefinitions],
        ),
        Grant::new(
            "PassAutomationAssumeRoles",
            &[IamPassRole],
            &[AutomationAssumeRoles],
        )
        .when(Condition::PassedToSsm),
    ];
}

/// An AWS API operation one of the functions performs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Operation {
    /// GetObject, pinned to the event's version (so also `s3:GetObjectVersion`).
    S3GetObject,
    DynamoDbDescribeTable,
    DynamoDbBatchGetItem,
    DynamoDbQuery,
    DynamoDbGetItem,
    DynamoDbPutItem,
    DynamoDbUpdateItem,
    /// TransactWriteItems whose items are all conditional Puts.
    DynamoDbTransactPuts,
    SnsPublish,
    SsmGetParameter,
    SsmStartAutomationExecution,
    CloudWatchGetMetricData,
    CloudWatchPutMetricData,
    /// Not a call of the function's own: StartAutomationExecution of a document that runs under an
    /// `AutomationAssumeRole` passes that role to SSM.
    IamPassRole,
}

impl Operation {
    pub const ALL: [Operation; 14] = [
        Operation::S3GetObject,
        Operation::DynamoDbDescribeTable,
        Operation::DynamoDbBatchGetItem,
        Operation::DynamoDbQuery,
        Operation::DynamoDbGetItem,
        Operation::DynamoDbPutItem,
        Operation::DynamoDbUpdateItem,
        Operation::DynamoDbTransactPuts,
        Operation::SnsPublish,
        Operation::SsmGetParameter,
        Operation::SsmStartAutomationExecution,
        Operation::CloudWatchGetMetricData,
        Operation::CloudWatchPutMetricData,
        Operation::IamPassRole,
    ];

    /// The request's own `service:Operation` name: what moto's IAM enforcement checks.
    pub const fn api_action(self) -> &'static str {
        match self {
            Operation::S3GetObject => "s3:GetObject",
            Operation::DynamoDbDescribeTable => "dynamodb:DescribeTable",
            Operation::DynamoDbBatchGetItem => "dynamodb:BatchGetItem",
            Operation::DynamoDbQuery => "dynamodb:Query",
            Operation::DynamoDbGetItem => "dynamodb:GetItem",
            Operation::DynamoDbPutItem => "dynamodb:PutItem",
            Operation::DynamoDbUpdateItem => "dynamodb:UpdateItem",
            Operation::DynamoDbTransactPuts => "dynamodb:TransactWriteItems",
            Operation::SnsPublish => "sns:Publish",
            Operation::SsmGetParameter => "ssm:GetParameter",
            Operation::SsmStartAutomationExecution => "ssm:StartAutomationExecution",
            Operation::CloudWatchGetMetricData => "cloudwatch:GetMetricData",
            Operation::CloudWatchPutMetricData => "cloudwatch:PutMetricData",
            Operation::IamPassRole => "iam:PassRole",
        }
    }

    /// The IAM actions AWS authorises the operation with.
    pub const fn iam_actions(self) -> &'static [&'static str] {
        match self {
            // https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html#API_GetObject_Permissions
            // ("If you specify a versionId, you need s3:GetObjectVersion").
            Operation::S3GetObject => &["s3:GetObject", "s3:GetObjectVersion"],
            // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html:
            // TransactWriteItems is authorised per item, by the action of each item (Put -> PutItem);
            // there is no dynamodb:TransactWriteItems action.
            Operation::DynamoDbTransactPuts => &["dynamodb:PutItem"],
            Operation::DynamoDbDescribeTable => &["dynamodb:DescribeTable"],
            Operation::DynamoDbBatchGetItem => &["dynamodb:BatchGetItem"],
            Operation::DynamoDbQuery => &["dynamodb:Query"],
            Operation::DynamoDbGetItem => &["dynamodb:GetItem"],
            Operation::DynamoDbPutItem => &["dynamodb:PutItem"],
            Operation::DynamoDbUpdateItem => &["dynamodb:UpdateItem"],
            Operation::SnsPublish => &["sns:Publish"],
            Operation::SsmGetParameter => &["ssm:GetParameter"],
            Operation::SsmStartAutomationExecution => &["ssm:StartAutomationExecution"],
            Operation::CloudWatchGetMetricData => &["cloudwatch:GetMetricData"],
            Operation::CloudWatchPutMetricData => &["cloudwatch:PutMetricData"],
            Operation::IamPassRole => &["iam:PassRole"],
        }
    }

    /// KMS actions on the stack's key the operation needs, its resource being encrypted with it.
    pub const fn key_actions(self) -> &'static [&'static str] {
        match self {
            // SSE-KMS objects: https://docs.aws.amazon.com/AmazonS3/latest/userguide/UsingKMSEncryption.html
            // ("to download an object encrypted with a KMS key, you need kms:Decrypt").
            Operation::S3GetObject => &["kms:Decrypt"],
            // Tables under a customer managed key: the caller must be allowed to use the key through
            // DynamoDB, https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/encryption.howitworks.html
            Operation::DynamoDbDescribeTable => &[],
            Operation::DynamoDbBatchGetItem
            | Operation::DynamoDbQuery
            | Operation::DynamoDbGetItem
            | Operation::DynamoDbPutItem
            | Operation::DynamoDbUpdateItem
            | Operation::DynamoDbTransactPuts => &["kms:Decrypt", "kms:GenerateDataKey"],
            // Publishing to an encrypted topic: https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
            // ("publishers need kms:GenerateDataKey* and kms:Decrypt").
            Operation::SnsPublish => &["kms:Decrypt", "kms:GenerateDataKey*"],
            // SecureString parameters under the stack's key:
            // https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-access.html
            Operation::SsmGetParameter => &["kms:Decrypt"],
            Operation::SsmStartAutomationExecution
            | Operation::CloudWatchGetMetricData
            | Operation::CloudWatchPutMetricData
            | Operation::IamPassRole => &[],
        }
    }

    /// The operation that makes this one necessary, for grants that are not calls of their own.
    pub const fn implied_by(self) -> Option<Operation> {
        match self {
            Operation::IamPassRole => Some(Operation::SsmStartAutomationExecution),
            _ => None,
        }
    }
}

/// The stack resources a grant names; the generator turns each into ARNs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Resource {
    /// Objects under the logs prefix of the logs bucket.
    LogObjects,
    /// The ApplicationMetrics table.
    Table,
    /// The table's global secondary indexes (TimestampIndex).
    TableIndexes,
    /// The notification topic the executor publishes to (and its on-failure destination, which
    /// Lambda sends with the function's execution role).
    NotificationTopic,
    /// The runbook parameters under the runbook prefix.
    RunbookParameters,
    /// The SSM Automation documents named by `start_automation` steps (may be none).
    AutomationDefinitions,
    /// The roles those documents assume (may be none).
    AutomationAssumeRoles,
    /// The action supports no resource-level permissions: `*`.
    Unscoped,
}

impl Resource {
    /// A list the configuration may leave empty: the statement exists only when it is not.
    pub const fn may_be_empty(self) -> bool {
        matches!(
            self,
            Resource::AutomationDefinitions | Resource::AutomationAssumeRoles
        )
    }
}

/// A condition a grant is scoped by, where the resource alone cannot scope it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Condition {
    /// `cloudwatch:namespace` equals the runbook metric namespace (PutMetricData has no resource).
    RunbookMetricNamespace,
    /// `cloudwatch:namespace` equals the service metrics namespace.
    ServiceMetricNamespace,
    /// `iam:PassedToService` equals `ssm.amazonaws.com`.
    PassedToSsm,
}

/// One policy statement: these operations on these resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Grant {
    pub sid: &'static str,
    pub operations: &'static [Operation],
    pub resources: &'static [Resource],
    pub condition: Option<Condition>,
}

impl Grant {
    pub(crate) const fn new(
        sid: &'static str,
        operations: &'static [Operation],
        resources: &'static [Resource],
    ) -> Grant {
        Grant {
            sid,
            operations,
            resources,
            condition: None,
        }
    }

    pub(crate) const fn when(self, condition: Condition) -> Grant {
        Grant {
            condition: Some(condition),
            ..self
        }
    }

    /// The IAM actions of the statement, sorted and without duplicates.
    pub fn iam_actions(&self) -> Vec<&'static str> {
        let mut actions: Vec<&'static str> = self
            .operations
            .iter()
            .flat_map(|op| op.iam_actions())
            .copied()
            .collect();
        actions.sort_unstable();
        actions.dedup();
        actions
    }
}

/// A typed AWS client: the only way a function's code reaches AWS. `OPERATIONS` lists every
/// operation its methods perform.
pub trait AwsClient {
    const OPERATIONS: &'static [Operation];
}

const fn contains(ops: &[Operation], op: Operation) -> bool {
    let mut i = 0;
    while i < ops.len() {
        if ops[i] as u8 == op as u8 {
            return true;
        }
        i += 1;
    }
    false
}

const fn granted(function: Function, op: Operation) -> bool {
    let grants = function.grants();
    let mut i = 0;
    while i < grants.len() {
        if contains(grants[i].operations, op) {
            return true;
        }
        i += 1;
    }
    false
}

/// True when the clients perform exactly the operations granted to `function`: every client
/// operation is granted, and every granted API call is performed by some client (an implied grant
/// such as PassRole needs the call that implies it). Evaluated at compile time by
/// [`assert_clients!`]; [`client_mismatches`] says what differs.
pub const fn clients_match_grants(function: Function, clients: &[&[Operation]]) -> bool {
    let mut c = 0;
    while c < clients.len() {
        let mut i = 0;
        while i < clients[c].len() {
            if !granted(function, clients[c][i]) {
                return false;
            }
            i += 1;
        }
        c += 1;
    }
    let grants = function.grants();
    let mut g = 0;
    while g < grants.len() {
        let mut i = 0;
        while i < grants[g].operations.len() {
            let op = grants[g].operations[i];
            let needed = match op.implied_by() {
                Some(by) => by,
                None => op,
            };
            let mut performed = false;
            let mut c = 0;
            while c < clients.len() {
                performed = performed || contains(clients[c], needed);
                c += 1;
            }
            if !performed {
                return false;
            }
            i += 1;
        }
        g += 1;
    }
    true
}

/// What [`clients_match_grants`] found wrong, in words (empty when it holds).
pub fn client_mismatches(function: Function, clients: &[&[Operation]]) -> Vec<String> {
    let performed: Vec<Operation> = clients.iter().flat_map(|c| c.iter().copied()).collect();
    let mut problems = Vec::new();
    for op in &performed {
        if !granted(function, *op) {
            problems.push(format!(
                "{} calls {op:?}, which its grants do not name",
                function.slug()
            ));
        }
    }
    for grant in function.grants() {
        for op in grant.operations {
            let needed = op.implied_by().unwrap_or(*op);
            if !performed.contains(&needed) {
                problems.push(format!(
                    "{} is granted {op:?} ({}) but no client performs {needed:?}",
                    function.slug(),
                    grant.sid
                ));
            }
        }
    }
    problems
}

/// Fails the build unless the listed client types perform exactly the operations granted to the
/// function: `contract::assert_clients!(Function::LogProcessor; LogObjects, MetricWriter);`
#[macro_export]
macro_rules! assert_clients {
    ($function:expr; $($client:ty),+ $(,)?) => {
        const _: () = assert!(
            $crate::iam::clients_match_grants(
                $function,
                &[$(<$client as $crate::iam::AwsClient>::OPERATIONS),+],
            ),
            "the function's typed clients perform other operations than its grants name \
             (see contract::iam::client_mismatches)"
        );
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_iam_actions_and_a_request_name() {
        for op in Operation::ALL {
            assert!(!op.iam_actions().is_empty(), "{op:?}");
            let (service, name) = op.api_action().split_once(':').expect("service:Operation");
            assert!(!service.is_empty() && name.chars().next().unwrap().is_ascii_uppercase());
            for action in op.iam_actions() {
                assert!(
                    action.starts_with(&format!("{service}:")),
                    "{op:?} -> {action}"
                );
            }
        }
    }

    #[test]
    fn transactions_are_authorised_per_item_not_by_an_action_of_their_own() {
        assert_eq!(
            Operation::DynamoDbTransactPuts.iam_actions(),
            ["dynamodb:PutItem"]
        );
        assert_eq!(
            Operation::DynamoDbTransactPuts.api_action(),
            "dynamodb:TransactWriteItems"
        );
    }

    #[test]
    fn the_declared_policies_hold_only_what_the_functions_call() {
        // The actions the issue found granted but never called stay out.
        let actions = |f: Function| -> Vec<&str> {
            f.grants().iter().flat_map(|g| g.iam_actions()).collect()
        };
        let lp = actions(Function::LogProcessor);
        for unused in [
            "dynamodb:BatchWriteItem",
            "dynamodb:UpdateItem",
            "dynamodb:ConditionCheckItem",
        ] {
            assert!(!lp.contains(&unused), "log-processor grants {unused}");
        }
        let api = actions(Function::MetricsApi);
        for unused in ["dynamodb:UpdateItem", "dynamodb:ConditionCheckItem"] {
            assert!(!api.contains(&unused), "metrics-api grants {unused}");
        }
        // The writers read the table (rollup children), never its index.
        for f in [Function::LogProcessor, Function::MetricsApi] {
            let merge = f
                .grants()
                .iter()
                .find(|g| g.sid == "MergeMetricItemsAndRollups")
                .unwrap();
            assert_eq!(merge.resources, [Resource::Table]);
        }
        let rx = actions(Function::RunbookExecutor);
        assert!(!rx.contains(&"dynamodb:ConditionCheckItem"));
        assert!(Function::RunbookExecutor
            .grants()
            .iter()
            .filter(|g| g.operations.contains(&Operation::DynamoDbQuery))
            .all(|g| !g.resources.contains(&Resource::TableIndexes)));
    }

    #[test]
    fn key_actions_follow_the_encrypted_resources() {
        assert_eq!(
            Function::LogProcessor.key_actions(),
            ["kms:Decrypt", "kms:GenerateDataKey"]
        );
        assert_eq!(
            Function::RunbookExecutor.key_actions(),
            ["kms:Decrypt", "kms:GenerateDataKey*"]
        );
    }

    const WRITER: &[Operation] = &[
        Operation::DynamoDbBatchGetItem,
        Operation::DynamoDbTransactPuts,
        Operation::DynamoDbGetItem,
        Operation::DynamoDbQuery,
        Operation::DynamoDbPutItem,
    ];

    /// The log processor's and the metrics API's publisher of the services' metrics.
    const PUBLISHER: &[Operation] = &[Operation::CloudWatchPutMetricData];

    #[test]
    fn clients_must_match_the_grants_both_ways() {
        let f = Function::LogProcessor;
        let s3 = &[Operation::S3GetObject][..];
        assert!(clients_match_grants(f, &[s3, WRITER, PUBLISHER]));
        assert!(client_mismatches(f, &[s3, WRITER, PUBLISHER]).is_empty());
        // A grant no client needs.
        assert!(!clients_match_grants(f, &[WRITER, PUBLISHER]));
        assert_eq!(
            client_mismatches(f, &[WRITER, PUBLISHER]),
            ["log-processor is granted S3GetObject (ReadLogObjects) but no client performs S3GetObject"]
        );
        assert_eq!(
            client_mismatches(f, &[s3, WRITER]),
            ["log-processor is granted CloudWatchPutMetricData (PublishServiceMetrics) but no client performs CloudWatchPutMetricData"]
        );
        // A call no grant names.
        let extra = &[Operation::S3GetObject, Operation::DynamoDbUpdateItem][..];
        assert!(!clients_match_grants(f, &[extra, WRITER, PUBLISHER]));
        assert_eq!(client_mismatches(f, &[extra, WRITER, PUBLISHER]).len(), 1);
    }

    #[test]
    fn both_writers_publish_the_service_metrics_under_the_namespace_condition() {
        for f in [Function::LogProcessor, Function::MetricsApi] {
            let grant = f
                .grants()
                .iter()
                .find(|g| g.operations.contains(&Operation::CloudWatchPutMetricData))
                .unwrap_or_else(|| panic!("{f:?} has no PutMetricData grant"));
            assert_eq!(grant.sid, "PublishServiceMetrics");
            assert_eq!(grant.condition, Some(Condition::ServiceMetricNamespace));
        }
    }

    #[test]
    fn an_implied_grant_needs_the_call_that_implies_it() {
        let f = Function::RunbookExecutor;
        let all: Vec<Operation> = f.api_operations();
        assert!(clients_match_grants(f, &[&all]));
        assert!(!all.contains(&Operation::IamPassRole));
        let without_automation: Vec<Operation> = all
            .iter()
            .copied()
            .filter(|op| *op != Operation::SsmStartAutomationExecution)
            .collect();
        assert!(!clients_match_grants(f, &[&without_automation]));
    }
}
