//! Rooms: the stored record and the rules that turn a create request into one.

use crate::zone::Zone;
use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::random::random_id;
use crate::signaling::protocol::{is_bidi_control, is_invisible, trim_name};
use crate::validity::{DayWindow, today_in};

/// Participants per room, the practitioner included. In a full mesh each
/// browser uploads one stream per peer, so the limit bounds every uplink.
pub const MAX_PARTICIPANTS: usize = 8;
/// Invitees per room; every invitee may join, so the limit equals the room size.
pub const MAX_INVITEES: usize = MAX_PARTICIPANTS;
/// Room records and call durations are kept this many days after the room's
/// day unless configured otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 8;
/// Maximum configurable retention in days: three months.
pub const MAX_RETENTION_DAYS: u32 = 90;
/// How far ahead a room may be dated.
pub const MAX_DAYS_AHEAD: i64 = 400;
pub const DEFAULT_TIME_ZONE: Zone = Zone::BERLIN;

const MAX_TITLE_CHARS: usize = 200;
/// Maximum length of an invitee's name in characters. The console's invitee
/// name input has the same limit.
pub const MAX_INVITEE_NAME_CHARS: usize = 100;
const MAX_EMAIL_BYTES: usize = 254;
const MAX_EXTERNAL_ID_CHARS: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, Default)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    #[default]
    De,
    En,
}

/// How long room records are kept after the room's day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(u32);

impl Retention {
    /// Accepts 1 to [`MAX_RETENTION_DAYS`] days.
    pub fn days(days: u32) -> Result<Self, String> {
        if (1..=MAX_RETENTION_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(format!(
                "retention must be 1 to {MAX_RETENTION_DAYS} days, got {days}"
            ))
        }
    }

    pub fn as_days(self) -> u32 {
        self.0
    }

    /// When a room of `window`'s day may be deleted.
    pub fn expires_at(self, window: &DayWindow) -> DateTime<Utc> {
        window.until + Duration::days(i64::from(self.0))
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self(DEFAULT_RETENTION_DAYS)
    }
}

/// Sending an invitation is given up after this many failed attempts.
pub const MAX_SEND_ATTEMPTS: u32 = 5;

/// State of one invitee's email for the room's current day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(tag = "state", rename_all = "camelCase")]
pub enum Delivery {
    /// Not sent yet.
    #[default]
    Pending,
    /// Claimed by a sender at `since`; a claim older than
    /// [`crate::morning::STALE_CLAIM`] belongs to a sender that died.
    #[serde(rename_all = "camelCase")]
    Sending { since: DateTime<Utc>, attempts: u32 },
    #[serde(rename_all = "camelCase")]
    Sent {
        at: DateTime<Utc>,
        message_id: String,
        attempts: u32,
    },
    /// A transient failure is tried again; a permanent one (rejected address,
    /// or [`MAX_SEND_ATTEMPTS`] reached) only by a manual resend.
    #[serde(rename_all = "camelCase")]
    Failed {
        at: DateTime<Utc>,
        reason: String,
        permanent: bool,
        attempts: u32,
    },
}

impl Delivery {
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Pending => 0,
            Self::Sending { attempts, .. }
            | Self::Sent { attempts, .. }
            | Self::Failed { attempts, .. } => *attempts,
        }
    }

    /// True while the email still has to go out (including a claim that
    /// may be stale), so the room stays in the morning run's index.
    pub fn is_outstanding(&self) -> bool {
        match self {
            Self::Pending | Self::Sending { .. } => true,
            Self::Sent { .. } => false,
            Self::Failed { permanent, .. } => !permanent,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invitee {
    pub name: String,
    /// Empty once erased after the room's day.
    pub email: String,
    pub locale: Locale,
    #[serde(default)]
    pub delivery: Delivery,
    /// The last email the mail service accepted for this invitee, kept so
    /// that an appointment moved away and back is not mailed twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent: Option<SentEmail>,
}

/// Appointment details in an invitation: the day, its time zone and the
/// start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Appointment {
    pub date: NaiveDate,
    pub time_zone: Zone,
    pub start_time: Option<NaiveTime>,
}

impl Appointment {
    /// Returns whether an invitation for `other` names the same moments as
    /// one for this appointment. That needs the same date and start time, in
    /// a zone whose clock agrees with this one at the day's start, at its end
    /// and at the start time. Europe/Berlin and Europe/Vienna agree, so a
    /// move between them gives an invitee no new information. Europe/London
    /// names another hour.
    pub fn names_same_moments(&self, other: &Appointment) -> bool {
        if self.date != other.date || self.start_time != other.start_time {
            return false;
        }
        if self.time_zone == other.time_zone {
            return true;
        }
        let start = |appointment: &Appointment| {
            appointment.start_time.map(|time| {
                let local = appointment.date.and_time(time);
                appointment.time_zone.from_local_datetime(&local).earliest()
            })
        };
        DayWindow::for_date(self.date, self.time_zone)
            == DayWindow::for_date(other.date, other.time_zone)
            && start(self) == start(other)
    }
}

/// An invitation email the mail service accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SentEmail {
    pub appointment: Appointment,
    pub at: DateTime<Utc>,
    pub message_id: String,
}

