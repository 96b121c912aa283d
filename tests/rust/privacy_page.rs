//! The privacy page at `/privacy` and `/datenschutz`, served without
//! authentication by the local server over TCP and by the web Lambda function
//! fed HTTP API (payload 2.0) events. The tests cover the language choice, the
//! operator details and their HTML escaping, and the text without them. They
//! also cover the facts that follow from the settings, the
//! Content-Security-Policy, and the rejection of invalid settings.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Body;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tower::ServiceExt;
use video_core::privacy::Operator;
use video_core::room::Retention;
use video_tests::{RunningServer, local_config};

const GERMAN_TITLE: &str = "<h1>Datenschutzhinweise zur Videosprechstunde</h1>";
const ENGLISH_TITLE: &str = "<h1>Privacy notice for video consultations</h1>";
const GERMAN_MISSING: &str = "Der Betreiber dieses Dienstes hat hier keinen Namen und keine \
                              Anschrift angegeben.";
const ENGLISH_MISSING: &str = "The operator of this service has not given a name or an address \
                               here.";
const SIGNALING_URL: &str = "wss://ws123.execute-api.eu-central-1.amazonaws.com/prod";

/// One HTTP response, with header names in lower case.
struct Page {
    status: u16,
    headers: HashMap<String, String>,
    body: String,
}

impl Page {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .map(String::as_str)
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

/// Sends one request without any credentials to the local server and reads
/// the whole response.
async fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    accept_language: Option<&str>,
) -> Page {
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let language = accept_language
        .map(|value| format!("Accept-Language: {value}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\n{language}Connection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).await.unwrap();
    let text = String::from_utf8(bytes).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap()[9..12].parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
        .collect();
    Page {
        status,
        headers,
        body: body.to_owned(),
    }
}

async fn get(address: SocketAddr, path: &str, accept_language: Option<&str>) -> Page {
    request(address, "GET", path, accept_language).await
}

/// Asserts an HTML page in `lang` whose title is `title`.
fn assert_page(page: &Page, lang: &str, title: &str) {
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("content-language"), lang);
    assert_eq!(page.header("vary"), "Accept-Language");
    assert!(
        page.body.contains(&format!("<html lang=\"{lang}\">")),
        "{}",
        page.body
    );
    assert!(page.body.contains(title), "{}", page.body);
}

fn praxis_operator() -> Operator {
    Operator {
        name: "Praxis <b>Weber</b> & \"Partner\"".to_owned(),
        address: Some("Hauptstraße 1, 10115 Berlin".to_owned()),
        email: Some("datenschutz@praxis.example".to_owned()),
        data_protection_officer: Some("Dr. Jana Roth <dsb@praxis.example>".to_owned()),
    }
}

#[tokio::test]
async fn local_page_served_at_both_paths_without_login() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(dir.path(), None)).await;
    let join = get(server.address, "/join", None).await;

    for path in ["/privacy", "/datenschutz"] {
        let german = get(server.address, path, None).await;
        assert_page(&german, "de", GERMAN_TITLE);
        assert_eq!(
            german.header("content-security-policy"),
            join.header("content-security-policy"),
            "{path} has the join page's policy"
        );
        assert_eq!(german.header("x-frame-options"), "DENY");

        let english = get(server.address, path, Some("en-GB,en;q=0.9,de;q=0.5")).await;
        assert_page(&english, "en", ENGLISH_TITLE);
    }
    server.stop().await;
}

