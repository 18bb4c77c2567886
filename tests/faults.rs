//! Faults around the handler (the one answer must survive them), driven through the real binary
//! (Lambda Runtime API emulator → function → counting proxy → moto; answers to a local
//! ResponseURL receiver), plus the panic / hang cases that need the library in-process.
//!
//! Every test has its own servers, so the harness runs them in parallel. Each binary-driven test
//! ends with `scan_log`: no ResponseURL query in the function's log, every line JSON.

mod common;

use std::time::{Duration, Instant};

use cfn_local::{Fault, Outcome, FAKE_SIGNATURE};
use cfn_logs_delivery::request::Outcome as OpOutcome;
use cfn_logs_delivery::Error;
use common::*;
use serde_json::{json, Value};

const SHORT_DEADLINE: Duration = Duration::from_secs(6);

/// The deadline the function was given, as an `Instant` on our clock.
fn deadline_of(inv: &cfn_local::Invocation) -> Instant {
    inv.sent_at + inv.timeout
}

// ---------------------------------------------------------------------------------------------
// 1. CloudWatch Logs hangs

#[test]
fn logs_endpoint_that_hangs_is_answered_failed_before_the_deadline() {
    let mut stack = start_stack(&[]);
    stack.lambda.timeout = SHORT_DEADLINE;
    stack.proxy.set_fault(Fault::Hang);

    let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props("hang-src")));
    let answer = answer.unwrap_or_else(|| panic!("no answer; {inv:?}\n{}", stack.lambda.log_text()));
    let deadline = deadline_of(&inv);
    assert!(
        answer.received_at < deadline,
        "answered {:?} after the deadline",
        answer.received_at - deadline
    );
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    let reason = answer.reason().unwrap_or_default();
    assert!(reason.contains("timed out"), "{reason}");
    assert!(
        answer
            .physical_id()
            .unwrap()
            .starts_with("cfn-logs-delivery:failed-create:"),
        "a failed Create answers a marker id"
    );
    // The invocation itself ended normally (the answer was delivered), before the deadline.
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{:?}", inv.outcome);
    assert!(inv.finished_at.is_some_and(|at| at < deadline), "{inv:?}");
    assert!(
        stack.proxy.call_count("GetDeliverySource") >= 1,
        "{:?}",
        stack.proxy.calls()
    );

    // The abandoned call wedges nothing: the same process serves the next event.
    stack.proxy.set_fault(Fault::None);
    stack.lambda.timeout = Duration::from_secs(30);
    let (physical_id, _) = must_succeed(&stack, create(&stack, SOURCE, "Src", source_props("hang-src")));
    assert_eq!(physical_id, "hang-src");
    scan_log("faults::logs_endpoint_hang", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 2. Throttling, 503, transient conflicts

/// Injects `fault` (on `only` or on every operation), sends a Create and checks it succeeded
/// within the deadline after the expected number of calls.
fn transient_fault_is_retried(label: &str, fault: Fault, only: Option<&str>, expected: &[(&str, usize)]) {
    let mut stack = start_stack(&[]);
    stack.lambda.timeout = Duration::from_secs(20);
    match only {
        Some(op) => stack.proxy.set_fault_on(op, fault),
        None => stack.proxy.set_fault(fault),
    }
    let name = format!("{label}-src");
    let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props(&name)));
    let answer = answer.unwrap_or_else(|| panic!("no answer; {inv:?}\n{}", stack.lambda.log_text()));
    assert_eq!(answer.status().as_deref(), Some("SUCCESS"), "{:?}", answer.json());
    assert_eq!(answer.physical_id().as_deref(), Some(name.as_str()));
    assert!(answer.received_at < deadline_of(&inv));
    let calls = stack.proxy.calls();
    for (op, n) in expected {
        assert_eq!(calls.get(*op).copied().unwrap_or(0), *n, "{op} in {calls:?}");
    }
    let (status, body) = stack.moto.logs_call("GetDeliverySource", json!({"name": name}));
    assert_eq!(status, 200, "{body}");
    let log = stack.lambda.log_text();
    assert!(
        log.contains("transient CloudWatch Logs error, retrying"),
        "retries are logged:\n{log}"
    );
    scan_log(&format!("faults::{label}"), &stack.lambda);
}

