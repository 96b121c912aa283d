//! The contract every [`RoomStore`] and [`ParticipantStore`] adapter must
//! pass. Each adapter's tests call these functions with a fresh store, so the
//! embedded store and DynamoDB are held to the same behaviour.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::{
    Claim, DeliveryKey, DeliveryStore, JoinOutcome, Participant, ParticipantStore, RoomStore,
    StoreError,
};
use crate::random::random_id;
use crate::room::{Invitee, Locale, Room};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
        .expect("valid constant")
        .with_timezone(&Utc)
}

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("valid constant")
}

/// Builds a room for `practitioner` on `day`, expiring 90 days after it.
pub fn sample_room(practitioner: &str, day: &str) -> Room {
    let date = date(day);
    let window = crate::validity::DayWindow::for_date(date, chrono_tz::Europe::Berlin);
    Room {
        id: random_id(),
        practitioner_id: practitioner.to_owned(),
        date,
        start_time: None,
        time_zone: chrono_tz::Europe::Berlin,
        title: Some("Erstgespräch".to_owned()),
        patient_id: Some("P-1".to_owned()),
        invitees: vec![Invitee {
            name: "Anna Beispiel".to_owned(),
            email: "anna@example.org".to_owned(),
            locale: Locale::De,
        }],
        created_at: now(),
        expires_at: window.until + Duration::days(90),
    }
}

pub async fn insert_then_get_returns_room(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("insert");
    assert_eq!(store.get(&room.id, now()).await.expect("get"), Some(room));
}

pub async fn get_missing_returns_none(store: &dyn RoomStore) {
    assert_eq!(store.get(&random_id(), now()).await.expect("get"), None);
}

pub async fn insert_duplicate_id_conflicts(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("first insert");
    let mut other = sample_room("dr-b", "2026-12-14");
    other.id = room.id.clone();
    let result = store.insert(&other).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(store.get(&room.id, now()).await.expect("get"), Some(room));
}

pub async fn expired_room_is_hidden(store: &dyn RoomStore) {
    let mut room = sample_room("dr-a", "2026-12-13");
    room.expires_at = now() - Duration::seconds(1);
    store.insert(&room).await.expect("insert");
    assert_eq!(store.get(&room.id, now()).await.expect("get"), None);
    let listed = store
        .list("dr-a", date("2026-12-01"), date("2026-12-31"), now())
        .await
        .expect("list");
    assert!(listed.is_empty(), "{listed:?}");
}

pub async fn list_filters_by_practitioner_and_dates(store: &dyn RoomStore) {
    let first = sample_room("dr-a", "2026-12-10");
    let second = sample_room("dr-a", "2026-12-12");
    let outside = sample_room("dr-a", "2026-12-20");
    let foreign = sample_room("dr-b", "2026-12-11");
    for room in [&second, &outside, &first, &foreign] {
        store.insert(room).await.expect("insert");
    }
    let listed = store
        .list("dr-a", date("2026-12-10"), date("2026-12-12"), now())
        .await
        .expect("list");
    let ids: Vec<&str> = listed.iter().map(|room| room.id.as_str()).collect();
    assert_eq!(ids, vec![first.id.as_str(), second.id.as_str()]);
}

pub async fn list_does_not_match_practitioner_prefix(store: &dyn RoomStore) {
    store
        .insert(&sample_room("dr-ab", "2026-12-10"))
        .await
        .expect("insert");
    let listed = store
        .list("dr-a", date("2026-12-01"), date("2026-12-31"), now())
        .await
        .expect("list");
    assert!(listed.is_empty(), "{listed:?}");
}

pub async fn delete_is_scoped_to_practitioner(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("insert");
    assert!(
        !store
            .delete("dr-b", &room.id)
            .await
            .expect("foreign delete")
    );
    assert!(store.get(&room.id, now()).await.expect("get").is_some());
    assert!(store.delete("dr-a", &room.id).await.expect("delete"));
    assert_eq!(store.get(&room.id, now()).await.expect("get"), None);
    assert!(!store.delete("dr-a", &room.id).await.expect("second delete"));
    let listed = store
        .list("dr-a", date("2026-12-01"), date("2026-12-31"), now())
        .await
        .expect("list");
    assert!(listed.is_empty());
}

