//! The life of each resource kind through the real binary: Lambda Runtime API in front, moto
//! behind (through a counting proxy), CloudFormation-shaped events, answers read from the
//! ResponseURL receiver.

mod common;

use cfn_local::events::{create, delete, update};
use cfn_local::{answer_check, Answer, Outcome, Stack};
use common::{live_tags, start_stack, DELIVERY, DESTINATION, SOURCE};
use serde_json::{json, Value};

const CLOUDFRONT: &str = "arn:aws:cloudfront::123456789012:distribution/E1LIFECYCLE";
const CLOUDFRONT_2: &str = "arn:aws:cloudfront::123456789012:distribution/E2LIFECYCLE";
const MARKER: &str = "cfn-logs-delivery:failed-create:";

fn stack() -> Stack {
    start_stack(&[])
}

/// Sends the event and returns its one answer, checking the protocol rules every answer obeys.
fn answer(stack: &Stack, event: Value) -> Answer {
    let request_id = event["RequestId"].as_str().unwrap().to_owned();
    let (invocation, answer) = stack.send(event.clone());
    let answer = answer.unwrap_or_else(|| {
        panic!(
            "no answer; invocation {:?}\nlog:\n{}",
            invocation.outcome,
            stack.lambda.log_text()
        )
    });
    assert!(
        matches!(invocation.outcome, Outcome::Response(_)),
        "{:?}",
        invocation.outcome
    );
    let problems = answer_check::problems(&event, &stack.receiver.answers(&request_id));
    assert!(problems.is_empty(), "{}: {}", event["RequestType"], problems.join("; "));
    answer
}

fn assert_success(a: &Answer) {
    assert_eq!(a.status().as_deref(), Some("SUCCESS"), "reason: {:?}", a.reason());
}

fn assert_failed_with(a: &Answer, needles: &[&str]) {
    assert_eq!(a.status().as_deref(), Some("FAILED"), "{:?}", a.json());
    let reason = a.reason().unwrap_or_default();
    for needle in needles {
        assert!(reason.contains(needle), "Reason {reason:?} should mention {needle:?}");
    }
}

/// A source of the distribution [`CLOUDFRONT`] names.
fn source_props(name: &str, tags: Value) -> Value {
    cfn_local::events::source_props(name, "E1LIFECYCLE", tags)
}

fn source_exists(stack: &Stack, name: &str) -> bool {
    stack.moto.logs_call("GetDeliverySource", json!({ "name": name })).0 == 200
}

