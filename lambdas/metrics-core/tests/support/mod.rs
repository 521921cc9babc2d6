//! Helpers of the integration tests: a moto server and the metric table on it.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod moto;

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use aws_sdk_dynamodb::Client;
use metrics_core::codec::{GSI_TIMESTAMP, PK, SK};

/// A DynamoDB client for moto, configured explicitly (the process environment is not touched).
pub async fn client(endpoint: &str) -> Client {
    let conf = metrics_core::aws::local_sdk_config(endpoint, "us-east-1").await;
    metrics_core::aws::dynamodb_client(&conf)
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
pub async fn create_table(client: &Client, table: &str) {
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
        .unwrap_or_else(|e| {
            panic!(
                "create table {table}: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            )
        });
}
