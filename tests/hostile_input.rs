//! Hostile and malformed events through the real binary: each is answered once within the rules,
//! or, when no answer may be sent, refused before any call.
//!
//! - ResponseURLs that must never be answered (wrong host, loopback aliases, userinfo tricks,
//!   odd ports, IP literals, other schemes): no PUT, no Logs call, an error to the runtime.
//! - Events with no usable ResponseURL, payloads that are not objects or not JSON at all.
//! - Huge, deep, unicode and wrongly-typed inputs: exactly one answer, at most 4096 bytes, the
//!   request's ids echoed, and no Logs call when the event is invalid.

mod common;

use std::time::Duration;

use cfn_local::{answer_check, Answer, Invocation, Outcome, Stack, FAKE_SIGNATURE};
use cfn_logs_delivery::protocol::{AllowedHosts, ResponseUrl};
use cfn_logs_delivery::resources::{Delivery, DeliveryDestination, DeliverySource, Resource};
use common::*;
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(20);

/// Invokes `event` with its ResponseURL pointed at the receiver under `key` (the event's own
/// RequestId is left as it is, whatever it is), and waits for the answer.
fn invoke_keyed(stack: &Stack, mut event: Value, key: &str) -> (Invocation, Option<Answer>) {
    event["ResponseURL"] = json!(stack.receiver.url(key));
    let inv = stack.lambda.runtime.invoke(event, T);
    let answer = stack.receiver.wait_for(key, Duration::from_secs(2));
    (inv, answer)
}

/// The answer invariants every answer keeps (`cfn_local::answer_check`).
fn check_answer(stack: &Stack, label: &str, event: &Value, key: &str, answer: Option<Answer>) -> Answer {
    let answer = answer.unwrap_or_else(|| panic!("{label}: no answer\n{}", stack.lambda.log_text()));
    let problems = answer_check::problems(event, &stack.receiver.answers(key));
    assert!(problems.is_empty(), "{label}: {}", problems.join("; "));
    answer
}

// ---------------------------------------------------------------------------------------------
// ResponseURLs

#[test]
fn hostile_response_urls_are_refused_with_no_put_and_no_logs_call() {
    let stack = start_stack(&[]);
    let port = stack.receiver.port();
    let q = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={FAKE_SIGNATURE}");
    let urls = [
        // Hosts that are not allowed (some resolve to the receiver: only the allow-list stops them).
        format!("http://localhost:{port}/cfn-response/h1?{q}"),
        format!("http://127.0.0.2:{port}/cfn-response/h2?{q}"),
        format!("http://[::1]:{port}/cfn-response/h3?{q}"),
        format!("http://0.0.0.0:{port}/cfn-response/h4?{q}"),
        format!("http://evil.example:{port}/cfn-response/h5?{q}"),
        format!("http://127.0.0.1.nip.io:{port}/cfn-response/h6?{q}"),
        // Userinfo tricks: the real host is the allowed one, or the S3-looking part is userinfo.
        format!("https://bucket.s3.amazonaws.com@127.0.0.1:{port}/cfn-response/h7?{q}"),
        format!("http://bucket.s3.amazonaws.com@127.0.0.1:{port}/cfn-response/h8?{q}"),
        format!("http://user:{FAKE_SIGNATURE}@127.0.0.1:{port}/cfn-response/h9?{q}"),
        format!("http://127.0.0.1:{port}@evil.example/cfn-response/h10?{q}"),
        // S3-looking hosts on the wrong scheme or port, or merely containing the suffix.
        format!("http://bucket.s3.amazonaws.com/cfn-response/h11?{q}"),
        format!("https://bucket.s3.amazonaws.com:{port}/cfn-response/h12?{q}"),
        format!("https://bucket.s3.amazonaws.com.evil.example/cfn-response/h13?{q}"),
        format!("https://bucket-s3-amazonaws.com/cfn-response/h14?{q}"),
        // IP literals (metadata service, private ranges, decimal and hex forms of other hosts).
        format!("http://169.254.169.254/latest/meta-data/h15?{q}"),
        format!("https://169.254.169.254/cfn-response/h16?{q}"),
        format!("https://10.0.0.1/cfn-response/h17?{q}"),
        format!("http://2130706434:{port}/cfn-response/h18?{q}"), // 127.0.0.2
        format!("http://0x7f000002:{port}/cfn-response/h19?{q}"),
        format!("https://[fd00::1]/cfn-response/h20?{q}"),
        // Other schemes.
        format!("ftp://127.0.0.1:{port}/cfn-response/h21?{q}"),
        format!("file:///etc/passwd?{q}"),
        format!("gopher://127.0.0.1:{port}/_PUT%20/cfn-response/h22?{q}"),
        format!("ws://127.0.0.1:{port}/cfn-response/h23?{q}"),
        format!("s3://bucket/cfn-response/h24?{q}"),
        format!("javascript:alert(1)//?{q}"),
        // Not URLs at all.
        format!("127.0.0.1:{port}/cfn-response/h25?{q}"),
        format!("/cfn-response/h26?{q}"),
        format!("http://127.0.0.1:99999/cfn-response/h27?{q}"),
        format!("http:// 127.0.0.1:{port}/cfn-response/h28?{q}"),
        String::new(),
        " ".repeat(10),
    ];
    for (i, url) in urls.iter().enumerate() {
        let mut event = create(&stack, SOURCE, "Src", source_props(&format!("h{i}")));
        event["ResponseURL"] = json!(url);
        let inv = stack.lambda.runtime.invoke(event, T);
        let label = format!("#{i} {}", &url[..url.len().min(80)]);
        let msg = handled_unanswered(&label, &inv);
        assert!(msg.contains("ResponseURL"), "{label}: {msg}");
        assert!(
            !msg.contains(FAKE_SIGNATURE) && !msg.contains("X-Amz-"),
            "{label}: the refusal leaks the query: {msg}"
        );
        assert!(msg.len() < 2000, "{label}: a {}-byte error message", msg.len());
    }
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        stack.receiver.all_answers().is_empty(),
        "something was answered: {:?}",
        stack.receiver.all_answers()
    );
    for i in 1..=28 {
        assert_eq!(
            stack.receiver.attempts(&format!("h{i}")),
            0,
            "h{i} reached the receiver"
        );
    }
    assert_eq!(stack.proxy.total_calls(), 0, "{:?}", stack.proxy.calls());
    // The allowed URL still works in the same process.
    must_succeed(
        &stack,
        create(&stack, SOURCE, "Src", source_props("after-hostile-urls")),
    );
    scan_log("hostile_input::response_urls", &stack.lambda);
}

