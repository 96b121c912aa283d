//! The link key read from Secrets Manager in moto server, as the Lambda
//! functions do at cold start.

use video_core::link::{LinkKey, LinkKeyError, link_key_from_secret};
use video_tests::aws::{Moto, secrets_client};

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
