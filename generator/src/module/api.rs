//! The REST API in front of the metrics-api function: routes, CORS preflight, stage with access
//! logging, tracing and throttling, API key + usage plan (or IAM auth).

use super::common::*;
use crate::config::model::{Api, ApiAuth};
use crate::hcl::{Block, Expr, Part};
use crate::plan::Plan;

/// Path part and the methods proxied to the function.
pub const ROUTES: &[(&str, &[&str])] = &[("metrics", &["GET", "POST"]), ("health", &["GET"])];

/// Requests no route above matches still reach the function, which answers them with the documented
/// JSON errors: 405 with `Allow` for another method on a known path (`ANY` on each resource), 404
/// for an unknown path (`ANY` on the root and on a greedy `{proxy+}` resource). Without them API
/// Gateway answers both itself with 403 "Missing Authentication Token", the response it also gives
/// unsigned calls. API Gateway prefers an explicit method over `ANY` and an explicit path over
/// `{proxy+}`
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html).
/// They are guarded like reads, so an unauthenticated caller still meets the gateway's 403 and
/// never the function.
const FALLBACK_AUTH: &str = "var.read_auth";

/// The auth variable guarding a method: writes (`POST`) and reads are set apart, so that writes
/// can require SigV4 while reads keep an API key. API keys identify and meter callers; AWS says
/// not to rely on them for authorization
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html),
/// hence IAM for writes by default.
fn auth_of(method: &str) -> &'static str {
    if method == "POST" {
        "var.write_auth"
    } else {
        "var.read_auth"
    }
}

pub fn component(plan: &Plan) -> Component {
    let mut main = vec![Block::resource("aws_api_gateway_rest_api", "this")
        .attr("name", Expr::template("${var.name_prefix}-metrics"))
        .attr("description", "Metrics of the application-monitoring stack")
        .block(
            Block::new("endpoint_configuration", Vec::<String>::new())
                .attr("types", Expr::list([Expr::str("REGIONAL")])),
        )
        .attr(
            "tags",
            tags_with_name(Expr::template("${var.name_prefix}-metrics")),
        )
        .block(Block::new("lifecycle", Vec::<String>::new()).attr("create_before_destroy", true))];
    main.push(
        Block::resource("aws_api_gateway_request_validator", "parameters")
            .attr(
                "rest_api_id",
                Expr::reference("aws_api_gateway_rest_api.this.id"),
            )
            .attr("name", Expr::template("${var.name_prefix}-parameters"))
            .attr("validate_request_parameters", true)
            .attr("validate_request_body", false),
    );
    let mut trigger_ids = vec![];
    for (path, methods) in ROUTES {
        main.push(top_resource(path, path));
        trigger_ids.push(format!("aws_api_gateway_resource.{path}.id"));
        for method in *methods {
            let id = format!("{path}_{}", method.to_lowercase());
            let auth = auth_of(method);
            main.extend(proxied(
                &resource_id(path),
                method,
                &id,
                auth,
                &mut trigger_ids,
            ));
        }
        let id = format!("{path}_any");
        main.extend(proxied(
            &resource_id(path),
            "ANY",
            &id,
            FALLBACK_AUTH,
            &mut trigger_ids,
        ));
        let id = format!("{path}_options");
        main.push(preflight_method(path, &id));
        main.push(proxy_integration(&resource_id(path), &id));
        trigger_ids.push(format!("aws_api_gateway_method.{path}_options.id"));
        trigger_ids.push(format!("aws_api_gateway_integration.{path}_options.id"));
    }
    main.push(top_resource("proxy", "{proxy+}"));
    trigger_ids.push("aws_api_gateway_resource.proxy.id".to_string());
    for (resource, id) in [
        ("aws_api_gateway_rest_api.this.root_resource_id", "root_any"),
        ("aws_api_gateway_resource.proxy.id", "proxy_any"),
    ] {
        main.extend(proxied(
            resource,
            "ANY",
            id,
            FALLBACK_AUTH,
            &mut trigger_ids,
        ));
    }
    main.extend(gateway_responses());
    for (id, _) in GATEWAY_RESPONSES {
        trigger_ids.push(format!("aws_api_gateway_gateway_response.{id}.id"));
    }
    main.push(
        Block::resource("aws_lambda_permission", "api_invokes_function")
            .attr("statement_id", "AllowApiGatewayInvoke")
            .attr("action", "lambda:InvokeFunction")
            .attr("function_name", Expr::reference("var.function_name"))
            .attr("principal", "apigateway.amazonaws.com")
            .attr(
                "source_arn",
                Expr::template("${aws_api_gateway_rest_api.this.execution_arn}/*/*"),
            ),
    );
    // In-place changes a deployment snapshots too: the auth modes (methods updated in place) and
    // the function behind every integration.
    // Gateway responses are updated in place too: their headers (a local built from
    // configuration, not read back from state, so refresh cannot churn it).
    trigger_ids.extend([
        "var.read_auth".to_string(),
        "var.write_auth".to_string(),
        "var.function_invoke_arn".to_string(),
        "local.cors_gateway_response_headers".to_string(),
    ]);
    main.extend(stage(&trigger_ids));
    main.extend(usage_plan());
    main.extend(account_logging_role());

    let mut outputs = vec![
        output(
            "api_id",
            "aws_api_gateway_rest_api.this.id",
            "ID of the REST API.",
        ),
        output(
            "api_name",
            "aws_api_gateway_rest_api.this.name",
            "Name of the REST API.",
        ),
        output(
            "api_arn",
            "aws_api_gateway_rest_api.this.arn",
            "ARN of the REST API.",
        ),
        output(
            "api_execution_arn",
            "aws_api_gateway_rest_api.this.execution_arn",
            "Execution ARN of the REST API (for IAM policies).",
        ),
        output(
            "api_stage_name",
            "aws_api_gateway_stage.this.stage_name",
            "Name of the deployed stage.",
        ),
        output(
            "api_stage_arn",
            "aws_api_gateway_stage.this.arn",
            "ARN of the stage (for a WAF web ACL association).",
        ),
        output(
            "api_url",
            "aws_api_gateway_stage.this.invoke_url",
            "Base URL of the metrics API.",
        ),
        output(
            "api_access_log_group_name",
            "aws_cloudwatch_log_group.access.name",
            "Log group receiving the stage's access logs.",
        ),
        output(
            "api_access_log_group_arn",
            "aws_cloudwatch_log_group.access.arn",
            "ARN of the access log group.",
        ),
        output(
            "api_execution_log_group_name",
            "aws_cloudwatch_log_group.execution.name",
            "Log group receiving the stage's execution logs (API-Gateway-Execution-Logs_<api id>/<stage>).",
        ),
    ];
    outputs.extend([
        output_expr(
            "api_key_id",
            Expr::call("one", [Expr::reference("aws_api_gateway_api_key.this[*].id")]),
            "ID of the API key (null when neither read_auth nor write_auth is \"api_key\").",
        ),
        output_expr(
            "api_key_value",
            Expr::call("one", [Expr::reference("aws_api_gateway_api_key.this[*].value")]),
            "Value of the API key, sent as x-api-key (null when neither read_auth nor write_auth is \"api_key\").",
        )
        .attr("sensitive", true),
        output_expr(
            "api_usage_plan_id",
            Expr::call("one", [Expr::reference("aws_api_gateway_usage_plan.this[*].id")]),
            "ID of the usage plan (null when neither read_auth nor write_auth is \"api_key\").",
        ),
    ]);

    Component {
        dir: "api",
        summary: "REST API for the metrics-api function (/metrics GET+POST, /health GET; the function answers other methods 405 and other paths 404).",
        main,
        variables: variables(plan),
        outputs,
    }
}

