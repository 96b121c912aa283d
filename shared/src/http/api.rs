//! The rooms API: rooms under `/api/rooms`, calendar entries under
//! `/api/calendar-entries` and patients' video preference under
//! `/api/patients`. The routes of a patient's data are in
//! [`super::patient_data`].

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::{
    Json, Router,
    routing::{delete, get, post, put},
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use crate::morning::Trigger;
use crate::random::is_random_id;
use crate::room::{
    CalendarEntryRequest, CreateRoomRequest, DEFAULT_TIME_ZONE, Delivery, FieldError, Invitee,
    Locale, Room, VideoPreferenceRequest, parse_date, parse_external_id,
};
use crate::store::{StoreError, update_room};
use crate::validity::{DayState, rfc3339, today_in};

/// Default overview: rooms from 7 days back to 25 weeks ahead.
const DEFAULT_DAYS_BACK: i64 = 7;
const DEFAULT_WEEKS_AHEAD: i64 = 25;
const MAX_LIST_DAYS: i64 = 400;

/// Status of a room in the overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RoomStatus {
    /// The room's day has not begun.
    Planned,
    /// The room's day is running: the link admits participants.
    Today,
    /// The day is over and a call took place.
    Held,
    /// The day is over and no call took place.
    NotHeld,
}

/// Status of an invitee's email.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EmailStatus {
    /// Not sent yet. `failure` gives the reason when an attempt failed and another
    /// one follows.
    Pending,
    /// Being sent right now, such as by a resend that another request
    /// started a moment earlier.
    Sending,
    Sent,
    /// Not sent and not tried again unless resent by hand.
    Failed,
}

/// An invitee as the API returns it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteeView {
    pub name: String,
    /// Absent once erased after the room's day.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub locale: Locale,
    pub status: EmailStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl From<&Invitee> for InviteeView {
    fn from(invitee: &Invitee) -> Self {
        let (status, sent_at, failure) = match &invitee.delivery {
            Delivery::Pending => (EmailStatus::Pending, None, None),
            Delivery::Sending { .. } => (EmailStatus::Sending, None, None),
            Delivery::Sent { at, .. } => (EmailStatus::Sent, Some(rfc3339(*at)), None),
            Delivery::Failed {
                reason, permanent, ..
            } => {
                let status = if *permanent {
                    EmailStatus::Failed
                } else {
                    EmailStatus::Pending
                };
                (status, None, Some(reason.clone()))
            }
        };
        Self {
            name: invitee.name.clone(),
            email: invitee.has_email().then(|| invitee.email.clone()),
            locale: invitee.locale,
            status,
            sent_at,
            failure,
        }
    }
}

/// A room as the API returns it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomView {
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient_id: Option<String>,
    /// The calendar entry the room belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_id: Option<String>,
    pub invitees: Vec<InviteeView>,
    pub status: RoomStatus,
    /// Seconds during which at least two participants were connected,
    /// summed over the day; a running call counts up to now.
    pub call_seconds: i64,
    /// The link for every participant; the secret part is after `#`.
    pub join_url: String,
    /// First instant the link admits participants (local midnight, in UTC).
    pub valid_from: String,
    /// First instant the link no longer admits participants.
    pub valid_until: String,
    pub created_at: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RoomList {
    pub rooms: Vec<RoomView>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// First day, `YYYY-MM-DD`; default 7 days before today (Europe/Berlin).
    from: Option<String>,
    /// Last day, `YYYY-MM-DD`; default 25 weeks after today (Europe/Berlin).
    to: Option<String>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/rooms", get(list_rooms).post(create_room))
        .route("/api/rooms/{id}", get(get_room).delete(delete_room))
        .route("/api/rooms/{id}/invitations", post(resend_invitations))
        .route(
            "/api/calendar-entries/{entryId}",
            put(put_calendar_entry).delete(delete_calendar_entry),
        )
        .route(
            "/api/patients/{patientId}/video-preference",
            get(get_video_preference).put(put_video_preference),
        )
        .route(
            "/api/patients/{patientId}",
            delete(super::patient_data::erase_patient),
        )
        .route(
            "/api/patients/{patientId}/data",
            get(super::patient_data::export_patient_data),
        )
}

/// The authenticated practitioner's id. As an extractor it runs before the
/// body is read, so an anonymous caller learns nothing about validation.
pub struct Practitioner(pub String);