#[test]
fn delivery_source_create_update_replace_delete() {
    let s = stack();
    let url = s.placeholder_url();
    let v1 = source_props(
        "life-src",
        json!([{"Key": "team", "Value": "a"}, {"Key": "drop", "Value": "me"}]),
    );

    let created = answer(&s, create(SOURCE, "Src", v1.clone(), &url));
    assert_success(&created);
    assert_eq!(created.physical_id().as_deref(), Some("life-src"));
    let arn = created.data("Arn").unwrap();
    assert_eq!(arn, "arn:aws:logs:us-east-1:123456789012:delivery-source:life-src");
    assert_eq!(created.data("Name").as_deref(), Some("life-src"));
    assert_eq!(created.data("Service").as_deref(), Some("cloudfront"));
    assert_eq!(created.data("LogType").as_deref(), Some("ACCESS_LOGS"));
    assert_eq!(created.data("ResourceArn").as_deref(), Some(CLOUDFRONT));
    let tags = live_tags(&s.moto, &arn);
    assert_eq!(tags["team"], "a");
    assert_eq!(
        tags["cfn-logs-delivery:logical-id"], "Src",
        "ownership tags are set on create"
    );

    // Tags change in place, by diff, never through Put.
    s.proxy.reset_counts();
    let v2 = source_props(
        "life-src",
        json!([{"Key": "team", "Value": "b"}, {"Key": "new", "Value": "x"}]),
    );
    let updated = answer(&s, update(SOURCE, "Src", "life-src", v2.clone(), v1.clone(), &url));
    assert_success(&updated);
    assert_eq!(updated.physical_id().as_deref(), Some("life-src"));
    let tags = live_tags(&s.moto, &arn);
    assert_eq!(
        (tags["team"].as_str(), tags["new"].as_str(), tags.get("drop")),
        (Some("b"), Some("x"), None)
    );
    assert_eq!(
        tags["cfn-logs-delivery:stack-id"],
        cfn_local::events::STACK_ID,
        "ownership tags survive the diff"
    );
    assert_eq!(s.proxy.call_count("PutDeliverySource"), 0);
    assert_eq!(
        (s.proxy.call_count("TagResource"), s.proxy.call_count("UntagResource")),
        (1, 1)
    );

    // A create-only property without a new Name cannot be replaced: FAILED, naming it, id kept.
    let other_arn = json!({"Name": "life-src", "ResourceArn": "arn:aws:cloudfront::123456789012:distribution/E2OTHER", "LogType": "ACCESS_LOGS"});
    let refused = answer(&s, update(SOURCE, "Src", "life-src", other_arn, v2.clone(), &url));
    assert_failed_with(&refused, &["ResourceArn", "change Name"]);
    assert_eq!(refused.physical_id().as_deref(), Some("life-src"));
    // ...and the rollback Update (properties swapped back) succeeds.
    assert_success(&answer(
        &s,
        update(SOURCE, "Src", "life-src", v2.clone(), v2.clone(), &url),
    ));

    // A new Name that keeps ResourceArn and LogType cannot work on the real service (one source
    // per resource and log type; CloudFormation creates the new one first): FAILED before any call.
    s.proxy.reset_counts();
    let same_arn = source_props("life-src-v2", json!([{"Key": "team", "Value": "b"}]));
    let refused = answer(&s, update(SOURCE, "Src", "life-src", same_arn, v2.clone(), &url));
    assert_failed_with(
        &refused,
        &[
            "ResourceArn",
            "life-src",
            "life-src-v2",
            CLOUDFRONT,
            "one delivery source",
        ],
    );
    assert_eq!(refused.physical_id().as_deref(), Some("life-src"));
    assert_eq!(s.proxy.total_calls(), 0, "{:?}", s.proxy.calls());

    // A new Name with a new ResourceArn replaces: new id; the old one stays until CloudFormation's cleanup Delete.
    let mut v3 = source_props("life-src-v2", json!([{"Key": "team", "Value": "b"}]));
    v3["ResourceArn"] = json!(CLOUDFRONT_2);
    let replaced = answer(&s, update(SOURCE, "Src", "life-src", v3.clone(), v2.clone(), &url));
    assert_success(&replaced);
    assert_eq!(replaced.physical_id().as_deref(), Some("life-src-v2"));
    assert!(source_exists(&s, "life-src") && source_exists(&s, "life-src-v2"));
    assert_success(&answer(&s, delete(SOURCE, "Src", "life-src", v2, &url)));
    assert!(!source_exists(&s, "life-src"));

    // Delete, then Delete again (already gone): both SUCCESS.
    assert_success(&answer(&s, delete(SOURCE, "Src", "life-src-v2", v3.clone(), &url)));
    assert!(!source_exists(&s, "life-src-v2"));
    assert_success(&answer(&s, delete(SOURCE, "Src", "life-src-v2", v3, &url)));
}

#[test]
fn rollback_of_a_replacement_adopts_the_original() {
    let s = stack();
    let url = s.placeholder_url();
    let old = source_props("rb-src", json!([]));
    let mut new = source_props("rb-src-new", json!([]));
    new["ResourceArn"] = json!(CLOUDFRONT_2);
    assert_success(&answer(&s, create(SOURCE, "Src", old.clone(), &url)));
    assert_success(&answer(
        &s,
        update(SOURCE, "Src", "rb-src", new.clone(), old.clone(), &url),
    ));
    // The stack failed later: CloudFormation rolls back to the old properties on the new id...
    let back = answer(&s, update(SOURCE, "Src", "rb-src-new", old.clone(), new.clone(), &url));
    assert_success(&back);
    assert_eq!(
        back.physical_id().as_deref(),
        Some("rb-src"),
        "the original (ours) is adopted, not refused"
    );
    // ...then deletes the new one.
    assert_success(&answer(&s, delete(SOURCE, "Src", "rb-src-new", new, &url)));
    assert!(source_exists(&s, "rb-src") && !source_exists(&s, "rb-src-new"));
}