/// URLs without an authority ("opaque": `data:`, `mailto:`, `urn:`) have no query to cut off:
/// whatever follows the scheme is their path. A refusal must not echo it, and must stay short
/// whatever the URL (a 70 KB host name).
#[test]
fn refusals_are_short_and_never_echo_an_opaque_url() {
    let stack = start_stack(&[]);
    let q = format!("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature={FAKE_SIGNATURE}");
    let long_host = format!("http://{}/x?{q}", "a".repeat(70_000));
    for url in [
        format!("data:text/plain,{q}"),
        format!("mailto:{q}"),
        format!("urn:{q}"),
        long_host,
    ] {
        let mut event = create(&stack, SOURCE, "Src", source_props("opaque"));
        event["ResponseURL"] = json!(url);
        let inv = stack.lambda.runtime.invoke(event, T);
        let label = &url[..url.len().min(80)];
        let msg = handled_unanswered(label, &inv);
        assert!(
            !msg.contains(FAKE_SIGNATURE),
            "{label}: the refusal echoes the URL: {msg}"
        );
        assert!(msg.len() < 2000, "{label}: a {}-byte error message", msg.len());
    }
    assert_eq!(stack.proxy.total_calls(), 0);
    assert!(stack.receiver.all_answers().is_empty());
    scan_log("hostile_input::opaque_urls", &stack.lambda);
}

#[test]
fn allow_list_accepts_s3_and_configured_hosts_only() {
    let none = AllowedHosts::parse("");
    let local = AllowedHosts::parse("127.0.0.1");
    let q = "X-Amz-Signature=deadbeef";
    for ok in [
        format!("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/a?{q}"),
        format!("https://cloudformation-custom-resource-response-uswest2.s3-us-west-2.amazonaws.com/a?{q}"),
        format!("https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/a?{q}"),
        format!("HTTPS://Bucket.S3.AMAZONAWS.com/a?{q}"),
    ] {
        assert!(ResponseUrl::parse(&ok, &none).is_ok(), "{ok}");
    }
    // Configured hosts: any port, http allowed; aliases of the configured host are not.
    assert!(ResponseUrl::parse(&format!("http://127.0.0.1:1/a?{q}"), &local).is_ok());
    assert!(
        ResponseUrl::parse(&format!("http://127.1:1/a?{q}"), &local).is_ok(),
        "127.1 is 127.0.0.1 once parsed"
    );
    for bad in [
        format!("http://127.0.0.1:1/a?{q}"),
        format!("https://127.0.0.1/a?{q}"),
        format!("http://localhost/a?{q}"),
    ] {
        let refused = ResponseUrl::parse(&bad, &none)
            .err()
            .unwrap_or_else(|| panic!("{bad} accepted without configuration"));
        assert!(!refused.to_string().contains("deadbeef"), "{refused}");
    }
    let shown = ResponseUrl::parse(&format!("http://127.0.0.1:1/a/b?{q}#frag"), &local)
        .unwrap()
        .to_string();
    assert_eq!(shown, "http://127.0.0.1:1/a/b?<redacted>");
}

