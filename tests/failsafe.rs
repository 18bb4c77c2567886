//! No stack waits for an answer that cannot come.
//!
//! - The binary answers Lambda's on-failure records (both conditions, every request type) FAILED,
//!   once, with the wrapped ids and no CloudWatch Logs call; a refused URL or a record that wraps
//!   no CloudFormation event gets nothing, and the log never shows the signature.
//! - Under the local asynchronous runner (`cfn_local::async_invoke`: retries, then the on-failure
//!   destination, Lambda's delays scaled down), a provider killed in the middle of every attempt,
//!   or throttled until the event is too old, is answered by the failsafe function.
//! - A client that cannot be built (no CA certificate: `SSL_CERT_FILE` pointing nowhere) is a
//!   FAILED answer saying so, never a panic inside the runtime.

mod common;

use std::time::Duration;

use cfn_local::async_invoke::{kill_mid_logs_call, leave_alone, on_failure_record};
use cfn_local::{events, AsyncLambda, AsyncSettings, Condition, Fault, Invocation, Outcome, Stack, FAKE_SIGNATURE};
use common::*;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);
/// Lambda's retry delays (1 and 2 minutes) and event age (300 s) divided by this.
const SPEEDUP: u32 = 100;
const MARKER: &str = "cfn-logs-delivery:failed-create:";

/// What Lambda reports for an attempt whose process was killed.
fn killed() -> Value {
    json!({"errorType": "Runtime.ExitError", "errorMessage": "RequestId: 6f0d2c3e Error: Runtime exited with error: signal: killed"})
}

/// A CloudFormation event of `request_type` whose ResponseURL is the receiver's.
fn cfn_event(stack: &Stack, request_type: &str, logical_id: &str) -> (Value, String) {
    let props = source_props(&format!("{}-src", logical_id.to_lowercase()));
    let url = stack.placeholder_url();
    let e = match request_type {
        "Create" => events::create(SOURCE, logical_id, props, &url),
        "Update" => events::update(SOURCE, logical_id, "existing-src", props.clone(), props, &url),
        _ => events::delete(SOURCE, logical_id, "existing-src", props, &url),
    };
    let request_id = events::request_id(&e).unwrap().to_owned();
    (
        events::with_response_url(e, &stack.receiver.url(&request_id)),
        request_id,
    )
}

/// Lambda invoking the destination function with `record` (the stack's function plays it).
fn deliver(stack: &Stack, record: Value) -> Invocation {
    stack.lambda.runtime.invoke(record, T)
}

fn reason_of(answer: &cfn_local::Answer) -> String {
    answer.reason().unwrap_or_default()
}

#[test]
fn records_of_both_conditions_are_answered_failed_once_for_every_request_type() {
    let stack = start_stack(&[]);
    for condition in [Condition::RetriesExhausted, Condition::EventAgeExceeded] {
        for request_type in ["Create", "Update", "Delete"] {
            let label = format!("{condition:?} {request_type}");
            let (event, request_id) = cfn_event(&stack, request_type, "Src");
            let record = match condition {
                Condition::RetriesExhausted => on_failure_record(&event, condition, 2, Some(killed())),
                Condition::EventAgeExceeded => on_failure_record(&event, condition, 0, None),
            };
            let inv = deliver(&stack, record);
            assert!(
                matches!(inv.outcome, Outcome::Response(_)),
                "{label}: {:?}\n{}",
                inv.outcome,
                stack.lambda.log_text()
            );
            let answer = stack
                .receiver
                .wait_for(&request_id, Duration::from_secs(2))
                .unwrap_or_else(|| panic!("{label}: no answer"));
            assert_eq!(stack.receiver.attempts(&request_id), 1, "{label}: exactly one PUT");
            assert_eq!(stack.receiver.answers(&request_id).len(), 1, "{label}");
            let body = answer.json().unwrap();
            assert_eq!(body["Status"], "FAILED", "{label}: {body}");
            for key in ["StackId", "RequestId", "LogicalResourceId"] {
                assert_eq!(body[key], event[key], "{label}: {key}");
            }
            let expected_id = match request_type {
                "Create" => format!("{MARKER}{request_id}"),
                _ => "existing-src".to_owned(),
            };
            assert_eq!(answer.physical_id().as_deref(), Some(expected_id.as_str()), "{label}");
            assert!(answer.response.is_some(), "{label}: CloudFormation can read it");
            assert!(
                answer.content_type.as_deref().unwrap_or("").is_empty()
                    && answer.content_length_header == Some(answer.body.len())
            );
            assert!(answer.body.len() <= 4096);
            let reason = reason_of(&answer);
            assert!(reason.contains("could not answer"), "{label}: {reason}");
            match condition {
                Condition::RetriesExhausted => {
                    assert!(
                        reason.contains("RetriesExhausted after 2 attempts") && reason.contains("signal: killed"),
                        "{label}: {reason}"
                    )
                }
                Condition::EventAgeExceeded => {
                    assert!(
                        reason.contains("EventAgeExceeded before any attempt ran"),
                        "{label}: {reason}"
                    )
                }
            }
            assert!(
                reason.contains("Timeout and MemorySize") && reason.contains("VPC") && reason.contains("concurrency"),
                "{reason}"
            );
        }
    }
    assert_eq!(
        stack.proxy.total_calls(),
        0,
        "the failsafe makes no CloudWatch Logs call: {:?}",
        stack.proxy.calls()
    );
    scan_log("failsafe::records", &stack.lambda);
}

