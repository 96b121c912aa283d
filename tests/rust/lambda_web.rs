//! The web Lambda function fed HTTP API (payload 2.0) events.

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use video_core::http::web::WebSettings;

const SIGNALING_URL: &str = "wss://ws123.execute-api.eu-central-1.amazonaws.com/prod";

fn event(raw_path: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": {"host": "video.example.test"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api1",
            "domainName": "video.example.test",
            "domainPrefix": "video",
            "http": {"method": "GET", "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
            "requestId": "request-1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "04/Dec/2026:10:00:00 +0000",
            "timeEpoch": 1_796_378_400_000_i64
        },
        "isBase64Encoded": false
    })
}

async fn get(path: &str) -> (u16, axum::http::HeaderMap, Vec<u8>) {
    let router =
        web::app(WebSettings::new("https://video.example.test", Some(SIGNALING_URL)).unwrap());
    let request = lambda_http::request::from_str(&event(path).to_string()).unwrap();
    let response = router
        .oneshot(request.map(|body| Body::from(body.to_vec())))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, headers, body)
}

#[tokio::test]
async fn join_page_has_csp_naming_signaling_api() {
    let (status, headers, body) = get("/join").await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("<html"));
    let policy = headers["content-security-policy"].to_str().unwrap();
    assert!(
        policy.contains("connect-src 'self' wss://ws123.execute-api.eu-central-1.amazonaws.com;"),
        "{policy}"
    );
    assert!(
        headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
}

#[tokio::test]
async fn config_names_signaling_api() {
    let (status, _, body) = get("/config.json").await;
    assert_eq!(status, 200);
    let config: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(config["signalingUrl"], SIGNALING_URL);
}

#[tokio::test]
async fn unknown_and_encoded_paths_are_404() {
    for path in [
        "/nothing.js",
        "/%2e%2e/Cargo.toml",
        "/../shared/Cargo.toml",
        "/js/%00.js",
    ] {
        let (status, headers, _) = get(path).await;
        assert_eq!(status, 404, "{path}");
        assert!(headers.contains_key("content-security-policy"), "{path}");
    }
}
