//! The Lambda entry point: wire logging, build the handler (clients, TLS), then serve events.
#![recursion_limit = "256"]

use cfn_logs_delivery::startup::build_handler;
use lambda_runtime::{service_fn, LambdaEvent};
use serde_json::value::RawValue;
use tokio::sync::OnceCell;
use tracing_subscriber::filter::{self, LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    // Built before the first poll: one TLS set-up (compiled-in CA roots, no file read) shared by the
    // SDK and the answer client, so the first event does no more than a warm one (docs/PERFORMANCE.md).
    // Building never panics and never stops the runtime (startup.rs): if it fails here, the first
    // event tries again, and a failure then is that invocation's error.
    let handler = OnceCell::new_with(build_handler().await.ok());
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        handler.get_or_try_init(build_handler).await?.handle(event).await
    }))
    .await
}

/// JSON lines on stdout, level from AWS_LAMBDA_LOG_LEVEL or RUST_LOG (default info): a level, or
/// `target=level` directives. (A `Targets` filter, not an `EnvFilter`: the span and field-value
/// directives it adds are not needed, and its regex engine cost ~0.3 MB of resident code.)
/// The runtime logs raw event payloads (with the ResponseURL) at TRACE: that level is never let through for it.
fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).unwrap_or_else(|_| "info".into());
    let targets = level.to_ascii_lowercase().parse::<Targets>().unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO));
    let no_payload_traces = filter::filter_fn(|meta| {
        !(*meta.level() == tracing::Level::TRACE && (meta.target().starts_with("lambda_runtime") || meta.target().starts_with("reqwest")))
    });
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false);
    tracing_subscriber::registry().with(json.with_filter(targets).with_filter(no_payload_traces)).init();
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
}
