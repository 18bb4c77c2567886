//! The release binary against CloudWatch Logs as the real service answers (moto behind the
//! proxy's real-service layer: no tags in Get* answers, four-field DescribeDeliveries, one source
//! per resource and log type, no delete of what a delivery uses, the CloudFront suffix prefix).
//!
//! - every kind it creates is deleted, and the Logs calls of each event are as documented;
//! - a pre-existing foreign source, destination and delivery are untouched by Create and Delete;
//! - a redelivered Create, Update or Delete of each kind gets the same answer;
//! - Put* / CreateDelivery retried after a lost response adopt what the first attempt made;
//! - a tags-only Update of a CloudFront → S3 delivery with S3SuffixPath makes no configuration call;
//! - a `:*` log-group ARN is the same destination as the bare one.

mod common;

use std::collections::BTreeMap;

use cfn_local::{Fault, Stack};
use common::*;
use serde_json::{json, Value};

fn stack() -> Stack {
    let stack = start_stack(&[]);
    // CALL_COUNTS_ON_RAW_MOTO=1 CFN_LOCAL_LOGS=moto: only to compare call counts on raw moto.
    if std::env::var_os("CALL_COUNTS_ON_RAW_MOTO").is_none() {
        assert_eq!(
            stack.proxy.semantics(),
            cfn_local::Semantics::RealService,
            "these tests are about the real service's answers"
        );
    }
    stack
}

/// Sends `event`, returns the whole answer body (any status).
fn answer_of(stack: &Stack, event: Value) -> Value {
    let (inv, answer) = stack.send(event.clone());
    let answer = answer.unwrap_or_else(|| panic!("no answer for {event}; {inv:?}\nlog:\n{}", stack.lambda.log_text()));
    answer.json().expect("the answer is JSON")
}

fn exists(stack: &Stack, get: &str, key: &str, id: &str) -> bool {
    stack.moto.logs_call(get, json!({ key: id })).0 == 200
}

