//! The embedded room store: one redb file on disk, so rooms survive a restart
//! of the local server.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use super::{BEFORE_EVERY_EXPIRY, PreferenceStore, RoomStore, StoreError, StoredPreference};
use crate::room::Room;

/// Room id to the room as JSON.
const ROOMS: TableDefinition<&str, &[u8]> = TableDefinition::new("rooms");
/// `practitioner \x1f date \x1f room id` to nothing: the overview's index.
const BY_PRACTITIONER: TableDefinition<&str, ()> = TableDefinition::new("rooms_by_practitioner");
/// `day start \x1f room id` to nothing, only for rooms with emails still to
/// send: the morning run's sparse index.
const MAIL_DUE: TableDefinition<&str, ()> = TableDefinition::new("rooms_mail_due");
/// `day end \x1f room id` to nothing, only for rooms holding email
/// addresses: the erasure's sparse index.
const HOLDING_EMAILS: TableDefinition<&str, ()> = TableDefinition::new("rooms_holding_emails");
/// `practitioner \x1f patient` to whether the patient is "always video".
const PREFERENCES: TableDefinition<&str, bool> = TableDefinition::new("patient_preferences");
/// Facts about the server process that uses the store, by name.
const SERVER_STATE: TableDefinition<&str, i64> = TableDefinition::new("server_state");
/// Key in [`SERVER_STATE`] of the last time, in Unix seconds, at which the
/// server recorded that it was running.
const RUNNING_AT: &str = "running_at";
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

/// Formats an instant as a key prefix that sorts in time order.
fn instant_key(instant: DateTime<Utc>) -> String {
    format!("{:020}", instant.timestamp().max(0))
}

fn mail_due_key(room: &Room) -> String {
    format!("{}{SEPARATOR}{}", instant_key(room.window().from), room.id)
}

fn holding_emails_key(room: &Room) -> String {
    format!("{}{SEPARATOR}{}", instant_key(room.window().until), room.id)
}

/// Adds a room to its indexes inside a write transaction.
fn add_to_indexes(txn: &redb::WriteTransaction, room: &Room) -> Result<(), StoreError> {
    let mut by_practitioner = txn.open_table(BY_PRACTITIONER).map_err(unavailable)?;
    by_practitioner
        .insert(index_key(room).as_str(), ())
        .map_err(unavailable)?;
    if room.has_outstanding_mail() {
        let mut mail_due = txn.open_table(MAIL_DUE).map_err(unavailable)?;
        mail_due
            .insert(mail_due_key(room).as_str(), ())
            .map_err(unavailable)?;
    }
    if room.holds_emails() {
        let mut holding = txn.open_table(HOLDING_EMAILS).map_err(unavailable)?;
        holding
            .insert(holding_emails_key(room).as_str(), ())
            .map_err(unavailable)?;
    }
    Ok(())
}