impl FromRequestParts<AppState> for Practitioner {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state
            .auth
            .practitioner(parts)
            .map(Self)
            .ok_or_else(ApiError::unauthorized)
    }
}

pub(crate) fn room_status(room: &Room, now: DateTime<Utc>) -> RoomStatus {
    match room.window().state_at(now) {
        DayState::NotYetOpen => RoomStatus::Planned,
        DayState::Open => RoomStatus::Today,
        DayState::Expired if room.call_seconds(now) > 0 => RoomStatus::Held,
        DayState::Expired => RoomStatus::NotHeld,
    }
}

pub(crate) fn view(state: &AppState, room: &Room) -> RoomView {
    let window = room.window();
    let now = state.clock.now();
    RoomView {
        id: room.id.clone(),
        date: room.date.to_string(),
        start_time: room.start_time.map(|time| time.format("%H:%M").to_string()),
        time_zone: room.time_zone.name().to_owned(),
        title: room.title.clone(),
        patient_id: room.patient_id.clone(),
        entry_id: room.entry_id.clone(),
        invitees: room.invitees.iter().map(InviteeView::from).collect(),
        status: room_status(room, now),
        call_seconds: room.call_seconds(now),
        join_url: format!(
            "{}/join#{}",
            state.public_url,
            state.links.token_for(&room.id, &room.link_salt)
        ),
        valid_from: rfc3339(window.from),
        valid_until: rfc3339(window.until),
        created_at: rfc3339(room.created_at),
    }
}

/// Sends a room's invitations at once when its morning run has passed, and
/// returns the room as stored afterwards.
async fn send_if_due(state: &AppState, room: Room) -> Result<Room, ApiError> {
    let now = state.clock.now();
    if !room.has_outstanding_mail() || !state.invitations.is_due(&room, now) {
        return Ok(room);
    }
    state.invitations.send_room(&room, Trigger::Due).await;
    Ok(state
        .rooms
        .get(&room.id, state.clock.now())
        .await?
        .unwrap_or(room))
}

/// Create a room for one day. When the day is today and the morning emails
/// have gone out already, the invitations are sent at once.
#[utoipa::path(
    post,
    path = "/api/rooms",
    tag = "rooms",
    request_body = CreateRoomRequest,
    responses(
        (status = 201, description = "Room created", body = RoomView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field breaks a rule, such as an impossible date", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_room(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    body: Result<ApiJson<CreateRoomRequest>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let ApiJson(request) = body?;
    let room = request.into_room(&practitioner, state.clock.now(), state.retention)?;
    match state.rooms.insert(&room).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            // Two random 128-bit ids collided: practically impossible, but
            // it must not overwrite another room.
            return Err(ApiError::client(
                StatusCode::CONFLICT,
                "conflict",
                "room id collision; retry the request",
            ));
        }
        Err(error) => return Err(error.into()),
    }
    tracing::info!(room_id = %room.id, practitioner_id = %practitioner, date = %room.date, "room created");
    let room = send_if_due(&state, room).await?;
    Ok((StatusCode::CREATED, Json(view(&state, &room))))
}