impl Invitee {
    pub fn has_email(&self) -> bool {
        !self.email.is_empty()
    }

    /// True when `email` is this invitee's address, ignoring case.
    pub fn is_addressed(&self, email: &str) -> bool {
        self.has_email() && self.email.eq_ignore_ascii_case(email)
    }
}

/// Time during which at least two participants were connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CallTime {
    /// Finished stretches, summed.
    pub seconds: i64,
    /// Start of the stretch running now, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<DateTime<Utc>>,
}

impl CallTime {
    /// Seconds up to `now`, counting a running stretch only within the day.
    ///
    /// NOTE: a stretch that no departure ends, such as one whose participant
    /// vanished without a disconnect, counts up to the day's end. The local
    /// server ends running stretches when it stops, and at start those that
    /// a crash left running (see `video_local`).
    pub fn seconds_at(&self, now: DateTime<Utc>, day_end: DateTime<Utc>) -> i64 {
        let running = self
            .since
            .map_or(0, |since| (now.min(day_end) - since).num_seconds().max(0));
        self.seconds + running
    }

    /// Starts a stretch at `now` unless one runs; returns whether it changed.
    pub fn start(&mut self, now: DateTime<Utc>) -> bool {
        if self.since.is_some() {
            return false;
        }
        self.since = Some(now);
        true
    }

    /// Ends the running stretch at `now` (at the day's end at the latest);
    /// returns whether it changed.
    pub fn stop(&mut self, now: DateTime<Utc>, day_end: DateTime<Utc>) -> bool {
        let Some(since) = self.since.take() else {
            return false;
        };
        self.seconds += (now.min(day_end) - since).num_seconds().max(0);
        true
    }
}

/// A stored room. The join token is not stored: it is derived from `id` with
/// the link key, see [`crate::link`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Room {
    pub id: String,
    pub practitioner_id: String,
    pub date: NaiveDate,
    pub start_time: Option<NaiveTime>,
    pub time_zone: Zone,
    pub title: Option<String>,
    pub patient_id: Option<String>,
    /// The calendar entry this room belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    /// Random per stored room and part of its link's tag, so a room created
    /// again under a calendar entry's fixed id gets a new link.
    #[serde(default)]
    pub link_salt: String,
    pub invitees: Vec<Invitee>,
    pub created_at: DateTime<Utc>,
    /// When the record may be deleted; readers treat it as gone from then on.
    pub expires_at: DateTime<Utc>,
    /// Raised by every write; a write based on an older version fails, so
    /// concurrent writers never lose each other's changes.
    #[serde(default)]
    pub version: u64,
    #[serde(default)]
    pub call: CallTime,
}

impl Room {
    pub fn window(&self) -> DayWindow {
        DayWindow::for_date(self.date, self.time_zone)
    }

    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }

    /// True while an invitee's email still has to go out. An address that
    /// repeats an earlier invitee's counts once, with the earlier invitee:
    /// the sender finds invitees by address, so it never claims the later
    /// one. Rooms stored before repeated addresses were rejected can have
    /// them, and without this rule they would stay due forever.
    pub fn has_outstanding_mail(&self) -> bool {
        self.invitees.iter().enumerate().any(|(index, invitee)| {
            invitee.has_email()
                && earlier_with_address(&self.invitees, index).is_none()
                && invitee.delivery.is_outstanding()
        })
    }

    /// True while any invitee's email address is stored.
    pub fn holds_emails(&self) -> bool {
        self.invitees.iter().any(Invitee::has_email)
    }

    /// Erases the invitees' email addresses; returns whether any was stored.
    pub fn erase_emails(&mut self) -> bool {
        let held = self.holds_emails();
        for invitee in &mut self.invitees {
            invitee.email.clear();
        }
        held
    }

    /// Takes the appointment fields of `update` (a room built from a newer
    /// request) and keeps this room's id, link salt, creation time and call
    /// time. An invitee keeps its email state while the address stays and
    /// the appointment names the same moments (see
    /// [`Appointment::names_same_moments`]). A changed appointment is mailed
    /// again, unless it is one this invitee was already mailed about.
    pub fn apply_update(&mut self, update: Room) {
        let same_day = self.window() == update.window();
        let unchanged = self.appointment().names_same_moments(&update.appointment());
        let appointment = update.appointment();
        let previous = std::mem::take(&mut self.invitees);
        self.invitees = update
            .invitees
            .into_iter()
            .map(|mut invitee| {
                let Some(old) = previous.iter().find(|old| old.is_addressed(&invitee.email)) else {
                    return invitee;
                };
                invitee.last_sent = old.last_sent.clone();
                if unchanged {
                    invitee.delivery = old.delivery.clone();
                } else if let Some(sent) = old
                    .last_sent
                    .as_ref()
                    .filter(|sent| sent.appointment.names_same_moments(&appointment))
                {
                    // Moved back to the appointment of the invitee's last email.
                    invitee.delivery = Delivery::Sent {
                        at: sent.at,
                        message_id: sent.message_id.clone(),
                        attempts: 1,
                    };
                }
                invitee
            })
            .collect();
        if !same_day {
            // A stretch of call cannot continue across days.
            let until = self.window().until;
            self.call.stop(until, until);
        }
        self.date = update.date;
        self.start_time = update.start_time;
        self.time_zone = update.time_zone;
        self.title = update.title;
        self.patient_id = update.patient_id;
        self.entry_id = update.entry_id;
        self.expires_at = update.expires_at;
    }

    /// Returns the day, zone and start time an invitation names.
    pub fn appointment(&self) -> Appointment {
        Appointment {
            date: self.date,
            time_zone: self.time_zone,
            start_time: self.start_time,
        }
    }

    /// Seconds of call held in this room up to `now`.
    pub fn call_seconds(&self, now: DateTime<Utc>) -> i64 {
        self.call.seconds_at(now, self.window().until)
    }
}

