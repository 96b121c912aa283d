//! Black-box tests of the rooms API through the router, without a socket.

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use video_core::store::RoomStore;
use video_tests::{PUBLIC_URL, TOKEN_A, TOKEN_B, app, request, send};

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
    assert_eq!(
        reply.json["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
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