#[test]
fn create_of_an_existing_name_is_refused_and_its_cleanup_touches_nothing() {
    let s = stack();
    let url = s.placeholder_url();
    let (status, body) = s.moto.logs_call(
        "PutDeliverySource",
        json!({"name": "taken", "resourceArn": CLOUDFRONT, "logType": "ACCESS_LOGS", "tags": {"owner": "someone-else"}}),
    );
    assert_eq!(status, 200, "{body}");
    let arn = body["deliverySource"]["arn"].as_str().unwrap().to_owned();

    s.proxy.reset_counts();
    let refused = answer(
        &s,
        create(
            SOURCE,
            "Src",
            source_props("taken", json!([{"Key": "team", "Value": "a"}])),
            &url,
        ),
    );
    assert_failed_with(&refused, &["already exists", "taken", "Name"]);
    let marker = refused.physical_id().unwrap();
    assert!(marker.starts_with(MARKER), "{marker}");
    assert_eq!(s.proxy.call_count("PutDeliverySource"), 0, "nothing was overwritten");
    assert_eq!(live_tags(&s.moto, &arn), json!({"owner": "someone-else"}));

    // CloudFormation then deletes the failed resource by the marker: SUCCESS, no AWS call.
    s.proxy.reset_counts();
    assert_success(&answer(&s, delete(SOURCE, "Src", &marker, json!({}), &url)));
    assert_eq!(s.proxy.total_calls(), 0);
    // A Delete under a name we did not create (e.g. a placeholder id) leaves it alone too.
    assert_success(&answer(&s, delete(SOURCE, "Src", "taken", json!({}), &url)));
    assert!(source_exists(&s, "taken"));
}

#[test]
fn invalid_requests_fail_before_any_aws_call() {
    let s = stack();
    let url = s.placeholder_url();
    let cases = [
        (
            SOURCE,
            json!({"Name": "bad name!", "ResourceArn": CLOUDFRONT, "LogType": "ACCESS_LOGS"}),
            vec!["Name"],
        ),
        (
            SOURCE,
            json!({"Name": "ok", "ResourceArn": CLOUDFRONT, "LogType": "ACCESS_LOGS", "Colour": "red"}),
            vec!["Colour", "unknown property"],
        ),
        (
            SOURCE,
            json!({"Name": "ok", "LogType": "ACCESS_LOGS"}),
            vec!["ResourceArn", "required"],
        ),
        (
            SOURCE,
            json!({"Name": "ok", "ResourceArn": "not-an-arn", "LogType": "ACCESS_LOGS"}),
            vec!["ResourceArn", "not an ARN"],
        ),
        (
            DESTINATION,
            json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "OutputFormat": "yaml"}),
            vec!["OutputFormat"],
        ),
        (
            DESTINATION,
            json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationType": "SQS"}),
            vec!["DeliveryDestinationType"],
        ),
        (
            DESTINATION,
            json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "Tags": [{"Key": "k"}]}),
            vec!["Tags[0].Value"],
        ),
        (
            DESTINATION,
            json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "Tags": [{"Key": "team#1", "Value": "x"}]}),
            vec!["Tags[0].Key", "'#'"],
        ),
        // Three mistakes, one deploy: all three named in one Reason.
        (
            SOURCE,
            json!({"Name": "bad name!", "ResourceArn": "not-an-arn", "LogType": "ACCESS_LOGS", "Colour": "red"}),
            vec![
                "3 problems: Colour: unknown property",
                "Name: 'bad name!'",
                "ResourceArn: 'not-an-arn' is not an ARN",
            ],
        ),
        (
            DELIVERY,
            json!({"DeliverySourceName": "s", "DeliveryDestinationArn": "arn:aws:s3:::b"}),
            vec!["DeliveryDestinationArn"],
        ),
        (
            DELIVERY,
            json!({"DeliverySourceName": "s", "DeliveryDestinationArn": "arn:aws:logs:us-east-1:123456789012:delivery-destination:d", "S3EnableHiveCompatiblePath": "sometimes"}),
            vec!["S3EnableHiveCompatiblePath"],
        ),
        (
            "Custom::LogGroup",
            json!({"Name": "x"}),
            vec![
                "Custom::LogGroup",
                "Custom::DeliverySource",
                "Custom::DeliveryDestination",
                "Custom::Delivery",
            ],
        ),
    ];
    s.proxy.reset_counts();
    for (kind, props, needles) in cases {
        let a = answer(&s, create(kind, "Bad", props.clone(), &url));
        assert_failed_with(&a, &needles);
        assert!(a.physical_id().unwrap().starts_with(MARKER));
        // An Update with the same bad properties keeps its id.
        let a = answer(&s, update(kind, "Bad", "existing-id", props, json!({}), &url));
        assert_failed_with(&a, &needles);
        assert_eq!(a.physical_id().as_deref(), Some("existing-id"));
    }
    assert_eq!(s.proxy.total_calls(), 0, "{:?}", s.proxy.calls());

    // Not a CloudFormation event at all: nobody to answer. Logged, and reported to Lambda as
    // handled (an error would only make Lambda run it twice more); the process keeps serving.
    let inv = s
        .lambda
        .runtime
        .invoke(json!({"hello": "world"}), std::time::Duration::from_secs(10));
    let Outcome::Response(body) = &inv.outcome else {
        panic!("{:?}", inv.outcome)
    };
    assert_eq!(body["Answered"], false, "{body}");
    assert!(s
        .lambda
        .log_text()
        .contains("not a CloudFormation custom-resource request"));
    assert!(s.lambda.is_running());
    assert_success(&answer(
        &s,
        create(SOURCE, "Src", source_props("still-alive", json!([])), &url),
    ));
}