#[test]
fn a_record_whose_response_url_is_refused_sends_nothing_and_logs_no_signature() {
    let stack = start_stack(&[]);
    let port = stack.receiver.port();
    let query =
        format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={FAKE_SIGNATURE}");
    for url in [
        format!("https://evil.example/cfn-response/x?{query}"),
        format!("http://user:{FAKE_SIGNATURE}@127.0.0.1:{port}/cfn-response/x?{query}"),
        format!("https://bucket.s3.amazonaws.com.evil.example/cfn-response/x?{query}"),
    ] {
        let (mut event, _) = cfn_event(&stack, "Create", "Src");
        event["ResponseURL"] = json!(url);
        let inv = deliver(
            &stack,
            on_failure_record(&event, Condition::RetriesExhausted, 2, Some(killed())),
        );
        let reason = handled_unanswered(&url, &inv);
        assert!(reason.contains("refused"), "{reason}");
        assert!(!reason.contains(FAKE_SIGNATURE), "{reason}");
    }
    assert!(stack.receiver.all_answers().is_empty());
    assert_eq!(stack.receiver.attempts("x"), 0, "nothing reached the receiver");
    assert_eq!(stack.proxy.total_calls(), 0);
    let log = stack.lambda.log_text();
    assert_eq!(log.matches("refused").count(), 3, "each refusal is logged:\n{log}");
    scan_log("failsafe::refused_url", &stack.lambda);
}

#[test]
fn a_record_that_wraps_no_cloudformation_event_sends_nothing() {
    let stack = start_stack(&[]);
    let (cfn_event, request_id) = cfn_event(&stack, "Create", "Src");
    let mut records: Vec<(&str, Value)> = [
        json!(null),
        json!({}),
        json!({"foo": "bar"}),
        json!("a string"),
        json!([1, 2]),
        json!({"ResponseURL": 5}),
    ]
    .into_iter()
    .map(|payload| {
        (
            "no CloudFormation event",
            on_failure_record(&payload, Condition::RetriesExhausted, 3, Some(killed())),
        )
    })
    .collect();
    // An on-success record (the provider answered): never answered again.
    let mut success = on_failure_record(
        &cfn_event,
        Condition::RetriesExhausted,
        1,
        Some(json!({"Status": "SUCCESS"})),
    );
    success["requestContext"]["condition"] = json!("Success");
    records.push(("not an on-failure one", success));
    // No requestPayload at all: not a record, and no ResponseURL either.
    let mut bare = on_failure_record(&cfn_event, Condition::RetriesExhausted, 1, None);
    bare.as_object_mut().unwrap().remove("requestPayload");
    records.push(("no ResponseURL", bare));
    for (label, record) in records {
        let inv = deliver(&stack, record.clone());
        let reason = handled_unanswered(label, &inv);
        assert!(
            reason.contains(label) || reason.contains("ResponseURL"),
            "{label}: {reason} for {record}"
        );
    }
    assert!(
        stack.receiver.all_answers().is_empty() && stack.receiver.attempts(&request_id) == 0,
        "nothing sent"
    );
    assert_eq!(stack.proxy.total_calls(), 0);
    let log = stack.lambda.log_text();
    assert!(
        log.contains("wraps no CloudFormation event") && log.contains("is not an on-failure one"),
        "{log}"
    );
    scan_log("failsafe::no_event", &stack.lambda);
}

