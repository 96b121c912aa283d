//! An SDK interceptor on the DynamoDB client that counts every operation by
//! name and table, the items each one reads or writes, and an estimate of
//! the read capacity it consumes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::interceptors::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::delete_item::DeleteItemInput;
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::PutItemInput;
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_sdk_dynamodb::operation::update_item::UpdateItemInput;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_types::config_bag::{Storable, StoreReplace};

/// Counts of one kind of call, such as `GetItem` on the connections table.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallCounts {
    /// Calls made, each counted once however often the SDK retried it.
    pub calls: u64,
    /// HTTP requests sent. More than `calls` only when the SDK retried.
    pub attempts: u64,
    /// Calls that ended in an error, such as a failed condition.
    pub errors: u64,
    /// Items returned (`Count` for a query, 1 for a `GetItem` that found one).
    pub items_returned: u64,
    /// Items a query read before any filter (`ScannedCount`), which DynamoDB bills.
    pub items_scanned: u64,
    /// Items a write call put, updated or deleted, transaction members included.
    pub items_written: u64,
    /// Read request units by DynamoDB's on-demand rules, from the returned
    /// items' sizes: see [`read_units`].
    pub read_units: f64,
}

impl CallCounts {
    fn add(&mut self, other: &CallCounts) {
        self.calls += other.calls;
        self.attempts += other.attempts;
        self.errors += other.errors;
        self.items_returned += other.items_returned;
        self.items_scanned += other.items_scanned;
        self.items_written += other.items_written;
        self.read_units += other.read_units;
    }

    fn subtract(&mut self, other: &CallCounts) {
        self.calls -= other.calls;
        self.attempts -= other.attempts;
        self.errors -= other.errors;
        self.items_returned -= other.items_returned;
        self.items_scanned -= other.items_scanned;
        self.items_written -= other.items_written;
        self.read_units -= other.read_units;
    }
}

/// Counts per call kind, keyed like `GetItem connections` or
/// `Query rooms/byMailDate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tally(pub BTreeMap<String, CallCounts>);

impl Tally {
    /// Returns what happened between `earlier` and this tally.
    pub fn since(&self, earlier: &Tally) -> Tally {
        let mut delta = self.clone();
        for (key, counts) in &earlier.0 {
            delta.0.entry(key.clone()).or_default().subtract(counts);
        }
        delta
            .0
            .retain(|_, counts| counts.calls > 0 || counts.attempts > 0);
        delta
    }

    /// Adds another tally to this one.
    pub fn add(&mut self, other: &Tally) {
        for (key, counts) in &other.0 {
            self.0.entry(key.clone()).or_default().add(counts);
        }
    }

    /// Sums the counts of every call kind for which `keep` returns true.
    pub fn total(&self, keep: impl Fn(&str) -> bool) -> CallCounts {
        let mut total = CallCounts::default();
        for (key, counts) in &self.0 {
            if keep(key) {
                total.add(counts);
            }
        }
        total
    }
}

/// Returns true for the operations that read items.
pub fn is_read(key: &str) -> bool {
    [
        "GetItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "TransactGetItems",
    ]
    .iter()
    .any(|operation| key.split(' ').next() == Some(*operation))
}

/// Returns true for the operations that write items.
pub fn is_write(key: &str) -> bool {
    [
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
    ]
    .iter()
    .any(|operation| key.split(' ').next() == Some(*operation))
}

/// The DynamoDB client's interceptor. Clones share one tally.
#[derive(Debug, Clone, Default)]
pub struct CountingInterceptor {
    tally: Arc<Mutex<Tally>>,
}

impl CountingInterceptor {
    /// Returns a copy of the counts so far.
    pub fn snapshot(&self) -> Tally {
        self.tally.lock().unwrap().clone()
    }

    fn update(&self, key: &str, change: impl FnOnce(&mut CallCounts)) {
        let mut tally = self.tally.lock().unwrap();
        change(tally.0.entry(key.to_owned()).or_default());
    }
}

/// Call kind and read consistency, taken from the input by
/// `read_before_execution` for the later hooks of the same call.
#[derive(Debug, Clone)]
struct CallInfo {
    key: String,
    consistent_read: bool,
}

impl Storable for CallInfo {
    type Storer = StoreReplace<Self>;
}