fn variables(plan: &Plan) -> Vec<Block> {
    let config = &plan.config;
    let [stage_name, rate, burst, logging] = stage_vars("", &config.api);
    vec![
        name_prefix_var(None),
        tags_var(),
        kms_key_var("the access and execution log groups"),
        super::functions::cors_origins_var(plan),
        auth_var(
            "read_auth",
            "GET /metrics and GET /health",
            config.api.read_auth,
        ),
        auth_var("write_auth", "POST /metrics", config.api.write_auth),
        variable(
            "function_name",
            "string",
            "Name of the metrics-api function.",
        )
        .block(validation(
            can_regex("^[A-Za-z0-9_-]{1,64}$", Expr::var("function_name")),
            "function_name must be a Lambda function name (1-64 letters, digits, '-' or '_').",
        )),
        arn_var(
            "function_invoke_arn",
            "apigateway",
            "Invoke ARN of the metrics-api function.",
        ),
        stage_name,
        rate,
        burst,
        logging,
        log_retention_var(config.defaults.log_retention_days),
        account_role_var("manage_account_logging_role", "account_logging_role_arn"),
        account_role_arn_var("account_logging_role_arn", "manage_account_logging_role"),
    ]
}

/// Stage settings, named `{prefix}stage_name` etc. The root module declares them again as `api_*`;
/// both come from here so a validation cannot drift between the two.
pub fn stage_vars(prefix: &str, api: &Api) -> [Block; 4] {
    let stage_name = format!("{prefix}stage_name");
    let rate = format!("{prefix}throttle_rate_limit");
    let burst = format!("{prefix}throttle_burst_limit");
    let logging = format!("{prefix}execution_logging_level");
    [
        variable(&stage_name, "string", "Name of the API stage (the first path segment of the URL).")
            .attr("default", api.stage_name.as_str())
            .block(validation(
                Expr::raw(format!("can(regex(\"^[A-Za-z0-9_-]{{1,64}}$\", var.{stage_name}))")),
                &format!("{stage_name} must be 1-64 letters, digits, '-' or '_'."),
            )),
        variable(&rate, "number", "Steady-state requests per second (stage and usage plan).")
            .attr("default", Expr::num(api.throttle_rate_limit))
            .block(validation(
                Expr::raw(format!("var.{rate} > 0")),
                &format!("{rate} must be positive."),
            )),
        variable(&burst, "number", "Burst of requests allowed above the rate (stage and usage plan).")
            .attr("default", api.throttle_burst_limit)
            .block(validation(
                Expr::raw(format!("var.{burst} >= 1 && floor(var.{burst}) == var.{burst}")),
                &format!("{burst} must be a positive whole number."),
            )),
        variable(
            &logging,
            "string",
            "Execution logging of the stage: OFF, ERROR or INFO (needs the account's API Gateway CloudWatch role).",
        )
        .attr("default", "ERROR")
        .block(validation(
            Expr::raw(format!("contains([\"OFF\", \"ERROR\", \"INFO\"], var.{logging})")),
            &format!("{logging} must be OFF, ERROR or INFO."),
        )),
    ]
}

