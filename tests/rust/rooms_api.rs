//! Black-box tests of the rooms API through the router, without a socket.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use video_core::store::RoomStore;
use video_tests::{
    PUBLIC_URL, Received, RunningServer, TOKEN_A, TOKEN_B, app, connect, local_config, receive,
    receive_json, request, send, send_json, test_now,
};

async fn create(router: &axum::Router, token: &str, body: Value) -> video_tests::Reply {
    send(
        router,
        request(
            Method::POST,
            "/api/rooms",
            Some(token),
            Some(&body.to_string()),
        ),
    )
    .await
}

fn assert_error(reply: &video_tests::Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.json);
    assert_eq!(reply.json["error"], code, "{}", reply.json);
    assert!(
        reply.json["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{}",
        reply.json
    );
}

#[tokio::test]
async fn create_returns_room_with_join_url() {
    let app = app();
    let body = json!({
        "date": "2026-12-13", "startTime": "09:30", "title": "Erstgespräch", "patientId": "P-17",
        "invitees": [{"name": "Anna Beispiel", "email": "anna@example.org", "locale": "en"}]
    });
    let reply = create(&app.router, TOKEN_A, body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    let room = &reply.json;
    assert_eq!(room["date"], "2026-12-13");
    assert_eq!(room["timeZone"], "Europe/Berlin");
    assert_eq!(room["startTime"], "09:30");
    assert_eq!(room["invitees"][0]["locale"], "en");
    assert_eq!(room["validFrom"], "2026-12-12T23:00:00Z");
    let join_url = room["joinUrl"].as_str().unwrap();
    let token = join_url
        .strip_prefix(&format!("{PUBLIC_URL}/join#"))
        .expect("join URL carries the token in the fragment");
    let id = room["id"].as_str().unwrap();
    let stored = app
        .store
        .get(id, video_tests::test_now())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.links.verify(token, &stored.link_salt), Ok(id));
}

#[tokio::test]
async fn create_accepts_other_time_zone() {
    let app = app();
    let reply = create(
        &app.router,
        TOKEN_A,
        json!({"date": "2026-12-13", "timeZone": "Europe/Vienna"}),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.json["timeZone"], "Europe/Vienna");
}

