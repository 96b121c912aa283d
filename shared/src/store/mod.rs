//! Storage ports. The core reads and writes rooms and participants only
//! through these traits; adapters live beside them.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::room::Room;

#[cfg(feature = "dynamodb")]
pub mod dynamodb;
#[cfg(feature = "dynamodb")]
pub mod dynamodb_link_failures;
pub mod embedded;
pub mod memory_participants;

/// A storage failure. Conflicts (a conditional write that lost) are distinct
/// from outages, so callers can return "room full" or "already exists"
/// instead of a server error.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("storage failed")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(error))
    }
}

#[async_trait]
pub trait RoomStore: Send + Sync {
    /// Inserts a new room; `Conflict` when a room with the same id exists.
    async fn insert(&self, room: &Room) -> Result<(), StoreError>;

    /// Replaces a stored room whose version is `room.version - 1`;
    /// `Conflict` when the room changed meanwhile or no longer exists. Use
    /// [`update_room`] rather than calling this directly.
    async fn replace(&self, room: &Room) -> Result<(), StoreError>;

    /// Returns the room unless it is missing or past its `expires_at`.
    async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Room>, StoreError>;

    /// Lists one practitioner's rooms dated `from..=to`, ordered by date.
    async fn list(
        &self,
        practitioner_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError>;

    /// Deletes a room of this practitioner; returns whether one was deleted.
    async fn delete(&self, practitioner_id: &str, id: &str) -> Result<bool, StoreError>;

    /// Rooms with invitation emails still to send whose day began at or
    /// before `started_by` and has not ended at `now`, for the morning run.
    /// Reads a sparse index holding only rooms with outstanding emails, so
    /// the cost follows the day's rooms, not the table's size.
    async fn mail_due(
        &self,
        started_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError>;

    /// Rooms whose day has ended by `now` and which still hold invitee email
    /// addresses, so they can be erased. Reads a sparse index as well.
    async fn emails_to_erase(&self, now: DateTime<Utc>) -> Result<Vec<Room>, StoreError>;

    /// Lists every stored room of one practitioner whose `patient_id` is
    /// `patient_id`, of any date, in no particular order. Rooms past their
    /// `expires_at` that the store has not removed yet are included, because
    /// they still hold the patient's data.
    async fn patient_rooms(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Room>, StoreError>;

    /// Deletes the room `room.id` if it still belongs to `room.practitioner_id`
    /// and still has `room.version`. Returns `Conflict` when it changed
    /// meanwhile, belongs to someone else or no longer exists. Use
    /// [`erase_patient_rooms`] rather than calling this directly.
    async fn delete_unchanged(&self, room: &Room) -> Result<(), StoreError>;
}

/// An instant before every room's `expires_at`: a read at this instant also
/// returns rooms past their retention that the store has not removed yet.
pub const BEFORE_EVERY_EXPIRY: DateTime<Utc> = DateTime::<Utc>::MIN_UTC;

/// Writers retry a lost optimistic write this often before giving up.
const UPDATE_ATTEMPTS: usize = 20;

/// Reads a room, lets `change` edit it and writes it back unless another
/// writer changed it meanwhile, in which case it starts over. `change`
/// returns false to leave the room as it is. Returns the room as stored
/// afterwards, or `None` when it does not exist.
pub async fn update_room<F>(
    store: &dyn RoomStore,
    id: &str,
    now: DateTime<Utc>,
    mut change: F,
) -> Result<Option<Room>, StoreError>
where
    F: FnMut(&mut Room) -> bool + Send,
{
    for _ in 0..UPDATE_ATTEMPTS {
        let Some(mut room) = store.get(id, now).await? else {
            return Ok(None);
        };
        if !change(&mut room) {
            return Ok(Some(room));
        }
        room.version += 1;
        match store.replace(&room).await {
            Ok(()) => return Ok(Some(room)),
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error),
        }
    }
    Err(StoreError::Conflict("the room kept changing; try again"))
}

/// Deletes every room of `practitioner_id` whose patient is `patient_id` and
/// returns how many it deleted. Each delete is conditional on the version
/// read, so a room that a concurrent writer changed is read again and
/// deleted in its new state. A writer that loses the race finds the room
/// gone instead of writing it back. A room whose patient changed meanwhile
/// is no longer this patient's and stays.
///
/// NOTE: on DynamoDB the listing reads a global secondary index, which lags
/// the table by a moment, so a room created within that moment may be
/// missed.
pub async fn erase_patient_rooms(
    store: &dyn RoomStore,
    practitioner_id: &str,
    patient_id: &str,
) -> Result<usize, StoreError> {
    let mut deleted = 0;
    for listed in store.patient_rooms(practitioner_id, patient_id).await? {
        if delete_current(store, listed, practitioner_id, patient_id).await? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

/// Deletes `room`, reading it again after each lost race; returns false
/// when it is gone or no longer the patient's.
async fn delete_current(
    store: &dyn RoomStore,
    mut room: Room,
    practitioner_id: &str,
    patient_id: &str,
) -> Result<bool, StoreError> {
    for _ in 0..UPDATE_ATTEMPTS {
        match store.delete_unchanged(&room).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => {}
            Err(error) => return Err(error),
        }
        let current = store.get(&room.id, BEFORE_EVERY_EXPIRY).await?;
        match current {
            Some(current)
                if current.practitioner_id == practitioner_id
                    && current.patient_id.as_deref() == Some(patient_id) =>
            {
                room = current;
            }
            _ => return Ok(false),
        }
    }
    Err(StoreError::Conflict(
        "a room of the patient kept changing; try again",
    ))
}

/// Per-patient settings of a practitioner.
#[async_trait]
pub trait PreferenceStore: Send + Sync {
    /// Returns whether every calendar entry of this patient gets a room.
    async fn always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<bool, StoreError>;

    /// Stores the flag; clearing it deletes the patient's record, so nothing
    /// about the patient remains in this store.
    async fn set_always_video(
        &self,
        practitioner_id: &str,
        patient_id: &str,
        always_video: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;

    /// Returns the stored record of a patient flagged "always video", or
    /// `None` when the flag is not set.
    async fn stored_preference(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Option<StoredPreference>, StoreError>;
}

/// The record of a patient flagged "always video". Only set flags are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPreference {
    /// When the flag was last set; `None` where the store keeps no time
    /// (the embedded store).
    pub updated_at: Option<DateTime<Utc>>,
}

/// A participant in a call, tied to the signaling connection it currently uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub room_id: String,
    pub peer_id: String,
    pub name: String,
    pub connection_id: String,
    /// SHA-256 of the resume key, so a stolen record cannot take the place.
    pub resume_key_hash: [u8; 32],
    pub joined_at: DateTime<Utc>,
    /// When its connection closed without `leave`. The place stays reserved
    /// for a resume until the signaling server removes the participant.
    pub away_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JoinOutcome {
    Joined,
    Full,
}

#[async_trait]
pub trait ParticipantStore: Send + Sync {
    /// Adds a participant unless the room already has `max` of them. The check
    /// and the write are one atomic step.
    async fn add(&self, participant: Participant, max: usize) -> Result<JoinOutcome, StoreError>;

    /// Moves an existing participant to a new connection when the resume key
    /// hash matches; returns the participant with the connection it had before.
    async fn resume(
        &self,
        room_id: &str,
        peer_id: &str,
        resume_key_hash: &[u8; 32],
        connection_id: &str,
    ) -> Result<Option<(Participant, String)>, StoreError>;

    async fn by_connection(&self, connection_id: &str) -> Result<Option<Participant>, StoreError>;

    /// Returns the participant using this connection and everyone in its
    /// room, itself included, or `None` when no participant uses the
    /// connection. Relaying and pings need both, and a store may read them
    /// in one request.
    async fn with_room(
        &self,
        connection_id: &str,
    ) -> Result<Option<(Participant, Vec<Participant>)>, StoreError> {
        let Some(participant) = self.by_connection(connection_id).await? else {
            return Ok(None);
        };
        let present = self.in_room(&participant.room_id).await?;
        Ok(Some((participant, present)))
    }

    /// Returns the participant using this connection and the other
    /// participant of its room with `peer_id`, if any, or `None` when no
    /// participant uses the connection. Relaying a signal needs only these
    /// two, so a store that keeps the room in memory can skip copying the
    /// rest of it.
    async fn sender_and_target(
        &self,
        connection_id: &str,
        peer_id: &str,
    ) -> Result<Option<(Participant, Option<Participant>)>, StoreError> {
        let Some((sender, present)) = self.with_room(connection_id).await? else {
            return Ok(None);
        };
        let target = present
            .into_iter()
            .find(|other| other.peer_id == peer_id && other.peer_id != sender.peer_id);
        Ok(Some((sender, target)))
    }

    /// Marks the participant using this connection as away since `at`, so
    /// that a resume can take the place back. Returns the participant, or
    /// `None` when no participant uses the connection any more. A resume
    /// clears the mark.
    async fn mark_away(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Participant>, StoreError>;

    async fn in_room(&self, room_id: &str) -> Result<Vec<Participant>, StoreError>;

    /// Removes the participant using this connection, if any, and returns it.
    async fn remove_connection(
        &self,
        connection_id: &str,
    ) -> Result<Option<Participant>, StoreError>;
}

/// Invalid join links per client in fixed time windows, shared by every
/// instance of a signaling server that runs as many processes (Lambda).
/// `client` is a keyed tag of the client's address, never the address.
#[async_trait]
pub trait LinkFailureStore: Send + Sync {
    /// Returns how many invalid links `client` has sent in the window that
    /// starts at `window_start`, or 0 when there is no record.
    async fn failures(&self, client: &str, window_start: DateTime<Utc>) -> Result<u32, StoreError>;

    /// Adds one invalid link to the window in one atomic write and returns
    /// the window's new count. The record may be deleted from `expires_at` on.
    async fn add_failure(
        &self,
        client: &str,
        window_start: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<u32, StoreError>;
}

#[cfg(any(test, feature = "test-support"))]
pub mod contract;

#[cfg(test)]
mod tests {
    use super::contract;
    use super::embedded::EmbeddedStore;
    use super::memory_participants::MemoryParticipants;

    #[tokio::test]
    async fn embedded_store_passes_contract() {
        let dir = tempfile::tempdir().unwrap();
        let counter = std::sync::atomic::AtomicUsize::new(0);
        contract::room_store_contract(|| {
            let index = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let path = dir.path().join(format!("rooms-{index}.redb"));
            async move { EmbeddedStore::open(&path).unwrap() }
        })
        .await;
    }

    #[tokio::test]
    async fn embedded_store_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rooms.redb");
        let room = contract::sample_room("dr-a", "2026-12-13");
        {
            let store = EmbeddedStore::open(&path).unwrap();
            super::RoomStore::insert(&store, &room).await.unwrap();
        }
        let store = EmbeddedStore::open(&path).unwrap();
        let found = super::RoomStore::get(&store, &room.id, room.created_at)
            .await
            .unwrap();
        assert_eq!(found, Some(room));
    }

    #[tokio::test]
    async fn embedded_purge_removes_only_expired() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap();
        let kept = contract::sample_room("dr-a", "2026-12-13");
        let mut expired = contract::sample_room("dr-a", "2026-12-14");
        expired.expires_at = kept.created_at;
        super::RoomStore::insert(&store, &kept).await.unwrap();
        super::RoomStore::insert(&store, &expired).await.unwrap();
        assert_eq!(store.purge_expired(kept.created_at).await.unwrap(), 1);
        let later = kept.created_at - chrono::Duration::days(1);
        assert!(
            super::RoomStore::get(&store, &kept.id, later)
                .await
                .unwrap()
                .is_some()
        );
        assert!(
            super::RoomStore::get(&store, &expired.id, later)
                .await
                .unwrap()
                .is_none()
        );
    }

    #[tokio::test]
    async fn embedded_preferences_pass_contract() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap();
        contract::preference_store_contract(&store).await;
    }

    #[tokio::test]
    async fn memory_participants_pass_contract() {
        contract::participant_store_contract(|| async { MemoryParticipants::default() }).await;
    }
}
