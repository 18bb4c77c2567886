//! `Region`, `AssumeRoleArn` and `AdoptExisting` through the release binary, the real-service
//! layer and moto (which keeps state per region and per account): CloudFront logging from a stack
//! outside us-east-1, a destination in a logging account, a move between regions as CloudFormation
//! plays it (update, cleanup, rollback), and taking over what exists.

mod common;

use cfn_local::moto::DEFAULT_ACCESS_KEY;
use cfn_local::Stack;
use common::*;
use serde_json::{json, Value};

const IRELAND: &str = "eu-west-1";
const VIRGINIA: &str = "us-east-1";
const LOGGING_ACCOUNT: &str = "210987654321";
const STACK_ACCOUNT: &str = "123456789012";

/// A provider running in eu-west-1 (its own region), as for a stack there.
fn stack_in_ireland() -> Stack {
    start_stack(&[("AWS_REGION", IRELAND)])
}

fn with(mut props: Value, extra: Value) -> Value {
    props
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    props
}

/// Names (or delivery ids) listed by a Describe* call in `region` of the stack's account.
fn listed(stack: &Stack, region: &str, target: &str, member: &str, field: &str) -> Vec<String> {
    let (status, body) = stack.proxy.logs_call_as(region, DEFAULT_ACCESS_KEY, target, json!({}));
    assert_eq!(status, 200, "{target} in {region}: {body}");
    body[member]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[field].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn destinations(stack: &Stack, region: &str) -> Vec<String> {
    listed(
        stack,
        region,
        "DescribeDeliveryDestinations",
        "deliveryDestinations",
        "name",
    )
}

fn everything(stack: &Stack, region: &str) -> Vec<String> {
    let mut all = listed(stack, region, "DescribeDeliverySources", "deliverySources", "name");
    all.extend(destinations(stack, region));
    all.extend(listed(stack, region, "DescribeDeliveries", "deliveries", "id"));
    all
}

fn failed(stack: &Stack, event: Value) -> String {
    let (_, answer) = stack.send(event);
    let answer = answer.expect("an answer");
    assert_eq!(answer.status().as_deref(), Some("FAILED"), "{:?}", answer.json());
    answer.reason().unwrap_or_default()
}

#[test]
fn cloudfront_logging_from_a_stack_in_ireland_happens_in_virginia() {
    let stack = stack_in_ireland();
    let here = json!({"Region": VIRGINIA});
    let source = with(source_props("cf-src"), here.clone());
    let destination = with(destination_props("cf-dst"), here.clone());

    let (source_id, body) = must_succeed(&stack, create(&stack, SOURCE, "Src", source.clone()));
    assert_eq!(
        source_id,
        format!("arn:aws:logs:{VIRGINIA}:{STACK_ACCOUNT}:delivery-source:cf-src"),
        "away from home, Ref is the ARN"
    );
    assert_eq!(body["Data"]["Arn"], json!(source_id));
    assert_eq!(body["Data"]["Name"], json!("cf-src"));
    let (destination_id, body) = must_succeed(&stack, create(&stack, DESTINATION, "Dst", destination.clone()));
    let destination_arn = body["Data"]["Arn"].as_str().unwrap().to_owned();
    assert!(
        destination_arn.starts_with(&format!("arn:aws:logs:{VIRGINIA}:")),
        "{destination_arn}"
    );
    // The delivery names its source as `!Ref Src` gives it: the ARN.
    let delivery = with(
        json!({"DeliverySourceName": source_id, "DeliveryDestinationArn": destination_arn, "Tags": [{"Key": "team", "Value": "a"}]}),
        here.clone(),
    );
    let event = create(&stack, DELIVERY, "Delivery", delivery.clone());
    let (delivery_id, first) = must_succeed(&stack, event.clone());
    assert!(
        delivery_id.starts_with(&format!("arn:aws:logs:{VIRGINIA}:{STACK_ACCOUNT}:delivery:")),
        "{delivery_id}"
    );
    let (again_id, again) = must_succeed(&stack, event); // Lambda runs the same event again
    assert_eq!(
        (again_id, &again["Data"]),
        (delivery_id.clone(), &first["Data"]),
        "a redelivered Create answers the same"
    );

    let retagged = with(delivery.clone(), json!({"Tags": [{"Key": "team", "Value": "b"}]}));
    let (id, _) = must_succeed(
        &stack,
        update(&stack, DELIVERY, "Delivery", &delivery_id, retagged.clone(), delivery),
    );
    assert_eq!(id, delivery_id, "a tags update is in place");
    assert_eq!(
        live_tags_in(&stack, first["Data"]["Arn"].as_str().unwrap())["team"],
        json!("b")
    );

    must_succeed(&stack, delete(&stack, DELIVERY, "Delivery", &delivery_id, retagged));
    must_succeed(&stack, delete(&stack, DESTINATION, "Dst", &destination_id, destination));
    must_succeed(&stack, delete(&stack, SOURCE, "Src", &source_id, source));
    assert!(
        everything(&stack, VIRGINIA).is_empty(),
        "nothing left in {VIRGINIA}: {:?}",
        everything(&stack, VIRGINIA)
    );
    assert!(
        stack.proxy.calls_in_region(IRELAND).is_empty(),
        "no call ever went to {IRELAND}: {:?}",
        stack.proxy.calls_by_place()
    );
    scan_log("regions_cloudfront_in_virginia", &stack.lambda);
}

fn live_tags_in(stack: &Stack, arn: &str) -> Value {
    let (status, body) = stack.proxy.logs_call_as(
        VIRGINIA,
        DEFAULT_ACCESS_KEY,
        "ListTagsForResource",
        json!({"resourceArn": arn}),
    );
    assert_eq!(status, 200, "{body}");
    body["tags"].clone()
}

#[test]
fn a_cloudfront_source_outside_virginia_is_refused_before_any_call() {
    let stack = stack_in_ireland();
    let reason = failed(&stack, create(&stack, SOURCE, "Src", source_props("cf-src")));
    assert!(
        reason.starts_with("Region: a CloudFront delivery source exists only in us-east-1"),
        "{reason}"
    );
    assert!(
        reason.contains("provider's region, eu-west-1") && reason.contains("Set `Region: us-east-1`"),
        "{reason}"
    );
    let reason = failed(
        &stack,
        create(
            &stack,
            SOURCE,
            "Src",
            with(source_props("cf-src"), json!({"Region": "eu-central-1"})),
        ),
    );
    assert!(reason.contains("but Region is eu-central-1"), "{reason}");
    let bad = with(delivery_props("src", "dst"), json!({"Region": IRELAND})); // its destination is in us-east-1
    let reason = failed(&stack, create(&stack, DELIVERY, "Delivery", bad));
    assert!(
        reason
            .starts_with("DeliveryDestinationArn: names a delivery destination in us-east-1, but this delivery would be made in eu-west-1"),
        "{reason}"
    );
    let reason = failed(
        &stack,
        create(
            &stack,
            DESTINATION,
            "Dst",
            with(destination_props("d"), json!({"Region": "Ireland"})),
        ),
    );
    assert!(reason.starts_with("Region: 'Ireland' is not a region name"), "{reason}");
    assert_eq!(stack.proxy.total_calls(), 0, "{:?}", stack.proxy.calls());
}

/// CloudFormation's replacement: Update answers a new id, then Delete of the old one (with the old
/// properties) in the cleanup; a rollback is an Update back, then Delete of the new one.
#[test]
fn a_region_change_leaves_one_destination_where_the_template_says() {
    let stack = stack_in_ireland();
    let home = destination_props("moving");
    let away = with(home.clone(), json!({"Region": VIRGINIA}));
    let (home_id, _) = must_succeed(&stack, create(&stack, DESTINATION, "Dst", home.clone()));
    assert_eq!(home_id, "moving");

    // Update to us-east-1, then the cleanup of the old id.
    let (away_id, _) = must_succeed(
        &stack,
        update(&stack, DESTINATION, "Dst", &home_id, away.clone(), home.clone()),
    );
    assert_eq!(
        away_id,
        format!("arn:aws:logs:{VIRGINIA}:{STACK_ACCOUNT}:delivery-destination:moving"),
        "a move is a replacement"
    );
    assert_eq!(
        (
            destinations(&stack, IRELAND).len(),
            destinations(&stack, VIRGINIA).len()
        ),
        (1, 1),
        "both, until the cleanup"
    );
    must_succeed(&stack, delete(&stack, DESTINATION, "Dst", &home_id, home.clone()));
    assert_eq!(
        (destinations(&stack, IRELAND), destinations(&stack, VIRGINIA)),
        (vec![], vec!["moving".to_owned()])
    );

    // The same update rolled back before its cleanup: back to eu-west-1, then the new one deleted.
    must_succeed(
        &stack,
        create(
            &stack,
            DESTINATION,
            "Dst2",
            with(destination_props("rolled"), json!({})),
        ),
    );
    let (moved, _) = must_succeed(
        &stack,
        update(
            &stack,
            DESTINATION,
            "Dst2",
            "rolled",
            with(destination_props("rolled"), json!({"Region": VIRGINIA})),
            destination_props("rolled"),
        ),
    );
    let (back, _) = must_succeed(
        &stack,
        update(
            &stack,
            DESTINATION,
            "Dst2",
            &moved,
            destination_props("rolled"),
            with(destination_props("rolled"), json!({"Region": VIRGINIA})),
        ),
    );
    assert_eq!(back, "rolled", "the rollback answers the original id");
    must_succeed(
        &stack,
        delete(
            &stack,
            DESTINATION,
            "Dst2",
            &moved,
            with(destination_props("rolled"), json!({"Region": VIRGINIA})),
        ),
    );
    assert_eq!(destinations(&stack, IRELAND), vec!["rolled".to_owned()]);
    assert_eq!(
        destinations(&stack, VIRGINIA),
        vec!["moving".to_owned()],
        "only the first destination is in us-east-1"
    );
    scan_log("regions_destination_moves", &stack.lambda);
}

#[test]
fn a_destination_in_the_logging_account_serves_a_delivery_from_the_stack_account() {
    let stack = start_stack(&[]);
    let role = stack
        .moto
        .create_role(LOGGING_ACCOUNT, "central-logging", STACK_ACCOUNT, Some("shop-42"))
        .unwrap();
    let policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": STACK_ACCOUNT},
        "Action": "logs:CreateDelivery", "Resource": "*"}]});
    let destination = json!({"Name": "central", "DestinationResourceArn": "arn:aws:s3:::central-logs", "OutputFormat": "json",
        "DeliveryDestinationPolicy": policy, "AssumeRoleArn": role, "ExternalId": "shop-42"});
    let (destination_id, body) = must_succeed(&stack, create(&stack, DESTINATION, "Central", destination.clone()));
    let arn = format!("arn:aws:logs:{VIRGINIA}:{LOGGING_ACCOUNT}:delivery-destination:central");
    assert_eq!(
        (destination_id.as_str(), body["Data"]["Arn"].as_str()),
        (arn.as_str(), Some(arn.as_str()))
    );
    assert!(stack.proxy.call_count("AssumeRole") >= 1);
    assert!(
        stack
            .proxy
            .calls_in_account(LOGGING_ACCOUNT)
            .contains_key("PutDeliveryDestinationPolicy"),
        "{:?}",
        stack.proxy.calls_by_place()
    );
    assert!(
        !stack
            .proxy
            .calls_in_account(STACK_ACCOUNT)
            .contains_key("PutDeliveryDestination"),
        "nothing made in the stack's account"
    );

    let (source_id, _) = must_succeed(&stack, create(&stack, SOURCE, "Src", source_props("shop")));
    let delivery = json!({"DeliverySourceName": source_id, "DeliveryDestinationArn": arn});
    let (delivery_id, body) = must_succeed(&stack, create(&stack, DELIVERY, "Delivery", delivery.clone()));
    assert_eq!(
        body["Data"]["DeliveryId"],
        json!(delivery_id),
        "the delivery is the stack account's own"
    );
    must_succeed(&stack, delete(&stack, DELIVERY, "Delivery", &delivery_id, delivery));
    must_succeed(&stack, delete(&stack, SOURCE, "Src", &source_id, source_props("shop")));
    must_succeed(
        &stack,
        delete(&stack, DESTINATION, "Central", &destination_id, destination.clone()),
    );
    assert_eq!(
        stack.proxy.call_count("AssumeRole"),
        1,
        "the role's credentials are kept while the process is warm"
    );
    let (status, _) = stack.proxy.logs_call_as(
        VIRGINIA,
        &assumed_key(&stack, &role),
        "GetDeliveryDestination",
        json!({"name": "central"}),
    );
    assert_eq!(status, 400, "deleted in the logging account");

    // A role that does not trust the caller: FAILED naming AssumeRoleArn, nothing made.
    let untrusting = stack
        .moto
        .create_role(LOGGING_ACCOUNT, "untrusting", "999999999999", None)
        .unwrap();
    let reason = failed(
        &stack,
        create(
            &stack,
            DESTINATION,
            "Other",
            with(
                destination.clone(),
                json!({"AssumeRoleArn": untrusting, "ExternalId": null}),
            ),
        ),
    );
    assert!(
        reason.starts_with(&format!(
            "AssumeRoleArn: '{untrusting}' could not be assumed, so GetDeliveryDestination was not called"
        )),
        "{reason}"
    );
    assert!(reason.contains("AccessDenied"), "the STS error is named: {reason}");
    scan_log("accounts_logging_destination", &stack.lambda);
}

