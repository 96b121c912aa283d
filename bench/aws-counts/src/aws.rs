//! moto server on loopback and a DynamoDB client that counts its calls.

use aws_sdk_dynamodb::config::{Credentials, Region};
use video_tests::aws::{LoopbackOnly, Moto};

use crate::counting::CountingInterceptor;

/// moto with the rooms and connections tables, and a counting client.
pub struct Aws {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub counter: CountingInterceptor,
    _moto: Moto,
}

pub const ROOMS_TABLE: &str = "rooms";
pub const CONNECTIONS_TABLE: &str = "connections";

impl Aws {
    /// Starts `moto_server` on 127.0.0.1 and creates both tables, with the
    /// layout of the tests.
    pub async fn start() -> Self {
        let moto = Moto::start();
        let counter = CountingInterceptor::default();
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new("bench", "bench", None, None, "aws-counts"))
            .endpoint_url(&moto.endpoint)
            .retry_config(
                aws_sdk_dynamodb::config::retry::RetryConfig::standard()
                    .with_max_attempts(video_core::env::AWS_MAX_ATTEMPTS),
            )
            .interceptor(LoopbackOnly)
            .interceptor(counter.clone())
            .build();
        let dynamodb = aws_sdk_dynamodb::Client::from_conf(config);
        video_tests::aws::create_rooms_table(&dynamodb, ROOMS_TABLE).await;
        video_tests::aws::create_connections_table(&dynamodb, CONNECTIONS_TABLE).await;
        Self {
            dynamodb,
            counter,
            _moto: moto,
        }
    }
}
