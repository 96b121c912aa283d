//! DynamoDB adapter of [`LinkFailureStore`], kept in the connections table
//! beside the participants (partition key `pk`, sort key `sk`):
//!
//! - `LINKFAIL#<client tag>` / `WINDOW#<window start in epoch seconds>`:
//!   `failures`, the number of invalid links in that window, raised by an
//!   atomic `ADD`, and `expiresAt` (epoch seconds, the TTL attribute).
//!
//! The client tag is a keyed hash of the address
//! ([`crate::link::LinkKey::client_address_tag`]), so no item contains an
//! address. Each window has its own item, so a record is never read after
//! its window has ended, and TTL deleting it late changes no count.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use chrono::{DateTime, Utc};

use super::{LinkFailureStore, StoreError};

const FAILURES: &str = "failures";

/// The invalid-link counts in the connections table.
#[derive(Debug, Clone)]
pub struct DynamoLinkFailures {
    client: Client,
    table: String,
}

impl DynamoLinkFailures {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn partition_key(client: &str) -> AttributeValue {
    AttributeValue::S(format!("LINKFAIL#{client}"))
}

fn sort_key(window_start: DateTime<Utc>) -> AttributeValue {
    AttributeValue::S(format!("WINDOW#{}", window_start.timestamp()))
}

/// Reads the `failures` count of an item. Counts beyond `u32` saturate.
fn failures_of(
    item: Option<&std::collections::HashMap<String, AttributeValue>>,
) -> Result<u32, StoreError> {
    let Some(value) = item.and_then(|item| item.get(FAILURES)) else {
        return Ok(0);
    };
    value
        .as_n()
        .ok()
        .and_then(|text| text.parse::<u64>().ok())
        .map(|count| u32::try_from(count).unwrap_or(u32::MAX))
        .ok_or_else(|| StoreError::Unavailable("stored item is malformed: failures".into()))
}

#[async_trait]
impl LinkFailureStore for DynamoLinkFailures {
    async fn failures(&self, client: &str, window_start: DateTime<Utc>) -> Result<u32, StoreError> {
        // An eventually consistent read costs half of a strongly consistent
        // one, and a count that lags by a second only delays a block.
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", partition_key(client))
            .key("sk", sort_key(window_start))
            .projection_expression("#failures")
            .expression_attribute_names("#failures", FAILURES)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        failures_of(output.item.as_ref())
    }

    async fn add_failure(
        &self,
        client: &str,
        window_start: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<u32, StoreError> {
        let output = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", partition_key(client))
            .key("sk", sort_key(window_start))
            .update_expression("ADD #failures :one SET expiresAt = :expires")
            .expression_attribute_names("#failures", FAILURES)
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(
                ":expires",
                AttributeValue::N(expires_at.timestamp().to_string()),
            )
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(StoreError::unavailable)?;
        failures_of(output.attributes.as_ref())
    }
}
