//! Fills the rooms table with rooms over many days and zones, then runs the
//! daily emailer's run every 15 minutes through one UTC day, as EventBridge
//! Scheduler does, and records what DynamoDB read and wrote.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use video_core::clock::FixedClock;
use video_core::link::LinkKey;
use video_core::mail::{Email, MailError, Mailer};
use video_core::morning::{Invitations, SendPolicy};
use video_core::room::{CreateRoomRequest, InviteeRequest, Room};
use video_core::store::dynamodb::DynamoRooms;
use video_core::store::{RoomStore, StoreError};

use crate::aws::{Aws, ROOMS_TABLE};
use crate::counting::{CountingInterceptor, Tally};

/// Zones of the generated rooms with their weights. The rooms API accepts
/// every IANA zone. Most rooms are in the practices' own zones, and the rest
/// cover the offsets from UTC-12 to UTC+14, half-hour offsets, and zones
/// with and without daylight saving time on both hemispheres.
const ZONES: &[(&str, usize)] = &[
    ("Europe/Berlin", 40),
    ("Europe/Vienna", 8),
    ("Europe/Zurich", 6),
    ("Europe/London", 5),
    ("Europe/Lisbon", 3),
    ("Europe/Helsinki", 3),
    ("Europe/Istanbul", 2),
    ("Atlantic/Azores", 2),
    ("America/New_York", 4),
    ("America/Los_Angeles", 3),
    ("America/Sao_Paulo", 2),
    ("America/Santiago", 2),
    ("Asia/Kolkata", 2),
    ("Asia/Tokyo", 2),
    ("Australia/Sydney", 2),
    ("Australia/Lord_Howe", 2),
    ("Pacific/Auckland", 2),
    ("Pacific/Kiritimati", 2),
    ("Pacific/Pago_Pago", 2),
    ("Etc/GMT+12", 2),
    ("Antarctica/Troll", 2),
];

/// Sizes of the scenario.
#[derive(Debug, Clone, Copy)]
pub struct Scenario {
    pub rooms: usize,
    pub days: usize,
    /// The UTC day whose runs are counted.
    pub day: NaiveDate,
}

/// Calls of the counted day, split into the erasure part of each run and
/// the sending part.
#[derive(Debug, Clone, Default)]
pub struct DayCounts {
    pub runs: usize,
    pub rooms_due: usize,
    pub emails_sent: usize,
    pub rooms_erased: usize,
    pub erase_phase: Tally,
    pub send_phase: Tally,
}

/// Counts emails instead of sending them.
#[derive(Default)]
struct CountingMailer {
    sent: AtomicU64,
}

#[async_trait]
impl Mailer for CountingMailer {
    async fn send(&self, _email: &Email) -> Result<String, MailError> {
        let number = self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(format!("bench-message-{number}"))
    }
}

/// The DynamoDB room store, which takes a snapshot of the counts when the
/// run requests the due rooms. A run erases first and sends afterwards, so
/// the snapshot splits its calls into the two parts.
struct MarkingStore {
    inner: DynamoRooms,
    counter: CountingInterceptor,
    at_mail_due: Mutex<Option<Tally>>,
}

#[async_trait]
impl RoomStore for MarkingStore {
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
        *self.at_mail_due.lock().unwrap() = Some(self.counter.snapshot());
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
        self.inner.delete_unchanged(room).await
    }
}

fn zone_for(index: usize) -> &'static str {
    let total: usize = ZONES.iter().map(|(_, weight)| weight).sum();
    let mut slot = index % total;
    for (zone, weight) in ZONES {
        if slot < *weight {
            return zone;
        }
        slot -= weight;
    }
    ZONES[0].0
}

