//! Property-based fuzzing of the event handling: no event, however malformed, makes it panic or
//! answer against the rules.
//!
//! 1. `validate_event` over arbitrary JSON and over valid events with random mutations: it never
//!    panics, and its refusals are short.
//! 2. The whole protocol in-process (`Handler::handle_event` → counting proxy → moto, answers to a
//!    local receiver) over the same mutated events. Invariants:
//!    - never panics;
//!    - an event with an allowed ResponseURL gets exactly one answer that keeps every rule of
//!      `cfn_local::answer_check` (≤ 4096 bytes, readable by CloudFormation, ids echoed, …), and
//!      SUCCESS only when `validate_event` accepts it;
//!    - an event without one gets no answer, an `Unanswered` error, and no Logs call;
//!    - an event `validate_event` refuses causes no Logs call.
//! 3. Every case in `tests/fuzz_corpus/` is replayed with the same invariants. A failing case
//!    found by (1) or (2) is written there (shrunk) as `found-*.json`.
//!
//! Bounded: `PROPTEST_CASES` (default 300 in-process, 2000 for `validate_event`). Totals are
//! printed (run with `--nocapture`) and written to `<target>/tmp/fuzz-totals.json`.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use cfn_local::answer_check;
use cfn_logs_delivery::protocol::{AllowedHosts, ResponseUrl};
use cfn_logs_delivery::resources::{Delivery, DeliveryDestination, DeliverySource, Resource};
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use serde_json::{json, Map, Value};

const BUDGET: Duration = Duration::from_secs(10);
const PLACEHOLDER_URL: &str = "https://fuzz.invalid/placeholder?X-Amz-Signature=0";

fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_corpus")
}

// ---------------------------------------------------------------------------------------------
// Generators

const TOP_FIELDS: &[&str] = &[
    "RequestType",
    "ResponseURL",
    "StackId",
    "RequestId",
    "ResourceType",
    "LogicalResourceId",
    "PhysicalResourceId",
    "ResourceProperties",
    "OldResourceProperties",
    "ServiceToken",
];

/// Every property name of every kind, and CloudFormation's own.
fn all_props() -> Vec<&'static str> {
    [
        DeliverySource::PROPERTIES,
        DeliveryDestination::PROPERTIES,
        Delivery::PROPERTIES,
        &["ServiceToken", "ServiceTimeout"][..],
    ]
    .concat()
}

/// Strings that mean something to some part of the handler.
const MEANINGFUL: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "\"",
    "\\",
    "\u{202e}",
    "😀",
    "true",
    "TRUE",
    "false",
    "5",
    "null",
    "{}",
    "[]",
    "{\"Version\":\"2012-10-17\"}",
    "arn:aws:s3:::b",
    "arn:aws:logs:us-east-1:123456789012:delivery-destination:fz-dest",
    "arn:aws:logs:us-east-1:123456789012:log-group:g",
    "arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
    "arn:aws:cloudfront::123456789012:distribution/EFZ",
    "arn:aws:sqs:us-east-1:123456789012:q",
    "ACCESS_LOGS",
    "json",
    "parquet",
    "S3",
    "XRAY",
    "CWL",
    "Create",
    "Update",
    "Delete",
    "Custom::DeliverySource",
    "Custom::Delivery",
    "AWS::CloudFormation::CustomResource",
    "cfn-logs-delivery:failed-create:x",
    "cfn-logs-delivery:stack-id",
    "aws:cloudformation:stack-name",
    "fz-src",
    "fz-dest",
];

fn arb_string() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z0-9_-]{0,24}",
        3 => prop::sample::select(MEANINGFUL).prop_map(String::from),
        2 => any::<String>(),
        1 => "[\\x00-\\x1f\"\\\\]{0,8}",
        1 => (0usize..400).prop_map(|n| "é".repeat(n)),
        1 => prop::sample::select(vec![60usize, 61, 255, 256, 257, 1024, 1025, 4096, 100_000]).prop_map(|n| "a".repeat(n)),
    ]
}

fn arb_key() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(all_props()).prop_map(String::from), 1 => prop::sample::select(&["Key", "Value"][..]).prop_map(String::from), 1 => arb_string()]
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(Value::Number)),
        arb_string().prop_map(Value::String),
    ]
}