/// The Logs calls of one event, as the proxy counted them.
fn calls_of(stack: &Stack, label: &str, event: Value, table: &mut Vec<(String, BTreeMap<String, usize>)>) -> Value {
    stack.proxy.reset_counts();
    let body = answer_of(stack, event);
    table.push((label.to_owned(), stack.proxy.calls()));
    body
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn every_kind_it_creates_is_deleted_with_the_documented_calls() {
    let s = stack();
    let mut table = Vec::new();
    let (src, dest) = ("own-src", "own-dest");
    let c = calls_of(
        &s,
        "Create source",
        create(&s, SOURCE, "Src", source_props(src)),
        &mut table,
    );
    assert_eq!(c["Status"], "SUCCESS", "{c}");
    let c = calls_of(
        &s,
        "Create destination",
        create(&s, DESTINATION, "Dest", destination_props(dest)),
        &mut table,
    );
    assert_eq!(c["Status"], "SUCCESS", "{c}");
    let c = calls_of(
        &s,
        "Create delivery",
        create(&s, DELIVERY, "Deliv", delivery_props(src, dest)),
        &mut table,
    );
    assert_eq!(c["Status"], "SUCCESS", "{c}");
    let id = c["PhysicalResourceId"].as_str().unwrap().to_owned();

    let retag = |mut props: Value| {
        props["Tags"] = json!([{"Key": "team", "Value": "other"}]);
        props
    };
    for (label, kind, logical, physical, props) in [
        ("Update source tags", SOURCE, "Src", src.to_owned(), source_props(src)),
        (
            "Update destination tags",
            DESTINATION,
            "Dest",
            dest.to_owned(),
            destination_props(dest),
        ),
        (
            "Update delivery tags",
            DELIVERY,
            "Deliv",
            id.clone(),
            delivery_props(src, dest),
        ),
    ] {
        let u = calls_of(
            &s,
            label,
            update(&s, kind, logical, &physical, retag(props.clone()), props),
            &mut table,
        );
        assert_eq!(
            (u["Status"].as_str(), u["PhysicalResourceId"].as_str()),
            (Some("SUCCESS"), Some(physical.as_str())),
            "{u}"
        );
    }

    // CloudFormation deletes dependents first: the delivery, then what it used.
    for (label, kind, logical, physical) in [
        ("Delete delivery", DELIVERY, "Deliv", id.as_str()),
        ("Delete destination", DESTINATION, "Dest", dest),
        ("Delete source", SOURCE, "Src", src),
    ] {
        let d = calls_of(&s, label, delete(&s, kind, logical, physical, json!({})), &mut table);
        assert_eq!(d["Status"], "SUCCESS", "{d}");
    }
    for (label, calls) in &table {
        eprintln!("{label:<24} {calls:?}");
    }
    assert!(!exists(&s, "GetDelivery", "id", &id), "the delivery is gone");
    assert!(
        !exists(&s, "GetDeliveryDestination", "name", dest),
        "the destination is gone"
    );
    assert!(!exists(&s, "GetDeliverySource", "name", src), "the source is gone");

    let expected = [
        counts(&[("GetDeliverySource", 1), ("PutDeliverySource", 1)]),
        counts(&[
            ("GetDeliveryDestination", 1),
            ("PutDeliveryDestination", 1),
            ("PutDeliveryDestinationPolicy", 1),
        ]),
        // Its settings are checked against the configuration template first: the source and the
        // destination say which one, read once per function process.
        counts(&[
            ("GetDeliverySource", 1),
            ("GetDeliveryDestination", 1),
            ("DescribeConfigurationTemplates", 1),
            ("CreateDelivery", 1),
        ]),
        counts(&[("GetDeliverySource", 1), ("ListTagsForResource", 1), ("TagResource", 1)]),
        counts(&[
            ("GetDeliveryDestination", 1),
            ("ListTagsForResource", 1),
            ("GetDeliveryDestinationPolicy", 1),
            ("TagResource", 1),
        ]),
        counts(&[("GetDelivery", 1), ("ListTagsForResource", 1), ("TagResource", 1)]),
        counts(&[("GetDelivery", 1), ("ListTagsForResource", 1), ("DeleteDelivery", 1)]),
        counts(&[
            ("GetDeliveryDestination", 1),
            ("ListTagsForResource", 1),
            ("DeleteDeliveryDestination", 1),
        ]),
        counts(&[
            ("GetDeliverySource", 1),
            ("ListTagsForResource", 1),
            ("DeleteDeliverySource", 1),
        ]),
    ];
    for ((label, calls), want) in table.iter().zip(expected) {
        assert_eq!(calls, &want, "{label}");
    }
    scan_log("on_real_service::every_kind", &s.lambda);
}

#[test]
fn foreign_source_destination_and_delivery_are_untouched_by_create_and_delete() {
    let s = stack();
    // Planted by hand, straight into moto: someone else's, with tags of their own.
    let theirs = json!({"owner": "someone-else"});
    let planted = [
        (
            "PutDeliverySource",
            json!({"name": "alien-src", "resourceArn": source_arn("alien"), "logType": "ACCESS_LOGS", "tags": theirs}),
        ),
        (
            "PutDeliveryDestination",
            json!({"name": "alien-dest", "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:aws:s3:::alien"}, "tags": theirs}),
        ),
        (
            "CreateDelivery",
            json!({"deliverySourceName": "alien-src", "deliveryDestinationArn": destination_arn("alien-dest"), "tags": theirs}),
        ),
    ];
    let mut delivery_id = String::new();
    for (op, body) in planted {
        let (status, out) = s.moto.logs_call(op, body);
        assert_eq!(status, 200, "{op}: {out}");
        if let Some(id) = out["delivery"]["id"].as_str() {
            delivery_id = id.to_owned();
        }
    }
    let mut src = source_props("alien-src");
    src["ResourceArn"] = json!(source_arn("mine"));
    let cases = [
        (SOURCE, src, "alien-src".to_owned(), "DeleteDeliverySource"),
        (
            DESTINATION,
            destination_props("alien-dest"),
            "alien-dest".to_owned(),
            "DeleteDeliveryDestination",
        ),
        (
            DELIVERY,
            delivery_props("alien-src", "alien-dest"),
            delivery_id.clone(),
            "DeleteDelivery",
        ),
    ];
    for (kind, props, physical_id, delete_op) in cases {
        s.proxy.reset_counts();
        let created = answer_of(&s, create(&s, kind, "Mine", props));
        assert_eq!(created["Status"], "FAILED", "{kind}: {created}");
        let reason = created["Reason"].as_str().unwrap();
        assert!(
            reason.contains("already exists and was not created by this stack resource"),
            "{kind}: {reason}"
        );
        let changed: Vec<_> = mutating_calls(&s.proxy)
            .into_iter()
            .filter(|(op, _)| op != "CreateDelivery")
            .collect();
        assert!(changed.is_empty(), "{kind}: {:?}", s.proxy.calls());

        s.proxy.reset_counts();
        let deleted = answer_of(&s, delete(&s, kind, "Mine", &physical_id, json!({})));
        assert_eq!(deleted["Status"], "SUCCESS", "{kind}: {deleted}");
        assert_eq!(s.proxy.call_count(delete_op), 0, "{kind}: {:?}", s.proxy.calls());
        assert_eq!(
            s.proxy.call_count("ListTagsForResource"),
            1,
            "{kind}: ownership read from the tags API: {:?}",
            s.proxy.calls()
        );
    }
    assert!(exists(&s, "GetDeliverySource", "name", "alien-src"));
    assert!(exists(&s, "GetDeliveryDestination", "name", "alien-dest"));
    assert!(exists(&s, "GetDelivery", "id", &delivery_id));
    assert_eq!(
        live_tags(&s.moto, "arn:aws:logs:us-east-1:123456789012:delivery-source:alien-src"),
        theirs
    );
    scan_log("on_real_service::foreign", &s.lambda);
}