/// Names the call kind and counts the items a write touches, from the input.
/// The operation's name comes from the input's type, because the SDK adds
/// the operation's metadata only after the client's interceptors ran this hook.
fn describe_input(
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> (CallInfo, u64) {
    let with_table = |operation: &str, table: Option<&str>| match table {
        Some(table) => format!("{operation} {table}"),
        None => operation.to_owned(),
    };
    if let Some(get) = input.downcast_ref::<GetItemInput>() {
        let info = CallInfo {
            key: with_table("GetItem", get.table_name()),
            consistent_read: get.consistent_read().unwrap_or(false),
        };
        return (info, 0);
    }
    if let Some(query) = input.downcast_ref::<QueryInput>() {
        let table = match (query.table_name(), query.index_name()) {
            (Some(table), Some(index)) => Some(format!("{table}/{index}")),
            (table, None) => table.map(str::to_owned),
            (None, Some(index)) => Some(index.to_owned()),
        };
        let info = CallInfo {
            key: with_table("Query", table.as_deref()),
            consistent_read: query.consistent_read().unwrap_or(false),
        };
        return (info, 0);
    }
    let single_write = |operation: &str, table: Option<&str>| {
        (
            CallInfo {
                key: with_table(operation, table),
                consistent_read: false,
            },
            1,
        )
    };
    if let Some(put) = input.downcast_ref::<PutItemInput>() {
        return single_write("PutItem", put.table_name());
    }
    if let Some(update) = input.downcast_ref::<UpdateItemInput>() {
        return single_write("UpdateItem", update.table_name());
    }
    if let Some(delete) = input.downcast_ref::<DeleteItemInput>() {
        return single_write("DeleteItem", delete.table_name());
    }
    if let Some(transaction) = input.downcast_ref::<TransactWriteItemsInput>() {
        let items = transaction.transact_items();
        let table = items.first().and_then(|item| {
            item.put()
                .map(|put| put.table_name())
                .or_else(|| item.update().map(|update| update.table_name()))
                .or_else(|| item.delete().map(|delete| delete.table_name()))
                .or_else(|| item.condition_check().map(|check| check.table_name()))
        });
        let info = CallInfo {
            key: with_table("TransactWriteItems", table),
            consistent_read: false,
        };
        return (info, items.len() as u64);
    }
    (
        CallInfo {
            key: "other operation".to_owned(),
            consistent_read: false,
        },
        0,
    )
}

impl Intercept for CountingInterceptor {
    fn name(&self) -> &'static str {
        "CountingInterceptor"
    }

    fn read_before_execution(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let (info, written) = describe_input(context.input());
        self.update(&info.key, |counts| {
            counts.calls += 1;
            counts.items_written += written;
        });
        cfg.interceptor_state().store_put(info);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if let Some(info) = cfg.load::<CallInfo>() {
            self.update(&info.key, |counts| counts.attempts += 1);
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let Some(info) = cfg.load::<CallInfo>().cloned() else {
            return Ok(());
        };
        match context.output_or_error() {
            Some(Ok(output)) => {
                if let Some(get) = output.downcast_ref::<GetItemOutput>() {
                    let size = get.item().map_or(0, item_size);
                    self.update(&info.key, |counts| {
                        counts.items_returned += u64::from(get.item().is_some());
                        counts.items_scanned += u64::from(get.item().is_some());
                        counts.read_units += read_units(size, info.consistent_read);
                    });
                } else if let Some(query) = output.downcast_ref::<QueryOutput>() {
                    let size: u64 = query.items().iter().map(item_size).sum();
                    self.update(&info.key, |counts| {
                        counts.items_returned += query.count().max(0) as u64;
                        counts.items_scanned += query.scanned_count().max(0) as u64;
                        counts.read_units += read_units(size, info.consistent_read);
                    });
                }
            }
            Some(Err(_)) => self.update(&info.key, |counts| counts.errors += 1),
            None => {}
        }
        Ok(())
    }
}

/// Computes the read request units of one `GetItem` or one query page by
/// DynamoDB's on-demand rules. The size of all items read, rounded up to
/// 4 KB, is one unit when strongly consistent and half a unit otherwise. A
/// call that finds nothing still costs that minimum.
///
/// NOTE: the size is of the items returned. A query whose filter expression
/// drops items would be billed for the items scanned; the store's queries
/// use no filter expression, so both are the same here.
pub fn read_units(bytes: u64, consistent: bool) -> f64 {
    let blocks = bytes.div_ceil(4096).max(1) as f64;
    if consistent { blocks } else { blocks / 2.0 }
}

/// Estimates an item's size as DynamoDB counts it: each attribute's name
/// plus its value, where a number takes about one byte per two significant
/// digits plus one.
pub fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> u64 {
    match value {
        AttributeValue::S(text) => text.len() as u64,
        AttributeValue::N(number) => number_size(number),
        AttributeValue::B(blob) => blob.as_ref().len() as u64,
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(texts) => texts.iter().map(|text| text.len() as u64).sum(),
        AttributeValue::Ns(numbers) => numbers.iter().map(|number| number_size(number)).sum(),
        AttributeValue::Bs(blobs) => blobs.iter().map(|blob| blob.as_ref().len() as u64).sum(),
        AttributeValue::L(values) => 3 + values.iter().map(|v| 1 + value_size(v)).sum::<u64>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(name, v)| 1 + name.len() as u64 + value_size(v))
                .sum::<u64>()
        }
        _ => 0,
    }
}

fn number_size(number: &str) -> u64 {
    let digits = number
        .trim_start_matches('-')
        .chars()
        .filter(char::is_ascii_digit)
        .count() as u64;
    digits.div_ceil(2) + 1
}
