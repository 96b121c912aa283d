//! The OpenAPI document of the rooms API, generated from the handlers' and
//! types' annotations and served at `GET /api/openapi.json`.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;
use super::error::ErrorBody;
use crate::room::{
    CalendarEntryRequest, CreateRoomRequest, InviteeRequest, Locale, VideoPreferenceRequest,
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Video rooms API",
        description = "Rooms for peer-to-peer video calls between practices and their patients. \
                       Each room is bound to one day in the practice's time zone."
    ),
    paths(
        api::create_room,
        api::list_rooms,
        api::get_room,
        api::delete_room,
        api::resend_invitations,
        api::put_calendar_entry,
        api::delete_calendar_entry,
        api::get_video_preference,
        api::put_video_preference
    ),
    components(schemas(
        CreateRoomRequest,
        CalendarEntryRequest,
        VideoPreferenceRequest,
        InviteeRequest,
        Locale,
        api::RoomView,
        api::RoomStatus,
        api::InviteeView,
        api::EmailStatus,
        api::RoomList,
        api::CalendarEntryView,
        api::VideoPreferenceView,
        ErrorBody
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "rooms", description = "Create, list, read and delete video rooms; resend invitations"),
        (name = "calendar entries", description = "Rooms of the practice software's appointments"),
        (name = "patients", description = "Per-patient settings")
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        // The crate has no public licence to advertise.
        openapi.info.license = None;
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
