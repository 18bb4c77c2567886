//! A delivery created before its source or destination exists: what a template
//! that names them by text instead of `!Ref` / `!GetAtt` meets when CloudFormation creates all
//! three at once. The release binary, through the real-service layer and moto, answers a Reason
//! that names the property, the name and the region, and says how to order them.

mod common;

use common::*;
use serde_json::{json, Value};

const REGION: &str = "us-east-1";

fn in_virginia(mut props: Value) -> Value {
    props.as_object_mut().unwrap().insert("Region".into(), json!(REGION));
    props
}

fn failed_reason(stack: &cfn_local::Stack, event: Value) -> String {
    let (_, answer) = stack.send(event);
    let answer = answer.expect("an answer");
    assert_eq!(answer.status().as_deref(), Some("FAILED"), "{:?}", answer.json());
    answer.reason().unwrap_or_default()
}

#[test]
fn a_delivery_whose_source_or_destination_is_not_there_yet_says_which_where_and_how_to_order_them() {
    // The provider runs in eu-west-1; the delivery is made in us-east-1 (its Region): the Reason
    // names the delivery's place, not the provider's.
    let stack = start_stack(&[("AWS_REGION", "eu-west-1")]);
    must_succeed(
        &stack,
        create(&stack, DESTINATION, "Dst", in_virginia(destination_props("order-dst"))),
    );
    let reason = failed_reason(
        &stack,
        create(
            &stack,
            DELIVERY,
            "Delivery",
            in_virginia(delivery_props("late-src", "order-dst")),
        ),
    );
    assert!(
        reason.starts_with(
            "DeliverySourceName: the delivery source 'late-src' does not exist in us-east-1 (CreateDelivery: "
        ),
        "{reason}"
    );
    assert!(
        reason.contains("Requested Delivery Source does not exist in this account."),
        "the service's words kept: {reason}"
    );
    assert!(
        reason.contains("name it with `!Ref Source` (or add DependsOn on it)"),
        "{reason}"
    );

    must_succeed(
        &stack,
        create(&stack, SOURCE, "Src", in_virginia(source_props("early-src"))),
    );
    let reason = failed_reason(
        &stack,
        create(
            &stack,
            DELIVERY,
            "Delivery",
            in_virginia(delivery_props("early-src", "late-dst")),
        ),
    );
    assert!(
        reason.starts_with(
            "DeliveryDestinationArn: the delivery destination 'late-dst' does not exist in us-east-1 (CreateDelivery: "
        ),
        "{reason}"
    );
    assert!(
        reason.contains("name it with `!GetAtt Destination.Arn` (or add DependsOn on it)"),
        "{reason}"
    );
    scan_log("order_mistakes_missing_source_or_destination", &stack.lambda);
}
