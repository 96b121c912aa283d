//! The contract every [`RoomStore`] and [`ParticipantStore`] adapter must
//! pass. Each adapter's tests call these functions with a fresh store, so the
//! embedded store and DynamoDB are held to the same behaviour.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;

use crate::zone::Zone;

use super::{
    BEFORE_EVERY_EXPIRY, JoinOutcome, Participant, ParticipantStore, PreferenceStore, RoomStore,
    StoreError, erase_patient_rooms, update_room,
};
use crate::random::random_id;
use crate::room::{CallTime, Delivery, Invitee, Locale, Room};

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
    let window = crate::validity::DayWindow::for_date(date, Zone::BERLIN);
    Room {
        id: random_id(),
        practitioner_id: practitioner.to_owned(),
        date,
        start_time: None,
        time_zone: Zone::BERLIN,
        title: Some("Erstgespräch".to_owned()),
        patient_id: Some("P-1".to_owned()),
        invitees: vec![Invitee {
            name: "Anna Beispiel".to_owned(),
            email: "anna@example.org".to_owned(),
            locale: Locale::De,
            delivery: Delivery::Pending,
            last_sent: None,
        }],
        entry_id: None,
        link_salt: random_id(),
        created_at: now(),
        expires_at: window.until + Duration::days(90),
        version: 0,
        call: CallTime::default(),
    }
}

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("valid constant")
        .with_timezone(&Utc)
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

pub async fn replace_needs_the_current_version(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("insert");
    let mut changed = room.clone();
    changed.title = Some("Folgetermin".to_owned());
    changed.version = 1;
    store.replace(&changed).await.expect("replace");
    let result = store.replace(&changed).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(
        store.get(&room.id, now()).await.expect("get"),
        Some(changed)
    );
    let mut missing = sample_room("dr-a", "2026-12-13");
    missing.version = 1;
    let result = store.replace(&missing).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(store.get(&missing.id, now()).await.expect("get"), None);
}

pub async fn concurrent_updates_lose_nothing(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("insert");
    let updates = (0..8).map(|_| {
        update_room(store, &room.id, now(), |room| {
            room.call.seconds += 1;
            true
        })
    });
    for result in futures_util::future::join_all(updates).await {
        result.expect("update").expect("room exists");
    }
    let stored = store
        .get(&room.id, now())
        .await
        .expect("get")
        .expect("room");
    assert_eq!(stored.call.seconds, 8);
    assert_eq!(stored.version, 8);
}

fn ids(rooms: &[Room]) -> Vec<String> {
    let mut ids: Vec<String> = rooms.iter().map(|room| room.id.clone()).collect();
    ids.sort();
    ids
}

pub async fn mail_due_lists_only_started_days_with_outstanding_mail(store: &dyn RoomStore) {
    // 2026-12-10 05:30 in Berlin, still 2026-12-09 in New York.
    let at = utc("2026-12-10T04:30:00Z");
    let due = sample_room("dr-a", "2026-12-10");
    let other_practitioner = sample_room("dr-b", "2026-12-10");
    let tomorrow = sample_room("dr-a", "2026-12-11");
    let yesterday = sample_room("dr-a", "2026-12-09");
    let mut no_invitees = sample_room("dr-a", "2026-12-10");
    no_invitees.invitees.clear();
    let mut sent = sample_room("dr-a", "2026-12-10");
    sent.invitees[0].delivery = Delivery::Sent {
        at,
        message_id: "m-1".to_owned(),
        attempts: 1,
    };
    let mut rejected = sample_room("dr-a", "2026-12-10");
    rejected.invitees[0].delivery = Delivery::Failed {
        at,
        reason: "rejected".to_owned(),
        permanent: true,
        attempts: 1,
    };
    let mut retry = sample_room("dr-a", "2026-12-10");
    retry.invitees[0].delivery = Delivery::Failed {
        at,
        reason: "throttled".to_owned(),
        permanent: false,
        attempts: 1,
    };
    let mut new_york = sample_room("dr-a", "2026-12-10");
    new_york.time_zone = Zone::parse("America/New_York").unwrap();
    for room in [
        &due,
        &other_practitioner,
        &tomorrow,
        &yesterday,
        &no_invitees,
        &sent,
        &rejected,
        &retry,
        &new_york,
    ] {
        store.insert(room).await.expect("insert");
    }
    let listed = store.mail_due(at, at).await.expect("mail_due");
    assert_eq!(
        ids(&listed),
        ids(&[due.clone(), other_practitioner.clone(), retry.clone()])
    );
    // New York's day began at 05:00 UTC.
    let later = utc("2026-12-10T05:00:00Z");
    let listed = store.mail_due(later, later).await.expect("mail_due");
    assert_eq!(listed.len(), 4, "{:?}", ids(&listed));

    // Sending the last email takes the room out of the index.
    update_room(store, &due.id, at, |room| {
        room.invitees[0].delivery = Delivery::Sent {
            at,
            message_id: "m-2".to_owned(),
            attempts: 1,
        };
        true
    })
    .await
    .expect("update");
    let listed = store.mail_due(at, at).await.expect("mail_due");
    assert_eq!(ids(&listed), ids(&[other_practitioner, retry]));
}

