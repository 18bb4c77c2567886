//! The PUT of the answer to the ResponseURL: empty Content-Type (the URL is signed without one),
//! exact Content-Length, status checked, retried with backoff on 5xx / 429 / connection errors
//! until the deadline. Errors never carry the URL's query.

use std::time::{Duration, Instant};

use reqwest::header::CONTENT_TYPE;
use reqwest::StatusCode;

use super::response_url::ResponseUrl;
use crate::backoff;

const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const BASE_DELAY: Duration = Duration::from_millis(100);
const MAX_DELAY: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
#[error("could not deliver the answer to {url} after {attempts} attempt(s): {last}")]
pub struct SendError {
    pub url: String,
    pub attempts: u32,
    pub last: String,
}

/// One HTTP client for the life of the process. Its TLS set-up (a [`ResponseSender::tls_config`]) is the one the
/// CloudWatch Logs client sends through as well (`startup.rs`).
#[derive(Clone)]
pub struct ResponseSender {
    http: reqwest::Client,
}

impl ResponseSender {
    /// [`ResponseSender::with_bundled_roots`]. Panics only if that cannot be built (tests and
    /// tools; `main` goes through `startup`).
    pub fn new() -> Self {
        Self::with_bundled_roots().expect("an HTTP client with the bundled CA roots builds")
    }

    /// Trusts only the Mozilla root certificates compiled into the binary: what answers
    /// CloudFormation when the CA store named by `SSL_CERT_FILE` / `SSL_CERT_DIR` is unusable, so
    /// that a start-up failure still reaches the stack instead of leaving it waiting.
    pub fn with_bundled_roots() -> Result<Self, String> {
        Self::with_tls(Self::tls_config(Self::bundled_roots())?)
    }

    /// An answer client on `tls`, built by the caller (the trust store is loaded once, by `startup`).
    pub fn with_tls(tls: rustls::ClientConfig) -> Result<Self, String> {
        Self::build(base_client().tls_backend_preconfigured(tls))
    }

    /// The Mozilla root certificates compiled into the binary (`webpki-root-certs`), as a trust store.
    /// No file is read: about 150 DER certificates already in memory are parsed into trust anchors.
    pub fn bundled_roots() -> rustls::RootCertStore {
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().cloned());
        roots
    }

    /// The TLS configuration of every HTTPS client of the process: rustls with ring, TLS 1.2 and
    /// 1.3, trusting `roots`. ring rather than aws-lc: the same protocols and key exchanges (less the
    /// post-quantum hybrid), ~0.6 MB less code in the binary and a faster build.
    pub fn tls_config(roots: rustls::RootCertStore) -> Result<rustls::ClientConfig, String> {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?;
        Ok(config.with_root_certificates(roots).with_no_client_auth())
    }

    /// The HTTP client itself, for the CloudWatch Logs client to send through (one TLS set-up,
    /// one connection pool).
    pub fn http_client(&self) -> &reqwest::Client {
        &self.http
    }

    fn build(builder: reqwest::ClientBuilder) -> Result<Self, String> {
        builder
            .build()
            .map(|http| ResponseSender { http })
            .map_err(|e| error_chain(&e))
    }

    /// Sends `body` until it is accepted (2xx) or `deadline` comes; returns the attempts made.
    pub async fn put(&self, url: &ResponseUrl, body: Vec<u8>, deadline: Instant) -> Result<u32, SendError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let remaining = deadline.saturating_duration_since(Instant::now());
            let request = self
                .http
                .put(url.url().clone())
                .header(CONTENT_TYPE, "")
                .body(body.clone())
                .timeout(attempt_timeout(remaining));
            let (last, retryable) = match request.send().await {
                Ok(resp) if resp.status().is_success() => return Ok(attempt),
                Ok(resp) => {
                    let status = resp.status();
                    // Only S3's error code: the rest of an S3 error body can echo the signature.
                    let code = s3_error_code(&resp.text().await.unwrap_or_default());
                    (format!("HTTP {status}{code}"), is_retryable(status))
                }
                Err(e) => (error_chain(&e.without_url()), true),
            };
            let delay = retryable
                .then(|| backoff::delay_within(attempt, BASE_DELAY, MAX_DELAY, deadline))
                .flatten();
            match delay {
                Some(delay) => {
                    tracing::warn!(url = %url, attempt, error = %last, "answer not accepted yet, retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    return Err(SendError {
                        url: url.to_string(),
                        attempts: attempt,
                        last,
                    })
                }
            }
        }
    }
}

/// The settings every answer client shares.
fn base_client() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        // A redirect could carry the answer somewhere the allow-list never saw.
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(3))
}

impl Default for ResponseSender {
    fn default() -> Self {
        Self::new()
    }
}

/// Half of what remains (1–10 s): a hung attempt still leaves time for another one.
fn attempt_timeout(remaining: Duration) -> Duration {
    (remaining / 2)
        .clamp(Duration::from_secs(1), ATTEMPT_TIMEOUT)
        .min(remaining)
        .max(Duration::from_millis(50))
}

/// "error sending request: operation timed out": the causes say what happened.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn is_retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::REQUEST_TIMEOUT
}

/// `<Code>X</Code>` from an S3 error document, as " (X)", or nothing.
fn s3_error_code(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map(|(code, _)| code)
        .filter(|code| code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|code| format!(" ({code})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_s3_error_code_is_kept() {
        let body = "<Error><Code>SignatureDoesNotMatch</Code><SignatureProvided>deadbeef</SignatureProvided></Error>";
        assert_eq!(s3_error_code(body), " (SignatureDoesNotMatch)");
        assert_eq!(s3_error_code("<html>oops</html>"), "");
        assert_eq!(s3_error_code("<Code>a b?sig=1</Code>"), "");
    }

    #[test]
    fn a_hung_attempt_leaves_time_for_another() {
        assert_eq!(attempt_timeout(Duration::from_secs(60)), Duration::from_secs(10));
        assert_eq!(attempt_timeout(Duration::from_secs(4)), Duration::from_secs(2));
        assert_eq!(attempt_timeout(Duration::from_millis(1500)), Duration::from_secs(1));
        assert_eq!(attempt_timeout(Duration::from_millis(400)), Duration::from_millis(400));
    }

    #[test]
    fn the_bundled_roots_always_give_a_client() {
        assert!(webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() > 100);
        assert_eq!(
            ResponseSender::bundled_roots().len(),
            webpki_root_certs::TLS_SERVER_ROOT_CERTS.len(),
            "every bundled root parses"
        );
        // reqwest takes the configuration only if it is of the rustls version it links: else build() fails.
        assert!(ResponseSender::with_bundled_roots().is_ok());
    }

    #[test]
    fn which_statuses_are_retried() {
        assert!(is_retryable(StatusCode::SERVICE_UNAVAILABLE));
        assert!(is_retryable(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(is_retryable(StatusCode::TOO_MANY_REQUESTS));
        assert!(!is_retryable(StatusCode::FORBIDDEN));
        assert!(!is_retryable(StatusCode::NOT_FOUND));
    }
}
