//! Invitation emails. The morning run sends each invitee of every room dated
//! today (in the room's own time zone) one email. The rooms API sends at once
//! for rooms created or moved to today after that, and the practitioner can
//! resend by hand. Delivery state is part of the room record, so each email
//! is claimed there before it is sent.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use crate::zone::Zone;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use serde::Serialize;
use tracing::{info, warn};

use crate::clock::Clock;
use crate::invitation;
use crate::link::LinkKey;
use crate::mail::{MailError, Mailer};
use crate::room::{Appointment, Delivery, Invitee, MAX_SEND_ATTEMPTS, Room, SentEmail};
use crate::store::{RoomStore, StoreError, update_room};
use crate::validity::{DayState, start_of_day};

/// A claim older than this belongs to a sender that died; the next run
/// retries it. NOTE: if that sender died after the mail service accepted the
/// message, the invitee gets it twice; SES offers no idempotency key to
/// prevent that, and a second email is better than none.
pub const STALE_CLAIM: Duration = Duration::minutes(15);

/// A run stops claiming emails, and stops waiting to retry a throttled one,
/// this long before its deadline: enough for one send with all of the SDK's
/// attempts ([`crate::mail::SEND_TIMEOUT`]), the rate limit's pause, and
/// recording the outcome.
pub const DEADLINE_MARGIN: Duration = Duration::seconds(25);

/// Send time, rate limit and throttling retries of invitation emails.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SendPolicy {
    /// Local time in the room's zone from which its invitations go out.
    pub send_after: NaiveTime,
    /// Shortest pause between two sends, to stay under the mail service's
    /// rate (SES sandbox: 1 message per second).
    pub interval: StdDuration,
    /// How often a throttled send is tried again within one run.
    pub throttle_retries: u32,
    /// First pause after throttling; doubled on every further retry.
    pub backoff: StdDuration,
}

impl Default for SendPolicy {
    fn default() -> Self {
        Self {
            send_after: NaiveTime::from_hms_opt(6, 0, 0).expect("valid constant"),
            interval: StdDuration::from_secs(1),
            throttle_retries: 4,
            backoff: StdDuration::from_secs(1),
        }
    }
}

impl SendPolicy {
    /// Computes the pause between sends for at most `per_second` messages per
    /// second.
    pub fn interval_for_rate(per_second: f64) -> Result<StdDuration, String> {
        if per_second.is_finite() && (0.01..=1000.0).contains(&per_second) {
            Ok(StdDuration::from_secs_f64(1.0 / per_second))
        } else {
            Err(format!(
                "the send rate must be between 0.01 and 1000 messages per second, got {per_second}"
            ))
        }
    }
}

/// Reason for sending a room's emails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The morning run, or a room that became due after it: sends what was
    /// not sent yet.
    Due,
    /// "E-Mail erneut senden": sends again, also what was sent.
    Resend,
}

/// Counts of one run or one room, returned to the caller and logged.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunReport {
    pub rooms: usize,
    pub sent: usize,
    /// Already sent, or being sent by an overlapping run.
    pub skipped: usize,
    pub failed: usize,
    /// Rooms of past days whose email addresses were erased.
    pub erased: usize,
    /// Left for the next run because the deadline came near.
    pub deferred: usize,
}

impl RunReport {
    fn add(&mut self, other: &RunReport) {
        self.rooms += other.rooms;
        self.sent += other.sent;
        self.skipped += other.skipped;
        self.failed += other.failed;
        self.erased += other.erased;
        self.deferred += other.deferred;
    }
}

pub struct Invitations {
    pub rooms: Arc<dyn RoomStore>,
    pub mailer: Arc<dyn Mailer>,
    pub links: LinkKey,
    pub public_url: String,
    /// Shown in the email; `None` signs with "Ihr Praxisteam" / "Your practice team".
    pub practice_name: Option<String>,
    pub clock: Arc<dyn Clock>,
    pub policy: SendPolicy,
    /// When the last email went out, for the rate limit.
    last_send: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

/// Returns the first instant of `date` in `zone` whose local time is
/// `send_after` or later: where clocks jump over `send_after`, the end of
/// the jump.
fn send_time(date: NaiveDate, zone: Zone, send_after: NaiveTime) -> DateTime<Utc> {
    let mut local = date.and_time(send_after);
    // Real jumps are at most two hours long and end on a whole minute.
    for _ in 0..=180 {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(at) => return at.with_timezone(&Utc),
            LocalResult::Ambiguous(earlier, _) => return earlier.with_timezone(&Utc),
            LocalResult::None => local += Duration::minutes(1),
        }
    }
    // Unreachable for the tz database's zones. Reading the local time as UTC
    // only shifts this room's bound.
    local.and_utc()
}