/// Days of 23 and 25 hours: a room is due from its local midnight to the
/// next, and its addresses are erased right after.
pub async fn dst_days_end_at_local_midnight(store: &dyn RoomStore) {
    let short = sample_room("dr-a", "2026-03-29");
    let long = sample_room("dr-a", "2026-10-25");
    store.insert(&short).await.expect("insert");
    store.insert(&long).await.expect("insert");
    // 23:59 in Berlin on the 23-hour day, and the midnight after it.
    let late = utc("2026-03-29T21:59:00Z");
    assert_eq!(
        ids(&store.mail_due(late, late).await.expect("due")),
        ids(std::slice::from_ref(&short))
    );
    assert!(store.emails_to_erase(late).await.expect("erase").is_empty());
    let over = utc("2026-03-29T22:00:00Z");
    assert!(store.mail_due(over, over).await.expect("due").is_empty());
    assert_eq!(
        ids(&store.emails_to_erase(over).await.expect("erase")),
        ids(std::slice::from_ref(&short))
    );
    // 23:30 in Berlin on the 25-hour day is 22:30 UTC: still the day.
    let late = utc("2026-10-25T22:30:00Z");
    assert_eq!(
        ids(&store.mail_due(late, late).await.expect("due")),
        ids(std::slice::from_ref(&long))
    );
    let over = utc("2026-10-25T23:00:00Z");
    assert!(store.mail_due(over, over).await.expect("due").is_empty());
    // Its day began at 22:00 UTC the evening before (midnight CEST).
    let first_minute = utc("2026-10-24T22:00:00Z");
    assert_eq!(
        ids(&store
            .mail_due(first_minute, first_minute)
            .await
            .expect("due")),
        ids(std::slice::from_ref(&long))
    );
}

pub async fn rooms_holding_emails_are_listed_after_their_day(store: &dyn RoomStore) {
    let ended = sample_room("dr-a", "2026-12-09");
    let mut erased = sample_room("dr-a", "2026-12-09");
    erased.erase_emails();
    let running = sample_room("dr-a", "2026-12-10");
    for room in [&ended, &erased, &running] {
        store.insert(room).await.expect("insert");
    }
    // 2026-12-10 00:30 in Berlin: the 9th has ended, the 10th has not.
    let at = utc("2026-12-09T23:30:00Z");
    let listed = store.emails_to_erase(at).await.expect("emails_to_erase");
    assert_eq!(ids(&listed), ids(std::slice::from_ref(&ended)));
    update_room(store, &ended.id, at, Room::erase_emails)
        .await
        .expect("erase");
    assert!(store.emails_to_erase(at).await.expect("list").is_empty());
    let stored = store.get(&ended.id, at).await.expect("get").expect("room");
    assert!(!stored.holds_emails());
    assert_eq!(stored.invitees[0].name, "Anna Beispiel");
}