/// Builds room `index`: dated `first_day + index % days`, in a zone of
/// [`ZONES`], with one to three invitees who all have email addresses.
fn room_for(
    index: usize,
    scenario: &Scenario,
    first_day: NaiveDate,
    created_at: DateTime<Utc>,
) -> anyhow::Result<Room> {
    let date = first_day + Duration::days((index % scenario.days) as i64);
    let invitees = (0..index % 3 + 1)
        .map(|number| InviteeRequest {
            name: Some(format!("Patient {index}-{number}")),
            email: Some(format!("patient-{index}-{number}@example.org")),
            locale: Some(if number % 2 == 0 { "de" } else { "en" }.to_owned()),
        })
        .collect();
    let request = CreateRoomRequest {
        date: Some(date.to_string()),
        start_time: Some(format!("{:02}:{:02}", 8 + index % 10, (index % 4) * 15)),
        time_zone: Some(zone_for(index / scenario.days).to_owned()),
        invitees: Some(invitees),
        patient_id: Some(format!("patient-{index}")),
        ..Default::default()
    };
    request
        .into_room(
            &format!("dr-{}", index % 50),
            created_at,
            Default::default(),
        )
        .map_err(anyhow::Error::msg)
}

/// Writes the rooms, a few dozen at a time.
async fn insert_rooms(store: &DynamoRooms, rooms: Vec<Room>) -> anyhow::Result<()> {
    let mut pending = tokio::task::JoinSet::new();
    for room in rooms {
        if pending.len() >= 32
            && let Some(done) = pending.join_next().await
        {
            done??;
        }
        let store = store.clone();
        pending.spawn(async move { store.insert(&room).await });
    }
    while let Some(done) = pending.join_next().await {
        done??;
    }
    Ok(())
}

/// Runs the scenario: fills the table, runs every 15 minutes of the day
/// before `scenario.day` uncounted, so the table is in the state a running
/// service leaves, then counts the 96 runs of `scenario.day`.
pub async fn run(scenario: Scenario, send_after: chrono::NaiveTime) -> anyhow::Result<DayCounts> {
    let aws = Aws::start().await;
    let rooms = DynamoRooms::new(aws.dynamodb.clone(), ROOMS_TABLE);
    // Dates from the day before the counted day on, created three days
    // earlier, so every date is in the future in every zone at creation.
    let first_day = scenario.day - Duration::days(1);
    let created_at = (scenario.day - Duration::days(3))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists")
        .and_utc();
    let generated = (0..scenario.rooms)
        .map(|index| room_for(index, &scenario, first_day, created_at))
        .collect::<anyhow::Result<Vec<_>>>()?;
    eprintln!("aws-counts: writing {} rooms to moto", generated.len());
    insert_rooms(&rooms, generated).await?;

    let store = Arc::new(MarkingStore {
        inner: rooms,
        counter: aws.counter.clone(),
        at_mail_due: Mutex::new(None),
    });
    let mailer = Arc::new(CountingMailer::default());
    let links = LinkKey::generate();
    let policy = SendPolicy {
        send_after,
        // No pause between sends: the pause changes no count.
        interval: std::time::Duration::ZERO,
        ..SendPolicy::default()
    };
    let invitations_at = |now: DateTime<Utc>| {
        Invitations::new(
            store.clone(),
            mailer.clone(),
            links.clone(),
            "https://video.example.test".to_owned(),
            Some("Praxis Beispiel".to_owned()),
            Arc::new(FixedClock(now)),
            policy,
        )
    };
    let runs_of = |day: NaiveDate| {
        let midnight = day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        (0..96).map(move |quarter| midnight + Duration::minutes(15 * quarter))
    };

    eprintln!(
        "aws-counts: running the day before {} uncounted",
        scenario.day
    );
    for now in runs_of(first_day) {
        invitations_at(now).run().await?;
    }

    eprintln!("aws-counts: counting the 96 runs of {}", scenario.day);
    let mut day = DayCounts::default();
    for now in runs_of(scenario.day) {
        let before = aws.counter.snapshot();
        let report = invitations_at(now).run().await?;
        let after = aws.counter.snapshot();
        let middle = store
            .at_mail_due
            .lock()
            .unwrap()
            .take()
            .ok_or_else(|| anyhow::anyhow!("the run did not read the due rooms"))?;
        day.runs += 1;
        day.rooms_due += report.rooms;
        day.emails_sent += report.sent;
        day.rooms_erased += report.erased;
        anyhow::ensure!(
            report.failed == 0 && report.deferred == 0,
            "the run at {now} failed or deferred emails: {report:?}"
        );
        day.erase_phase.add(&middle.since(&before));
        day.send_phase.add(&after.since(&middle));
    }
    Ok(day)
}
