//! Shared helpers of the integration tests that drive the binary (`faults`, `hostile_input`, `fuzz`,
//! `lifecycle`, `log_scan`, …).
//!
//! - [`start_stack`]: the real binary behind the Lambda Runtime API emulator, with its own moto,
//!   counting Logs proxy and ResponseURL receiver.
//! - [`logs_client`] / [`InProcess`]: the library in-process against the same servers.
//! - [`scan_log`]: the log invariants (no ResponseURL query, every line JSON), checked at the end
//!   of every binary-driven test and archived for `tests/log_scan.rs`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use cfn_local::{LambdaProcess, LogsProxy, Moto, Receiver, Stack, FAKE_SIGNATURE};
use serde_json::{json, Value};

#[allow(unused_imports)] // not every test binary names every kind
pub use cfn_local::events::{DELIVERY, DESTINATION, SOURCE};

#[allow(unused_imports)] // not every test binary uses every builder
pub use cfn_local::events::{destination_arn, destination_props};

/// The ARN of distribution `E{suffix}`: a source ARN moto accepts.
pub fn source_arn(suffix: &str) -> String {
    cfn_local::events::distribution_arn(&format!("E{suffix}"))
}

/// A source of distribution `E{name}`, tagged `team=platform`.
pub fn source_props(name: &str) -> Value {
    cfn_local::events::source_props(name, &format!("E{name}"), cfn_local::events::team_tags())
}

/// [`cfn_local::events::delivery_props`] with record fields and a delimiter.
pub fn delivery_props(source: &str, destination: &str) -> Value {
    let mut props = cfn_local::events::delivery_props(source, destination);
    props["RecordFields"] = json!(["date", "time"]);
    props["FieldDelimiter"] = json!(",");
    props
}

/// The binary under test: `$CFN_LOGS_DELIVERY_BIN` (scripts/test: the release build), else the
/// dev build cargo made for this test run.
pub fn binary() -> PathBuf {
    match std::env::var_os("CFN_LOGS_DELIVERY_BIN").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_cfn-logs-delivery")),
    }
}

/// A full local stack around the binary; `env` overrides the defaults (AWS_ENDPOINT_URL, …).
pub fn start_stack(env: &[(&str, &str)]) -> Stack {
    let stack = Stack::start_with_env(&binary(), env).unwrap_or_else(|e| {
        panic!(
            "cannot start the local stack (moto in .venv? ./scripts/demo installs it; binary {}?): {e}",
            binary().display()
        )
    });
    // The first invocation must not pay for the process start-up inside its deadline.
    assert!(
        stack.lambda.runtime.wait_for_poll(1, Duration::from_secs(20)).is_some(),
        "the function never polled the Runtime API"
    );
    stack
}

/// A Create event with a fresh RequestId (Stack::send points its ResponseURL at the receiver).
pub fn create(stack: &Stack, kind: &str, logical_id: &str, props: Value) -> Value {
    cfn_local::events::create(kind, logical_id, props, &stack.placeholder_url())
}

pub fn update(stack: &Stack, kind: &str, logical_id: &str, physical_id: &str, props: Value, old: Value) -> Value {
    cfn_local::events::update(kind, logical_id, physical_id, props, old, &stack.placeholder_url())
}

pub fn delete(stack: &Stack, kind: &str, logical_id: &str, physical_id: &str, props: Value) -> Value {
    cfn_local::events::delete(kind, logical_id, physical_id, props, &stack.placeholder_url())
}

/// Sends an event that must succeed; returns the answer's (physical id, body).
pub fn must_succeed(stack: &Stack, event: Value) -> (String, Value) {
    let (invocation, answer) = stack.send(event.clone());
    let answer = answer.unwrap_or_else(|| {
        panic!(
            "no answer for {event}; invocation {invocation:?}\nlog:\n{}",
            stack.lambda.log_text()
        )
    });
    let body = answer.json().expect("the answer is JSON");
    assert_eq!(answer.status().as_deref(), Some("SUCCESS"), "{body}");
    (answer.physical_id().expect("a PhysicalResourceId"), body)
}

/// An invocation the function reported as handled without any answer (no usable ResponseURL):
/// Lambda must not run it again, so it is no error. Returns the logged reason.
pub fn handled_unanswered(label: &str, inv: &cfn_local::Invocation) -> String {
    let cfn_local::Outcome::Response(body) = &inv.outcome else {
        panic!("{label}: expected a handled invocation, got {:?}", inv.outcome)
    };
    assert_eq!(body["Answered"], json!(false), "{label}: {body}");
    body["Reason"]
        .as_str()
        .unwrap_or_else(|| panic!("{label}: no Reason in {body}"))
        .to_owned()
}

