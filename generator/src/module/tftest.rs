//! The module's own `terraform test` files (`tests/*.tftest.hcl`), written by `gen terraform`
//! beside the module they test, so they follow `monitoring.toml` like the module does (a
//! switched-off component takes its variables and its tests with it) and `gen terraform
//! --check` keeps them current.
//!
//! Every run plans offline against `mock_provider "aws"`: nothing reaches AWS, no credentials.
//! - `validations.tftest.hcl`: for every validation of a root variable, values it must refuse
//!   (`expect_failures`), and one run with values on the accepted side of each bound. The bad
//!   values are [`REJECTS`] (one row per rule, beside which the unit test below checks that every
//!   validation block has one) and, for the per-service threshold bounds, the values
//!   `service_alarms` derives from the same alarm descriptors that write those bounds.
//! - `inputs.tftest.hcl`: the inputs that hand in existing resources (KMS key, topic, logs
//!   bucket name, API Gateway logging role, code in S3) create nothing for them and use what was
//!   given; the plan-time switches (API auth, the account logging setting, e-mail
//!   subscriptions, composite alarms, code architecture) create exactly what they say.
//!   Sub-modules are planned on their own where the assertion needs a resource, since a test of
//!   the root module sees only its outputs.

use super::common::Component;
use super::Module;
use crate::hcl::{parse, Block, Document, Expr};
use crate::output::OutputFile;
use crate::plan::{ComponentKind, Plan};

/// Values each root variable's validations must refuse: (variable, HCL value). One row per rule
/// at least (a unit test counts them against the variable's validation blocks); a row whose
/// variable the configuration does not declare is left out.
pub const REJECTS: &[(&str, &str)] = &[
    ("name_prefix", "\"Appmon\""),
    ("name_prefix", "\"a\""),
    ("name_prefix", "\"appmon-\""),
    ("name_prefix", "\"a234567890123456789012345\""),
    ("tags", "{ \"aws:owner\" = \"x\" }"),
    ("tags", "{ team = format(\"%0257d\", 0) }"),
    (
        "kms_key_arn",
        "\"arn:aws:kms:us-east-1:123456789012:alias/platform\"",
    ),
    (
        "sns_topic_arn",
        "\"arn:aws:sqs:us-east-1:123456789012:oncall\"",
    ),
    ("alarm_emails", "[\"oncall\"]"),
    ("log_retention_days", "2"),
    ("logs_bucket_name", "\"Logs_Bucket\""),
    ("logs_bucket_name", "\"ab\""),
    ("logs_prefix", "\"logs\""),
    ("logs_transition_days", "29"),
    ("logs_expiration_days", "0"),
    ("lambda_architecture", "\"x86\""),
    ("lambda_memory_mb", "127"),
    ("lambda_memory_mb", "10241"),
    ("lambda_timeout_seconds", "0"),
    ("lambda_timeout_seconds", "901"),
    (
        "lambda_reserved_concurrency",
        "{ \"no-such-function\" = 1 }",
    ),
    ("lambda_reserved_concurrency", "{ \"log-processor\" = -1 }"),
    ("lambda_metrics_api_timeout_seconds", "30"),
    ("services", "{ \"check out\" = {} }"),
    ("services", "{ for i in range(101) : \"svc${i}\" => {} }"),
    (
        "services",
        "{ svc = { alarms = { \"no-such-alarm\" = {} } } }",
    ),
    ("published_metrics", "[for i in range(21) : \"m${i}\"]"),
    ("published_metrics", "[\"Requests\"]"),
    ("published_metrics", "[\"queue depth\"]"),
    ("lambda_log_level", "\"verbose\""),
    (
        "lambda_s3_code",
        "{ \"no-such-function\" = { bucket = \"artifacts\", key = \"x.zip\" } }",
    ),
    (
        "lambda_s3_code",
        "{ \"log-processor\" = { bucket = \"a\", key = \"k\", source_code_hash = \"abc\" } }",
    ),
    (
        "lambda_s3_code",
        "{ \"log-processor\" = { bucket = \"a\", key = \"k\", architecture = \"x86\" } }",
    ),
    (
        "notification_sns_topic_arn",
        "\"arn:aws:sqs:us-east-1:123456789012:not-a-topic\"",
    ),
    ("alarm_email_messages", "\"raw\""),
    ("metric_retention_days", "{ minute = 15 }"),
    ("metric_retention_days", "{ hour = 36501 }"),
    ("metric_retention_days", "{ day = 30.5 }"),
    ("api_read_auth", "\"oauth\""),
    ("api_write_auth", "\"oauth\""),
    ("api_stage_name", "\"v 1\""),
    ("cors_allowed_origins", "[]"),
    ("cors_allowed_origins", "[\"app.example.com\"]"),
    ("cors_allowed_origins", "[\"https://app.example.com/path\"]"),
    ("api_throttle_rate_limit", "0"),
    ("api_throttle_burst_limit", "0"),
    ("api_throttle_burst_limit", "1.5"),
    ("api_max_body_bytes", "1023"),
    ("api_max_body_bytes", "4194305"),
    ("api_execution_logging_level", "\"DEBUG\""),
    (
        "api_gateway_cloudwatch_role_arn",
        "\"arn:aws:iam::123456789012:user/logger\"",
    ),
    ("incident_ttl_days", "0"),
    ("incident_ttl_days", "3651"),
    ("alarm_thresholds", "{ \"no-such-alarm\" = 1 }"),
];