/// Returns the latest start of a day whose invitations are due at `now`,
/// over every zone a room may have: the `started_by` of
/// [`RoomStore::mail_due`], which then reads no room that is not due yet.
///
/// A room is due once its zone's local time reaches `send_after` on its
/// date. That is `send_after` after the day's start, except on days when
/// clocks jump forward before `send_after` (up to two hours sooner, as in
/// Antarctica/Troll) or back (later). So the bound is `now - send_after`,
/// moved later only while such a jump makes a room due early.
pub fn latest_due_day_start(now: DateTime<Utc>, send_after: NaiveTime) -> DateTime<Utc> {
    let after_start = Duration::seconds(i64::from(send_after.num_seconds_from_midnight()));
    let mut latest = now - after_start;
    // Zones with the same rules give the same bound, so each set of rules
    // is read once.
    for zone in Zone::with_distinct_rules() {
        // A day whose start is later than `now - send_after` began less than
        // a day ago, so it is the zone's today or yesterday.
        let today = now.with_timezone(&zone).date_naive();
        for date in [today.pred_opt(), Some(today)].into_iter().flatten() {
            let start = start_of_day(date, zone);
            if start > latest && start <= now && send_time(date, zone, send_after) <= now {
                latest = start;
            }
        }
    }
    latest
}

/// Returns the invitee addressed by `email` while the room still has the
/// appointment a sender read, so a changed appointment is left alone.
fn invitee_of<'a>(
    room: &'a mut Room,
    appointment: Appointment,
    email: &str,
) -> Option<&'a mut Invitee> {
    if room.appointment() != appointment {
        return None;
    }
    room.invitees
        .iter_mut()
        .find(|invitee| invitee.is_addressed(email))
}