/// Builds a room of `patient` for `practitioner` on `day`.
fn patient_room(practitioner: &str, patient: Option<&str>, day: &str) -> Room {
    let mut room = sample_room(practitioner, day);
    room.patient_id = patient.map(str::to_owned);
    room
}

pub async fn patient_rooms_cover_every_date(store: &dyn RoomStore) {
    let soon = patient_room("dr-a", Some("P-1"), "2026-12-13");
    let far_ahead = patient_room("dr-a", Some("P-1"), "2028-01-05");
    let mut past_retention = patient_room("dr-a", Some("P-1"), "2026-11-20");
    past_retention.expires_at = now() - Duration::days(1);
    let other_patient = patient_room("dr-a", Some("P-2"), "2026-12-13");
    let prefix_patient = patient_room("dr-a", Some("P-10"), "2026-12-13");
    let no_patient = patient_room("dr-a", None, "2026-12-13");
    let other_practitioner = patient_room("dr-b", Some("P-1"), "2026-12-13");
    let prefix_practitioner = patient_room("dr-ab", Some("P-1"), "2026-12-13");
    for room in [
        &soon,
        &far_ahead,
        &past_retention,
        &other_patient,
        &prefix_patient,
        &no_patient,
        &other_practitioner,
        &prefix_practitioner,
    ] {
        store.insert(room).await.expect("insert");
    }

    let found = store
        .patient_rooms("dr-a", "P-1")
        .await
        .expect("patient_rooms");
    assert_eq!(
        ids(&found),
        ids(&[soon.clone(), far_ahead.clone(), past_retention.clone()])
    );
    let stored = found
        .iter()
        .find(|room| room.id == soon.id)
        .expect("listed");
    assert_eq!(stored, &soon, "listed with every field");

    assert!(
        store
            .patient_rooms("dr-a", "P-3")
            .await
            .expect("patient_rooms")
            .is_empty()
    );
    assert!(
        store
            .patient_rooms("dr-c", "P-1")
            .await
            .expect("patient_rooms")
            .is_empty()
    );
}

pub async fn delete_unchanged_needs_the_current_version(store: &dyn RoomStore) {
    let room = sample_room("dr-a", "2026-12-13");
    store.insert(&room).await.expect("insert");
    let changed = update_room(store, &room.id, now(), |room| {
        room.title = Some("Folgetermin".to_owned());
        true
    })
    .await
    .expect("update")
    .expect("room exists");

    let result = store.delete_unchanged(&room).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    let mut foreign = changed.clone();
    foreign.practitioner_id = "dr-b".to_owned();
    let result = store.delete_unchanged(&foreign).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    assert_eq!(
        store.get(&room.id, now()).await.expect("get"),
        Some(changed.clone())
    );

    store.delete_unchanged(&changed).await.expect("delete");
    assert_eq!(store.get(&room.id, now()).await.expect("get"), None);
    let result = store.delete_unchanged(&changed).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    let listed = store
        .list("dr-a", date("2026-12-01"), date("2026-12-31"), now())
        .await
        .expect("list");
    assert!(listed.is_empty(), "{listed:?}");
    assert!(
        store
            .emails_to_erase(utc("2026-12-14T00:00:00Z"))
            .await
            .expect("emails_to_erase")
            .is_empty(),
        "the erasure index forgets the room"
    );
}