fn arb_json() -> impl Strategy<Value = Value> {
    arb_leaf().prop_recursive(5, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(arb_key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// `depth` levels of objects or arrays around a leaf.
fn nested(depth: usize, arrays: bool) -> Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        v = if arrays { json!([v]) } else { json!({ "a": v }) };
    }
    v
}

fn arb_tags() -> impl Strategy<Value = Value> {
    let tag = prop_oneof![
        3 => (arb_string(), arb_string()).prop_map(|(k, v)| json!({"Key": k, "Value": v})),
        1 => arb_json(),
    ];
    prop_oneof![
        prop::collection::vec(tag, 0..6).prop_map(Value::Array),
        (0usize..60).prop_map(|n| json!((0..n)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect::<Vec<_>>())),
    ]
}

/// A value for a property: anything, or something close to what the property wants.
fn arb_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        4 => arb_json(),
        3 => arb_string().prop_map(Value::String),
        2 => arb_tags(),
        1 => prop::collection::vec(arb_string().prop_map(Value::String), 0..140).prop_map(Value::Array),
        1 => (1usize..200, any::<bool>()).prop_map(|(d, a)| nested(d, a)),
    ]
}

#[derive(Debug, Clone)]
enum Mutation {
    SetTop(String, Value),
    RemoveTop(String),
    SetProp(String, Value),
    RemoveProp(String),
    SetOldProps(Value),
    Replace(Value),
}

fn arb_top_field() -> impl Strategy<Value = String> {
    prop_oneof![6 => prop::sample::select(TOP_FIELDS).prop_map(String::from), 1 => arb_string()]
}

fn arb_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (arb_top_field(), prop_oneof![arb_json(), arb_string().prop_map(Value::String)]).prop_map(|(k, v)| Mutation::SetTop(k, v)),
        2 => arb_top_field().prop_map(Mutation::RemoveTop),
        6 => (arb_key(), arb_value()).prop_map(|(k, v)| Mutation::SetProp(k, v)),
        2 => prop::sample::select(all_props()).prop_map(|k| Mutation::RemoveProp(k.into())),
        1 => arb_json().prop_map(Mutation::SetOldProps),
        1 => arb_json().prop_map(Mutation::Replace),
    ]
}