#[tokio::test]
async fn local_page_language_follows_query_then_header() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(dir.path(), None)).await;
    let cases = [
        ("/privacy", Some("fr-FR,fr;q=0.9"), "de", GERMAN_TITLE),
        (
            "/privacy",
            Some("fr-FR,fr;q=0.9,en;q=0.8"),
            "en",
            ENGLISH_TITLE,
        ),
        ("/privacy?lang=de", Some("en-US"), "de", GERMAN_TITLE),
        ("/datenschutz?lang=en", Some("de-DE"), "en", ENGLISH_TITLE),
        ("/datenschutz?lang=en", None, "en", ENGLISH_TITLE),
    ];
    for (path, accept_language, lang, title) in cases {
        let page = get(server.address, path, accept_language).await;
        assert_page(&page, lang, title);
        let other = if lang == "de" { "?lang=en" } else { "?lang=de" };
        assert!(
            page.body.contains(&format!("href=\"{other}\"")),
            "{path} with {accept_language:?} links the other language"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn local_page_escapes_operator_details() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), None);
    config.operator = Some(praxis_operator());
    let server = RunningServer::start(config).await;

    for accept_language in ["de", "en"] {
        let page = get(server.address, "/privacy", Some(accept_language)).await;
        assert_eq!(page.status, 200);
        assert!(
            page.body
                .contains("Praxis &lt;b&gt;Weber&lt;/b&gt; &amp; &quot;Partner&quot;"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<b>Weber"), "{}", page.body);
        assert!(page.body.contains("Hauptstraße 1, 10115 Berlin"));
        assert!(page.body.contains(
            "<a href=\"mailto:datenschutz@praxis.example\">datenschutz@praxis.example</a>"
        ));
        assert!(
            page.body
                .contains("Dr. Jana Roth &lt;dsb@praxis.example&gt;")
        );
        assert!(!page.body.contains(GERMAN_MISSING));
        assert!(!page.body.contains(ENGLISH_MISSING));
    }
    server.stop().await;
}

#[tokio::test]
async fn local_page_without_operator_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(dir.path(), None)).await;
    let german = get(server.address, "/privacy", Some("de-AT")).await;
    assert!(german.body.contains(GERMAN_MISSING), "{}", german.body);
    assert!(
        german
            .body
            .contains("data-testid=\"privacy-operator-missing\"")
    );
    let english = get(server.address, "/privacy", Some("en")).await;
    assert!(english.body.contains(ENGLISH_MISSING), "{}", english.body);
    server.stop().await;
}

#[tokio::test]
async fn local_page_states_local_facts() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = local_config(dir.path(), None);
    config.retention = Retention::days(14).unwrap();
    let server = RunningServer::start(config).await;
    let page = get(server.address, "/privacy", None).await;
    for fact in [
        "alles andere 14 Tage danach",
        "Dieser Dienst nutzt keinen Weiterleitungsserver.",
        "Dieser Server verschickt E-Mails nicht selbst.",
        "löscht sie dort 15 Tage nach dem Schreiben",
        "nur im Arbeitsspeicher",
        "localStorage",
    ] {
        assert!(page.body.contains(fact), "{fact:?} missing: {}", page.body);
    }
    assert!(!page.body.contains("Amazon"), "{}", page.body);
    server.stop().await;

    let mut config = local_config(dir.path(), None);
    let secret = video_core::turn::TurnSecret::new("coturn-shared-secret-for-tests-only").unwrap();
    config.turn = Some(
        video_core::turn::TurnServer::new(
            vec!["turn:127.0.0.1:3478?transport=udp".to_owned()],
            secret,
        )
        .unwrap(),
    );
    let server = RunningServer::start(config).await;
    let page = get(server.address, "/privacy", Some("en")).await;
    assert!(
        page.body
            .contains("a relay server (TURN server) chosen by the operator"),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Frankfurt"), "{}", page.body);
    server.stop().await;
}

#[tokio::test]
async fn local_page_answers_head_and_rejects_post() {
    let dir = tempfile::tempdir().unwrap();
    let server = RunningServer::start(local_config(dir.path(), None)).await;
    let head = request(server.address, "HEAD", "/privacy", None).await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "{}", head.body);
    let post = request(server.address, "POST", "/privacy", None).await;
    assert_eq!(post.status, 405);
    server.stop().await;
}

