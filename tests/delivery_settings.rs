//! A delivery's settings through the real binary and the real-service layer: in-place changes
//! (UpdateDeliveryConfiguration, which the layer plays), output formats per destination type, and
//! the check against the service's configuration template. Every test asserts the live state
//! (read through the layer, as the function sees it) and the calls the function made.

mod common;

use cfn_local::Stack;
use common::*;
use serde_json::{json, Value};

const PREFIX: &str = "AWSLogs/{account-id}/CloudFront/";
const LOG_GROUP: &str = "arn:aws:logs:us-east-1:123456789012:log-group:settings-logs";

/// A stack with a CloudFront source `name` and an S3 destination `name-s3`.
fn stack_with_source_and_bucket(name: &str) -> Stack {
    let stack = start_stack(&[]);
    must_succeed(&stack, create(&stack, SOURCE, "Src", source_props(name)));
    must_succeed(
        &stack,
        create(&stack, DESTINATION, "S3Dest", destination_props(&format!("{name}-s3"))),
    );
    stack
}

fn delivery(source: &str, destination: &str, settings: Value) -> Value {
    let mut props = json!({"DeliverySourceName": source, "DeliveryDestinationArn": destination_arn(destination)});
    props
        .as_object_mut()
        .unwrap()
        .extend(settings.as_object().unwrap().clone());
    props
}

/// The delivery as GetDelivery answers it through the layer (settings stored by the layer included).
fn live_delivery(stack: &Stack, id: &str) -> Value {
    let (status, body) = stack.proxy.logs_call("GetDelivery", json!({ "id": id }));
    assert_eq!(status, 200, "{body}");
    body["delivery"].clone()
}

/// Sends an Update of `Delivery` from `old` to `new` with fresh call counts; returns the physical id.
fn update_delivery(stack: &Stack, id: &str, new: Value, old: Value) -> String {
    stack.proxy.reset_counts();
    let (physical_id, _) = must_succeed(stack, update(stack, DELIVERY, "Delivery", id, new, old));
    assert_eq!(physical_id, id, "changed in place, not replaced");
    physical_id
}

fn failed_reason(stack: &Stack, event: Value) -> String {
    let (_, answer) = stack.send(event);
    let answer = answer.expect("an answer");
    assert_eq!(answer.status().as_deref(), Some("FAILED"), "{:?}", answer.json());
    answer.reason().unwrap_or_default()
}

#[test]
fn record_fields_only_update_of_a_cloudfront_s3_delivery_keeps_the_prefixed_path() {
    let stack = stack_with_source_and_bucket("set-rf");
    let v1 = delivery(
        "set-rf",
        "set-rf-s3",
        json!({"RecordFields": ["date", "time"], "S3SuffixPath": "{DistributionId}/{yyyy}"}),
    );
    let (id, _) = must_succeed(&stack, create(&stack, DELIVERY, "Delivery", v1.clone()));
    let prefixed = format!("{PREFIX}{{DistributionId}}/{{yyyy}}");
    assert_eq!(
        live_delivery(&stack, &id)["s3DeliveryConfiguration"]["suffixPath"],
        prefixed.as_str(),
        "the service added its prefix"
    );

    let mut v2 = v1.clone();
    v2["RecordFields"] = json!(["date", "time", "c-ip"]);
    update_delivery(&stack, &id, v2.clone(), v1);
    assert_eq!(
        stack.proxy.call_count("UpdateDeliveryConfiguration"),
        1,
        "{:?}",
        stack.proxy.calls()
    );
    let sent = stack.proxy.last_body("UpdateDeliveryConfiguration").unwrap();
    assert_eq!(
        sent,
        json!({"id": id, "recordFields": ["date", "time", "c-ip"]}),
        "only what changed is sent"
    );
    let live = live_delivery(&stack, &id);
    assert_eq!(live["recordFields"], json!(["date", "time", "c-ip"]));
    assert_eq!(
        live["s3DeliveryConfiguration"]["suffixPath"],
        prefixed.as_str(),
        "the logs stay where they were"
    );

    // The same template again: nothing differs, nothing is sent.
    update_delivery(&stack, &id, v2.clone(), v2);
    assert_eq!(
        stack.proxy.call_count("UpdateDeliveryConfiguration"),
        0,
        "{:?}",
        stack.proxy.calls()
    );
    scan_log("delivery_settings_record_fields", &stack.lambda);
}