pub async fn erasure_removes_only_the_patients_rooms(store: &dyn RoomStore) {
    let mut today = patient_room("dr-a", Some("P-1"), "2026-12-04");
    today.call.start(now());
    let ahead = patient_room("dr-a", Some("P-1"), "2027-06-30");
    let mut past_retention = patient_room("dr-a", Some("P-1"), "2026-11-20");
    past_retention.expires_at = now() - Duration::days(1);
    let other_patient = patient_room("dr-a", Some("P-2"), "2026-12-04");
    let other_practitioner = patient_room("dr-b", Some("P-1"), "2026-12-04");
    for room in [
        &today,
        &ahead,
        &past_retention,
        &other_patient,
        &other_practitioner,
    ] {
        store.insert(room).await.expect("insert");
    }

    let erased = erase_patient_rooms(store, "dr-a", "P-1")
        .await
        .expect("erase");
    assert_eq!(erased, 3);
    for room in [&today, &ahead, &past_retention] {
        assert_eq!(
            store.get(&room.id, BEFORE_EVERY_EXPIRY).await.expect("get"),
            None,
            "room of {} is erased",
            room.date
        );
    }
    assert!(
        store
            .patient_rooms("dr-a", "P-1")
            .await
            .expect("patient_rooms")
            .is_empty()
    );
    assert_eq!(
        store.get(&other_patient.id, now()).await.expect("get"),
        Some(other_patient)
    );
    assert_eq!(
        store.get(&other_practitioner.id, now()).await.expect("get"),
        Some(other_practitioner)
    );
    assert_eq!(
        erase_patient_rooms(store, "dr-a", "P-1")
            .await
            .expect("erase again"),
        0
    );
}

/// A store that changes a room through the inner store right before the
/// first conditional delete, as a concurrent writer would.
struct ChangesBeforeFirstDelete<'a> {
    inner: &'a dyn RoomStore,
    changed: AtomicBool,
}