/// Removes a room from its indexes inside a write transaction.
fn remove_from_indexes(txn: &redb::WriteTransaction, room: &Room) -> Result<(), StoreError> {
    let mut by_practitioner = txn.open_table(BY_PRACTITIONER).map_err(unavailable)?;
    by_practitioner
        .remove(index_key(room).as_str())
        .map_err(unavailable)?;
    let mut mail_due = txn.open_table(MAIL_DUE).map_err(unavailable)?;
    mail_due
        .remove(mail_due_key(room).as_str())
        .map_err(unavailable)?;
    let mut holding = txn.open_table(HOLDING_EMAILS).map_err(unavailable)?;
    holding
        .remove(holding_emails_key(room).as_str())
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
        txn.open_table(MAIL_DUE).map_err(unavailable)?;
        txn.open_table(HOLDING_EMAILS).map_err(unavailable)?;
        txn.open_table(PREFERENCES).map_err(unavailable)?;
        txn.open_table(SERVER_STATE).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        Ok(Self { db: Arc::new(db) })
    }

    /// Returns whether `error`, from [`Self::open`], means that another
    /// process has the database open.
    pub fn is_in_use(error: &StoreError) -> bool {
        matches!(
            error,
            StoreError::Unavailable(source)
                if matches!(source.downcast_ref::<redb::Error>(), Some(redb::Error::DatabaseAlreadyOpen))
        )
    }

    /// Returns whether `error`, from [`Self::open`], means that the file is
    /// damaged or not a database at all.
    pub fn is_damaged(error: &StoreError) -> bool {
        let StoreError::Unavailable(source) = error else {
            return false;
        };
        match source.downcast_ref::<redb::Error>() {
            Some(redb::Error::Corrupted(_)) => true,
            Some(redb::Error::Io(io)) => io.kind() == std::io::ErrorKind::InvalidData,
            _ => false,
        }
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

impl EmbeddedStore {
    /// Records that the server was running at `at`, replacing the previous
    /// record. [`Self::last_running_at`] reads it after a restart.
    pub async fn record_running_at(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut state = txn.open_table(SERVER_STATE).map_err(unavailable)?;
                state
                    .insert(RUNNING_AT, at.timestamp())
                    .map_err(unavailable)?;
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    /// Returns the time [`Self::record_running_at`] stored last, or `None`
    /// when the database has no record, as one written by a version before
    /// these records.
    pub async fn last_running_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.blocking(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let state = txn.open_table(SERVER_STATE).map_err(unavailable)?;
            let seconds = state.get(RUNNING_AT).map_err(unavailable)?;
            Ok(seconds.and_then(|seconds| DateTime::from_timestamp(seconds.value(), 0)))
        })
        .await
    }

    /// Ends every running stretch of call time at `at`, or at its room's day
    /// end when that comes first, in one transaction, and returns how many
    /// it ended. Each changed room gets a new version, so a concurrent
    /// optimistic writer reads it again.
    pub async fn end_running_calls(&self, at: DateTime<Utc>) -> Result<usize, StoreError> {
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let running: Vec<Room> = {
                let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let mut running = Vec::new();
                for entry in rooms.iter().map_err(unavailable)? {
                    let (_, value) = entry.map_err(unavailable)?;
                    let room = decode(value.value())?;
                    if room.call.since.is_some() {
                        running.push(room);
                    }
                }
                running
            };
            for previous in &running {
                let mut room = previous.clone();
                let day_end = room.window().until;
                room.call.stop(at, day_end);
                room.version += 1;
                let bytes = encode(&room)?;
                remove_from_indexes(&txn, previous)?;
                {
                    let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                    rooms
                        .insert(room.id.as_str(), bytes.as_slice())
                        .map_err(unavailable)?;
                }
                add_to_indexes(&txn, &room)?;
            }
            txn.commit().map_err(unavailable)?;
            Ok(running.len())
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

    async fn mail_due(
        &self,
        started_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        let end = format!(
            "{}{}",
            instant_key(started_by),
            char::from(SEPARATOR as u8 + 1)
        );
        let rooms = self
            .blocking(move |db| rooms_in_range(db, MAIL_DUE, "", &end, now))
            .await?;
        Ok(rooms
            .into_iter()
            .filter(|room| room.window().until > now)
            .collect())
    }

    async fn emails_to_erase(&self, now: DateTime<Utc>) -> Result<Vec<Room>, StoreError> {
        let end = format!("{}{}", instant_key(now), char::from(SEPARATOR as u8 + 1));
        let rooms = self
            .blocking(move |db| rooms_in_range(db, HOLDING_EMAILS, "", &end, now))
            .await?;
        Ok(rooms
            .into_iter()
            .filter(|room| room.window().until <= now)
            .collect())
    }

    async fn replace(&self, room: &Room) -> Result<(), StoreError> {
        let room = room.clone();
        self.blocking(move |db| {
            let bytes = encode(&room)?;
            let txn = db.begin_write().map_err(unavailable)?;
            let previous = {
                let rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let stored = rooms.get(room.id.as_str()).map_err(unavailable)?;
                match stored {
                    Some(value) => decode(value.value())?,
                    None => return Err(StoreError::Conflict("the room no longer exists")),
                }
            };
            if previous.version + 1 != room.version {
                return Err(StoreError::Conflict("the room changed meanwhile"));
            }
            remove_from_indexes(&txn, &previous)?;
            {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                rooms
                    .insert(room.id.as_str(), bytes.as_slice())
                    .map_err(unavailable)?;
            }
            add_to_indexes(&txn, &room)?;
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn patient_rooms(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Room>, StoreError> {
        // Every date of the practitioner: the index key's date part lies
        // between the separator and the character after it.
        let start = format!("{practitioner_id}{SEPARATOR}");
        let end = format!("{practitioner_id}{}", char::from(SEPARATOR as u8 + 1));
        let rooms = self
            .blocking(move |db| {
                rooms_in_range(db, BY_PRACTITIONER, &start, &end, BEFORE_EVERY_EXPIRY)
            })
            .await?;
        Ok(rooms
            .into_iter()
            .filter(|room| room.patient_id.as_deref() == Some(patient_id))
            .collect())
    }

    async fn delete_unchanged(&self, room: &Room) -> Result<(), StoreError> {
        let expected = room.clone();
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            let stored = {
                let mut rooms = txn.open_table(ROOMS).map_err(unavailable)?;
                let stored = match rooms.get(expected.id.as_str()).map_err(unavailable)? {
                    Some(value) => decode(value.value())?,
                    None => return Err(StoreError::Conflict("the room no longer exists")),
                };
                if stored.practitioner_id != expected.practitioner_id
                    || stored.version != expected.version
                {
                    return Err(StoreError::Conflict("the room changed meanwhile"));
                }
                rooms.remove(expected.id.as_str()).map_err(unavailable)?;
                stored
            };
            remove_from_indexes(&txn, &stored)?;
            txn.commit().map_err(unavailable)
        })
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

fn preference_key(practitioner_id: &str, patient_id: &str) -> String {
    format!("{practitioner_id}{SEPARATOR}{patient_id}")
}

#[async_trait]
impl PreferenceStore for EmbeddedStore {
    async fn always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<bool, StoreError> {
        let key = preference_key(practitioner_id, patient_id);
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(PREFERENCES).map_err(unavailable)?;
            let value = table.get(key.as_str()).map_err(unavailable)?;
            Ok(value.is_some_and(|value| value.value()))
        })
        .await
    }

    async fn set_always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
        always_video: bool,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let key = preference_key(practitioner_id, patient_id);
        self.blocking(move |db| {
            let txn = db.begin_write().map_err(unavailable)?;
            {
                let mut table = txn.open_table(PREFERENCES).map_err(unavailable)?;
                // Only the flag is stored, so clearing it leaves nothing behind.
                if always_video {
                    table.insert(key.as_str(), true).map_err(unavailable)?;
                } else {
                    table.remove(key.as_str()).map_err(unavailable)?;
                }
            }
            txn.commit().map_err(unavailable)
        })
        .await
    }

    async fn stored_preference(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Option<StoredPreference>, StoreError> {
        let always_video = self.always_video(practitioner_id, patient_id).await?;
        Ok(always_video.then_some(StoredPreference { updated_at: None }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::store::contract::sample_room;

    fn open(dir: &tempfile::TempDir) -> EmbeddedStore {
        EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap()
    }

    #[tokio::test]
    async fn running_record_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let at = sample_room("dr-a", "2026-12-13").created_at;
        {
            let store = open(&dir);
            assert_eq!(store.last_running_at().await.unwrap(), None);
            store
                .record_running_at(at - Duration::minutes(1))
                .await
                .unwrap();
            store.record_running_at(at).await.unwrap();
        }
        assert_eq!(open(&dir).last_running_at().await.unwrap(), Some(at));
    }

    #[tokio::test]
    async fn end_running_calls_ends_only_running_stretches() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mut running = sample_room("dr-a", "2026-12-13");
        let start = running.window().from + Duration::hours(10);
        running.call.seconds = 60;
        running.call.since = Some(start);
        let mut ended = sample_room("dr-a", "2026-12-13");
        ended.call.seconds = 300;
        RoomStore::insert(&store, &running).await.unwrap();
        RoomStore::insert(&store, &ended).await.unwrap();

        let at = start + Duration::minutes(10);
        assert_eq!(store.end_running_calls(at).await.unwrap(), 1);
        let read = |id: String| {
            let store = store.clone();
            async move { RoomStore::get(&store, &id, at).await.unwrap().unwrap() }
        };
        let stored = read(running.id.clone()).await;
        assert_eq!(stored.call.since, None);
        assert_eq!(stored.call.seconds, 60 + 600);
        assert_eq!(stored.version, running.version + 1);
        assert_eq!(
            read(ended.id.clone()).await,
            ended,
            "a room without a running call is unchanged"
        );

        // Later calls find nothing left to end.
        let later = at + Duration::hours(2);
        assert_eq!(store.end_running_calls(later).await.unwrap(), 0);
        assert_eq!(read(running.id.clone()).await.call_seconds(later), 660);
    }

    #[tokio::test]
    async fn end_running_calls_stops_at_the_day_end() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(&dir);
        let mut room = sample_room("dr-a", "2026-12-13");
        let day_end = room.window().until;
        room.call.since = Some(day_end - Duration::minutes(5));
        RoomStore::insert(&store, &room).await.unwrap();

        let next_morning = day_end + Duration::hours(8);
        assert_eq!(store.end_running_calls(next_morning).await.unwrap(), 1);
        let stored = RoomStore::get(&store, &room.id, next_morning)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.call.seconds, 300);
    }
}