#[derive(Debug, Clone)]
enum UrlChoice {
    /// The receiver, under this case's key.
    Allowed,
    /// A URL the allow-list refuses.
    Hostile(&'static str),
    /// Whatever the mutations left (the placeholder is refused).
    Keep,
}

const HOSTILE_URLS: &[&str] = &[
    "https://evil.example/x?X-Amz-Signature=0",
    "http://bucket.s3.amazonaws.com/x?X-Amz-Signature=0",
    "https://bucket.s3.amazonaws.com@127.0.0.1/x",
    "http://127.0.0.2/x",
    "http://localhost/x",
    "file:///etc/passwd",
    "ftp://127.0.0.1/x",
    "not a url",
    "",
];

/// A valid event of one kind and request type.
fn base_event(kind: usize, request: usize) -> Value {
    let (resource_type, logical_id, physical_id, props) = match kind {
        0 => (SOURCE, "FzSrc", "fz-src", source_props("fz-src")),
        1 => (DESTINATION, "FzDest", "fz-dest", destination_props("fz-dest")),
        _ => (DELIVERY, "FzDeliv", "AbC123", delivery_props("fz-src", "fz-dest")),
    };
    match request {
        0 => cfn_local::events::create(resource_type, logical_id, props, PLACEHOLDER_URL),
        1 => cfn_local::events::update(
            resource_type,
            logical_id,
            physical_id,
            props.clone(),
            props,
            PLACEHOLDER_URL,
        ),
        _ => cfn_local::events::delete(resource_type, logical_id, physical_id, props, PLACEHOLDER_URL),
    }
}

fn apply(mut event: Value, mutations: &[Mutation]) -> Value {
    for m in mutations {
        match (m, event.as_object_mut()) {
            (Mutation::Replace(v), _) => event = v.clone(),
            (Mutation::SetTop(k, v), Some(obj)) => {
                obj.insert(k.clone(), v.clone());
            }
            (Mutation::RemoveTop(k), Some(obj)) => {
                obj.remove(k);
            }
            (Mutation::SetOldProps(v), Some(obj)) => {
                obj.insert("OldResourceProperties".into(), v.clone());
            }
            (Mutation::SetProp(k, v), Some(obj)) => {
                if let Some(props) = obj.get_mut("ResourceProperties").and_then(Value::as_object_mut) {
                    props.insert(k.clone(), v.clone());
                }
            }
            (Mutation::RemoveProp(k), Some(obj)) => {
                if let Some(props) = obj.get_mut("ResourceProperties").and_then(Value::as_object_mut) {
                    props.remove(k);
                }
            }
            _ => {}
        }
    }
    event
}

fn arb_event() -> impl Strategy<Value = (Value, UrlChoice)> {
    let url = prop_oneof![16 => Just(UrlChoice::Allowed), 2 => prop::sample::select(HOSTILE_URLS).prop_map(UrlChoice::Hostile), 1 => Just(UrlChoice::Keep)];
    let whole = prop_oneof![
        12 => (0usize..3, 0usize..3, prop::collection::vec(arb_mutation(), 0..4)).prop_map(|(k, r, m)| apply(base_event(k, r), &m)),
        1 => arb_json(),
    ];
    (whole, url)
}

// ---------------------------------------------------------------------------------------------
// Invariants

#[derive(Default)]
struct Totals {
    fuzzed: AtomicUsize,
    answered: AtomicUsize,
    refused_no_url: AtomicUsize,
    invalid: AtomicUsize,
    valid: AtomicUsize,
    logs_calls: AtomicUsize,
    crashed: AtomicUsize,
}

impl Totals {
    fn json(&self) -> Value {
        let g = |a: &AtomicUsize| a.load(Ordering::Relaxed);
        json!({
            "events_fuzzed": g(&self.fuzzed), "answered_exactly_once": g(&self.answered),
            "refused_without_usable_url": g(&self.refused_no_url), "invalid_events": g(&self.invalid),
            "valid_events": g(&self.valid), "logs_calls_made": g(&self.logs_calls), "crashed": g(&self.crashed),
        })
    }
}

/// Runs one event through the in-process handler and checks every invariant.
fn check_protocol(env: &InProcess, totals: &Totals, event: Value, key: &str) -> Result<(), String> {
    let allowed_hosts = AllowedHosts::parse("127.0.0.1");
    let answerable = event
        .get("ResponseURL")
        .and_then(Value::as_str)
        .is_some_and(|u| ResponseUrl::parse(u, &allowed_hosts).is_ok());
    let valid = cfn_logs_delivery::validate_event(&event).is_ok();
    let calls_before = env.proxy.total_calls();
    totals.fuzzed.fetch_add(1, Ordering::Relaxed);
    if valid {
        totals.valid.fetch_add(1, Ordering::Relaxed);
    } else {
        totals.invalid.fetch_add(1, Ordering::Relaxed);
    }

    let started = Instant::now();
    let result = catch_unwind(AssertUnwindSafe(|| env.handle(event.clone(), BUDGET)));
    let Ok(result) = result else {
        totals.crashed.fetch_add(1, Ordering::Relaxed);
        return Err("the handler panicked".into());
    };
    if started.elapsed() > BUDGET {
        return Err(format!("answered after the deadline ({:?})", started.elapsed()));
    }
    let calls = env.proxy.total_calls() - calls_before;
    totals.logs_calls.fetch_add(calls, Ordering::Relaxed);
    if !valid && calls > 0 {
        return Err(format!(
            "invalid event ({}) made {calls} Logs call(s)",
            cfn_logs_delivery::validate_event(&event).unwrap_err()
        ));
    }
    let answers = env.receiver.answers(key);
    if !answerable {
        totals.refused_no_url.fetch_add(1, Ordering::Relaxed);
        if result.is_ok() || !answers.is_empty() || calls > 0 {
            return Err(format!(
                "no usable ResponseURL, yet result {result:?}, {} answer(s), {calls} call(s)",
                answers.len()
            ));
        }
        return Ok(());
    }
    let returned = result.map_err(|e| format!("allowed ResponseURL but not answered: {e}"))?;
    if env.receiver.attempts(key) != 1 {
        return Err(format!(
            "{} answers in {} attempts",
            answers.len(),
            env.receiver.attempts(key)
        ));
    }
    let problems = answer_check::problems(&event, &answers);
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    let body = answers[0].json().unwrap_or_default();
    if body != returned {
        return Err("the invocation's result differs from the answer sent".into());
    }
    if body["Status"] == "SUCCESS" && !valid {
        return Err(format!("SUCCESS for an invalid event: {body}"));
    }
    totals.answered.fetch_add(1, Ordering::Relaxed);
    Ok(())
}

/// Saves a failing (shrunk) case in the corpus so it is replayed from then on.
fn save_found(prefix: &str, event: &Value, url: &UrlChoice, why: &str) -> PathBuf {
    let text = event.to_string();
    let hash = text
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100000001b3));
    let path = corpus_dir().join(format!("found-{prefix}-{hash:016x}.json"));
    let url = match url {
        UrlChoice::Allowed => "allowed".to_string(),
        UrlChoice::Hostile(u) => u.to_string(),
        UrlChoice::Keep => "keep".to_string(),
    };
    let case = json!({"note": format!("found by tests/fuzz.rs: {why}"), "response_url": url, "event": event});
    let _ = std::fs::write(&path, serde_json::to_string_pretty(&case).unwrap());
    path
}