#[tokio::test]
async fn missing_or_wrong_token_is_401() {
    let app = app();
    let body = json!({"date": "2026-12-13"}).to_string();
    for token in [None, Some("wrong-token-0000000000")] {
        let reply = send(
            &app.router,
            request(Method::POST, "/api/rooms", token, Some(&body)),
        )
        .await;
        assert_error(&reply, StatusCode::UNAUTHORIZED, "unauthorized");
        assert_eq!(reply.headers["www-authenticate"], "Bearer");
        let reply = send(&app.router, request(Method::GET, "/api/rooms", token, None)).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    }
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = app();
    for body in [
        "{",
        "{\"date\": }",
        "",
        "[1,2",
        "nul",
        "[]",
        "\"2026-12-13\"",
        "null",
    ] {
        let reply = send(
            &app.router,
            request(Method::POST, "/api/rooms", Some(TOKEN_A), Some(body)),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid-json");
    }
}

#[tokio::test]
async fn repeated_member_is_400() {
    let app = app();
    let body = r#"{"date": "2026-12-13", "date": "2026-12-14"}"#;
    let reply = send(
        &app.router,
        request(Method::POST, "/api/rooms", Some(TOKEN_A), Some(body)),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid-field");
    assert_eq!(reply.json["field"], "date");
    let message = reply.json["message"].as_str().unwrap();
    assert!(
        message.starts_with("date: duplicate field `date`"),
        "{message}"
    );
}

#[tokio::test]
async fn byte_order_mark_is_named() {
    let app = app();
    let body = "\u{FEFF}{\"date\": \"2026-12-13\"}";
    let reply = send(
        &app.router,
        request(Method::POST, "/api/rooms", Some(TOKEN_A), Some(body)),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "invalid-json");
    let message = reply.json["message"].as_str().unwrap();
    assert!(message.contains("byte order mark"), "{message}");
}

#[tokio::test]
async fn compressed_body_is_415() {
    let app = app();
    let mut gzip = request(
        Method::POST,
        "/api/rooms",
        Some(TOKEN_A),
        Some(r#"{"date": "2026-12-13"}"#),
    );
    gzip.headers_mut()
        .insert("content-encoding", "gzip".parse().unwrap());
    let reply = send(&app.router, gzip).await;
    assert_error(
        &reply,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported-media-type",
    );
    let message = reply.json["message"].as_str().unwrap();
    assert!(message.contains("Content-Encoding"), "{message}");
}

#[tokio::test]
async fn wrong_json_types_name_field() {
    let app = app();
    let cases = [
        (json!({"date": 20261213}), "date"),
        (json!({"date": "2026-12-13", "invitees": {}}), "invitees"),
        (
            json!({"date": "2026-12-13", "invitees": [{"name": "A", "email": 5}]}),
            "invitees[0].email",
        ),
        (json!({"date": "2026-12-13", "colour": "blue"}), "colour"),
    ];
    for (body, field) in cases {
        let reply = create(&app.router, TOKEN_A, body.clone()).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid-field");
        assert!(
            reply.json["message"].as_str().unwrap().contains(field),
            "{body}: {}",
            reply.json
        );
    }
}

#[tokio::test]
async fn invalid_fields_are_422_naming_field() {
    let app = app();
    let invitee = |email: &str| json!({"name": "Anna", "email": email});
    let cases = [
        (json!({}), "date"),
        (json!({"date": null}), "date"),
        (json!({"date": "2026-02-30"}), "date"),
        (json!({"date": "2026-13-01"}), "date"),
        (json!({"date": "13.12.2026"}), "date"),
        (json!({"date": "2026-12-03"}), "date"),
        (
            json!({"date": "2026-12-13", "timeZone": "Mars/Olympus"}),
            "timeZone",
        ),
        (json!({"date": "2026-12-13", "timeZone": ""}), "timeZone"),
        (
            json!({"date": "2026-12-13", "startTime": "25:00"}),
            "startTime",
        ),
        (json!({"date": "2026-12-13", "title": ""}), "title"),
        (
            json!({"date": "2026-12-13", "patientId": "with space"}),
            "patientId",
        ),
        (
            json!({"date": "2026-12-13", "invitees": [invitee("no-at-sign")]}),
            "invitees[0].email",
        ),
        (
            json!({"date": "2026-12-13", "invitees": [invitee("a@b.de"), invitee("a@")]}),
            "invitees[1].email",
        ),
        (
            json!({"date": "2026-12-13", "invitees": [{"email": "a@b.de"}]}),
            "invitees[0].name",
        ),
        (
            json!({"date": "2026-12-13", "invitees": [{"name": "A", "email": "a@b.de", "locale": "fr"}]}),
            "invitees[0].locale",
        ),
        (
            json!({"date": "2026-12-13", "invitees": vec![invitee("a@b.de"); 9]}),
            "invitees",
        ),
    ];
    for (body, field) in cases {
        let reply = create(&app.router, TOKEN_A, body.clone()).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid-field");
        assert_eq!(reply.json["field"], field, "{body}");
        assert!(
            reply.json["message"].as_str().unwrap().starts_with(field),
            "{body}: {}",
            reply.json
        );
    }
}

/// Names made only of characters that display as nothing, or that reorder
/// the text, would show an empty or misleading invitee in the overview and
/// the invitation.
const UNREADABLE_NAMES: [&str; 5] = [
    "\u{200B}\u{200B}",
    "\u{3164}",
    "\u{2800}",
    "\u{115F}\u{1160}",
    "Anna\u{202E}reteP",
];

#[tokio::test]
async fn unreadable_invitee_names_are_422() {
    let app = app();
    for name in UNREADABLE_NAMES {
        let body = json!({
            "date": "2026-12-13",
            "invitees": [{"name": name, "email": "anna@example.org"}],
        });
        let reply = create(&app.router, TOKEN_A, body).await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid-field");
        assert_eq!(reply.json["field"], "invitees[0].name", "{name:?}");
    }
    let list = send(
        &app.router,
        request(Method::GET, "/api/rooms", Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(list.json["rooms"], json!([]), "no room was created");
}

#[tokio::test]
async fn calendar_update_rejects_unreadable_invitee_name() {
    let app = app();
    let path = "/api/calendar-entries/termin-unreadable";
    let entry = |name: &str| {
        json!({
            "date": "2026-12-13",
            "video": true,
            "invitees": [{"name": name, "email": "anna@example.org"}],
        })
        .to_string()
    };
    let created = send(
        &app.router,
        request(Method::PUT, path, Some(TOKEN_A), Some(&entry("Anna"))),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.json);

    for name in UNREADABLE_NAMES {
        let reply = send(
            &app.router,
            request(Method::PUT, path, Some(TOKEN_A), Some(&entry(name))),
        )
        .await;
        assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "invalid-field");
        assert_eq!(reply.json["field"], "invitees[0].name", "{name:?}");
    }
    let room_path = format!(
        "/api/rooms/{}",
        created.json["room"]["id"].as_str().unwrap()
    );
    let stored = send(
        &app.router,
        request(Method::GET, &room_path, Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(
        stored.json["invitees"][0]["name"], "Anna",
        "the room kept its name"
    );
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = app();
    for content_type in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("application/jsonx"),
    ] {
        let mut builder = Request::builder()
            .method(Method::POST)
            .uri("/api/rooms")
            .header("authorization", format!("Bearer {TOKEN_A}"));
        if let Some(content_type) = content_type {
            builder = builder.header("content-type", content_type);
        }
        let reply = send(
            &app.router,
            builder
                .body(Body::from(r#"{"date":"2026-12-13"}"#))
                .unwrap(),
        )
        .await;
        assert_error(
            &reply,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
        );
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api/rooms")
        .header("authorization", format!("Bearer {TOKEN_A}"))
        .header("content-type", "application/json; charset=utf-8")
        .body(Body::from(r#"{"date":"2026-12-13"}"#))
        .unwrap();
    assert_eq!(send(&app.router, request).await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = app();
    let body = json!({"date": "2026-12-13", "title": "x".repeat(20_000)}).to_string();
    let reply = send(
        &app.router,
        request(Method::POST, "/api/rooms", Some(TOKEN_A), Some(&body)),
    )
    .await;
    assert_error(&reply, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
}

#[tokio::test]
async fn get_list_and_delete_own_room() {
    let app = app();
    let created = create(&app.router, TOKEN_A, json!({"date": "2026-12-13"}))
        .await
        .json;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/rooms/{id}");

    let fetched = send(
        &app.router,
        request(Method::GET, &path, Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(fetched.status, StatusCode::OK);
    assert_eq!(fetched.json, created);

    let listed = send(
        &app.router,
        request(
            Method::GET,
            "/api/rooms?from=2026-12-01&to=2026-12-31",
            Some(TOKEN_A),
            None,
        ),
    )
    .await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json["rooms"][0]["id"], id);

    let deleted = send(
        &app.router,
        request(Method::DELETE, &path, Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let again = send(
        &app.router,
        request(Method::GET, &path, Some(TOKEN_A), None),
    )
    .await;
    assert_error(&again, StatusCode::NOT_FOUND, "not-found");
    let again = send(
        &app.router,
        request(Method::DELETE, &path, Some(TOKEN_A), None),
    )
    .await;
    assert_error(&again, StatusCode::NOT_FOUND, "not-found");
}

#[tokio::test]
async fn list_defaults_cover_last_week_to_25_weeks() {
    let app = app();
    for date in ["2026-12-04", "2027-05-27"] {
        assert_eq!(
            create(&app.router, TOKEN_A, json!({"date": date}))
                .await
                .status,
            StatusCode::CREATED
        );
    }
    // The default range ends 25 weeks (175 days) after 2026-12-04, on
    // 2027-05-28, so a room on 2027-05-29 is outside it.
    create(&app.router, TOKEN_A, json!({"date": "2027-05-29"})).await;
    let listed = send(
        &app.router,
        request(Method::GET, "/api/rooms", Some(TOKEN_A), None),
    )
    .await;
    let dates: Vec<&str> = listed.json["rooms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, vec!["2026-12-04", "2027-05-27"]);
}

#[tokio::test]
async fn list_rejects_bad_ranges() {
    let app = app();
    for query in [
        "from=yesterday",
        "to=2026-02-30",
        "from=2026-12-10&to=2026-12-01",
        "from=2026-01-01&to=2027-12-31",
        "size=3",
    ] {
        let reply = send(
            &app.router,
            request(
                Method::GET,
                &format!("/api/rooms?{query}"),
                Some(TOKEN_A),
                None,
            ),
        )
        .await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "invalid-query");
    }
}

#[tokio::test]
async fn other_practitioners_room_is_404() {
    let app = app();
    let created = create(&app.router, TOKEN_A, json!({"date": "2026-12-13"}))
        .await
        .json;
    let path = format!("/api/rooms/{}", created["id"].as_str().unwrap());
    let reply = send(
        &app.router,
        request(Method::GET, &path, Some(TOKEN_B), None),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not-found");
    let reply = send(
        &app.router,
        request(Method::DELETE, &path, Some(TOKEN_B), None),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not-found");
    let listed = send(
        &app.router,
        request(Method::GET, "/api/rooms", Some(TOKEN_B), None),
    )
    .await;
    assert_eq!(listed.json["rooms"], json!([]));
    let still_there = send(
        &app.router,
        request(Method::GET, &path, Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(still_there.status, StatusCode::OK);
}

#[tokio::test]
async fn malformed_ids_are_404() {
    let app = app();
    for id in [
        "abc",
        "..%2F..%2Fetc",
        "%FF",
        "ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ",
    ] {
        let reply = send(
            &app.router,
            request(
                Method::GET,
                &format!("/api/rooms/{id}"),
                Some(TOKEN_A),
                None,
            ),
        )
        .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "not-found");
    }
}

#[tokio::test]
async fn unknown_path_and_method_get_json_errors() {
    let app = app();
    let reply = send(
        &app.router,
        request(Method::GET, "/api/nothing", Some(TOKEN_A), None),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "not-found");
    let reply = send(
        &app.router,
        request(Method::PUT, "/api/rooms", Some(TOKEN_A), None),
    )
    .await;
    assert_error(&reply, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed");
}

#[tokio::test]
async fn openapi_document_lists_room_paths() {
    let app = app();
    let reply = send(
        &app.router,
        request(Method::GET, "/api/openapi.json", None, None),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.json["openapi"].as_str().unwrap().starts_with("3."));
    let paths = &reply.json["paths"];
    assert!(paths["/api/rooms"]["post"].is_object());
    assert!(paths["/api/rooms"]["get"].is_object());
    assert!(paths["/api/rooms/{id}"]["get"].is_object());
    assert!(paths["/api/rooms/{id}"]["delete"].is_object());
    assert!(reply.json["components"]["schemas"]["CreateRoomRequest"].is_object());
    assert!(paths["/api/patients/{patientId}"]["delete"].is_object());
    assert!(paths["/api/patients/{patientId}/data"]["get"].is_object());
    let export = &reply.json["components"]["schemas"]["PatientData"];
    let description = export["description"]
        .as_str()
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        description.contains("Link tokens are not part of it"),
        "{export}"
    );
    assert!(
        export["properties"]["videoPreference"].is_object(),
        "{export}"
    );
    assert_eq!(
        reply.json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    // Every body is capped at 16 KiB and must be JSON.
    for (path, operations) in paths.as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            if operation.get("requestBody").is_none() {
                continue;
            }
            for status in ["413", "415"] {
                assert!(
                    operation["responses"][status].is_object(),
                    "{method} {path} lists no {status}"
                );
            }
        }
    }
}

#[tokio::test]
async fn responses_carry_security_headers() {
    let app = app();
    for path in ["/api/rooms", "/join", "/config.json"] {
        let reply = send(&app.router, request(Method::GET, path, None, None)).await;
        let csp = reply.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("default-src 'none'"), "{path}: {csp}");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(reply.headers["referrer-policy"], "no-referrer", "{path}");
        assert_eq!(reply.headers["x-content-type-options"], "nosniff", "{path}");
    }
}

#[tokio::test]
async fn join_page_is_served_without_side_effects() {
    let app = app();
    let reply = send(&app.router, request(Method::GET, "/join", None, None)).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(
        reply.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let listed = send(
        &app.router,
        request(Method::GET, "/api/rooms", Some(TOKEN_A), None),
    )
    .await;
    assert_eq!(listed.json["rooms"], json!([]));
}

#[tokio::test]
async fn runtime_config_follows_host() {
    let app = app();
    let request = Request::builder()
        .uri("/config.json")
        .header("host", "localhost:9999")
        .body(Body::empty())
        .unwrap();
    let reply = send(&app.router, request).await;
    assert_eq!(reply.json["signalingUrl"], "wss://localhost:9999/ws");
}

#[tokio::test]
async fn bad_input_never_yields_500() {
    let app = app();
    let bodies = [
        "\u{0}",
        "{\"date\":\"\u{202e}2026-12-13\"}",
        "{\"date\":\"2026-12-13\",\"invitees\":[null]}",
        "{\"date\":\"2026-12-13\",\"title\":\"\\ud800\"}",
        "{\"date\":\"9999-12-31\"}",
        "{\"date\":\"0000-01-01\"}",
        "{\"date\":\"2026-12-13\",\"timeZone\":\"../../etc/passwd\"}",
        "1e999999",
    ];
    for body in bodies {
        let reply = send(
            &app.router,
            request(Method::POST, "/api/rooms", Some(TOKEN_A), Some(body)),
        )
        .await;
        assert!(
            reply.status.is_client_error(),
            "{body:?}: {} {}",
            reply.status,
            reply.json
        );
    }
}

// ---------------------------------------------------------------------------
// A patient's data: export and erasure

/// Calls the API as the practitioner of `token` and returns status and body.
async fn call(
    router: &axum::Router,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> video_tests::Reply {
    let body = body.map(|body| body.to_string());
    send(router, request(method, path, Some(token), body.as_deref())).await
}

fn patient_room_body(date: &str, patient: Option<&str>, title: &str) -> Value {
    let mut body = json!({
        "date": date, "startTime": "15:00", "title": title,
        "invitees": [{"name": "Anna Beispiel", "email": "anna@example.org", "locale": "en"}]
    });
    if let Some(patient) = patient {
        body["patientId"] = json!(patient);
    }
    body
}

/// The rooms of one test: `dr-a`'s three rooms of patient P-7 (today, an
/// appointment 300 days ahead and a calendar entry), and rooms that the
/// erasure of P-7 by `dr-a` must leave alone.
struct PatientRooms {
    own: Vec<String>,
    other_patient: String,
    no_patient: String,
    other_practitioner: String,
}

async fn create_patient_rooms(router: &axum::Router) -> PatientRooms {
    let mut own = Vec::new();
    for (date, title) in [
        ("2026-12-04", "Erstgespräch"),
        ("2027-10-01", "Folgetermin"),
    ] {
        let reply = create(router, TOKEN_A, patient_room_body(date, Some("P-7"), title)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
        own.push(reply.json["id"].as_str().unwrap().to_owned());
    }
    let mut entry = patient_room_body("2026-12-20", Some("P-7"), "Termin");
    entry["video"] = json!(true);
    let reply = call(
        router,
        TOKEN_A,
        Method::PUT,
        "/api/calendar-entries/termin-4711",
        Some(entry),
    )
    .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.json);
    own.push(reply.json["room"]["id"].as_str().unwrap().to_owned());

    let id = |reply: video_tests::Reply| reply.json["id"].as_str().unwrap().to_owned();
    let other_patient = id(create(
        router,
        TOKEN_A,
        patient_room_body("2026-12-04", Some("P-8"), "Andere"),
    )
    .await);
    let no_patient = id(create(
        router,
        TOKEN_A,
        patient_room_body("2026-12-04", None, "Ohne"),
    )
    .await);
    let other_practitioner = id(create(
        router,
        TOKEN_B,
        patient_room_body("2026-12-04", Some("P-7"), "Praxis B"),
    )
    .await);
    for token in [TOKEN_A, TOKEN_B] {
        let reply = call(
            router,
            token,
            Method::PUT,
            "/api/patients/P-7/video-preference",
            Some(json!({"alwaysVideo": true})),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    }
    PatientRooms {
        own,
        other_patient,
        no_patient,
        other_practitioner,
    }
}

fn exported_ids(data: &Value) -> Vec<String> {
    data["rooms"]
        .as_array()
        .expect("rooms is an array")
        .iter()
        .map(|room| room["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn patient_data_lists_exactly_the_patients_rooms() {
    let app = app();
    let rooms = create_patient_rooms(&app.router).await;
    let today = call(
        &app.router,
        TOKEN_A,
        Method::GET,
        &format!("/api/rooms/{}", rooms.own[0]),
        None,
    )
    .await
    .json;

    let reply = call(
        &app.router,
        TOKEN_A,
        Method::GET,
        "/api/patients/P-7/data",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.json);
    let data = &reply.json;
    assert_eq!(data["patientId"], "P-7");
    assert_eq!(data["videoPreference"], json!({"alwaysVideo": true}));
    // Ordered by date: today, the calendar entry, 300 days ahead.
    assert_eq!(
        exported_ids(data),
        vec![
            rooms.own[0].clone(),
            rooms.own[2].clone(),
            rooms.own[1].clone()
        ]
    );

    let first = &data["rooms"][0];
    assert_eq!(first["date"], "2026-12-04");
    assert_eq!(first["startTime"], "15:00");
    assert_eq!(first["timeZone"], "Europe/Berlin");
    assert_eq!(first["title"], "Erstgespräch");
    assert_eq!(first["status"], "today");
    assert_eq!(first["callSeconds"], 0);
    assert_eq!(first["createdAt"], "2026-12-04T10:00:00Z");
    assert_eq!(first["expiresAt"], "2026-12-12T23:00:00Z");
    let invitee = &first["invitees"][0];
    assert_eq!(invitee["name"], "Anna Beispiel");
    assert_eq!(invitee["email"], "anna@example.org");
    assert_eq!(invitee["locale"], "en");
    assert_eq!(
        invitee["status"], "sent",
        "created today after 06:00: mailed"
    );
    assert_eq!(invitee["attempts"], 1);
    assert_eq!(invitee["sentAt"], today["invitees"][0]["sentAt"]);
    assert!(invitee["messageId"].is_string(), "{invitee}");
    assert_eq!(invitee["lastSent"]["date"], "2026-12-04");
    assert_eq!(invitee["lastSent"]["startTime"], "15:00");
    assert_eq!(data["rooms"][1]["entryId"], "termin-4711");
    assert_eq!(data["rooms"][2]["status"], "planned");
    assert_eq!(data["rooms"][2]["invitees"][0]["status"], "pending");
    assert_eq!(data["rooms"][2]["invitees"][0]["attempts"], 0);

    // No link: neither the URL nor the token's tag.
    let text = data.to_string();
    let join_url = today["joinUrl"].as_str().unwrap();
    let tag = join_url.rsplit_once('.').unwrap().1;
    assert!(first.get("joinUrl").is_none(), "{first}");
    assert!(!text.contains(tag), "the export holds the link tag: {text}");
    assert!(!text.contains("linkSalt"), "{text}");

    // The other practitioner reads only its own room and flag for the same id.
    let reply = call(
        &app.router,
        TOKEN_B,
        Method::GET,
        "/api/patients/P-7/data",
        None,
    )
    .await;
    assert_eq!(
        exported_ids(&reply.json),
        vec![rooms.other_practitioner.clone()]
    );
    let reply = call(
        &app.router,
        TOKEN_A,
        Method::GET,
        "/api/patients/P-8/data",
        None,
    )
    .await;
    assert_eq!(exported_ids(&reply.json), vec![rooms.other_patient.clone()]);
    assert_eq!(reply.json["videoPreference"], Value::Null);
    let reply = call(
        &app.router,
        TOKEN_A,
        Method::GET,
        "/api/patients/P-unbekannt/data",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.json,
        json!({"patientId": "P-unbekannt", "videoPreference": null, "rooms": []})
    );
}

#[tokio::test]
async fn patient_erasure_removes_only_the_patients_data() {
    let app = app();
    let rooms = create_patient_rooms(&app.router).await;
    let read = |token: &'static str, path: String| {
        let router = app.router.clone();
        async move { call(&router, token, Method::GET, &path, None).await }
    };
    let untouched = [
        (TOKEN_A, format!("/api/rooms/{}", rooms.other_patient)),
        (TOKEN_A, format!("/api/rooms/{}", rooms.no_patient)),
        (TOKEN_B, format!("/api/rooms/{}", rooms.other_practitioner)),
        (TOKEN_B, "/api/patients/P-7/data".to_owned()),
        (TOKEN_B, "/api/patients/P-7/video-preference".to_owned()),
        (TOKEN_A, "/api/patients/P-8/data".to_owned()),
    ];
    let mut before = Vec::new();
    for (token, path) in &untouched {
        let reply = read(token, path.clone()).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}: {}", reply.json);
        before.push(reply.json);
    }

    let reply = call(
        &app.router,
        TOKEN_A,
        Method::DELETE,
        "/api/patients/P-7",
        None,
    )
    .await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "{}", reply.json);
    assert_eq!(reply.json, Value::Null, "204 has no body");

    let reply = read(TOKEN_A, "/api/patients/P-7/data".to_owned()).await;
    assert_eq!(
        reply.json,
        json!({"patientId": "P-7", "videoPreference": null, "rooms": []})
    );
    for id in &rooms.own {
        let reply = read(TOKEN_A, format!("/api/rooms/{id}")).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "not-found");
        let stored = app
            .store
            .get(id, video_core::store::BEFORE_EVERY_EXPIRY)
            .await
            .unwrap();
        assert_eq!(stored, None, "room {id} is gone from the store");
    }
    let reply = read(TOKEN_A, "/api/patients/P-7/video-preference".to_owned()).await;
    assert_eq!(
        reply.json,
        json!({"patientId": "P-7", "alwaysVideo": false})
    );
    let listed = read(
        TOKEN_A,
        "/api/rooms?from=2026-12-01&to=2027-12-31".to_owned(),
    )
    .await;
    let mut listed_ids = exported_ids(&listed.json);
    listed_ids.sort();
    let mut expected = vec![rooms.other_patient.clone(), rooms.no_patient.clone()];
    expected.sort();
    assert_eq!(listed_ids, expected);

    for ((token, path), before) in untouched.iter().zip(&before) {
        let after = read(token, path.clone()).await;
        assert_eq!(&after.json, before, "{path} is unchanged");
    }

    // Idempotent, and an unknown patient gets the same response.
    for path in ["/api/patients/P-7", "/api/patients/P-unbekannt"] {
        let reply = call(&app.router, TOKEN_A, Method::DELETE, path, None).await;
        assert_eq!(reply.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(reply.json, Value::Null, "{path}");
    }
}

#[tokio::test]
async fn invalid_patient_ids_get_the_preference_routes_error() {
    let app = app();
    let too_long = "x".repeat(129);
    for id in ["has%20space", "%C3%A4", "tab%09", too_long.as_str(), "%FF"] {
        let preference = call(
            &app.router,
            TOKEN_A,
            Method::GET,
            &format!("/api/patients/{id}/video-preference"),
            None,
        )
        .await;
        assert_error(
            &preference,
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-field",
        );
        assert_eq!(preference.json["field"], "patientId", "{id}");
        for (method, path) in [
            (Method::GET, format!("/api/patients/{id}/data")),
            (Method::DELETE, format!("/api/patients/{id}")),
        ] {
            let reply = call(&app.router, TOKEN_A, method.clone(), &path, None).await;
            assert_eq!(reply.status, preference.status, "{method} {path}");
            assert_eq!(reply.json, preference.json, "{method} {path}");
        }
    }
}

/// Sends one HTTP/1.1 request to a running server and returns status and
/// JSON body.
async fn http_call(
    server: &RunningServer,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.address)
        .await
        .unwrap();
    let body = body.map(Value::to_string).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {TOKEN_A}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        server.address,
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

async fn join(server: &RunningServer, token: &str, name: &str) -> (video_tests::Socket, Value) {
    let mut socket = connect(server.address).await;
    send_json(
        &mut socket,
        json!({"type": "join", "v": 1, "token": token, "name": name}),
    )
    .await;
    let reply = receive_json(&mut socket).await;
    (socket, reply)
}

/// On the local server over its WebSocket: erasing a patient whose room has
/// a running call kills the link at once, while the two people in the call
/// stay connected, as after `DELETE /api/rooms/{id}`. The call ending
/// afterwards does not bring the room back.
#[tokio::test]
async fn erased_rooms_link_no_longer_joins() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(
        dir.path(),
        Some(std::sync::Arc::new(video_core::clock::FixedClock(
            test_now(),
        ))),
    ))
    .await;
    let (status, room) = http_call(
        &server,
        "POST",
        "/api/rooms",
        Some(&json!({"date": "2026-12-04", "patientId": "P-7"})),
    )
    .await;
    assert_eq!(status, 201, "{room}");
    let token = room["joinUrl"]
        .as_str()
        .unwrap()
        .split_once('#')
        .unwrap()
        .1
        .to_owned();

    let (mut first, first_joined) = join(&server, &token, "Dr. Weber").await;
    assert_eq!(first_joined["type"], "joined");
    let (mut second, second_joined) = join(&server, &token, "Anna").await;
    assert_eq!(second_joined["type"], "joined");
    assert_eq!(receive_json(&mut first).await["type"], "peer-joined");
    // The server records the call's start after it has sent `joined`.
    let mut data = Value::Null;
    for _ in 0..100 {
        data = http_call(&server, "GET", "/api/patients/P-7/data", None)
            .await
            .1;
        if data["rooms"][0]["callRunningSince"].is_string() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(
        data["rooms"][0]["callRunningSince"], "2026-12-04T10:00:00Z",
        "{data}"
    );

    let (status, _) = http_call(&server, "DELETE", "/api/patients/P-7", None).await;
    assert_eq!(status, 204);

    let (mut third, reply) = join(&server, &token, "Gast").await;
    assert_eq!(reply["type"], "error");
    assert_eq!(reply["code"], "invalid-link");
    match receive(&mut third).await {
        Received::Closed(code) => assert_eq!(code, Some(4001)),
        Received::Json(message) => panic!("expected a close, got {message}"),
    }

    // The call goes on: signals still pass between the two.
    let offer = json!({"description": {"type": "offer", "sdp": "v=0\r\n"}});
    send_json(
        &mut second,
        json!({"type": "signal", "to": first_joined["peerId"], "data": offer}),
    )
    .await;
    assert_eq!(receive_json(&mut first).await["data"], offer);

    // Leaving ends the call's time tracking, which must not write the room back.
    send_json(&mut second, json!({"type": "leave"})).await;
    assert_eq!(receive_json(&mut first).await["type"], "peer-left");
    let (status, _) = http_call(
        &server,
        "GET",
        &format!("/api/rooms/{}", room["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, data) = http_call(&server, "GET", "/api/patients/P-7/data", None).await;
    assert_eq!(data["rooms"], json!([]));
    server.stop().await;
}