#[test]
fn events_without_a_usable_response_url_are_refused_before_any_call() {
    let stack = start_stack(&[]);
    let base = create(&stack, SOURCE, "Src", source_props("no-url"));
    let mut cases: Vec<(String, Value)> = Vec::new();
    for (label, value) in [
        ("missing", None),
        ("null", Some(json!(null))),
        ("number", Some(json!(5))),
        ("object", Some(json!({"url": "x"}))),
    ] {
        let mut e = base.clone();
        match value {
            None => {
                e.as_object_mut().unwrap().remove("ResponseURL");
            }
            Some(v) => e["ResponseURL"] = v,
        }
        cases.push((label.into(), e));
    }
    for (label, payload) in [
        ("array", json!([base.clone()])),
        ("string", json!("Create")),
        ("number", json!(42)),
        ("null", json!(null)),
        ("empty", json!({})),
    ] {
        cases.push((format!("payload {label}"), payload));
    }
    for (label, event) in cases {
        let inv = stack.lambda.runtime.invoke(event, T);
        let msg = handled_unanswered(&label, &inv);
        assert!(
            msg.starts_with("not a CloudFormation custom-resource request"),
            "{label}: {msg}"
        );
    }
    // Bodies that are not JSON at all never reach the handler: the runtime refuses them.
    for raw in [&b"not json"[..], b"", b"{\"ResponseURL\": ", &[0xff, 0xfe, 0x00]] {
        let inv = stack.lambda.runtime.invoke_raw(raw.to_vec(), T);
        assert!(
            matches!(inv.outcome, Outcome::Error(_)),
            "{:?}: {:?}",
            String::from_utf8_lossy(raw),
            inv.outcome
        );
    }
    assert_eq!(stack.proxy.total_calls(), 0);
    assert!(stack.receiver.all_answers().is_empty());
    must_succeed(&stack, create(&stack, SOURCE, "Src", source_props("after-no-url")));
    scan_log("hostile_input::no_response_url", &stack.lambda);
}

// ---------------------------------------------------------------------------------------------
// Huge, deep, odd

/// `{"a": {"a": … "leaf" …}}`, `depth` objects deep.
fn nested(depth: usize) -> Value {
    let mut v = json!("leaf");
    for _ in 0..depth {
        v = json!({ "a": v });
    }
    v
}