/// The body of `POST /api/rooms`, as received. Every field is optional here so
/// that validation can name the field that is missing or wrong.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateRoomRequest {
    /// Day of the call, `YYYY-MM-DD`, in `timeZone`.
    #[schema(example = "2026-12-13")]
    pub date: Option<String>,
    /// Planned start, `HH:MM` (24-hour clock), shown in the invitation.
    #[schema(example = "09:30")]
    pub start_time: Option<String>,
    /// IANA time zone of the practice; `Europe/Berlin` when omitted.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// Free text for the practitioner's overview, at most 200 characters.
    pub title: Option<String>,
    /// Up to 8 people who receive the link by email.
    pub invitees: Option<Vec<InviteeRequest>>,
    /// The practice software's patient id, at most 128 printable ASCII characters.
    pub patient_id: Option<String>,
}

/// The body of `PUT /api/calendar-entries/{entryId}`: an appointment of the
/// practice software. The room fields follow the rules of
/// [`CreateRoomRequest`].
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CalendarEntryRequest {
    /// Day of the appointment, `YYYY-MM-DD`, in `timeZone`.
    #[schema(example = "2026-12-13")]
    pub date: Option<String>,
    /// Start of the appointment, `HH:MM`.
    #[schema(example = "09:30")]
    pub start_time: Option<String>,
    /// IANA time zone; `Europe/Berlin` when omitted.
    #[schema(example = "Europe/Berlin")]
    pub time_zone: Option<String>,
    /// Free text for the practitioner's overview, at most 200 characters.
    pub title: Option<String>,
    /// The patient of the appointment; a patient flagged "always video" gets
    /// a room even when `video` is false.
    pub patient_id: Option<String>,
    /// Up to 8 people who receive the link by email.
    pub invitees: Option<Vec<InviteeRequest>>,
    /// Whether the appointment is held by video.
    pub video: Option<bool>,
}

impl CalendarEntryRequest {
    /// Splits the request into the video flag and the room fields.
    pub fn into_parts(self) -> Result<(bool, CreateRoomRequest), FieldError> {
        let video = self
            .video
            .ok_or_else(|| FieldError::new("video", "is required (true or false)"))?;
        Ok((
            video,
            CreateRoomRequest {
                date: self.date,
                start_time: self.start_time,
                time_zone: self.time_zone,
                title: self.title,
                invitees: self.invitees,
                patient_id: self.patient_id,
            },
        ))
    }
}

/// The body of `PUT /api/patients/{patientId}/video-preference`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VideoPreferenceRequest {
    /// True: every calendar entry of this patient gets a room.
    pub always_video: Option<bool>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InviteeRequest {
    /// Up to 100 characters once white space, zero-width characters and
    /// fillers at both ends are trimmed. The name needs one visible character
    /// and may contain no control or bidirectional formatting character.
    pub name: Option<String>,
    /// An ASCII address, different from the other invitees' addresses
    /// ignoring case. The mail service delivers only to ASCII addresses,
    /// so an internationalized domain is written in its `xn--` form.
    pub email: Option<String>,
    /// `de` (default) or `en`: language of the email and the join page hint.
    pub locale: Option<String>,
}

