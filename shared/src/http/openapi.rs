//! The OpenAPI document of the rooms API, generated from the handlers' and
//! types' annotations and served at `GET /api/openapi.json`.

use axum::Json;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Object, Ref, ResponseBuilder, Type};
use utoipa::{Modify, OpenApi};

use super::api;
use super::auth::ThrottlePolicy;
use super::error::ErrorBody;
use super::patient_data;
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
        api::put_video_preference,
        patient_data::export_patient_data,
        patient_data::erase_patient
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
        patient_data::PatientData,
        patient_data::PreferenceRecord,
        patient_data::PatientRoom,
        patient_data::InviteeRecord,
        patient_data::SentEmailRecord,
        ErrorBody
    )),
    modifiers(&BearerAuth, &TooManyAttempts),
    tags(
        (name = "rooms", description = "Create, list, read and delete video rooms; resend invitations"),
        (name = "calendar entries", description = "Rooms of the practice software's appointments"),
        (name = "patients", description = "Per-patient settings, and access to and erasure of a patient's data")
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

/// Adds the 429 response of the local server's throttle to every operation
/// that needs a token. The handlers do not declare it, because the
/// middleware in front of them returns it (`auth::throttle_failed_authentications`).
struct TooManyAttempts;

impl Modify for TooManyAttempts {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let retry_after = HeaderBuilder::new()
            .schema(Some(Object::with_type(Type::Integer)))
            .description(Some("Seconds until the address may try again"))
            .build();
        let policy = ThrottlePolicy::default();
        let response = ResponseBuilder::new()
            .description(format!(
                "Too many failed authentications from this client address \
                 (`too-many-attempts`): after {} within {} seconds, every request from the \
                 address gets 429 for {} seconds, even with a valid token. Only the local \
                 server answers this; on AWS, API Gateway rejects invalid tokens before they \
                 reach the API.",
                policy.max_failures,
                policy.window.num_seconds(),
                policy.window.num_seconds(),
            ))
            .header("Retry-After", retry_after)
            .content(
                "application/json",
                Content::new(Some(Ref::from_schema_name("ErrorBody"))),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                if operation.security.is_some() {
                    operation
                        .responses
                        .responses
                        .insert("429".to_owned(), response.clone().into());
                }
            }
        }
    }
}

pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_secured_operation_documents_429() {
        let document = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut secured = 0;
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                if operation.get("security").is_none() {
                    continue;
                }
                secured += 1;
                let answer = &operation["responses"]["429"];
                assert!(
                    answer["description"]
                        .as_str()
                        .is_some_and(|text| text.contains("too-many-attempts")),
                    "{method} {path}: {answer}"
                );
                assert_eq!(
                    answer["headers"]["Retry-After"]["schema"]["type"], "integer",
                    "{method} {path}"
                );
                assert_eq!(
                    answer["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path}"
                );
            }
        }
        assert_eq!(secured, 11, "every rooms API operation needs a token");
    }
}