/// What `terraform destroy` does to the account setting, for the variable and the README.
/// Provider 5.x: "destroying this resource will keep your account settings intact" unless
/// `reset_on_delete` (5.x only, not set here: 6.x removed it); provider 6.x: "The destroy
/// operation will now always reset the API Gateway account settings"
/// (https://registry.terraform.io/providers/hashicorp/aws/latest/docs/guides/version-6-upgrade#resourceaws_api_gateway_account).
pub const ACCOUNT_SETTING_ON_DESTROY: &str = "On terraform destroy, AWS provider 5.x leaves the account setting as it is, still naming the role this module created and destroyed (every REST API in the region then fails to log until someone sets another role); provider 6.x resets it to no role (the same for APIs that relied on it).";

/// Whether to manage the account-wide API Gateway logging role; the root names it differently.
///
/// Default true: AWS rejects a stage that logs to CloudWatch ("CloudWatch Logs role ARN must be
/// set in account settings to enable logging") in an account/region where the setting was never
/// made, and no data source reads it, so the default that cannot fail is to set it
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-logging.html: the role ARN
/// is set "for each AWS Region in which you want to enable CloudWatch Logs").
pub fn account_role_var(name: &str, role_arn_var: &str) -> Block {
    variable(
        name,
        "bool",
        &format!("Manage API Gateway's CloudWatch Logs role setting (aws_api_gateway_account). It is one setting per AWS account and region, shared by every REST API there; the stage's access and execution logs need it, so the default sets it to a role this module creates (or to {role_arn_var}). Set false when the account already has one in this region: true overwrites it. {ACCOUNT_SETTING_ON_DESTROY}"),
    )
    .attr("default", true)
}

/// An existing role for the account setting instead of the one the module creates.
pub fn account_role_arn_var(name: &str, manage_var: &str) -> Block {
    variable(
        name,
        "string",
        &format!("ARN of an existing IAM role API Gateway may assume to write CloudWatch Logs (e.g. with AmazonAPIGatewayPushToCloudWatchLogs); with {manage_var} = true the account setting is set to it and the module creates no role. null: the module creates the role."),
    )
    .attr("default", Expr::Null)
    .block(validation(
        Expr::raw(format!("var.{name} == null || can(regex(\"^arn:[a-z-]+:iam::[0-9]{{12}}:role/.+$\", var.{name}))")),
        &format!("{name} must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>)."),
    ))
}

/// How callers of `routes` authenticate: `api_key` (key + usage plan) or `iam` (SigV4). The
/// config's `api.read_auth` / `api.write_auth` is the default; a variable, so an estate can
/// switch without regenerating.
pub fn auth_var(name: &str, routes: &str, default: ApiAuth) -> Block {
    variable(
        name,
        "string",
        &format!("How callers of {routes} authenticate: \"api_key\" (x-api-key header, API key + usage plan) or \"iam\" (SigV4-signed requests; grant execute-api:Invoke on the API's execution ARN)."),
    )
    .attr("default", default.as_str())
    .block(validation(
        Expr::raw(format!("contains([\"api_key\", \"iam\"], var.{name})")),
        &format!("{name} must be \"api_key\" or \"iam\"."),
    ))
}

/// Gateway responses customised with the CORS headers. Every other response type (missing
/// authentication token, access denied, invalid API key, throttled, quota exceeded, ...) falls
/// back to DEFAULT_4XX or DEFAULT_5XX when not customised itself ("If the response type is
/// unspecified, this response defaults to the DEFAULT_4XX type":
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html),
/// so these two carry the headers on every response API Gateway makes on its own.
const GATEWAY_RESPONSES: &[(&str, &str)] = &[
    ("default_4xx", "DEFAULT_4XX"),
    ("default_5xx", "DEFAULT_5XX"),
];

