//! The CloudWatch dashboard: API, Lambda and DynamoDB sections built from the same component and
//! alarm model as the resources, so a panel exists exactly for what is deployed.

use super::common::*;
use super::service_alarms;
use crate::config::model::{DashboardSection, Function};
use crate::hcl::{BinOp, Block, Expr};
use crate::plan::{Input, Plan};
use contract::service_metrics::{ERRORS, LATENCY, REQUESTS};

const WIDTH: u32 = 24;
const HALF: u32 = 12;
const HEIGHT: u32 = 6;
const ALARM_HEIGHT: u32 = 3;
/// A service's header and its row of panels.
const SERVICE_HEIGHT: u32 = 1 + HEIGHT;

/// `chunklist(var.alarm_arns, 100)`: one alarm status widget per 100 alarms.
fn alarm_chunks() -> Expr {
    Expr::call("chunklist", [Expr::var("alarm_arns"), Expr::num(100)])
}

/// Per service (sorted): a header and two panels, requests/errors/error rate and p50/p99 latency,
/// on the published service metrics.
fn services_section(layout: &mut Layout) {
    let ns = || Expr::local(service_alarms::NAMESPACE_LOCAL);
    let row = |metric: &str, options: Vec<(&str, Expr)>| {
        Expr::list([
            ns(),
            Expr::str(metric),
            Expr::str(contract::service_metrics::DIMENSION),
            Expr::ident("s"),
            Expr::object(options),
        ])
    };
    let top = |extra: u32| {
        layout.y_expr(layout.y + extra).binary(
            BinOp::Plus,
            Expr::ident("i").binary(BinOp::Mul, Expr::num(SERVICE_HEIGHT)),
        )
    };
    let title = |what: &str| {
        Expr::template_parts([
            crate::hcl::Part::Interp(Expr::ident("s")),
            crate::hcl::Part::Lit(format!(": {what}")),
        ])
    };
    let header = widget(
        "text",
        0,
        top(0),
        WIDTH,
        1,
        Expr::object([(
            "markdown",
            Expr::template_parts([
                crate::hcl::Part::Lit("## Service ".into()),
                crate::hcl::Part::Interp(Expr::ident("s")),
            ]),
        )]),
    );
    let traffic = widget(
        "metric",
        0,
        top(1),
        HALF,
        HEIGHT,
        Expr::object([
            ("title", title("requests, errors, error rate")),
            ("view", Expr::str("timeSeries")),
            ("region", Expr::reference("data.aws_region.current.name")),
            ("stat", Expr::str("Sum")),
            ("period", Expr::num(60)),
            (
                "metrics",
                Expr::list([
                    row(
                        REQUESTS.name,
                        vec![
                            ("id", Expr::str("requests")),
                            ("label", Expr::str("Requests")),
                        ],
                    ),
                    row(
                        ERRORS.name,
                        vec![("id", Expr::str("errors")), ("label", Expr::str("Errors"))],
                    ),
                    Expr::list([Expr::object([
                        (
                            "expression",
                            Expr::str("IF(requests > 0, 100 * errors / requests, 0)"),
                        ),
                        ("label", Expr::str("Error rate (%)")),
                        ("id", Expr::str("rate")),
                        ("yAxis", Expr::str("right")),
                    ])]),
                ]),
            ),
        ]),
    );
    let latency = widget(
        "metric",
        HALF,
        top(1),
        HALF,
        HEIGHT,
        Expr::object([
            ("title", title("latency (ms)")),
            ("view", Expr::str("timeSeries")),
            ("region", Expr::reference("data.aws_region.current.name")),
            ("stat", Expr::str("p99")),
            ("period", Expr::num(60)),
            (
                "metrics",
                Expr::list([
                    row(
                        LATENCY.name,
                        vec![("stat", Expr::str("p50")), ("label", Expr::str("p50"))],
                    ),
                    row(
                        LATENCY.name,
                        vec![("stat", Expr::str("p99")), ("label", Expr::str("p99"))],
                    ),
                ]),
            ),
        ]),
    );
    let per_service = Expr::call(
        "flatten",
        [Expr::For(Box::new(Expr::for_list(
            "i, s",
            Expr::local("services"),
            Expr::list([header, traffic, latency]),
        )))],
    );
    layout.dynamic(per_service, "service_rows");
}

