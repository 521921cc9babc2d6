//! The Lambda functions: one role with a least-privilege inline policy each, a KMS-encrypted log
//! group, X-Ray tracing, and an encrypted SQS on-failure destination for the asynchronously
//! invoked ones (log processor from S3, runbook executor from SNS).

use super::common::*;
use crate::config::model::{Defaults, Function};
use crate::hcl::{Block, Expr};
use crate::plan::Plan;
use contract::env;
use contract::iam::{Condition, Grant, Resource};

/// Everything a function's definition varies in.
struct Spec {
    f: Function,
    description: &'static str,
    /// Invoked asynchronously: retries and failures go to an on-failure destination.
    asynchronous: bool,
    /// The on-failure destination is the notification topic (on-call's e-mail: the original
    /// alarm notification is in the record's `requestPayload`), not a failure queue of its own.
    fails_to_notification_topic: bool,
    /// Exactly `contract::env::keys(f)`, in that order (tested), with their values.
    environment: Vec<(&'static str, Expr)>,
}

pub fn component(plan: &Plan) -> Component {
    let specs: Vec<Spec> = plan.functions.iter().copied().map(spec).collect();
    let mut main = vec![
        Block::data("aws_partition", "current"),
        Block::data("aws_region", "current"),
        Block::locals()
            .comment(
                "Account and region of the table: the executor's SSM parameters live beside it.",
            )
            .attr("account_id", Expr::raw("split(\":\", var.table_arn)[4]"))
            .attr("region", Expr::raw("split(\":\", var.table_arn)[3]"))
            .attr(
                "partition",
                Expr::reference("data.aws_partition.current.partition"),
            )
            .attr(
                super::service_alarms::NAMESPACE_LOCAL,
                super::service_alarms::namespace_expr(),
            ),
        Block::data("aws_iam_policy_document", "assume_lambda").block(
            Block::new("statement", Vec::<String>::new())
                .attr("actions", Expr::list([Expr::str("sts:AssumeRole")]))
                .block(principals(
                    "Service",
                    vec![Expr::str("lambda.amazonaws.com")],
                )),
        ),
    ];
    if plan.deploys(Function::RunbookExecutor) {
        main.push(runbook_locals());
    }
    for s in &specs {
        main.extend(function_blocks(s));
    }
    Component {
        dir: "functions",
        summary:
            "The stack's Lambda functions with their roles, log groups and on-failure destinations.",
        main,
        variables: variables(plan),
        outputs: specs.iter().flat_map(outputs).collect(),
    }
}

fn spec(f: Function) -> Spec {
    match f {
        Function::LogProcessor => Spec {
            f,
            description: "Turns log objects written to the logs bucket into per-minute metrics",
            asynchronous: true,
            fails_to_notification_topic: false,
            environment: [
                vec![
                    (env::METRICS_TABLE, Expr::reference("var.table_name")),
                    (env::LOGS_PREFIX, Expr::reference("var.logs_prefix")),
                    (env::SERVICE_METRICS_NAMESPACE, service_namespace()),
                    (env::PUBLISHED_SERVICES, published_services()),
                    (env::PUBLISHED_METRICS, published_metrics()),
                ],
                retention_env().to_vec(),
                vec![(env::LOG_LEVEL, Expr::reference("var.log_level"))],
            ]
            .concat(),
        },
        Function::MetricsApi => Spec {
            f,
            description: "Serves and accepts metrics behind the REST API",
            asynchronous: false,
            fails_to_notification_topic: false,
            environment: [
                vec![
                    (env::METRICS_TABLE, Expr::reference("var.table_name")),
                    (env::SERVICE_METRICS_NAMESPACE, service_namespace()),
                    (env::PUBLISHED_SERVICES, published_services()),
                    (env::PUBLISHED_METRICS, published_metrics()),
                    (env::CORS_ALLOWED_ORIGINS, Expr::raw("join(\",\", var.cors_allowed_origins)")),
                    (env::MAX_BODY_BYTES, Expr::raw("tostring(var.max_body_bytes)")),
                ],
                retention_env().to_vec(),
                vec![(env::LOG_LEVEL, Expr::reference("var.log_level"))],
            ]
            .concat(),
        },
        Function::RunbookExecutor => Spec {
            f,
            description: "Runs the alarm's runbook from SSM Parameter Store when an alarm notification arrives",
            asynchronous: true,
            fails_to_notification_topic: true,
            environment: vec![
                (env::METRICS_TABLE, Expr::reference("var.table_name")),
                (env::NOTIFICATION_TOPIC_ARN, Expr::reference("var.notification_topic_arn")),
                (env::RUNBOOK_PARAMETER_PREFIX, Expr::reference("local.runbook_prefix")),
                (env::DRY_RUN, Expr::raw("tostring(var.runbook_dry_run)")),
                (env::METRIC_NAMESPACE, Expr::reference("local.metric_namespace")),
                (env::SERVICE_METRICS_NAMESPACE, service_namespace()),
                (env::INCIDENT_TTL_DAYS, Expr::raw("tostring(var.incident_ttl_days)")),
                (env::LOG_LEVEL, Expr::reference("var.log_level")),
            ],
        },
    }
}

fn service_namespace() -> Expr {
    Expr::local(super::service_alarms::NAMESPACE_LOCAL)
}

/// The services' names, sorted, joined by the contract's separator (never in a valid name).
fn published_services() -> Expr {
    Expr::call(
        "join",
        [
            Expr::str(contract::service_metrics::LIST_SEPARATOR.to_string()),
            Expr::call("sort", [keys(Expr::var("services"))]),
        ],
    )
}

fn published_metrics() -> Expr {
    Expr::call(
        "join",
        [
            Expr::str(contract::service_metrics::LIST_SEPARATOR.to_string()),
            Expr::var("published_metrics"),
        ],
    )
}

/// Sizing variables of the functions, named `{prefix}architecture` etc. The root module declares
/// them again as `lambda_*`; both come from here so a validation cannot drift between the two.
pub fn sizing_vars(prefix: &str, plan: &Plan) -> Vec<Block> {
    let config = &plan.config;
    let d = &config.defaults;
    let names = function_slugs(plan);
    let architecture = format!("{prefix}architecture");
    let memory = format!("{prefix}memory_mb");
    let timeout = format!("{prefix}timeout_seconds");
    let reserved = format!("{prefix}reserved_concurrency");
    let api_timeout = format!("{prefix}metrics_api_timeout_seconds");
    let limit = crate::config::model::API_INTEGRATION_TIMEOUT_SECONDS;
    let api_timeout_var = plan
        .deploys(Function::MetricsApi)
        .then(|| {
            variable(
                &api_timeout,
                "number",
                &format!("Timeout of the metrics-api function, in seconds: at most {limit}, API Gateway's integration timeout (a slower answer would reach the client as a 504 while the function still runs)."),
            )
            .attr("default", d.metrics_api_timeout_seconds)
            .block(validation(
                Expr::raw(format!("var.{api_timeout} >= 1 && var.{api_timeout} <= {limit}")),
                &format!("{api_timeout} must be between 1 and {limit} (API Gateway's integration timeout)."),
            ))
        });
    let mut vars = vec![
        variable(
            &architecture,
            "string",
            "Instruction set of the functions: arm64 or x86_64 (must match the packaged zips).",
        )
        .attr("default", config.project.architecture.as_str())
        .block(validation(
            Expr::raw(format!("contains([\"arm64\", \"x86_64\"], var.{architecture})")),
            &format!("{architecture} must be arm64 or x86_64."),
        )),
        variable(&memory, "number", "Memory of each function, in MB.")
            .attr("default", d.lambda_memory_mb)
            .block(validation(
                Expr::raw(format!("var.{memory} >= 128 && var.{memory} <= 10240")),
                &format!("{memory} must be between 128 and 10240."),
            )),
        variable(
            &timeout,
            "number",
            if plan.deploys(Function::MetricsApi) {
                "Timeout of the asynchronously invoked functions (log processor, runbook executor), in seconds; metrics-api has its own."
            } else {
                "Timeout of each function, in seconds."
            },
        )
        .attr("default", d.lambda_timeout_seconds)
        .block(validation(
            Expr::raw(format!("var.{timeout} >= 1 && var.{timeout} <= 900")),
            &format!("{timeout} must be between 1 and 900."),
        )),
        variable(
            &reserved,
            "map(number)",
            &format!("Reserved concurrent executions by function ({names}); unlisted functions are unreserved."),
        )
        .attr("default", Expr::object(Vec::<(String, Expr)>::new()))
        .block(validation(
            Expr::raw(format!("alltrue([for k, v in var.{reserved} : contains([{names}], k) && v >= 0])")),
            &format!("{reserved} keys must be among {names}; values >= 0."),
        )),
    ];
    vars.extend(api_timeout_var);
    vars
}

/// `{prefix}log_level` of every function (`LOG_LEVEL`); the root module declares it as
/// `lambda_log_level`.
pub fn log_level_var(prefix: &str) -> Block {
    let name = format!("{prefix}log_level");
    variable(
        &name,
        "string",
        &format!(
            "Level of the functions' structured JSON logs ({}); passed to each function as {}.",
            env::LOG_LEVELS.join(", "),
            env::LOG_LEVEL
        ),
    )
    .attr("default", "info")
    .block(validation(
        contains(str_list(env::LOG_LEVELS), Expr::var(&name)),
        &format!("{name} must be one of {}.", env::LOG_LEVELS.join(", ")),
    ))
}

/// `cors_allowed_origins` of the metrics API, declared again by the root module under the same name.
pub fn cors_origins_var(plan: &Plan) -> Block {
    let config = &plan.config;
    variable(
        "cors_allowed_origins",
        "list(string)",
        "Origins the metrics API answers CORS requests and preflights for (\"*\" for any); passed to the function as CORS_ALLOWED_ORIGINS.",
    )
    .attr(
        "default",
        Expr::list(config.api.cors_allowed_origins.iter().map(Expr::str)),
    )
    .block(validation(
        Expr::raw("length(var.cors_allowed_origins) > 0 && alltrue([for o in var.cors_allowed_origins : o == \"*\" || can(regex(\"^https?://[^/,]+$\", o))])"),
        "cors_allowed_origins must be \"*\" or origins like https://app.example.com.",
    ))
}

/// `{prefix}max_body_bytes` of the metrics API; the root module declares it as `api_max_body_bytes`.
pub fn max_body_var(prefix: &str, plan: &Plan) -> Block {
    let config = &plan.config;
    let name = format!("{prefix}max_body_bytes");
    // The bound's reasoning (Lambda's 6 MB payload holds the whole event, base64 inflates 4/3)
    // is on MAX_BODY_BYTES_LIMIT.
    let limit = crate::config::model::MAX_BODY_BYTES_LIMIT;
    variable(
        &name,
        "number",
        &format!("Largest request body the metrics API accepts (larger gets 413); at most {limit}, so that the body, base64-encoded, plus the API Gateway event fits Lambda's 6 MB invocation payload."),
    )
    .attr("default", config.api.max_body_bytes)
    .block(validation(
        Expr::raw(format!("var.{name} >= 1024 && var.{name} <= {limit}")),
        &format!("{name} must be between 1024 and {limit}."),
    ))
}

/// How long the metric table keeps each resolution, declared again by the root module under
/// the same name. The writers set each item's TTL from it (`metrics_core::store::Retention`).
pub fn metric_retention_var() -> Block {
    use contract::table::{MAX_RETENTION_DAYS as MAX, MIN_RETENTION_DAYS as MIN};
    let object =
        Expr::object(["minute", "hour", "day"].map(|k| (k, Expr::raw("optional(number)"))));
    variable_typed(
        "metric_retention_days",
        Expr::call("object", [object]),
        &format!("Days the metric table keeps minute items, hourly rollups and daily rollups (DynamoDB TTL); null or unset keeps them for ever. At least {MIN}: a late write inside the 14-day acceptance window recomputes its hour and day from their children."),
    )
    .attr("default", Expr::object(Vec::<(&str, Expr)>::new()))
    .block(validation(
        Expr::raw(format!("alltrue([for d in values(var.metric_retention_days) : d == null ? true : (d >= {MIN} && d <= {MAX} && floor(d) == d)])")),
        &format!("metric_retention_days values must be whole days between {MIN} and {MAX}, or null (for ever)."),
    ))
}

/// `MINUTE_RETENTION_DAYS` and its siblings: the variable's field, blank when null (for ever;
/// Lambda accepts an empty value, and the functions' `Env` reads a blank value as unset).
fn retention_env() -> [(&'static str, Expr); 3] {
    let field = |name: &str| {
        Expr::raw(format!(
            "var.metric_retention_days.{name} == null ? \"\" : tostring(var.metric_retention_days.{name})"
        ))
    };
    [
        (env::MINUTE_RETENTION_DAYS, field("minute")),
        (env::HOUR_RETENTION_DAYS, field("hour")),
        (env::DAY_RETENTION_DAYS, field("day")),
    ]
}

/// Runbook executor settings, declared again by the root module under the same names.
pub fn runbook_vars(d: &Defaults) -> [Block; 2] {
    [
        variable(
            "runbook_dry_run",
            "bool",
            "When true the runbook executor logs its plan and touches nothing.",
        )
        .attr("default", d.runbook_dry_run),
        variable(
            "incident_ttl_days",
            "number",
            "Days the runbook executor keeps incident records.",
        )
        .attr("default", d.incident_ttl_days)
        .block(validation(
            Expr::raw("var.incident_ttl_days >= 1 && var.incident_ttl_days <= 3650"),
            "incident_ttl_days must be between 1 and 3650.",
        )),
    ]
}

fn variables(plan: &Plan) -> Vec<Block> {
    let config = &plan.config;
    let d = &config.defaults;
    let fns: &[Function] = &plan.functions;
    let names = function_slugs(plan);
    let mut vars = vec![
        name_prefix_var(None),
        tags_var(),
        kms_key_var("the log groups, environment variables and failure queues"),
    ];
    vars.extend(sizing_vars("", plan));
    vars.extend([
        super::service_alarms::services_var(plan),
        super::service_alarms::published_metrics_var(plan),
        log_level_var(""),
        log_retention_var(d.log_retention_days),
        metric_retention_var(),
        variable_typed(
            "code",
            map_of_object_type(&[
                ("filename", "optional(string)"),
                ("source_code_hash", "optional(string)"),
                ("s3_bucket", "optional(string)"),
                ("s3_key", "optional(string)"),
                ("s3_object_version", "optional(string)"),
                ("architecture", "optional(string)"),
            ]),
            &format!("Code of each function ({names}): a local zip (filename + source_code_hash) or an S3 object (s3_bucket + s3_key, optional s3_object_version)."),
        )
        .block(validation(
            Expr::raw(format!("alltrue([for n in [{names}] : contains(keys(var.code), n)])")),
            &format!("code must have an entry for each of {names}."),
        ))
        .block(validation(
            Expr::raw("alltrue([for c in values(var.code) : (c.filename != null) != (c.s3_bucket != null && c.s3_key != null)])"),
            "each code entry needs either filename or s3_bucket + s3_key, not both.",
        )),
        table_name_var(),
        arn_var("table_arn", "dynamodb", "ARN of the ApplicationMetrics table."),
        arn_var("logs_bucket_arn", "s3", "ARN of the logs bucket the log processor reads."),
        variable(
            "logs_prefix",
            "string",
            "Key prefix the log processor may read; passed to it as LOGS_PREFIX (a key <prefix><service>/... names the service of lines without one).",
        )
        .attr("default", "logs/")
        .block(validation(
            can_regex("^[A-Za-z0-9!_.*'()-]+/$", Expr::var("logs_prefix")),
            "logs_prefix must be a key prefix ending in '/', e.g. \"logs/\".",
        )),
    ]);
    if fns.contains(&Function::MetricsApi) {
        vars.extend([cors_origins_var(plan), max_body_var("", plan)]);
    }
    if fns.contains(&Function::RunbookExecutor) {
        vars.extend([arn_var(
            "notification_topic_arn",
            "sns",
            "ARN of the notification topic the runbook executor publishes to (on-call's e-mail subscribes to it); also its on-failure destination.",
        )]);
        vars.extend(runbook_vars(d));
        vars.extend([
            variable(
                "automation_documents",
                "list(string)",
                "SSM Automation documents the runbook executor may start.",
            )
            .attr(
                "default",
                Expr::list(plan.automation_documents.iter().map(Expr::str)),
            )
            .block(validation(
                Expr::raw("alltrue([for d in var.automation_documents : can(regex(\"^[A-Za-z0-9_.-]{3,128}$\", d))])"),
                "automation_documents must be SSM document names (3-128 letters, digits, '_', '-' or '.').",
            )),
            variable(
                "automation_assume_role_arns",
                "list(string)",
                "IAM roles the listed Automation documents run under (their AutomationAssumeRole parameter): the runbook executor may pass exactly these to SSM.",
            )
            .attr(
                "default",
                Expr::list(plan.automation_assume_roles.iter().map(Expr::str)),
            )
            .block(validation(
                Expr::raw("alltrue([for r in var.automation_assume_role_arns : can(regex(\"^arn:[a-z-]+:iam::[0-9]{12}:role/.+$\", r))])"),
                "automation_assume_role_arns must be IAM role ARNs.",
            )),
        ]);
    }
    vars
}

/// The ARNs a grant's resource stands for.
fn resource_arns(resource: Resource) -> Expr {
    match resource {
        Resource::LogObjects => Expr::template("${var.logs_bucket_arn}/${var.logs_prefix}*"),
        Resource::Table => Expr::reference("var.table_arn"),
        Resource::TableIndexes => Expr::template("${var.table_arn}/index/*"),
        Resource::NotificationTopic => Expr::reference("var.notification_topic_arn"),
        Resource::RunbookParameters => Expr::template(
            "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${local.runbook_prefix}*",
        ),
        Resource::AutomationDefinitions => Expr::raw(
            "[for d in var.automation_documents : \"arn:${local.partition}:ssm:${local.region}:*:automation-definition/${d}:*\"]",
        ),
        Resource::AutomationAssumeRoles => Expr::reference("var.automation_assume_role_arns"),
        Resource::Unscoped => Expr::str("*"),
    }
}

/// The list variable a resource that may be empty comes from.
fn resource_list(resource: Resource) -> &'static str {
    match resource {
        Resource::AutomationDefinitions => "var.automation_documents",
        Resource::AutomationAssumeRoles => "var.automation_assume_role_arns",
        other => unreachable!("{other:?} is never empty"),
    }
}

/// One statement of a function's policy, from its grant in the contract. A grant on a list the
/// configuration may leave empty is a `dynamic` statement, present only when the list is not.
fn grant_statement(grant: &Grant) -> Block {
    let actions = grant.iam_actions();
    let conditions = grant.condition.iter().map(|c| match c {
        Condition::ServiceMetricNamespace => condition(
            "StringEquals",
            "cloudwatch:namespace",
            vec![service_namespace()],
        ),
        Condition::RunbookMetricNamespace => condition(
            "StringEquals",
            "cloudwatch:namespace",
            vec![Expr::reference("local.metric_namespace")],
        ),
        // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService
        Condition::PassedToSsm => condition(
            "StringEquals",
            "iam:PassedToService",
            vec![Expr::str("ssm.amazonaws.com")],
        ),
    });
    if let [r] = grant.resources {
        if r.may_be_empty() {
            let content = Block::new("content", Vec::<String>::new())
                .attr("sid", grant.sid)
                .attr("effect", "Allow")
                .attr("actions", Expr::list(actions.iter().map(|a| Expr::str(*a))))
                .attr("resources", resource_arns(*r));
            return Block::new("dynamic", ["statement"])
                .attr(
                    "for_each",
                    Expr::raw(format!("length({}) > 0 ? [1] : []", resource_list(*r))),
                )
                .block(conditions.fold(content, Block::block));
        }
    }
    let resources = grant.resources.iter().map(|r| resource_arns(*r)).collect();
    let mut block = statement(grant.sid, &actions, resources);
    if grant.resources.contains(&Resource::Unscoped) {
        block = block.comment("These actions support no resource-level permissions.");
    }
    conditions.fold(block, Block::block)
}

fn function_blocks(s: &Spec) -> Vec<Block> {
    let id = s.f.ident();
    let slug = s.f.slug();
    let name = format!("${{var.name_prefix}}-{slug}");
    let code = |field: &str| Expr::raw(format!("var.code[\"{slug}\"].{field}"));

    let mut policy = Block::data("aws_iam_policy_document", id);
    for grant in s.f.grants() {
        policy = policy.block(grant_statement(grant));
    }
    let mut statements = vec![statement(
        "UseStackKey",
        &s.f.key_actions(),
        vec![Expr::reference("var.kms_key_arn")],
    )
    .comment("What the function reads and writes is encrypted with the stack's key (actions: contract key_actions).")];
    // ARNs spelled out from names (not resource references): the policy is then known at plan
    // time and reviewable in `terraform plan`.
    let arn = |service: &str, rest: &str| {
        Expr::template(&format!(
            "arn:${{local.partition}}:{service}:${{local.region}}:${{local.account_id}}:{rest}"
        ))
    };
    statements.push(statement(
        "WriteOwnLogs",
        &["logs:CreateLogStream", "logs:PutLogEvents"],
        vec![arn("logs", &format!("log-group:/aws/lambda/{name}:*"))],
    ));
    statements.push(
        statement(
            "XRayTraces",
            &["xray:PutTelemetryRecords", "xray:PutTraceSegments"],
            vec![Expr::str("*")],
        )
        .comment("X-Ray trace submission supports no resource-level permissions."),
    );
    let queue = s.asynchronous && !s.fails_to_notification_topic;
    if queue {
        statements.push(statement(
            "SendFailedEvents",
            &["sqs:SendMessage"],
            vec![arn("sqs", &format!("{name}-failures"))],
        ));
        statements.push(statement(
            "EncryptFailedEvents",
            &["kms:Decrypt", "kms:GenerateDataKey"],
            vec![Expr::reference("var.kms_key_arn")],
        ));
    }
    let policy = statements.into_iter().fold(policy, Block::block);

    let mut function = Block::resource("aws_lambda_function", id);
    function = skip(
        function,
        "CKV_AWS_117",
        "the functions call only AWS APIs; no VPC resources to reach, and a VPC would need NAT or endpoints",
    );
    function = skip(
        function,
        "CKV_AWS_272",
        "code is built and hashed by `gen package` in this repository; signing needs an AWS Signer profile the estate owns",
    );
    if !s.asynchronous {
        function = skip(
            function,
            "CKV_AWS_116",
            "invoked synchronously by API Gateway: errors return to the caller, a DLQ would never receive anything",
        );
    } else {
        function = skip(
            function,
            "CKV_AWS_116",
            "failed asynchronous events go to an on-failure destination (aws_lambda_function_event_invoke_config), which supersedes a DLQ",
        );
    }
    let function = function
        .attr("function_name", Expr::template(&name))
        .attr("description", s.description)
        .attr("role", Expr::reference(&format!("aws_iam_role.{id}.arn")))
        .attr("runtime", "provided.al2023")
        .attr("handler", "bootstrap")
        .attr("architectures", Expr::list([Expr::reference("var.architecture")]))
        .attr("memory_size", Expr::reference("var.memory_mb"))
        .attr(
            "timeout",
            Expr::raw(if s.f == Function::MetricsApi {
                "var.metrics_api_timeout_seconds"
            } else {
                "var.timeout_seconds"
            }),
        )
        .attr(
            "reserved_concurrent_executions",
            Expr::raw(format!("lookup(var.reserved_concurrency, \"{slug}\", -1)")),
        )
        .attr("filename", code("filename"))
        .attr("source_code_hash", code("source_code_hash"))
        .attr("s3_bucket", code("s3_bucket"))
        .attr("s3_key", code("s3_key"))
        .attr("s3_object_version", code("s3_object_version"))
        .attr("kms_key_arn", Expr::reference("var.kms_key_arn"))
        .block(Block::new("tracing_config", Vec::<String>::new()).attr("mode", "Active"))
        .block(
            Block::new("environment", Vec::<String>::new()).attr(
                "variables",
                Expr::object(s.environment.iter().map(|(k, v)| (*k, v.clone()))),
            ),
        )
        .attr("tags", tags_with_name(Expr::template(&name)))
        .comment("The log group must exist first, or Lambda creates one without retention or KMS.")
        .attr(
            "depends_on",
            Expr::raw(format!("[aws_cloudwatch_log_group.{id}, aws_iam_role_policy.{id}]")),
        )
        .block(precondition(
            Expr::raw(format!("var.code[\"{slug}\"].architecture == null || var.code[\"{slug}\"].architecture == var.architecture")),
            &format!("The packaged {slug} zip was built for another architecture than var.architecture: rebuild with `gen package` or change the variable."),
        ));

    let mut blocks = vec![
        skip(
            Block::resource("aws_cloudwatch_log_group", id),
            "CKV_AWS_338",
            "retention is the log_retention_days variable; operational logs need not be kept a year",
        )
        .attr("name", Expr::template(&format!("/aws/lambda/{name}")))
        .attr("retention_in_days", Expr::reference("var.log_retention_days"))
        .attr("kms_key_id", Expr::reference("var.kms_key_arn"))
        .attr("tags", tags_with_name(Expr::template(&format!("/aws/lambda/{name}")))),
        Block::resource("aws_iam_role", id)
            .comment("IAM names are global to the account: the region keeps a second region's stack from")
            .comment("failing with EntityAlreadyExists. At most 24 + 1 + 16 + 1 + 14 = 56 of IAM's 64")
            .comment("characters (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html);")
            .comment("the precondition keeps a longer future region name from failing at apply.")
            .attr("name", Expr::template(&role_name(slug)))
            .attr("description", format!("Runs the {slug} function"))
            .attr("assume_role_policy", Expr::reference("data.aws_iam_policy_document.assume_lambda.json"))
            .attr("tags", tags_with_name(Expr::template(&name)))
            .block(role_name_precondition(slug)),
        policy,
        Block::resource("aws_iam_role_policy", id)
            .attr("name", Expr::template(&format!("{name}-least-privilege")))
            .attr("role", Expr::reference(&format!("aws_iam_role.{id}.id")))
            .attr("policy", Expr::reference(&format!("data.aws_iam_policy_document.{id}.json"))),
        function,
    ];
    if queue {
        blocks.push(
            Block::resource("aws_sqs_queue", format!("{id}_failures"))
                .attr("name", Expr::template(&format!("{name}-failures")))
                .attr("kms_master_key_id", Expr::reference("var.kms_key_arn"))
                .attr("kms_data_key_reuse_period_seconds", 300)
                .comment("Fourteen days (the maximum) to notice and replay a failed event.")
                .attr("message_retention_seconds", 1_209_600)
                .attr(
                    "tags",
                    tags_with_name(Expr::template(&format!("{name}-failures"))),
                ),
        );
    }
    if s.asynchronous {
        let (destination, why) = if queue {
            (
                Expr::reference(&format!("aws_sqs_queue.{id}_failures.arn")),
                None,
            )
        } else {
            (
                Expr::reference("var.notification_topic_arn"),
                Some([
                    "On-call's topic: after the last retry Lambda publishes the invocation record, whose",
                    "requestPayload holds CloudWatch's notification, with this function's role",
                    "(https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html).",
                ]),
            )
        };
        let mut config = Block::resource("aws_lambda_function_event_invoke_config", id);
        for line in why.into_iter().flatten() {
            config = config.comment(line);
        }
        blocks.push(
            config
                .attr(
                    "function_name",
                    Expr::reference(&format!("aws_lambda_function.{id}.function_name")),
                )
                .attr("maximum_retry_attempts", 2)
                .attr("maximum_event_age_in_seconds", 21_600)
                .block(
                    Block::new("destination_config", Vec::<String>::new()).block(
                        Block::new("on_failure", Vec::<String>::new())
                            .attr("destination", destination),
                    ),
                ),
        );
    }
    blocks
}

fn outputs(s: &Spec) -> Vec<Block> {
    let id = s.f.ident();
    let slug = s.f.slug();
    let mut out = vec![
        output(
            &format!("{id}_function_name"),
            &format!("aws_lambda_function.{id}.function_name"),
            &format!("Name of the {slug} function."),
        ),
        output(
            &format!("{id}_function_arn"),
            &format!("aws_lambda_function.{id}.arn"),
            &format!("ARN of the {slug} function."),
        ),
        output(
            &format!("{id}_role_arn"),
            &format!("aws_iam_role.{id}.arn"),
            &format!("ARN of the {slug} function's IAM role."),
        ),
        output(
            &format!("{id}_role_name"),
            &format!("aws_iam_role.{id}.name"),
            &format!("Name of the {slug} function's IAM role (attach extra policies to it)."),
        ),
        output(
            &format!("{id}_log_group_name"),
            &format!("aws_cloudwatch_log_group.{id}.name"),
            &format!("Log group of the {slug} function."),
        ),
        output(
            &format!("{id}_log_group_arn"),
            &format!("aws_cloudwatch_log_group.{id}.arn"),
            &format!("ARN of the {slug} function's log group."),
        ),
    ];
    if s.f == Function::MetricsApi {
        out.push(output(
            &format!("{id}_invoke_arn"),
            &format!("aws_lambda_function.{id}.invoke_arn"),
            "Invoke ARN of the metrics-api function (for API Gateway integrations).",
        ));
    }
    if s.asynchronous && !s.fails_to_notification_topic {
        out.push(output(
            &format!("{id}_failure_queue_arn"),
            &format!("aws_sqs_queue.{id}_failures.arn"),
            &format!("ARN of the SQS queue receiving {slug} events that failed every retry."),
        ));
        out.push(output(
            &format!("{id}_failure_queue_url"),
            &format!("aws_sqs_queue.{id}_failures.url"),
            &format!("URL of the {slug} failure queue."),
        ));
    }
    out
}

/// `<name_prefix>-<what>-<region>`: IAM role names are global to the account, so the same
/// `name_prefix` in a second region would collide without the region.
pub fn role_name(what: &str) -> String {
    format!("${{var.name_prefix}}-{what}-${{data.aws_region.current.name}}")
}

/// IAM role names are at most 64 characters
/// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html).
pub fn role_name_precondition(what: &str) -> Block {
    precondition(
        length(Expr::template(&role_name(what))).le(64),
        &format!("The IAM role name <name_prefix>-{what}-<region> exceeds IAM's 64 characters: shorten name_prefix."),
    )
}

/// `<name_prefix>/Runbooks` and `/<name_prefix>/runbooks/`, shared with the runbooks module.
pub fn runbook_locals() -> Block {
    Block::locals()
        .attr(
            "runbook_prefix",
            Expr::template("/${var.name_prefix}/runbooks/"),
        )
        .attr(
            "metric_namespace",
            Expr::template("${var.name_prefix}/Runbooks"),
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    const WITH_AUTOMATION: &str = r#"
[[alarms]]
name = "x"
kind = "dynamodb_throttles"
threshold = 1
[alarms.runbook]
link = "https://r.example.com"
steps = [{ type = "start_automation", document = "AWS-RestartEC2Instance", parameters = { InstanceId = "i-1", AutomationAssumeRole = "arn:aws:iam::123456789012:role/restarter" } }]
"#;

    fn main_tf(config: &Config) -> String {
        component(&Plan::resolve(config)).file("main.tf")
    }

    /// The quoted `service:Action` strings of `data "aws_iam_policy_document" "<id>"`.
    fn policy_actions(tf: &str, id: &str) -> Vec<String> {
        let header = format!("data \"aws_iam_policy_document\" \"{id}\" {{\n");
        let start = tf.find(&header).expect("policy document") + header.len();
        let body = &tf[start..];
        let body = &body[..body.find("\n}\n").expect("end of block")];
        let condition_keys: Vec<&str> = body
            .lines()
            .filter_map(|l| l.trim().strip_prefix("variable = \""))
            .map(|v| v.trim_end_matches('"'))
            .collect();
        let mut actions: Vec<String> = body
            .split('"')
            .skip(1)
            .step_by(2)
            .filter(|s| {
                let (service, action) = s.split_once(':').unwrap_or_default();
                !service.is_empty()
                    && service
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && action
                        .chars()
                        .next()
                        .is_some_and(|c| c.is_ascii_uppercase())
                    && !condition_keys.contains(s)
            })
            .map(str::to_owned)
            .collect();
        actions.sort();
        actions.dedup();
        actions
    }

    /// Every function's policy holds the contract's actions for it and, beyond them, only the
    /// platform actions every Lambda role needs: nothing the declaration does not name.
    #[test]
    fn policies_are_written_from_the_contract() {
        let config: Config = toml::from_str(WITH_AUTOMATION).expect("config");
        let tf = main_tf(&config);
        let platform = [
            "logs:CreateLogStream",
            "logs:PutLogEvents",
            "xray:PutTelemetryRecords",
            "xray:PutTraceSegments",
            "sqs:SendMessage",
            // The on-failure queue is encrypted with the stack's key.
            "kms:Decrypt",
            "kms:GenerateDataKey",
        ];
        for f in Function::ALL {
            let mut expected: Vec<String> = f
                .grants()
                .iter()
                .flat_map(|g| g.iam_actions())
                .chain(f.key_actions())
                .map(str::to_owned)
                .collect();
            let written = policy_actions(&tf, f.ident());
            let extra: Vec<&String> = written
                .iter()
                .filter(|a| !expected.contains(a) && !platform.contains(&a.as_str()))
                .collect();
            assert!(
                extra.is_empty(),
                "{}: not in the contract: {extra:?}",
                f.slug()
            );
            expected.retain(|a| !written.contains(a));
            assert!(expected.is_empty(), "{}: missing: {expected:?}", f.slug());
        }
    }

    /// The variables each function's `environment` block sets are exactly `contract::env::keys`
    /// for it, in that order; each function's `Config::from_lookup` is tested to read exactly
    /// those (minus `LOG_LEVEL`, which `metrics_core::aws::init_tracing` reads). So every key a
    /// function reads is one the module sets on it, and the module sets nothing unread.
    #[test]
    fn each_function_gets_exactly_the_environment_its_config_reads() {
        let config: Config = toml::from_str(WITH_AUTOMATION).expect("config");
        let tf = main_tf(&config);
        for f in Function::ALL {
            let s = spec(f);
            let keys: Vec<&str> = s.environment.iter().map(|(k, _)| *k).collect();
            assert_eq!(keys, env::keys(f), "{}", f.slug());
            // And that is what main.tf holds.
            let header = format!("resource \"aws_lambda_function\" \"{}\" {{\n", f.ident());
            let body = &tf[tf.find(&header).expect("function")..];
            let block = &body[body.find("environment {").expect("environment")..];
            let block = &block[..block.find("\n  }\n").expect("end of environment")];
            let written: Vec<&str> = block
                .lines()
                .filter_map(|l| l.trim().split_once(" = ").map(|(k, _)| k.trim()))
                .filter(|k| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
                .collect();
            assert_eq!(written, env::keys(f), "{}: {block}", f.slug());
        }
    }

    /// The log processor learns the stack's logs prefix (it used to assume `logs/`), and every
    /// function the log level.
    #[test]
    fn the_log_processor_gets_the_logs_prefix_and_every_function_the_log_level() {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let plan = Plan::resolve(&config);
        let component = component(&plan);
        let flat = |name: &str| {
            component
                .file(name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let main = flat("main.tf");
        for &f in &plan.functions {
            let header = format!("resource \"aws_lambda_function\" \"{}\" {{", f.ident());
            let body = &main[main.find(&header).expect("function")..];
            let env_block = &body[body.find("environment {").expect("environment")..];
            let env_block = &env_block[..env_block.find('}').expect("end")];
            assert!(
                env_block.contains("LOG_LEVEL = var.log_level"),
                "{env_block}"
            );
            assert_eq!(
                env_block.contains("LOGS_PREFIX = var.logs_prefix"),
                f == Function::LogProcessor,
                "{env_block}"
            );
        }
        assert!(
            flat("variables.tf").contains(
                r#"contains(["trace", "debug", "info", "warn", "error"], var.log_level)"#
            ),
            "{}",
            flat("variables.tf")
        );
    }

    #[test]
    fn an_automation_assume_role_is_passable_exactly_and_only_to_ssm() {
        let config: Config = toml::from_str(WITH_AUTOMATION).expect("config");
        assert_eq!(config.validate(), vec![]);
        assert_eq!(
            Plan::resolve(&config).automation_assume_roles,
            ["arn:aws:iam::123456789012:role/restarter"]
        );
        let tf = main_tf(&config);
        let pass = &tf[tf
            .find("sid       = \"PassAutomationAssumeRoles\"")
            .expect("statement")..];
        let pass = &pass[..pass.find("\n  }\n").expect("end")];
        assert!(pass.contains("actions   = [\"iam:PassRole\"]"), "{pass}");
        assert!(
            pass.contains("resources = var.automation_assume_role_arns"),
            "{pass}"
        );
        assert!(
            pass.contains("variable = \"iam:PassedToService\""),
            "{pass}"
        );
        assert!(
            pass.contains("values   = [\"ssm.amazonaws.com\"]"),
            "{pass}"
        );
        let vars = component(&Plan::resolve(&config)).file("variables.tf");
        assert!(vars.contains("default     = [\"arn:aws:iam::123456789012:role/restarter\"]"));
    }

    #[test]
    fn an_assume_role_that_is_not_one_role_arn_is_a_config_error() {
        for bad in [
            "\"restarter\"",
            "\"arn:aws:iam::123:role/x\"",
            "[\"arn:aws:iam::123456789012:role/a\", \"arn:aws:iam::123456789012:role/b\"]",
        ] {
            let text = WITH_AUTOMATION.replace("\"arn:aws:iam::123456789012:role/restarter\"", bad);
            let config: Config = toml::from_str(&text).expect("config");
            let issues = config.validate();
            assert_eq!(issues.len(), 1, "{bad}: {issues:?}");
            assert!(
                issues[0]
                    .key
                    .ends_with("steps[0].parameters.AutomationAssumeRole"),
                "{:?}",
                issues[0]
            );
        }
    }

    #[test]
    fn role_names_carry_the_region_and_fit_iam() {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let tf = component(&Plan::resolve(&config)).file("main.tf");
        for f in Plan::resolve(&config).functions {
            let header = format!("resource \"aws_iam_role\" \"{}\" {{\n", f.ident());
            let body = &tf[tf.find(&header).expect("role")..];
            let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
            let expected = format!(
                "name = \"${{var.name_prefix}}-{}-${{data.aws_region.current.name}}\"",
                f.slug()
            );
            let flat = body.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(flat.contains(&expected), "{flat}");
            assert!(flat.contains("<= 64"), "{flat}");
        }
        // Longest name_prefix (24) + longest slug + longest region code today (14): within 64.
        let longest_slug = Function::ALL
            .iter()
            .map(|f| f.slug().len())
            .max()
            .unwrap_or(0);
        assert!(24 + 1 + longest_slug.max("apigateway-logging".len()) + 1 + 14 <= 64);
    }

    #[test]
    fn metrics_api_has_its_own_timeout_within_api_gateways_and_a_body_limit_within_lambdas() {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let component = component(&Plan::resolve(&config));
        let text = |name: &str| {
            component
                .file(name)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        };
        let (main, vars) = (text("main.tf"), text("variables.tf"));
        let function = |id: &str| {
            let header = format!("resource \"aws_lambda_function\" \"{id}\" {{");
            let body = &main[main.find(&header).expect("function")..];
            body[..body.find("tracing_config").unwrap_or(body.len())].to_string()
        };
        assert!(function("metrics_api").contains("timeout = var.metrics_api_timeout_seconds"));
        assert!(function("log_processor").contains("timeout = var.timeout_seconds"));
        assert!(function("runbook_executor").contains("timeout = var.timeout_seconds"));
        assert!(
            vars.contains(
                "var.metrics_api_timeout_seconds >= 1 && var.metrics_api_timeout_seconds <= 29"
            ),
            "{vars}"
        );
        assert!(vars.contains("var.max_body_bytes >= 1024 && var.max_body_bytes <= 4194304"));
        // 4 MiB base64-encoded (4/3) leaves room for the event envelope in Lambda's 6 MB.
        let limit = crate::config::model::MAX_BODY_BYTES_LIMIT as u64;
        assert!(limit * 4 / 3 + 512 * 1024 < 6 * 1024 * 1024);
    }
}