#[test]
fn a_provider_killed_mid_event_on_every_attempt_is_answered_by_the_failsafe() {
    let stack = start_stack(&[]);
    stack.proxy.set_fault(Fault::Hang);
    let mut lambda =
        AsyncLambda::start(&stack, AsyncSettings::template(SPEEDUP)).expect("start the provider and the failsafe");
    let event = create(&stack, SOURCE, "Killed", source_props("killed-src"));
    let (run, answer) = lambda
        .send(&stack, event.clone(), kill_mid_logs_call(&stack.proxy))
        .unwrap();

    assert_eq!(
        run.attempts.len(),
        2,
        "the first attempt and MaximumRetryAttempts (1) retry: {run:?}"
    );
    for attempt in &run.attempts {
        let Outcome::Error(e) = &attempt.outcome else {
            panic!("{:?}", attempt.outcome)
        };
        assert_eq!(e["errorType"], "Runtime.ExitError");
        assert!(
            e["errorMessage"]
                .as_str()
                .unwrap()
                .ends_with("Runtime exited with error: signal: killed"),
            "{e}"
        );
    }
    assert_eq!(run.condition, Some(Condition::RetriesExhausted));
    assert!(
        matches!(run.destination.as_ref().map(|d| &d.outcome), Some(Outcome::Response(_))),
        "{:?}",
        run.destination
    );
    let answer = answer.unwrap_or_else(|| panic!("no answer\n{}", lambda.destination.log_text()));
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    assert_eq!(
        answer.physical_id(),
        Some(format!("{MARKER}{}", event["RequestId"].as_str().unwrap()))
    );
    let reason = reason_of(&answer);
    assert!(
        reason.contains("RetriesExhausted after 2 attempts") && reason.contains("signal: killed"),
        "{reason}"
    );
    let waited = answer.received_at - run.sent_at;
    eprintln!(
        "killed mid-event twice: the stack waited {:.1} s (Lambda's waits / {SPEEDUP})",
        waited.as_secs_f64()
    );
    assert!(waited < Duration::from_secs(15), "{waited:?}");

    // One Logs call per attempt, each held until the kill; none from the failsafe.
    assert_eq!(
        stack.proxy.calls().into_iter().collect::<Vec<_>>(),
        vec![("GetDeliverySource".to_owned(), 2)]
    );
    check_log_text("failsafe::killed provider", &lambda.function.log_text());
    check_log_text("failsafe::killed failsafe", &lambda.destination.log_text());
}

#[test]
fn a_throttled_event_is_answered_by_the_failsafe_once_it_is_too_old() {
    let stack = start_stack(&[]);
    let settings = AsyncSettings {
        throttled: true,
        ..AsyncSettings::template(SPEEDUP)
    };
    let mut lambda = AsyncLambda::start(&stack, settings).expect("start the provider and the failsafe");
    let event = delete(
        &stack,
        DESTINATION,
        "Dest",
        "some-destination",
        destination_props("some-destination"),
    );
    let (run, answer) = lambda.send(&stack, event, leave_alone).unwrap();
    assert!(run.attempts.is_empty(), "a throttled function never runs");
    assert_eq!(run.condition, Some(Condition::EventAgeExceeded));
    let answer = answer.unwrap_or_else(|| panic!("no answer\n{}", lambda.destination.log_text()));
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    assert_eq!(
        answer.physical_id().as_deref(),
        Some("some-destination"),
        "a Delete keeps its id"
    );
    let reason = reason_of(&answer);
    assert!(
        reason.contains("EventAgeExceeded before any attempt ran") && reason.contains("MaximumEventAgeInSeconds"),
        "{reason}"
    );
    let waited = answer.received_at - run.sent_at;
    eprintln!(
        "throttled: the stack waited {:.1} s (MaximumEventAgeInSeconds / {SPEEDUP})",
        waited.as_secs_f64()
    );
    assert!(
        waited >= Duration::from_secs(3) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    assert_eq!(stack.proxy.total_calls(), 0);
    check_log_text("failsafe::throttled failsafe", &lambda.destination.log_text());
}

#[test]
fn a_client_that_cannot_be_built_is_a_failed_answer_not_a_panic() {
    // A real trigger: with no CA certificate to load, the answer client cannot be built as it was
    // (reqwest: "No CA certificates were loaded from the system"); a panic in the runtime there
    // would end the invocation unanswered and leave the stack waiting for its ServiceTimeout.
    // The Logs endpoint is a bare listener: any connection attempt to it would wait in its backlog.
    let logs_endpoint = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback listener");
    logs_endpoint.set_nonblocking(true).unwrap();
    let endpoint_url = format!("http://{}", logs_endpoint.local_addr().unwrap());
    let stack = start_stack(&[
        ("SSL_CERT_FILE", "/nonexistent/cfn-logs-delivery/ca.pem"),
        ("SSL_CERT_DIR", "/nonexistent/cfn-logs-delivery"),
        ("AWS_ENDPOINT_URL", &endpoint_url),
    ]);
    let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props("no-ca-src")));
    assert!(
        matches!(inv.outcome, Outcome::Response(_)),
        "no invocation error: {:?}\n{}",
        inv.outcome,
        stack.lambda.log_text()
    );
    let answer = answer.unwrap_or_else(|| panic!("no answer\n{}", stack.lambda.log_text()));
    eprintln!(
        "no CA certificate: answered FAILED in {} ms, on the first attempt",
        (answer.received_at - inv.sent_at).as_millis()
    );
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    let reason = reason_of(&answer);
    for needle in [
        "the provider could not start",
        "no CA certificate",
        "SSL_CERT_FILE=/nonexistent/cfn-logs-delivery/ca.pem",
        "GetDeliverySource",
    ] {
        assert!(reason.contains(needle), "{needle}: {reason}");
    }
    let marker = answer.physical_id().unwrap();
    assert!(marker.starts_with(MARKER), "{marker}");

    // What needs no call is answered as ever: the Delete of the failed Create's marker succeeds.
    let (physical_id, _) = must_succeed(
        &stack,
        delete(&stack, SOURCE, "Src", &marker, source_props("no-ca-src")),
    );
    assert_eq!(physical_id, marker);
    let (_, answer) = stack.send(update(
        &stack,
        SOURCE,
        "Src",
        "no-ca-src",
        source_props("no-ca-src"),
        source_props("no-ca-src"),
    ));
    let answer = answer.expect("an answer to the Update");
    assert_eq!(
        (answer.status().as_deref(), answer.physical_id().as_deref()),
        (Some("FAILED"), Some("no-ca-src"))
    );
    // And the failsafe path still answers.
    let (event, request_id) = cfn_event(&stack, "Create", "Src2");
    assert!(matches!(
        deliver(
            &stack,
            on_failure_record(&event, Condition::RetriesExhausted, 2, Some(killed()))
        )
        .outcome,
        Outcome::Response(_)
    ));
    assert_eq!(
        stack
            .receiver
            .wait_for(&request_id, Duration::from_secs(2))
            .and_then(|a| a.status())
            .as_deref(),
        Some("FAILED")
    );

    every_kind_fails_naming_the_call_not_made(&stack);
    match logs_endpoint.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("a connection was attempted to the Logs endpoint: {other:?}"),
    }
    let log = stack.lambda.log_text();
    assert!(
        log.contains("answering with the CA roots built into the binary"),
        "{log}"
    );
    assert!(!log.contains("panic"), "{log}");
    scan_log("failsafe::no_ca_certificates", &stack.lambda);
}