/// Without CORS headers on API Gateway's own errors (403 missing key, 429 throttled, 5XX) a
/// browser reports an opaque CORS failure instead of the status
/// (https://docs.aws.amazon.com/apigateway/latest/developerguide/how-to-cors.html). The allowed
/// origin is the configured one when there is one (or "*"); with several, the request's Origin
/// is echoed with Vary: Origin, as the function does (a gateway error carries no data).
fn gateway_responses() -> Vec<Block> {
    let origins = || Expr::var("cors_allowed_origins");
    let quoted = |s: &str| Expr::str(format!("'{s}'"));
    let headers = Expr::object([
        (
            "gatewayresponse.header.Access-Control-Allow-Origin",
            Expr::cond(
                contains(origins(), "*"),
                quoted("*"),
                Expr::cond(
                    length(origins()).eq(1),
                    Expr::template_parts([
                        Part::Lit("'".into()),
                        Part::Interp(origins().index(0)),
                        Part::Lit("'".into()),
                    ]),
                    "method.request.header.Origin",
                ),
            ),
        ),
        (
            "gatewayresponse.header.Access-Control-Allow-Headers",
            quoted(contract::http::CORS_ALLOW_HEADERS),
        ),
        (
            "gatewayresponse.header.Access-Control-Allow-Methods",
            quoted(contract::http::CORS_ALLOW_METHODS),
        ),
        ("gatewayresponse.header.Vary", quoted("Origin")),
    ]);
    let mut blocks = vec![Block::locals().attr("cors_gateway_response_headers", headers)];
    for (id, ty) in GATEWAY_RESPONSES {
        blocks.push(
            Block::resource("aws_api_gateway_gateway_response", *id)
                .attr(
                    "rest_api_id",
                    Expr::reference("aws_api_gateway_rest_api.this.id"),
                )
                .attr("response_type", *ty)
                .attr(
                    "response_parameters",
                    Expr::reference("local.cors_gateway_response_headers"),
                ),
        );
    }
    blocks
}

/// A resource right under the API's root.
fn top_resource(name: &str, path_part: &str) -> Block {
    Block::resource("aws_api_gateway_resource", name)
        .attr(
            "rest_api_id",
            Expr::reference("aws_api_gateway_rest_api.this.id"),
        )
        .attr(
            "parent_id",
            Expr::reference("aws_api_gateway_rest_api.this.root_resource_id"),
        )
        .attr("path_part", path_part)
}

fn resource_id(path: &str) -> String {
    format!("aws_api_gateway_resource.{path}.id")
}

/// A method on `resource` (a reference to its id) proxied to the function, and its integration;
/// their ids join the deployment's triggers.
fn proxied(
    resource: &str,
    method: &str,
    id: &str,
    auth: &str,
    trigger_ids: &mut Vec<String>,
) -> [Block; 2] {
    trigger_ids.push(format!("aws_api_gateway_method.{id}.id"));
    trigger_ids.push(format!("aws_api_gateway_integration.{id}.id"));
    [
        proxy_method(resource, method, id, auth),
        proxy_integration(resource, id),
    ]
}

fn proxy_method(resource: &str, method: &str, id: &str, auth: &str) -> Block {
    Block::resource("aws_api_gateway_method", id)
        .attr(
            "rest_api_id",
            Expr::reference("aws_api_gateway_rest_api.this.id"),
        )
        .attr("resource_id", Expr::reference(resource))
        .attr("http_method", method)
        .attr(
            "authorization",
            Expr::cond(Expr::reference(auth).eq("iam"), "AWS_IAM", "NONE"),
        )
        .attr("api_key_required", Expr::reference(auth).eq("api_key"))
        .attr(
            "request_validator_id",
            Expr::reference("aws_api_gateway_request_validator.parameters.id"),
        )
}

fn proxy_integration(resource: &str, id: &str) -> Block {
    Block::resource("aws_api_gateway_integration", id)
        .attr(
            "rest_api_id",
            Expr::reference("aws_api_gateway_rest_api.this.id"),
        )
        .attr("resource_id", Expr::reference(resource))
        .attr(
            "http_method",
            Expr::reference(&format!("aws_api_gateway_method.{id}.http_method")),
        )
        .attr("type", "AWS_PROXY")
        .comment("Lambda is always invoked with POST, whatever the client's method.")
        .attr("integration_http_method", "POST")
        .attr("uri", Expr::reference("var.function_invoke_arn"))
}

/// OPTIONS goes to the function like every other method: it echoes whichever configured origin
/// asked (a MOCK integration can only answer with one fixed origin). Unauthenticated, because
/// browsers send no API key or signature on a preflight.
fn preflight_method(path: &str, id: &str) -> Block {
    skip(
        Block::resource("aws_api_gateway_method", id),
        "CKV2_AWS_70",
        "CORS preflight must be unauthenticated (browsers send no key or signature); the function answers it with CORS headers only",
    )
    .attr("rest_api_id", Expr::reference("aws_api_gateway_rest_api.this.id"))
    .attr("resource_id", Expr::reference(&format!("aws_api_gateway_resource.{path}.id")))
    .attr("http_method", "OPTIONS")
    .attr("authorization", "NONE")
    .attr("api_key_required", false)
    .attr(
        "request_validator_id",
        Expr::reference("aws_api_gateway_request_validator.parameters.id"),
    )
}

