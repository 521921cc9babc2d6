//! The Lambda handler: event in, proxy response out. Thin: it wires the pure
//! modules to the store and owns no rules of its own.

use contract::acceptance::{Window, MAX_AGE_MS};
use contract::Function;
use metrics_core::publish::{self, PublishSummary};
use metrics_core::store::atomic::{AtomicError, AtomicOutcome, AtomicWrite, Idempotency};
use metrics_core::store::{RequestCounts, Retention};
use metrics_core::{
    MetricPublisher, MetricReader, MetricStore, MetricWriter, StoreError, TableProbe,
};
use serde_json::{json, Value};

use crate::aggregate::Series;
use crate::config::Config;
use crate::error::ApiError;
use crate::ingest;
use crate::query::{self, rfc3339, MetricsQuery, Page};
use crate::read;
use crate::request::{parse_event, EventError, Request};
use crate::respond::Response;
use crate::routes::{route, Route};

/// The table clients the function holds: every AWS operation it may perform.
pub struct TableClients {
    pub writer: MetricWriter,
    pub reader: MetricReader,
    pub probe: TableProbe,
    /// Shared by the three, for its request counters only.
    store: MetricStore,
}

contract::assert_clients!(
    Function::MetricsApi;
    MetricWriter, MetricReader, TableProbe, MetricPublisher
);

impl TableClients {
    pub fn new(client: aws_sdk_dynamodb::Client, table: &str) -> Self {
        Self::with_retention(client, table, Retention::default())
    }

    /// Clients whose writes expire after `retention` (the function's configuration).
    pub fn with_retention(
        client: aws_sdk_dynamodb::Client,
        table: &str,
        retention: Retention,
    ) -> Self {
        let store = MetricStore::new(client, table).with_retention(retention);
        Self {
            writer: MetricWriter::from_store(store.clone()),
            reader: MetricReader::from_store(store.clone()),
            probe: TableProbe::from_store(store.clone()),
            store,
        }
    }

    /// DynamoDB requests made so far through these clients.
    pub fn request_counts(&self) -> RequestCounts {
        self.store.request_counts()
    }
}

pub struct App {
    pub table: TableClients,
    /// The services' metrics in CloudWatch, published after each `POST /metrics` commit.
    pub cloudwatch: MetricPublisher,
    pub config: Config,
}

impl App {
    pub fn new(table: TableClients, cloudwatch: MetricPublisher, config: Config) -> Self {
        Self {
            table,
            cloudwatch,
            config,
        }
    }

    /// Handles one invocation. Only an event that is not an API Gateway
    /// request at all is an `Err`; every HTTP outcome is a response.
    pub async fn handle(&self, event: Value) -> Result<Value, EventError> {
        let (version, request) = parse_event(event)?;
        let (origin, mut response) = match request {
            Ok(req) => {
                let origin = req.header("origin").map(str::to_owned);
                let resp = match self.dispatch(&req).await {
                    Ok(r) => r,
                    Err(e) => Response::error(&e),
                };
                (origin, resp)
            }
            Err(e) => (None, Response::error(&e)),
        };
        self.config.cors.apply(origin.as_deref(), &mut response);
        Ok(response.into_event(version))
    }

    async fn dispatch(&self, req: &Request) -> Result<Response, ApiError> {
        match route(&req.method, &req.path)? {
            Route::Preflight => Ok(Response::empty(204)),
            Route::Health => Ok(self.health().await),
            Route::GetMetrics => {
                let now = req.reference_time_ms().div_euclid(1000);
                query::check_repeats(&req.repeated)?;
                let q = query::parse(&req.query, now)?;
                let answer = read::page(&self.table.reader, &q, q.page())
                    .await
                    .map_err(store_error)?;
                Ok(render_metrics(
                    &q,
                    answer.page,
                    answer.series,
                    answer.ranking,
                ))
            }
            Route::PostMetrics => self.post(req).await,
        }
    }

    async fn health(&self) -> Response {
        match self.table.probe.ping().await {
            Ok(()) => Response::json(200, &json!({"status": "ok", "table": "reachable"})),
            Err(e) => {
                tracing::error!(error = %e, "health check: table unreachable");
                Response::json(
                    503,
                    &json!({"status": "unavailable", "table": "unreachable"}),
                )
            }
        }
    }

    async fn post(&self, req: &Request) -> Result<Response, ApiError> {
        if req.body.len() > self.config.max_body_bytes {
            return Err(ApiError::too_large(self.config.max_body_bytes));
        }
        let source = ingest::source_id(req.header(ingest::IDEMPOTENCY_HEADER))?;
        let now_ms = req.reference_time_ms();
        let points = ingest::parse_body(&req.body, &Window::around(now_ms))?;
        let write = ingest::to_write(&points)?;
        let idempotency = source.as_deref().map(|source_id| Idempotency {
            source_id,
            body_digest: &write.body_digest,
            // When the earliest point leaves the acceptance window: from then on a resend of
            // this body is refused by the window, so the record is no longer needed.
            expires_at: write.earliest + MAX_AGE_MS / 1000,
        });
        let outcome = self
            .table
            .writer
            .apply_atomic(&AtomicWrite {
                batch: &write.batch,
                idempotency,
                now: now_ms.div_euclid(1000),
            })
            .await
            .map_err(|e| atomic_error(e, &write))?;
        let (written, already_applied, duplicate) = match &outcome {
            AtomicOutcome::Applied(report) => {
                self.publish(&write.batch, &report.applied).await;
                (report.groups_written, 0, false)
            }
            // A retry of an applied Idempotency-Key with the same body writes nothing and says so.
            AtomicOutcome::Duplicate { groups, .. } => (0, *groups, true),
        };
        let values: usize = points.iter().map(ingest::Point::values).sum();
        Ok(Response::json(
            202,
            &json!({
                "accepted": {"points": points.len(), "values": values},
                "groups": {"written": written, "already_applied": already_applied},
                "duplicate": duplicate,
            }),
        ))
    }
}

