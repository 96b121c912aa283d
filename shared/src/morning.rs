//! The morning run: sends each invitee of every room dated today (in the
//! room's own time zone) one invitation email.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use serde::Serialize;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::invitation;
use crate::link::LinkKey;
use crate::mail::{MailError, Mailer};
use crate::room::{DEFAULT_TIME_ZONE, Room};
use crate::store::{Claim, DeliveryKey, DeliveryStore, RoomStore, StoreError};
use crate::validity::{DayState, today_in};

/// A claim older than this belongs to a run that died; the next run retries
/// it. NOTE: if that run died after SES accepted the message, the invitee
/// gets it twice; SES offers no idempotency key to prevent that.
pub const STALE_CLAIM: Duration = Duration::minutes(15);

pub struct MorningRun {
    pub rooms: Arc<dyn RoomStore>,
    pub deliveries: Arc<dyn DeliveryStore>,
    pub mailer: Arc<dyn Mailer>,
    pub links: LinkKey,
    pub public_url: String,
    /// Shown in the email; `None` writes "your practice".
    pub practice_name: Option<String>,
    pub clock: Arc<dyn Clock>,
    /// Pause between two sends, to stay under the mail service's rate (SES
    /// sandbox: 1 message per second).
    pub send_interval: StdDuration,
    /// Local time in the room's zone from which its invitations go out.
    pub send_after: chrono::NaiveTime,
}

/// Counts of one run, returned to the scheduler and logged.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub rooms: usize,
    pub sent: usize,
    /// Already sent, or being sent by an overlapping run.
    pub skipped: usize,
    pub failed: usize,
}

impl MorningRun {
    /// Returns the rooms whose day is today in their own time zone. Zones
    /// differ from Berlin by less than a day, so yesterday, today and
    /// tomorrow in Berlin cover them all.
    ///
    /// NOTE: this reads three days of rooms to send one day's emails. An
    /// index keyed by the day's start in UTC would read only the due ones.
    async fn rooms_of_today(&self) -> Result<Vec<Room>, StoreError> {
        let now = self.clock.now();
        let today = today_in(DEFAULT_TIME_ZONE, now);
        let mut due = Vec::new();
        for date in [today - Duration::days(1), today, today + Duration::days(1)] {
            for room in self.rooms.list_by_date(date, now).await? {
                let local_time = now.with_timezone(&room.time_zone).time();
                if room.window().state_at(now) == DayState::Open && local_time >= self.send_after {
                    due.push(room);
                }
            }
        }
        Ok(due)
    }