pub async fn list_by_date_spans_practitioners(store: &dyn RoomStore) {
    let first = sample_room("dr-a", "2026-12-10");
    let second = sample_room("dr-b", "2026-12-10");
    let other_day = sample_room("dr-a", "2026-12-11");
    let mut expired = sample_room("dr-c", "2026-12-10");
    expired.expires_at = now() - Duration::seconds(1);
    for room in [&first, &second, &other_day, &expired] {
        store.insert(room).await.expect("insert");
    }
    let mut ids: Vec<String> = store
        .list_by_date(date("2026-12-10"), now())
        .await
        .expect("list_by_date")
        .into_iter()
        .map(|room| room.id)
        .collect();
    ids.sort();
    let mut expected = vec![first.id.clone(), second.id.clone()];
    expected.sort();
    assert_eq!(ids, expected);
    store.delete("dr-a", &first.id).await.expect("delete");
    let left = store
        .list_by_date(date("2026-12-10"), now())
        .await
        .expect("list_by_date");
    assert_eq!(left.len(), 1);
}

/// Runs every room store case against stores made by `make`.
pub async fn room_store_contract<S, F, Fut>(make: F)
where
    S: RoomStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    insert_then_get_returns_room(&make().await).await;
    get_missing_returns_none(&make().await).await;
    insert_duplicate_id_conflicts(&make().await).await;
    expired_room_is_hidden(&make().await).await;
    list_filters_by_practitioner_and_dates(&make().await).await;
    list_does_not_match_practitioner_prefix(&make().await).await;
    delete_is_scoped_to_practitioner(&make().await).await;
    list_by_date_spans_practitioners(&make().await).await;
}

fn participant(room_id: &str, connection_id: &str) -> Participant {
    Participant {
        room_id: room_id.to_owned(),
        peer_id: random_id(),
        name: "Anna".to_owned(),
        connection_id: connection_id.to_owned(),
        resume_key_hash: [7; 32],
        joined_at: now(),
    }
}

pub async fn participants_stop_at_limit(store: &dyn ParticipantStore) {
    let room = random_id();
    for index in 0..3 {
        let outcome = store
            .add(participant(&room, &format!("c{index}")), 3)
            .await
            .expect("add");
        assert_eq!(outcome, JoinOutcome::Joined);
    }
    let outcome = store.add(participant(&room, "c3"), 3).await.expect("add");
    assert_eq!(outcome, JoinOutcome::Full);
    assert_eq!(store.in_room(&room).await.expect("in_room").len(), 3);
    assert!(
        store
            .by_connection("c3")
            .await
            .expect("by_connection")
            .is_none()
    );
}

pub async fn leaving_frees_a_place(store: &dyn ParticipantStore) {
    let room = random_id();
    store.add(participant(&room, "c0"), 1).await.expect("add");
    let removed = store.remove_connection("c0").await.expect("remove");
    assert_eq!(removed.map(|p| p.connection_id), Some("c0".to_owned()));
    assert_eq!(
        store.add(participant(&room, "c1"), 1).await.expect("add"),
        JoinOutcome::Joined
    );
    assert!(
        store
            .remove_connection("unknown")
            .await
            .expect("remove unknown")
            .is_none()
    );
}

pub async fn rooms_are_separate(store: &dyn ParticipantStore) {
    let (first, second) = (random_id(), random_id());
    store.add(participant(&first, "a"), 1).await.expect("add");
    assert_eq!(
        store.add(participant(&second, "b"), 1).await.expect("add"),
        JoinOutcome::Joined
    );
    assert_eq!(store.in_room(&first).await.expect("in_room").len(), 1);
}

