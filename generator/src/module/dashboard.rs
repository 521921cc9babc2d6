//! The CloudWatch dashboard: API, Lambda and DynamoDB sections built from the same component and
//! alarm model as the resources, so a panel exists exactly for what is deployed.

use super::common::*;
use crate::config::model::{DashboardSection, Function};
use crate::hcl::{Block, Expr};
use crate::plan::{Input, Plan};

const WIDTH: u32 = 24;
const HALF: u32 = 12;
const HEIGHT: u32 = 6;

/// Widgets laid out top to bottom; each row is full width or two halves.
struct Layout {
    y: u32,
    widgets: Vec<Expr>,
}

impl Layout {
    fn header(&mut self, markdown: &str) {
        self.widgets.push(widget(
            "text",
            0,
            self.y,
            WIDTH,
            1,
            Expr::object([("markdown", Expr::str(markdown))]),
        ));
        self.y += 1;
    }

    /// Two metric panels side by side (the second may be absent).
    fn row(&mut self, left: Expr, right: Option<Expr>) {
        match right {
            Some(right) => {
                self.widgets
                    .push(widget("metric", 0, self.y, HALF, HEIGHT, left));
                self.widgets
                    .push(widget("metric", HALF, self.y, HALF, HEIGHT, right));
            }
            None => self
                .widgets
                .push(widget("metric", 0, self.y, WIDTH, HEIGHT, left)),
        }
        self.y += HEIGHT;
    }
}

fn widget(ty: &str, x: u32, y: u32, width: u32, height: u32, properties: Expr) -> Expr {
    Expr::object([
        ("type", Expr::str(ty)),
        ("x", Expr::num(x)),
        ("y", Expr::num(y)),
        ("width", Expr::num(width)),
        ("height", Expr::num(height)),
        ("properties", properties),
    ])
}

/// A metric panel: `metrics` rows are `[namespace, name, dim, value, ..., {options}]`.
fn panel(title: &str, stat: &str, metrics: Vec<Expr>) -> Expr {
    Expr::object([
        ("title", Expr::str(title)),
        ("view", Expr::str("timeSeries")),
        ("region", Expr::reference("data.aws_region.current.name")),
        ("stat", Expr::str(stat)),
        ("period", Expr::num(60)),
        ("metrics", Expr::List(metrics)),
    ])
}

fn metric(namespace: &str, name: &str, dims: &[(&str, Expr)], options: &[(&str, &str)]) -> Expr {
    let mut row = vec![Expr::str(namespace), Expr::str(name)];
    for (k, v) in dims {
        row.push(Expr::str(*k));
        row.push(v.clone());
    }
    if !options.is_empty() {
        row.push(Expr::object(
            options.iter().map(|(k, v)| (*k, Expr::str(*v))),
        ));
    }
    Expr::List(row)
}

/// The input a section's widgets read.
pub fn section_input(section: DashboardSection) -> Input {
    match section {
        DashboardSection::Api => Input::Api,
        DashboardSection::Lambda => Input::FunctionNames,
        DashboardSection::Dynamodb => Input::TableName,
    }
}

/// The inputs the plan's sections read, sorted and deduplicated.
pub fn inputs(plan: &Plan) -> Vec<Input> {
    let mut inputs: Vec<Input> = plan.sections.iter().map(|s| section_input(*s)).collect();
    inputs.sort();
    inputs.dedup();
    inputs
}

