//! The real-service layer's region and account rules (tools/cfn-local/src/real_service_accounts.rs),
//! driven with raw Logs and STS calls through the proxy, on one moto: each test shows moto's own
//! answer first (a `Semantics::RawMoto` proxy) where the rule differs, so a rule that stops
//! applying fails here.

mod layer;

use cfn_local::moto::{self, QueryCaller, DEFAULT_ACCESS_KEY, DEFAULT_ACCOUNT};
use cfn_local::real_service_accounts::SHADOW_PREFIX;
use cfn_local::LogsProxy;
use layer::{cloudfront, destination, source, start, Logs};
use serde_json::{json, Value};

const US: &str = "us-east-1";
const EU: &str = "eu-west-1";
/// The function's own account: moto's for any key it did not hand out.
const A: &str = DEFAULT_ACCOUNT;
/// The logging account.
const B: &str = "222222222222";
const KEY: &str = DEFAULT_ACCESS_KEY;

fn destination_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:logs:{region}:{account}:delivery-destination:{name}")
}

/// The answer of a call that must succeed.
fn ok(proxy: &LogsProxy, region: &str, key: &str, target: &str, body: Value) -> Value {
    let (status, answer) = proxy.logs_call_as(region, key, target, body.clone());
    assert_eq!(status, 200, "{target} in {region} {body}: {answer}");
    answer
}

/// The error type and message of a call that must fail.
fn refused(proxy: &LogsProxy, region: &str, key: &str, target: &str, body: Value) -> (String, String) {
    let (status, answer) = proxy.logs_call_as(region, key, target, body.clone());
    assert_ne!(status, 200, "{target} in {region} {body} must fail: {answer}");
    let text = |field: &str| answer[field].as_str().unwrap_or_default().to_string();
    (text("__type"), text("message"))
}

fn names(answer: &Value, member: &str) -> Vec<String> {
    answer[member]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap().to_string())
        .collect()
}

/// Keys of account B, from AssumeRole of a role there that trusts A.
fn keys_of_b(logs: &Logs) -> String {
    let role = logs
        .moto
        .create_role(B, "logs-writer", A, None)
        .expect("create the role in B");
    logs.real
        .assume_role(US, KEY, &role, None)
        .expect("A assumes B's role")
        .access_key_id
}

/// A destination policy that lets `account` create deliveries to destination `arn`.
fn policy_allowing(account: &str, arn: &str) -> Value {
    let statement = json!({"Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{account}:root")}, "Action": "logs:CreateDelivery", "Resource": arn});
    json!({"Version": "2012-10-17", "Statement": [statement]})
}

/// Destination `name` in B for `resource_arn`, with a policy if given.
fn destination_in_b(proxy: &LogsProxy, b_key: &str, name: &str, resource_arn: &str, policy: Option<Value>) -> String {
    ok(
        proxy,
        US,
        b_key,
        "PutDeliveryDestination",
        destination(name, resource_arn),
    );
    if let Some(policy) = policy {
        let put = json!({"deliveryDestinationName": name, "deliveryDestinationPolicy": policy.to_string()});
        ok(proxy, US, b_key, "PutDeliveryDestinationPolicy", put);
    }
    destination_arn(US, B, name)
}