/// Environment of the web function as `infra/template.yaml` sets it, with
/// the given variables replaced. An empty value counts as unset, as
/// `video_core::env::optional` reads it.
fn lambda_environment(changes: &[(&str, &str)]) -> HashMap<String, String> {
    let mut variables: HashMap<String, String> = [
        ("PUBLIC_URL", "https://video.example.test"),
        ("SIGNALING_URL", SIGNALING_URL),
        ("AWS_REGION", "eu-central-1"),
        ("RETENTION_DAYS", "8"),
        ("LOG_RETENTION_DAYS", "30"),
        ("TURN_URLS", ""),
        ("OPERATOR_NAME", ""),
        ("OPERATOR_ADDRESS", ""),
        ("OPERATOR_EMAIL", ""),
        ("DATA_PROTECTION_OFFICER", ""),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    for (name, value) in changes {
        variables.insert((*name).to_owned(), (*value).to_owned());
    }
    variables
}

/// Builds the web function's router as its `main` does, from `variables`.
fn lambda_router(variables: &HashMap<String, String>) -> anyhow_free::Result<axum::Router> {
    web::settings_from(|name| {
        variables
            .get(name)
            .filter(|value| !value.trim().is_empty())
            .cloned()
    })
    .map(web::app)
    .map_err(|error| format!("{error:#}"))
}

mod anyhow_free {
    pub type Result<T> = std::result::Result<T, String>;
}

fn event(raw_path: &str, raw_query: &str, accept_language: Option<&str>) -> Value {
    let mut headers = json!({"host": "video.example.test"});
    if let Some(value) = accept_language {
        headers["accept-language"] = json!(value);
    }
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": raw_query,
        "headers": headers,
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

async fn lambda_get(
    router: &axum::Router,
    raw_path: &str,
    raw_query: &str,
    accept_language: Option<&str>,
) -> Page {
    let event = event(raw_path, raw_query, accept_language).to_string();
    let request = lambda_http::request::from_str(&event).unwrap();
    let response = router
        .clone()
        .oneshot(request.map(|body| Body::from(body.to_vec())))
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    Page {
        status,
        headers,
        body: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

#[tokio::test]
async fn lambda_page_served_at_both_paths_without_login() {
    let router = lambda_router(&lambda_environment(&[])).unwrap();
    let join = lambda_get(&router, "/join", "", None).await;
    for path in ["/privacy", "/datenschutz"] {
        let german = lambda_get(&router, path, "", None).await;
        assert_page(&german, "de", GERMAN_TITLE);
        assert_eq!(
            german.header("content-security-policy"),
            join.header("content-security-policy"),
            "{path} has the join page's policy"
        );
        assert!(
            german
                .header("strict-transport-security")
                .contains("max-age=")
        );

        let english = lambda_get(&router, path, "", Some("en-US,en;q=0.9")).await;
        assert_page(&english, "en", ENGLISH_TITLE);
        let chosen = lambda_get(&router, path, "lang=en", Some("de-DE")).await;
        assert_page(&chosen, "en", ENGLISH_TITLE);
    }
}

#[tokio::test]
async fn lambda_page_escapes_operator_details() {
    let router = lambda_router(&lambda_environment(&[
        ("OPERATOR_NAME", "Praxis <b>Weber</b> & \"Partner\""),
        ("OPERATOR_ADDRESS", "Hauptstraße 1, 10115 Berlin"),
        ("OPERATOR_EMAIL", "datenschutz@praxis.example"),
        (
            "DATA_PROTECTION_OFFICER",
            "Dr. Jana Roth <dsb@praxis.example>",
        ),
    ]))
    .unwrap();
    for accept_language in ["de", "en"] {
        let page = lambda_get(&router, "/privacy", "", Some(accept_language)).await;
        assert!(
            page.body
                .contains("Praxis &lt;b&gt;Weber&lt;/b&gt; &amp; &quot;Partner&quot;"),
            "{}",
            page.body
        );
        assert!(!page.body.contains("<b>Weber"), "{}", page.body);
        assert!(
            page.body
                .contains("Dr. Jana Roth &lt;dsb@praxis.example&gt;")
        );
        assert!(
            page.body
                .contains("href=\"mailto:datenschutz@praxis.example\"")
        );
        assert!(!page.body.contains(GERMAN_MISSING));
        assert!(!page.body.contains(ENGLISH_MISSING));
    }
}

#[tokio::test]
async fn lambda_page_without_operator_says_so() {
    let router = lambda_router(&lambda_environment(&[])).unwrap();
    let german = lambda_get(&router, "/datenschutz", "", None).await;
    assert!(german.body.contains(GERMAN_MISSING), "{}", german.body);
    let english = lambda_get(&router, "/privacy", "lang=en", None).await;
    assert!(english.body.contains(ENGLISH_MISSING), "{}", english.body);
}

#[tokio::test]
async fn lambda_page_states_aws_facts() {
    let router = lambda_router(&lambda_environment(&[
        ("RETENTION_DAYS", "30"),
        ("LOG_RETENTION_DAYS", "14"),
        ("TURN_URLS", "turn:turn.example.de:3478?transport=udp"),
    ]))
    .unwrap();
    let german = lambda_get(&router, "/privacy", "", None).await;
    for fact in [
        "in der Region eu-central-1 (Frankfurt am Main, Deutschland), also in der EU",
        "alles andere 30 Tage danach",
        "CloudWatch in derselben Region 14 Tage auf",
        "Weiterleitungsserver (TURN-Server) des Dienstes in Frankfurt am Main",
        "Amazon Simple Email Service (SES)",
        "35 Tage",
    ] {
        assert!(
            german.body.contains(fact),
            "{fact:?} missing: {}",
            german.body
        );
    }

    let without_relay = lambda_router(&lambda_environment(&[])).unwrap();
    let english = lambda_get(&without_relay, "/privacy", "lang=en", None).await;
    assert!(
        english.body.contains("This service uses no relay server"),
        "{}",
        english.body
    );
}

#[test]
fn lambda_rejects_invalid_settings_by_name() {
    let cases: [(&[(&str, &str)], &str); 10] = [
        (
            &[
                ("OPERATOR_NAME", "Praxis\nWeber"),
                ("OPERATOR_EMAIL", "a@praxis.example"),
            ],
            "OPERATOR_NAME: control and bidirectional formatting characters are not allowed",
        ),
        (
            &[
                ("OPERATOR_NAME", "Praxis"),
                ("OPERATOR_EMAIL", "Praxis <a@praxis.example>"),
            ],
            "OPERATOR_EMAIL: expected a plain email address",
        ),
        (
            &[
                ("OPERATOR_NAME", "Praxis"),
                ("OPERATOR_ADDRESS", &"x".repeat(301)),
            ],
            "OPERATOR_ADDRESS: expected 1 to 300 characters",
        ),
        (
            &[
                ("OPERATOR_NAME", "Praxis"),
                ("OPERATOR_EMAIL", "a@praxis.example"),
                ("DATA_PROTECTION_OFFICER", "Dr. Roth\u{2067}"),
            ],
            "DATA_PROTECTION_OFFICER: control and bidirectional formatting characters",
        ),
        (
            &[("OPERATOR_EMAIL", "a@praxis.example")],
            "OPERATOR_EMAIL needs OPERATOR_NAME",
        ),
        (
            &[("OPERATOR_NAME", "Praxis Weber")],
            "OPERATOR_NAME needs OPERATOR_ADDRESS or OPERATOR_EMAIL",
        ),
        (
            &[("LOG_RETENTION_DAYS", "0")],
            "LOG_RETENTION_DAYS must be a whole number of days from 1 to 3653",
        ),
        (
            &[("LOG_RETENTION_DAYS", "")],
            "environment variable LOG_RETENTION_DAYS is missing",
        ),
        (
            &[("AWS_REGION", "eu-central-1\"><script>")],
            "AWS_REGION must be a region code",
        ),
        (
            &[("RETENTION_DAYS", "91")],
            "RETENTION_DAYS: retention must be 1 to 90 days",
        ),
    ];
    for (changes, expected) in cases {
        let error = lambda_router(&lambda_environment(changes))
            .err()
            .unwrap_or_else(|| panic!("{changes:?} was accepted"));
        assert!(error.contains(expected), "{changes:?}: {error}");
    }
}