/// Status code and body of a direct moto call (the "out of band" hand).
pub fn moto_call(moto: &Moto, target: &str, body: Value) -> (u16, Value) {
    moto.logs_call(target, body)
}

/// The tags moto holds for `arn`.
pub fn live_tags(moto: &Moto, arn: &str) -> Value {
    let (status, body) = moto.logs_call("ListTagsForResource", json!({"resourceArn": arn}));
    assert_eq!(status, 200, "{body}");
    body["tags"].clone()
}

/// Logs calls that change something.
pub fn mutating_calls(proxy: &LogsProxy) -> Vec<(String, usize)> {
    proxy
        .calls()
        .into_iter()
        .filter(|(op, _)| {
            ["Put", "Create", "Update", "Delete", "Tag", "Untag"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .collect()
}

/// A loopback port nobody listens on (bound, then released).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------------------------
// Log invariants

/// What must never appear in a log line: the receiver's signature and any presigned-URL query.
pub const FORBIDDEN_IN_LOGS: &[&str] = &[FAKE_SIGNATURE, "X-Amz-Signature=", "X-Amz-Credential="];

/// Totals of one scanned log.
#[derive(Debug, Default, Clone, Copy)]
pub struct LogScan {
    pub lines: usize,
}

/// Asserts the log invariants on `text` (the whole output of one function process) and returns
/// the number of lines checked. `label` names the log in failures.
pub fn check_log_text(label: &str, text: &str) -> LogScan {
    let mut scan = LogScan::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        scan.lines += 1;
        for bad in FORBIDDEN_IN_LOGS {
            assert!(!line.contains(bad), "{label}: line {} leaks '{bad}': {line}", i + 1);
        }
        assert!(
            serde_json::from_str::<Value>(line).is_ok_and(|v| v.is_object()),
            "{label}: line {} is not a JSON object: {line}",
            i + 1
        );
    }
    scan
}

/// Checks the function's whole log and archives it under the test target dir, where
/// `tests/log_scan.rs` finds the logs of every binary-driven test that ran before it.
pub fn scan_log(label: &str, lambda: &LambdaProcess) -> LogScan {
    let text = lambda.log_text();
    let scan = check_log_text(label, &text);
    let dir = archive_dir();
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{}.log", label.replace([':', '/', ' '], "_"))), &text);
    scan
}

/// `<target>/tmp/lambda-logs`.
pub fn archive_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("lambda-logs")
}

// ---------------------------------------------------------------------------------------------
// In-process

/// An SDK client as `src/main.rs` builds it (no SDK retries, same timeouts), for `endpoint`.
pub fn logs_client(endpoint: &str) -> aws_sdk_cloudwatchlogs::Client {
    use aws_sdk_cloudwatchlogs::config::retry::RetryConfig;
    use aws_sdk_cloudwatchlogs::config::timeout::TimeoutConfig;
    use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
        .http_client(cfn_logs_delivery::startup::sdk_http_client(
            cfn_logs_delivery::protocol::ResponseSender::new().http_client().clone(),
        ))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(3))
                .operation_attempt_timeout(Duration::from_secs(20))
                .build(),
        )
        .build();
    aws_sdk_cloudwatchlogs::Client::from_conf(config)
}

/// moto behind a counting proxy, a receiver, a tokio runtime and a `Handler` wired to them.
pub struct InProcess {
    pub handler: cfn_logs_delivery::Handler,
    pub runtime: tokio::runtime::Runtime,
    pub receiver: Receiver,
    pub proxy: LogsProxy,
    pub moto: Moto,
}

impl InProcess {
    pub fn start() -> InProcess {
        let moto = Moto::start().expect("start moto (is .venv/bin/moto_server there? ./scripts/demo installs it)");
        let proxy = LogsProxy::start(&moto.endpoint()).expect("start the Logs proxy");
        let receiver = Receiver::start().expect("start the receiver");
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let handler = cfn_logs_delivery::Handler::new(
            cfn_logs_delivery::LogsProvider::with_client(logs_client(&proxy.endpoint())),
            cfn_logs_delivery::protocol::ResponseSender::new(),
            cfn_logs_delivery::protocol::AllowedHosts::parse("127.0.0.1"),
        );
        InProcess {
            handler,
            runtime,
            receiver,
            proxy,
            moto,
        }
    }

    /// `handle_event` with a deadline `budget` from now.
    pub fn handle(&self, payload: Value, budget: Duration) -> Result<Value, cfn_logs_delivery::protocol::Unanswered> {
        let deadline = Instant::now() + budget;
        self.runtime.block_on(self.handler.handle_event(payload, deadline))
    }
}