/// A request field that failed validation, with an English message for the
/// integrator that names the field and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Parses `YYYY-MM-DD` strictly: four-digit year, two-digit month and day,
/// and a date that exists.
pub fn parse_date(field: &str, text: &str) -> Result<NaiveDate, FieldError> {
    let shape_ok = text.len() == 10
        && text.bytes().enumerate().all(|(index, byte)| match index {
            4 | 7 => byte == b'-',
            _ => byte.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(FieldError::new(
            field,
            format!("expected a date as YYYY-MM-DD, got {text:?}"),
        ));
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| FieldError::new(field, format!("{text} is not a date that exists")))
}

fn parse_start_time(text: &str) -> Result<NaiveTime, FieldError> {
    let shape_ok = text.len() == 5
        && text.bytes().enumerate().all(|(index, byte)| match index {
            2 => byte == b':',
            _ => byte.is_ascii_digit(),
        });
    let parsed = shape_ok
        .then(|| NaiveTime::parse_from_str(text, "%H:%M").ok())
        .flatten();
    parsed.ok_or_else(|| {
        FieldError::new(
            "startTime",
            format!("expected a time as HH:MM between 00:00 and 23:59, got {text:?}"),
        )
    })
}

/// Rejects a start time that the clocks of `zone` skip on `date`, such as
/// 02:30 on the day summer time begins in Europe/Berlin: the invitation
/// would name a time that never shows on a clock there.
fn check_time_exists(date: NaiveDate, time: NaiveTime, zone: Zone) -> Result<(), FieldError> {
    let exists =
        |local: NaiveDateTime| !matches!(zone.from_local_datetime(&local), LocalResult::None);
    let local = date.and_time(time);
    if exists(local) {
        return Ok(());
    }
    // Rooms lie at most 400 days ahead, where the jumps of the tz database
    // are at most two hours long and begin and end on a whole minute.
    let mut first_after = local;
    while !exists(first_after) && first_after - local < Duration::hours(3) {
        first_after += Duration::minutes(1);
    }
    let mut jump_start = local;
    while !exists(jump_start - Duration::minutes(1)) && local - jump_start < Duration::hours(3) {
        jump_start -= Duration::minutes(1);
    }
    Err(FieldError::new(
        "startTime",
        format!(
            "{} does not exist on {date} in {zone}, because the clocks there jump from {} \
             to {}; choose a time before or after the jump",
            time.format("%H:%M"),
            jump_start.format("%H:%M"),
            first_after.format("%H:%M"),
        ),
    ))
}

pub fn parse_time_zone(field: &str, text: &str) -> Result<Zone, FieldError> {
    Zone::parse(text).ok_or_else(|| {
        let message = match Zone::parse_ignoring_case(text) {
            Some(zone) => format!(
                "{text:?} is not an IANA time zone; names are case-sensitive, did you mean {zone}?"
            ),
            None => format!("{text:?} is not an IANA time zone such as Europe/Berlin"),
        };
        FieldError::new(field, message)
    })
}

fn has_control_chars(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// Trims `text` and checks it is non-empty, short enough and free of control
/// characters.
fn parse_text(field: &str, text: &str, max_chars: usize) -> Result<String, FieldError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if trimmed.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            format!("must be at most {max_chars} characters"),
        ));
    }
    if has_control_chars(trimmed) {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

/// Checks an invitee's name like [`parse_text`], and also by the rule for
/// names in a call (`signaling::protocol::parse_display_name`): blank
/// characters at its ends are trimmed with [`trim_name`], and the name
/// needs a character that renders and may contain no bidirectional
/// formatting character.
fn parse_invitee_name(field: &str, text: &str) -> Result<String, FieldError> {
    let invisible = || {
        FieldError::new(
            field,
            "must contain at least one visible character; spaces, zero-width \
             characters, Hangul fillers, the blank Braille pattern and lone \
             combining marks display as nothing",
        )
    };
    let trimmed = trim_name(text);
    if trimmed.is_empty() && !text.trim().is_empty() {
        return Err(invisible());
    }
    let name = parse_text(field, trimmed, MAX_INVITEE_NAME_CHARS)?;
    if name.chars().any(is_bidi_control) {
        return Err(FieldError::new(
            field,
            "must not contain bidirectional formatting characters such as U+202E, \
             which change the order in which the name is displayed",
        ));
    }
    if name.chars().all(is_invisible) {
        return Err(invisible());
    }
    Ok(name)
}

fn parse_email(field: &str, text: &str) -> Result<String, FieldError> {
    let trimmed = text.trim();
    let options = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal();
    if !trimmed.is_ascii() {
        return Err(FieldError::new(
            field,
            format!(
                "{trimmed:?} contains characters outside ASCII, which the mail service \
                 cannot deliver to; write an internationalized domain in its xn-- form"
            ),
        ));
    }
    let valid = trimmed.len() <= MAX_EMAIL_BYTES
        && !trimmed.contains(['<', '>', ' '])
        && email_address::EmailAddress::parse_with_options(trimmed, options).is_ok();
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!("{trimmed:?} is not a valid email address"),
        ))
    }
}

