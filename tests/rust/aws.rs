//! AWS on loopback: a moto server started per test, SDK clients pointed at it,
//! and a guard that fails any request to a host other than loopback. The
//! clients use the Lambda functions' own HTTP client
//! (`video_core::aws_sdk::http_client`), which also speaks plain HTTP.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};

/// A moto server on 127.0.0.1, stopped when dropped.
pub struct Moto {
    pub endpoint: String,
    child: Child,
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port failed");
    listener.local_addr().unwrap().port()
}

impl Moto {
    /// Starts `moto_server` (PyPI `moto[server]`, installed by `tests/run`)
    /// and waits until it accepts connections.
    pub fn start() -> Self {
        let port = free_port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server not found: install it with `pip install 'moto[server]'` (tests/run does)");
        let moto = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        moto
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Fails every request whose host is not a loopback address, before it is
/// sent, so no test can reach a real AWS endpoint.
#[derive(Debug)]
pub struct LoopbackOnly;

pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

impl Intercept for LoopbackOnly {
    fn name(&self) -> &'static str {
        "LoopbackOnly"
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        let uri = context.request().uri();
        let host = uri
            .split("://")
            .nth(1)
            .and_then(|rest| rest.split(['/', '?']).next())
            .map(|authority| match authority.rsplit_once(':') {
                Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
                _ => authority,
            })
            .unwrap_or_default();
        if is_loopback_host(host) {
            Ok(())
        } else {
            Err(format!("blocked a request to {host}: tests may only reach loopback").into())
        }
    }
}

/// Builds the base configuration of an API Gateway Management API client
/// with dummy credentials and the loopback guard; the endpoint is set later.
pub fn management_config() -> aws_sdk_apigatewaymanagement::config::Builder {
    aws_sdk_apigatewaymanagement::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_apigatewaymanagement::config::Region::new(
            "eu-central-1",
        ))
        .credentials_provider(aws_sdk_apigatewaymanagement::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .retry_config(
            aws_sdk_apigatewaymanagement::config::retry::RetryConfig::standard()
                .with_max_attempts(video_core::env::AWS_MAX_ATTEMPTS),
        )
        .http_client(video_core::aws_sdk::http_client())
        .interceptor(LoopbackOnly)
}

/// Builds an SES v2 client for `endpoint` with dummy credentials and the
/// loopback guard.
pub fn ses_client(endpoint: &str) -> aws_sdk_sesv2::Client {
    let config = aws_sdk_sesv2::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sesv2::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_sesv2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        // Production's attempts, but shorter pauses, so that tests with
        // injected faults do not wait seconds per retry.
        .retry_config(
            aws_sdk_sesv2::config::retry::RetryConfig::standard()
                .with_max_attempts(video_core::env::AWS_MAX_ATTEMPTS)
                .with_initial_backoff(std::time::Duration::from_millis(20)),
        )
        .http_client(video_core::aws_sdk::http_client())
        .interceptor(LoopbackOnly)
        .build();
    aws_sdk_sesv2::Client::from_conf(config)
}

/// Builds a Secrets Manager client for `endpoint` with dummy credentials
/// and the loopback guard.
pub fn secrets_client(endpoint: &str) -> aws_sdk_secretsmanager::Client {
    let config = aws_sdk_secretsmanager::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_secretsmanager::config::Region::new("eu-central-1"))
        .credentials_provider(aws_sdk_secretsmanager::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .endpoint_url(endpoint)
        .retry_config(
            aws_sdk_secretsmanager::config::retry::RetryConfig::standard()
                .with_max_attempts(video_core::env::AWS_MAX_ATTEMPTS),
        )
        .http_client(video_core::aws_sdk::http_client())
        .interceptor(LoopbackOnly)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
}

/// Returns the messages moto's SES has accepted, from its state dump.
pub async fn moto_sent_messages(endpoint: &str) -> Vec<serde_json::Value> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let address = endpoint.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let request =
        format!("GET /moto-api/data.json HTTP/1.0\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, body)| body)
        .unwrap_or_default();
    let state: serde_json::Value = serde_json::from_str(body).expect("moto's state is JSON");
    state["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Builds a DynamoDB client for `endpoint` with dummy credentials and the
/// loopback guard.
pub fn dynamodb_client(endpoint: &str) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("eu-central-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .endpoint_url(endpoint)
        .retry_config(
            aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                .with_max_attempts(video_core::env::AWS_MAX_ATTEMPTS),
        )
        .http_client(video_core::aws_sdk::http_client())
        .interceptor(LoopbackOnly)
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> AttributeDefinition {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .unwrap()
}

fn key_part(name: &str, kind: KeyType) -> KeySchemaElement {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .unwrap()
}

/// Creates a rooms table with the layout described in `video_core::store::dynamodb`.
pub async fn create_rooms_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    let index = |name: &str, hash: &str, range: &str| {
        GlobalSecondaryIndex::builder()
            .index_name(name)
            .key_schema(key_part(hash, KeyType::Hash))
            .key_schema(key_part(range, KeyType::Range))
            .projection(
                Projection::builder()
                    .projection_type(ProjectionType::All)
                    .build(),
            )
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("id", ScalarAttributeType::S))
        .attribute_definitions(attribute("practitionerId", ScalarAttributeType::S))
        .attribute_definitions(attribute("dateKey", ScalarAttributeType::S))
        .attribute_definitions(attribute("mailDate", ScalarAttributeType::S))
        .attribute_definitions(attribute("dayStart", ScalarAttributeType::N))
        .attribute_definitions(attribute("eraseDate", ScalarAttributeType::S))
        .attribute_definitions(attribute("dayEnd", ScalarAttributeType::N))
        .key_schema(key_part("id", KeyType::Hash))
        .global_secondary_indexes(index("byPractitioner", "practitionerId", "dateKey"))
        .global_secondary_indexes(index("byMailDate", "mailDate", "dayStart"))
        .global_secondary_indexes(index("byEraseDate", "eraseDate", "dayEnd"))
        .send()
        .await
        .expect("creating the rooms table failed");
}

/// Creates a connections table with the layout described in `video_core::store::dynamodb`.
pub async fn create_connections_table(client: &aws_sdk_dynamodb::Client, name: &str) {
    client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("pk", ScalarAttributeType::S))
        .attribute_definitions(attribute("sk", ScalarAttributeType::S))
        .key_schema(key_part("pk", KeyType::Hash))
        .key_schema(key_part("sk", KeyType::Range))
        .send()
        .await
        .expect("creating the connections table failed");
}

/// Builds an API Gateway HTTP API (payload 2.0) event of `method` on `path`
/// (with an optional query), as the JWT authorizer passes it on with
/// `subject` as the `sub` claim.
pub fn http_api_event(
    method: &str,
    path: &str,
    subject: Option<&str>,
    body: Option<&str>,
) -> serde_json::Value {
    use serde_json::json;
    let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut context = json!({
        "accountId": "123456789012",
        "apiId": "api1",
        "domainName": "api1.execute-api.eu-central-1.amazonaws.com",
        "domainPrefix": "api1",
        "http": {"method": method, "path": raw_path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test"},
        "requestId": "request-1",
        "routeKey": "$default",
        "stage": "$default",
        "time": "04/Dec/2026:10:00:00 +0000",
        "timeEpoch": 1_796_378_400_000_i64
    });
    if let Some(subject) = subject {
        context["authorizer"] = json!({"jwt": {"claims": {"sub": subject}, "scopes": null}});
    }
    let mut event = json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": raw_path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json", "host": "api1.execute-api.eu-central-1.amazonaws.com"},
        "requestContext": context,
        "isBase64Encoded": false
    });
    if let Some(body) = body {
        event["body"] = json!(body);
    }
    event
}