#[test]
fn deleting_a_source_a_foreign_delivery_still_uses_fails_saying_so() {
    let s = stack();
    must_succeed(&s, create(&s, SOURCE, "Src", source_props("used-src")));
    let (status, out) = s.moto.logs_call(
        "PutDeliveryDestination",
        json!({"name": "their-dest", "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:aws:s3:::theirs"}}),
    );
    assert_eq!(status, 200, "{out}");
    let (status, out) = s.moto.logs_call(
        "CreateDelivery",
        json!({"deliverySourceName": "used-src", "deliveryDestinationArn": destination_arn("their-dest")}),
    );
    assert_eq!(status, 200, "{out}");
    let d = answer_of(&s, delete(&s, SOURCE, "Src", "used-src", json!({})));
    assert_eq!(d["Status"], "FAILED", "{d}");
    let reason = d["Reason"].as_str().unwrap();
    assert!(
        reason.contains("delivery source 'used-src' is still used by a delivery"),
        "{reason}"
    );
    assert!(
        reason.contains("DeleteDeliverySource") && reason.contains("delete the deliveries that use it first"),
        "{reason}"
    );
    assert!(exists(&s, "GetDeliverySource", "name", "used-src"));
    scan_log("on_real_service::in_use", &s.lambda);
}

/// Sends `event` twice (Lambda running it again) and checks both answers are the same.
fn twice(s: &Stack, label: &str, event: Value) -> Value {
    let first = answer_of(s, event.clone());
    let second = answer_of(s, event);
    assert_eq!(first, second, "{label}: a redelivered event must get the same answer");
    assert_eq!(first["Status"], "SUCCESS", "{label}: {first}");
    first
}