#[test]
fn cloudfront_delivery_calls_answer_only_in_us_east_1() {
    let Logs { raw, real, moto } = &start();
    ok(
        raw,
        EU,
        KEY,
        "PutDeliverySource",
        source("cf", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    moto.reset().unwrap();

    let (kind, message) = refused(
        real,
        EU,
        KEY,
        "PutDeliverySource",
        source("cf", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    assert_eq!(kind, "ValidationException");
    assert_eq!(
        message,
        "PutDeliverySource action is not supported for this LogType in region eu-west-1"
    );
    assert_eq!(
        raw.logs_call_as(EU, KEY, "GetDeliverySource", json!({"name": "cf"})).0,
        400,
        "nothing was made in eu-west-1"
    );
    ok(
        real,
        US,
        KEY,
        "PutDeliverySource",
        source("cf", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    let bedrock = "arn:aws:bedrock:eu-west-1:123456789012:knowledge-base/KB1";
    ok(
        real,
        EU,
        KEY,
        "PutDeliverySource",
        source("kb", bedrock, "APPLICATION_LOGS"),
    );

    // A CloudFront source in eu-west-1 exists only in moto; a delivery from it is refused the same way.
    ok(
        raw,
        EU,
        KEY,
        "PutDeliverySource",
        source("cf-eu", &cloudfront("E2"), "ACCESS_LOGS"),
    );
    ok(
        real,
        EU,
        KEY,
        "PutDeliveryDestination",
        destination("s3", "arn:aws:s3:::bucket-eu"),
    );
    let create = json!({"deliverySourceName": "cf-eu", "deliveryDestinationArn": destination_arn(EU, A, "s3")});
    assert_eq!(
        raw.logs_call_as(EU, KEY, "CreateDelivery", create.clone()).0,
        200,
        "moto creates it"
    );
    ok(
        raw,
        EU,
        KEY,
        "DeleteDelivery",
        json!({"id": ok(raw, EU, KEY, "DescribeDeliveries", json!({}))["deliveries"][0]["id"]}),
    );
    let (kind, message) = refused(real, EU, KEY, "CreateDelivery", create);
    assert_eq!(
        (kind.as_str(), message.as_str()),
        (
            "ValidationException",
            "CreateDelivery action is not supported for this LogType in region eu-west-1"
        )
    );
    let kb = json!({"deliverySourceName": "kb", "deliveryDestinationArn": destination_arn(EU, A, "s3")});
    ok(real, EU, KEY, "CreateDelivery", kb);

    let in_eu = real.calls_in_region(EU);
    assert_eq!(in_eu.get("PutDeliverySource"), Some(&2), "{in_eu:?}");
    assert_eq!(
        real.calls_in_region(US).keys().collect::<Vec<_>>(),
        ["PutDeliverySource"]
    );
}

#[test]
fn state_and_counts_are_per_region() {
    let Logs { real, .. } = &start();
    ok(
        real,
        US,
        KEY,
        "PutDeliveryDestination",
        destination("d", "arn:aws:s3:::bucket-x"),
    );
    assert_eq!(
        names(
            &ok(real, US, KEY, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        ),
        ["d"]
    );
    assert!(names(
        &ok(real, EU, KEY, "DescribeDeliveryDestinations", json!({})),
        "deliveryDestinations"
    )
    .is_empty());
    assert_eq!(
        refused(real, EU, KEY, "GetDeliveryDestination", json!({"name": "d"})).0,
        "ResourceNotFoundException"
    );
    let arn = ok(real, US, KEY, "GetDeliveryDestination", json!({"name": "d"}))["deliveryDestination"]["arn"].clone();
    assert_eq!(arn, destination_arn(US, A, "d"));

    let places: Vec<(String, String)> = real.calls_by_place().into_keys().collect();
    assert_eq!(
        places,
        [(A.to_string(), EU.to_string()), (A.to_string(), US.to_string())]
    );
    assert_eq!(real.calls_in_region(EU).values().sum::<usize>(), 2);
    assert!(real.calls_in_region("ap-south-1").is_empty());
    real.reset_counts();
    assert!(real.calls_by_place().is_empty());
}

#[test]
fn cross_account_delivery_allowed_by_the_destination_policy() {
    let logs = start();
    let Logs { raw, real, moto } = &logs;
    let b = keys_of_b(&logs);
    let central = destination_in_b(
        raw,
        &b,
        "central",
        "arn:aws:s3:::central-logs",
        Some(policy_allowing(A, &destination_arn(US, B, "central"))),
    );
    ok(
        raw,
        US,
        KEY,
        "PutDeliverySource",
        source("src", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    let create = json!({"deliverySourceName": "src", "deliveryDestinationArn": central, "tags": {"team": "platform"}});
    assert_eq!(
        refused(raw, US, KEY, "CreateDelivery", create.clone()).0,
        "ResourceNotFoundException",
        "moto knows only A's own destinations"
    );
    moto.reset().unwrap();

    let b = keys_of_b(&logs);
    destination_in_b(
        real,
        &b,
        "central",
        "arn:aws:s3:::central-logs",
        Some(policy_allowing(A, &central)),
    );
    ok(
        real,
        US,
        KEY,
        "PutDeliverySource",
        source("src", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    let created = ok(real, US, KEY, "CreateDelivery", create)["delivery"].clone();
    assert_eq!(
        (&created["deliveryDestinationArn"], &created["deliveryDestinationType"]),
        (&json!(central), &json!("S3"))
    );
    let (id, delivery_arn) = (created["id"].clone(), created["arn"].clone());
    assert!(
        delivery_arn
            .as_str()
            .unwrap()
            .starts_with(&format!("arn:aws:logs:{US}:{A}:delivery:")),
        "{delivery_arn}"
    );

    let got = ok(real, US, KEY, "GetDelivery", json!({"id": id}))["delivery"].clone();
    assert_eq!(
        (&got["deliveryDestinationArn"], &got["deliveryDestinationType"]),
        (&json!(central), &json!("S3"))
    );
    let listed = ok(real, US, KEY, "DescribeDeliveries", json!({}))["deliveries"].clone();
    assert_eq!(
        listed,
        json!([{"id": id, "arn": delivery_arn, "deliverySourceName": "src", "deliveryDestinationArn": central}])
    );
    assert!(
        names(
            &ok(real, US, KEY, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        )
        .is_empty(),
        "A lists no shadow"
    );
    let shadows = names(
        &ok(raw, US, KEY, "DescribeDeliveryDestinations", json!({})),
        "deliveryDestinations",
    );
    assert_eq!(
        shadows,
        [format!("{SHADOW_PREFIX}{B}-central")],
        "moto holds the delivery to A's shadow of B's destination"
    );
    assert_eq!(
        names(
            &ok(real, US, &b, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        ),
        ["central"]
    );

    let tags = |proxy: &LogsProxy| {
        ok(
            proxy,
            US,
            KEY,
            "ListTagsForResource",
            json!({"resourceArn": delivery_arn}),
        )["tags"]
            .clone()
    };
    assert_eq!(tags(real), json!({"team": "platform"}));
    ok(
        real,
        US,
        KEY,
        "TagResource",
        json!({"resourceArn": delivery_arn, "tags": {"owner": "ops"}}),
    );
    ok(
        real,
        US,
        KEY,
        "UntagResource",
        json!({"resourceArn": delivery_arn, "tagKeys": ["team"]}),
    );
    assert_eq!(tags(real), json!({"owner": "ops"}));

    ok(real, US, KEY, "DeleteDelivery", json!({"id": id}));
    assert_eq!(
        refused(real, US, KEY, "GetDelivery", json!({"id": id})).0,
        "ResourceNotFoundException"
    );
    assert!(
        names(
            &ok(raw, US, KEY, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        )
        .is_empty(),
        "shadow removed"
    );
    assert_eq!(
        names(
            &ok(real, US, &b, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        ),
        ["central"]
    );

    let in_b = real.calls_in_account(B);
    assert_eq!(
        in_b.keys().collect::<Vec<_>>(),
        [
            "DescribeDeliveryDestinations",
            "PutDeliveryDestination",
            "PutDeliveryDestinationPolicy"
        ]
    );
    assert_eq!(real.calls_in_account(A).get("CreateDelivery"), Some(&1));
    assert_eq!(
        real.call_count("AssumeRole"),
        2,
        "STS calls count under their action (one before the reset)"
    );
}

#[test]
fn cross_account_delivery_refused_without_a_policy_for_the_caller() {
    let logs = start();
    let Logs { raw, real, .. } = &logs;
    let b = keys_of_b(&logs);
    ok(
        real,
        US,
        KEY,
        "PutDeliverySource",
        source("src", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    let no_policy = destination_in_b(real, &b, "no-policy", "arn:aws:s3:::central-1", None);
    let other = destination_arn(US, B, "for-another");
    destination_in_b(
        real,
        &b,
        "for-another",
        "arn:aws:s3:::central-2",
        Some(policy_allowing("333333333333", &other)),
    );
    for arn in [no_policy, other] {
        let (kind, message) = refused(
            real,
            US,
            KEY,
            "CreateDelivery",
            json!({"deliverySourceName": "src", "deliveryDestinationArn": arn}),
        );
        assert_eq!(kind, "AccessDeniedException", "{arn}");
        assert!(
            message.contains(&format!(
                "{A} is not authorized to perform: logs:CreateDelivery on resource: {arn}"
            )),
            "{message}"
        );
    }
    assert!(ok(raw, US, KEY, "DescribeDeliveries", json!({}))["deliveries"]
        .as_array()
        .unwrap()
        .is_empty());
    assert!(
        names(
            &ok(raw, US, KEY, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        )
        .is_empty(),
        "no shadow made"
    );
}

#[test]
fn cross_account_delivery_refused_for_a_cloudwatch_logs_destination() {
    let logs = start();
    let Logs { raw, real, .. } = &logs;
    let b = keys_of_b(&logs);
    ok(
        real,
        US,
        KEY,
        "PutDeliverySource",
        source("src", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    let arn = destination_arn(US, B, "cwl");
    destination_in_b(
        real,
        &b,
        "cwl",
        &format!("arn:aws:logs:{US}:{B}:log-group:central"),
        Some(policy_allowing(A, &arn)),
    );
    let (kind, message) = refused(
        real,
        US,
        KEY,
        "CreateDelivery",
        json!({"deliverySourceName": "src", "deliveryDestinationArn": arn}),
    );
    assert_eq!(kind, "ValidationException");
    assert!(
        message.contains("type CWL") && message.contains("only S3 and Firehose"),
        "{message}"
    );
    assert!(
        names(
            &ok(raw, US, KEY, "DescribeDeliveryDestinations", json!({})),
            "deliveryDestinations"
        )
        .is_empty(),
        "no shadow made"
    );
    // A Firehose destination is allowed.
    let fh = destination_arn(US, B, "fh");
    destination_in_b(
        real,
        &b,
        "fh",
        &format!("arn:aws:firehose:{US}:{B}:deliverystream/central"),
        Some(policy_allowing(A, &fh)),
    );
    let created = ok(
        real,
        US,
        KEY,
        "CreateDelivery",
        json!({"deliverySourceName": "src", "deliveryDestinationArn": fh}),
    );
    assert_eq!(created["delivery"]["deliveryDestinationType"], "FH");
}

#[test]
fn assume_role_refused_unless_the_role_exists_and_trusts_the_caller() {
    let Logs { raw, real, moto } = &start();
    let missing = format!("arn:aws:iam::{B}:role/missing");
    let assumed = raw.assume_role(EU, KEY, &missing, None).expect("moto assumes any role");
    assert_eq!(assumed.account, B);

    assert_eq!(
        real.assume_role(EU, KEY, &missing, None).unwrap_err(),
        (403, "AccessDenied".to_string())
    );
    let caller = QueryCaller::new(EU, KEY);
    let params = [
        ("Action", "AssumeRole"),
        ("Version", "2011-06-15"),
        ("RoleArn", missing.as_str()),
        ("RoleSessionName", "s"),
    ];
    let (status, xml) = moto::query_call_at(&real.endpoint(), &caller, "sts", &params).unwrap();
    assert_eq!(status, 403);
    assert_eq!(moto::xml_field(&xml, "Type").as_deref(), Some("Sender"));
    let message = moto::xml_field(&xml, "Message").unwrap();
    assert_eq!(
        message,
        format!("User: arn:aws:sts::{A}:user/moto is not authorized to perform: sts:AssumeRole on resource: {missing}")
    );

    let untrusting = moto.create_role(B, "trusts-another", "333333333333", None).unwrap();
    assert_eq!(
        real.assume_role(EU, KEY, &untrusting, None).unwrap_err().1,
        "AccessDenied"
    );
    let trusting = moto.create_role(B, "trusts-a", A, None).unwrap();
    let b = real
        .assume_role(EU, KEY, &trusting, None)
        .expect("a role that trusts A");
    assert_eq!(
        (b.account.as_str(), b.arn.as_str()),
        (B, format!("arn:aws:sts::{B}:assumed-role/trusts-a/cfn-local").as_str())
    );
    assert_eq!(
        real.assume_role(EU, KEY, &trusting, Some("ignored")).map(|r| r.account),
        Ok(B.to_string()),
        "an unasked ExternalId is ignored"
    );

    let with_id = moto.create_role(B, "with-external-id", A, Some("x-17")).unwrap();
    assert_eq!(real.assume_role(EU, KEY, &with_id, None).unwrap_err().1, "AccessDenied");
    assert_eq!(
        real.assume_role(EU, KEY, &with_id, Some("x-other")).unwrap_err().1,
        "AccessDenied"
    );
    assert_eq!(
        real.assume_role(EU, KEY, &with_id, Some("x-17")).map(|r| r.account),
        Ok(B.to_string())
    );
    // A session of B's role is a caller in B, which the role (trusting A only) does not trust.
    assert_eq!(
        real.assume_role(EU, &b.access_key_id, &with_id, Some("x-17"))
            .unwrap_err()
            .1,
        "AccessDenied"
    );

    assert_eq!(real.call_count("AssumeRole"), 9);
    assert_eq!(
        real.calls_in_account(B).get("AssumeRole"),
        Some(&1),
        "the call signed with B's keys counts in B"
    );
}
