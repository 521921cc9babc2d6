//! The root module: variables with defaults from the config, wiring of the sub-modules, and every
//! sub-module output re-exported under the same name.

use super::common::*;
use crate::hcl::{Block, Expr, Part};
use crate::plan::Plan;

/// The arguments of the root's module calls that are not the root variable of the same name:
/// (sub-module, or `*` for any, its variable, the root's expression). A sub-module's own row wins
/// over a `*` row. Every other variable a sub-module declares is passed the root variable named
/// like it (with the sub-module's [`PREFIXES`] entry first), or left to its default when the root
/// has none; a required variable with neither is a bug (`component` panics).
const WIRES: &[(&str, &str, &str)] = &[
    ("*", "tags", "local.tags"),
    ("*", "kms_key_arn", "local.kms_key_arn"),
    ("*", "topic_arn", "module.alerting.topic_arn"),
    ("alerting", "topic_arn", "var.sns_topic_arn"),
    (
        "alerting",
        "notification_topic_arn",
        "var.notification_sns_topic_arn",
    ),
    (
        "functions",
        "notification_topic_arn",
        "module.alerting.notification_topic_arn",
    ),
    ("*", "table_name", "module.storage.table_name"),
    ("*", "api_name", "module.api.api_name"),
    ("*", "api_stage_name", "module.api.api_stage_name"),
    ("*", "function_names", "local.function_names"),
    (
        "storage",
        "log_processor_function_arn",
        "module.functions.log_processor_function_arn",
    ),
    ("functions", "code", "local.lambda_code"),
    ("functions", "table_arn", "module.storage.table_arn"),
    (
        "functions",
        "logs_bucket_arn",
        "module.storage.logs_bucket_arn",
    ),
    ("functions", "logs_prefix", "module.storage.logs_prefix"),
    ("functions", "max_body_bytes", "var.api_max_body_bytes"),
    (
        "api",
        "function_name",
        "module.functions.metrics_api_function_name",
    ),
    (
        "api",
        "function_invoke_arn",
        "module.functions.metrics_api_invoke_arn",
    ),
    (
        "api",
        "manage_account_logging_role",
        "var.manage_api_gateway_account_role",
    ),
    (
        "api",
        "account_logging_role_arn",
        "var.api_gateway_cloudwatch_role_arn",
    ),
    (
        "runbooks",
        "runbook_executor_function_arn",
        "module.functions.runbook_executor_function_arn",
    ),
    (
        "dashboard",
        "alarm_arns",
        "values(module.alarms.alarm_arns)",
    ),
];

/// Root variables named after a sub-module's with a prefix (`lambda_memory_mb` for the
/// functions' `memory_mb`).
const PREFIXES: &[(&str, &str)] = &[("functions", "lambda_"), ("api", "api_")];

/// Sub-modules the root creates conditionally (`count`), whose outputs it re-exports by hand.
const COUNTED: &[&str] = &["kms"];

/// The `count` of a [`COUNTED`] sub-module.
fn count(dir: &str) -> Expr {
    match dir {
        "kms" => Expr::cond(Expr::var("kms_key_arn").eq(Expr::Null), 1, 0),
        other => unreachable!("no count for {other}"),
    }
}

/// The root's expression for variable `var` of sub-module `dir`, or `None` to leave it to its
/// default. `root_vars` are the root's own variables.
fn source(dir: &str, var: &Block, root_vars: &[&str]) -> Option<Expr> {
    let name = var.labels[0].as_str();
    let wired = |child: &str| {
        WIRES
            .iter()
            .find(|(c, v, _)| *c == child && *v == name)
            .map(|(_, _, e)| Expr::raw(*e))
    };
    if let Some(e) = wired(dir).or_else(|| wired("*")) {
        return Some(e);
    }
    let prefixed = PREFIXES
        .iter()
        .filter(|(c, _)| *c == dir)
        .map(|(_, p)| format!("{p}{name}"));
    if let Some(root) = prefixed
        .chain([name.to_owned()])
        .find(|n| root_vars.contains(&n.as_str()))
    {
        return Some(Expr::reference(&format!("var.{root}")));
    }
    assert!(
        var.body.attr("default").is_some(),
        "module {dir}: the root has nothing for its required variable {name}"
    );
    None
}

