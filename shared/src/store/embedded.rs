//! The embedded room store: one redb file on disk, so rooms survive a restart
//! of the local server.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{Claim, DeliveryKey, DeliveryStore, RoomStore, StoreError};
use crate::room::Room;

/// Room id to the room as JSON.
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// `practitioner \x1f date \x1f room id` to nothing: the overview's index.
const BY_PRACTITIONER: TableDefinition<&str, ()> = TableDefinition::new("rooms_by_practitioner");
/// `date \x1f room id` to nothing: the morning run's index.
const BY_DATE: TableDefinition<&str, ()> = TableDefinition::new("rooms_by_date");
/// `room id \x1f date \x1f email` to the delivery state as JSON.
const DELIVERIES: TableDefinition<&str, &[u8]> = TableDefinition::new("deliveries");
const SEPARATOR: char = '\x1f';

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("EmbeddedStore")
    }
}

fn index_key(room: &Room) -> String {
    format!(
        "{}{SEPARATOR}{}{SEPARATOR}{}",
        room.practitioner_id, room.date, room.id
    )
}

fn date_key(room: &Room) -> String {
    format!("{}{SEPARATOR}{}", room.date, room.id)
}

/// Adds a room to both indexes inside a write transaction.
fn add_to_indexes(txn: &redb::WriteTransaction, room: &Room) -> Result<(), StoreError> {
    let mut by_practitioner = txn.open_table(BY_PRACTITIONER).map_err(unavailable)?;
    by_practitioner
        .insert(index_key(room).as_str(), ())
        .map_err(unavailable)?;
    let mut by_date = txn.open_table(BY_DATE).map_err(unavailable)?;
    by_date
        .insert(date_key(room).as_str(), ())
        .map_err(unavailable)?;
    Ok(())
}

/// Removes a room from both indexes inside a write transaction.
fn remove_from_indexes(txn: &redb::WriteTransaction, room: &Room) -> Result<(), StoreError> {
    let mut by_practitioner = txn.open_table(BY_PRACTITIONER).map_err(unavailable)?;
    by_practitioner
        .remove(index_key(room).as_str())
        .map_err(unavailable)?;
    let mut by_date = txn.open_table(BY_DATE).map_err(unavailable)?;
    by_date
        .remove(date_key(room).as_str())
        .map_err(unavailable)?;
    Ok(())
}

fn unavailable(error: impl Into<redb::Error>) -> StoreError {
    StoreError::unavailable(error.into())
}

impl EmbeddedStore {
    /// Opens the database file, creating it and its tables when missing.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path).map_err(unavailable)?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(ROOMS).map_err(unavailable)?;
        txn.open_table(BY_PRACTITIONER).map_err(unavailable)?;
        txn.open_table(BY_DATE).map_err(unavailable)?;
        txn.open_table(DELIVERIES).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Returns how many handles share the open database; the file stays
    /// locked until the last one is dropped.
    pub fn handle_count(&self) -> usize {
        Arc::strong_count(&self.db)
    }

    /// Runs blocking redb work off the async runtime's worker threads.
    async fn blocking<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(StoreError::unavailable)?
    }

    /// Deletes every room whose `expires_at` has passed; returns how many.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let expired: Vec<Room> = {
                let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let mut expired = Vec::new();
                for entry in rooms.iter().map_err(unavailable)? {
                    let (_, value) = entry.map_err(unavailable)?;
                    let room = decode(value.value())?;
                    if room.is_expired(now) {
                        expired.push(room);
                    }
                }
                expired
            };
            {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                for room in &expired {
                    rooms.remove(room.id.as_str()).map_err(unavailable)?;
                }
            }
            for room in &expired {
                remove_from_indexes(&txn, room)?;
            }
            txn.commit().map_err(unavailable)?;
            Ok(expired.len())
        })
        .await
    }
}

/// Reads the rooms whose keys in `index` lie in `start..end`, skipping
/// expired ones. Index keys end with the room id.
fn rooms_in_range(
    db: &Database,
    index: TableDefinition<&str, ()>,
    start: &str,
    end: &str,
    now: DateTime<Utc>,
) -> Result<Vec<Room>, StoreError> {
    let txn = db.begin_read().map_err(unavailable)?;
    let index = txn.open_table(index).map_err(unavailable)?;
    let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
    let mut found = Vec::new();
    for entry in index.range(start..end).map_err(unavailable)? {
        let (key, _) = entry.map_err(unavailable)?;
        let Some(id) = key.value().rsplit(SEPARATOR).next().map(str::to_owned) else {
            continue;
        };
        if let Some(value) = rooms.get(id.as_str()).map_err(unavailable)? {
            let room = decode(value.value())?;
            if !room.is_expired(now) {
                found.push(room);
            }
        }
    }
    Ok(found)
}

fn decode(bytes: &[u8]) -> Result<Room, StoreError> {
    serde_json::from_slice(bytes).map_err(StoreError::unavailable)
}

fn encode(room: &Room) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(room).map_err(StoreError::unavailable)
}

