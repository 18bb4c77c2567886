//! The function's logs never carry the ResponseURL's query (a
//! credential: whoever holds the presigned URL answers for the stack), and every line is JSON.
//!
//! 1. One function at the most verbose levels it accepts (AWS_LAMBDA_LOG_LEVEL=trace, and
//!    RUST_LOG=trace) is walked through every path that logs: success, FAILED, Logs retries and
//!    hang, PUT retries, a PUT refused, refused and unparsable ResponseURLs, no ResponseURL, a
//!    payload that is not JSON, Lambda's on-failure records (answered, and with a refused URL).
//! 2. The logs archived by every binary-driven test (`faults`, `hostile_input`, this one, under
//!    `<target>/tmp/lambda-logs/`) are scanned again, after archiving one of its own so that the
//!    scan is never empty. Each of those tests also scans its own.

mod common;

use std::time::Duration;

use cfn_local::async_invoke::on_failure_record;
use cfn_local::{Condition, Fault, Outcome, Stack, FAKE_SIGNATURE};
use common::*;
use serde_json::{json, Value};

/// Walks `stack` through every logging path; returns the number of invocations.
fn exercise(stack: &mut Stack, prefix: &str) -> usize {
    let mut n = 0;
    let q = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={FAKE_SIGNATURE}");
    let mut send = |stack: &mut Stack, event: Value| {
        n += 1;
        stack.send(event)
    };
    // Success, then FAILED on bad input.
    let (_, a) = send(
        stack,
        create(stack, SOURCE, "Src", source_props(&format!("{prefix}-src"))),
    );
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("SUCCESS"));
    let (_, a) = send(stack, create(stack, SOURCE, "Src", json!({"Name": "bad name"})));
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("FAILED"));
    // Logs throttled twice (warn lines), then fine.
    stack.proxy.set_fault(Fault::Throttle { remaining: 2 });
    let (_, a) = send(
        stack,
        create(stack, DESTINATION, "Dest", destination_props(&format!("{prefix}-dest"))),
    );
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("SUCCESS"));
    // PUT answered 503 twice (warn lines carrying the redacted URL), then accepted.
    stack.receiver.fail_next(2, 503);
    let (_, a) = send(
        stack,
        update(
            stack,
            SOURCE,
            "Src",
            &format!("{prefix}-src"),
            source_props(&format!("{prefix}-src")),
            json!({}),
        ),
    );
    assert!(a.is_some());
    // PUT refused for good (error line with the redacted URL).
    stack.receiver.fail_next(1, 403);
    let (inv, _) = send(stack, delete(stack, SOURCE, "Src", "whatever", json!({})));
    assert!(matches!(inv.outcome, Outcome::Error(_)));
    // Logs hangs past a short deadline.
    stack.proxy.set_fault(Fault::Hang);
    stack.lambda.timeout = Duration::from_secs(3);
    let (_, a) = send(
        stack,
        create(stack, SOURCE, "Src2", source_props(&format!("{prefix}-src2"))),
    );
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("FAILED"));
    stack.proxy.set_fault(Fault::None);
    stack.lambda.timeout = Duration::from_secs(30);
    // ResponseURLs refused, parsable or not, and none at all.
    let port = stack.receiver.port();
    for url in [
        format!("https://evil.example/x?{q}"),
        format!("http://user:{FAKE_SIGNATURE}@127.0.0.1:{port}/cfn-response/x?{q}"),
        format!("htp:/127.0.0.1:{port}/cfn-response/x?{q}"),
        format!("http://127.0.0.1:99999/cfn-response/x?{q}"),
        format!("not a url at all ?{q}"),
        format!("http://127.0.0.2:{port}/x#{q}"),
    ] {
        let mut e = create(stack, SOURCE, "Src", source_props("refused"));
        e["ResponseURL"] = json!(url);
        n += 1;
        let inv = stack.lambda.runtime.invoke(e, Duration::from_secs(10));
        handled_unanswered(&url, &inv);
    }
    // Lambda's on-failure records (the failsafe path): one answered, one with a refused URL.
    let killed = json!({"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited with error: signal: killed"});
    let mut e = create(stack, SOURCE, "Src", source_props("failsafe"));
    let rid = e["RequestId"].as_str().unwrap().to_owned();
    e["ResponseURL"] = json!(stack.receiver.url(&rid));
    n += 1;
    let record = on_failure_record(&e, Condition::RetriesExhausted, 2, Some(killed.clone()));
    assert!(matches!(
        stack.lambda.runtime.invoke(record, Duration::from_secs(10)).outcome,
        Outcome::Response(_)
    ));
    assert_eq!(
        stack
            .receiver
            .wait_for(&rid, Duration::from_secs(2))
            .and_then(|a| a.status())
            .as_deref(),
        Some("FAILED")
    );
    e["ResponseURL"] = json!(format!("https://evil.example/cfn-response/x?{q}"));
    n += 1;
    let record = on_failure_record(&e, Condition::RetriesExhausted, 2, Some(killed));
    handled_unanswered(
        "refused record",
        &stack.lambda.runtime.invoke(record, Duration::from_secs(10)),
    );
    let mut e = create(stack, SOURCE, "Src", source_props("no-url"));
    e.as_object_mut().unwrap().remove("ResponseURL");
    e["Note"] = json!(format!("https://b.s3.amazonaws.com/k?{q}"));
    n += 1;
    handled_unanswered(
        "no ResponseURL",
        &stack.lambda.runtime.invoke(e, Duration::from_secs(10)),
    );
    // A body the runtime cannot parse, holding a URL with a signature.
    n += 1;
    let raw = format!("{{\"ResponseURL\": \"http://127.0.0.1:{port}/cfn-response/raw?{q}\", ");
    assert!(matches!(
        stack
            .lambda
            .runtime
            .invoke_raw(raw.into_bytes(), Duration::from_secs(10))
            .outcome,
        Outcome::Error(_)
    ));
    n
}