#[test]
fn redelivered_create_update_and_delete_of_each_kind_answer_alike() {
    let s = stack();
    let src = twice(&s, "Create source", create(&s, SOURCE, "Src", source_props("re-src")));
    let dest_a = twice(
        &s,
        "Create destination",
        create(&s, DESTINATION, "DestA", destination_props("re-dest-a")),
    );
    must_succeed(&s, create(&s, DESTINATION, "DestB", destination_props("re-dest-b")));
    let deliv = twice(
        &s,
        "Create delivery",
        create(&s, DELIVERY, "Deliv", delivery_props("re-src", "re-dest-a")),
    );
    let id = deliv["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_eq!(src["PhysicalResourceId"], "re-src");
    assert_eq!(dest_a["PhysicalResourceId"], "re-dest-a");

    // In place (tags), then replacement, each delivered twice.
    let mut src_v2 = source_props("re-src");
    src_v2["Tags"] = json!([{"Key": "team", "Value": "b"}]);
    twice(
        &s,
        "Update source",
        update(&s, SOURCE, "Src", "re-src", src_v2.clone(), source_props("re-src")),
    );
    let mut src_v3 = source_props("re-src-2");
    src_v3["ResourceArn"] = json!(source_arn("re-src-moved"));
    let replaced = twice(
        &s,
        "Replace source",
        update(&s, SOURCE, "Src", "re-src", src_v3.clone(), src_v2.clone()),
    );
    assert_eq!(replaced["PhysicalResourceId"], "re-src-2");

    let dest_v2 = destination_props("re-dest-a2");
    let replaced = twice(
        &s,
        "Replace destination",
        update(
            &s,
            DESTINATION,
            "DestA",
            "re-dest-a",
            dest_v2,
            destination_props("re-dest-a"),
        ),
    );
    assert_eq!(replaced["PhysicalResourceId"], "re-dest-a2");

    let mut deliv_v2 = delivery_props("re-src", "re-dest-a");
    deliv_v2["Tags"] = json!([{"Key": "team", "Value": "b"}]);
    twice(
        &s,
        "Update delivery",
        update(
            &s,
            DELIVERY,
            "Deliv",
            &id,
            deliv_v2.clone(),
            delivery_props("re-src", "re-dest-a"),
        ),
    );
    // To another S3 destination: the old delivery goes first (one per source and type), so the
    // second delivery of this event finds it gone and adopts the replacement the first one made.
    let deliv_v3 = delivery_props("re-src", "re-dest-b");
    let replaced = twice(
        &s,
        "Replace delivery",
        update(&s, DELIVERY, "Deliv", &id, deliv_v3.clone(), deliv_v2.clone()),
    );
    let new_id = replaced["PhysicalResourceId"].as_str().unwrap().to_owned();
    assert_ne!(new_id, id);
    let (_, all) = s.moto.logs_call("DescribeDeliveries", json!({}));
    assert_eq!(
        all["deliveries"].as_array().map(Vec::len),
        Some(1),
        "exactly one delivery: {all}"
    );

    // Cleanup of the old ids and the final deletes, each twice.
    twice(&s, "Delete old delivery", delete(&s, DELIVERY, "Deliv", &id, deliv_v2));
    twice(&s, "Delete delivery", delete(&s, DELIVERY, "Deliv", &new_id, deliv_v3));
    twice(
        &s,
        "Delete old destination",
        delete(&s, DESTINATION, "DestA", "re-dest-a", json!({})),
    );
    twice(&s, "Delete old source", delete(&s, SOURCE, "Src", "re-src", src_v2));
    twice(&s, "Delete source", delete(&s, SOURCE, "Src", "re-src-2", src_v3));
    assert!(!exists(&s, "GetDeliverySource", "name", "re-src") && !exists(&s, "GetDeliverySource", "name", "re-src-2"));
    assert!(!exists(&s, "GetDeliveryDestination", "name", "re-dest-a"));
    assert!(
        exists(&s, "GetDeliveryDestination", "name", "re-dest-a2"),
        "the replacement stays"
    );
    scan_log("on_real_service::redelivered", &s.lambda);
}

#[test]
fn a_retried_call_whose_first_attempt_succeeded_adopts_what_it_made() {
    let s = stack();
    let cases = [
        ("PutDeliverySource", SOURCE, "Src", source_props("lost-src")),
        (
            "PutDeliveryDestination",
            DESTINATION,
            "Dest",
            destination_props("lost-dest"),
        ),
        (
            "CreateDelivery",
            DELIVERY,
            "Deliv",
            delivery_props("lost-src", "lost-dest"),
        ),
    ];
    for (op, kind, logical, props) in cases {
        s.proxy.reset_counts();
        s.proxy.set_fault_on(op, Fault::LoseResponse { remaining: 1 });
        let (physical_id, body) = must_succeed(&s, create(&s, kind, logical, props));
        assert_eq!(
            s.proxy.call_count(op),
            2,
            "{kind}: the lost attempt and its retry: {:?}",
            s.proxy.calls()
        );
        assert_eq!(s.proxy.fault(), Fault::None);
        let arn = body["Data"]["Arn"].as_str().unwrap_or_else(|| panic!("{kind}: {body}"));
        let tags = live_tags(&s.moto, arn);
        assert_eq!(
            tags["cfn-logs-delivery:logical-id"], logical,
            "{kind}: adopted as ours: {tags}"
        );
        assert!(!physical_id.is_empty());
    }
    let (_, all) = s.moto.logs_call("DescribeDeliveries", json!({}));
    assert_eq!(
        all["deliveries"].as_array().map(Vec::len),
        Some(1),
        "one delivery, not two: {all}"
    );
    scan_log("on_real_service::lost_response", &s.lambda);
}

#[test]
fn a_tags_only_update_of_a_cloudfront_s3_delivery_with_a_suffix_path_makes_no_configuration_call() {
    let s = stack();
    must_succeed(&s, create(&s, SOURCE, "Src", source_props("cf-src")));
    must_succeed(&s, create(&s, DESTINATION, "Dest", destination_props("cf-dest")));
    let mut props = delivery_props("cf-src", "cf-dest");
    props["S3SuffixPath"] = json!("{DistributionId}/{yyyy}/{MM}");
    props["S3EnableHiveCompatiblePath"] = json!("false");
    let (id, _) = must_succeed(&s, create(&s, DELIVERY, "Deliv", props.clone()));
    let (_, live) = s.moto.logs_call("GetDelivery", json!({ "id": id }));
    assert_eq!(
        live["delivery"]["s3DeliveryConfiguration"]["suffixPath"],
        "AWSLogs/{account-id}/CloudFront/{DistributionId}/{yyyy}/{MM}",
        "the real service's prefix is there: {live}"
    );

    let mut retagged = props.clone();
    retagged["Tags"] = json!([{"Key": "team", "Value": "observability"}]);
    s.proxy.reset_counts();
    let (same, _) = must_succeed(&s, update(&s, DELIVERY, "Deliv", &id, retagged.clone(), props.clone()));
    assert_eq!(same, id);
    assert_eq!(
        mutating_calls(&s.proxy),
        vec![("TagResource".to_string(), 1)],
        "{:?}",
        s.proxy.calls()
    );
    // The same holds when nothing changed at all, and for a redelivered Create (adoption).
    s.proxy.reset_counts();
    must_succeed(&s, update(&s, DELIVERY, "Deliv", &id, retagged.clone(), retagged));
    assert!(mutating_calls(&s.proxy).is_empty(), "{:?}", s.proxy.calls());
    scan_log("on_real_service::cloudfront_suffix", &s.lambda);
}

#[test]
fn a_log_group_arn_with_or_without_its_star_suffix_is_the_same_destination() {
    let s = stack();
    let group = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vendedlogs/app";
    let props = |arn: &str| json!({"Name": "cwl-dest", "DestinationResourceArn": arn, "OutputFormat": "json"});
    let (_, body) = must_succeed(&s, create(&s, DESTINATION, "Dest", props(&format!("{group}:*"))));
    assert_eq!(body["Data"]["DeliveryDestinationType"], "CWL");
    let (_, live) = s.moto.logs_call("GetDeliveryDestination", json!({"name": "cwl-dest"}));
    assert_eq!(
        live["deliveryDestination"]["deliveryDestinationConfiguration"]["destinationResourceArn"], group,
        "sent without ':*'"
    );
    for (new, old) in [
        (format!("{group}:*"), format!("{group}:*")),
        (group.to_owned(), format!("{group}:*")),
        (format!("{group}:*"), group.to_owned()),
    ] {
        s.proxy.reset_counts();
        let (id, _) = must_succeed(
            &s,
            update(&s, DESTINATION, "Dest", "cwl-dest", props(&new), props(&old)),
        );
        assert_eq!(id, "cwl-dest");
        assert!(mutating_calls(&s.proxy).is_empty(), "{new}: {:?}", s.proxy.calls());
    }
    scan_log("on_real_service::log_group_star", &s.lambda);
}
