//! The AWS SDK configuration of the Lambda functions.
//!
//! The functions talk to AWS service endpoints only, and AWS moved those
//! endpoints' certificates to its own certificate authority, Amazon Trust
//! Services (AWS Security Blog, "How to Prepare for AWS's Move to Its Own
//! Certificate Authority"). So the HTTPS client trusts exactly the roots of
//! that authority, built into the binary from `certs/aws-roots.pem`, and not
//! the system's store. Loading the system store reads and parses some 140
//! certificates from `/etc/ssl/certs` before the first request, which took
//! about 3 ms of a function's cold start (`bench/cold-start`). It would also
//! trust every other public certificate authority.
//!
//! NOTE: should AWS move an endpoint to another root, requests to it fail
//! with a certificate error until that root is added to `certs/aws-roots.pem`.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::env::{AWS_MAX_ATTEMPTS, optional};

/// PEM certificates of Amazon Root CA 1 to 4 and Starfield Services Root
/// Certificate Authority G2.
pub const AWS_ROOTS_PEM: &str = include_str!("../certs/aws-roots.pem");

/// Builds the HTTPS client for the AWS SDK clients: rustls with aws-lc,
/// trusting only [`AWS_ROOTS_PEM`]. The client also speaks plain HTTP, which
/// the tests use with an endpoint on loopback.
pub fn http_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    let trust = TrustStore::empty()
        .with_native_roots(false)
        .with_pem_certificate(AWS_ROOTS_PEM.as_bytes());
    let context = TlsContext::builder()
        .with_trust_store(trust)
        .build()
        .expect("TlsContextBuilder::build returns Ok in aws-smithy-http-client 1.x");
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}

/// Builds the SDK configuration from the variables Lambda sets in every
/// function's environment: the region from `AWS_REGION`, and the execution
/// role's credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
/// `AWS_SESSION_TOKEN`, which stay valid for the life of the execution
/// environment. `AWS_ENDPOINT_URL`, when set, sends every request to that
/// endpoint, as in the other AWS SDKs; the benchmarks use it for moto on
/// loopback. Requests use [`http_client`] and the standard retry mode of
/// [`AWS_MAX_ATTEMPTS`] attempts.
///
/// The `aws-config` crate would look these up through its default chains:
/// profile files, single sign-on, web identity, container and instance
/// metadata. A Lambda function needs none of them, and they made up about
/// 1.5 MB of each function's `bootstrap` (`bench/cold-start`).
pub fn sdk_config() -> Result<SdkConfig, String> {
    sdk_config_from(optional)
}

/// [`sdk_config`] with the variables read through `variable`, which returns
/// `None` for an unset or empty one.
pub fn sdk_config_from(variable: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, String> {
    let required = |name: &str| {
        variable(name)
            .map(|value| value.trim().to_owned())
            .ok_or_else(|| format!("environment variable {name} is missing"))
    };
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        variable("AWS_SESSION_TOKEN").map(|token| token.trim().to_owned()),
        None,
        "lambda-environment",
    );
    let mut config = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(required("AWS_REGION")?))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client())
        .retry_config(RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS));
    if let Some(endpoint) = variable("AWS_ENDPOINT_URL") {
        config = config.endpoint_url(endpoint.trim());
    }
    Ok(config.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    use aws_credential_types::provider::ProvideCredentials;
    use std::collections::HashMap;

    fn lambda_variables() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("AWS_REGION", "eu-central-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret-example"),
            ("AWS_SESSION_TOKEN", "token-example"),
        ])
    }

    fn config_with(variables: &HashMap<&str, &str>) -> Result<SdkConfig, String> {
        sdk_config_from(|name| {
            variables
                .get(name)
                .filter(|value| !value.trim().is_empty())
                .map(|value| value.to_string())
        })
    }

    async fn credentials_of(config: &SdkConfig) -> aws_credential_types::Credentials {
        let provider = config.credentials_provider().unwrap();
        provider.provide_credentials().await.unwrap()
    }

    #[tokio::test]
    async fn lambda_variables_give_region_credentials_and_retries() {
        let config = config_with(&lambda_variables()).unwrap();
        assert_eq!(config.region().unwrap().as_ref(), "eu-central-1");
        assert_eq!(config.endpoint_url(), None);
        let retry = config.retry_config().unwrap();
        assert_eq!(retry.max_attempts(), AWS_MAX_ATTEMPTS);
        assert_eq!(config.behavior_version(), Some(BehaviorVersion::latest()));
        assert!(config.http_client().is_some());
        let credentials = credentials_of(&config).await;
        assert_eq!(credentials.access_key_id(), "AKIDEXAMPLE");
        assert_eq!(credentials.secret_access_key(), "secret-example");
        assert_eq!(credentials.session_token(), Some("token-example"));
        assert_eq!(credentials.expiry(), None);
    }

    #[tokio::test]
    async fn sdk_config_optional_token_and_endpoint() {
        let mut variables = lambda_variables();
        variables.remove("AWS_SESSION_TOKEN");
        variables.insert("AWS_ENDPOINT_URL", " http://127.0.0.1:5000 ");
        let config = config_with(&variables).unwrap();
        assert_eq!(config.endpoint_url(), Some("http://127.0.0.1:5000"));
        let credentials = credentials_of(&config).await;
        assert_eq!(credentials.session_token(), None);
    }

    #[test]
    fn sdk_config_names_missing_variable() {
        for name in ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] {
            let mut variables = lambda_variables();
            variables.remove(name);
            let error = config_with(&variables).unwrap_err();
            assert_eq!(error, format!("environment variable {name} is missing"));
            variables.insert(name, "  ");
            let error = config_with(&variables).unwrap_err();
            assert_eq!(error, format!("environment variable {name} is missing"));
        }
    }

    #[test]
    fn aws_roots_parse_as_five_certificates() {
        let certificates = CertificateDer::pem_slice_iter(AWS_ROOTS_PEM.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .expect("every certificate in certs/aws-roots.pem parses");
        assert_eq!(certificates.len(), 5);
        let mut roots = rustls::RootCertStore::empty();
        let (valid, invalid) = roots.add_parsable_certificates(certificates);
        assert_eq!((valid, invalid), (5, 0));
    }
}