/// `module "<dir>" {}`: every variable the sub-module declares, wired from the root.
fn module_call(child: &Component, root_vars: &[&str]) -> Block {
    let dir = child.dir;
    let mut block = Block::module(dir).attr("source", format!("./modules/{dir}"));
    if COUNTED.contains(&dir) {
        block = block.attr("count", count(dir));
    }
    block = block.blank();
    for var in child.variables.iter().filter(|b| b.kind == "variable") {
        if let Some(e) = source(dir, var, root_vars) {
            block = block.attr(var.labels[0].clone(), e);
        }
    }
    block
}

pub fn component(plan: &Plan, children: &[Component]) -> Component {
    let variables = variables(plan);
    let root_vars: Vec<&str> = variables
        .iter()
        .filter(|b| b.kind == "variable")
        .map(|b| b.labels[0].as_str())
        .collect();
    let mut main = vec![locals(plan)];
    main.extend(children.iter().map(|c| module_call(c, &root_vars)));

    let mut outputs = vec![
        output(
            "kms_key_arn",
            "local.kms_key_arn",
            "ARN of the KMS key encrypting the stack (created or handed in).",
        ),
        output_expr(
            "kms_key_alias_name",
            Expr::call("one", [Expr::reference("module.kms[*].alias_name")]),
            "Alias of the KMS key the module created (null when kms_key_arn is handed in).",
        ),
    ];
    for child in children.iter().filter(|c| !COUNTED.contains(&c.dir)) {
        for out in &child.outputs {
            let Some(name) = out.labels.first() else {
                continue;
            };
            let description = out.body.attr("description").cloned().unwrap_or(Expr::Null);
            let mut block = Block::output(name.clone())
                .attr("description", description)
                .attr(
                    "value",
                    Expr::reference(&format!("module.{}.{name}", child.dir)),
                );
            if let Some(sensitive) = out.body.attr("sensitive") {
                block = block.attr("sensitive", sensitive.clone());
            }
            outputs.push(block);
        }
    }
    Component {
        dir: "",
        summary: "Serverless application-monitoring stack.",
        main,
        variables,
        outputs,
    }
}

