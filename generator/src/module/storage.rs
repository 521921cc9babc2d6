//! The logs bucket (with its ObjectCreated trigger) and the ApplicationMetrics table.

use super::common::*;
use crate::config::model::{Config, Defaults};
use crate::hcl::{Block, Expr, Part};
use crate::plan::Plan;

/// The data contract's table, key and index names (the functions use the same ones).
pub use contract::table::{
    PARTITION_KEY, SORT_KEY, TABLE_SUFFIX, TIMESTAMP_INDEX as INDEX_NAME, TTL_ATTRIBUTE,
};

pub fn component(plan: &Plan) -> Component {
    Component {
        dir: "storage",
        summary: "Logs bucket (secure by default, notifies the log processor) and the ApplicationMetrics table.",
        main: [bucket(), notification(), table()].concat(),
        variables: variables(&plan.config),
        outputs: vec![
            output("logs_bucket_name", "aws_s3_bucket.logs.id", "Name of the logs bucket."),
            output("logs_bucket_arn", "aws_s3_bucket.logs.arn", "ARN of the logs bucket."),
            output(
                "logs_prefix",
                "var.logs_prefix",
                "Key prefix whose new objects are processed.",
            ),
            output("table_name", "aws_dynamodb_table.metrics.name", "Name of the ApplicationMetrics table."),
            output("table_arn", "aws_dynamodb_table.metrics.arn", "ARN of the ApplicationMetrics table."),
            output_expr(
                "table_index_arn",
                Expr::template_parts([
                    Part::Interp(Expr::reference("aws_dynamodb_table.metrics.arn")),
                    Part::Lit(format!("/index/{INDEX_NAME}")),
                ]),
                "ARN of the TimestampIndex global secondary index.",
            ),
        ],
    }
}

/// `logs_bucket_name`, declared again by the root module under the same name.
pub fn logs_bucket_name_var() -> Block {
    variable(
        "logs_bucket_name",
        "string",
        "Exact name of the logs bucket; null lets AWS pick a unique name starting with \"<name_prefix>-logs-\".",
    )
    .attr("default", Expr::Null)
    .block(validation(
        Expr::raw("var.logs_bucket_name == null || can(regex(\"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$\", var.logs_bucket_name))"),
        "logs_bucket_name must be a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-').",
    ))
}

/// Lifecycle and protection variables, declared again by the root module under the same names:
/// `logs_transition_days`, `logs_expiration_days`, `force_destroy`, `table_deletion_protection`.
pub fn lifecycle_vars(d: &Defaults) -> [Block; 4] {
    [
        variable(
            "logs_transition_days",
            "number",
            "Days after which log objects move to STANDARD_IA (a noncurrent version: this many days after it became noncurrent).",
        )
        .attr("default", d.logs_transition_days)
        .block(validation(
            Expr::raw("var.logs_transition_days >= 30"),
            "logs_transition_days must be at least 30 (S3's minimum for STANDARD_IA).",
        )),
        variable(
            "logs_expiration_days",
            "number",
            "Days after which log objects are deleted (a noncurrent version: this many days after it became noncurrent). Delete markers left with no version are removed.",
        )
        .attr("default", d.logs_expiration_days)
        .block(validation(
            Expr::raw("var.logs_expiration_days >= 1"),
            "logs_expiration_days must be at least 1.",
        )),
        variable(
            "force_destroy",
            "bool",
            "Let `terraform destroy` delete a bucket that still holds log objects.",
        )
        .attr("default", false),
        variable(
            "table_deletion_protection",
            "bool",
            "Protect the ApplicationMetrics table from deletion.",
        )
        .attr("default", true),
    ]
}

/// `logs_prefix`, declared again by the root module under the same name: the storage module
/// notifies for it, the functions module grants it and hands it to the log processor.
pub fn logs_prefix_var() -> Block {
    variable(
        "logs_prefix",
        "string",
        "Key prefix applications write logs under; new objects below it go to the log processor (its LOGS_PREFIX), whose key names the service: <prefix><service>/... .",
    )
    .attr("default", "logs/")
    .block(validation(
        can_regex("^[A-Za-z0-9!_.*'()-]+/$", Expr::var("logs_prefix")),
        "logs_prefix must be a key prefix ending in '/', e.g. \"logs/\".",
    ))
}

fn variables(config: &Config) -> Vec<Block> {
    let mut vars = vec![
        name_prefix_var(None),
        tags_var(),
        kms_key_var("the bucket and the table"),
        logs_bucket_name_var(),
        logs_prefix_var(),
    ];
    vars.extend(lifecycle_vars(&config.defaults));
    vars.push(arn_var(
        "log_processor_function_arn",
        "lambda",
        "ARN of the function that receives ObjectCreated events for the logs prefix.",
    ));
    vars
}