fn with_url(event: Value, url: &UrlChoice, receiver_url: &str) -> Value {
    let mut event = event;
    if let Some(obj) = event.as_object_mut() {
        match url {
            UrlChoice::Allowed => {
                obj.insert("ResponseURL".into(), json!(receiver_url));
            }
            UrlChoice::Hostile(u) => {
                obj.insert("ResponseURL".into(), json!(u));
            }
            UrlChoice::Keep => {}
        }
    }
    event
}

fn report(name: &str, totals: &Value) {
    eprintln!("{name}: {totals}");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join("fuzz-totals.json");
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut all: Value = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| json!({}));
    all[name] = totals.clone();
    let _ = std::fs::write(&path, serde_json::to_string_pretty(&all).unwrap());
}

// ---------------------------------------------------------------------------------------------
// Tests

#[test]
fn validate_event_never_panics_and_refuses_briefly() {
    let n = cases(2000);
    let mut runner = TestRunner::new(Config {
        cases: n,
        failure_persistence: None,
        ..Config::default()
    });
    let fuzzed = AtomicUsize::new(0);
    let refused = AtomicUsize::new(0);
    let crashed = AtomicUsize::new(0);
    let result = runner.run(&arb_event(), |(event, url)| {
        let event = with_url(event, &url, "http://127.0.0.1:9/cfn-response/x");
        fuzzed.fetch_add(1, Ordering::Relaxed);
        let outcome = catch_unwind(AssertUnwindSafe(|| cfn_logs_delivery::validate_event(&event)));
        let Ok(outcome) = outcome else {
            crashed.fetch_add(1, Ordering::Relaxed);
            save_found("validate", &event, &url, "validate_event panicked");
            return Err(TestCaseError::fail("validate_event panicked"));
        };
        if let Err(e) = outcome {
            refused.fetch_add(1, Ordering::Relaxed);
            let msg = e.to_string();
            prop_assert!(!msg.is_empty());
            // Every problem is listed, within 2000 bytes plus the "and N more" count.
            prop_assert!(
                msg.len() <= 2048,
                "a {}-byte refusal: {}…",
                msg.len(),
                &msg[..msg.char_indices().nth(200).map_or(msg.len(), |(i, _)| i)]
            );
        }
        Ok(())
    });
    let totals =
        json!({"events_fuzzed": fuzzed.into_inner(), "refused": refused.into_inner(), "crashed": crashed.into_inner()});
    report("validate_event", &totals);
    if let Err(TestError::Fail(why, (event, url))) = &result {
        let path = save_found(
            "validate",
            &with_url(event.clone(), url, "http://127.0.0.1:9/cfn-response/x"),
            url,
            &why.to_string(),
        );
        panic!("validate_event: {why}; case saved as {}", path.display());
    }
    result.unwrap();
}

