//! Access to and erasure of one patient's data:
//! `GET /api/patients/{patientId}/data` and `DELETE /api/patients/{patientId}`.
//! Both cover only the calling practitioner's data. Another practitioner's
//! data for the same patient id is neither shown nor touched, and the
//! responses do not reveal whether it exists.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::api::{EmailStatus, Practitioner, RoomStatus, path_text, room_status};
use super::error::{ApiError, ErrorBody};
use crate::room::{Delivery, Invitee, Locale, Room, SentEmail};
use crate::store::{StoreError, StoredPreference, erase_patient_rooms};
use crate::validity::rfc3339;

/// Everything the service stores about one patient for the calling
/// practitioner: the "always video" flag and every room whose `patientId` is
/// the patient, of any date, with its invitees. Link tokens are not part of
/// it: a room's join link is derived from the room id and the service's link
/// key whenever it is needed and is never stored. Also left out are each
/// room's random link salt and write counter, which contain nothing about
/// the patient.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientData {
    #[schema(example = "P-1234")]
    pub patient_id: String,
    /// The "always video" flag; `null` when it is not set, because clearing
    /// the flag deletes its record.
    pub video_preference: Option<PreferenceRecord>,
    /// The patient's rooms ordered by date and start time: past, today's and
    /// future ones, including rooms past their retention period that are not
    /// deleted yet.
    pub rooms: Vec<PatientRoom>,
}

/// A stored "always video" flag.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreferenceRecord {
    /// Always true: only a set flag is stored.
    pub always_video: bool,
    /// When the flag was last set; absent on the local server, which stores
    /// no time with it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
}

/// A stored room of the patient, without its link.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PatientRoom {
    #[schema(example = "5f0c3e8f0b2a4d6e9c1b7a3d2e4f6a8b")]
    pub id: String,
    #[schema(example = "2026-12-13")]
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "09:30")]
    pub start_time: Option<String>,
    #[schema(example = "Europe/Berlin")]
    pub time_zone: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The calendar entry the room belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    pub status: RoomStatus,
    /// Seconds during which at least two participants were connected,
    /// summed over the day; a running call counts up to now.
    pub call_seconds: i64,
    /// Start of the call stretch that is running, if one is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call_running_since: Option<String>,
    pub invitees: Vec<InviteeRecord>,
    pub created_at: String,
    /// When the room's record is deleted: the retention period after the
    /// end of its day.
    pub expires_at: String,
}

/// A stored invitee with the state of its invitation email.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteeRecord {
    pub name: String,
    /// Absent once erased after the room's day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub locale: Locale,
    pub status: EmailStatus,
    /// Send attempts for the current appointment.
    pub attempts: u32,
    /// When a sender claimed the email; present while no result is recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    /// The mail service's id of the sent email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
    /// The last email the mail service accepted for this invitee, kept so
    /// that an appointment moved away and back is not mailed twice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sent: Option<SentEmailRecord>,
}

/// An invitation email the mail service accepted, with the appointment it
/// named.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SentEmailRecord {
    #[schema(example = "2026-12-13")]
    pub date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    pub time_zone: String,
    pub sent_at: String,
    pub message_id: String,
}

fn preference_record(stored: StoredPreference) -> PreferenceRecord {
    PreferenceRecord {
        always_video: true,
        updated_at: stored.updated_at.map(rfc3339),
    }
}

fn sent_email_record(sent: &SentEmail) -> SentEmailRecord {
    SentEmailRecord {
        date: sent.appointment.date.to_string(),
        start_time: sent
            .appointment
            .start_time
            .map(|time| time.format("%H:%M").to_string()),
        time_zone: sent.appointment.time_zone.name().to_owned(),
        sent_at: rfc3339(sent.at),
        message_id: sent.message_id.clone(),
    }
}