/// A bucket policy statement denying every S3 action on the logs bucket and its objects, to anyone,
/// when `when` holds.
fn deny_all_when(sid: &str, when: Block) -> Block {
    Block::new("statement", Vec::<String>::new())
        .attr("sid", sid)
        .attr("effect", "Deny")
        .attr("actions", Expr::list([Expr::str("s3:*")]))
        .attr(
            "resources",
            Expr::list([
                Expr::reference("aws_s3_bucket.logs.arn"),
                Expr::template("${aws_s3_bucket.logs.arn}/*"),
            ]),
        )
        .block(principals("*", vec![Expr::str("*")]))
        .block(when)
}

fn bucket() -> Vec<Block> {
    let bucket_ref = || Expr::reference("aws_s3_bucket.logs.id");
    let deny_insecure = Block::data("aws_iam_policy_document", "logs_tls_only")
        .block(deny_all_when(
            "DenyInsecureTransport",
            condition("Bool", "aws:SecureTransport", vec![Expr::str("false")]),
        ))
        .block(deny_all_when(
            "DenyOutdatedTls",
            condition("NumericLessThan", "s3:TlsVersion", vec![Expr::str("1.2")]),
        ));
    vec![
        skip(
            skip(
                Block::resource("aws_s3_bucket", "logs"),
                "CKV_AWS_18",
                "this bucket holds application logs; access logging it would need a second logs bucket (use CloudTrail S3 data events)",
            ),
            "CKV_AWS_144",
            "cross-region replication of operational logs is the estate's decision, not this module's",
        )
        .attr(
            "bucket",
            Expr::reference("var.logs_bucket_name"),
        )
        .attr(
            "bucket_prefix",
            Expr::raw("var.logs_bucket_name == null ? \"${var.name_prefix}-logs-\" : null"),
        )
        .attr("force_destroy", Expr::reference("var.force_destroy"))
        .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-logs"))),
        Block::resource("aws_s3_bucket_ownership_controls", "logs")
            .attr("bucket", bucket_ref())
            .block(
                Block::new("rule", Vec::<String>::new())
                    .attr("object_ownership", "BucketOwnerEnforced"),
            ),
        Block::resource("aws_s3_bucket_public_access_block", "logs")
            .attr("bucket", bucket_ref())
            .attr("block_public_acls", true)
            .attr("block_public_policy", true)
            .attr("ignore_public_acls", true)
            .attr("restrict_public_buckets", true),
        Block::resource("aws_s3_bucket_versioning", "logs")
            .attr("bucket", bucket_ref())
            .block(Block::new("versioning_configuration", Vec::<String>::new()).attr("status", "Enabled")),
        Block::resource("aws_s3_bucket_server_side_encryption_configuration", "logs")
            .attr("bucket", bucket_ref())
            .block(
                Block::new("rule", Vec::<String>::new())
                    .attr("bucket_key_enabled", true)
                    .block(
                        Block::new("apply_server_side_encryption_by_default", Vec::<String>::new())
                            .attr("sse_algorithm", "aws:kms")
                            .attr("kms_master_key_id", Expr::reference("var.kms_key_arn")),
                    ),
            ),
        Block::resource("aws_s3_bucket_lifecycle_configuration", "logs")
            .attr("bucket", bucket_ref())
            .comment("Current and noncurrent versions follow the same two variables: STANDARD_IA after")
            .comment("logs_transition_days (30 at least for either: https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-transition-general-considerations.html),")
            .comment("deleted after logs_expiration_days (noncurrent: days since they became noncurrent,")
            .comment("https://docs.aws.amazon.com/AmazonS3/latest/API/API_NoncurrentVersionExpiration.html).")
            .block(
                Block::new("rule", Vec::<String>::new())
                    .attr("id", "expire-logs")
                    .attr("status", "Enabled")
                    .block(Block::new("filter", Vec::<String>::new()))
                    .block(
                        Block::new("transition", Vec::<String>::new())
                            .attr("days", Expr::reference("var.logs_transition_days"))
                            .attr("storage_class", "STANDARD_IA"),
                    )
                    .block(
                        Block::new("expiration", Vec::<String>::new())
                            .attr("days", Expr::reference("var.logs_expiration_days")),
                    )
                    .block(
                        Block::new("noncurrent_version_transition", Vec::<String>::new())
                            .attr("noncurrent_days", Expr::reference("var.logs_transition_days"))
                            .attr("storage_class", "STANDARD_IA"),
                    )
                    .block(
                        Block::new("noncurrent_version_expiration", Vec::<String>::new())
                            .attr("noncurrent_days", Expr::reference("var.logs_expiration_days")),
                    )
                    .block(
                        Block::new("abort_incomplete_multipart_upload", Vec::<String>::new())
                            .attr("days_after_initiation", 7),
                    ),
            )
            .comment("A rule of its own: ExpiredObjectDeleteMarker \"cannot be specified with Days or Date")
            .comment("in a Lifecycle Expiration Policy\" (https://docs.aws.amazon.com/AmazonS3/latest/API/API_LifecycleExpiration.html).")
            .comment("It removes a delete marker as soon as it is the only version left, instead of waiting")
            .comment("for the Days rule's age (https://docs.aws.amazon.com/AmazonS3/latest/userguide/lifecycle-configuration-examples.html).")
            .block(
                Block::new("rule", Vec::<String>::new())
                    .attr("id", "remove-expired-delete-markers")
                    .attr("status", "Enabled")
                    .block(Block::new("filter", Vec::<String>::new()))
                    .block(
                        Block::new("expiration", Vec::<String>::new())
                            .attr("expired_object_delete_marker", true),
                    ),
            )
            // A precondition, not a validation: a validation naming another variable needs
            // Terraform >= 1.9, and the module supports >= 1.5.
            .block(precondition(
                Expr::raw("var.logs_expiration_days > var.logs_transition_days"),
                "logs_expiration_days must be greater than logs_transition_days.",
            )),
        Block::resource("aws_s3_bucket_policy", "logs")
            .attr("bucket", bucket_ref())
            .attr("policy", Expr::reference("data.aws_iam_policy_document.logs_tls_only.json"))
            .comment("The public access block must exist first, or S3 may reject the policy call.")
            .attr("depends_on", Expr::list([Expr::reference("aws_s3_bucket_public_access_block.logs")])),
        deny_insecure,
    ]
}

