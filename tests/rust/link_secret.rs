//! The link key and the TURN secret read from Secrets Manager in moto
//! server, as the Lambda functions do at cold start.

use video_core::link::{LinkKey, LinkKeyError, link_key_from_secret};
use video_core::turn::{TurnSecret, turn_server_from_secret};
use video_tests::aws::{LoopbackOnly, Moto, secrets_client};

#[tokio::test]
async fn generated_secret_becomes_link_key() {
    let moto = Moto::start();
    let secrets = secrets_client(&moto.endpoint);
    let password = "q7Lr2vN9xK4mT8wZ3pB6cH1sD5fG0jYaE2uR";
    let created = secrets
        .create_secret()
        .name("link-key")
        .secret_string(password)
        .send()
        .await
        .unwrap();
    let key = link_key_from_secret(&secrets, created.arn().unwrap())
        .await
        .unwrap();
    assert_eq!(
        key.to_hex(),
        LinkKey::from_secret(password).unwrap().to_hex()
    );
}

#[tokio::test]
async fn short_or_missing_secret_is_an_error() {
    let moto = Moto::start();
    let secrets = secrets_client(&moto.endpoint);
    let created = secrets
        .create_secret()
        .name("weak")
        .secret_string("short")
        .send()
        .await
        .unwrap();
    let weak = link_key_from_secret(&secrets, created.arn().unwrap()).await;
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
    let created = secrets
        .create_secret()
        .name("turn")
        .secret_string(secret)
        .send()
        .await
        .unwrap();
    let arn = created.arn().unwrap();
    let urls = "stun:turn.example.org:3478, turn:turn.example.org:3478?transport=udp";
    let server = turn_server_from_secret(&secrets, urls, Some(arn))
        .await
        .unwrap()
        .expect("URLs configure a TURN server");
    assert_eq!(server.urls.len(), 2);
    assert_eq!(
        server.secret.password_for("1:a"),
        TurnSecret::new(secret).unwrap().password_for("1:a")
    );

    assert!(
        turn_server_from_secret(&secrets, "", Some(arn))
            .await
            .unwrap()
            .is_none()
    );
    let missing = turn_server_from_secret(&secrets, urls, None)
        .await
        .unwrap_err();
    assert!(missing.contains("TURN_SECRET_ARN"), "{missing}");
    let weak = secrets
        .create_secret()
        .name("weak-turn")
        .secret_string("short")
        .send()
        .await
        .unwrap();
    let error = turn_server_from_secret(&secrets, urls, weak.arn())
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
    let created = secrets_client(&moto.endpoint)
        .create_secret()
        .name("link-key")
        .secret_string(password)
        .send()
        .await
        .unwrap();
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
    let key = link_key_from_secret(&secrets, created.arn().unwrap())
        .await
        .unwrap();
    assert_eq!(
        key.to_hex(),
        LinkKey::from_secret(password).unwrap().to_hex()
    );
}