#[test]
fn huge_unicode_and_odd_envelopes_get_one_bounded_answer() {
    let stack = start_stack(&[]);
    let big = "x".repeat(100_000);
    let base = create(&stack, SOURCE, "Src", source_props("odd"));
    let mut cases: Vec<(&str, Value)> = Vec::new();
    let mut with = |label: &'static str, f: &dyn Fn(&mut Value)| {
        let mut e = base.clone();
        f(&mut e);
        cases.push((label, e));
    };
    with("100 KB Name", &|e| e["ResourceProperties"]["Name"] = json!(big));
    with("100 KB RequestId", &|e| e["RequestId"] = json!(big));
    with("100 KB StackId", &|e| e["StackId"] = json!(big));
    with("100 KB LogicalResourceId", &|e| e["LogicalResourceId"] = json!(big));
    with("100 KB ResourceType", &|e| e["ResourceType"] = json!(big));
    with("100 KB unknown property", &|e| {
        e["ResourceProperties"][big.as_str()] = json!(big)
    });
    with("100 KB tag value", &|e| {
        e["ResourceProperties"]["Tags"] = json!([{"Key": "k", "Value": big}])
    });
    with("1000 tags", &|e| {
        e["ResourceProperties"]["Tags"] = json!((0..1000)
            .map(|i| json!({"Key": format!("k{i}"), "Value": "v"}))
            .collect::<Vec<_>>())
    });
    with("control chars in ids", &|e| {
        e["RequestId"] = json!("r\u{0}\u{1}\n\"\\");
        e["LogicalResourceId"] = json!("L\u{7f}\u{2028}");
    });
    with("unicode ids and names", &|e| {
        e["RequestId"] = json!("ид-😀-\u{202e}");
        e["LogicalResourceId"] = json!("Ünïcödé");
        e["ResourceProperties"]["Name"] = json!("名前");
    });
    with("4000 emoji RequestId", &|e| e["RequestId"] = json!("😀".repeat(4000)));
    with("quote-heavy StackId", &|e| e["StackId"] = json!("\"".repeat(1024)));
    with("control-char StackId", &|e| e["StackId"] = json!("\u{1}".repeat(1024)));
    with("RequestType lowercase", &|e| e["RequestType"] = json!("create"));
    with("RequestType unknown", &|e| e["RequestType"] = json!("Remove"));
    with("RequestType number", &|e| e["RequestType"] = json!(1));
    with("no RequestType", &|e| {
        e.as_object_mut().unwrap().remove("RequestType");
    });
    with("no StackId", &|e| {
        e.as_object_mut().unwrap().remove("StackId");
    });
    with("StackId number", &|e| e["StackId"] = json!(12));
    with("RequestId object", &|e| e["RequestId"] = json!({"id": 1}));
    with("ResourceProperties array", &|e| e["ResourceProperties"] = json!([1, 2]));
    with("ResourceProperties string", &|e| e["ResourceProperties"] = json!("{}"));
    with("no ResourceProperties", &|e| {
        e.as_object_mut().unwrap().remove("ResourceProperties");
    });
    with("Update without PhysicalResourceId", &|e| {
        e["RequestType"] = json!("Update");
        e["OldResourceProperties"] = json!({});
    });
    with("Delete with 2 KB PhysicalResourceId", &|e| {
        e["RequestType"] = json!("Delete");
        e["PhysicalResourceId"] = json!("p".repeat(2048));
    });
    with("depth 100 property", &|e| e["ResourceProperties"]["Name"] = nested(100));
    with("depth 100 unknown property", &|e| {
        e["ResourceProperties"]["Deep"] = nested(100)
    });
    with("extra top-level fields", &|e| {
        e["Extra"] = json!({"x": [1, 2, 3]});
        e["ResponseURLs"] = json!(["https://evil.example/"]);
    });
    with("duplicate-looking keys", &|e| {
        e["responseurl"] = json!("https://evil.example/")
    });
    for (i, (label, event)) in cases.iter().enumerate() {
        let key = format!("odd-{i}");
        stack.proxy.reset_counts();
        let valid = cfn_logs_delivery::validate_event(event).is_ok();
        let (inv, answer) = invoke_keyed(&stack, event.clone(), &key);
        assert!(
            matches!(inv.outcome, Outcome::Response(_)),
            "{label}: {:?}",
            inv.outcome
        );
        let mut sent = event.clone();
        sent["ResponseURL"] = json!(stack.receiver.url(&key));
        let answer = check_answer(&stack, label, &sent, &key, answer);
        if !valid {
            assert_eq!(answer.status().as_deref(), Some("FAILED"), "{label}");
            assert_eq!(
                stack.proxy.total_calls(),
                0,
                "{label}: invalid, yet {:?}",
                stack.proxy.calls()
            );
        }
    }
    scan_log("hostile_input::odd_envelopes", &stack.lambda);
}

/// A CloudFormation event can carry a template's nesting: properties deeper than serde_json's
/// default recursion limit (128) must still be answered, not dropped by the runtime.
#[test]
fn deeply_nested_properties_are_still_answered() {
    let stack = start_stack(&[]);
    for depth in [127, 200, 1000] {
        let mut event = create(&stack, SOURCE, "Src", source_props("deep"));
        event["ResourceProperties"]["Deep"] = nested(depth);
        let key = format!("deep-{depth}");
        let (inv, answer) = invoke_keyed(&stack, event.clone(), &key);
        let answer = answer.unwrap_or_else(|| {
            panic!(
                "depth {depth}: no answer; the stack would wait for ServiceTimeout. Invocation: {:?}",
                inv.outcome
            )
        });
        event["ResponseURL"] = json!(stack.receiver.url(&key));
        check_answer(&stack, &format!("depth {depth}"), &event, &key, Some(answer.clone()));
        assert_eq!(answer.status().as_deref(), Some("FAILED"));
    }
    assert_eq!(stack.proxy.total_calls(), 0);
    scan_log("hostile_input::deep", &stack.lambda);
}