#[test]
fn throttling_is_retried_until_the_create_succeeds() {
    // Three throttled GetDeliverySource calls, then the real Get (not found) and the Put.
    transient_fault_is_retried(
        "throttled",
        Fault::Throttle { remaining: 3 },
        None,
        &[("GetDeliverySource", 4), ("PutDeliverySource", 1)],
    );
}

#[test]
fn service_unavailable_is_retried_until_the_create_succeeds() {
    transient_fault_is_retried(
        "unavailable",
        Fault::Unavailable { remaining: 3 },
        None,
        &[("GetDeliverySource", 4), ("PutDeliverySource", 1)],
    );
}

#[test]
fn transient_conflict_is_retried_until_the_create_succeeds() {
    transient_fault_is_retried(
        "conflict",
        Fault::Conflict { remaining: 2 },
        Some("PutDeliverySource"),
        &[("GetDeliverySource", 1), ("PutDeliverySource", 3)],
    );
}

#[test]
fn endless_throttling_fails_before_the_deadline_naming_it() {
    let mut stack = start_stack(&[]);
    stack.lambda.timeout = SHORT_DEADLINE;
    stack.proxy.set_fault(Fault::Throttle { remaining: usize::MAX });

    let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props("throttled-src")));
    let answer = answer.unwrap_or_else(|| panic!("no answer; {inv:?}\n{}", stack.lambda.log_text()));
    assert!(answer.received_at < deadline_of(&inv));
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{:?}", inv.outcome);
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    let reason = answer.reason().unwrap_or_default();
    assert!(reason.contains("ThrottlingException"), "{reason}");
    assert!(reason.contains("GetDeliverySource failed after"), "{reason}");
    let attempts = stack.proxy.call_count("GetDeliverySource");
    assert!(attempts >= 3, "retried only {attempts} times");
    assert_eq!(stack.proxy.call_count("PutDeliverySource"), 0);
    scan_log("faults::endless_throttling", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 3. The ResponseURL misbehaves

#[test]
fn response_url_503s_are_retried_and_exactly_one_answer_lands() {
    let stack = start_stack(&[]);
    stack.receiver.fail_next(3, 503);
    let event = create(&stack, SOURCE, "Src", source_props("put-retry-src"));
    let rid = event["RequestId"].as_str().unwrap().to_string();
    let (inv, answer) = stack.send(event);
    assert!(matches!(inv.outcome, Outcome::Response(_)), "{:?}", inv.outcome);
    let answer = answer.expect("an answer after the 503s");
    assert_eq!(answer.status().as_deref(), Some("SUCCESS"));
    std::thread::sleep(Duration::from_millis(500)); // nothing more may follow
    assert_eq!(stack.receiver.answers(&rid).len(), 1);
    assert_eq!(stack.receiver.attempts(&rid), 4);
    let content_type = answer.content_type.as_deref().unwrap_or_default();
    assert_eq!(
        content_type, "",
        "the PUT must send an empty Content-Type (the URL is presigned without one)"
    );
    assert_eq!(answer.content_length_header, Some(answer.body.len()));
    let log = stack.lambda.log_text();
    assert_eq!(log.matches("answer not accepted yet, retrying").count(), 3, "{log}");
    scan_log("faults::response_url_503s", &stack.lambda);
}

#[test]
fn response_url_403_is_not_retried_and_the_invocation_errors() {
    let stack = start_stack(&[]);
    stack.receiver.fail_next(1, 403);
    let event = create(&stack, SOURCE, "Src", source_props("put-403-src"));
    let rid = event["RequestId"].as_str().unwrap().to_string();
    let (inv, answer) = stack.send(event);
    assert!(answer.is_none());
    assert_eq!(
        stack.receiver.attempts(&rid),
        1,
        "an S3 403 (bad or expired signature) cannot get better by retrying"
    );
    let Outcome::Error(err) = &inv.outcome else {
        panic!("expected an error to the runtime, got {:?}", inv.outcome)
    };
    assert_eq!(err["errorType"], "AnswerNotDelivered", "{err}");
    let msg = err["errorMessage"].as_str().unwrap_or_default();
    assert!(msg.contains("HTTP 403") && msg.contains("(Injected)"), "{msg}");
    assert!(!msg.contains(FAKE_SIGNATURE), "{msg}");
    scan_log("faults::response_url_403", &stack.lambda);
}

#[test]
fn response_url_that_never_answers_ends_in_an_error_before_the_deadline() {
    let mut stack = start_stack(&[]);
    stack.lambda.timeout = SHORT_DEADLINE;
    stack.receiver.set_hang(true);
    let event = create(&stack, SOURCE, "Src", source_props("put-hang-src"));
    let rid = event["RequestId"].as_str().unwrap().to_string();
    let (inv, answer) = stack.send(event);
    assert!(answer.is_none());
    assert!(stack.receiver.attempts(&rid) >= 1);
    let Outcome::Error(err) = &inv.outcome else {
        panic!("expected an error to the runtime, got {:?}", inv.outcome)
    };
    assert!(inv.finished_at.is_some_and(|at| at < deadline_of(&inv)), "{inv:?}");
    assert_eq!(err["errorType"], "AnswerNotDelivered", "{err}");
    let msg = err["errorMessage"].as_str().unwrap_or_default();
    assert!(!msg.contains(FAKE_SIGNATURE) && !msg.contains("X-Amz-"), "{msg}");
    let log = stack.lambda.log_text();
    let line = log
        .lines()
        .find(|l| l.contains("answer could not be delivered"))
        .unwrap_or_else(|| panic!("the log says why:\n{log}"));
    assert!(
        line.contains(&format!("/cfn-response/{rid}?<redacted>")),
        "the URL is shown redacted: {line}"
    );
    assert!(!log.contains(FAKE_SIGNATURE));
    stack.receiver.set_hang(false);
    scan_log("faults::response_url_hang", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 4. CloudWatch Logs unreachable

#[test]
fn unreachable_logs_endpoint_fails_fast_saying_so() {
    let dead = format!("http://127.0.0.1:{}", closed_port());
    let stack = start_stack(&[("AWS_ENDPOINT_URL", &dead)]);
    let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props("unreachable-src")));
    let answer = answer.unwrap_or_else(|| panic!("no answer; {inv:?}\n{}", stack.lambda.log_text()));
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    let reason = answer.reason().unwrap_or_default();
    assert!(reason.contains("could not reach CloudWatch Logs"), "{reason}");
    assert!(reason.contains("GetDeliverySource failed after 3 attempts"), "{reason}");
    assert!(inv.elapsed < Duration::from_secs(5), "took {:?}", inv.elapsed);
    assert_eq!(stack.proxy.total_calls(), 0);
    scan_log("faults::unreachable", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 5. The same event twice

#[test]
fn duplicate_create_events_answer_alike_and_change_nothing_twice() {
    let stack = start_stack(&[]);
    let kinds = [
        (SOURCE, "Src", source_props("dup-src")),
        (DESTINATION, "Dest", destination_props("dup-dest")),
        (DELIVERY, "Deliv", delivery_props("dup-src", "dup-dest")),
    ];
    for (kind, logical_id, props) in kinds {
        let event = create(&stack, kind, logical_id, props);
        let rid = event["RequestId"].as_str().unwrap().to_string();
        let (_, first) = must_succeed(&stack, event.clone());
        stack.proxy.reset_counts();
        let (inv, second) = stack.send(event);
        let second = second.unwrap_or_else(|| panic!("{kind}: no second answer; {inv:?}"));
        let second = second.json().unwrap();
        for field in [
            "Status",
            "PhysicalResourceId",
            "Data",
            "StackId",
            "RequestId",
            "LogicalResourceId",
        ] {
            assert_eq!(
                first[field], second[field],
                "{kind}: {field} differs:\n{first}\n{second}"
            );
        }
        assert_eq!(stack.receiver.answers(&rid).len(), 2);
        let calls = stack.proxy.calls();
        let changes = mutating_calls(&stack.proxy);
        if kind == DELIVERY {
            // No way to look a delivery up by its pairing cheaply: CreateDelivery is tried and the
            // service refuses it (ConflictException), then the existing one is adopted.
            assert_eq!(changes, vec![("CreateDelivery".to_string(), 1)], "{kind}: {calls:?}");
            let (_, all) = stack.moto.logs_call("DescribeDeliveries", json!({}));
            assert_eq!(all["deliveries"].as_array().map(Vec::len), Some(1), "{all}");
        } else {
            assert!(changes.is_empty(), "{kind}: the repeat changed something: {calls:?}");
        }
    }
    scan_log("faults::duplicates", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 6. Out-of-band changes

/// Source, destination and delivery created through the handler: (delivery id, source arn).
fn create_all(stack: &cfn_local::Stack, prefix: &str) -> String {
    must_succeed(
        stack,
        create(stack, SOURCE, "Src", source_props(&format!("{prefix}-src"))),
    );
    must_succeed(
        stack,
        create(stack, DESTINATION, "Dest", destination_props(&format!("{prefix}-dest"))),
    );
    let (id, _) = must_succeed(
        stack,
        create(
            stack,
            DELIVERY,
            "Deliv",
            delivery_props(&format!("{prefix}-src"), &format!("{prefix}-dest")),
        ),
    );
    id
}

#[test]
fn delete_of_resources_already_deleted_out_of_band_succeeds() {
    let stack = start_stack(&[]);
    let delivery_id = create_all(&stack, "gone");
    let oob = [
        (
            "DeleteDelivery",
            json!({"id": delivery_id}),
            DELIVERY,
            "Deliv",
            delivery_id.clone(),
        ),
        (
            "DeleteDeliveryDestination",
            json!({"name": "gone-dest"}),
            DESTINATION,
            "Dest",
            "gone-dest".to_string(),
        ),
        (
            "DeleteDeliverySource",
            json!({"name": "gone-src"}),
            SOURCE,
            "Src",
            "gone-src".to_string(),
        ),
    ];
    for (op, body, kind, logical_id, physical_id) in oob {
        let (status, out) = stack.moto.logs_call(op, body);
        assert_eq!(status, 200, "{op}: {out}");
        stack.proxy.reset_counts();
        let (answered_id, _) = must_succeed(&stack, delete(&stack, kind, logical_id, &physical_id, json!({})));
        assert_eq!(answered_id, physical_id);
        assert!(
            mutating_calls(&stack.proxy).is_empty(),
            "{kind}: {:?}",
            stack.proxy.calls()
        );
    }
    scan_log("faults::delete_after_oob_delete", &stack.lambda);
}

#[test]
fn update_after_out_of_band_delete_recreates_the_resource() {
    let stack = start_stack(&[]);
    let delivery_id = create_all(&stack, "oob");
    // The delivery first (a real service refuses deleting a source or destination in use).
    assert_eq!(
        stack.moto.logs_call("DeleteDelivery", json!({"id": delivery_id})).0,
        200
    );
    assert_eq!(
        stack
            .moto
            .logs_call("DeleteDeliveryDestination", json!({"name": "oob-dest"}))
            .0,
        200
    );
    assert_eq!(
        stack
            .moto
            .logs_call("DeleteDeliverySource", json!({"name": "oob-src"}))
            .0,
        200
    );

    let src = source_props("oob-src");
    let (id, _) = must_succeed(&stack, update(&stack, SOURCE, "Src", "oob-src", src.clone(), src));
    assert_eq!(id, "oob-src");
    let (status, live) = stack.moto.logs_call("GetDeliverySource", json!({"name": "oob-src"}));
    assert_eq!(status, 200, "the source exists again: {live}");

    let dest = destination_props("oob-dest");
    let (id, _) = must_succeed(
        &stack,
        update(&stack, DESTINATION, "Dest", "oob-dest", dest.clone(), dest),
    );
    assert_eq!(id, "oob-dest");
    assert_eq!(
        stack
            .moto
            .logs_call("GetDeliveryDestination", json!({"name": "oob-dest"}))
            .0,
        200
    );
    let (status, policy) = stack.moto.logs_call(
        "GetDeliveryDestinationPolicy",
        json!({"deliveryDestinationName": "oob-dest"}),
    );
    assert_eq!(status, 200, "the policy is back too: {policy}");

    let deliv = delivery_props("oob-src", "oob-dest");
    let (new_id, body) = must_succeed(
        &stack,
        update(&stack, DELIVERY, "Deliv", &delivery_id, deliv.clone(), deliv),
    );
    assert_ne!(
        new_id, delivery_id,
        "a recreated delivery has a new id (CloudFormation then deletes the old one)"
    );
    assert_eq!(body["Data"]["DeliveryId"], new_id);
    let (status, live) = stack.moto.logs_call("GetDelivery", json!({"id": new_id}));
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["delivery"]["deliverySourceName"], "oob-src");

    // ...and the Delete of the old id that CloudFormation sends next is a no-op SUCCESS.
    stack.proxy.reset_counts();
    must_succeed(&stack, delete(&stack, DELIVERY, "Deliv", &delivery_id, json!({})));
    assert!(mutating_calls(&stack.proxy).is_empty(), "{:?}", stack.proxy.calls());
    assert_eq!(
        stack.moto.logs_call("GetDelivery", json!({"id": new_id})).0,
        200,
        "the new delivery is untouched"
    );
    scan_log("faults::update_after_oob_delete", &stack.lambda);
}

/// The user's tags of a `ListTagsForResource` answer (ownership tags checked and removed).
fn user_tags(mut tags: Value, logical_id: &str) -> Value {
    let map = tags.as_object_mut().expect("a tag map");
    assert_eq!(
        map.remove("cfn-logs-delivery:logical-id"),
        Some(json!(logical_id)),
        "ownership tags survive"
    );
    assert_eq!(
        map.remove("cfn-logs-delivery:stack-id"),
        Some(json!(cfn_local::events::STACK_ID))
    );
    tags
}

#[test]
fn tags_changed_out_of_band_are_brought_back_on_update() {
    let stack = start_stack(&[]);
    let delivery_id = create_all(&stack, "tags");
    let (_, live) = stack.moto.logs_call("GetDelivery", json!({"id": delivery_id}));
    let delivery_arn = live["delivery"]["arn"].as_str().unwrap().to_string();
    let (_, live) = stack.moto.logs_call("GetDeliverySource", json!({"name": "tags-src"}));
    let source_arn = live["deliverySource"]["arn"].as_str().unwrap().to_string();
    let (_, live) = stack
        .moto
        .logs_call("GetDeliveryDestination", json!({"name": "tags-dest"}));
    let destination_arn = live["deliveryDestination"]["arn"].as_str().unwrap().to_string();

    let cases = [
        (
            SOURCE,
            "Src",
            "tags-src".to_string(),
            source_props("tags-src"),
            source_arn,
        ),
        (
            DESTINATION,
            "Dest",
            "tags-dest".to_string(),
            destination_props("tags-dest"),
            destination_arn,
        ),
        (
            DELIVERY,
            "Deliv",
            delivery_id.clone(),
            delivery_props("tags-src", "tags-dest"),
            delivery_arn,
        ),
    ];
    for (kind, logical_id, physical_id, props, arn) in cases {
        assert_eq!(
            user_tags(live_tags(&stack.moto, &arn), logical_id),
            json!({"team": "platform"}),
            "{kind} after create"
        );
        // Someone edits tags by hand: changes the template's, adds a rogue one, adds one the
        // template now sets differently.
        let (s, b) = stack.moto.logs_call(
            "TagResource",
            json!({"resourceArn": arn, "tags": {"team": "hijacked", "rogue": "x"}}),
        );
        assert_eq!(s, 200, "{b}");
        let mut props = props;
        props["Tags"] = json!([{"Key": "team", "Value": "platform"}, {"Key": "env", "Value": "prod"}]);
        let (s, b) = stack
            .moto
            .logs_call("TagResource", json!({"resourceArn": arn, "tags": {"env": "dev"}}));
        assert_eq!(s, 200, "{b}");
        let (id, _) = must_succeed(
            &stack,
            update(&stack, kind, logical_id, &physical_id, props.clone(), props.clone()),
        );
        assert_eq!(id, physical_id, "{kind}: no replacement for a tag change");
        assert_eq!(
            user_tags(live_tags(&stack.moto, &arn), logical_id),
            json!({"team": "platform", "env": "prod"}),
            "{kind} after update"
        );

        // An out-of-band untag of a template tag is put back as well.
        let (s, b) = stack
            .moto
            .logs_call("UntagResource", json!({"resourceArn": arn, "tagKeys": ["env"]}));
        assert_eq!(s, 200, "{b}");
        must_succeed(
            &stack,
            update(&stack, kind, logical_id, &physical_id, props.clone(), props),
        );
        assert_eq!(
            user_tags(live_tags(&stack.moto, &arn), logical_id),
            json!({"team": "platform", "env": "prod"}),
            "{kind} after untag"
        );
    }
    scan_log("faults::oob_tags", &stack.lambda);
}

#[test]
fn foreign_resources_are_never_adopted_overwritten_or_deleted() {
    let stack = start_stack(&[]);
    // One planted by hand, one created by another logical id of the same stack.
    let planted = [
        ("foreign-src", json!({"owner": "someone-else"})),
        (
            "sibling-src",
            json!({"cfn-logs-delivery:stack-id": cfn_local::events::STACK_ID, "cfn-logs-delivery:logical-id": "OtherSrc"}),
        ),
    ];
    for (name, tags) in planted {
        let (s, b) = stack.moto.logs_call(
            "PutDeliverySource",
            json!({"name": name, "resourceArn": source_arn(name), "logType": "ACCESS_LOGS", "tags": tags}),
        );
        assert_eq!(s, 200, "{b}");
        stack.proxy.reset_counts();
        let (inv, answer) = stack.send(create(&stack, SOURCE, "Src", source_props(name)));
        let answer = answer.unwrap_or_else(|| panic!("no answer; {inv:?}"));
        assert_eq!(answer.status().as_deref(), Some("FAILED"));
        assert!(
            answer
                .reason()
                .unwrap()
                .contains("already exists and was not created by this stack resource"),
            "{:?}",
            answer.reason()
        );
        let marker = answer.physical_id().unwrap();
        assert!(marker.starts_with("cfn-logs-delivery:failed-create:"), "{marker}");
        assert!(mutating_calls(&stack.proxy).is_empty(), "{:?}", stack.proxy.calls());

        // The Delete CloudFormation sends after the failed Create: the marker, no call at all.
        stack.proxy.reset_counts();
        must_succeed(&stack, delete(&stack, SOURCE, "Src", &marker, json!({})));
        assert_eq!(stack.proxy.total_calls(), 0, "{:?}", stack.proxy.calls());

        // A Delete naming it (e.g. a placeholder that happens to match): left in place.
        must_succeed(&stack, delete(&stack, SOURCE, "Src", name, json!({})));
        assert_eq!(
            stack.proxy.call_count("DeleteDeliverySource"),
            0,
            "{:?}",
            stack.proxy.calls()
        );
        let (s, live) = stack.moto.logs_call("GetDeliverySource", json!({"name": name}));
        assert_eq!(s, 200, "still there: {live}");
    }
    scan_log("faults::foreign", &stack.lambda);
}

#[test]
fn failed_create_answers_a_marker_whose_delete_makes_no_call() {
    let stack = start_stack(&[]);
    let mut bad = source_props("bad name with spaces");
    bad["LogType"] = json!(5);
    let (_, answer) = stack.send(create(&stack, SOURCE, "Src", bad));
    let answer = answer.expect("answered");
    assert_eq!(answer.status().as_deref(), Some("FAILED"));
    let marker = answer.physical_id().unwrap();
    assert!(marker.starts_with("cfn-logs-delivery:failed-create:"), "{marker}");
    for kind in [SOURCE, DESTINATION, DELIVERY] {
        must_succeed(&stack, delete(&stack, kind, "Src", &marker, json!({})));
    }
    assert_eq!(stack.proxy.total_calls(), 0, "{:?}", stack.proxy.calls());
    scan_log("faults::marker", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// 7. Panics and hangs inside the operation (library in-process)

async fn boom() -> Result<OpOutcome, Error> {
    panic!("boom inside a resource operation")
}

async fn boom_without_message() -> Result<OpOutcome, Error> {
    std::panic::panic_any(42u32)
}

async fn boom_long() -> Result<OpOutcome, Error> {
    panic!("{}", "long panic message ".repeat(50_000))
}

/// An operation as `answer_with` takes it.
type BoxedOp = std::pin::Pin<Box<dyn std::future::Future<Output = Result<OpOutcome, Error>> + Send>>;
type MakeOp = fn() -> BoxedOp;

#[test]
fn panic_inside_an_operation_is_answered_once_and_the_handler_keeps_serving() {
    let env = InProcess::start();
    let deadline = || Instant::now() + Duration::from_secs(20);
    let ops: [(&str, MakeOp, &str); 3] = [
        ("panic-1", || Box::pin(boom()), "boom inside a resource operation"),
        ("panic-2", || Box::pin(boom_without_message()), "no message"),
        ("panic-3", || Box::pin(boom_long()), "long panic message"),
    ];
    for (key, op, expected) in ops {
        let payload = cfn_local::events::create(SOURCE, "Src", source_props("inproc-src"), &env.receiver.url(key));
        let returned = env.runtime.block_on(
            env.handler
                .answer_with(payload.clone(), deadline(), move |_req, _dl| op()),
        );
        let returned = returned.unwrap_or_else(|e| panic!("{key}: the answer was not delivered: {e}"));
        assert_eq!(returned["Status"], "FAILED");
        let answers = env.receiver.answers(key);
        assert_eq!(answers.len(), 1, "{key}: exactly one answer");
        assert_eq!(env.receiver.attempts(key), 1);
        let a = &answers[0];
        assert!(a.body.len() <= 4096, "{key}: {} bytes", a.body.len());
        assert!(a.response.is_some(), "{key}: CloudFormation can read it");
        assert_eq!(a.status().as_deref(), Some("FAILED"));
        let reason = a.reason().unwrap();
        assert!(
            reason.contains("panicked") && reason.contains(expected),
            "{key}: {reason}"
        );
        assert_eq!(a.json().unwrap()["RequestId"], payload["RequestId"]);
    }
    assert_eq!(env.proxy.total_calls(), 0);

    // The same handler (same runtime, same clients) serves a real event afterwards.
    let payload = cfn_local::events::create(
        SOURCE,
        "Src",
        source_props("inproc-src"),
        &env.receiver.url("after-panic"),
    );
    let returned = env.handle(payload, Duration::from_secs(20)).expect("delivered");
    assert_eq!(returned["Status"], "SUCCESS", "{returned}");
    let a = env
        .receiver
        .wait_for("after-panic", Duration::from_secs(1))
        .expect("answered");
    assert_eq!(a.status().as_deref(), Some("SUCCESS"));
    assert_eq!(a.data("Name").as_deref(), Some("inproc-src"));
    assert_eq!(env.proxy.call_count("PutDeliverySource"), 1);
}

#[test]
fn hanging_operation_in_process_is_answered_failed_before_the_deadline() {
    let env = InProcess::start();
    let budget = Duration::from_secs(3);
    let payload = cfn_local::events::create(SOURCE, "Src", source_props("inproc-hang"), &env.receiver.url("hang"));
    let started = Instant::now();
    let returned = env
        .runtime
        .block_on(env.handler.answer_with(payload, started + budget, |_req, _dl| {
            std::future::pending::<Result<OpOutcome, Error>>()
        }))
        .expect("delivered");
    assert!(started.elapsed() < budget, "took {:?}", started.elapsed());
    assert_eq!(returned["Status"], "FAILED");
    let a = env
        .receiver
        .wait_for("hang", Duration::from_millis(100))
        .expect("answered");
    assert!(a.reason().unwrap().contains("timed out"), "{:?}", a.reason());
    assert!(a.received_at < started + budget);
    assert_eq!(env.receiver.answers("hang").len(), 1);
}