fn notification() -> Vec<Block> {
    vec![
        Block::resource("aws_lambda_permission", "s3_invokes_log_processor")
            .attr("statement_id", "AllowS3Invoke")
            .attr("action", "lambda:InvokeFunction")
            .attr(
                "function_name",
                Expr::reference("var.log_processor_function_arn"),
            )
            .attr("principal", "s3.amazonaws.com")
            .attr("source_arn", Expr::reference("aws_s3_bucket.logs.arn"))
            .comment("Bucket names are global: pin the owning account too.")
            .attr(
                "source_account",
                Expr::raw("split(\":\", var.log_processor_function_arn)[4]"),
            ),
        Block::resource("aws_s3_bucket_notification", "logs")
            .attr("bucket", Expr::reference("aws_s3_bucket.logs.id"))
            .block(
                Block::new("lambda_function", Vec::<String>::new())
                    .attr(
                        "lambda_function_arn",
                        Expr::reference("var.log_processor_function_arn"),
                    )
                    .attr("events", Expr::list([Expr::str("s3:ObjectCreated:*")]))
                    .attr("filter_prefix", Expr::reference("var.logs_prefix")),
            )
            .attr(
                "depends_on",
                Expr::list([Expr::reference(
                    "aws_lambda_permission.s3_invokes_log_processor",
                )]),
            ),
    ]
}

fn table() -> Vec<Block> {
    let attribute = |name: &str| {
        Block::new("attribute", Vec::<String>::new())
            .attr("name", name)
            .attr("type", "S")
    };
    vec![Block::resource("aws_dynamodb_table", "metrics")
        .attr(
            "name",
            Expr::template(&format!("${{var.name_prefix}}-{TABLE_SUFFIX}")),
        )
        .attr("billing_mode", "PAY_PER_REQUEST")
        .attr("hash_key", PARTITION_KEY)
        .attr("range_key", SORT_KEY)
        .attr(
            "deletion_protection_enabled",
            Expr::reference("var.table_deletion_protection"),
        )
        .block(attribute(PARTITION_KEY))
        .block(attribute(SORT_KEY))
        .comment("Keys inverted: \"every service in minute T\" is one Query.")
        .block(
            Block::new("global_secondary_index", Vec::<String>::new())
                .attr("name", INDEX_NAME)
                .attr("hash_key", SORT_KEY)
                .attr("range_key", PARTITION_KEY)
                .attr("projection_type", "ALL"),
        )
        .block(
            Block::new("server_side_encryption", Vec::<String>::new())
                .attr("enabled", true)
                .attr("kms_key_arn", Expr::reference("var.kms_key_arn")),
        )
        .block(Block::new("point_in_time_recovery", Vec::<String>::new()).attr("enabled", true))
        .block(
            Block::new("ttl", Vec::<String>::new())
                .attr("attribute_name", TTL_ATTRIBUTE)
                .attr("enabled", true),
        )
        .attr(
            "tags",
            tags_with_name(Expr::template(&format!(
                "${{var.name_prefix}}-{TABLE_SUFFIX}"
            ))),
        )]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_matches_the_variable_names_and_removes_delete_markers() {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        let tf = component(&Plan::resolve(&config)).file("main.tf");
        let start = tf
            .find("resource \"aws_s3_bucket_lifecycle_configuration\" \"logs\"")
            .expect("lifecycle");
        let body = &tf[start..];
        let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
        let flat = body
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect::<Vec<_>>()
            .join(" ")
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            flat.contains(
                "noncurrent_version_expiration { noncurrent_days = var.logs_expiration_days }"
            ),
            "{flat}"
        );
        assert!(flat.contains("noncurrent_version_transition { noncurrent_days = var.logs_transition_days storage_class = \"STANDARD_IA\" }"), "{flat}");
        assert!(flat.contains("expiration { days = var.logs_expiration_days }"));
        // Its own rule: S3 refuses ExpiredObjectDeleteMarker beside Days in one expiration.
        assert!(flat.contains(r#"rule { id = "remove-expired-delete-markers" status = "Enabled" filter {} expiration { expired_object_delete_marker = true } }"#), "{flat}");
    }
}
