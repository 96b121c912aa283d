//! DynamoDB adapters of the storage ports, for the Lambda functions.
//!
//! Rooms table (partition key `id`):
//! - one item per room: `practitionerId`, `dateKey` (`<date>#<id>`), `room`
//!   (the room as JSON), `version` (raised by every write; writes are
//!   conditional on it) and `expiresAt` (epoch seconds, the TTL attribute);
//! - while invitation emails are outstanding, `mailDate` (the room's date)
//!   and `dayStart` (epoch seconds); while email addresses are stored,
//!   `eraseDate` (the room's date) and `dayEnd`;
//! - global secondary index `byPractitioner` on `practitionerId` and
//!   `dateKey`, so the overview is one query; a patient's rooms are found by
//!   reading the practitioner's whole partition of it;
//! - sparse global secondary indexes `byMailDate` on `mailDate` and
//!   `dayStart`, and `byEraseDate` on `eraseDate` and `dayEnd`: the morning
//!   run reads only rooms with mail to send, and the erasure only rooms that
//!   still hold addresses;
//! - one item per patient flagged "always video": `id` is
//!   `patient#<SHA-256 of practitioner and patient id>`, with `owner`,
//!   `patientId` and `alwaysVideo`. It has none of the index attributes.
//!
//! All indexes project all attributes.
//!
//! Connections table (partition key `pk`, sort key `sk`):
//! - `ROOM#<room id>` / `#COUNT`: how many participants the room has;
//! - `ROOM#<room id>` / `PEER#<peer id>`: one participant;
//! - `CONN#<connection id>` / `#CONN`: which participant a connection is;
//! - `LINKFAIL#<client tag>` / `WINDOW#<start>`: invalid links of one client
//!   address in one minute (see [`super::dynamodb_link_failures`]).
//!
//! A join is one transaction that raises the counter only while it is below
//! the limit, so concurrent joins can never admit a ninth participant. TTL
//! deletes late, so every read drops items whose `expiresAt` has passed.
//! DynamoDB cancels a transaction that meets another one on the same item
//! (`TransactionConflict`); the SDK does not retry that, so [`transact`]
//! does.

use std::time::Duration as StdDuration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::builders::TransactWriteItemsFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsError, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem, Update};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::{
    BEFORE_EVERY_EXPIRY, JoinOutcome, Participant, ParticipantStore, PreferenceStore, RoomStore,
    StoreError, StoredPreference,
};
use crate::room::Room;

const BY_PRACTITIONER_INDEX: &str = "byPractitioner";
const BY_MAIL_DATE_INDEX: &str = "byMailDate";
const BY_ERASE_DATE_INDEX: &str = "byEraseDate";
const COUNTER_SORT_KEY: &str = "#COUNT";
const CONNECTION_SORT_KEY: &str = "#CONN";
/// Connection records outlive API Gateway's 2-hour connection limit by an
/// hour; a record older than that belongs to a socket that is surely closed.
pub const CONNECTION_LIFETIME: StdDuration = StdDuration::from_secs(3 * 3600);

type Item = HashMap<String, AttributeValue>;

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn invalid_item(what: &'static str) -> StoreError {
    StoreError::Unavailable(format!("stored item is malformed: {what}").into())
}

fn get_s<'a>(item: &'a Item, name: &'static str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| invalid_item(name))
}

fn get_n(item: &Item, name: &'static str) -> Result<i64, StoreError> {
    item.get(name)
        .and_then(|value| value.as_n().ok())
        .and_then(|text| text.parse().ok())
        .ok_or_else(|| invalid_item(name))
}

fn is_live(item: &Item, now: DateTime<Utc>) -> bool {
    get_n(item, "expiresAt").is_ok_and(|expires_at| expires_at > now.timestamp())
}

fn sdk_error<E, R>(error: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::unavailable(error)
}

/// The rooms table.
#[derive(Debug, Clone)]
pub struct DynamoRooms {
    client: Client,
    table: String,
}

impl DynamoRooms {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }
}