#[async_trait]
impl RoomStore for EmbeddedStore {
    async fn insert(&self, room: &Room) -> Result<(), StoreError> {
        let room = room.clone();
        self.blocking(move |db| {
            let bytes = encode(&room)?;
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                if rooms.get(room.id.as_str()).map_err(unavailable)?.is_some() {
                    return Err(StoreError::Conflict("a room with this id exists"));
                }
                rooms
                    .insert(room.id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            add_to_indexes(&txn, &room)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Room>, StoreError> {
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
            let Some(value) = rooms.get(id.as_str()).map_err(unavailable)? else {
                return Ok(None);
            };
            let room = decode(value.value())?;
            Ok((!room.is_expired(now)).then_some(room))
        })
        .await
    }

    async fn list(
        &self,
        practitioner_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        let start = format!("{practitioner_id}{SEPARATOR}{from}{SEPARATOR}");
        // The character after the separator sorts after every room id.
        let end = format!(
            "{practitioner_id}{SEPARATOR}{to}{}",
            char::from(SEPARATOR as u8 + 1)
        );
        self.blocking(move |db| rooms_in_range(db, BY_PRACTITIONER, &start, &end, now))
            .await
    }

    async fn list_by_date(
        &self,
        date: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        let start = format!("{date}{SEPARATOR}");
        let end = format!("{date}{}", char::from(SEPARATOR as u8 + 1));
        self.blocking(move |db| rooms_in_range(db, BY_DATE, &start, &end, now))
            .await
    }

    async fn delete(&self, practitioner_id: &str, id: &str) -> Result<bool, StoreError> {
        let practitioner_id = practitioner_id.to_owned();
        let id = id.to_owned();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let deleted = {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let room = match rooms.get(id.as_str()).map_err(unavailable)? {
                    Some(value) => decode(value.value())?,
                    None => return Ok(false),
                };
                if room.practitioner_id != practitioner_id {
                    return Ok(false);
                }
                rooms.remove(id.as_str()).map_err(unavailable)?;
                room
            };
            remove_from_indexes(&txn, &deleted)?;
            txn.commit().map_err(unavailable)?;
            Ok(true)
        })
        .await
    }
}

/// Stored state of one invitation email.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Delivery {
    state: DeliveryState,
    updated_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failure: Option<String>,
    attempts: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
enum DeliveryState {
    Sending,
    Sent,
    Failed,
}

fn delivery_key(key: &DeliveryKey) -> String {
    format!(
        "{}{SEPARATOR}{}{SEPARATOR}{}",
        key.room_id, key.date, key.email
    )
}

impl EmbeddedStore {
    /// Changes a stored delivery inside one write transaction.
    async fn update_delivery<T, F>(&self, key: &DeliveryKey, change: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Option<Delivery>) -> (Option<Delivery>, T) + Send + 'static,
    {
        let key = delivery_key(key);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let result = {
                let mut table = txn.open_table(DELIVERIES).map_err(unavailable)?;
                let current = match table.get(key.as_str()).map_err(unavailable)? {
                    Some(value) => Some(
                        serde_json::from_slice(value.value()).map_err(StoreError::unavailable)?,
                    ),
                    None => None,
                };
                let (next, result) = change(current);
                if let Some(next) = next {
                    let bytes = serde_json::to_vec(&next).map_err(StoreError::unavailable)?;
                    table
                        .insert(key.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                result
            };
            txn.commit().map_err(unavailable)?;
            Ok(result)
        })
        .await
    }
}

#[async_trait]
impl DeliveryStore for EmbeddedStore {
    async fn claim(
        &self,
        key: &DeliveryKey,
        now: DateTime<Utc>,
        stale_after: chrono::Duration,
        expires_at: DateTime<Utc>,
    ) -> Result<Claim, StoreError> {
        self.update_delivery(key, move |current| {
            let claimable = match &current {
                None => true,
                Some(delivery) if delivery.expires_at <= now => true,
                Some(delivery) => match delivery.state {
                    DeliveryState::Sent => false,
                    DeliveryState::Failed => true,
                    DeliveryState::Sending => delivery.updated_at + stale_after <= now,
                },
            };
            if !claimable {
                return (None, Claim::Taken);
            }
            let attempts = current.map_or(0, |delivery| delivery.attempts) + 1;
            let claimed = Delivery {
                state: DeliveryState::Sending,
                updated_at: now,
                expires_at,
                message_id: None,
                failure: None,
                attempts,
            };
            (Some(claimed), Claim::Claimed)
        })
        .await
    }

    async fn mark_sent(
        &self,
        key: &DeliveryKey,
        message_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let message_id = message_id.to_owned();
        self.update_delivery(key, move |current| {
            let next = current.map(|delivery| Delivery {
                state: DeliveryState::Sent,
                updated_at: now,
                message_id: Some(message_id),
                failure: None,
                ..delivery
            });
            (next, ())
        })
        .await
    }

    async fn mark_failed(
        &self,
        key: &DeliveryKey,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let reason = reason.to_owned();
        self.update_delivery(key, move |current| {
            let next = current.map(|delivery| Delivery {
                state: DeliveryState::Failed,
                updated_at: now,
                failure: Some(reason),
                ..delivery
            });
            (next, ())
        })
        .await
    }
}