fn run_at(level_var: &str, label: &str) {
    let mut stack = start_stack(&[(level_var, "trace")]);
    let invocations = exercise(&mut stack, label);
    let scan = scan_log(&format!("log_scan::{label}"), &stack.lambda);
    let text = stack.lambda.log_text();
    // The level took effect (debug lines are there) and the paths above did log.
    assert!(
        text.contains("\"level\":\"DEBUG\"") || text.contains("\"level\":\"TRACE\""),
        "{level_var}=trace had no effect"
    );
    for expected in [
        "answered",
        "answer not accepted yet, retrying",
        "answer could not be delivered",
        "transient CloudWatch Logs error, retrying",
        "refused",
        "the provider could not answer this event",
    ] {
        assert!(text.contains(expected), "no '{expected}' line at {level_var}=trace");
    }
    eprintln!(
        "{label}: {invocations} invocations, {} log lines, none with the signature, all JSON",
        scan.lines
    );
}

#[test]
fn every_logging_path_at_trace_level_keeps_the_response_url_secret() {
    run_at("AWS_LAMBDA_LOG_LEVEL", "trace_lambda_level");
}

#[test]
fn every_logging_path_with_rust_log_trace_keeps_the_response_url_secret() {
    run_at("RUST_LOG", "trace_rust_log");
}

/// The archive of function logs: the logs of every binary-driven test that ran before this one
/// (`faults`, `fuzz`, `hostile_input`, and this binary's own), scanned again. Run alone it still
/// proves something: it first archives a log of its own (a success, a FAILED, a refused URL
/// carrying the signature) and must find it there, and the scan must refuse a planted leak.
#[test]
fn archived_logs_of_all_binary_driven_tests_are_clean() {
    let planted = format!("{{\"msg\":\"answering https://b.s3.amazonaws.com/k?X-Amz-Signature={FAKE_SIGNATURE}\"}}");
    let caught = std::panic::catch_unwind(|| check_log_text("planted", &planted));
    assert!(caught.is_err(), "the scan must refuse a line carrying the signature");

    let stack = start_stack(&[]);
    let (_, a) = stack.send(create(&stack, SOURCE, "Src", source_props("archive-src")));
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("SUCCESS"));
    let (_, a) = stack.send(create(&stack, SOURCE, "Src", json!({"Name": "bad name"})));
    assert_eq!(a.and_then(|a| a.status()).as_deref(), Some("FAILED"));
    let mut refused = create(&stack, SOURCE, "Src", source_props("refused"));
    refused["ResponseURL"] = json!(format!("https://evil.example/x?X-Amz-Signature={FAKE_SIGNATURE}"));
    handled_unanswered(
        "refused",
        &stack.lambda.runtime.invoke(refused, Duration::from_secs(10)),
    );
    let own = scan_log("log_scan::archive_probe", &stack.lambda);
    assert!(own.lines >= 3, "the probe logged {} lines", own.lines);

    let dir = archive_dir();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "log"));
    files.sort();
    assert!(
        files.iter().any(|p| p.ends_with("log_scan__archive_probe.log")),
        "its own log is not in {}",
        dir.display()
    );
    let mut lines = 0;
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap();
        lines += check_log_text(&path.display().to_string(), &text).lines;
    }
    assert!(
        lines >= own.lines,
        "{lines} archived lines, fewer than its own {}",
        own.lines
    );
    eprintln!(
        "scanned {} archived function logs ({lines} lines) under {}: none with the signature, all JSON",
        files.len(),
        dir.display()
    );
}