fn stage(trigger_ids: &[String]) -> Vec<Block> {
    let access_format = Expr::call(
        "jsonencode",
        [Expr::object(
            [
                ("requestId", "$context.requestId"),
                ("extendedRequestId", "$context.extendedRequestId"),
                ("ip", "$context.identity.sourceIp"),
                ("caller", "$context.identity.caller"),
                ("apiKeyId", "$context.identity.apiKeyId"),
                ("requestTime", "$context.requestTime"),
                ("httpMethod", "$context.httpMethod"),
                ("resourcePath", "$context.resourcePath"),
                ("status", "$context.status"),
                ("protocol", "$context.protocol"),
                ("responseLength", "$context.responseLength"),
                ("integrationLatency", "$context.integrationLatency"),
                ("responseLatency", "$context.responseLatency"),
                ("xrayTraceId", "$context.xrayTraceId"),
            ]
            .map(|(k, v)| (k, Expr::str(v))),
        )],
    );
    let triggers = Expr::list(trigger_ids.iter().map(|t| Expr::reference(t)));
    vec![
        Block::resource("aws_api_gateway_deployment", "this")
            .attr("rest_api_id", Expr::reference("aws_api_gateway_rest_api.this.id"))
            .comment("Redeploy when a route, the auth mode or the function changes. Ids, not whole")
            .comment("objects: refresh rewrites null maps as {} and a whole-object hash would redeploy")
            .comment("on every plan.")
            .attr(
                "triggers",
                Expr::object([(
                    "redeployment",
                    Expr::call("sha1", [Expr::call("jsonencode", [triggers])]),
                )]),
            )
            .block(Block::new("lifecycle", Vec::<String>::new()).attr("create_before_destroy", true)),
        skip(
            Block::resource("aws_cloudwatch_log_group", "access"),
            "CKV_AWS_338",
            "retention is the log_retention_days variable; access logs need not be kept a year",
        )
        .attr("name", Expr::template("/aws/apigateway/${var.name_prefix}-metrics/access"))
        .attr("retention_in_days", Expr::reference("var.log_retention_days"))
        .attr("kms_key_id", Expr::reference("var.kms_key_arn"))
        .attr("tags", tags_with_name(Expr::template("/aws/apigateway/${var.name_prefix}-metrics/access"))),
        skip(
            Block::resource("aws_cloudwatch_log_group", "execution"),
            "CKV_AWS_338",
            "retention is the log_retention_days variable; execution logs need not be kept a year",
        )
        .comment("The group API Gateway writes execution logs to; it creates it itself (no retention, no")
        .comment("KMS) unless it exists, so it is created here before the stage logs. Name fixed by AWS:")
        .comment("https://docs.aws.amazon.com/apigateway/latest/developerguide/rest-api-execution-logging.html")
        .attr(
            "name",
            Expr::template("API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}"),
        )
        .attr("retention_in_days", Expr::reference("var.log_retention_days"))
        .attr("kms_key_id", Expr::reference("var.kms_key_arn"))
        .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-metrics-${var.stage_name}-execution-logs"))),
        skip(
            skip(
                skip(
                    Block::resource("aws_api_gateway_stage", "this"),
                    "CKV_AWS_120",
                    "metrics are live data; a response cache would serve stale values",
                ),
                "CKV2_AWS_29",
                "WAF is the estate's choice: associate a web ACL with the stage_arn output",
            ),
            "CKV2_AWS_51",
            "clients are API callers, not API Gateway backends; backend client certificates do not apply to Lambda proxy integrations",
        )
        .attr("rest_api_id", Expr::reference("aws_api_gateway_rest_api.this.id"))
        .attr("deployment_id", Expr::reference("aws_api_gateway_deployment.this.id"))
        .attr("stage_name", Expr::reference("var.stage_name"))
        .attr("xray_tracing_enabled", true)
        .block(
            Block::new("access_log_settings", Vec::<String>::new())
                .attr("destination_arn", Expr::reference("aws_cloudwatch_log_group.access.arn"))
                .attr("format", access_format),
        )
        .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-metrics-${var.stage_name}")))
        .comment("Logging fails on an account/region without the CloudWatch role setting: set it first.")
        .attr(
            "depends_on",
            Expr::list([Expr::reference("aws_api_gateway_account.this"), Expr::reference("aws_cloudwatch_log_group.execution")]),
        ),
        skip(
            Block::resource("aws_api_gateway_method_settings", "all"),
            "CKV_AWS_225",
            "metrics are live data; a response cache would serve stale values",
        )
        .attr("rest_api_id", Expr::reference("aws_api_gateway_rest_api.this.id"))
        .attr("stage_name", Expr::reference("aws_api_gateway_stage.this.stage_name"))
        .attr("method_path", "*/*")
        .comment("Execution logging for every method (logging_level ERROR by default, INFO or OFF by")
        .comment("variable); no data trace: it would log request and response bodies.")
        .block(
            Block::new("settings", Vec::<String>::new())
                .attr("metrics_enabled", true)
                .attr("logging_level", Expr::reference("var.execution_logging_level"))
                .attr("data_trace_enabled", false)
                .attr("throttling_rate_limit", Expr::reference("var.throttle_rate_limit"))
                .attr("throttling_burst_limit", Expr::reference("var.throttle_burst_limit"))
                .attr("caching_enabled", false)
                .attr("cache_data_encrypted", true),
        )
        .attr(
            "depends_on",
            Expr::list([Expr::reference("aws_api_gateway_account.this"), Expr::reference("aws_cloudwatch_log_group.execution")]),
        ),
    ]
}