fn locals(plan: &Plan) -> Block {
    let functions = &plan.functions;
    let names = function_slug_list(plan);
    let s3 = |field: &str| {
        Expr::var("lambda_s3_code")
            .index(Expr::ident("name"))
            .attr(field)
    };
    let packaged = |field: &str| {
        Expr::local("manifest")
            .attr("functions")
            .index(Expr::ident("name"))
            .attr(field)
    };
    let from_s3 = Expr::object([
        ("filename", Expr::Null),
        ("source_code_hash", s3("source_code_hash")),
        ("s3_bucket", s3("bucket")),
        ("s3_key", s3("key")),
        ("s3_object_version", s3("version")),
        ("architecture", s3("architecture")),
    ]);
    let from_package = Expr::object([
        (
            "filename",
            Expr::template_parts([
                Part::Interp(Expr::local("package_dir")),
                Part::Lit("/".into()),
                Part::Interp(packaged("zip")),
            ]),
        ),
        ("source_code_hash", packaged("source_code_hash")),
        ("s3_bucket", Expr::Null),
        ("s3_key", Expr::Null),
        ("s3_object_version", Expr::Null),
        ("architecture", packaged("architecture")),
    ]);
    let s3_code = || Expr::var("lambda_s3_code");
    let code = Expr::for_object(
        "name",
        names.clone(),
        Expr::ident("name"),
        Expr::cond(
            contains(keys(s3_code()), Expr::ident("name")),
            from_s3,
            from_package,
        ),
    );
    Block::locals()
        .attr(
            "tags",
            Expr::call(
                "merge",
                [
                    Expr::object([
                        ("Stack", Expr::str("application-monitoring")),
                        ("NamePrefix", Expr::reference("var.name_prefix")),
                        ("ManagedBy", Expr::str("terraform")),
                    ]),
                    Expr::reference("var.tags"),
                ],
            ),
        )
        .attr(
            "kms_key_arn",
            Expr::cond(
                Expr::var("kms_key_arn").ne(Expr::Null),
                Expr::var("kms_key_arn"),
                Expr::reference("module.kms[0].key_arn"),
            ),
        )
        .blank()
        .comment(
            "Lambda code: the zips `gen package` wrote (manifest.json beside them) unless an S3",
        )
        .comment("object is given. source_code_hash comes from the manifest, so an unchanged build")
        .comment("plans no change.")
        .attr(
            "package_dir",
            Expr::cond(
                Expr::var("lambda_package_dir").ne(Expr::Null),
                Expr::var("lambda_package_dir"),
                Expr::template("${path.module}/../dist/lambda"),
            ),
        )
        .attr(
            "manifest",
            Expr::cond(
                length(Expr::call("setsubtract", [names, keys(s3_code())])).gt(0),
                Expr::call(
                    "jsondecode",
                    [Expr::call(
                        "file",
                        [Expr::template("${local.package_dir}/manifest.json")],
                    )],
                ),
                Expr::Null,
            ),
        )
        .attr("lambda_code", code)
        .attr(
            "function_names",
            Expr::object(functions.iter().map(|f| {
                (
                    f.slug(),
                    Expr::reference(&format!("module.functions.{}_function_name", f.ident())),
                )
            })),
        )
}

