//! What the process builds before it can serve an event, built so that no start-up failure can
//! lose one: a step that fails becomes the Reason of a FAILED answer for the events that needed
//! it, never a panic inside the runtime (which ends the invocation unanswered and leaves the stack
//! waiting for its ServiceTimeout).
//!
//! - One TLS set-up for the process, built at init (`main`, before the first poll): one trust
//!   store, one rustls configuration, one reqwest client. The answer PUT and every CloudWatch Logs
//!   call go through that client (the SDK's HTTP client is [`ReqwestTransport`]), so the CA store
//!   is parsed once and one connection pool serves both.
//! - The trust store is the Mozilla roots compiled into the binary (`webpki-root-certs`): no file
//!   is read at init. If `SSL_CERT_FILE` / `SSL_CERT_DIR` are set, the store they name is read
//!   instead (a private CA, a TLS-inspecting proxy). See docs/PERFORMANCE.md for the trade-off.
//! - If that store has no usable certificate, the answer client falls back to the compiled-in
//!   roots, so the answer still reaches S3, and the CloudWatch Logs clients make no call (their
//!   HTTPS calls could not be verified as configured; [`Clients::unavailable`], refused in
//!   `Logs::call`): events that need none (a failed Create's marker being deleted, on-failure
//!   records) are answered as ever, the others FAILED naming the call and why. The same happens if
//!   building the Logs client panics.

use std::time::Duration;

use aws_config::environment::EnvironmentVariableCredentialsProvider;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_cloudwatchlogs::config::http::{HttpRequest, HttpResponse};
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use crate::clients::Clients;
use crate::protocol::{AllowedHosts, ResponseSender, Unanswered};
use crate::{Handler, LogsProvider};

/// Builds the handler: at init (`main`), and again on an event if that failed. `Err` only when no
/// answer client at all can be built (not even with the compiled-in roots): the invocation then
/// fails without a panic, and Lambda's retries and the on-failure destination get their chance.
pub async fn build_handler() -> Result<Handler, Unanswered> {
    let allowed = AllowedHosts::from_env();
    let (sender, logs) = match trust_store()
        .and_then(ResponseSender::tls_config)
        .and_then(ResponseSender::with_tls)
    {
        Ok(sender) => {
            let logs = logs_client(sender.http_client().clone()).await;
            (sender, logs)
        }
        Err(e) => {
            let why = format!(
                "no CA certificate could be loaded from the store SSL_CERT_FILE / SSL_CERT_DIR name ({e}{}), so no HTTPS \
                 connection can be verified; point them at a CA bundle or unset them (the roots built into the binary are then used)",
                ca_settings()
            );
            tracing::error!(error = %why, "answering with the CA roots built into the binary; no CloudWatch Logs call will be made");
            let sender = ResponseSender::with_bundled_roots()
                .map_err(|bundled| Unanswered::NotStarted(format!("{why}; {bundled}")))?;
            (sender, Err(why))
        }
    };
    let clients = match logs {
        Ok((client, config)) => Clients::new(client, Some(config)),
        Err(why) => Clients::unavailable(
            idle_client(sender.http_client()),
            format!("the provider could not start: {why}"),
        ),
    };
    Ok(Handler::new(LogsProvider::new(clients), sender, allowed))
}

/// The roots both clients trust, loaded once. The compiled-in Mozilla roots unless `SSL_CERT_FILE`
/// or `SSL_CERT_DIR` is set: then only the store they name, as OpenSSL would read it.
fn trust_store() -> Result<rustls::RootCertStore, String> {
    let named = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
    if !named {
        return Ok(ResponseSender::bundled_roots());
    }
    let loaded = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (valid, invalid) = roots.add_parsable_certificates(loaded.certs);
    if valid > 0 {
        return Ok(roots);
    }
    let errors: Vec<String> = loaded.errors.iter().take(3).map(|e| e.to_string()).collect();
    Err(match (errors.is_empty(), invalid) {
        (false, _) => errors.join("; "),
        (true, 0) => "the store holds no certificate".into(),
        (true, n) => format!("none of its {n} certificates could be parsed"),
    })
}

