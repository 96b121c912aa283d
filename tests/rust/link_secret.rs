//! The link key and the TURN secret read from Secrets Manager in moto
//! server, as the Lambda functions do at cold start.

use video_core::link::{LinkKey, LinkKeyError, link_key_from_secret};
use video_core::turn::{TurnSecret, turn_server_from_secret};
use video_tests::aws::{LoopbackOnly, Moto, secrets_client};

/// Creates a secret in moto and returns its ARN.
async fn create_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    name: &str,
    value: &str,
) -> String {
    let created = secrets
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap();
    created.arn().unwrap().to_owned()
}

#[tokio::test]
async fn generated_secret_becomes_link_key() {
    let moto = Moto::start();
    let secrets = secrets_client(&moto.endpoint);
    let password = "q7Lr2vN9xK4mT8wZ3pB6cH1sD5fG0jYaE2uR";
    let created = create_secret(&secrets, "link-key", password).await;
    let key = link_key_from_secret(&secrets, &created).await.unwrap();
    assert_eq!(
        key.to_hex(),
        LinkKey::from_secret(password).unwrap().to_hex()
    );
}

#[tokio::test]
async fn short_or_missing_secret_is_an_error() {
    let moto = Moto::start();
    let secrets = secrets_client(&moto.endpoint);
    let created = create_secret(&secrets, "weak", "short").await;
    let weak = link_key_from_secret(&secrets, &created).await;
    assert!(matches!(weak, Err(LinkKeyError::Invalid)), "{weak:?}");
    let missing = link_key_from_secret(
        &secrets,
        "arn:aws:secretsmanager:eu-central-1:123456789012:secret:none",
    )
    .await;
    assert!(
        matches!(missing, Err(LinkKeyError::Secret(_))),
        "{missing:?}"
    );
}

#[tokio::test]
async fn turn_secret_configures_the_turn_server() {
    let moto = Moto::start();
    let secrets = secrets_client(&moto.endpoint);
    let secret = "q7Lr2vN9xK4mT8wZ3pB6cH1sD5fG0jYaE2uR";
    let arn = create_secret(&secrets, "turn", secret).await;
    let urls = "stun:turn.example.org:3478, turn:turn.example.org:3478?transport=udp";
    let server = turn_server_from_secret(&secrets, urls, Some(arn.as_str()))
        .await
        .unwrap()
        .expect("URLs configure a TURN server");
    assert_eq!(server.urls.len(), 2);
    assert_eq!(
        server.secret.password_for("1:a"),
        TurnSecret::new(secret).unwrap().password_for("1:a")
    );

    assert!(
        turn_server_from_secret(&secrets, "", Some(arn.as_str()))
            .await
            .unwrap()
            .is_none()
    );
    let missing = turn_server_from_secret(&secrets, urls, None)
        .await
        .unwrap_err();
    assert!(missing.contains("TURN_SECRET_ARN"), "{missing}");
    let weak = create_secret(&secrets, "weak-turn", "short").await;
    let error = turn_server_from_secret(&secrets, urls, Some(weak.as_str()))
        .await
        .unwrap_err();
    assert!(error.contains("at least 32"), "{error}");
}

/// The functions' own SDK configuration, built from the variables Lambda
/// sets, with `AWS_ENDPOINT_URL` aimed at moto, reads the link key.
#[tokio::test]
async fn lambda_environment_configuration_reads_the_link_key() {
    let moto = Moto::start();
    let password = "q7Lr2vN9xK4mT8wZ3pB6cH1sD5fG0jYaE2uR";
    let created = create_secret(&secrets_client(&moto.endpoint), "link-key", password).await;
    let endpoint = moto.endpoint.clone();
    let config = video_core::aws_sdk::sdk_config_from(|name| {
        match name {
            "AWS_REGION" => Some("eu-central-1"),
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => Some("test"),
            "AWS_SESSION_TOKEN" => Some("session"),
            "AWS_ENDPOINT_URL" => Some(endpoint.as_str()),
            _ => None,
        }
        .map(str::to_owned)
    })
    .unwrap();
    let secrets = aws_sdk_secretsmanager::Client::from_conf(
        aws_sdk_secretsmanager::config::Builder::from(&config)
            .interceptor(LoopbackOnly)
            .build(),
    );
    let key = link_key_from_secret(&secrets, &created).await.unwrap();
    assert_eq!(
        key.to_hex(),
        LinkKey::from_secret(password).unwrap().to_hex()
    );
}