impl App {
    /// After the commit: the groups it newly applied go to CloudWatch (a retried request with
    /// a used `Idempotency-Key` applies none, so publishes none). Failures are logged, never the
    /// response: the write succeeded, and a client's retry would not publish again.
    async fn publish(&self, batch: &metrics_core::Batch, applied: &[metrics_core::GroupKey]) {
        let plan = publish::plan(
            batch,
            applied,
            &self.config.publish,
            chrono::Utc::now().timestamp(),
        );
        if plan.requests.is_empty() && plan.groups_not_published == 0 {
            return;
        }
        let s = PublishSummary::new(&plan, self.cloudwatch.publish(&plan).await);
        let services = serde_json::to_string(&s.not_published_services).unwrap_or_default();
        if s.too_old_for_cloudwatch + s.too_new_for_cloudwatch + s.sent.datums_not_published > 0 {
            tracing::warn!(
                groups_published = s.groups_published,
                groups_not_published = s.groups_not_published,
                not_published_services = %services,
                too_old_for_cloudwatch = s.too_old_for_cloudwatch,
                too_new_for_cloudwatch = s.too_new_for_cloudwatch,
                put_metric_data_requests = s.sent.put_metric_data_requests,
                datums_published = s.sent.datums_published,
                datums_not_published = s.sent.datums_not_published,
                "service metrics partly not in CloudWatch (the table has them)"
            );
        } else {
            tracing::info!(
                groups_published = s.groups_published,
                groups_not_published = s.groups_not_published,
                not_published_services = %services,
                put_metric_data_requests = s.sent.put_metric_data_requests,
                datums_published = s.sent.datums_published,
                "service metrics published"
            );
        }
    }
}

/// An atomic write's refusals name the request's field at fault; store failures go through
/// [`store_error`].
fn atomic_error(e: AtomicError, write: &ingest::Write) -> ApiError {
    let message = e.to_string();
    match e {
        AtomicError::Store(inner) => store_error(inner),
        AtomicError::TooManyGroups { .. } => ApiError::body(Some("points".to_owned()), message),
        AtomicError::ItemTooLarge { key, .. } => {
            ApiError::store_limit(413, "item_too_large", message).at(write.field_of(&key))
        }
        AtomicError::TransactionTooLarge { at, .. } => {
            ApiError::store_limit(413, "transaction_too_large", message).at(write.field_of(&at))
        }
        AtomicError::KeyReused { .. } => ApiError::key_reused(format!(
            "{message}; a key names one request: resend that request's body to retry it, or use \
             a new key for a new request"
        )),
    }
}

/// Store failures caused by the request itself are 4xx; the rest (DynamoDB
/// unreachable, throttled past retries, corrupt items) are 503 and logged.
fn store_error(e: StoreError) -> ApiError {
    match &e {
        StoreError::Invalid(m) => ApiError::body(Some(ingest::WHOLE_BODY.to_owned()), m.clone()),
        StoreError::ItemTooLarge { .. } => {
            ApiError::store_limit(413, "item_too_large", e.to_string())
        }
        _ => {
            tracing::error!(error = %e, "metrics store request failed");
            ApiError::unavailable()
        }
    }
}

/// The `GET /metrics` body for one page (typed, serialised once).
#[derive(serde::Serialize)]
struct MetricsBody<'a> {
    service: Option<&'a str>,
    from: String,
    to: String,
    period: i64,
    stats: Vec<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    order: Option<String>,
    /// `top` queries: the ranked services, best first, with the ranking value.
    #[serde(skip_serializing_if = "Option::is_none")]
    ranking: Option<Vec<Ranked>>,
    page: PageBody,
    series: Vec<Series>,
    next_token: Option<String>,
}

#[derive(serde::Serialize)]
struct Ranked {
    service: String,
    value: f64,
}

#[derive(serde::Serialize)]
struct PageBody {
    from: String,
    to: String,
}

pub fn render_metrics(
    q: &MetricsQuery,
    page: Page,
    series: Vec<Series>,
    ranking: Option<Vec<(String, f64)>>,
) -> Response {
    let next_token = page
        .next
        .map(|start| q.token_for(start, ranking.as_deref()));
    let body = MetricsBody {
        service: q.service.as_deref(),
        from: rfc3339(q.from),
        to: rfc3339(q.to),
        period: q.period,
        stats: q.stats.iter().map(|s| s.as_str()).collect(),
        top: q.top.as_ref().map(|t| t.n),
        order: q
            .top
            .as_ref()
            .map(|t| format!("{}:{}", t.metric, t.stat.as_str())),
        ranking: ranking.map(|r| {
            r.into_iter()
                .map(|(service, value)| Ranked { service, value })
                .collect()
        }),
        page: PageBody {
            from: rfc3339(page.start),
            to: rfc3339(page.end),
        },
        series,
        next_token,
    };
    Response::json(200, &body)
}