fn destination_props(name: &str, policy: Value, tags: Value) -> Value {
    json!({"Name": name, "DestinationResourceArn": "arn:aws:s3:::life-bucket", "OutputFormat": "json",
           "DeliveryDestinationPolicy": policy, "Tags": tags})
}

fn policy_doc(action: &str) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"},
           "Action": action, "Resource": "arn:aws:logs:us-east-1:123456789012:delivery-destination:life-dest"}]})
}

fn live_policy(s: &Stack, name: &str) -> Option<Value> {
    let (status, body) = s.moto.logs_call(
        "GetDeliveryDestinationPolicy",
        json!({ "deliveryDestinationName": name }),
    );
    assert_eq!(status, 200, "{body}");
    body["policy"]["deliveryDestinationPolicy"]
        .as_str()
        .map(|p| serde_json::from_str(p).unwrap())
}

#[test]
fn delivery_destination_policy_tags_and_replacement() {
    let s = stack();
    let url = s.placeholder_url();
    let v1 = destination_props(
        "life-dest",
        policy_doc("logs:CreateDelivery"),
        json!([{"Key": "team", "Value": "a"}]),
    );
    let created = answer(&s, create(DESTINATION, "Dest", v1.clone(), &url));
    assert_success(&created);
    assert_eq!(created.physical_id().as_deref(), Some("life-dest"));
    assert_eq!(
        created.data("Arn").as_deref(),
        Some("arn:aws:logs:us-east-1:123456789012:delivery-destination:life-dest")
    );
    assert_eq!(created.data("DeliveryDestinationType").as_deref(), Some("S3"));
    assert_eq!(created.data("OutputFormat").as_deref(), Some("json"));
    assert_eq!(live_policy(&s, "life-dest"), Some(policy_doc("logs:CreateDelivery")));

    // The same document as a JSON string, reformatted: not a change.
    s.proxy.reset_counts();
    let same_as_string = destination_props(
        "life-dest",
        json!(serde_json::to_string_pretty(&policy_doc("logs:CreateDelivery")).unwrap()),
        json!([{"Key": "team", "Value": "a"}]),
    );
    assert_success(&answer(
        &s,
        update(DESTINATION, "Dest", "life-dest", same_as_string, v1.clone(), &url),
    ));
    assert_eq!(s.proxy.call_count("PutDeliveryDestinationPolicy"), 0);
    assert_eq!(s.proxy.call_count("PutDeliveryDestination"), 0);

    // A changed document and tags: in place.
    let v2 = destination_props(
        "life-dest",
        policy_doc("logs:*"),
        json!([{"Key": "team", "Value": "b"}]),
    );
    let updated = answer(
        &s,
        update(DESTINATION, "Dest", "life-dest", v2.clone(), v1.clone(), &url),
    );
    assert_success(&updated);
    assert_eq!(updated.physical_id().as_deref(), Some("life-dest"));
    assert_eq!(live_policy(&s, "life-dest"), Some(policy_doc("logs:*")));
    assert_eq!(live_tags(&s.moto, &created.data("Arn").unwrap())["team"], "b");

    // Policy removed from the template: removed from the destination.
    let mut v3 = v2.clone();
    v3.as_object_mut().unwrap().remove("DeliveryDestinationPolicy");
    assert_success(&answer(
        &s,
        update(DESTINATION, "Dest", "life-dest", v3.clone(), v2.clone(), &url),
    ));
    assert_eq!(live_policy(&s, "life-dest"), None);

    // OutputFormat is create-only: without a new Name, FAILED naming it; with one, replaced.
    let mut plain = v3.clone();
    plain["OutputFormat"] = json!("plain");
    assert_failed_with(
        &answer(
            &s,
            update(DESTINATION, "Dest", "life-dest", plain.clone(), v3.clone(), &url),
        ),
        &["OutputFormat", "change Name"],
    );
    plain["Name"] = json!("life-dest-plain");
    let replaced = answer(
        &s,
        update(DESTINATION, "Dest", "life-dest", plain.clone(), v3.clone(), &url),
    );
    assert_success(&replaced);
    assert_eq!(replaced.physical_id().as_deref(), Some("life-dest-plain"));
    assert_eq!(replaced.data("OutputFormat").as_deref(), Some("plain"));

    // Someone else's destination of the same name is never adopted.
    let stranger = answer(&s, create(DESTINATION, "OtherDest", v1.clone(), &url));
    assert_failed_with(&stranger, &["already exists", "life-dest"]);

    for (id, props) in [("life-dest", v3), ("life-dest-plain", plain)] {
        assert_success(&answer(&s, delete(DESTINATION, "Dest", id, props, &url)));
        assert_eq!(
            s.moto.logs_call("GetDeliveryDestination", json!({ "name": id })).0,
            400,
            "{id} deleted"
        );
    }
}