/// Each property of each kind, set to each wrongly-typed or hostile value.
#[test]
fn every_property_with_wrong_types_is_refused_before_any_call() {
    let stack = start_stack(&[]);
    let kinds = [
        (SOURCE, source_props("wt-src"), DeliverySource::PROPERTIES),
        (
            DESTINATION,
            destination_props("wt-dest"),
            DeliveryDestination::PROPERTIES,
        ),
        (DELIVERY, delivery_props("wt-src", "wt-dest"), Delivery::PROPERTIES),
    ];
    let values = [
        json!(5),
        json!(-1.5e300),
        json!(true),
        json!([]),
        json!([1]),
        json!({}),
        json!({"Key": "k"}),
        json!(""),
        json!("x".repeat(100_000)),
        json!("😀\u{0}\u{202e}"),
        json!("arn:aws:s3:::"),
        json!([{"Key": "aws:x", "Value": "v"}]),
        json!([{"Key": 1, "Value": "v"}]),
        json!("{\"Statement\": "),
        nested(50),
    ];
    let (mut total, mut refused) = (0, 0);
    for (kind, props, names) in kinds {
        for name in names {
            for (j, value) in values.iter().enumerate() {
                let mut p = props.clone();
                p[*name] = value.clone();
                let event = create(&stack, kind, "Wt", p);
                let key = format!("wt-{kind}-{name}-{j}").replace("::", "-");
                stack.proxy.reset_counts();
                let valid = cfn_logs_delivery::validate_event(&event).is_ok();
                let (inv, answer) = invoke_keyed(&stack, event.clone(), &key);
                assert!(matches!(inv.outcome, Outcome::Response(_)), "{key}: {:?}", inv.outcome);
                let mut sent = event;
                sent["ResponseURL"] = json!(stack.receiver.url(&key));
                let answer = check_answer(&stack, &key, &sent, &key, answer);
                total += 1;
                if !valid {
                    refused += 1;
                    assert_eq!(answer.status().as_deref(), Some("FAILED"), "{key}");
                    let reason = answer.reason().unwrap();
                    assert!(
                        reason.contains(name) || reason.starts_with("Tags"),
                        "{key}: the Reason names the property: {reason}"
                    );
                    assert_eq!(stack.proxy.total_calls(), 0, "{key}: {:?}", stack.proxy.calls());
                }
            }
        }
    }
    eprintln!(
        "wrong-type events: {total} sent, {refused} refused before any call, {} valid",
        total - refused
    );
    assert!(refused > total * 8 / 10, "{refused}/{total}");
    scan_log("hostile_input::wrong_types", &stack.lambda);
}

/// Delete with physical ids CloudFormation never got from us (placeholders, markers of other
/// kinds, odd strings): answered, and nothing is deleted.
#[test]
fn delete_with_hostile_physical_ids_touches_nothing() {
    let stack = start_stack(&[]);
    must_succeed(&stack, create(&stack, SOURCE, "Src", source_props("keep-src")));
    let ids = [
        "keep-src-but-not",
        "Src-1A2B3C4D5E6F",
        "cfn-logs-delivery:failed-create:",
        "cfn-logs-delivery:failed-create:../../x",
        "../../keep-src",
        "keep-src/../keep-src",
        "keep-src\u{0}",
        "*",
        "%",
        "keep src",
        "arn:aws:logs:us-east-1:123456789012:delivery-source:keep-src",
        "😀",
        "\u{202e}crs-peek",
    ];
    for kind in [SOURCE, DESTINATION, DELIVERY] {
        for (i, id) in ids.iter().enumerate() {
            let event = delete(&stack, kind, "Other", id, json!({}));
            let key = format!("del-{}-{i}", kind.trim_start_matches("Custom::"));
            let (inv, answer) = invoke_keyed(&stack, event.clone(), &key);
            assert!(matches!(inv.outcome, Outcome::Response(_)), "{key}: {:?}", inv.outcome);
            let answer = check_answer(&stack, &key, &event, &key, answer);
            assert_eq!(
                answer.status().as_deref(),
                Some("SUCCESS"),
                "{key} {id:?}: {:?}",
                answer.reason()
            );
            assert_eq!(answer.physical_id().as_deref(), Some(*id));
        }
    }
    // "keep-src" itself, asked for by another logical id: not ours, left alone.
    must_succeed(&stack, delete(&stack, SOURCE, "Other", "keep-src", json!({})));
    assert!(
        mutating_calls(&stack.proxy)
            .iter()
            .all(|(op, _)| op == "PutDeliverySource"),
        "{:?}",
        stack.proxy.calls()
    );
    assert_eq!(
        stack.moto.logs_call("GetDeliverySource", json!({"name": "keep-src"})).0,
        200
    );
    scan_log("hostile_input::hostile_deletes", &stack.lambda);
}