fn variables(plan: &Plan) -> Vec<Block> {
    let config = &plan.config;
    let d = &config.defaults;
    let names = function_slugs(plan);
    let [transition, expiration, force_destroy, deletion_protection] =
        super::storage::lifecycle_vars(d);
    let mut v = vec![
        name_prefix_var(Some(&config.project.name_prefix)),
        tags_var(),
        variable(
            "kms_key_arn",
            "string",
            "ARN of an existing customer managed KMS key to encrypt everything with; null creates one. Its policy must admit cloudwatch.amazonaws.com (kms:GenerateDataKey*, kms:Decrypt) and logs.<region>.amazonaws.com, and let the account's IAM policies grant its use (AWS's default key policy statement): the functions' roles, and Lambda delivering the runbook executor's on-failure records to the encrypted notification topic with its role, rely on that.",
        )
        .attr("default", Expr::Null)
        .block(validation(
            Expr::raw("var.kms_key_arn == null || can(regex(\"^arn:[a-z-]+:kms:[a-z0-9-]+:[0-9]{12}:key/.+$\", var.kms_key_arn))"),
            "kms_key_arn must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>).",
        )),
        variable(
            "sns_topic_arn",
            "string",
            "ARN of an existing SNS topic for alarm notifications; null creates one. Its policy must let cloudwatch.amazonaws.com publish (sns:Publish) and its KMS key, if any, admit CloudWatch.",
        )
        .attr("default", Expr::Null)
        .block(validation(
            Expr::raw("var.sns_topic_arn == null || can(regex(\"^arn:[a-z-]+:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$\", var.sns_topic_arn))"),
            "sns_topic_arn must be an SNS topic ARN.",
        )),
        variable(
            "alarm_emails",
            "list(string)",
            if plan.deploys(contract::iam::Function::RunbookExecutor) {
                "Email addresses of on-call: subscribed to the notification topic (one message per alarm state change, see alarm_email_messages); each must confirm the subscription."
            } else {
                "Email addresses subscribed to the alarm topic."
            },
        )
        .attr("default", Expr::list(config.notifications.emails.iter().map(Expr::str)))
        .block(validation(
            Expr::raw("alltrue([for e in var.alarm_emails : can(regex(\"^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$\", e))])"),
            "alarm_emails must all be email addresses.",
        )),
        log_retention_var(d.log_retention_days),
        super::functions::metric_retention_var(),
        super::storage::logs_bucket_name_var(),
        super::storage::logs_prefix_var(),
        transition,
        // The pair is checked by a precondition in the storage module (Terraform >= 1.5).
        expiration,
        force_destroy,
        deletion_protection,
    ];
    v.extend(super::functions::sizing_vars("lambda_", plan));
    v.extend([
        super::service_alarms::services_var(plan),
        super::service_alarms::published_metrics_var(plan),
        super::functions::log_level_var("lambda_"),
        variable(
            "lambda_package_dir",
            "string",
            "Folder holding manifest.json and the zips written by `gen package`; null means dist/lambda beside the module.",
        )
        .attr("default", Expr::Null),
        variable_typed(
            "lambda_s3_code",
            map_of_object_type(&[
                ("bucket", "string"),
                ("key", "string"),
                ("version", "optional(string)"),
                ("source_code_hash", "optional(string)"),
                ("architecture", "optional(string)"),
            ]),
            &format!(
                "Functions ({names}) whose code comes from an S3 object instead of the packaged zips. \
                 `gen publish` uploads the zips and prints these entries: source_code_hash (base64 \
                 SHA-256 of the zip, so an unchanged zip plans no change) and architecture (checked \
                 against lambda_architecture) from manifest.json."
            ),
        )
        .attr("default", Expr::object(Vec::<(String, Expr)>::new()))
        .block(validation(
            Expr::raw(format!("alltrue([for k in keys(var.lambda_s3_code) : contains([{names}], k)])")),
            &format!("lambda_s3_code keys must be among {names}."),
        ))
        .block(validation(
            // base64 of a 32-byte digest: 43 characters and one '=' of padding.
            Expr::raw("alltrue([for c in values(var.lambda_s3_code) : c.source_code_hash == null || can(regex(\"^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$\", c.source_code_hash))])"),
            "lambda_s3_code source_code_hash must be the base64 SHA-256 of the zip (44 characters, as `gen publish` and filebase64sha256() give it).",
        ))
        .block(validation(
            // A conditional, not `||`: Terraform evaluates both operands of `||`, and
            // contains() refuses a null value.
            Expr::raw("alltrue([for c in values(var.lambda_s3_code) : c.architecture == null ? true : contains([\"arm64\", \"x86_64\"], c.architecture)])"),
            "lambda_s3_code architecture must be arm64 or x86_64.",
        )),
    ]);
    if config.components.api {
        let api = &config.api;
        let [stage_name, rate, burst, logging] = super::api::stage_vars("api_", api);
        v.extend([
            super::api::auth_var(
                "api_read_auth",
                "GET /metrics and GET /health",
                api.read_auth,
            ),
            super::api::auth_var("api_write_auth", "POST /metrics", api.write_auth),
            stage_name,
            super::functions::cors_origins_var(plan),
            rate,
            burst,
            super::functions::max_body_var("api_", plan),
            logging,
            super::api::account_role_var(
                "manage_api_gateway_account_role",
                "api_gateway_cloudwatch_role_arn",
            ),
            super::api::account_role_arn_var(
                "api_gateway_cloudwatch_role_arn",
                "manage_api_gateway_account_role",
            ),
        ]);
    }
    if config.components.runbooks {
        v.extend(super::functions::runbook_vars(d));
    }
    if plan.deploys(contract::iam::Function::RunbookExecutor) {
        v.extend(super::alerting::notification_vars(
            "notification_sns_topic_arn",
        ));
    }
    if !plan.alarms.is_empty() {
        v.push(super::alarms::thresholds_var(&plan.alarms));
    }
    if super::service_alarms::has_slo(plan) {
        v.push(super::service_alarms::composite_alarms_var());
    }
    v
}