fn parse_locale(field: &str, text: Option<&str>) -> Result<Locale, FieldError> {
    match text {
        None | Some("de") => Ok(Locale::De),
        Some("en") => Ok(Locale::En),
        Some(other) => Err(FieldError::new(
            field,
            format!("expected \"de\" or \"en\", got {other:?}"),
        )),
    }
}

/// Checks an id of the practice software (patient or calendar entry): 1 to
/// 128 printable ASCII characters without spaces.
pub fn parse_external_id(field: &str, text: &str) -> Result<String, FieldError> {
    let valid = !text.is_empty()
        && text.len() <= MAX_EXTERNAL_ID_CHARS
        && text.bytes().all(|byte| byte.is_ascii_graphic());
    if valid {
        Ok(text.to_owned())
    } else {
        Err(FieldError::new(
            field,
            format!(
                "must be 1 to {MAX_EXTERNAL_ID_CHARS} printable ASCII characters without spaces"
            ),
        ))
    }
}

/// Returns the position of the first invitee before `index` with the same
/// address as the invitee at `index`, ignoring case.
fn earlier_with_address(invitees: &[Invitee], index: usize) -> Option<usize> {
    let email = &invitees[index].email;
    invitees[..index]
        .iter()
        .position(|earlier| earlier.is_addressed(email))
}