/// Widgets laid out top to bottom; each row is full width or two halves. Parts whose size is
/// known only to Terraform (one block per service, one alarm widget per 100 alarms) are lists
/// computed there; the widgets below them are moved down by their height (`offsets`).
struct Layout {
    y: u32,
    /// Locals holding the heights of the dynamic parts above the current position.
    offsets: Vec<&'static str>,
    /// Lists of widgets, concatenated in order.
    parts: Vec<Expr>,
    widgets: Vec<Expr>,
}

impl Layout {
    fn new() -> Layout {
        Layout {
            y: 0,
            offsets: Vec::new(),
            parts: Vec::new(),
            widgets: Vec::new(),
        }
    }

    /// The current row, moved down by the dynamic parts above.
    fn y_expr(&self, y: u32) -> Expr {
        self.offsets.iter().fold(Expr::num(y), |e, local| {
            e.binary(BinOp::Plus, Expr::local(local))
        })
    }

    fn push(&mut self, ty: &str, x: u32, width: u32, height: u32, properties: Expr) {
        let y = self.y_expr(self.y);
        self.widgets
            .push(widget(ty, x, y, width, height, properties));
    }

    fn header(&mut self, markdown: &str) {
        self.push(
            "text",
            0,
            WIDTH,
            1,
            Expr::object([("markdown", Expr::str(markdown))]),
        );
        self.y += 1;
    }

    /// Two metric panels side by side (the second may be absent).
    fn row(&mut self, left: Expr, right: Option<Expr>) {
        match right {
            Some(right) => {
                self.push("metric", 0, HALF, HEIGHT, left);
                self.push("metric", HALF, HALF, HEIGHT, right);
            }
            None => self.push("metric", 0, WIDTH, HEIGHT, left),
        }
        self.y += HEIGHT;
    }

    /// A list of widgets computed by Terraform, `height_local` rows tall.
    fn dynamic(&mut self, list: Expr, height_local: &'static str) {
        self.parts
            .push(Expr::List(std::mem::take(&mut self.widgets)));
        self.parts.push(list);
        self.offsets.push(height_local);
    }

    fn body(mut self) -> Expr {
        self.parts.push(Expr::List(self.widgets));
        Expr::call("concat", self.parts)
    }
}

fn widget(ty: &str, x: u32, y: Expr, width: u32, height: u32, properties: Expr) -> Expr {
    Expr::object([
        ("type", Expr::str(ty)),
        ("x", Expr::num(x)),
        ("y", y),
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
        DashboardSection::Services => Input::Services,
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
    let mut layout = Layout::new();
    let has_alarms = !plan.alarms.is_empty();
    if has_alarms {
        // An alarm status widget holds at most 100 alarms
        // (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/CloudWatch-Dashboard-Body-Structure.html#CloudWatch-Dashboard-Properties-Alarm-Widget-Object).
        let alarm_widget = widget(
            "alarm",
            0,
            Expr::ident("i").binary(BinOp::Mul, Expr::num(ALARM_HEIGHT)),
            WIDTH,
            ALARM_HEIGHT,
            Expr::object([
                ("title", Expr::str("Alarms")),
                ("alarms", Expr::ident("chunk")),
            ]),
        );
        layout.dynamic(
            Expr::For(Box::new(Expr::for_list(
                "i, chunk",
                alarm_chunks(),
                alarm_widget,
            ))),
            "alarm_rows",
        );
    }
    for section in &plan.sections {
        match section {
            DashboardSection::Services => services_section(&mut layout),
            DashboardSection::Api => api_section(&mut layout),
            DashboardSection::Lambda => lambda_section(&mut layout, &plan.functions),
            DashboardSection::Dynamodb => dynamodb_section(&mut layout),
        }
    }
    let mut locals = Block::locals();
    if has_alarms {
        locals = locals.attr(
            "alarm_rows",
            Expr::num(ALARM_HEIGHT).binary(BinOp::Mul, length(alarm_chunks())),
        );
    }
    if plan.sections.contains(&DashboardSection::Services) {
        locals = locals
            .attr(
                service_alarms::NAMESPACE_LOCAL,
                service_alarms::namespace_expr(),
            )
            .attr(
                "services",
                Expr::call("sort", [keys(Expr::var("services"))]),
            )
            .attr(
                "service_rows",
                Expr::num(SERVICE_HEIGHT).binary(BinOp::Mul, length(Expr::local("services"))),
            );
    }
    let body = Expr::call("jsonencode", [Expr::object([("widgets", layout.body())])]);

    // Dashboards take no tags.
    let mut variables = vec![name_prefix_var(None)];
    let slugs: Vec<&str> = plan.functions.iter().map(|f| f.slug()).collect();
    variables.extend(input_vars(plan, &inputs(plan), &slugs));
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
            locals,
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