/// Values on the accepted side of the bounds above, planned together in one run.
const ACCEPTS: &[(&str, &str)] = &[
    ("name_prefix", "\"a2345678901234567890123z\""),
    (
        "tags",
        "{ awsome = \"x\", \"team:name\" = format(\"%0256d\", 0) }",
    ),
    (
        "kms_key_arn",
        "\"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd\"",
    ),
    ("alarm_emails", "[\"oncall+monitoring@example.co.uk\"]"),
    ("log_retention_days", "3653"),
    ("logs_bucket_name", "\"a.b-c\""),
    ("logs_transition_days", "30"),
    ("logs_expiration_days", "31"),
    ("lambda_memory_mb", "10240"),
    ("lambda_timeout_seconds", "900"),
    ("lambda_metrics_api_timeout_seconds", "29"),
    ("services", "{ \"Svc.name_1-x\" = {} }"),
    (
        "published_metrics",
        "[\"queue_depth\", \"Orders/Placed:v2\"]",
    ),
    ("api_stage_name", "\"prod_2-b\""),
    (
        "cors_allowed_origins",
        "[\"https://a.example.com\", \"http://localhost:8080\"]",
    ),
    ("api_throttle_burst_limit", "1"),
    ("api_max_body_bytes", "4194304"),
    ("incident_ttl_days", "3650"),
    (
        "metric_retention_days",
        "{ minute = 16, hour = 400, day = 36500 }",
    ),
];

const ACCOUNT: &str = "123456789012";

/// The test files for this plan's module (paths relative to the module root).
pub fn files(plan: &Plan, module: &Module) -> Vec<OutputFile> {
    vec![
        OutputFile::new("tests/validations.tftest.hcl", validations(plan, module)),
        OutputFile::new("tests/inputs.tftest.hcl", inputs(plan, module)),
    ]
}

