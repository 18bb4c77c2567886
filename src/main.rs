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
    let targets = log_filter(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok(),
    );
    let no_payload_traces = filter::filter_fn(|meta| {
        !(*meta.level() == tracing::Level::TRACE
            && (meta.target().starts_with("lambda_runtime") || meta.target().starts_with("reqwest")))
    });
    let json = tracing_subscriber::fmt::layer()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_target(false)
        .with_ansi(false);
    tracing_subscriber::registry()
        .with(json.with_filter(targets).with_filter(no_payload_traces))
        .init();
    std::panic::set_hook(Box::new(|info| tracing::error!(panic = %info, "panic")));
}

/// What the setting enables, read the way tracing's `EnvFilter` reads `RUST_LOG` (the syntax its
/// docs teach, so a setting means what an operator expects): directives separated by commas, empty
/// ones skipped (so an empty setting enables nothing), anything unreadable is `info`.
fn log_filter(setting: Option<String>) -> Targets {
    let setting = setting.unwrap_or_else(|| "info".into()).to_ascii_lowercase();
    let directives: Vec<&str> = setting.split(',').filter(|d| !d.is_empty()).collect();
    if directives.is_empty() {
        return Targets::new();
    }
    directives
        .join(",")
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(LevelFilter::INFO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing::Level;

    #[test]
    fn log_settings_read_as_env_filter_reads_them() {
        let enables = |setting: Option<&str>, target: &str, level: Level| {
            log_filter(setting.map(String::from)).would_enable(target, &level)
        };
        assert!(enables(None, "cfn_logs_delivery", Level::INFO) && !enables(None, "cfn_logs_delivery", Level::DEBUG));
        assert!(enables(Some("DEBUG"), "aws_smithy_runtime", Level::DEBUG));
        assert!(
            enables(Some("info,"), "x", Level::INFO) && !enables(Some("info,"), "x", Level::TRACE),
            "an empty directive adds nothing"
        );
        assert!(
            !enables(Some(""), "x", Level::ERROR),
            "an empty setting enables nothing"
        );
        assert!(enables(
            Some("warn,cfn_logs_delivery=debug"),
            "cfn_logs_delivery::logs",
            Level::DEBUG
        ));
        assert!(!enables(
            Some("warn,cfn_logs_delivery=debug"),
            "aws_config",
            Level::INFO
        ));
        assert!(
            enables(Some("a=b=c"), "x", Level::INFO) && !enables(Some("a=b=c"), "x", Level::DEBUG),
            "unreadable: info"
        );
    }
}