fn assumed_key(stack: &Stack, role: &str) -> String {
    stack
        .proxy
        .assume_role(VIRGINIA, DEFAULT_ACCESS_KEY, role, Some("shop-42"))
        .expect("assume the role")
        .access_key_id
}

#[test]
fn adopt_existing_takes_over_only_what_no_other_stack_resource_owns() {
    let stack = start_stack(&[]);
    let made_by_hand = json!({"name": "by-hand", "outputFormat": "json",
        "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:aws:s3:::by-hand"}, "tags": {"team": "ops"}});
    assert_eq!(stack.proxy.logs_call("PutDeliveryDestination", made_by_hand).0, 200);
    let props = with(
        destination_props("by-hand"),
        json!({"DestinationResourceArn": "arn:aws:s3:::by-hand"}),
    );

    let reason = failed(&stack, create(&stack, DESTINATION, "Dst", props.clone()));
    assert!(
        reason.contains("already exists and was not created by this stack resource")
            && reason.contains("set AdoptExisting"),
        "{reason}"
    );
    let adopting = with(props.clone(), json!({"AdoptExisting": "true"}));
    let (id, body) = must_succeed(&stack, create(&stack, DESTINATION, "Dst", adopting.clone()));
    let tags = live_tags(&stack.moto, body["Data"]["Arn"].as_str().unwrap());
    assert_eq!(
        tags["cfn-logs-delivery:logical-id"],
        json!("Dst"),
        "ownership tags added: {tags}"
    );
    assert_eq!(
        tags["team"],
        json!("platform"),
        "converged to the template's tags: {tags}"
    );
    assert!(tags.get("cfn-logs-delivery:stack-id").is_some());

    // Owned by another stack resource now: never taken, even with AdoptExisting.
    let reason = failed(&stack, create(&stack, DESTINATION, "Thief", adopting.clone()));
    assert!(
        reason.contains("It belongs to stack resource 'Dst'") && reason.contains("AdoptExisting never takes"),
        "{reason}"
    );

    must_succeed(&stack, delete(&stack, DESTINATION, "Dst", &id, adopting));
    assert!(
        destinations(&stack, VIRGINIA).is_empty(),
        "adopted, so deleted with the stack"
    );
    scan_log("adopt_existing", &stack.lambda);
}