pub fn component(plan: &Plan) -> Component {
    let mut layout = Layout {
        y: 0,
        widgets: vec![],
    };
    let has_alarms = !plan.alarms.is_empty();
    if has_alarms {
        layout.widgets.push(widget(
            "alarm",
            0,
            0,
            WIDTH,
            3,
            Expr::object([
                ("title", Expr::str("Alarms")),
                ("alarms", Expr::reference("var.alarm_arns")),
            ]),
        ));
        layout.y = 3;
    }
    for section in &plan.sections {
        match section {
            DashboardSection::Api => api_section(&mut layout),
            DashboardSection::Lambda => lambda_section(&mut layout, &plan.functions),
            DashboardSection::Dynamodb => dynamodb_section(&mut layout),
        }
    }
    let body = Expr::call(
        "jsonencode",
        [Expr::object([("widgets", Expr::List(layout.widgets))])],
    );

    // Dashboards take no tags.
    let mut variables = vec![name_prefix_var(None)];
    let slugs: Vec<&str> = plan.functions.iter().map(|f| f.slug()).collect();
    variables.extend(input_vars(&inputs(plan), &slugs));
    if has_alarms {
        variables.push(
            variable("alarm_arns", "list(string)", "ARNs of the alarms shown at the top.").block(
                validation(
                    Expr::raw("alltrue([for a in var.alarm_arns : can(regex(\"^arn:[a-z-]+:cloudwatch:[a-z0-9-]+:[0-9]{12}:alarm:.+$\", a))])"),
                    "alarm_arns must be CloudWatch alarm ARNs.",
                ),
            ),
        );
    }
    Component {
        dir: "dashboard",
        summary: "CloudWatch dashboard: API performance, Lambda health, DynamoDB performance.",
        main: vec![
            Block::data("aws_region", "current"),
            Block::resource("aws_cloudwatch_dashboard", "this")
                .attr(
                    "dashboard_name",
                    Expr::template("${var.name_prefix}-monitoring"),
                )
                .attr("dashboard_body", body),
        ],
        variables,
        outputs: vec![
            output(
                "dashboard_name",
                "aws_cloudwatch_dashboard.this.dashboard_name",
                "Name of the dashboard.",
            ),
            output(
                "dashboard_arn",
                "aws_cloudwatch_dashboard.this.dashboard_arn",
                "ARN of the dashboard.",
            ),
        ],
    }
}

fn api_section(layout: &mut Layout) {
    let dims = [
        ("ApiName", Expr::reference("var.api_name")),
        ("Stage", Expr::reference("var.api_stage_name")),
    ];
    let m = |name: &str, opts: &[(&str, &str)]| metric("AWS/ApiGateway", name, &dims, opts);
    layout.header("## API performance");
    layout.row(
        panel(
            "Requests and errors",
            "Sum",
            vec![
                m("Count", &[("label", "Requests")]),
                m("4XXError", &[("label", "4XX")]),
                m("5XXError", &[("label", "5XX")]),
            ],
        ),
        Some(panel(
            "Latency (ms)",
            "p99",
            vec![
                m("Latency", &[("stat", "p50"), ("label", "p50")]),
                m("Latency", &[("stat", "p90"), ("label", "p90")]),
                m("Latency", &[("stat", "p99"), ("label", "p99")]),
                m(
                    "IntegrationLatency",
                    &[("stat", "p99"), ("label", "integration p99")],
                ),
            ],
        )),
    );
}

fn lambda_section(layout: &mut Layout, functions: &[Function]) {
    let name = |f: &Function| Expr::raw(format!("var.function_names[\"{}\"]", f.slug()));
    let per_fn = |metric_name: &str, stat: &str| {
        functions
            .iter()
            .map(|f| {
                metric(
                    "AWS/Lambda",
                    metric_name,
                    &[("FunctionName", name(f))],
                    &[("stat", stat), ("label", f.slug())],
                )
            })
            .collect::<Vec<_>>()
    };
    layout.header("## Lambda health");
    layout.row(
        panel("Invocations", "Sum", per_fn("Invocations", "Sum")),
        Some(panel("Errors", "Sum", per_fn("Errors", "Sum"))),
    );
    layout.row(
        panel("Duration p99 (ms)", "p99", per_fn("Duration", "p99")),
        Some(panel("Throttles", "Sum", per_fn("Throttles", "Sum"))),
    );
}

fn dynamodb_section(layout: &mut Layout) {
    let table = || ("TableName", Expr::reference("var.table_name"));
    let m = |name: &str, label: &str| metric("AWS/DynamoDB", name, &[table()], &[("label", label)]);
    let op = |operation: &str| {
        metric(
            "AWS/DynamoDB",
            "SuccessfulRequestLatency",
            &[table(), ("Operation", Expr::str(operation))],
            &[("label", operation)],
        )
    };
    layout.header("## DynamoDB performance");
    layout.row(
        panel(
            "Consumed capacity",
            "Sum",
            vec![
                m("ConsumedReadCapacityUnits", "read units"),
                m("ConsumedWriteCapacityUnits", "write units"),
            ],
        ),
        Some(panel(
            "Throttled events",
            "Sum",
            vec![
                m("ReadThrottleEvents", "read"),
                m("WriteThrottleEvents", "write"),
            ],
        )),
    );
    layout.row(
        panel(
            "Request latency (ms)",
            "Average",
            vec![
                op("Query"),
                op("GetItem"),
                op("PutItem"),
                op("UpdateItem"),
                op("BatchWriteItem"),
            ],
        ),
        None,
    );
}