/// The root's variables and how many validation blocks each has.
pub fn validated_root_variables(root: &Component) -> Vec<(String, usize)> {
    root.variables
        .iter()
        .filter(|b| b.kind == "variable")
        .map(|b| (b.labels[0].clone(), b.body.blocks("validation").count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn declares(component: &Component, var: &str) -> bool {
    component
        .variables
        .iter()
        .any(|b| b.kind == "variable" && b.labels.first().is_some_and(|l| l == var))
}

fn value(src: &str) -> Expr {
    parse::expr(src).unwrap_or_else(|e| panic!("test value {src:?}: {e}"))
}

/// The mock provider every file starts with. Data sources the module reads get values the
/// provider's own validation accepts (a mock's random string is not a policy document).
fn header(what: &str) -> Document {
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    let mock = |ty: &str, attrs: Vec<(&str, Expr)>| {
        Block::new("mock_data", [ty]).attr("defaults", Expr::object(attrs))
    };
    Document::new()
        .comment(format!(
            "{what} Generated by `gen terraform`: edit monitoring.toml or the generator, not this file."
        ))
        .comment("Run with `terraform init -plugin-dir=<mirror> && terraform test` in terraform/ (`just tftest`).")
        .blank()
        .block(
            Block::new("mock_provider", ["aws"])
                .block(mock("aws_iam_policy_document", vec![("json", Expr::str(policy))]))
                .block(mock("aws_region", vec![("name", Expr::str("us-east-1"))]))
                .block(mock("aws_partition", vec![("partition", Expr::str("aws"))])),
        )
}

/// File-level variables: code from S3 for every function, so no run needs `gen package`'s zips.
fn file_variables(plan: &Plan) -> Block {
    let code = Expr::object(plan.functions.iter().map(|f| {
        (
            f.slug(),
            Expr::object([
                ("bucket", Expr::str("artifacts")),
                ("key", Expr::str(format!("{}.zip", f.slug()))),
            ]),
        )
    }));
    Block::new("variables", Vec::<String>::new())
        .attr("name_prefix", "tftest")
        .attr("lambda_s3_code", code)
}

struct Run {
    name: String,
    comment: Option<String>,
    module: Option<&'static str>,
    vars: Vec<(String, Expr)>,
    expect: Vec<String>,
    asserts: Vec<(String, String)>,
}

impl Run {
    fn new(name: impl Into<String>) -> Run {
        Run {
            name: name.into(),
            comment: None,
            module: None,
            vars: Vec::new(),
            expect: Vec::new(),
            asserts: Vec::new(),
        }
    }
    fn comment(mut self, text: &str) -> Run {
        self.comment = Some(text.to_owned());
        self
    }
    /// Plan a sub-module (`modules/<dir>`) instead of the root.
    fn module(mut self, dir: &'static str) -> Run {
        self.module = Some(dir);
        self
    }
    fn var(mut self, name: &str, src: &str) -> Run {
        self.vars.push((name.to_owned(), value(src)));
        self
    }
    fn expect(mut self, checkable: &str) -> Run {
        self.expect.push(checkable.to_owned());
        self
    }
    fn expect_if(self, when: bool, checkable: &str) -> Run {
        if when {
            self.expect(checkable)
        } else {
            self
        }
    }
    fn assert(mut self, condition: &str, message: &str) -> Run {
        self.asserts
            .push((condition.to_owned(), message.to_owned()));
        self
    }

    fn assert_if(self, when: bool, condition: &str, message: &str) -> Run {
        if when {
            self.assert(condition, message)
        } else {
            self
        }
    }

    fn block(&self, module: &Module) -> Block {
        let mut block = Block::new("run", [self.name.as_str()]);
        if let Some(c) = &self.comment {
            block = block.comment(c.clone());
        }
        block = block.attr("command", Expr::ident("plan"));
        let target = match self.module {
            Some(dir) => {
                block = block.block(
                    Block::new("module", Vec::<String>::new())
                        .attr("source", format!("./modules/{dir}")),
                );
                module.children.iter().find(|c| c.dir == dir)
            }
            None => Some(&module.root),
        };
        // Variables the configuration does not declare are left out (Terraform refuses them).
        let vars: Vec<&(String, Expr)> = self
            .vars
            .iter()
            .filter(|(n, _)| target.is_some_and(|t| declares(t, n)))
            .collect();
        if !vars.is_empty() {
            let mut v = Block::new("variables", Vec::<String>::new());
            for (name, e) in vars {
                v = v.attr(name.clone(), e.clone());
            }
            block = block.block(v);
        }
        if !self.expect.is_empty() {
            block = block.attr(
                "expect_failures",
                Expr::list(self.expect.iter().map(|e| Expr::reference(e))),
            );
        }
        for (condition, message) in &self.asserts {
            block = block.block(
                Block::new("assert", Vec::<String>::new())
                    .attr("condition", Expr::raw(condition.clone()))
                    .attr("error_message", message.as_str()),
            );
        }
        block
    }
}

fn document(header: Document, plan: &Plan, module: &Module, runs: &[Run]) -> String {
    let mut doc = header.blank().block(file_variables(plan));
    for run in runs {
        doc = doc.blank().block(run.block(module));
    }
    doc.render()
}

/// The bad values of each root variable this configuration declares, in [`REJECTS`] order.
fn reject_values(plan: &Plan, root: &Component) -> Vec<(String, Vec<String>)> {
    let mut rejects: Vec<(String, String)> = REJECTS
        .iter()
        .map(|(v, s)| ((*v).to_owned(), (*s).to_owned()))
        .collect();
    rejects.extend(
        super::service_alarms::threshold_bound_rejects(plan)
            .into_iter()
            .map(|s| ("services".to_owned(), s)),
    );
    if let Some(first) = plan.alarms.first() {
        rejects.push((
            "alarm_thresholds".into(),
            format!("{{ \"{}\" = -1 }}", first.name),
        ));
    }
    let mut by_var: Vec<(String, Vec<String>)> = Vec::new();
    for (var, src) in rejects.into_iter().filter(|(v, _)| declares(root, v)) {
        match by_var.iter_mut().find(|(v, _)| *v == var) {
            Some((_, values)) => values.push(src),
            None => by_var.push((var, vec![src])),
        }
    }
    by_var
}

fn validations(plan: &Plan, module: &Module) -> String {
    let root = &module.root;
    let mut runs = Vec::new();
    let mut accepted = Run::new("accepts_values_at_the_bounds")
        .comment("Each value is the last one its rule accepts.");
    for (var, src) in ACCEPTS.iter().filter(|(v, _)| declares(root, v)) {
        accepted = accepted.var(var, src);
    }
    runs.push(accepted);
    // Each run costs a provider start (over a second): run k holds the k-th bad value of every
    // variable, and expects each of those variables to fail (a missing failure is named).
    let by_var = reject_values(plan, root);
    let rounds = by_var.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    for k in 0..rounds {
        let mut run = Run::new(format!("rejects_bad_values_{}", k + 1));
        for (var, values) in &by_var {
            if let Some(src) = values.get(k) {
                run = run.var(var, src).expect(&format!("var.{var}"));
            }
        }
        runs.push(run);
    }
    document(
        header("Every validation of the module's variables refuses a bad value."),
        plan,
        module,
        &runs,
    )
}

fn inputs(plan: &Plan, module: &Module) -> String {
    let has = |k: ComponentKind| plan.components.contains(&k);
    let key = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555");
    let topic = format!("arn:aws:sns:us-east-1:{ACCOUNT}:platform-oncall");
    let q = |s: &str| format!("\"{s}\"");
    let mut runs = vec![
        Run::new("creates_a_key_when_none_is_given")
            .comment("Every function's code is in S3 (the file's variables): the manifest is never read.")
            .var("lambda_package_dir", "\"./no-such-folder\"")
            .assert(
                "output.kms_key_alias_name == \"alias/tftest-monitoring\"",
                "without kms_key_arn the module creates its key, with an alias from name_prefix",
            ),
        Run::new("uses_a_given_key_and_topic")
            .var("kms_key_arn", &q(&key))
            .var("sns_topic_arn", &q(&topic))
            .var("api_read_auth", "\"iam\"")
            .var("api_write_auth", "\"iam\"")
            .assert(
                "output.kms_key_arn == var.kms_key_arn && output.kms_key_alias_name == null",
                "a given key is used everywhere and none is created",
            )
            .assert(
                "output.topic_arn == var.sns_topic_arn",
                "a given topic is the alarm topic",
            )
            .assert_if(
                has(ComponentKind::Api),
                "output.api_key_id == null && output.api_usage_plan_id == null",
                "with IAM for reads and writes there is no API key or usage plan",
            ),
        Run::new("creates_the_topic_under_the_key")
            .module("alerting")
            .var("name_prefix", "\"tftest\"")
            .var("kms_key_arn", &q(&key))
            .var("alarm_emails", "[\"a@example.com\", \"b@example.com\"]")
            .assert(
                "length(aws_sns_topic.alarms) == 1 && aws_sns_topic.alarms[0].kms_master_key_id == var.kms_key_arn",
                "without topic_arn the module creates the topic, encrypted with the key",
            )
            .assert(
                "length(aws_sns_topic_policy.alarms) == 1",
                "a created topic gets the policy that lets CloudWatch publish",
            )
            .assert(
                "[for s in aws_sns_topic_subscription.email : s.protocol] == [\"email\", \"email\"]",
                "one e-mail subscription per address",
            ),
        // The one-topic layout (examples/existing-estate): the caller's topic as both the alarm
        // and the notification topic.
        Run::new("a_given_topic_gets_no_topic_or_policy")
            .module("alerting")
            .var("name_prefix", "\"tftest\"")
            .var("topic_arn", &q(&topic))
            .var("notification_topic_arn", &q(&topic))
            .var("alarm_emails", "[\"a@example.com\"]")
            .assert(
                "length(aws_sns_topic.alarms) == 0 && length(aws_sns_topic_policy.alarms) == 0",
                "a handed-in topic is neither created nor has its policy replaced",
            )
            // The notification topic exists only with the runbook executor.
            .assert_if(
                has(ComponentKind::Runbooks),
                "length(aws_sns_topic.notifications) == 0",
                "a handed-in notification topic is not created either",
            )
            .assert(
                "output.topic_arn == var.topic_arn && aws_sns_topic_subscription.email[\"a@example.com\"].topic_arn == var.topic_arn",
                "e-mail subscribes to the given topic",
            ),
        Run::new("a_created_topic_needs_a_key")
            .module("alerting")
            .var("name_prefix", "\"tftest\"")
            .expect("aws_sns_topic.alarms")
            .expect_if(has(ComponentKind::Runbooks), "aws_sns_topic.notifications"),
        Run::new("logs_bucket_name_is_the_exact_name")
            .module("storage")
            .var("name_prefix", "\"tftest\"")
            .var("kms_key_arn", &q(&key))
            .var(
                "log_processor_function_arn",
                &q(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:tftest-log-processor")),
            )
            .var("logs_bucket_name", "\"estate-logs\"")
            .assert(
                "aws_s3_bucket.logs.bucket == \"estate-logs\"",
                "logs_bucket_name names the bucket instead of the prefix",
            ),
        Run::new("log_expiry_must_follow_the_transition")
            .comment("A precondition, not a validation: a cross-variable validation needs Terraform 1.9.")
            .module("storage")
            .var("name_prefix", "\"tftest\"")
            .var("kms_key_arn", &q(&key))
            .var(
                "log_processor_function_arn",
                &q(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:tftest-log-processor")),
            )
            .var("logs_transition_days", "60")
            .var("logs_expiration_days", "45")
            .expect("aws_s3_bucket_lifecycle_configuration.logs"),
    ];
    runs.extend(function_runs(plan, &key, &topic));
    if has(ComponentKind::Api) {
        runs.extend(api_runs(&key));
    }
    if has(ComponentKind::Runbooks) {
        runs.push(
            Run::new("runbooks_subscribe_a_given_topic")
                .comment("CloudWatch's notifications are JSON bodies with an AlarmArn and no message attributes, so the filter is body-scoped (https://docs.aws.amazon.com/sns/latest/dg/message-filtering.html).")
                .module("runbooks")
                .var("name_prefix", "\"tftest\"")
                .var("kms_key_arn", &q(&key))
                .var("topic_arn", &q(&topic))
                .var(
                    "runbook_executor_function_arn",
                    &q(&format!("arn:aws:lambda:us-east-1:{ACCOUNT}:function:tftest-runbook-executor")),
                )
                .assert(
                    "aws_sns_topic_subscription.runbook_executor.topic_arn == var.topic_arn && aws_sns_topic_subscription.runbook_executor.protocol == \"lambda\"",
                    "the executor subscribes to the given topic",
                )
                .assert(
                    "aws_sns_topic_subscription.runbook_executor.filter_policy_scope == \"MessageBody\" && jsondecode(aws_sns_topic_subscription.runbook_executor.filter_policy) == { AlarmArn = [{ prefix = \"arn:\" }] }",
                    "the executor only receives CloudWatch alarm notifications",
                ),
        );
    }
    document(
        header("Existing resources handed in are used, not created; plan-time switches create what they say."),
        plan,
        module,
        &runs,
    )
}

/// Runs of the functions sub-module: code from S3 or from a zip, and the architecture check.
fn function_runs(plan: &Plan, key: &str, topic: &str) -> Vec<Run> {
    let Some(first) = plan.functions.first() else {
        return Vec::new();
    };
    let code = |entry: &dyn Fn(&str) -> String| {
        let items: Vec<String> = plan
            .functions
            .iter()
            .map(|f| format!("\"{}\" = {}", f.slug(), entry(f.slug())))
            .collect();
        format!("{{ {} }}", items.join(", "))
    };
    let base = |name: &str| {
        Run::new(name)
            .module("functions")
            .var("name_prefix", "\"tftest\"")
            .var("kms_key_arn", &format!("\"{key}\""))
            .var("table_name", "\"tftest-ApplicationMetrics\"")
            .var(
                "table_arn",
                &format!(
                    "\"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/tftest-ApplicationMetrics\""
                ),
            )
            .var("logs_bucket_arn", "\"arn:aws:s3:::tftest-logs\"")
            .var("notification_topic_arn", &format!("\"{topic}\""))
    };
    let from_s3 = |slug: &str| {
        format!(
            "{{ s3_bucket = \"artifacts\", s3_key = \"{slug}.zip\", s3_object_version = \"3\" }}"
        )
    };
    let zip = |arch: &'static str| {
        move |slug: &str| {
            format!("{{ filename = \"{slug}.zip\", source_code_hash = \"hash-{slug}\", architecture = \"{arch}\" }}")
        }
    };
    let s3_fn = format!("aws_lambda_function.{}", first.ident());
    let s3_check = format!(
        "{s3_fn}.s3_bucket == \"artifacts\" && {s3_fn}.s3_key == \"{}.zip\" && {s3_fn}.s3_object_version == \"3\" && {s3_fn}.filename == null",
        first.slug()
    );
    let zip_check = |f: &crate::config::model::Function| {
        let r = format!("aws_lambda_function.{}", f.ident());
        format!(
            "{r}.filename == \"{0}.zip\" && {r}.source_code_hash == \"hash-{0}\" && one({r}.architectures) == \"arm64\"",
            f.slug()
        )
    };
    let hash_message =
        "source_code_hash comes from the package manifest, so an unchanged build plans no change";
    let mut runs = Vec::new();
    match plan.functions.last() {
        // The first function's code from S3, the others' from zips: one run.
        Some(last) if plan.functions.len() > 1 => runs.push(
            base("code_from_s3_or_from_a_zip")
                .var(
                    "code",
                    &code(&|slug| {
                        if slug == first.slug() {
                            from_s3(slug)
                        } else {
                            zip("arm64")(slug)
                        }
                    }),
                )
                .var("architecture", "\"arm64\"")
                .assert(&s3_check, "the function's code is the given S3 object")
                .assert(&zip_check(last), hash_message),
        ),
        _ => runs.extend([
            base("code_from_s3")
                .var("code", &code(&from_s3))
                .assert(&s3_check, "the function's code is the given S3 object"),
            base("code_from_a_zip")
                .var("code", &code(&zip("arm64")))
                .var("architecture", "\"arm64\"")
                .assert(&zip_check(first), hash_message),
        ]),
    }
    runs.push(
        base("a_zip_of_another_architecture_is_refused")
            .var(
                "code",
                &code(&|slug| {
                    if slug == first.slug() {
                        zip("x86_64")(slug)
                    } else {
                        zip("arm64")(slug)
                    }
                }),
            )
            .var("architecture", "\"arm64\"")
            .expect(&s3_fn),
    );
    runs
}

fn api_runs(key: &str) -> Vec<Run> {
    let base = |name: &str| {
        Run::new(name)
            .module("api")
            .var("name_prefix", "\"tftest\"")
            .var("kms_key_arn", &format!("\"{key}\""))
            .var("function_name", "\"tftest-metrics-api\"")
            .var(
                "function_invoke_arn",
                &format!("\"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:{ACCOUNT}:function:tftest-metrics-api/invocations\""),
            )
    };
    let role = format!("arn:aws:iam::{ACCOUNT}:role/estate-apigateway-logs");
    vec![
        base("iam_auth_signs_every_method_but_the_preflight")
            .comment("Also: an estate whose account already has the logging setting keeps it.")
            .var("read_auth", "\"iam\"")
            .var("write_auth", "\"iam\"")
            .var("manage_account_logging_role", "false")
            .assert(
                "length(aws_api_gateway_api_key.this) == 0 && length(aws_api_gateway_usage_plan.this) == 0 && length(aws_api_gateway_usage_plan_key.this) == 0",
                "no API key, usage plan or key binding under IAM auth",
            )
            .assert(
                "alltrue([for m in [aws_api_gateway_method.metrics_get, aws_api_gateway_method.metrics_post, aws_api_gateway_method.health_get, aws_api_gateway_method.metrics_any, aws_api_gateway_method.health_any, aws_api_gateway_method.root_any, aws_api_gateway_method.proxy_any] : m.authorization == \"AWS_IAM\" && !m.api_key_required])",
                "every method but OPTIONS is SigV4-signed, with no API key",
            )
            .assert(
                "alltrue([for m in [aws_api_gateway_method.metrics_options, aws_api_gateway_method.health_options] : m.authorization == \"NONE\" && !m.api_key_required])",
                "browsers preflight without credentials: OPTIONS stays open",
            )
            .assert(
                "length(aws_api_gateway_account.this) == 0 && length(aws_iam_role.account_logging) == 0",
                "manage_account_logging_role = false leaves the account setting alone and creates no role",
            ),
        base("api_key_reads_and_a_given_logging_role")
            .var("read_auth", "\"api_key\"")
            .var("write_auth", "\"iam\"")
            .var("account_logging_role_arn", &format!("\"{role}\""))
            .comment("An API key identifies a caller, it does not authorise one, so writes stay SigV4 (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html).")
            .assert(
                "length(aws_api_gateway_api_key.this) == 1 && length(aws_api_gateway_usage_plan.this) == 1 && length(aws_api_gateway_usage_plan_key.this) == 1",
                "API-key reads get a key, a usage plan and the key's binding to it",
            )
            .assert(
                "alltrue([for m in [aws_api_gateway_method.metrics_get, aws_api_gateway_method.health_get, aws_api_gateway_method.metrics_any, aws_api_gateway_method.health_any, aws_api_gateway_method.root_any, aws_api_gateway_method.proxy_any] : m.authorization == \"NONE\" && m.api_key_required])",
                "reads, and other methods and paths (the function's 404/405), need the API key",
            )
            .assert(
                "aws_api_gateway_method.metrics_post.authorization == \"AWS_IAM\" && !aws_api_gateway_method.metrics_post.api_key_required",
                "writes are SigV4-signed",
            )
            .assert(
                "alltrue([for m in [aws_api_gateway_method.metrics_options, aws_api_gateway_method.health_options] : m.authorization == \"NONE\" && !m.api_key_required])",
                "browsers preflight without a key: OPTIONS stays open",
            )
            .assert(
                "length(aws_iam_role.account_logging) == 0 && aws_api_gateway_account.this[0].cloudwatch_role_arn == var.account_logging_role_arn",
                "the account setting names the given role, and the module creates none",
            ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn starter() -> Plan {
        Plan::resolve(&toml::from_str::<Config>(crate::config::STARTER).expect("starter parses"))
    }

    #[test]
    fn every_validation_block_of_a_root_variable_has_a_value_it_must_refuse() {
        let plan = starter();
        let module = Module::build(&plan);
        let rejects = reject_values(&plan, &module.root);
        for (var, blocks) in validated_root_variables(&module.root) {
            let cases = rejects
                .iter()
                .find(|(v, _)| *v == var)
                .map_or(0, |(_, values)| values.len());
            assert!(
                cases >= blocks,
                "variable {var} has {blocks} validation block(s) but {cases} rejected value(s) in REJECTS"
            );
        }
        for (var, _) in REJECTS.iter().chain(ACCEPTS) {
            assert!(declares(&module.root, var), "{var} is no root variable");
        }
    }

    #[test]
    fn runs_for_switched_off_components_are_left_out() {
        let mut config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        config.components.api = false;
        let plan = Plan::resolve(&config);
        let module = Module::build(&plan);
        let all = files(&plan, &module)
            .into_iter()
            .map(|f| f.contents)
            .collect::<String>();
        assert!(!all.contains("api_read_auth") && !all.contains("./modules/api"));
        assert!(all.contains("rejects_bad_values_1") && all.contains("var.name_prefix"));
    }
}
