//! Table `ApplicationMetrics`: idempotency claims and incidents (reserved key space, with TTL),
//! and the affected service's metrics through `metrics_core::store::MetricStore`.

use std::collections::HashMap;

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::{DateTime, Utc};
use contract::iam::{AwsClient, Operation};
use metrics_core::aggregate::MinuteMetrics;
use metrics_core::codec::{time_value, PK, SK, TTL_ATTRIBUTE};
use metrics_core::minute::Minute;
use metrics_core::MetricReader;

use crate::idempotency::{Claim, ClaimKey, ClaimStore};
use crate::ports::BoxFuture;
use crate::steps::gather_context::ServiceMetricSource;
use crate::steps::record_incident::{Closed, IncidentStore, NewIncident, Opened};

/// Claims and incidents in the table's reserved key space (its own calls); the service
/// metrics through `metrics`, a [`MetricReader`] listed beside it in `AwsPorts`.
pub struct Table {
    client: Client,
    name: String,
    metrics: MetricReader,
}

impl AwsClient for Table {
    const OPERATIONS: &'static [Operation] = &[
        Operation::DynamoDbGetItem,
        Operation::DynamoDbPutItem,
        Operation::DynamoDbQuery,
        Operation::DynamoDbUpdateItem,
    ];
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

fn sdk_error<E: std::error::Error + 'static, R: std::fmt::Debug + 'static>(
    op: &str,
    e: SdkError<E, R>,
) -> anyhow::Error {
    super::sdk_error(&format!("DynamoDB {op}"), e)
}

fn is_condition_failed<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(
    e: &SdkError<E, R>,
) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

impl Table {
    pub fn new(client: Client, name: &str) -> Table {
        Table {
            metrics: MetricReader::new(client.clone(), name),
            client,
            name: name.to_string(),
        }
    }

    async fn get(
        &self,
        pk: &str,
        sk: &str,
    ) -> anyhow::Result<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.name)
            .key(PK, s(pk))
            .key(SK, s(sk))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", e))?;
        Ok(out.item)
    }

    /// The alarm's most recent incident (highest start time).
    async fn latest_incident(
        &self,
        pk: &str,
    ) -> anyhow::Result<Option<HashMap<String, AttributeValue>>> {
        let out = self
            .client
            .query()
            .table_name(&self.name)
            .key_condition_expression("#pk = :pk")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_values(":pk", s(pk))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_error("Query", e))?;
        Ok(out.items.unwrap_or_default().into_iter().next())
    }
}

impl ClaimStore for Table {
    fn claim<'a>(
        &'a self,
        key: &'a ClaimKey,
        now: DateTime<Utc>,
        expires_at: i64,
    ) -> BoxFuture<'a, anyhow::Result<Claim>> {
        Box::pin(async move {
            let put = self
                .client
                .put_item()
                .table_name(&self.name)
                .item(PK, s(&key.pk))
                .item(SK, s(&key.sk))
                .item("status", s("started"))
                .item("claimed_at", s(time_value(now)))
                .item(TTL_ATTRIBUTE, n(expires_at))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK)
                .send()
                .await;
            match put {
                Ok(_) => Ok(Claim::Acquired),
                Err(e) if is_condition_failed(&e) => {
                    let item = self.get(&key.pk, &key.sk).await?.unwrap_or_default();
                    Ok(Claim::AlreadyClaimed {
                        status: text(&item, "status"),
                        claimed_at: text(&item, "claimed_at"),
                    })
                }
                Err(e) => Err(sdk_error("PutItem (claim)", e)),
            }
        })
    }

    fn complete<'a>(
        &'a self,
        key: &'a ClaimKey,
        status: &'a str,
        detail: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let detail: String = detail.chars().take(1000).collect();
            self.client
                .update_item()
                .table_name(&self.name)
                .key(PK, s(&key.pk))
                .key(SK, s(&key.sk))
                .update_expression("SET #st = :st, detail = :d, completed_at = :t")
                .expression_attribute_names("#st", "status")
                .expression_attribute_values(":st", s(status))
                .expression_attribute_values(":d", s(detail))
                .expression_attribute_values(":t", s(time_value(Utc::now())))
                .send()
                .await
                .map_err(|e| sdk_error("UpdateItem (claim)", e))?;
            Ok(())
        })
    }
}

impl IncidentStore for Table {
    fn open<'a>(&'a self, i: &'a NewIncident) -> BoxFuture<'a, anyhow::Result<Opened>> {
        Box::pin(async move {
            if let Some(latest) = self.latest_incident(&i.pk).await? {
                if text(&latest, "status") == "open" {
                    return Ok(Opened::AlreadyOpen {
                        since: text(&latest, SK),
                    });
                }
            }
            let mut put = self
                .client
                .put_item()
                .table_name(&self.name)
                .item(PK, s(&i.pk))
                .item(SK, s(&i.started_at))
                .item("kind", s("incident"))
                .item("status", s("open"))
                .item("alarm", s(&i.alarm))
                .item("state", s(&i.state))
                .item("reason", s(&i.reason))
                .item("started_at", s(&i.started_at))
                .item("message_id", s(&i.message_id))
                .item(TTL_ATTRIBUTE, n(i.expires_at))
                .condition_expression("attribute_not_exists(#pk)")
                .expression_attribute_names("#pk", PK);
            if let Some(link) = &i.link {
                put = put.item("runbook_link", s(link));
            }
            match put.send().await {
                Ok(_) => Ok(Opened::Opened),
                Err(e) if is_condition_failed(&e) => Ok(Opened::AlreadyOpen {
                    since: i.started_at.clone(),
                }),
                Err(e) => Err(sdk_error("PutItem (incident)", e)),
            }
        })
    }

    fn close<'a>(
        &'a self,
        pk: &'a str,
        closed_at: &'a str,
        reason: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, anyhow::Result<Closed>> {
        Box::pin(async move {
            let Some(latest) = self.latest_incident(pk).await? else {
                return Ok(Closed::NoneOpen);
            };
            if text(&latest, "status") != "open" {
                return Ok(Closed::NoneOpen);
            }
            let started_at = text(&latest, SK);
            let update = self
                .client
                .update_item()
                .table_name(&self.name)
                .key(PK, s(pk))
                .key(SK, s(&started_at))
                .update_expression(
                    "SET #st = :closed, closed_at = :at, close_reason = :r, #ttl = :ttl",
                )
                .condition_expression("#st = :open")
                .expression_attribute_names("#st", "status")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":closed", s("closed"))
                .expression_attribute_values(":open", s("open"))
                .expression_attribute_values(":at", s(closed_at))
                .expression_attribute_values(":r", s(reason))
                .expression_attribute_values(":ttl", n(expires_at))
                .send()
                .await;
            match update {
                Ok(_) => Ok(Closed::Closed { started_at }),
                Err(e) if is_condition_failed(&e) => Ok(Closed::NoneOpen),
                Err(e) => Err(sdk_error("UpdateItem (incident)", e)),
            }
        })
    }
}

impl ServiceMetricSource for Table {
    fn service_minutes<'a>(
        &'a self,
        service: &'a str,
        from: Minute,
        to_exclusive: Minute,
    ) -> BoxFuture<'a, anyhow::Result<Vec<(Minute, MinuteMetrics)>>> {
        Box::pin(async move {
            Ok(self
                .metrics
                .query_service(service, from, to_exclusive)
                .await?)
        })
    }
}