/// The CloudWatch Logs client, as configured by the standard AWS environment, sending through
/// `http`, and that configuration (other regions' clients and roles are derived from it: clients.rs).
/// Built in a task of its own so that a panic in the SDK (it panics on some invalid settings) is
/// caught and reported.
async fn logs_client(http: reqwest::Client) -> Result<(Client, SdkConfig), String> {
    let built = tokio::spawn(async {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(env) = env_credentials() {
            loader = loader.credentials_provider(env);
        }
        let config = loader
            .http_client(sdk_http_client(http))
            // Retries are ours (bounded by the Lambda deadline, incl. transient conflicts): see logs.rs.
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
            .load()
            .await;
        (Client::new(&config), config)
    })
    .await;
    built.map_err(|e| {
        let why = match e.try_into_panic() {
            Ok(panic) => format!(
                "building the CloudWatch Logs client panicked ({})",
                crate::text::panic_text(panic.as_ref())
            ),
            Err(e) => format!("building the CloudWatch Logs client failed ({e})"),
        };
        tracing::error!(error = %why, "no CloudWatch Logs call will be made");
        why
    })
}

/// The default credential chain's first provider, alone, when that provider is the one that will
/// answer (Lambda puts the function's credentials there): the same credentials, without building
/// the rest of the chain at init (an STS client for web identity with its endpoint rules, the IMDS and
/// container clients), ~0.3 ms for providers never asked. Otherwise `None`: the whole chain.
fn env_credentials() -> Option<EnvironmentVariableCredentialsProvider> {
    // The provider's own test: a non-blank key id and a non-blank secret under either name.
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    (set("AWS_ACCESS_KEY_ID") && (set("AWS_SECRET_ACCESS_KEY") || set("SECRET_ACCESS_KEY")))
        .then(EnvironmentVariableCredentialsProvider::new)
}

/// The SDK's HTTP client (for CloudWatch Logs and, were they needed, the credential providers):
/// every request goes through the answer client's `reqwest::Client`, so there is one TLS set-up
/// and one connection pool. Its connect timeout (3 s) is the one the SDK is configured with; the
/// SDK bounds each attempt (20 s) itself. Public for the in-process tests' clients.
pub fn sdk_http_client(http: reqwest::Client) -> SharedHttpClient {
    http_client_fn(move |_, _| SharedHttpConnector::new(ReqwestTransport(http.clone())))
}

#[derive(Clone, Debug)]
struct ReqwestTransport(reqwest::Client);

impl HttpConnector for ReqwestTransport {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let http = self.0.clone();
        HttpConnectorFuture::new(async move {
            // The Logs API's requests are JSON documents, always in memory.
            let body = request
                .body()
                .bytes()
                .ok_or_else(|| ConnectorError::user("a streaming request body is not supported".into()))?;
            let method =
                reqwest::Method::from_bytes(request.method().as_bytes()).map_err(|e| ConnectorError::user(e.into()))?;
            let mut builder = http.request(method, request.uri()).body(body.to_vec());
            for (name, value) in request.headers() {
                builder = builder.header(name, value);
            }
            let response = builder.send().await.map_err(connector_error)?;
            let status =
                StatusCode::try_from(response.status().as_u16()).map_err(|e| ConnectorError::other(e.into(), None))?;
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(connector_error)?;
            let mut answer = HttpResponse::new(status, SdkBody::from(body));
            for (name, value) in &headers {
                if let Ok(value) = value.to_str() {
                    answer.headers_mut().append(name.as_str().to_owned(), value.to_owned());
                }
            }
            Ok(answer)
        })
    }
}

/// As the SDK's own client classifies them: a timeout, a connection that failed or broke (both
/// dispatch failures logs.rs retries), anything else.
fn connector_error(e: reqwest::Error) -> ConnectorError {
    if e.is_timeout() {
        ConnectorError::timeout(e.into())
    } else if e.is_connect() || e.is_request() || e.is_body() {
        ConnectorError::io(e.into())
    } else {
        ConnectorError::other(e.into(), None)
    }
}

/// The Logs client of clients that make no call ([`Clients::unavailable`]): `Logs::call` refuses
/// each call before it is built (logs.rs), so this client never sends. It is given the answer
/// client's transport so that building it touches no other TLS set-up (the SDK's default HTTP
/// client loads the CA store, which may be what is broken).
fn idle_client(http: &reqwest::Client) -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .http_client(sdk_http_client(http.clone()))
        .build();
    Client::from_conf(config)
}

/// `SSL_CERT_FILE` and `SSL_CERT_DIR` as set (paths, never secrets), for the Reason.
fn ca_settings() -> String {
    ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .filter_map(|name| {
            std::env::var(name)
                .ok()
                .map(|v| format!("; {name}={}", crate::text::shorten(&v, 200)))
        })
        .collect()
}
