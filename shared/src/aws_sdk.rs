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

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore, rustls_provider::CryptoMode};

use crate::env::AWS_MAX_ATTEMPTS;

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

/// Loads the SDK configuration from the Lambda environment (region and
/// credentials from the variables Lambda sets), with [`http_client`] and the
/// standard retry mode of [`AWS_MAX_ATTEMPTS`] attempts.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(
            aws_config::retry::RetryConfig::standard().with_max_attempts(AWS_MAX_ATTEMPTS),
        )
        .load()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

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