#[async_trait]
impl RoomStore for ChangesBeforeFirstDelete<'_> {
    async fn insert(&self, room: &Room) -> Result<(), StoreError> {
        self.inner.insert(room).await
    }

    async fn replace(&self, room: &Room) -> Result<(), StoreError> {
        self.inner.replace(room).await
    }

    async fn get(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Room>, StoreError> {
        self.inner.get(id, now).await
    }

    async fn list(
        &self,
        practitioner_id: &str,
        from: NaiveDate,
        to: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        self.inner.list(practitioner_id, from, to, now).await
    }

    async fn delete(&self, practitioner_id: &str, id: &str) -> Result<bool, StoreError> {
        self.inner.delete(practitioner_id, id).await
    }

    async fn mail_due(
        &self,
        started_by: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Room>, StoreError> {
        self.inner.mail_due(started_by, now).await
    }

    async fn emails_to_erase(&self, now: DateTime<Utc>) -> Result<Vec<Room>, StoreError> {
        self.inner.emails_to_erase(now).await
    }

    async fn patient_rooms(
        &self,
        practitioner_id: &str,
        patient_id: &str,
    ) -> Result<Vec<Room>, StoreError> {
        self.inner.patient_rooms(practitioner_id, patient_id).await
    }

    async fn delete_unchanged(&self, room: &Room) -> Result<(), StoreError> {
        if !self.changed.swap(true, Ordering::SeqCst) {
            update_room(self.inner, &room.id, now(), |stored| {
                stored.call.seconds += 60;
                true
            })
            .await?;
        }
        self.inner.delete_unchanged(room).await
    }
}

pub async fn erasure_deletes_a_room_changed_meanwhile(store: &dyn RoomStore) {
    let room = patient_room("dr-a", Some("P-1"), "2026-12-04");
    store.insert(&room).await.expect("insert");
    let racing = ChangesBeforeFirstDelete {
        inner: store,
        changed: AtomicBool::new(false),
    };
    let erased = erase_patient_rooms(&racing, "dr-a", "P-1")
        .await
        .expect("erase");
    assert!(racing.changed.load(Ordering::SeqCst), "the race took place");
    assert_eq!(erased, 1);
    assert_eq!(store.get(&room.id, now()).await.expect("get"), None);

    // A writer that read the room before the erasure cannot write it back.
    let mut stale = room.clone();
    stale.version += 1;
    let result = store.replace(&stale).await;
    assert!(matches!(result, Err(StoreError::Conflict(_))), "{result:?}");
    let updated = update_room(store, &room.id, now(), |stored| {
        stored.call.seconds += 1;
        true
    })
    .await
    .expect("update");
    assert_eq!(updated, None);
    assert_eq!(store.get(&room.id, now()).await.expect("get"), None);
}

/// Erasure and call-time updates of the same rooms at once: whichever write
/// lands first, no room of the patient is left.
pub async fn erasure_wins_over_concurrent_updates(store: &dyn RoomStore) {
    let rooms: Vec<Room> = ["2026-12-04", "2026-12-05", "2026-12-06"]
        .into_iter()
        .map(|day| patient_room("dr-a", Some("P-1"), day))
        .collect();
    for room in &rooms {
        store.insert(room).await.expect("insert");
    }
    let updates = rooms.iter().flat_map(|room| {
        (0..3).map(|_| async {
            update_room(store, &room.id, now(), |stored| {
                stored.call.seconds += 1;
                true
            })
            .await
            .expect("update")
        })
    });
    let erase = async {
        erase_patient_rooms(store, "dr-a", "P-1")
            .await
            .expect("erase")
    };
    let (erased, _) =
        futures_util::future::join(erase, futures_util::future::join_all(updates)).await;
    assert_eq!(erased, rooms.len());
    for room in &rooms {
        assert_eq!(store.get(&room.id, now()).await.expect("get"), None);
    }
    assert!(
        store
            .patient_rooms("dr-a", "P-1")
            .await
            .expect("patient_rooms")
            .is_empty()
    );
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
    replace_needs_the_current_version(&make().await).await;
    concurrent_updates_lose_nothing(&make().await).await;
    mail_due_lists_only_started_days_with_outstanding_mail(&make().await).await;
    rooms_holding_emails_are_listed_after_their_day(&make().await).await;
    dst_days_end_at_local_midnight(&make().await).await;
    patient_rooms_cover_every_date(&make().await).await;
    delete_unchanged_needs_the_current_version(&make().await).await;
    erasure_removes_only_the_patients_rooms(&make().await).await;
    erasure_deletes_a_room_changed_meanwhile(&make().await).await;
    erasure_wins_over_concurrent_updates(&make().await).await;
}

fn participant(room_id: &str, connection_id: &str) -> Participant {
    Participant {
        room_id: room_id.to_owned(),
        peer_id: random_id(),
        name: "Anna".to_owned(),
        connection_id: connection_id.to_owned(),
        resume_key_hash: [7; 32],
        joined_at: now(),
        away_since: None,
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

pub async fn away_participant_keeps_its_place_until_removed(store: &dyn ParticipantStore) {
    let room = random_id();
    let joined = participant(&room, "first");
    store.add(joined.clone(), 1).await.expect("add");
    let at = now();
    let away = store
        .mark_away("first", at)
        .await
        .expect("mark_away")
        .expect("marked");
    assert_eq!(away.away_since, Some(at));
    assert!(
        store
            .mark_away("unknown", at)
            .await
            .expect("mark_away unknown")
            .is_none()
    );
    let listed = store.in_room(&room).await.expect("in_room");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].away_since, Some(at));
    // The place stays taken while the participant is away.
    assert_eq!(
        store
            .add(participant(&room, "second"), 1)
            .await
            .expect("add"),
        JoinOutcome::Full
    );

    let (resumed, previous) = store
        .resume(&room, &joined.peer_id, &joined.resume_key_hash, "third")
        .await
        .expect("resume")
        .expect("resumed");
    assert_eq!(previous, "first");
    assert_eq!(resumed.away_since, None);
    assert_eq!(
        store.in_room(&room).await.expect("in_room")[0].away_since,
        None
    );

    // Away again, then removed by its connection: the place is free.
    store
        .mark_away("third", at)
        .await
        .expect("mark_away")
        .expect("marked");
    let removed = store.remove_connection("third").await.expect("remove");
    assert_eq!(removed.map(|p| p.peer_id), Some(joined.peer_id));
    assert_eq!(
        store
            .add(participant(&room, "fourth"), 1)
            .await
            .expect("add"),
        JoinOutcome::Joined
    );
}

pub async fn with_room_lists_the_sender_and_its_room(store: &dyn ParticipantStore) {
    let (room, other_room) = (random_id(), random_id());
    let first = participant(&room, "w0");
    store.add(first.clone(), 8).await.expect("add");
    store.add(participant(&room, "w1"), 8).await.expect("add");
    store
        .add(participant(&other_room, "w2"), 8)
        .await
        .expect("add");

    let (sender, present) = store
        .with_room("w0")
        .await
        .expect("with_room")
        .expect("w0 has joined");
    assert_eq!(sender.peer_id, first.peer_id);
    let mut connections: Vec<String> = present.into_iter().map(|p| p.connection_id).collect();
    connections.sort();
    assert_eq!(connections, ["w0", "w1"], "only the sender's room");
    assert!(
        store
            .with_room("unknown")
            .await
            .expect("with_room unknown")
            .is_none()
    );

    // A resumed participant is found on its new connection only.
    store
        .resume(&room, &first.peer_id, &first.resume_key_hash, "w0-new")
        .await
        .expect("resume")
        .expect("resumed");
    assert!(
        store
            .with_room("w0")
            .await
            .expect("with_room old")
            .is_none()
    );
    let (resumed, present) = store
        .with_room("w0-new")
        .await
        .expect("with_room new")
        .expect("resumed participant");
    assert_eq!(resumed.peer_id, first.peer_id);
    assert_eq!(present.len(), 2);

    store.remove_connection("w1").await.expect("remove");
    assert!(
        store
            .with_room("w1")
            .await
            .expect("with_room removed")
            .is_none()
    );
}

pub async fn sender_and_target_finds_both_in_one_room(store: &dyn ParticipantStore) {
    let (room, other_room) = (random_id(), random_id());
    let sender = participant(&room, "t0");
    let target = participant(&room, "t1");
    let stranger = participant(&other_room, "t2");
    for added in [&sender, &target, &stranger] {
        store.add(added.clone(), 8).await.expect("add");
    }

    let (found_sender, found_target) = store
        .sender_and_target("t0", &target.peer_id)
        .await
        .expect("sender_and_target")
        .expect("t0 has joined");
    assert_eq!(found_sender.peer_id, sender.peer_id);
    let found_target = found_target.expect("t1 is in t0's room");
    assert_eq!(
        (found_target.peer_id, found_target.connection_id),
        (target.peer_id.clone(), target.connection_id.clone())
    );
    for (peer_id, case) in [
        (&sender.peer_id, "the sender itself"),
        (&stranger.peer_id, "a participant of another room"),
    ] {
        let (_, found) = store
            .sender_and_target("t0", peer_id)
            .await
            .expect("sender_and_target")
            .expect("t0 has joined");
        assert!(found.is_none(), "{case} is no target");
    }
    assert!(
        store
            .sender_and_target("unknown", &sender.peer_id)
            .await
            .expect("sender_and_target unknown")
            .is_none()
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
    away_participant_keeps_its_place_until_removed(&make().await).await;
    with_room_lists_the_sender_and_its_room(&make().await).await;
    sender_and_target_finds_both_in_one_room(&make().await).await;
}

/// Checks the "always video" flag: per practitioner and patient, off by
/// default.
pub async fn preference_store_contract(store: &dyn PreferenceStore) {
    assert!(!store.always_video("dr-a", "P-1").await.expect("read"));
    store
        .set_always_video("dr-a", "P-1", true, now())
        .await
        .expect("set");
    assert!(store.always_video("dr-a", "P-1").await.expect("read"));
    assert!(!store.always_video("dr-b", "P-1").await.expect("read"));
    assert!(!store.always_video("dr-a", "P-2").await.expect("read"));
    let stored = store
        .stored_preference("dr-a", "P-1")
        .await
        .expect("read record");
    assert!(stored.is_some(), "a set flag has a record");
    if let Some(updated_at) = stored.and_then(|record| record.updated_at) {
        assert_eq!(updated_at, now());
    }
    assert_eq!(
        store
            .stored_preference("dr-b", "P-1")
            .await
            .expect("read record"),
        None
    );
    store
        .set_always_video("dr-a", "P-1", false, now())
        .await
        .expect("clear");
    assert!(!store.always_video("dr-a", "P-1").await.expect("read"));
    assert_eq!(
        store
            .stored_preference("dr-a", "P-1")
            .await
            .expect("read record"),
        None,
        "clearing the flag deletes the record"
    );
}
