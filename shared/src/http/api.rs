//! The rooms API: create, list, read and delete rooms under `/api/rooms`.

use axum::extract::FromRequestParts;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::IntoResponse;
use axum::{Json, Router, routing::get};
use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::json::ApiJson;
use crate::random::is_random_id;
use crate::room::{CreateRoomRequest, DEFAULT_TIME_ZONE, Invitee, Room, parse_date};
use crate::store::StoreError;
use crate::validity::{rfc3339, today_in};

/// Default overview: rooms from 7 days back to 25 weeks ahead.
const DEFAULT_DAYS_BACK: i64 = 7;
const DEFAULT_WEEKS_AHEAD: i64 = 25;
const MAX_LIST_DAYS: i64 = 400;

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
    pub invitees: Vec<Invitee>,
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

pub(crate) fn view(state: &AppState, room: &Room) -> RoomView {
    let window = room.window();
    RoomView {
        id: room.id.clone(),
        date: room.date.to_string(),
        start_time: room.start_time.map(|time| time.format("%H:%M").to_string()),
        time_zone: room.time_zone.name().to_owned(),
        title: room.title.clone(),
        patient_id: room.patient_id.clone(),
        invitees: room.invitees.clone(),
        join_url: format!(
            "{}/join#{}",
            state.public_url,
            state.links.token_for(&room.id)
        ),
        valid_from: rfc3339(window.from),
        valid_until: rfc3339(window.until),
        created_at: rfc3339(room.created_at),
    }
}

/// Create a room for one day.
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
    let room = request.into_room(&practitioner, state.clock.now())?;
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
    Ok((StatusCode::CREATED, Json(view(&state, &room))))
}

/// List the caller's rooms in a date range.
#[utoipa::path(
    get,
    path = "/api/rooms",
    tag = "rooms",
    params(ListQuery),
    responses(
        (status = 200, description = "Rooms ordered by date", body = RoomList),
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
    let rooms = state.rooms.list(&practitioner, from, to, now).await?;
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