fn room_item(room: &Room) -> Result<Item, StoreError> {
    let json = serde_json::to_string(room).map_err(StoreError::unavailable)?;
    let version = i64::try_from(room.version).map_err(StoreError::unavailable)?;
    let window = room.window();
    let mut item = HashMap::from([
        ("id".to_owned(), s(&room.id)),
        ("practitionerId".to_owned(), s(&room.practitioner_id)),
        (
            "dateKey".to_owned(),
            s(format!("{}#{}", room.date, room.id)),
        ),
        ("room".to_owned(), s(json)),
        ("version".to_owned(), n(version)),
        ("expiresAt".to_owned(), n(room.expires_at.timestamp())),
    ]);
    if room.has_outstanding_mail() {
        item.insert("mailDate".to_owned(), s(room.date.to_string()));
        item.insert("dayStart".to_owned(), n(window.from.timestamp()));
    }
    if room.holds_emails() {
        item.insert("eraseDate".to_owned(), s(room.date.to_string()));
        item.insert("dayEnd".to_owned(), n(window.until.timestamp()));
    }
    Ok(item)
}

/// Lists the dates a room may have when its day is around `instant`. Time
/// zones lie between UTC-12 and UTC+14, so a local date differs from the UTC
/// date by one day at most.
fn dates_around(instant: DateTime<Utc>, days_back: i64) -> Vec<NaiveDate> {
    let utc_date = instant.date_naive();
    (-days_back..=1)
        .map(|offset| utc_date + chrono::Duration::days(offset))
        .collect()
}

fn is_condition_failure<E, R>(error: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    error
        .as_service_error()
        .is_some_and(|service| service.code() == Some("ConditionalCheckFailedException"))
}

fn room_from_item(item: &Item) -> Result<Room, StoreError> {
    serde_json::from_str(get_s(item, "room")?).map_err(StoreError::unavailable)
}

/// Runs a query on the rooms table page by page and returns the rooms that
/// have not expired.
async fn live_rooms(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
    now: DateTime<Utc>,
) -> Result<Vec<Room>, StoreError> {
    let mut rooms = Vec::new();
    let mut start_key = None;
    loop {
        let output = query
            .clone()
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(sdk_error)?;
        for item in output.items() {
            if is_live(item, now) {
                rooms.push(room_from_item(item)?);
            }
        }
        start_key = output.last_evaluated_key;
        if start_key.is_none() {
            return Ok(rooms);
        }
    }
}

#[async_trait]
impl RoomStore for DynamoRooms {
    async fn insert(&self, room: &Room) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(room_item(room)?))
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Err(StoreError::Conflict("a room with this id exists"))
            }
            Err(error) => Err(sdk_error(error)),
        }
    }

    async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Room>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(id))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        match output.item {
            Some(item) if is_live(&item, now) => room_from_item(&item).map(Some),
            _ => Ok(None),
        }
    }

    async fn list(
        &self,
        practitioner_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRACTITIONER_INDEX)
            .key_condition_expression("practitionerId = :p AND dateKey BETWEEN :from AND :to")
            .expression_attribute_values(":p", s(practitioner_id))
            .expression_attribute_values(":from", s(format!("{from}#")))
            // `$` sorts after `#`, so every id of the last day is included.
            .expression_attribute_values(":to", s(format!("{to}$")));
        live_rooms(query, now).await
    }

    async fn replace(&self, room: &Room) -> Result<(), StoreError> {
        let previous = room
            .version
            .checked_sub(1)
            .and_then(|version| i64::try_from(version).ok())
            .ok_or(StoreError::Conflict(
                "a replaced room must have a raised version",
            ))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(room_item(room)?))
            .condition_expression("version = :previous")
            .expression_attribute_values(":previous", n(previous))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => {
                Err(StoreError::Conflict("the room changed meanwhile"))
            }
            Err(error) => Err(sdk_error(error)),
        }
    }

    async fn mail_due(
        &self,
        started_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        let mut rooms = Vec::new();
        for date in dates_around(now, 1) {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_MAIL_DATE_INDEX)
                .key_condition_expression("mailDate = :date AND dayStart <= :started")
                .expression_attribute_values(":date", s(date.to_string()))
                .expression_attribute_values(":started", n(started_by.timestamp()));
            rooms.extend(live_rooms(query, now).await?);
        }
        rooms.retain(|room| room.window().until > now);
        Ok(rooms)
    }

    async fn emails_to_erase(&self, now: DateTime<Utc>) -> Result<Vec<Room>, StoreError> {
        let mut rooms = Vec::new();
        // Three days back catch rooms whose erasure a failed run left over.
        for date in dates_around(now, 3) {
            let query = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(BY_ERASE_DATE_INDEX)
                .key_condition_expression("eraseDate = :date AND dayEnd <= :now")
                .expression_attribute_values(":date", s(date.to_string()))
                .expression_attribute_values(":now", n(now.timestamp()));
            rooms.extend(live_rooms(query, now).await?);
        }
        Ok(rooms)
    }

    // There is no index by patient. Erasure and export are rare, and one
    // practitioner's rooms are bounded: dated at most 400 days ahead, kept at
    // most 90 days after their day plus TTL's delay. So this reads the
    // practitioner's whole `byPractitioner` partition page by page and
    // filters here. A sparse patient index would cost an index write on
    // every room write and put patient ids into index keys.
    async fn patient_rooms(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Room>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(BY_PRACTITIONER_INDEX)
            .key_condition_expression("practitionerId = :p")
            .expression_attribute_values(":p", s(practitioner_id));
        let rooms = live_rooms(query, BEFORE_EVERY_EXPIRY).await?;
        Ok(rooms
            .into_iter()
            .filter(|room| room.patient_id.as_deref() == Some(patient_id))
            .collect())
    }

    async fn delete_unchanged(&self, room: &Room) -> Result<(), StoreError> {
        let version = i64::try_from(room.version).map_err(StoreError::unavailable)?;
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(&room.id))
            .condition_expression("practitionerId = :p AND version = :version")
            .expression_attribute_values(":p", s(&room.practitioner_id))
            .expression_attribute_values(":version", n(version))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(error) if is_condition_failure(&error) => Err(StoreError::Conflict(
                "the room changed meanwhile or no longer exists",
            )),
            Err(error) => Err(sdk_error(error)),
        }
    }

    async fn delete(&self, practitioner_id: &str, id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("id", s(id))
            .condition_expression("practitionerId = :p")
            .expression_attribute_values(":p", s(practitioner_id))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            // Missing rooms and other practitioners' rooms both fail the condition.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(error) => Err(sdk_error(error)),
        }
    }
}