#[test]
fn a_suffix_path_update_lands_under_the_service_prefix() {
    let stack = stack_with_source_and_bucket("set-sp");
    let v1 = delivery(
        "set-sp",
        "set-sp-s3",
        json!({"S3SuffixPath": "{DistributionId}/{yyyy}", "S3EnableHiveCompatiblePath": "false"}),
    );
    let (id, _) = must_succeed(&stack, create(&stack, DELIVERY, "Delivery", v1.clone()));

    let mut v2 = v1.clone();
    v2["S3SuffixPath"] = json!("{DistributionId}/{yyyy}/{MM}/{dd}");
    update_delivery(&stack, &id, v2.clone(), v1);
    let expected = format!("{PREFIX}{{DistributionId}}/{{yyyy}}/{{MM}}/{{dd}}");
    let sent = stack.proxy.last_body("UpdateDeliveryConfiguration").unwrap();
    assert_eq!(
        sent["s3DeliveryConfiguration"],
        json!({"suffixPath": expected, "enableHiveCompatiblePath": false}),
        "{sent}"
    );
    assert!(
        sent.get("recordFields").is_none() && sent.get("fieldDelimiter").is_none(),
        "{sent}"
    );
    assert_eq!(
        live_delivery(&stack, &id)["s3DeliveryConfiguration"]["suffixPath"],
        expected.as_str(),
        "where a new stack would put them"
    );

    // Compared with the template's path, the prefixed live path is no change.
    update_delivery(&stack, &id, v2.clone(), v2);
    assert_eq!(
        stack.proxy.call_count("UpdateDeliveryConfiguration"),
        0,
        "{:?}",
        stack.proxy.calls()
    );
    scan_log("delivery_settings_suffix_path", &stack.lambda);
}

#[test]
fn a_record_fields_update_of_a_cwl_delivery_sends_no_s3_block() {
    let stack = start_stack(&[]);
    must_succeed(&stack, create(&stack, SOURCE, "Src", source_props("set-cwl")));
    let cwl = json!({"Name": "set-cwl-logs", "DestinationResourceArn": LOG_GROUP, "OutputFormat": "json"});
    must_succeed(&stack, create(&stack, DESTINATION, "CwlDest", cwl));
    let v1 = delivery("set-cwl", "set-cwl-logs", json!({"RecordFields": ["date", "time"]}));
    let (id, _) = must_succeed(&stack, create(&stack, DELIVERY, "Delivery", v1.clone()));

    // The service refuses any S3 block for this delivery (the layer plays that rule).
    let (status, refusal) = stack.proxy.logs_call(
        "UpdateDeliveryConfiguration",
        json!({"id": id, "recordFields": ["date"], "s3DeliveryConfiguration": {"enableHiveCompatiblePath": false}}),
    );
    assert_eq!(
        (status, refusal["message"].as_str()),
        (400, Some(cfn_local::real_service_settings::S3_BLOCK_REFUSED)),
        "{refusal}"
    );

    // A template that states S3 settings too (shared between destinations, say): they are not sent.
    let v2 = delivery(
        "set-cwl",
        "set-cwl-logs",
        json!({"RecordFields": ["date", "time", "sc-status"], "S3SuffixPath": "{yyyy}", "S3EnableHiveCompatiblePath": "true"}),
    );
    update_delivery(&stack, &id, v2, v1);
    let sent = stack.proxy.last_body("UpdateDeliveryConfiguration").unwrap();
    assert_eq!(sent, json!({"id": id, "recordFields": ["date", "time", "sc-status"]}));
    let live = live_delivery(&stack, &id);
    assert_eq!(live["recordFields"], json!(["date", "time", "sc-status"]));
    assert!(live.get("s3DeliveryConfiguration").is_none(), "{live}");
    scan_log("delivery_settings_cwl", &stack.lambda);
}