/// The key and usage plan exist when any route takes an API key.
const ONLY_WITH_API_KEY: &str =
    "var.read_auth == \"api_key\" || var.write_auth == \"api_key\" ? 1 : 0";

fn usage_plan() -> Vec<Block> {
    vec![
        Block::resource("aws_api_gateway_api_key", "this")
            .attr("count", Expr::raw(ONLY_WITH_API_KEY))
            .attr("name", Expr::template("${var.name_prefix}-metrics"))
            .attr("description", "Key for the metrics API")
            .attr("enabled", true)
            .attr(
                "tags",
                tags_with_name(Expr::template("${var.name_prefix}-metrics")),
            ),
        Block::resource("aws_api_gateway_usage_plan", "this")
            .attr("count", Expr::raw(ONLY_WITH_API_KEY))
            .attr("name", Expr::template("${var.name_prefix}-metrics"))
            .block(
                Block::new("api_stages", Vec::<String>::new())
                    .attr(
                        "api_id",
                        Expr::reference("aws_api_gateway_rest_api.this.id"),
                    )
                    .attr(
                        "stage",
                        Expr::reference("aws_api_gateway_stage.this.stage_name"),
                    ),
            )
            .block(
                Block::new("throttle_settings", Vec::<String>::new())
                    .attr("rate_limit", Expr::reference("var.throttle_rate_limit"))
                    .attr("burst_limit", Expr::reference("var.throttle_burst_limit")),
            )
            .attr(
                "tags",
                tags_with_name(Expr::template("${var.name_prefix}-metrics")),
            ),
        Block::resource("aws_api_gateway_usage_plan_key", "this")
            .attr("count", Expr::raw(ONLY_WITH_API_KEY))
            .attr(
                "key_id",
                Expr::reference("aws_api_gateway_api_key.this[0].id"),
            )
            .attr("key_type", "API_KEY")
            .attr(
                "usage_plan_id",
                Expr::reference("aws_api_gateway_usage_plan.this[0].id"),
            ),
    ]
}