fn parse_invitees(requests: Vec<InviteeRequest>) -> Result<Vec<Invitee>, FieldError> {
    if requests.len() > MAX_INVITEES {
        return Err(FieldError::new(
            "invitees",
            format!(
                "at most {MAX_INVITEES} invitees per room, got {}",
                requests.len()
            ),
        ));
    }
    let invitees = requests
        .into_iter()
        .enumerate()
        .map(|(index, request)| {
            let field = |name: &str| format!("invitees[{index}].{name}");
            let name = request
                .name
                .ok_or_else(|| FieldError::new(field("name"), "is required"))?;
            let email = request
                .email
                .ok_or_else(|| FieldError::new(field("email"), "is required"))?;
            Ok(Invitee {
                name: parse_invitee_name(&field("name"), &name)?,
                email: parse_email(&field("email"), &email)?,
                locale: parse_locale(&field("locale"), request.locale.as_deref())?,
                delivery: Delivery::Pending,
                last_sent: None,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Deliveries are recorded per address, so a repeated address would
    // leave its second invitee waiting for an email that never comes.
    for index in 0..invitees.len() {
        if let Some(earlier) = earlier_with_address(&invitees, index) {
            return Err(FieldError::new(
                format!("invitees[{index}].email"),
                format!(
                    "repeats the address of invitees[{earlier}]; each address gets one \
                     invitation per room"
                ),
            ));
        }
    }
    Ok(invitees)
}

impl CreateRoomRequest {
    /// Validates the request and builds a new room owned by `practitioner_id`.
    pub fn into_room(
        self,
        practitioner_id: &str,
        now: DateTime<Utc>,
        retention: Retention,
    ) -> Result<Room, FieldError> {
        let time_zone = match self.time_zone.as_deref() {
            None => DEFAULT_TIME_ZONE,
            Some(text) => parse_time_zone("timeZone", text)?,
        };
        let date_text = self
            .date
            .ok_or_else(|| FieldError::new("date", "is required"))?;
        let date = parse_date("date", &date_text)?;
        let today = today_in(time_zone, now);
        if date < today {
            return Err(FieldError::new(
                "date",
                format!("{date} is in the past; today is {today} in {time_zone}"),
            ));
        }
        let last = today + Duration::days(MAX_DAYS_AHEAD);
        if date > last {
            return Err(FieldError::new(
                "date",
                format!(
                    "{date} is more than {MAX_DAYS_AHEAD} days ahead; the last possible date is \
                     {last} in {time_zone}"
                ),
            ));
        }
        let start_time = self
            .start_time
            .as_deref()
            .map(parse_start_time)
            .transpose()?;
        if let Some(time) = start_time {
            check_time_exists(date, time, time_zone)?;
        }
        let title = self
            .title
            .as_deref()
            .map(|text| parse_text("title", text, MAX_TITLE_CHARS))
            .transpose()?;
        let patient_id = self
            .patient_id
            .as_deref()
            .map(|text| parse_external_id("patientId", text))
            .transpose()?;
        let invitees = parse_invitees(self.invitees.unwrap_or_default())?;

        let window = DayWindow::for_date(date, time_zone);
        Ok(Room {
            id: random_id(),
            practitioner_id: practitioner_id.to_owned(),
            date,
            start_time,
            time_zone,
            title,
            patient_id,
            entry_id: None,
            link_salt: random_id(),
            invitees,
            created_at: now,
            expires_at: retention.expires_at(&window),
            version: 0,
            call: CallTime::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn request(date: &str) -> CreateRoomRequest {
        CreateRoomRequest {
            date: Some(date.to_owned()),
            ..Default::default()
        }
    }

    fn invitee(email: &str) -> InviteeRequest {
        InviteeRequest {
            name: Some("Anna Beispiel".into()),
            email: Some(email.into()),
            locale: None,
        }
    }

    fn appointment(date: &str, zone: &str, start: Option<&str>) -> Appointment {
        Appointment {
            date: date.parse().unwrap(),
            time_zone: Zone::parse(zone).unwrap(),
            start_time: start.map(|text| NaiveTime::parse_from_str(text, "%H:%M").unwrap()),
        }
    }

    #[test]
    fn zones_with_one_clock_name_same_moments() {
        let berlin = appointment("2027-03-28", "Europe/Berlin", Some("09:00"));
        assert!(berlin.names_same_moments(&appointment(
            "2027-03-28",
            "Europe/Vienna",
            Some("09:00")
        )));
        assert!(
            appointment("2027-03-28", "Europe/Berlin", None).names_same_moments(&appointment(
                "2027-03-28",
                "Europe/Zurich",
                None
            ))
        );
    }

    #[test]
    fn other_clock_date_or_time_names_new_moments() {
        let berlin = appointment("2027-03-28", "Europe/Berlin", Some("09:00"));
        let london = appointment("2027-03-28", "Europe/London", Some("09:00"));
        assert!(!berlin.names_same_moments(&london));
        let next_day = appointment("2027-03-29", "Europe/Berlin", Some("09:00"));
        assert!(!berlin.names_same_moments(&next_day));
        let later = appointment("2027-03-28", "Europe/Berlin", Some("10:00"));
        assert!(!berlin.names_same_moments(&later));
        let no_time = appointment("2027-03-28", "Europe/Berlin", None);
        assert!(!berlin.names_same_moments(&no_time));
    }

    #[test]
    fn minimal_request_defaults_to_berlin() {
        let room = request("2026-12-13")
            .into_room("dr-weber", now(), Retention::default())
            .unwrap();
        assert_eq!(room.time_zone, Zone::BERLIN);
        assert_eq!(room.date.to_string(), "2026-12-13");
        assert_eq!(room.practitioner_id, "dr-weber");
        assert!(crate::random::is_random_id(&room.id));
    }

    #[test]
    fn retention_ends_8_days_after_the_day_by_default() {
        let room = request("2026-12-13")
            .into_room("p", now(), Retention::default())
            .unwrap();
        assert_eq!(room.expires_at, room.window().until + Duration::days(8));
        let longest = Retention::days(90).unwrap();
        let room = request("2026-12-13")
            .into_room("p", now(), longest)
            .unwrap();
        assert_eq!(room.expires_at, room.window().until + Duration::days(90));
        assert!(Retention::days(0).is_err());
        assert!(Retention::days(91).is_err());
    }

    #[test]
    fn call_time_sums_stretches_within_the_day() {
        let mut room = request("2026-12-04")
            .into_room("p", now(), Retention::default())
            .unwrap();
        let start = now();
        assert!(room.call.start(start));
        assert!(!room.call.start(start + Duration::minutes(1)));
        assert_eq!(room.call_seconds(start + Duration::minutes(5)), 300);
        assert!(
            room.call
                .stop(start + Duration::minutes(10), room.window().until)
        );
        assert!(
            !room
                .call
                .stop(start + Duration::minutes(11), room.window().until)
        );
        room.call.start(start + Duration::minutes(20));
        room.call
            .stop(start + Duration::minutes(25), room.window().until);
        assert_eq!(room.call_seconds(start + Duration::hours(1)), 900);
        // A stretch still open at midnight counts up to midnight only.
        room.call.start(room.window().until - Duration::minutes(1));
        assert_eq!(
            room.call_seconds(room.window().until + Duration::hours(3)),
            960
        );
    }

    #[test]
    fn missing_date_names_field() {
        let error = CreateRoomRequest::default()
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "date");
    }

    #[test]
    fn impossible_dates_are_rejected() {
        for text in [
            "2026-02-30",
            "2026-13-01",
            "2026-12-1",
            "13.12.2026",
            "2026-12-13T00:00",
            "",
        ] {
            let error = request(text)
                .into_room("p", now(), Retention::default())
                .unwrap_err();
            assert_eq!(error.field, "date", "{text}");
        }
    }

    #[test]
    fn past_date_is_rejected() {
        let error = request("2026-12-03")
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert!(error.message.contains("past"), "{error}");
    }

    #[test]
    fn far_future_date_is_rejected() {
        let error = request("2028-12-13")
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "date");
    }

    #[test]
    fn unknown_time_zone_is_rejected() {
        let mut body = request("2026-12-13");
        body.time_zone = Some("Europe/Bonn".into());
        let error = body
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "timeZone");
        assert!(
            error.message.contains("such as Europe/Berlin"),
            "{}",
            error.message
        );
    }

    #[test]
    fn date_after_400_days_names_the_last_date() {
        // 2026-12-04 plus 400 days is 2028-01-08.
        let last = request("2028-01-08").into_room("p", now(), Retention::default());
        assert!(last.is_ok(), "{last:?}");
        let error = request("2028-01-09")
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "date");
        assert!(
            error
                .message
                .contains("the last possible date is 2028-01-08 in Europe/Berlin"),
            "{}",
            error.message
        );
    }

    #[test]
    fn time_zone_in_other_case_gets_a_hint() {
        let mut body = request("2026-12-13");
        body.time_zone = Some("europe/vienna".into());
        let error = body
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "timeZone");
        assert!(
            error.message.contains("did you mean Europe/Vienna?"),
            "{}",
            error.message
        );
    }

    #[test]
    fn start_time_in_clock_jump_is_rejected() {
        let mut body = request("2027-03-28");
        body.start_time = Some("02:30".into());
        let error = body
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "startTime");
        assert!(
            error.message.contains("jump from 02:00 to 03:00"),
            "{error}"
        );

        // The hour that repeats when summer time ends exists, and so do the
        // minutes around the jump.
        for (date, time) in [
            ("2027-10-31", "02:30"),
            ("2027-03-28", "01:59"),
            ("2027-03-28", "03:00"),
        ] {
            let mut body = request(date);
            body.start_time = Some(time.into());
            assert!(
                body.into_room("p", now(), Retention::default()).is_ok(),
                "{date} {time}"
            );
        }
    }

    #[test]
    fn start_time_must_be_hh_mm() {
        for text in ["9:30", "24:00", "12:60", "12:30:00", "noon"] {
            let mut body = request("2026-12-13");
            body.start_time = Some(text.into());
            assert_eq!(
                body.into_room("p", now(), Retention::default())
                    .unwrap_err()
                    .field,
                "startTime",
                "{text}"
            );
        }
        let mut body = request("2026-12-13");
        body.start_time = Some("23:59".into());
        assert!(body.into_room("p", now(), Retention::default()).is_ok());
    }

    #[test]
    fn repeated_address_is_not_outstanding() {
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![invitee("anna@example.org")]);
        let mut room = body.into_room("p", now(), Retention::default()).unwrap();
        let mut repeated = room.invitees[0].clone();
        repeated.email = "ANNA@example.org".to_owned();
        room.invitees.push(repeated);
        assert!(room.has_outstanding_mail());

        room.invitees[0].delivery = Delivery::Sent {
            at: now(),
            message_id: "m-1".to_owned(),
            attempts: 1,
        };
        assert!(!room.has_outstanding_mail());
    }

    #[test]
    fn repeated_email_is_rejected() {
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![
            invitee("anna@example.org"),
            invitee("ben@example.org"),
            invitee(" ANNA@Example.org "),
        ]);
        let error = body
            .into_room("p", now(), Retention::default())
            .unwrap_err();
        assert_eq!(error.field, "invitees[2].email");
        assert!(error.message.contains("invitees[0]"), "{error}");
    }

    #[test]
    fn non_ascii_email_is_rejected() {
        for address in ["jörg@example.org", "anna@müller.de"] {
            let mut body = request("2026-12-13");
            body.invitees = Some(vec![invitee(address)]);
            let error = body
                .into_room("p", now(), Retention::default())
                .unwrap_err();
            assert_eq!(error.field, "invitees[0].email");
            assert!(error.message.contains("ASCII"), "{error}");
        }
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![invitee("anna@xn--mller-kva.de")]);
        assert!(body.into_room("p", now(), Retention::default()).is_ok());
    }

    #[test]
    fn invalid_emails_name_their_index() {
        for text in [
            "anna",
            "anna@",
            "@example.org",
            "anna@localhost",
            "Anna <anna@example.org>",
            "anna@[127.0.0.1]",
        ] {
            let mut body = request("2026-12-13");
            body.invitees = Some(vec![invitee("ok@example.org"), invitee(text)]);
            let error = body
                .into_room("p", now(), Retention::default())
                .unwrap_err();
            assert_eq!(error.field, "invitees[1].email", "{text}");
        }
    }

    #[test]
    fn nine_invitees_are_rejected() {
        let mut body = request("2026-12-13");
        body.invitees = Some((0..9).map(|_| invitee("a@example.org")).collect());
        assert_eq!(
            body.into_room("p", now(), Retention::default())
                .unwrap_err()
                .field,
            "invitees"
        );
        let mut body = request("2026-12-13");
        body.invitees = Some(
            (0..8)
                .map(|index| invitee(&format!("a{index}@example.org")))
                .collect(),
        );
        assert_eq!(
            body.into_room("p", now(), Retention::default())
                .unwrap()
                .invitees
                .len(),
            8
        );
    }

    #[test]
    fn invitee_locale_is_de_or_en() {
        let mut body = request("2026-12-13");
        let mut english = invitee("a@example.org");
        english.locale = Some("en".into());
        body.invitees = Some(vec![invitee("b@example.org"), english]);
        let room = body.into_room("p", now(), Retention::default()).unwrap();
        assert_eq!(room.invitees[0].locale, Locale::De);
        assert_eq!(room.invitees[1].locale, Locale::En);

        let mut body = request("2026-12-13");
        let mut french = invitee("a@example.org");
        french.locale = Some("fr".into());
        body.invitees = Some(vec![french]);
        assert_eq!(
            body.into_room("p", now(), Retention::default())
                .unwrap_err()
                .field,
            "invitees[0].locale"
        );
    }

    fn invitee_named(name: &str) -> InviteeRequest {
        InviteeRequest {
            name: Some(name.into()),
            ..invitee("a@example.org")
        }
    }

    fn invitee_name_error(name: &str) -> FieldError {
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![invitee("b@example.org"), invitee_named(name)]);
        body.into_room("p", now(), Retention::default())
            .expect_err(&format!("{name:?} must be rejected"))
    }

    #[test]
    fn invisible_invitee_names_are_rejected() {
        let long_invisible = "\u{200B}".repeat(80);
        for name in [
            "\u{200B}",
            "\u{200B}\u{2060}\u{FEFF}",
            "\u{3164}",
            "\u{115F}\u{1160}",
            "\u{2800}\u{2800}",
            "\u{00A0}\u{00AD}",
            " \u{FE0F} ",
            "\u{0301}\u{0301}",
            long_invisible.as_str(),
        ] {
            let error = invitee_name_error(name);
            assert_eq!(error.field, "invitees[1].name", "{name:?}");
            assert!(error.message.contains("visible character"), "{error}");
        }
    }

    #[test]
    fn bidi_controls_in_invitee_names_are_rejected() {
        for name in [
            "Anna\u{202E}reteP",
            "\u{2067}Ben",
            "Carla\u{200F}",
            "\u{061C}",
        ] {
            let error = invitee_name_error(name);
            assert_eq!(error.field, "invitees[1].name", "{name:?}");
            assert!(error.message.contains("bidirectional"), "{error}");
        }
    }

    #[test]
    fn visible_long_invitee_names_accepted() {
        let longest = "ä".repeat(100);
        let mostly_invisible = format!("A{}B", "\u{200B}".repeat(98));
        for name in [
            "Zoë Müller",
            "Anna\u{00AD}Lena",
            "👩\u{200D}⚕\u{FE0F} Dr. Weber",
            "محمد",
            longest.as_str(),
            mostly_invisible.as_str(),
        ] {
            let mut body = request("2026-12-13");
            body.invitees = Some(vec![invitee_named(name)]);
            let room = body
                .into_room("p", now(), Retention::default())
                .unwrap_or_else(|error| panic!("{name:?}: {error}"));
            assert_eq!(room.invitees[0].name, name);
        }
        let error = invitee_name_error(&"ä".repeat(101));
        assert!(error.message.contains("at most 100"), "{error}");
    }

    #[test]
    fn invitee_name_ends_trimmed() {
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![invitee_named("\u{FEFF} Anna Lena\u{200B}\u{2060} ")]);
        let room = body.into_room("p", now(), Retention::default()).unwrap();
        assert_eq!(room.invitees[0].name, "Anna Lena");

        // The length counts what is left after trimming.
        let longest = "ä".repeat(100);
        let mut body = request("2026-12-13");
        body.invitees = Some(vec![invitee_named(&format!("{longest}\u{200B}"))]);
        let room = body.into_room("p", now(), Retention::default()).unwrap();
        assert_eq!(room.invitees[0].name, longest);
    }

    #[test]
    fn title_rules() {
        let mut body = request("2026-12-13");
        body.title = Some("  Erstgespräch  ".into());
        assert_eq!(
            body.into_room("p", now(), Retention::default())
                .unwrap()
                .title
                .as_deref(),
            Some("Erstgespräch")
        );
        for text in ["   ", "a\u{0}b", &"x".repeat(201)] {
            let mut body = request("2026-12-13");
            body.title = Some(text.into());
            assert_eq!(
                body.into_room("p", now(), Retention::default())
                    .unwrap_err()
                    .field,
                "title"
            );
        }
    }

    #[test]
    fn patient_id_rules() {
        let mut body = request("2026-12-13");
        body.patient_id = Some("P-1234".into());
        assert!(body.into_room("p", now(), Retention::default()).is_ok());
        for text in ["", "has space", "ä", &"x".repeat(129)] {
            let mut body = request("2026-12-13");
            body.patient_id = Some(text.into());
            assert_eq!(
                body.into_room("p", now(), Retention::default())
                    .unwrap_err()
                    .field,
                "patientId",
                "{text}"
            );
        }
    }
}