#[test]
fn output_formats_that_do_not_fit_the_destination_type_make_nothing() {
    let stack = start_stack(&[]);
    let cases = [
        ("parquet", LOG_GROUP, "CWL"),
        (
            "w3c",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/settings",
            "FH",
        ),
        ("raw", "arn:aws:s3:::settings-bucket", "S3"),
    ];
    for (format, arn, kind) in cases {
        let props = json!({"Name": format!("set-{format}"), "DestinationResourceArn": arn, "OutputFormat": format});
        let reason = failed_reason(&stack, create(&stack, DESTINATION, "Dest", props));
        assert!(
            reason.starts_with(&format!(
                "OutputFormat: '{format}' is not accepted by {kind} destinations"
            )),
            "{reason}"
        );
    }
    assert_eq!(
        stack.proxy.total_calls(),
        0,
        "refused before any call: {:?}",
        stack.proxy.calls()
    );
    let (_, listed) = stack.moto.logs_call("DescribeDeliveryDestinations", json!({}));
    assert_eq!(listed["deliveryDestinations"], json!([]), "nothing was made");
    scan_log("delivery_settings_output_formats", &stack.lambda);
}

#[test]
fn settings_are_checked_against_the_configuration_template_once_read() {
    let stack = stack_with_source_and_bucket("set-tpl");
    stack.proxy.reset_counts();
    let bad = delivery(
        "set-tpl",
        "set-tpl-s3",
        json!({"RecordFields": ["date", "cs-methd"], "FieldDelimiter": ";", "S3SuffixPath": "{DistributionId}/{yyyy}/{minute}"}),
    );
    let reason = failed_reason(&stack, create(&stack, DELIVERY, "Delivery", bad.clone()));
    assert!(reason.starts_with("3 problems: "), "{reason}");
    assert!(
        reason.contains("RecordFields[1]: 'cs-methd' is not a record field of this log type; the nearest allowed name is 'cs-method'"),
        "{reason}"
    );
    assert!(
        reason.contains(r#"FieldDelimiter: ";" is not allowed"#)
            && reason.contains("S3SuffixPath: {minute} is not allowed"),
        "{reason}"
    );
    let calls = stack.proxy.calls();
    assert_eq!(stack.proxy.call_count("CreateDelivery"), 0, "{calls:?}");
    for read in [
        "GetDeliverySource",
        "GetDeliveryDestination",
        "DescribeConfigurationTemplates",
    ] {
        assert_eq!(stack.proxy.call_count(read), 1, "{read}: {calls:?}");
    }

    // The template is kept by the process: the next delivery's check reads only source and destination.
    stack.proxy.reset_counts();
    let good = delivery(
        "set-tpl",
        "set-tpl-s3",
        json!({"RecordFields": ["date", "cs-method"], "FieldDelimiter": "|"}),
    );
    let (id, _) = must_succeed(&stack, create(&stack, DELIVERY, "Delivery", good));
    assert_eq!(
        stack.proxy.call_count("DescribeConfigurationTemplates"),
        0,
        "{:?}",
        stack.proxy.calls()
    );
    assert_eq!(live_delivery(&stack, &id)["recordFields"], json!(["date", "cs-method"]));
    scan_log("delivery_settings_template", &stack.lambda);
}

/// The saved events of `events/`, as `cfn-local invoke events/` replays them: the delivery Update
/// (new record fields, another delimiter, the same S3 settings) changes the delivery in place.
#[test]
fn the_saved_delivery_update_event_succeeds_in_place() {
    let stack = start_stack(&[]);
    let event = |file: &str| -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("events")
            .join(file);
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
    };
    must_succeed(&stack, event("delivery-source-create.json"));
    must_succeed(&stack, event("delivery-destination-create.json"));
    let (id, _) = must_succeed(&stack, event("delivery-create.json"));
    let mut updated = event("delivery-update.json");
    updated["PhysicalResourceId"] = json!(id);
    stack.proxy.reset_counts();
    must_succeed(&stack, updated.clone());
    let sent = stack
        .proxy
        .last_body("UpdateDeliveryConfiguration")
        .expect("UpdateDeliveryConfiguration was called");
    assert_eq!(sent["recordFields"], updated["ResourceProperties"]["RecordFields"]);
    assert_eq!(sent["fieldDelimiter"], "|");
    assert!(
        sent.get("s3DeliveryConfiguration").is_none(),
        "the S3 settings did not change: {sent}"
    );
    let live = live_delivery(&stack, &id);
    assert_eq!(
        live["s3DeliveryConfiguration"]["suffixPath"],
        format!("{PREFIX}{{DistributionId}}/{{yyyy}}/{{MM}}/{{dd}}/{{HH}}").as_str()
    );
    scan_log("delivery_settings_saved_events", &stack.lambda);
}