pub async fn resume_needs_matching_key(store: &dyn ParticipantStore) {
    let room = random_id();
    let joined = participant(&room, "old");
    store.add(joined.clone(), 8).await.expect("add");
    let wrong = store
        .resume(&room, &joined.peer_id, &[8; 32], "new")
        .await
        .expect("resume");
    assert!(wrong.is_none());
    let (resumed, previous) = store
        .resume(&room, &joined.peer_id, &joined.resume_key_hash, "new")
        .await
        .expect("resume")
        .expect("resumed");
    assert_eq!(previous, "old");
    assert_eq!(resumed.connection_id, "new");
    assert_eq!(resumed.peer_id, joined.peer_id);
    // The old connection's late disconnect must not remove the participant.
    assert!(
        store
            .remove_connection("old")
            .await
            .expect("remove")
            .is_none()
    );
    assert_eq!(
        store
            .by_connection("new")
            .await
            .expect("by_connection")
            .map(|p| p.peer_id),
        Some(joined.peer_id)
    );
}

/// Runs every participant store case against stores made by `make`.
pub async fn participant_store_contract<S, F, Fut>(make: F)
where
    S: ParticipantStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    participants_stop_at_limit(&make().await).await;
    leaving_frees_a_place(&make().await).await;
    rooms_are_separate(&make().await).await;
    resume_needs_matching_key(&make().await).await;
}

fn delivery() -> DeliveryKey {
    DeliveryKey {
        room_id: random_id(),
        date: date("2026-12-04"),
        email: "anna@example.org".to_owned(),
    }
}

pub async fn delivery_is_claimed_once(store: &dyn DeliveryStore) {
    let key = delivery();
    let stale = Duration::minutes(15);
    let expires = now() + Duration::days(90);
    assert_eq!(
        store
            .claim(&key, now(), stale, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
    assert_eq!(
        store
            .claim(&key, now(), stale, expires)
            .await
            .expect("claim"),
        Claim::Taken
    );
    store
        .mark_sent(&key, "message-1", now())
        .await
        .expect("mark_sent");
    let much_later = now() + Duration::hours(5);
    assert_eq!(
        store
            .claim(&key, much_later, stale, expires)
            .await
            .expect("claim"),
        Claim::Taken
    );
}

pub async fn failed_delivery_is_claimed_again(store: &dyn DeliveryStore) {
    let key = delivery();
    let stale = Duration::minutes(15);
    let expires = now() + Duration::days(90);
    store
        .claim(&key, now(), stale, expires)
        .await
        .expect("claim");
    store
        .mark_failed(&key, "throttled", now())
        .await
        .expect("mark_failed");
    assert_eq!(
        store
            .claim(&key, now(), stale, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
}

pub async fn abandoned_claim_is_taken_over_when_stale(store: &dyn DeliveryStore) {
    let key = delivery();
    let stale = Duration::minutes(15);
    let expires = now() + Duration::days(90);
    store
        .claim(&key, now(), stale, expires)
        .await
        .expect("claim");
    let soon = now() + Duration::minutes(14);
    assert_eq!(
        store
            .claim(&key, soon, stale, expires)
            .await
            .expect("claim"),
        Claim::Taken
    );
    let later = now() + Duration::minutes(16);
    assert_eq!(
        store
            .claim(&key, later, stale, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
}

pub async fn deliveries_differ_by_day_and_address(store: &dyn DeliveryStore) {
    let key = delivery();
    let stale = Duration::minutes(15);
    let expires = now() + Duration::days(90);
    store
        .claim(&key, now(), stale, expires)
        .await
        .expect("claim");
    let moved = DeliveryKey {
        date: date("2026-12-05"),
        ..key.clone()
    };
    assert_eq!(
        store
            .claim(&moved, now(), stale, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
    let other = DeliveryKey {
        email: "ben@example.org".to_owned(),
        ..key
    };
    assert_eq!(
        store
            .claim(&other, now(), stale, expires)
            .await
            .expect("claim"),
        Claim::Claimed
    );
}

/// Runs every delivery store case against stores made by `make`.
pub async fn delivery_store_contract<S, F, Fut>(make: F)
where
    S: DeliveryStore,
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = S>,
{
    delivery_is_claimed_once(&make().await).await;
    failed_delivery_is_claimed_again(&make().await).await;
    abandoned_claim_is_taken_over_when_stale(&make().await).await;
    deliveries_differ_by_day_and_address(&make().await).await;
}