#[test]
fn the_protocol_answers_every_event_exactly_once() {
    let env = InProcess::start();
    let totals = Totals::default();
    let next = AtomicUsize::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(300),
        failure_persistence: None,
        max_shrink_iters: 200,
        ..Config::default()
    });
    let started = Instant::now();
    let result = runner.run(&arb_event(), |(event, url)| {
        let key = format!("fz-{}", next.fetch_add(1, Ordering::Relaxed));
        let event = with_url(event, &url, &env.receiver.url(&key));
        check_protocol(&env, &totals, event, &key).map_err(TestCaseError::fail)
    });
    let mut t = totals.json();
    t["seconds"] = json!(started.elapsed().as_secs_f64().round());
    report("protocol_in_process", &t);
    if let Err(TestError::Fail(why, (event, url))) = &result {
        let path = save_found("protocol", event, url, &why.to_string());
        panic!("protocol: {why}; case saved as {}\n{}", path.display(), t);
    }
    result.unwrap();
    assert_eq!(t["crashed"], 0);
    assert!(
        t["answered_exactly_once"].as_u64().unwrap() > 0 && t["valid_events"].as_u64().unwrap() > 0,
        "{t}"
    );
}

/// Every file in tests/fuzz_corpus: `{"note", "response_url": "allowed" | "keep" | URL, "event"}`.
#[test]
fn corpus_cases_replay_with_the_same_invariants() {
    let env = InProcess::start();
    let totals = Totals::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/fuzz_corpus")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has only {} cases", files.len());
    let mut failures = Vec::new();
    for (i, path) in files.iter().enumerate() {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let case: Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let key = format!("corpus-{i}");
        let url = match case["response_url"].as_str() {
            Some("allowed") | None => UrlChoice::Allowed,
            Some("keep") => UrlChoice::Keep,
            Some(other) => UrlChoice::Hostile(Box::leak(other.to_string().into_boxed_str())),
        };
        let event = with_url(case["event"].clone(), &url, &env.receiver.url(&key));
        if let Err(why) = check_protocol(&env, &totals, event, &key) {
            failures.push(format!("{name}: {why}"));
        }
    }
    report("corpus", &totals.json());
    assert!(
        failures.is_empty(),
        "{} corpus case(s) fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Nesting beyond what the runtime's parser accepts (128) reaches the library only in-process;
/// it must still be answered and cost no Logs call. (Far deeper values, ~2000 levels and more,
/// overflow a 2 MB stack inside serde's recursive conversions and drops: the binary must keep
/// parsing with a depth limit, see `hostile_input::deeply_nested_properties_are_still_answered`.)
#[test]
fn deep_nesting_in_process_is_answered() {
    let env = InProcess::start();
    let totals = Totals::default();
    for (i, (depth, arrays, place)) in [
        (129, false, "prop"),
        (500, true, "prop"),
        (1000, false, "old"),
        (1000, true, "top"),
        (1000, false, "prop"),
    ]
    .into_iter()
    .enumerate()
    {
        let key = format!("deep-{i}");
        let mut event = base_event(i % 3, 0);
        match place {
            "prop" => event["ResourceProperties"]["Deep"] = nested(depth, arrays),
            "old" => event["OldResourceProperties"] = nested(depth, arrays),
            _ => event["Extra"] = nested(depth, arrays),
        }
        let event = with_url(event, &UrlChoice::Allowed, &env.receiver.url(&key));
        // Deep values recurse in serde (and in Drop): give the case a thread with a normal
        // Lambda-sized main stack (8 MB) rather than the test harness's 2 MB.
        let outcome = std::thread::scope(|s| {
            std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn_scoped(s, || check_protocol(&env, &totals, event, &key))
                .unwrap()
                .join()
        });
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(why)) => panic!("depth {depth} ({place}): {why}"),
            Err(_) => panic!("depth {depth} ({place}): panicked"),
        }
    }
    report("deep_nesting", &totals.json());
}
