//! SDK configuration for a local endpoint, and the metric table as the Terraform module defines it.

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::DisplayErrorContext;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use metrics_core::codec::{GSI_TIMESTAMP, PK, SK};
use std::collections::HashMap;

/// The region every test talks to (moto keeps state per region).
pub const REGION: &str = "us-east-1";

/// Explicit configuration for `endpoint` (fixed region, dummy credentials): the process
/// environment is neither read nor touched, so tests can run in parallel.
pub async fn sdk_config(endpoint: &str) -> SdkConfig {
    metrics_core::aws::local_sdk_config(endpoint, REGION).await
}

/// A DynamoDB client for `endpoint`, built the way the functions build theirs.
pub async fn client(endpoint: &str) -> Client {
    metrics_core::aws::dynamodb_client(&sdk_config(endpoint).await)
}

/// A DynamoDB client for `endpoint` whose SDK never retries: a test in front of a fault proxy
/// then sees every error it injects, and only the store's own retries act on them.
pub async fn client_without_sdk_retries(endpoint: &str) -> Client {
    let conf = aws_sdk_dynamodb::config::Builder::from(&sdk_config(endpoint).await)
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::disabled())
        .build();
    Client::from_conf(conf)
}

fn key(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .expect("key schema")
}

fn attr(name: &str) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .expect("attribute definition")
}

/// Creates the table of the data contract: keys (ServiceName, Timestamp), GSI TimestampIndex inverted.
pub async fn create_metric_table(client: &Client, table: &str) {
    let gsi = GlobalSecondaryIndex::builder()
        .index_name(GSI_TIMESTAMP)
        .key_schema(key(SK, KeyType::Hash))
        .key_schema(key(PK, KeyType::Range))
        .projection(
            Projection::builder()
                .projection_type(ProjectionType::All)
                .build(),
        )
        .build()
        .expect("gsi");
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attr(PK))
        .attribute_definitions(attr(SK))
        .key_schema(key(PK, KeyType::Hash))
        .key_schema(key(SK, KeyType::Range))
        .global_secondary_indexes(gsi)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create table {table}: {}", DisplayErrorContext(&e)));
}

/// Every item of `table`, all pages, in the order moto returns them. (A Scan is fine in a test;
/// the functions never scan.)
pub async fn scan_all(client: &Client, table: &str) -> Vec<HashMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start)
            .send()
            .await
            .unwrap_or_else(|e| panic!("scan {table}: {}", DisplayErrorContext(&e)));
        items.extend(page.items().iter().cloned());
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            return items;
        }
    }
}