/// List the caller's rooms in a date range.
#[utoipa::path(
    get,
    path = "/api/rooms",
    tag = "rooms",
    params(ListQuery),
    responses(
        (status = 200, description = "Rooms ordered by date and start time", body = RoomList),
        (status = 400, description = "Invalid query parameter", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn list_rooms(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<RoomList>, ApiError> {
    let Query(query) = query.map_err(|rejection| {
        ApiError::client(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            format!(
                "invalid query: only the parameters from and to (YYYY-MM-DD) are allowed, \
                 each at most once ({})",
                rejection
                    .body_text()
                    .trim_start_matches("Failed to deserialize query string: ")
            ),
        )
    })?;
    let now = state.clock.now();
    let today = today_in(DEFAULT_TIME_ZONE, now);
    let parse =
        |field: &str, text: Option<&String>, default: NaiveDate| -> Result<NaiveDate, ApiError> {
            let Some(text) = text else { return Ok(default) };
            parse_date(field, text).map_err(|error| ApiError::Client {
                status: StatusCode::BAD_REQUEST,
                code: "invalid-query",
                message: error.to_string(),
                field: Some(error.field),
            })
        };
    let from = parse(
        "from",
        query.from.as_ref(),
        today - Duration::days(DEFAULT_DAYS_BACK),
    )?;
    let to = parse(
        "to",
        query.to.as_ref(),
        today + Duration::weeks(DEFAULT_WEEKS_AHEAD),
    )?;
    if from > to {
        return Err(ApiError::client(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            format!("from ({from}) is after to ({to})"),
        ));
    }
    if to - from > Duration::days(MAX_LIST_DAYS) {
        return Err(ApiError::client(
            StatusCode::BAD_REQUEST,
            "invalid-query",
            format!("the range from {from} to {to} is longer than {MAX_LIST_DAYS} days"),
        ));
    }
    let mut rooms = state.rooms.list(&practitioner, from, to, now).await?;
    // Rooms without a start time come first on their day.
    rooms.sort_by(|a, b| {
        (a.date, a.start_time, a.created_at).cmp(&(b.date, b.start_time, b.created_at))
    });
    Ok(Json(RoomList {
        rooms: rooms.iter().map(|room| view(&state, room)).collect(),
    }))
}

/// Loads one of the caller's rooms, or returns 404 for any other id.
async fn own_room(state: &AppState, practitioner: &str, id: &str) -> Result<Room, ApiError> {
    if !is_random_id(id) {
        return Err(ApiError::room_not_found());
    }
    match state.rooms.get(id, state.clock.now()).await? {
        // Another practitioner's room gets the same 404 as a missing one, so
        // ids cannot be probed.
        Some(room) if room.practitioner_id == practitioner => Ok(room),
        _ => Err(ApiError::room_not_found()),
    }
}

fn path_id(path: Result<Path<String>, PathRejection>) -> Result<String, ApiError> {
    path.map(|Path(id)| id)
        .map_err(|_| ApiError::room_not_found())
}

/// Read one room.
#[utoipa::path(
    get,
    path = "/api/rooms/{id}",
    tag = "rooms",
    params(("id" = String, Path, description = "Room id, 32 hex digits")),
    responses(
        (status = 200, description = "The room", body = RoomView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No room with this id for the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_room(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomView>, ApiError> {
    let room = own_room(&state, &practitioner, &path_id(path)?).await?;
    Ok(Json(view(&state, &room)))
}

/// Delete a room; its link stops working at once.
#[utoipa::path(
    delete,
    path = "/api/rooms/{id}",
    tag = "rooms",
    params(("id" = String, Path, description = "Room id, 32 hex digits")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No room with this id for the caller", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_room(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = path_id(path)?;
    if !is_random_id(&id) || !state.rooms.delete(&practitioner, &id).await? {
        return Err(ApiError::room_not_found());
    }
    tracing::info!(room_id = %id, practitioner_id = %practitioner, "room deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Send the invitation emails again, now.
#[utoipa::path(
    post,
    path = "/api/rooms/{id}/invitations",
    tag = "rooms",
    params(("id" = String, Path, description = "Room id, 32 hex digits")),
    responses(
        (status = 200, description = "Sent; each invitee's status shows the result", body = RoomView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 404, description = "No room with this id for the caller", body = ErrorBody),
        (status = 409, description = "Not the room's day (`not-room-day`) or no invitee with an address (`no-invitees`)", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn resend_invitations(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<RoomView>, ApiError> {
    let id = path_id(path)?;
    let room = own_room(&state, &practitioner, &id).await?;
    let now = state.clock.now();
    if room.window().state_at(now) != DayState::Open {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "not-room-day",
            format!(
                "invitations can be sent only on the room's day, {} in {}",
                room.date, room.time_zone
            ),
        ));
    }
    if !room.holds_emails() {
        return Err(ApiError::client(
            StatusCode::CONFLICT,
            "no-invitees",
            "the room has no invitee with an email address",
        ));
    }
    let report = state.invitations.send_room(&room, Trigger::Resend).await;
    tracing::info!(room_id = %room.id, sent = report.sent, failed = report.failed, skipped = report.skipped, "invitations resent");
    let room = own_room(&state, &practitioner, &id).await?;
    Ok(Json(view(&state, &room)))
}

/// A calendar entry's room, or `null` when the entry is not held by video.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CalendarEntryView {
    pub entry_id: String,
    pub room: Option<RoomView>,
}

/// Reads an id of the practice software from the path and checks it with
/// [`parse_external_id`]; an invalid one gets 422 naming `field`.
pub(crate) fn path_text(
    path: Result<Path<String>, PathRejection>,
    field: &'static str,
) -> Result<String, ApiError> {
    let text = path
        .map(|Path(text)| text)
        .map_err(|_| ApiError::from(FieldError::new(field, "is not valid in the path")))?;
    parse_external_id(field, &text).map_err(ApiError::from)
}

/// Create, update or cancel the room of a calendar entry.
///
/// Idempotent: the same entry id always addresses the same room, also
/// under concurrent retries. A room exists while `video` is true or the
/// patient is flagged "always video"; otherwise an existing room is deleted.
/// Moving the entry to another day moves the room, and its invitees are
/// mailed again on the new day.
#[utoipa::path(
    put,
    path = "/api/calendar-entries/{entryId}",
    tag = "calendar entries",
    params(("entryId" = String, Path, description = "The practice software's entry id, 1 to 128 printable ASCII characters")),
    request_body = CalendarEntryRequest,
    responses(
        (status = 201, description = "A room was created for the entry", body = CalendarEntryView),
        (status = 200, description = "The entry's room was updated, or the entry has no room (`room` is null)", body = CalendarEntryView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 409, description = "The entry's room changed concurrently too often (`conflict`); retry", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field breaks a rule", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_calendar_entry(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<CalendarEntryRequest>, ApiError>,
) -> Result<impl IntoResponse, ApiError> {
    let entry_id = path_text(path, "entryId")?;
    let ApiJson(request) = body?;
    let (video, request) = request.into_parts()?;
    let now = state.clock.now();
    let mut update = request.into_room(&practitioner, now, state.retention)?;
    update.id = state.links.entry_room_id(&practitioner, &entry_id);
    update.entry_id = Some(entry_id.clone());

    let always_video = match &update.patient_id {
        Some(patient_id) => {
            state
                .preferences
                .always_video(&practitioner, patient_id)
                .await?
        }
        None => false,
    };
    if !video && !always_video {
        if state.rooms.delete(&practitioner, &update.id).await? {
            tracing::info!(room_id = %update.id, practitioner_id = %practitioner, "calendar entry no longer by video; room deleted");
        }
        let body = CalendarEntryView {
            entry_id,
            room: None,
        };
        return Ok((StatusCode::OK, Json(body)));
    }

    let (room, created) = upsert_entry_room(&state, update).await?;
    let room = send_if_due(&state, room).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = CalendarEntryView {
        entry_id,
        room: Some(view(&state, &room)),
    };
    Ok((status, Json(body)))
}

/// Inserts the entry's room or updates the stored one; retries when a
/// concurrent request won the race. Returns the room and whether it is new.
async fn upsert_entry_room(state: &AppState, update: Room) -> Result<(Room, bool), ApiError> {
    let now = state.clock.now();
    for _ in 0..5 {
        let changed = update_room(state.rooms.as_ref(), &update.id, now, |stored| {
            let before = stored.clone();
            stored.apply_update(update.clone());
            *stored != before
        })
        .await?;
        if let Some(room) = changed {
            if room.practitioner_id != update.practitioner_id {
                // The id includes the practitioner, so this cannot happen
                // unless the key was shared; never touch such a room.
                return Err(ApiError::client(
                    StatusCode::CONFLICT,
                    "conflict",
                    "the entry's room belongs to someone else",
                ));
            }
            tracing::info!(
                room_id = %room.id,
                practitioner_id = %room.practitioner_id,
                date = %room.date,
                "calendar entry's room updated"
            );
            return Ok((room, false));
        }
        match state.rooms.insert(&update).await {
            Ok(()) => {
                tracing::info!(
                    room_id = %update.id,
                    practitioner_id = %update.practitioner_id,
                    date = %update.date,
                    "calendar entry's room created"
                );
                return Ok((update, true));
            }
            // Another request created it meanwhile: update that one.
            Err(StoreError::Conflict(_)) => continue,
            Err(error) => return Err(error.into()),
        }
    }
    Err(ApiError::client(
        StatusCode::CONFLICT,
        "conflict",
        "the entry changed concurrently too often; retry the request",
    ))
}

/// Cancel a calendar entry: its room is deleted and its link stops working.
/// Succeeds also when the entry has no room.
#[utoipa::path(
    delete,
    path = "/api/calendar-entries/{entryId}",
    tag = "calendar entries",
    params(("entryId" = String, Path, description = "The practice software's entry id")),
    responses(
        (status = 204, description = "The entry has no room now"),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "The entry id breaks the rules", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn delete_calendar_entry(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let entry_id = path_text(path, "entryId")?;
    let id = state.links.entry_room_id(&practitioner, &entry_id);
    if state.rooms.delete(&practitioner, &id).await? {
        tracing::info!(room_id = %id, practitioner_id = %practitioner, "calendar entry cancelled; room deleted");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Whether a patient's calendar entries all get a room.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VideoPreferenceView {
    pub patient_id: String,
    pub always_video: bool,
}

/// Read whether a patient is flagged "always video".
#[utoipa::path(
    get,
    path = "/api/patients/{patientId}/video-preference",
    tag = "patients",
    params(("patientId" = String, Path, description = "The practice software's patient id")),
    responses(
        (status = 200, description = "The flag; false unless set", body = VideoPreferenceView),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 422, description = "The patient id breaks the rules", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_video_preference(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
) -> Result<Json<VideoPreferenceView>, ApiError> {
    let patient_id = path_text(path, "patientId")?;
    let always_video = state
        .preferences
        .always_video(&practitioner, &patient_id)
        .await?;
    Ok(Json(VideoPreferenceView {
        patient_id,
        always_video,
    }))
}

/// Set or clear "always video" ("Immer Videoanrufe erstellen") for a
/// patient. It applies to calendar entries stored from then on; rooms that
/// exist stay as they are.
#[utoipa::path(
    put,
    path = "/api/patients/{patientId}/video-preference",
    tag = "patients",
    params(("patientId" = String, Path, description = "The practice software's patient id")),
    request_body = VideoPreferenceRequest,
    responses(
        (status = 200, description = "Stored", body = VideoPreferenceView),
        (status = 400, description = "Malformed JSON or a field of the wrong type", body = ErrorBody),
        (status = 401, description = "Missing or invalid token", body = ErrorBody),
        (status = 413, description = "Body larger than 16 KiB", body = ErrorBody),
        (status = 415, description = "Content-Type is not application/json", body = ErrorBody),
        (status = 422, description = "A field or the patient id breaks a rule", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn put_video_preference(
    State(state): State<AppState>,
    Practitioner(practitioner): Practitioner,
    path: Result<Path<String>, PathRejection>,
    body: Result<ApiJson<VideoPreferenceRequest>, ApiError>,
) -> Result<Json<VideoPreferenceView>, ApiError> {
    let patient_id = path_text(path, "patientId")?;
    let ApiJson(request) = body?;
    let always_video = request
        .always_video
        .ok_or_else(|| FieldError::new("alwaysVideo", "is required (true or false)"))?;
    state
        .preferences
        .set_always_video(&practitioner, &patient_id, always_video, state.clock.now())
        .await?;
    tracing::info!(practitioner_id = %practitioner, always_video, "video preference stored");
    Ok(Json(VideoPreferenceView {
        patient_id,
        always_video,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invitee(delivery: Delivery) -> Invitee {
        Invitee {
            name: "Anna".to_owned(),
            email: "anna@example.org".to_owned(),
            locale: Locale::De,
            delivery,
            last_sent: None,
        }
    }

    #[test]
    fn invitee_status_per_delivery() {
        let at = DateTime::parse_from_rfc3339("2026-12-10T05:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            (Delivery::Pending, EmailStatus::Pending),
            (
                Delivery::Sending {
                    since: at,
                    attempts: 1,
                },
                EmailStatus::Sending,
            ),
            (
                Delivery::Sent {
                    at,
                    message_id: "m-1".to_owned(),
                    attempts: 1,
                },
                EmailStatus::Sent,
            ),
            (
                Delivery::Failed {
                    at,
                    reason: "throttled".to_owned(),
                    permanent: false,
                    attempts: 1,
                },
                EmailStatus::Pending,
            ),
            (
                Delivery::Failed {
                    at,
                    reason: "rejected".to_owned(),
                    permanent: true,
                    attempts: 1,
                },
                EmailStatus::Failed,
            ),
        ];
        for (delivery, status) in cases {
            let view = InviteeView::from(&invitee(delivery.clone()));
            assert_eq!(view.status, status, "{delivery:?}");
        }
    }
}