fn delivery_exists(s: &Stack, id: &str) -> bool {
    s.moto.logs_call("GetDelivery", json!({ "id": id })).0 == 200
}

#[test]
fn delivery_create_tags_duplicate_replacement_delete() {
    let s = stack();
    let url = s.placeholder_url();
    let src = answer(&s, create(SOURCE, "Src", source_props("dl-src", json!([])), &url));
    let dest_a = answer(
        &s,
        create(
            DESTINATION,
            "DestA",
            json!({"Name": "dl-dest-a", "DestinationResourceArn": "arn:aws:s3:::bucket-a"}),
            &url,
        ),
    );
    let dest_b = answer(
        &s,
        create(
            DESTINATION,
            "DestB",
            json!({"Name": "dl-dest-b", "DestinationResourceArn": "arn:aws:s3:::bucket-b"}),
            &url,
        ),
    );
    for a in [&src, &dest_a, &dest_b] {
        assert_success(a);
    }
    let props = |dest: &Answer, tags: Value| {
        json!({"DeliverySourceName": src.data("Name").unwrap(), "DeliveryDestinationArn": dest.data("Arn").unwrap(),
               "RecordFields": ["date", "time"], "FieldDelimiter": ",", "S3SuffixPath": "{yyyy}/{MM}",
               "S3EnableHiveCompatiblePath": "false", "Tags": tags})
    };

    let v1 = props(&dest_a, json!([{"Key": "team", "Value": "a"}]));
    let created = answer(&s, create(DELIVERY, "Delivery", v1.clone(), &url));
    assert_success(&created);
    let id = created.physical_id().unwrap();
    assert_eq!(created.data("DeliveryId").as_deref(), Some(id.as_str()));
    assert_eq!(created.data("DeliveryDestinationType").as_deref(), Some("S3"));
    let arn = created.data("Arn").unwrap();
    assert!(arn.ends_with(&format!(":delivery:{id}")), "{arn}");
    let (_, live) = s.moto.logs_call("GetDelivery", json!({ "id": id }));
    assert_eq!(live["delivery"]["recordFields"], json!(["date", "time"]));
    assert_eq!(live["delivery"]["fieldDelimiter"], ",");

    // Tags by diff.
    let v2 = props(&dest_a, json!([{"Key": "team", "Value": "b"}]));
    let updated = answer(&s, update(DELIVERY, "Delivery", &id, v2.clone(), v1.clone(), &url));
    assert_success(&updated);
    assert_eq!(updated.physical_id().as_deref(), Some(id.as_str()));
    assert_eq!(live_tags(&s.moto, &arn)["team"], "b");

    // The same pairing from another stack resource: refused, marker id, nothing changed.
    let dup = answer(&s, create(DELIVERY, "OtherDelivery", v1.clone(), &url));
    assert_failed_with(&dup, &["already exists", &id]);
    assert!(dup.physical_id().unwrap().starts_with(MARKER));

    // Replacement to another S3 destination for the same source: the service allows one per
    // type, so the old delivery goes first; the new id is answered; cleanup of the old id is SUCCESS.
    let v3 = props(&dest_b, json!([{"Key": "team", "Value": "b"}]));
    let replaced = answer(&s, update(DELIVERY, "Delivery", &id, v3.clone(), v2.clone(), &url));
    assert_success(&replaced);
    let new_id = replaced.physical_id().unwrap();
    assert_ne!(new_id, id);
    assert!(delivery_exists(&s, &new_id) && !delivery_exists(&s, &id));
    assert_success(&answer(&s, delete(DELIVERY, "Delivery", &id, v2, &url)));

    assert_success(&answer(&s, delete(DELIVERY, "Delivery", &new_id, v3.clone(), &url)));
    assert!(!delivery_exists(&s, &new_id));
    assert_success(&answer(&s, delete(DELIVERY, "Delivery", &new_id, v3, &url)));
}