/// API Gateway writes stage logs through one role per account and region (managed by default).
fn account_logging_role() -> Vec<Block> {
    let create_role =
        "var.manage_account_logging_role && var.account_logging_role_arn == null ? 1 : 0";
    vec![
        Block::data("aws_iam_policy_document", "assume_apigateway").block(
            Block::new("statement", Vec::<String>::new())
                .attr("actions", Expr::list([Expr::str("sts:AssumeRole")]))
                .block(principals("Service", vec![Expr::str("apigateway.amazonaws.com")])),
        ),
        Block::resource("aws_iam_role", "account_logging")
            .attr("count", Expr::raw(create_role))
            .comment("Region in the name: IAM names are global, the account setting is per region.")
            .attr("name", Expr::template(&super::functions::role_name("apigateway-logging")))
            .attr("assume_role_policy", Expr::reference("data.aws_iam_policy_document.assume_apigateway.json"))
            .attr("tags", tags_with_name(Expr::template("${var.name_prefix}-apigateway-logging")))
            .block(super::functions::role_name_precondition("apigateway-logging")),
        Block::resource("aws_iam_role_policy_attachment", "account_logging")
            .attr("count", Expr::raw(create_role))
            .attr("role", Expr::reference("aws_iam_role.account_logging[0].name"))
            .attr(
                "policy_arn",
                Expr::template("arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"),
            ),
        Block::resource("aws_api_gateway_account", "this")
            .comment("One setting per account and region. reset_on_delete is not set: provider 6.x removed it.")
            .attr("count", Expr::cond(Expr::var("manage_account_logging_role"), 1, 0))
            .attr(
                "cloudwatch_role_arn",
                Expr::cond(
                    Expr::var("account_logging_role_arn").ne(Expr::Null),
                    Expr::var("account_logging_role_arn"),
                    Expr::reference("aws_iam_role.account_logging[0].arn"),
                ),
            )
            .comment("The role must hold its policy before API Gateway accepts it.")
            .attr("depends_on", Expr::list([Expr::reference("aws_iam_role_policy_attachment.account_logging")])),
        Block::data("aws_partition", "current"),
        Block::data("aws_region", "current"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;

    fn main_tf(read: ApiAuth, write: ApiAuth) -> String {
        let mut config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        config.api.read_auth = read;
        config.api.write_auth = write;
        component(&Plan::resolve(&config)).file("main.tf")
    }

    fn default_main_tf() -> String {
        main_tf(ApiAuth::ApiKey, ApiAuth::Iam)
    }

    /// The body of `resource "<ty>" "<name>" { ... }` in rendered HCL, whitespace collapsed
    /// (alignment padding depends on the neighbouring attributes).
    fn resource(tf: &str, ty: &str, name: &str) -> String {
        let header = format!("resource \"{ty}\" \"{name}\" {{\n");
        let start = tf
            .find(&header)
            .unwrap_or_else(|| panic!("{ty}.{name} missing"));
        let body = &tf[start + header.len()..];
        let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn preflight_is_proxied_to_the_function_without_auth() {
        for (read, write) in [
            (ApiAuth::ApiKey, ApiAuth::Iam),
            (ApiAuth::Iam, ApiAuth::Iam),
            (ApiAuth::ApiKey, ApiAuth::ApiKey),
        ] {
            let tf = main_tf(read, write);
            assert_eq!(tf, default_main_tf(), "auth is a variable, not structure");
            assert!(!tf.contains("MOCK") && !tf.contains("aws_api_gateway_integration_response"));
            for path in ["metrics", "health"] {
                let id = format!("{path}_options");
                let method = resource(&tf, "aws_api_gateway_method", &id);
                assert!(method.contains("http_method = \"OPTIONS\""), "{method}");
                assert!(method.contains("authorization = \"NONE\""), "{method}");
                assert!(method.contains("api_key_required = false"), "{method}");
                let integration = resource(&tf, "aws_api_gateway_integration", &id);
                assert!(
                    integration.contains("type = \"AWS_PROXY\""),
                    "{integration}"
                );
                assert!(integration.contains("uri = var.function_invoke_arn"));
                let triggers = resource(&tf, "aws_api_gateway_deployment", "this");
                assert!(triggers.contains(&format!("aws_api_gateway_integration.{id}.id")));
                assert!(
                    triggers.contains("var.read_auth, var.write_auth, var.function_invoke_arn"),
                    "{triggers}"
                );
            }
        }
    }

    #[test]
    fn writes_and_reads_have_their_own_auth_defaulting_to_the_config() {
        let tf = default_main_tf();
        for (id, var) in [
            ("metrics_get", "var.read_auth"),
            ("health_get", "var.read_auth"),
            ("metrics_post", "var.write_auth"),
        ] {
            let method = resource(&tf, "aws_api_gateway_method", id);
            assert!(
                method.contains(&format!(
                    r#"authorization = {var} == "iam" ? "AWS_IAM" : "NONE""#
                )),
                "{id}: {method}"
            );
            assert!(method.contains(&format!(r#"api_key_required = {var} == "api_key""#)));
        }
        for ty in [
            "aws_api_gateway_api_key",
            "aws_api_gateway_usage_plan",
            "aws_api_gateway_usage_plan_key",
        ] {
            assert!(
                resource(&tf, ty, "this").contains(
                    r#"count = var.read_auth == "api_key" || var.write_auth == "api_key" ? 1 : 0"#
                ),
                "{ty}"
            );
        }
        let vars = vars_tf();
        let read = variable(&vars, "read_auth");
        let write = variable(&vars, "write_auth");
        assert!(read.contains(r#"default = "api_key""#), "{read}");
        assert!(write.contains(r#"default = "iam""#), "{write}");
        assert!(read.contains(r#"contains(["api_key", "iam"], var.read_auth)"#));
        assert!(write.contains(r#"contains(["api_key", "iam"], var.write_auth)"#));
        assert!(write.contains("POST /metrics") && read.contains("GET /metrics"));
    }

    /// Other methods and paths reach the function (405/404 JSON) instead of API Gateway's 403
    /// "Missing Authentication Token", guarded like reads.
    #[test]
    fn other_methods_and_paths_reach_the_function_guarded_like_reads() {
        let tf = default_main_tf();
        let proxy = resource(&tf, "aws_api_gateway_resource", "proxy");
        assert!(proxy.contains(r#"path_part = "{proxy+}""#), "{proxy}");
        assert!(proxy.contains("parent_id = aws_api_gateway_rest_api.this.root_resource_id"));
        for (id, on) in [
            ("metrics_any", "aws_api_gateway_resource.metrics.id"),
            ("health_any", "aws_api_gateway_resource.health.id"),
            ("root_any", "aws_api_gateway_rest_api.this.root_resource_id"),
            ("proxy_any", "aws_api_gateway_resource.proxy.id"),
        ] {
            let method = resource(&tf, "aws_api_gateway_method", id);
            assert!(method.contains(r#"http_method = "ANY""#), "{id}: {method}");
            assert!(
                method.contains(&format!("resource_id = {on}")),
                "{id}: {method}"
            );
            assert!(
                method.contains(r#"authorization = var.read_auth == "iam" ? "AWS_IAM" : "NONE""#),
                "{id}: {method}"
            );
            assert!(method.contains(r#"api_key_required = var.read_auth == "api_key""#));
            let integration = resource(&tf, "aws_api_gateway_integration", id);
            assert!(
                integration.contains("uri = var.function_invoke_arn"),
                "{integration}"
            );
            let triggers = resource(&tf, "aws_api_gateway_deployment", "this");
            assert!(triggers.contains(&format!("aws_api_gateway_method.{id}.id")));
            assert!(triggers.contains(&format!("aws_api_gateway_integration.{id}.id")));
        }
    }

    fn vars_tf() -> String {
        let config: Config = toml::from_str(crate::config::STARTER).expect("starter parses");
        component(&Plan::resolve(&config)).file("variables.tf")
    }

    fn variable(tf: &str, name: &str) -> String {
        let header = format!("variable \"{name}\" {{\n");
        let body = &tf[tf.find(&header).unwrap_or_else(|| panic!("{name} missing"))..];
        let body = &body[..body.find("\n}\n").unwrap_or(body.len())];
        body.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn account_logging_setting_is_managed_by_default_and_precedes_the_stage() {
        let vars = vars_tf();
        let manage = variable(&vars, "manage_account_logging_role");
        assert!(manage.contains("default = true"), "{manage}");
        for words in [
            "account and region",
            "provider 5.x",
            "provider 6.x",
            "destroy",
        ] {
            assert!(
                manage.contains(words),
                "description lacks {words:?}: {manage}"
            );
        }
        let arn = variable(&vars, "account_logging_role_arn");
        assert!(
            arn.contains("default = null") && arn.contains(":role/"),
            "{arn}"
        );

        let tf = default_main_tf();
        let account = resource(&tf, "aws_api_gateway_account", "this");
        assert!(account.contains("count = var.manage_account_logging_role ? 1 : 0"));
        assert!(account.contains("var.account_logging_role_arn != null ? var.account_logging_role_arn : aws_iam_role.account_logging[0].arn"));
        assert!(account.contains("depends_on = [aws_iam_role_policy_attachment.account_logging]"));
        assert!(
            !account.contains("reset_on_delete ="),
            "removed in provider 6.x"
        );
        let role = resource(&tf, "aws_iam_role", "account_logging");
        assert!(role.contains("count = var.manage_account_logging_role && var.account_logging_role_arn == null ? 1 : 0"), "{role}");
        for (ty, name) in [
            ("aws_api_gateway_stage", "this"),
            ("aws_api_gateway_method_settings", "all"),
        ] {
            let r = resource(&tf, ty, name);
            assert!(
                r.contains("depends_on = [aws_api_gateway_account.this, aws_cloudwatch_log_group.execution]"),
                "{ty}: {r}"
            );
        }
    }

    #[test]
    fn execution_log_group_is_the_modules_with_retention_and_key() {
        let tf = default_main_tf();
        let group = resource(&tf, "aws_cloudwatch_log_group", "execution");
        assert!(
            group.contains(r#"name = "API-Gateway-Execution-Logs_${aws_api_gateway_rest_api.this.id}/${var.stage_name}""#),
            "{group}"
        );
        assert!(group.contains("retention_in_days = var.log_retention_days"));
        assert!(group.contains("kms_key_id = var.kms_key_arn"));
        let settings = resource(&tf, "aws_api_gateway_method_settings", "all");
        assert!(settings.contains(r#"method_path = "*/*""#));
        assert!(settings.contains("logging_level = var.execution_logging_level"));
        assert!(settings.contains("data_trace_enabled = false"));
    }

    #[test]
    fn gateway_responses_carry_cors_headers_and_redeploy_the_stage() {
        let tf = default_main_tf();
        for (id, ty) in [
            ("default_4xx", "DEFAULT_4XX"),
            ("default_5xx", "DEFAULT_5XX"),
        ] {
            let r = resource(&tf, "aws_api_gateway_gateway_response", id);
            assert!(r.contains(&format!(r#"response_type = "{ty}""#)), "{r}");
            assert!(r.contains("response_parameters = local.cors_gateway_response_headers"));
        }
        let flat = tf.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains(r#""gatewayresponse.header.Access-Control-Allow-Origin" = contains(var.cors_allowed_origins, "*") ? "'*'" : length(var.cors_allowed_origins) == 1 ? "'${var.cors_allowed_origins[0]}'" : "method.request.header.Origin""#), "{flat}");
        assert!(flat.contains(r#""gatewayresponse.header.Vary" = "'Origin'""#));
        let triggers = resource(&tf, "aws_api_gateway_deployment", "this");
        for t in [
            "aws_api_gateway_gateway_response.default_4xx.id",
            "aws_api_gateway_gateway_response.default_5xx.id",
            "local.cors_gateway_response_headers",
        ] {
            assert!(triggers.contains(t), "{t}: {triggers}");
        }
    }
}