fn invitee_record(invitee: &Invitee) -> InviteeRecord {
    let mut record = InviteeRecord {
        name: invitee.name.clone(),
        email: invitee.has_email().then(|| invitee.email.clone()),
        locale: invitee.locale,
        status: EmailStatus::Pending,
        attempts: invitee.delivery.attempts(),
        claimed_at: None,
        sent_at: None,
        message_id: None,
        failed_at: None,
        failure: None,
        last_sent: invitee.last_sent.as_ref().map(sent_email_record),
    };
    match &invitee.delivery {
        Delivery::Pending => {}
        Delivery::Sending { since, .. } => {
            record.status = EmailStatus::Sending;
            record.claimed_at = Some(rfc3339(*since));
        }
        Delivery::Sent { at, message_id, .. } => {
            record.status = EmailStatus::Sent;
            record.sent_at = Some(rfc3339(*at));
            record.message_id = Some(message_id.clone());
        }
        Delivery::Failed {
            at,
            reason,
            permanent,
            ..
        } => {
            // As in the rooms API: a transient failure is tried again, so
            // the email is still pending.
            if *permanent {
                record.status = EmailStatus::Failed;
            }
            record.failed_at = Some(rfc3339(*at));
            record.failure = Some(reason.clone());
        }
    }
    record
}

fn patient_room(room: &Room, now: DateTime<Utc>) -> PatientRoom {
    PatientRoom {
        id: room.id.clone(),
        date: room.date.to_string(),
        start_time: room.start_time.map(|time| time.format("%H:%M").to_string()),
        time_zone: room.time_zone.name().to_owned(),
        title: room.title.clone(),
        entry_id: room.entry_id.clone(),
        status: room_status(room, now),
        call_seconds: room.call_seconds(now),
        call_running_since: room.call.since.map(rfc3339),
        invitees: room.invitees.iter().map(invitee_record).collect(),
        created_at: rfc3339(room.created_at),
        expires_at: rfc3339(room.expires_at),
    }
}

/// Read everything stored about a patient: the "always video" flag and
/// every room of the patient with its invitees. Only the caller's data is
/// included. For a patient without data the response is empty, whether or not
/// another practitioner has data for the same id.
#[utoipa::path(
    get,
    path = "/api/patients/{patientId}/data",
    tag = "patients",
    params(("patientId" = String, Path, description = "The practice software's patient id")),
    responses(
        (status = 200, description = "The patient's data; empty when nothing is stored", body = PatientData),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "The patient id breaks the rules", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn export_patient_data(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<PatientData>, ApiError> {
    let patient_id = path_text(path, "patientId")?;
    let preference = state
        .preferences
        .stored_preference(&practitioner, &patient_id)
        .await?;
    let mut rooms = state
        .rooms
        .patient_rooms(&practitioner, &patient_id)
        .await?;
    rooms.sort_by(|a, b| {
        (a.date, a.start_time, a.created_at).cmp(&(b.date, b.start_time, b.created_at))
    });
    let now = state.clock.now();
    tracing::info!(practitioner_id = %practitioner, rooms = rooms.len(), "patient data exported");
    Ok(Json(PatientData {
        patient_id,
        video_preference: preference.map(preference_record),
        rooms: rooms.iter().map(|room| patient_room(room, now)).collect(),
    }))
}

/// Erase a patient's data: every room of the patient, of any date, with its
/// invitees, and the "always video" flag. The rooms' links stop working at
/// once; people already in a call stay connected until they leave, as after
/// `DELETE /api/rooms/{id}`. Only the caller's data is erased, and the response
/// is 204 whether or not anything was stored.
#[utoipa::path(
    delete,
    path = "/api/patients/{patientId}",
    tag = "patients",
    params(("patientId" = String, Path, description = "The practice software's patient id")),
    responses(
        (status = 204, description = "Nothing of the patient is stored for the caller now"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 409, description = "A room of the patient changed concurrently too often; retry", body = ErrorBody),
        (status = 422, description = "The patient id breaks the rules", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn erase_patient(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let patient_id = path_text(path, "patientId")?;
    // The flag goes first, so that a calendar entry without `video` stored
    // during the erasure creates no new room.
    state
        .preferences
        .set_always_video(&practitioner, &patient_id, false, state.clock.now())
        .await?;
    let erased = match erase_patient_rooms(state.rooms.as_ref(), &practitioner, &patient_id).await {
        Ok(erased) => erased,
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::client(
                StatusCode::CONFLICT,
                "conflict",
                "a room of the patient changed concurrently too often; retry the request",
            ));
        }
        Err(error) => return Err(error.into()),
    };
    tracing::info!(practitioner_id = %practitioner, rooms = erased, "patient data erased");
    Ok(StatusCode::NO_CONTENT)
}