/// With no Logs client, a Create, Update and Delete of each kind (of a resource never made) answer
/// FAILED, the Reason naming the first call the operation needed and why it was not made; the
/// Delete of a failed Create's marker needs none and succeeds.
fn every_kind_fails_naming_the_call_not_made(stack: &Stack) {
    let cases = [
        (SOURCE, source_props("nc-src"), "nc-src", ["GetDeliverySource"; 3]),
        (
            DESTINATION,
            destination_props("nc-dest"),
            "nc-dest",
            ["GetDeliveryDestination"; 3],
        ),
        (
            DELIVERY,
            delivery_props("nc-src", "nc-dest"),
            "0123456789abcdef",
            ["CreateDelivery", "GetDelivery", "GetDelivery"],
        ),
    ];
    for (kind, props, physical_id, [on_create, on_update, on_delete]) in cases {
        let events = [
            ("Create", on_create, create(stack, kind, "NoClient", props.clone())),
            (
                "Update",
                on_update,
                update(stack, kind, "NoClient", physical_id, props.clone(), props.clone()),
            ),
            (
                "Delete",
                on_delete,
                delete(stack, kind, "NoClient", physical_id, props.clone()),
            ),
        ];
        for (request_type, call, event) in events {
            let (_, answer) = stack.send(event);
            let answer = answer.unwrap_or_else(|| panic!("{kind} {request_type}: no answer"));
            let reason = reason_of(&answer);
            assert_eq!(
                answer.status().as_deref(),
                Some("FAILED"),
                "{kind} {request_type}: {reason}"
            );
            let why = format!(
                "{call} failed: could not reach CloudWatch Logs: the provider could not start: no CA certificate could be loaded"
            );
            assert!(reason.starts_with(&why), "{kind} {request_type}: {reason}");
            assert!(
                reason.contains("SSL_CERT_FILE=/nonexistent/cfn-logs-delivery/ca.pem"),
                "{reason}"
            );
            if request_type == "Create" {
                let marker = answer.physical_id().unwrap();
                let (gone, _) = must_succeed(stack, delete(stack, kind, "NoClient", &marker, props.clone()));
                assert_eq!(gone, marker);
            }
        }
    }
}