fn preference_id(practitioner_id: &str, patient_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::new()
        .chain_update(practitioner_id.as_bytes())
        .chain_update([0])
        .chain_update(patient_id.as_bytes())
        .finalize();
    format!("patient#{}", crate::random::hex_encode(&digest))
}

#[async_trait]
impl PreferenceStore for DynamoRooms {
    async fn always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<bool, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(preference_id(practitioner_id, patient_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output
            .item
            .and_then(|item| item.get("alwaysVideo").cloned())
            .is_some_and(|value| value.as_bool().is_ok_and(|flag| *flag)))
    }

    async fn set_always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
        always_video: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let id = preference_id(practitioner_id, patient_id);
        // Only the flag is stored, so clearing it leaves nothing behind.
        if !always_video {
            self.client
                .delete_item()
                .table_name(&self.table)
                .key("id", s(id))
                .send()
                .await
                .map_err(sdk_error)?;
            return Ok(());
        }
        self.client
            .put_item()
            .table_name(&self.table)
            .item("id", s(id))
            .item("owner", s(practitioner_id))
            .item("patientId", s(patient_id))
            .item("alwaysVideo", AttributeValue::Bool(true))
            .item("updatedAt", n(now.timestamp()))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn stored_preference(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Option<StoredPreference>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("id", s(preference_id(practitioner_id, patient_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(item) = output.item else {
            return Ok(None);
        };
        let always_video = item
            .get("alwaysVideo")
            .is_some_and(|value| value.as_bool().is_ok_and(|flag| *flag));
        if !always_video {
            return Ok(None);
        }
        let updated_at = get_n(&item, "updatedAt")
            .ok()
            .and_then(|seconds| DateTime::from_timestamp(seconds, 0));
        Ok(Some(StoredPreference { updated_at }))
    }
}

/// The connections table: participants, their connections and each room's
/// participant count.
///
/// Each instance also keeps in memory a hint per connection it has seen join,
/// resume or send: the room and peer id of its participant. With it, a lookup
/// by connection reads the participant's item, or the room's items, without
/// reading the connection's item first. A hint is never trusted. Every read
/// it guides is strongly consistent, and its result counts only if the
/// participant's item still names this connection. Otherwise the lookup goes
/// through the connection's item as without a hint. So when another instance
/// removed the participant or moved it to a new connection with a resume,
/// the stale hint costs one read, and the lookup returns no participant that
/// the table did not show on this connection.
#[derive(Debug, Clone)]
pub struct DynamoParticipants {
    client: Client,
    table: String,
    hints: Arc<Mutex<HashMap<String, ConnectionHint>>>,
}

/// Room and peer id of the participant that a connection belonged to when
/// this instance last saw it.
#[derive(Debug, Clone)]
struct ConnectionHint {
    room_id: String,
    peer_id: String,
}

/// Maximum number of hints one instance keeps. When full, it clears all of
/// them, which costs each connection one more read to learn its hint again.
const MAX_CONNECTION_HINTS: usize = 10_000;

fn room_key(room_id: &str) -> String {
    format!("ROOM#{room_id}")
}

fn peer_key(peer_id: &str) -> String {
    format!("PEER#{peer_id}")
}

fn connection_key(connection_id: &str) -> String {
    format!("CONN#{connection_id}")
}

fn key(pk: String, sk: impl Into<String>) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn participant_from_item(item: &Item) -> Result<Participant, StoreError> {
    let hash = item
        .get("resumeKeyHash")
        .and_then(|value| value.as_b().ok())
        .and_then(|blob| <[u8; 32]>::try_from(blob.as_ref()).ok())
        .ok_or_else(|| invalid_item("resumeKeyHash"))?;
    let joined_at = DateTime::from_timestamp(get_n(item, "joinedAt")?, 0)
        .ok_or_else(|| invalid_item("joinedAt"))?;
    Ok(Participant {
        room_id: get_s(item, "roomId")?.to_owned(),
        peer_id: get_s(item, "peerId")?.to_owned(),
        name: get_s(item, "name")?.to_owned(),
        connection_id: get_s(item, "connectionId")?.to_owned(),
        resume_key_hash: hash,
        joined_at,
        away_since: match item.get("awaySince") {
            Some(_) => Some(
                DateTime::from_timestamp(get_n(item, "awaySince")?, 0)
                    .ok_or_else(|| invalid_item("awaySince"))?,
            ),
            None => None,
        },
    })
}

/// Returns the cancellation reason codes of a cancelled transaction, or
/// `None` for any other error.
fn cancellation_codes<R>(error: &SdkError<TransactWriteItemsError, R>) -> Option<Vec<&str>> {
    match error.as_service_error()? {
        TransactWriteItemsError::TransactionCanceledException(cancelled) => Some(
            cancelled
                .cancellation_reasons()
                .iter()
                .filter_map(|reason| reason.code())
                .collect(),
        ),
        _ => None,
    }
}

/// True when a transaction was cancelled because a condition failed, as
/// opposed to throttling or an outage.
fn cancelled_by_condition<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    cancellation_codes(error).is_some_and(|codes| codes.contains(&"ConditionalCheckFailed"))
}

/// True when a transaction was cancelled only because another transaction
/// was writing one of its items; the same request may then succeed.
fn cancelled_by_conflict<R>(error: &SdkError<TransactWriteItemsError, R>) -> bool {
    cancellation_codes(error).is_some_and(|codes| {
        codes.contains(&"TransactionConflict") && !codes.contains(&"ConditionalCheckFailed")
    })
}

/// How often [`transact`] sends a transaction that keeps conflicting.
const CONFLICT_ATTEMPTS: u32 = 6;

/// First pause after a conflict; it doubles with every further one.
const CONFLICT_BACKOFF: StdDuration = StdDuration::from_millis(10);

/// Sends a transaction, and sends it again while DynamoDB cancels it for a
/// conflict with another transaction, as concurrent joins in one room cause
/// on the counter item. The pauses double and carry random jitter so that
/// the clashing writers drift apart; all of them together stay under half a
/// second. Conditions are checked anew on every attempt.
async fn transact(
    request: TransactWriteItemsFluentBuilder,
) -> Result<TransactWriteItemsOutput, SdkError<TransactWriteItemsError>> {
    let mut pause = CONFLICT_BACKOFF;
    let mut attempt = 1;
    loop {
        match request.clone().send().await {
            Err(error) if attempt < CONFLICT_ATTEMPTS && cancelled_by_conflict(&error) => {
                let jitter = u64::from(crate::random::random_bytes::<1>()[0]) % 10 + 1;
                let jitter = StdDuration::from_millis(jitter * pause.as_millis() as u64 / 10);
                tokio::time::sleep(pause / 2 + jitter).await;
                pause *= 2;
                attempt += 1;
            }
            outcome => return outcome,
        }
    }
}

impl DynamoParticipants {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            hints: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    fn hints(&self) -> std::sync::MutexGuard<'_, HashMap<String, ConnectionHint>> {
        // The map holds only hints, which are checked on use, so a map left
        // by a panicking thread is still safe to read.
        self.hints
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hint(&self, connection_id: &str) -> Option<ConnectionHint> {
        self.hints().get(connection_id).cloned()
    }

    fn remember(&self, connection_id: &str, room_id: &str, peer_id: &str) {
        let mut hints = self.hints();
        if hints.len() >= MAX_CONNECTION_HINTS {
            hints.clear();
        }
        hints.insert(
            connection_id.to_owned(),
            ConnectionHint {
                room_id: room_id.to_owned(),
                peer_id: peer_id.to_owned(),
            },
        );
    }

    fn forget(&self, connection_id: &str) {
        self.hints().remove(connection_id);
    }

    /// Reads the item of the participant that uses `connection_id`, live or
    /// expired: the hinted item when it still names this connection, else
    /// the item that the connection's item points to.
    async fn participant_item(&self, connection_id: &str) -> Result<Option<Item>, StoreError> {
        let uses_connection =
            |item: &Item| get_s(item, "connectionId").is_ok_and(|current| current == connection_id);
        if let Some(hint) = self.hint(connection_id) {
            let hinted = self
                .get_item(key(room_key(&hint.room_id), peer_key(&hint.peer_id)))
                .await?;
            if let Some(item) = hinted.filter(uses_connection) {
                return Ok(Some(item));
            }
            self.forget(connection_id);
        }
        let Some(connection) = self
            .get_item(key(connection_key(connection_id), CONNECTION_SORT_KEY))
            .await?
        else {
            return Ok(None);
        };
        let room_id = get_s(&connection, "roomId")?;
        let peer_id = get_s(&connection, "peerId")?;
        let Some(item) = self
            .get_item(key(room_key(room_id), peer_key(peer_id)))
            .await?
            .filter(uses_connection)
        else {
            return Ok(None);
        };
        self.remember(connection_id, room_id, peer_id);
        Ok(Some(item))
    }

    /// Picks the live participant that uses `connection_id` out of a room's
    /// items, and returns it with every live participant of the room.
    fn sender_in(
        items: &[Item],
        connection_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<(Participant, Vec<Participant>)>, StoreError> {
        let present = items
            .iter()
            .filter(|item| is_live(item, now))
            .map(participant_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        let sender = present
            .iter()
            .find(|participant| participant.connection_id == connection_id)
            .cloned();
        Ok(sender.map(|sender| (sender, present)))
    }

    fn expiry(&self, now: DateTime<Utc>) -> i64 {
        now.timestamp() + CONNECTION_LIFETIME.as_secs() as i64
    }

    async fn get_item(&self, key: Item) -> Result<Option<Item>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(output.item)
    }

    async fn try_add(
        &self,
        participant: &Participant,
        max: usize,
    ) -> Result<JoinOutcome, StoreError> {
        let now = Utc::now();
        let expires_at = n(self.expiry(now.max(participant.joined_at)));
        let counter = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(room_key(&participant.room_id), COUNTER_SORT_KEY)))
            .update_expression("SET #count = if_not_exists(#count, :zero) + :one, expiresAt = :exp")
            .condition_expression("attribute_not_exists(#count) OR #count < :max")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max as i64))
            .expression_attribute_values(":exp", expires_at.clone())
            .build()
            .map_err(StoreError::unavailable)?;
        let mut peer = key(
            room_key(&participant.room_id),
            peer_key(&participant.peer_id),
        );
        peer.extend([
            ("roomId".to_owned(), s(&participant.room_id)),
            ("peerId".to_owned(), s(&participant.peer_id)),
            ("name".to_owned(), s(&participant.name)),
            ("connectionId".to_owned(), s(&participant.connection_id)),
            (
                "resumeKeyHash".to_owned(),
                AttributeValue::B(Blob::new(participant.resume_key_hash.to_vec())),
            ),
            ("joinedAt".to_owned(), n(participant.joined_at.timestamp())),
            ("expiresAt".to_owned(), expires_at.clone()),
        ]);
        let mut connection = key(
            connection_key(&participant.connection_id),
            CONNECTION_SORT_KEY,
        );
        connection.extend([
            ("roomId".to_owned(), s(&participant.room_id)),
            ("peerId".to_owned(), s(&participant.peer_id)),
            ("expiresAt".to_owned(), expires_at),
        ]);
        let put = |item: Item| {
            Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(StoreError::unavailable)
        };
        let request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(counter).build())
            .transact_items(TransactWriteItem::builder().put(put(peer)?).build())
            .transact_items(TransactWriteItem::builder().put(put(connection)?).build());
        let result = transact(request).await;
        match result {
            Ok(_) => {
                self.remember(
                    &participant.connection_id,
                    &participant.room_id,
                    &participant.peer_id,
                );
                Ok(JoinOutcome::Joined)
            }
            Err(error) if cancelled_by_condition(&error) => Ok(JoinOutcome::Full),
            Err(error) => Err(sdk_error(error)),
        }
    }

    /// Removes participants whose records expired without a `$disconnect`
    /// (API Gateway delivers it on a best-effort basis); returns how many.
    async fn remove_expired(&self, room_id: &str, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut removed = 0;
        for item in self.query_room(room_id).await? {
            if !is_live(&item, now) {
                let participant = participant_from_item(&item)?;
                if self
                    .remove_connection(&participant.connection_id)
                    .await?
                    .is_some()
                {
                    removed += 1;
                }
            }
        }
        Ok(removed)
    }

    async fn query_room(&self, room_id: &str) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start_key = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :peer)")
                .expression_attribute_values(":pk", s(room_key(room_id)))
                .expression_attribute_values(":peer", s("PEER#"))
                .consistent_read(true)
                .set_exclusive_start_key(start_key)
                .send()
                .await
                .map_err(sdk_error)?;
            items.extend(output.items.unwrap_or_default());
            start_key = output.last_evaluated_key;
            if start_key.is_none() {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl ParticipantStore for DynamoParticipants {
    async fn add(&self, participant: Participant, max: usize) -> Result<JoinOutcome, StoreError> {
        match self.try_add(&participant, max).await? {
            JoinOutcome::Joined => Ok(JoinOutcome::Joined),
            JoinOutcome::Full => {
                // A full room may hold participants whose sockets closed
                // without a `$disconnect`; free their places and try once more.
                if self
                    .remove_expired(&participant.room_id, Utc::now())
                    .await?
                    > 0
                {
                    self.try_add(&participant, max).await
                } else {
                    Ok(JoinOutcome::Full)
                }
            }
        }
    }

    async fn resume(
        &self,
        room_id: &str,
        peer_id: &str,
        resume_key_hash: &[u8; 32],
        connection_id: &str,
    ) -> Result<Option<(Participant, String)>, StoreError> {
        let Some(item) = self
            .get_item(key(room_key(room_id), peer_key(peer_id)))
            .await?
        else {
            return Ok(None);
        };
        if !is_live(&item, Utc::now()) {
            return Ok(None);
        }
        let mut participant = participant_from_item(&item)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            &participant.resume_key_hash[..],
            &resume_key_hash[..],
        )) {
            return Ok(None);
        }
        let previous = participant.connection_id.clone();
        let expires_at = n(self.expiry(Utc::now()));
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(room_key(room_id), peer_key(peer_id))))
            .update_expression("SET connectionId = :new, expiresAt = :exp REMOVE awaySince")
            .condition_expression("connectionId = :old")
            .expression_attribute_values(":new", s(connection_id))
            .expression_attribute_values(":old", s(&previous))
            .expression_attribute_values(":exp", expires_at.clone())
            .build()
            .map_err(StoreError::unavailable)?;
        let delete_old = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(connection_key(&previous), CONNECTION_SORT_KEY)))
            .build()
            .map_err(StoreError::unavailable)?;
        let mut connection = key(connection_key(connection_id), CONNECTION_SORT_KEY);
        connection.extend([
            ("roomId".to_owned(), s(room_id)),
            ("peerId".to_owned(), s(peer_id)),
            ("expiresAt".to_owned(), expires_at),
        ]);
        let put_new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(connection))
            .build()
            .map_err(StoreError::unavailable)?;
        let request = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().update(update).build())
            .transact_items(TransactWriteItem::builder().delete(delete_old).build())
            .transact_items(TransactWriteItem::builder().put(put_new).build());
        let result = transact(request).await;
        match result {
            Ok(_) => {
                self.forget(&previous);
                self.remember(connection_id, room_id, peer_id);
                participant.connection_id = connection_id.to_owned();
                participant.away_since = None;
                Ok(Some((participant, previous)))
            }
            // Another resume or a removal won the race.
            Err(error) if cancelled_by_condition(&error) => Ok(None),
            Err(error) => Err(sdk_error(error)),
        }
    }

    // The participant's item and its connection's item are written in the
    // same transactions with the same `expiresAt`, so checking the
    // participant's item alone is enough.
    async fn by_connection(&self, connection_id: &str) -> Result<Option<Participant>, StoreError> {
        match self.participant_item(connection_id).await? {
            Some(item) if is_live(&item, Utc::now()) => participant_from_item(&item).map(Some),
            _ => Ok(None),
        }
    }

    // With a hint this is one query of the room. Without one, the
    // connection's item names the room first.
    async fn with_room(
        &self,
        connection_id: &str,
    ) -> Result<Option<(Participant, Vec<Participant>)>, StoreError> {
        if let Some(hint) = self.hint(connection_id) {
            let items = self.query_room(&hint.room_id).await?;
            if let Some(found) = Self::sender_in(&items, connection_id, Utc::now())? {
                return Ok(Some(found));
            }
            self.forget(connection_id);
        }
        let Some(connection) = self
            .get_item(key(connection_key(connection_id), CONNECTION_SORT_KEY))
            .await?
        else {
            return Ok(None);
        };
        if !is_live(&connection, Utc::now()) {
            return Ok(None);
        }
        let room_id = get_s(&connection, "roomId")?;
        let items = self.query_room(room_id).await?;
        let found = Self::sender_in(&items, connection_id, Utc::now())?;
        if let Some((sender, _)) = &found {
            self.remember(connection_id, room_id, &sender.peer_id);
        }
        Ok(found)
    }

    async fn mark_away(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Participant>, StoreError> {
        let Some(mut participant) = self.by_connection(connection_id).await? else {
            return Ok(None);
        };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(
                room_key(&participant.room_id),
                peer_key(&participant.peer_id),
            )))
            .update_expression("SET awaySince = :at")
            .condition_expression("connectionId = :conn")
            .expression_attribute_values(":at", n(at.timestamp()))
            .expression_attribute_values(":conn", s(connection_id))
            .send()
            .await;
        match result {
            Ok(_) => {
                participant.away_since = Some(at);
                Ok(Some(participant))
            }
            // A resume moved the participant to another connection meanwhile.
            Err(error)
                if error
                    .as_service_error()
                    .is_some_and(|error| error.is_conditional_check_failed_exception()) =>
            {
                Ok(None)
            }
            Err(error) => Err(sdk_error(error)),
        }
    }

    async fn in_room(&self, room_id: &str) -> Result<Vec<Participant>, StoreError> {
        let now = Utc::now();
        self.query_room(room_id)
            .await?
            .iter()
            .filter(|item| is_live(item, now))
            .map(participant_from_item)
            .collect()
    }

    async fn remove_connection(
        &self,
        connection_id: &str,
    ) -> Result<Option<Participant>, StoreError> {
        let Some(item) = self.participant_item(connection_id).await? else {
            return Ok(None);
        };
        let participant = participant_from_item(&item)?;
        let room_id = participant.room_id.clone();
        let peer_id = participant.peer_id.clone();

        let delete_connection = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                connection_key(connection_id),
                CONNECTION_SORT_KEY,
            )))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(StoreError::unavailable)?;
        let delete_peer = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(room_key(&room_id), peer_key(&peer_id))))
            .condition_expression("connectionId = :connection")
            .expression_attribute_values(":connection", s(connection_id))
            .build()
            .map_err(StoreError::unavailable)?;
        let decrement = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(room_key(&room_id), COUNTER_SORT_KEY)))
            .update_expression("SET #count = #count - :one")
            .condition_expression("#count > :zero")
            .expression_attribute_names("#count", "count")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":zero", n(0))
            .build()
            .map_err(StoreError::unavailable)?;
        let request = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .delete(delete_connection)
                    .build(),
            )
            .transact_items(TransactWriteItem::builder().delete(delete_peer).build())
            .transact_items(TransactWriteItem::builder().update(decrement).build());
        let result = transact(request).await;
        match result {
            Ok(_) => {
                self.forget(connection_id);
                Ok(Some(participant))
            }
            // Removed concurrently, or the participant resumed elsewhere.
            Err(error) if cancelled_by_condition(&error) => {
                self.forget(connection_id);
                Ok(None)
            }
            Err(error) => Err(sdk_error(error)),
        }
    }
}