    /// Sends what is due. Failures of single emails are recorded and counted;
    /// only a failure to read the rooms fails the run.
    pub async fn run(&self) -> Result<RunReport, StoreError> {
        let rooms = self.rooms_of_today().await?;
        let mut report = RunReport {
            rooms: rooms.len(),
            ..RunReport::default()
        };
        for room in &rooms {
            let join_url = format!(
                "{}/join#{}",
                self.public_url,
                self.links.token_for(&room.id)
            );
            for invitee in &room.invitees {
                let key = DeliveryKey {
                    room_id: room.id.clone(),
                    date: room.date,
                    email: invitee.email.to_lowercase(),
                };
                let now = self.clock.now();
                match self
                    .deliveries
                    .claim(&key, now, STALE_CLAIM, room.expires_at)
                    .await
                {
                    Ok(Claim::Taken) => {
                        report.skipped += 1;
                        continue;
                    }
                    Ok(Claim::Claimed) => {}
                    Err(error) => {
                        warn!(room_id = %room.id, error = %error, "claiming an invitation failed");
                        report.failed += 1;
                        continue;
                    }
                }
                if report.sent + report.failed > 0 && !self.send_interval.is_zero() {
                    tokio::time::sleep(self.send_interval).await;
                }
                let email =
                    invitation::render(room, invitee, &join_url, self.practice_name.as_deref());
                let outcome = self.mailer.send(&email).await;
                let recorded = match &outcome {
                    Ok(message_id) => {
                        self.deliveries
                            .mark_sent(&key, message_id, self.clock.now())
                            .await
                    }
                    Err(error) => {
                        let reason = match error {
                            MailError::Throttled => "throttled".to_owned(),
                            MailError::Rejected(message) => format!("rejected: {message}"),
                            MailError::Failed(_) => "failed".to_owned(),
                        };
                        warn!(room_id = %room.id, error = %error, source = ?std::error::Error::source(error), "sending an invitation failed; the next run retries it");
                        self.deliveries
                            .mark_failed(&key, &reason, self.clock.now())
                            .await
                    }
                };
                if let Err(error) = recorded {
                    warn!(room_id = %room.id, error = %error, "recording an invitation's state failed");
                }
                match outcome {
                    Ok(_) => report.sent += 1,
                    Err(_) => report.failed += 1,
                }
            }
        }
        info!(
            rooms = report.rooms,
            sent = report.sent,
            skipped = report.skipped,
            failed = report.failed,
            "morning run finished"
        );
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::clock::FixedClock;
    use crate::mail::Email;
    use crate::room::{Invitee, Locale};
    use crate::store::contract::sample_room;
    use crate::store::embedded::EmbeddedStore;

    #[derive(Default)]
    struct RecordingMailer {
        sent: Mutex<Vec<Email>>,
        throttle_next: Mutex<usize>,
    }

    #[async_trait]
    impl Mailer for RecordingMailer {
        async fn send(&self, email: &Email) -> Result<String, MailError> {
            let mut throttle = self.throttle_next.lock().unwrap();
            if *throttle > 0 {
                *throttle -= 1;
                return Err(MailError::Throttled);
            }
            let mut sent = self.sent.lock().unwrap();
            sent.push(email.clone());
            Ok(format!("message-{}", sent.len()))
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    async fn setup(
        now: &str,
    ) -> (
        MorningRun,
        Arc<RecordingMailer>,
        Arc<EmbeddedStore>,
        tempfile::TempDir,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap());
        let mailer = Arc::new(RecordingMailer::default());
        let run = MorningRun {
            rooms: store.clone(),
            deliveries: store.clone(),
            mailer: mailer.clone(),
            links: LinkKey::generate(),
            public_url: "https://video.example.test".to_owned(),
            practice_name: Some("Praxis Weber".to_owned()),
            clock: Arc::new(FixedClock(utc(now))),
            send_interval: StdDuration::ZERO,
            send_after: chrono::NaiveTime::MIN,
        };
        (run, mailer, store, dir)
    }

    fn room_with_invitees(day: &str, emails: &[(&str, Locale)]) -> Room {
        let mut room = sample_room("dr-a", day);
        room.invitees = emails
            .iter()
            .map(|(email, locale)| Invitee {
                name: "Anna".to_owned(),
                email: (*email).to_owned(),
                locale: *locale,
            })
            .collect();
        room
    }

    #[tokio::test]
    async fn sends_each_invitee_once_across_runs() {
        let (run, mailer, store, _dir) = setup("2026-12-13T05:00:00Z").await;
        let today = room_with_invitees(
            "2026-12-13",
            &[
                ("anna@example.org", Locale::De),
                ("ben@example.org", Locale::En),
            ],
        );
        let tomorrow = room_with_invitees("2026-12-14", &[("carla@example.org", Locale::De)]);
        store.insert(&today).await.unwrap();
        store.insert(&tomorrow).await.unwrap();

        let first = run.run().await.unwrap();
        assert_eq!(
            first,
            RunReport {
                rooms: 1,
                sent: 2,
                skipped: 0,
                failed: 0
            }
        );
        let second = run.run().await.unwrap();
        assert_eq!(
            second,
            RunReport {
                rooms: 1,
                sent: 0,
                skipped: 2,
                failed: 0
            }
        );

        let sent = mailer.sent.lock().unwrap();
        let recipients: Vec<&str> = sent.iter().map(|email| email.to.as_str()).collect();
        assert_eq!(recipients, vec!["anna@example.org", "ben@example.org"]);
        assert!(
            sent[0]
                .subject
                .starts_with("Ihr Videotermin heute, 13.12.2026")
        );
        assert!(sent[1].subject.starts_with("Your video appointment today"));
        assert!(
            sent[0]
                .text
                .contains(&format!("/join#{}", run.links.token_for(&today.id)))
        );
    }

    #[tokio::test]
    async fn nothing_is_sent_before_send_time() {
        // 04:30 UTC is 05:30 in Berlin.
        let (mut run, mailer, store, _dir) = setup("2026-12-13T04:30:00Z").await;
        run.send_after = chrono::NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        store
            .insert(&room_with_invitees(
                "2026-12-13",
                &[("anna@example.org", Locale::De)],
            ))
            .await
            .unwrap();
        assert_eq!(run.run().await.unwrap().rooms, 0);
        run.clock = Arc::new(FixedClock(utc("2026-12-13T05:00:00Z")));
        assert_eq!(run.run().await.unwrap().sent, 1);
        assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn throttled_email_is_sent_by_next_run() {
        let (run, mailer, store, _dir) = setup("2026-12-13T05:00:00Z").await;
        store
            .insert(&room_with_invitees(
                "2026-12-13",
                &[("anna@example.org", Locale::De)],
            ))
            .await
            .unwrap();
        *mailer.throttle_next.lock().unwrap() = 1;
        assert_eq!(run.run().await.unwrap().failed, 1);
        assert_eq!(run.run().await.unwrap().sent, 1);
        assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn other_zone_room_sent_on_its_day() {
        // 04:00 UTC on 2026-12-13 is 05:00 in Berlin but still 23:00 on
        // 2026-12-12 in New York.
        let (run, mailer, store, _dir) = setup("2026-12-13T04:00:00Z").await;
        let mut new_york = room_with_invitees("2026-12-12", &[("anna@example.org", Locale::En)]);
        new_york.time_zone = chrono_tz::America::New_York;
        store.insert(&new_york).await.unwrap();
        assert_eq!(run.run().await.unwrap().sent, 1);
        assert_eq!(mailer.sent.lock().unwrap().len(), 1);
    }
}
