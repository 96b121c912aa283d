//! Participants held in process memory: the local server's adapter. Calls end
//! when the process ends, so nothing here needs to survive a restart.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{JoinOutcome, Participant, ParticipantStore, StoreError};

#[derive(Debug, Default)]
pub struct MemoryParticipants {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    by_room: HashMap<String, Vec<Participant>>,
    /// connection id to (room id, peer id)
    by_connection: HashMap<String, (String, String)>,
}

impl MemoryParticipants {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves only plain maps behind, which
        // stay consistent, so a poisoned lock is still safe to use.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[async_trait]
impl ParticipantStore for MemoryParticipants {
    async fn add(&self, participant: Participant, max: usize) -> Result<JoinOutcome, StoreError> {
        let mut state = self.lock();
        let room = state
            .by_room
            .entry(participant.room_id.clone())
            .or_default();
        if room.len() >= max {
            return Ok(JoinOutcome::Full);
        }
        room.push(participant.clone());
        state.by_connection.insert(
            participant.connection_id,
            (participant.room_id, participant.peer_id),
        );
        Ok(JoinOutcome::Joined)
    }

    async fn resume(
        &self,
        room_id: &str,
        peer_id: &str,
        resume_key_hash: &[u8; 32],
        connection_id: &str,
    ) -> Result<Option<(Participant, String)>, StoreError> {
        let mut state = self.lock();
        let Some(room) = state.by_room.get_mut(room_id) else {
            return Ok(None);
        };
        let Some(participant) = room.iter_mut().find(|p| {
            p.peer_id == peer_id
                && bool::from(subtle::ConstantTimeEq::ct_eq(
                    &p.resume_key_hash[..],
                    &resume_key_hash[..],
                ))
        }) else {
            return Ok(None);
        };
        let previous = std::mem::replace(&mut participant.connection_id, connection_id.to_owned());
        participant.away_since = None;
        let resumed = participant.clone();
        state.by_connection.remove(&previous);
        state.by_connection.insert(
            connection_id.to_owned(),
            (room_id.to_owned(), peer_id.to_owned()),
        );
        Ok(Some((resumed, previous)))
    }

    async fn by_connection(&self, connection_id: &str) -> Result<Option<Participant>, StoreError> {
        let state = self.lock();
        let found = state
            .by_connection
            .get(connection_id)
            .and_then(|(room_id, peer_id)| {
                state
                    .by_room
                    .get(room_id)?
                    .iter()
                    .find(|p| &p.peer_id == peer_id)
                    .cloned()
            });
        Ok(found)
    }

    async fn sender_and_target(
        &self,
        connection_id: &str,
        peer_id: &str,
    ) -> Result<Option<(Participant, Option<Participant>)>, StoreError> {
        let state = self.lock();
        let Some((room_id, sender_id)) = state.by_connection.get(connection_id) else {
            return Ok(None);
        };
        let room = state
            .by_room
            .get(room_id)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let Some(sender) = room.iter().find(|p| &p.peer_id == sender_id) else {
            return Ok(None);
        };
        let target = room
            .iter()
            .find(|p| p.peer_id == peer_id && p.peer_id != *sender_id)
            .cloned();
        Ok(Some((sender.clone(), target)))
    }

    async fn mark_away(
        &self,
        connection_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Participant>, StoreError> {
        let mut state = self.lock();
        let Some((room_id, peer_id)) = state.by_connection.get(connection_id).cloned() else {
            return Ok(None);
        };
        let participant = state
            .by_room
            .get_mut(&room_id)
            .and_then(|room| room.iter_mut().find(|p| p.peer_id == peer_id));
        Ok(participant.map(|participant| {
            participant.away_since = Some(at);
            participant.clone()
        }))
    }

    async fn in_room(&self, room_id: &str) -> Result<Vec<Participant>, StoreError> {
        Ok(self
            .lock()
            .by_room
            .get(room_id)
            .cloned()
            .unwrap_or_default())
    }

    async fn remove_connection(
        &self,
        connection_id: &str,
    ) -> Result<Option<Participant>, StoreError> {
        let mut state = self.lock();
        let Some((room_id, peer_id)) = state.by_connection.remove(connection_id) else {
            return Ok(None);
        };
        let Some(room) = state.by_room.get_mut(&room_id) else {
            return Ok(None);
        };
        let removed = room
            .iter()
            .position(|p| p.peer_id == peer_id)
            .map(|index| room.remove(index));
        if room.is_empty() {
            state.by_room.remove(&room_id);
        }
        Ok(removed)
    }
}
