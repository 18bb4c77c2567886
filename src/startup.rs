//! What the process builds before it can serve an event, built so that no start-up failure can
//! lose one: a step that fails becomes the Reason of a FAILED answer for the events that needed
//! it, never a panic inside the runtime (which ends the invocation unanswered and leaves the stack
//! waiting for its ServiceTimeout).
//!
//! - The answer client trusts the system's CA store. Without one (`SSL_CERT_FILE` / `SSL_CERT_DIR`
//!   pointing nowhere, an image without a CA bundle) it trusts the Mozilla roots compiled into the
//!   binary, so the answer still reaches S3.
//! - The CloudWatch Logs client comes from the standard AWS environment. If building it panics, or
//!   the CA store is unusable (its HTTPS calls could never be verified), it is replaced by a client
//!   that makes no call: events that need none (a failed Create's marker being deleted, on-failure
//!   records) are answered as ever, the others FAILED saying why.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::BehaviorVersion;
use aws_sdk_cloudwatchlogs::config::http::HttpRequest;
use aws_sdk_cloudwatchlogs::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_cloudwatchlogs::config::{ConfigBag, Intercept};
use aws_sdk_cloudwatchlogs::error::BoxError;
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_runtime_api::client::http::{http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpConnector};
use aws_smithy_runtime_api::client::result::ConnectorError;

use crate::protocol::{AllowedHosts, ResponseSender, Unanswered};
use crate::Handler;

/// Builds the handler for the first event. `Err` only when no answer client at all can be built
/// (not even with the bundled roots): the invocation then fails without a panic, and Lambda's
/// retries and the on-failure destination get their chance.
pub async fn build_handler() -> Result<Handler, Unanswered> {
    let allowed = AllowedHosts::from_env();
    let (sender, logs) = match ResponseSender::with_system_roots() {
        Ok(sender) => (sender, logs_client().await),
        Err(e) => {
            let why = format!(
                "no CA certificate could be loaded from the system ({e}{}), so no HTTPS connection can be verified; \
                 point SSL_CERT_FILE / SSL_CERT_DIR at a CA bundle or unset them, or give the function image one",
                ca_settings()
            );
            tracing::error!(error = %why, "answering with the CA roots built into the binary; no CloudWatch Logs call will be made");
            let sender = ResponseSender::with_bundled_roots().map_err(|bundled| Unanswered::NotStarted(format!("{why}; {bundled}")))?;
            (sender, Err(why))
        }
    };
    Ok(match logs {
        Ok(client) => Handler::with_parts(client, None, sender, allowed),
        Err(why) => Handler::with_parts(refusing_client(&why), Some(format!("the provider could not start: {why}")), sender, allowed),
    })
}

/// The CloudWatch Logs client, as configured by the standard AWS environment. Built in a task of
/// its own so that a panic in the SDK (it panics on some invalid settings) is caught and reported.
async fn logs_client() -> Result<Client, String> {
    let built = tokio::spawn(async {
        let config = aws_config::defaults(BehaviorVersion::latest())
            // Retries are ours (bounded by the Lambda deadline, incl. transient conflicts): see logs.rs.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder().connect_timeout(Duration::from_secs(3)).operation_attempt_timeout(Duration::from_secs(20)).build(),
            )
            .load()
            .await;
        Client::new(&config)
    })
    .await;
    built.map_err(|e| {
        let why = match e.try_into_panic() {
            Ok(panic) => format!("building the CloudWatch Logs client panicked ({})", panic_text(panic.as_ref())),
            Err(e) => format!("building the CloudWatch Logs client failed ({e})"),
        };
        tracing::error!(error = %why, "no CloudWatch Logs call will be made");
        why
    })
}

/// A Logs client that makes no call: each one fails before it is built, saying `why`. Its
/// transport connects nowhere, so that building it never touches the system's TLS set-up (the
/// SDK's default client loads the CA store, which may be what is broken).
fn refusing_client(why: &str) -> Client {
    let transport = NoTransport(why.to_owned());
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .http_client(http_client_fn(move |_, _| SharedHttpConnector::new(transport.clone())))
        .interceptor(RefuseEveryCall(why.to_owned()))
        .build();
    Client::from_conf(config)
}

#[derive(Clone, Debug)]
struct NoTransport(String);

impl HttpConnector for NoTransport {
    fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
        HttpConnectorFuture::ready(Err(ConnectorError::other(self.0.clone().into(), None)))
    }
}

#[derive(Debug)]
struct RefuseEveryCall(String);

impl Intercept for RefuseEveryCall {
    fn name(&self) -> &'static str {
        "RefuseEveryCall"
    }

    /// The first hook of every call: failing here, the SDK skips the call itself.
    fn read_before_execution(&self, _: &BeforeSerializationInterceptorContextRef<'_>, _: &mut ConfigBag) -> Result<(), BoxError> {
        Err(self.0.clone().into())
    }
}

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` as set (paths, never secrets), for the Reason.
fn ca_settings() -> String {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .filter_map(|name| std::env::var(name).ok().map(|v| format!("; {name}={}", crate::props::shorten(&v, 200))))
        .collect()
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned());
    crate::props::shorten(text.as_deref().unwrap_or("no message"), 300)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_refusing_client_makes_no_call_and_says_why() {
        let client = refusing_client("the provider could not start: testing");
        let err = client.get_delivery_source().name("x").send().await.unwrap_err();
        let text = format!("{}", aws_sdk_cloudwatchlogs::error::DisplayErrorContext(&err));
        assert!(text.contains("the provider could not start: testing"), "{text}");
    }
}