/// Replaces every word with an `@` by `[address]`. The mail service's
/// rejection messages may name the recipient, and a failure reason is kept
/// after the addresses are erased.
fn without_addresses(message: &str) -> String {
    message
        .split(' ')
        .map(|word| {
            if word.contains('@') {
                "[address]"
            } else {
                word
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Converts the result of one send attempt into the stored delivery state.
fn outcome_state(
    outcome: &Result<String, MailError>,
    attempts: u32,
    now: DateTime<Utc>,
) -> Delivery {
    match outcome {
        Ok(message_id) => Delivery::Sent {
            at: now,
            message_id: message_id.clone(),
            attempts,
        },
        Err(error) => {
            let (reason, permanent) = match error {
                MailError::Throttled => ("throttled by the mail service".to_owned(), false),
                MailError::Rejected(message) => {
                    (format!("rejected: {}", without_addresses(message)), true)
                }
                MailError::Failed(_) => ("the mail service failed".to_owned(), false),
            };
            Delivery::Failed {
                at: now,
                reason,
                permanent: permanent || attempts >= MAX_SEND_ATTEMPTS,
                attempts,
            }
        }
    }
}

impl Invitations {
    pub fn new(
        rooms: Arc<dyn RoomStore>,
        mailer: Arc<dyn Mailer>,
        links: LinkKey,
        public_url: String,
        practice_name: Option<String>,
        clock: Arc<dyn Clock>,
        policy: SendPolicy,
    ) -> Self {
        Self {
            rooms,
            mailer,
            links,
            public_url,
            practice_name,
            clock,
            policy,
            last_send: tokio::sync::Mutex::new(None),
        }
    }

    /// True when the room's day is running and its send time has come.
    pub fn is_due(&self, room: &Room, now: DateTime<Utc>) -> bool {
        room.window().state_at(now) == DayState::Open
            && now.with_timezone(&room.time_zone).time() >= self.policy.send_after
    }

    /// The morning run: erases the addresses of past days, then sends every
    /// due email. Failures of single emails are recorded and counted; only a
    /// failure to read the rooms fails the run.
    pub async fn run(&self) -> Result<RunReport, StoreError> {
        self.run_until(None).await
    }

    /// Runs like [`Self::run`], but stops claiming emails
    /// [`DEADLINE_MARGIN`] before `deadline`, so that a Lambda timeout never
    /// cuts a send short and leaves a claim that only goes stale.
    pub async fn run_until(
        &self,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<RunReport, StoreError> {
        let mut report = RunReport {
            erased: self.erase_past_days().await?,
            ..RunReport::default()
        };
        let now = self.clock.now();
        let started_by = latest_due_day_start(now, self.policy.send_after);
        let rooms = self.rooms.mail_due(started_by, now).await?;
        for room in rooms.iter().filter(|room| self.is_due(room, now)) {
            report.add(&self.send_room_until(room, Trigger::Due, deadline).await);
        }
        info!(
            rooms = report.rooms,
            sent = report.sent,
            skipped = report.skipped,
            failed = report.failed,
            erased = report.erased,
            deferred = report.deferred,
            "invitation run finished"
        );
        Ok(report)
    }

    /// Erases the invitees' addresses of rooms whose day is over.
    pub async fn erase_past_days(&self) -> Result<usize, StoreError> {
        let now = self.clock.now();
        let mut erased = 0;
        for room in self.rooms.emails_to_erase(now).await? {
            match update_room(self.rooms.as_ref(), &room.id, now, Room::erase_emails).await {
                Ok(_) => erased += 1,
                Err(error) => {
                    warn!(room_id = %room.id, error = %error, "erasing email addresses failed");
                }
            }
        }
        Ok(erased)
    }

    /// Sends the emails of one room for `trigger`, each claimed in the room
    /// record first so that no other sender sends it too.
    pub async fn send_room(&self, room: &Room, trigger: Trigger) -> RunReport {
        self.send_room_until(room, trigger, None).await
    }

    async fn send_room_until(
        &self,
        room: &Room,
        trigger: Trigger,
        deadline: Option<DateTime<Utc>>,
    ) -> RunReport {
        let mut report = RunReport {
            rooms: 1,
            ..RunReport::default()
        };
        let join_url = format!(
            "{}/join#{}",
            self.public_url,
            self.links.token_for(&room.id, &room.link_salt)
        );
        for invitee in room.invitees.iter().filter(|invitee| invitee.has_email()) {
            let claimed_at = self.clock.now();
            if deadline.is_some_and(|deadline| claimed_at + DEADLINE_MARGIN > deadline) {
                report.deferred += 1;
                continue;
            }
            let attempts = match self.claim(room, &invitee.email, trigger, claimed_at).await {
                Ok(Some(attempts)) => attempts,
                Ok(None) => {
                    report.skipped += 1;
                    continue;
                }
                Err(error) => {
                    warn!(room_id = %room.id, error = %error, "claiming an invitation failed");
                    report.failed += 1;
                    continue;
                }
            };
            let email = invitation::render(
                room,
                invitee,
                &join_url,
                &self.public_url,
                self.practice_name.as_deref(),
            );
            let outcome = self.send_with_retries(&email, deadline).await;
            if let Err(error) = &outcome {
                warn!(room_id = %room.id, error = %error, source = ?std::error::Error::source(error), "sending an invitation failed");
            }
            let state = outcome_state(&outcome, attempts, self.clock.now());
            if let Err(error) = self.record(room, &invitee.email, claimed_at, state).await {
                warn!(room_id = %room.id, error = %error, "recording an invitation's state failed");
            }
            match outcome {
                Ok(_) => report.sent += 1,
                Err(_) => report.failed += 1,
            }
        }
        report
    }

    /// Marks one invitee's email as being sent, unless it may not be sent
    /// now. Returns the attempt number when the caller may send.
    async fn claim(
        &self,
        room: &Room,
        email: &str,
        trigger: Trigger,
        now: DateTime<Utc>,
    ) -> Result<Option<u32>, StoreError> {
        let appointment = room.appointment();
        let mut claimed = None;
        update_room(self.rooms.as_ref(), &room.id, now, |stored| {
            claimed = None;
            let Some(invitee) = invitee_of(stored, appointment, email) else {
                return false;
            };
            let free = match &invitee.delivery {
                Delivery::Sending { since, .. } => *since + STALE_CLAIM <= now,
                Delivery::Pending => true,
                Delivery::Failed { permanent, .. } => trigger == Trigger::Resend || !permanent,
                Delivery::Sent { .. } => trigger == Trigger::Resend,
            };
            if !free {
                return false;
            }
            let attempts = invitee.delivery.attempts() + 1;
            invitee.delivery = Delivery::Sending {
                since: now,
                attempts,
            };
            claimed = Some(attempts);
            true
        })
        .await?;
        Ok(claimed)
    }

    /// Stores the outcome of a send, unless the appointment has changed
    /// meanwhile (the changed one is mailed anew) or the claim was taken
    /// over.
    async fn record(
        &self,
        room: &Room,
        email: &str,
        claimed_at: DateTime<Utc>,
        state: Delivery,
    ) -> Result<(), StoreError> {
        let appointment = room.appointment();
        update_room(self.rooms.as_ref(), &room.id, self.clock.now(), |stored| {
            let Some(invitee) = invitee_of(stored, appointment, email) else {
                return false;
            };
            if !matches!(invitee.delivery, Delivery::Sending { since, .. } if since == claimed_at) {
                return false;
            }
            if let Delivery::Sent { at, message_id, .. } = &state {
                invitee.last_sent = Some(SentEmail {
                    appointment,
                    at: *at,
                    message_id: message_id.clone(),
                });
            }
            invitee.delivery = state.clone();
            true
        })
        .await?;
        Ok(())
    }

    /// Sends one email within the rate limit, waiting and trying again while
    /// the mail service throttles, unless the pause would run into the
    /// deadline's margin; the next run then tries again.
    async fn send_with_retries(
        &self,
        email: &crate::mail::Email,
        deadline: Option<DateTime<Utc>>,
    ) -> Result<String, MailError> {
        let mut pause = self.policy.backoff;
        let mut retries_left = self.policy.throttle_retries;
        loop {
            self.wait_for_rate().await;
            let outcome = self.mailer.send(email).await;
            let pause_fits = || {
                let pause = Duration::from_std(pause).unwrap_or(Duration::MAX);
                deadline
                    .is_none_or(|deadline| self.clock.now() + pause + DEADLINE_MARGIN <= deadline)
            };
            match outcome {
                Err(MailError::Throttled) if retries_left > 0 && pause_fits() => {
                    retries_left -= 1;
                    warn!(
                        pause_ms = pause.as_millis() as u64,
                        "the mail service throttled; waiting before the next try"
                    );
                    tokio::time::sleep(pause).await;
                    pause = pause.saturating_mul(2);
                }
                outcome => return outcome,
            }
        }
    }

    /// Waits until the send interval has passed since the last send.
    async fn wait_for_rate(&self) {
        let mut last = self.last_send.lock().await;
        if let Some(previous) = *last {
            tokio::time::sleep_until(previous + self.policy.interval).await;
        }
        *last = Some(tokio::time::Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use async_trait::async_trait;

    use super::*;
    use crate::clock::FixedClock;
    use crate::mail::Email;
    use crate::room::{Invitee, Locale};
    use crate::store::contract::sample_room;
    use crate::store::embedded::EmbeddedStore;

    /// Records sent emails; throttles the next sends or rejects addresses
    /// on request.
    #[derive(Default)]
    struct RecordingMailer {
        sent: Mutex<Vec<Email>>,
        throttle_next: Mutex<usize>,
        rejected: Mutex<Vec<String>>,
    }

    #[async_trait]
    impl Mailer for RecordingMailer {
        async fn send(&self, email: &Email) -> Result<String, MailError> {
            if self.rejected.lock().unwrap().contains(&email.to) {
                return Err(MailError::Rejected("address does not exist".to_owned()));
            }
            {
                let mut throttle = self.throttle_next.lock().unwrap();
                if *throttle > 0 {
                    *throttle -= 1;
                    return Err(MailError::Throttled);
                }
            }
            // Give overlapping runs a chance to interleave.
            tokio::task::yield_now().await;
            let mut sent = self.sent.lock().unwrap();
            sent.push(email.clone());
            Ok(format!("message-{}", sent.len()))
        }
    }

    impl RecordingMailer {
        fn recipients(&self) -> Vec<String> {
            let mut recipients: Vec<String> = self
                .sent
                .lock()
                .unwrap()
                .iter()
                .map(|email| email.to.clone())
                .collect();
            recipients.sort();
            recipients
        }
    }

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn fast_policy() -> SendPolicy {
        SendPolicy {
            send_after: NaiveTime::MIN,
            interval: StdDuration::ZERO,
            throttle_retries: 3,
            backoff: StdDuration::from_millis(1),
        }
    }

    struct Setup {
        run: Invitations,
        mailer: Arc<RecordingMailer>,
        store: Arc<EmbeddedStore>,
        _dir: tempfile::TempDir,
    }

    fn setup(now: &str) -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(EmbeddedStore::open(&dir.path().join("rooms.redb")).unwrap());
        let mailer = Arc::new(RecordingMailer::default());
        let run = Invitations::new(
            store.clone(),
            mailer.clone(),
            LinkKey::generate(),
            "https://video.example.test".to_owned(),
            Some("Praxis Weber".to_owned()),
            Arc::new(FixedClock(utc(now))),
            fast_policy(),
        );
        Setup {
            run,
            mailer,
            store,
            _dir: dir,
        }
    }

    fn room_with_invitees(day: &str, emails: &[(&str, Locale)]) -> Room {
        let mut room = sample_room("dr-a", day);
        room.invitees = emails
            .iter()
            .map(|(email, locale)| Invitee {
                name: "Anna".to_owned(),
                email: (*email).to_owned(),
                locale: *locale,
                delivery: Delivery::Pending,
                last_sent: None,
            })
            .collect();
        room
    }

    /// Stores `update` over the room `id`, as a calendar request does.
    async fn apply_update(setup: &Setup, id: &str, now: DateTime<Utc>, update: Room) -> Room {
        update_room(setup.store.as_ref(), id, now, |stored| {
            stored.apply_update(update.clone());
            true
        })
        .await
        .unwrap()
        .unwrap()
    }

    async fn stored(setup: &Setup, id: &str) -> Room {
        setup
            .store
            .get(id, setup.run.clock.now())
            .await
            .unwrap()
            .unwrap()
    }

    #[tokio::test]
    async fn sends_each_invitee_once_across_runs() {
        let setup = setup("2026-12-13T05:00:00Z");
        let today = room_with_invitees(
            "2026-12-13",
            &[
                ("anna@example.org", Locale::De),
                ("ben@example.org", Locale::En),
            ],
        );
        let tomorrow = room_with_invitees("2026-12-14", &[("carla@example.org", Locale::De)]);
        setup.store.insert(&today).await.unwrap();
        setup.store.insert(&tomorrow).await.unwrap();

        let first = setup.run.run().await.unwrap();
        assert_eq!((first.rooms, first.sent, first.failed), (1, 2, 0));
        // The room left the index: the second run reads nothing.
        let second = setup.run.run().await.unwrap();
        assert_eq!(second, RunReport::default());

        assert_eq!(
            setup.mailer.recipients(),
            vec!["anna@example.org", "ben@example.org"]
        );
        let sent = setup.mailer.sent.lock().unwrap().clone();
        let german = sent
            .iter()
            .find(|email| email.to == "anna@example.org")
            .unwrap();
        let english = sent
            .iter()
            .find(|email| email.to == "ben@example.org")
            .unwrap();
        assert!(
            german
                .subject
                .starts_with("Ihr Videotermin heute, 13.12.2026")
        );
        assert!(english.subject.starts_with("Your video appointment today"));
        assert!(german.text.contains(&format!(
            "/join#{}",
            setup.run.links.token_for(&today.id, &today.link_salt)
        )));
        let room = stored(&setup, &today.id).await;
        assert!(
            room.invitees
                .iter()
                .all(|invitee| matches!(invitee.delivery, Delivery::Sent { attempts: 1, .. }))
        );
    }

    #[tokio::test]
    async fn overlapping_runs_send_each_email_once() {
        let setup = setup("2026-12-13T05:00:00Z");
        for index in 0..6 {
            let emails: Vec<(String, Locale)> = (0..3)
                .map(|n| (format!("p{index}-{n}@example.org"), Locale::De))
                .collect();
            let refs: Vec<(&str, Locale)> = emails
                .iter()
                .map(|(email, locale)| (email.as_str(), *locale))
                .collect();
            setup
                .store
                .insert(&room_with_invitees("2026-12-13", &refs))
                .await
                .unwrap();
        }
        let (first, second) = tokio::join!(setup.run.run(), setup.run.run());
        let (first, second) = (first.unwrap(), second.unwrap());
        assert_eq!(first.sent + second.sent, 18);
        assert_eq!(first.failed + second.failed, 0);
        let recipients = setup.mailer.recipients();
        let mut unique = recipients.clone();
        unique.dedup();
        assert_eq!(recipients.len(), 18);
        assert_eq!(unique, recipients);
    }

    #[tokio::test]
    async fn nothing_is_sent_before_send_time() {
        // 04:30 UTC is 05:30 in Berlin.
        let mut setup = setup("2026-12-13T04:30:00Z");
        setup.run.policy.send_after = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        setup
            .store
            .insert(&room_with_invitees(
                "2026-12-13",
                &[("anna@example.org", Locale::De)],
            ))
            .await
            .unwrap();
        assert_eq!(setup.run.run().await.unwrap().rooms, 0);
        setup.run.clock = Arc::new(FixedClock(utc("2026-12-13T05:00:00Z")));
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        assert_eq!(setup.mailer.recipients().len(), 1);
    }

    #[tokio::test]
    async fn send_time_follows_the_room_zone_on_dst_days() {
        // 2026-03-29: Berlin skips 02:00 to 03:00; 06:00 local is 04:00 UTC.
        let mut setup = setup("2026-03-29T03:59:00Z");
        setup.run.policy.send_after = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        let room = room_with_invitees("2026-03-29", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 0);
        setup.run.clock = Arc::new(FixedClock(utc("2026-03-29T04:00:00Z")));
        assert_eq!(setup.run.run().await.unwrap().sent, 1);

        // 2026-10-25: Berlin repeats 02:00 to 03:00; 06:00 local is 05:00 UTC.
        setup.run.clock = Arc::new(FixedClock(utc("2026-10-25T04:59:00Z")));
        let room = room_with_invitees("2026-10-25", &[("ben@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 0);
        setup.run.clock = Arc::new(FixedClock(utc("2026-10-25T05:00:00Z")));
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
    }

    #[tokio::test]
    async fn throttling_is_retried_within_the_run() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees(
            "2026-12-13",
            &[
                ("anna@example.org", Locale::De),
                ("ben@example.org", Locale::De),
            ],
        );
        setup.store.insert(&room).await.unwrap();
        *setup.mailer.throttle_next.lock().unwrap() = 3;
        let report = setup.run.run().await.unwrap();
        assert_eq!((report.sent, report.failed), (2, 0));
        assert_eq!(
            setup.mailer.recipients(),
            vec!["anna@example.org", "ben@example.org"]
        );
    }

    #[tokio::test]
    async fn lasting_throttling_is_left_for_the_next_run() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        *setup.mailer.throttle_next.lock().unwrap() = 4;
        assert_eq!(setup.run.run().await.unwrap().failed, 1);
        let failed = stored(&setup, &room.id).await;
        assert!(matches!(
            &failed.invitees[0].delivery,
            Delivery::Failed {
                permanent: false,
                attempts: 1,
                ..
            }
        ));
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        assert_eq!(setup.mailer.recipients(), vec!["anna@example.org"]);
    }

    #[tokio::test]
    async fn rejection_is_recorded_and_the_run_goes_on() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees(
            "2026-12-13",
            &[
                ("gone@example.org", Locale::De),
                ("ben@example.org", Locale::De),
            ],
        );
        setup.store.insert(&room).await.unwrap();
        setup
            .mailer
            .rejected
            .lock()
            .unwrap()
            .push("gone@example.org".to_owned());
        let report = setup.run.run().await.unwrap();
        assert_eq!((report.sent, report.failed), (1, 1));
        let room = stored(&setup, &room.id).await;
        assert!(matches!(
            &room.invitees[0].delivery,
            Delivery::Failed { permanent: true, reason, .. } if reason.contains("does not exist")
        ));
        // Permanent: no further run tries it.
        assert_eq!(setup.run.run().await.unwrap(), RunReport::default());
    }

    #[test]
    fn due_bound_on_ordinary_days() {
        let send_after = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        for now in [
            "2027-01-12T00:00:00Z",
            "2027-01-12T10:15:00Z",
            "2027-07-01T23:45:00Z",
        ] {
            let now = utc(now);
            assert_eq!(
                latest_due_day_start(now, send_after),
                now - Duration::hours(6),
                "at {now}"
            );
        }
    }

    /// Every room due at a run must start no later than the bound, for
    /// every zone, on the days around 2027's forward and backward jumps.
    #[test]
    fn due_bound_covers_zones_on_dst_days() {
        let send_after = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        let days = [
            "2027-03-14",
            "2027-03-26",
            "2027-03-28",
            "2027-04-04",
            "2027-04-30",
            "2027-09-05",
            "2027-09-26",
            "2027-10-03",
            "2027-10-31",
            "2027-11-07",
        ];
        for day in days {
            let midnight = utc(&format!("{day}T00:00:00Z"));
            for quarter in 0..96 {
                let now = midnight + Duration::minutes(15 * quarter);
                let bound = latest_due_day_start(now, send_after);
                for zone in Zone::all() {
                    let today = now.with_timezone(&zone).date_naive();
                    let window = crate::validity::DayWindow::for_date(today, zone);
                    let due = send_time(today, zone, send_after) <= now && now < window.until;
                    assert!(
                        !due || window.from <= bound,
                        "{zone} on {today} is due at {now} but starts after {bound}"
                    );
                }
            }
        }
    }

    #[test]
    fn due_bound_follows_early_rooms() {
        let send_after = NaiveTime::from_hms_opt(6, 0, 0).unwrap();
        // 2027-03-28: Troll jumps from UTC to UTC+2 at 01:00 UTC, so 06:00
        // there is 04:00 UTC, four hours after its day began.
        let early = utc("2027-03-28T04:00:00Z");
        assert_eq!(
            latest_due_day_start(early, send_after),
            utc("2027-03-28T00:00:00Z")
        );
        // At 06:00 UTC the Azores are due, and their day began at 01:00 UTC
        // because their clocks skipped midnight. An hour later every room
        // due began at least six hours before.
        assert_eq!(
            latest_due_day_start(utc("2027-03-28T06:00:00Z"), send_after),
            utc("2027-03-28T01:00:00Z")
        );
        let later = utc("2027-03-28T07:00:00Z");
        assert_eq!(
            latest_due_day_start(later, send_after),
            later - Duration::hours(6)
        );
    }

    #[test]
    fn rejection_reason_keeps_no_address() {
        let outcome = Err(MailError::Rejected(
            "Email address is not verified: <Anna.B@example.org>, anna@example.org.".to_owned(),
        ));
        let Delivery::Failed { reason, .. } = outcome_state(&outcome, 1, Utc::now()) else {
            panic!("a rejection is a failure");
        };
        assert_eq!(
            reason,
            "rejected: Email address is not verified: [address] [address]"
        );
    }

    #[tokio::test]
    async fn stale_claim_is_taken_over() {
        let mut setup = setup("2026-12-13T05:00:00Z");
        let mut room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        room.invitees[0].delivery = Delivery::Sending {
            since: utc("2026-12-13T04:50:00Z"),
            attempts: 1,
        };
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().skipped, 1);
        setup.run.clock = Arc::new(FixedClock(utc("2026-12-13T05:05:00Z")));
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        let room = stored(&setup, &room.id).await;
        assert!(matches!(
            room.invitees[0].delivery,
            Delivery::Sent { attempts: 2, .. }
        ));
    }

    #[tokio::test]
    async fn run_stops_claiming_near_its_deadline() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        let soon = utc("2026-12-13T05:00:20Z");
        let report = setup.run.run_until(Some(soon)).await.unwrap();
        assert_eq!((report.sent, report.deferred), (0, 1));
        assert_eq!(
            stored(&setup, &room.id).await.invitees[0].delivery,
            Delivery::Pending
        );
        let later = utc("2026-12-13T05:01:00Z");
        assert_eq!(setup.run.run_until(Some(later)).await.unwrap().sent, 1);
    }

    #[tokio::test]
    async fn throttled_retry_stops_before_deadline() {
        let mut setup = setup("2026-12-13T05:00:00Z");
        setup.run.policy.backoff = StdDuration::from_secs(2);
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        *setup.mailer.throttle_next.lock().unwrap() = 10;
        // Room to claim (26 s left), but not to pause 2 s and keep the margin.
        let deadline = utc("2026-12-13T05:00:26Z");
        let report = setup.run.run_until(Some(deadline)).await.unwrap();
        assert_eq!((report.sent, report.failed), (0, 1));
        assert_eq!(
            *setup.mailer.throttle_next.lock().unwrap(),
            9,
            "one try only"
        );
        assert!(matches!(
            stored(&setup, &room.id).await.invitees[0].delivery,
            Delivery::Failed {
                permanent: false,
                attempts: 1,
                ..
            }
        ));
        // Without a near deadline the run waits for the service.
        setup.run.policy.backoff = StdDuration::from_millis(1);
        *setup.mailer.throttle_next.lock().unwrap() = 2;
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
    }

    #[tokio::test]
    async fn resend_sends_again() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        let current = stored(&setup, &room.id).await;
        assert_eq!(setup.run.send_room(&current, Trigger::Due).await.skipped, 1);
        assert_eq!(setup.run.send_room(&current, Trigger::Resend).await.sent, 1);
        assert_eq!(setup.mailer.recipients().len(), 2);
    }

    #[tokio::test]
    async fn moved_room_is_mailed_on_its_new_day() {
        let setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        let mut moved = room_with_invitees("2026-12-14", &[("Anna@Example.org", Locale::De)]);
        moved.id = room.id.clone();
        apply_update(&setup, &room.id, utc("2026-12-13T05:00:00Z"), moved).await;
        assert_eq!(
            stored(&setup, &room.id).await.invitees[0].delivery,
            Delivery::Pending
        );
        let mut next_day = setup;
        next_day.run.clock = Arc::new(FixedClock(utc("2026-12-14T05:00:00Z")));
        assert_eq!(next_day.run.run().await.unwrap().sent, 1);
        assert_eq!(next_day.mailer.recipients().len(), 2);
    }

    #[tokio::test]
    async fn changed_start_time_is_mailed_again() {
        let setup = setup("2026-12-13T05:00:00Z");
        let now = utc("2026-12-13T05:00:00Z");
        let mut room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        room.start_time = NaiveTime::from_hms_opt(8, 0, 0);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 1);

        let reschedule = |date: &str, hour: u32| {
            let mut update = room_with_invitees(date, &[("anna@example.org", Locale::De)]);
            update.start_time = NaiveTime::from_hms_opt(hour, 0, 0);
            apply_update(&setup, &room.id, now, update)
        };
        // Same day, later start: the invitee must learn the new time.
        reschedule("2026-12-13", 9).await;
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        let sent = setup.mailer.sent.lock().unwrap().clone();
        assert!(sent[1].text.contains("09:00"), "{}", sent[1].text);

        // Away to tomorrow and back to 09:00 today: nothing new to tell.
        let away = reschedule("2026-12-14", 9).await;
        assert_eq!(away.invitees[0].delivery, Delivery::Pending);
        let back = reschedule("2026-12-13", 9).await;
        assert!(matches!(back.invitees[0].delivery, Delivery::Sent { .. }));
        assert_eq!(setup.run.run().await.unwrap().sent, 0);
        assert_eq!(setup.mailer.recipients().len(), 2);
    }

    #[tokio::test]
    async fn same_clock_zone_move_sends_nothing() {
        let setup = setup("2026-12-13T05:00:00Z");
        let now = utc("2026-12-13T05:00:00Z");
        let mut room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        room.start_time = NaiveTime::from_hms_opt(23, 30, 0);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 1);

        let move_to = |zone: &str| {
            let mut update = room.clone();
            update.time_zone = Zone::parse(zone).unwrap();
            apply_update(&setup, &room.id, now, update)
        };
        // 23:30 in Vienna is 23:30 in Berlin.
        let vienna = move_to("Europe/Vienna").await;
        assert!(matches!(vienna.invitees[0].delivery, Delivery::Sent { .. }));
        assert_eq!(setup.run.run().await.unwrap().sent, 0);

        // 23:30 in London is an hour later.
        let london = move_to("Europe/London").await;
        assert_eq!(london.invitees[0].delivery, Delivery::Pending);
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        assert_eq!(setup.mailer.recipients().len(), 2);
    }

    #[tokio::test]
    async fn addresses_are_erased_after_the_day() {
        let mut setup = setup("2026-12-13T05:00:00Z");
        let room = room_with_invitees("2026-12-13", &[("anna@example.org", Locale::De)]);
        setup.store.insert(&room).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().erased, 0);
        // 00:00 in Berlin on the 14th.
        setup.run.clock = Arc::new(FixedClock(utc("2026-12-13T23:00:00Z")));
        assert_eq!(setup.run.run().await.unwrap().erased, 1);
        let room = stored(&setup, &room.id).await;
        assert!(!room.holds_emails());
        assert_eq!(room.invitees[0].name, "Anna");
    }

    #[tokio::test]
    async fn other_zone_room_sent_on_its_day() {
        // 04:00 UTC on 2026-12-13 is 05:00 in Berlin but still 23:00 on
        // 2026-12-12 in New York.
        let setup = setup("2026-12-13T04:00:00Z");
        let mut new_york = room_with_invitees("2026-12-12", &[("anna@example.org", Locale::En)]);
        new_york.time_zone = Zone::parse("America/New_York").unwrap();
        setup.store.insert(&new_york).await.unwrap();
        assert_eq!(setup.run.run().await.unwrap().sent, 1);
        assert_eq!(setup.mailer.recipients().len(), 1);
    }
}
