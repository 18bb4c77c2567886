//! The Logs proxy's real-service layer (tools/cfn-local/src/real_service.rs): for each rule, the
//! same calls against raw moto (a `Semantics::RawMoto` proxy) and through the layer, on one moto.
//! Each test shows moto's kind answer first, so a rule that stops applying fails here.

mod layer;

use std::path::PathBuf;
use std::process::Command;

use cfn_local::events::destination_arn;
use cfn_local::real_service::{CLOUDFRONT_S3_PREFIX, SEMANTICS_ENV, SOURCE_TAKEN_MESSAGE};
use cfn_local::{LogsProxy, Stack};
use layer::{cloudfront, destination, source, start, Logs};
use serde_json::{json, Value};

fn delivery(source: &str, destination: &str) -> Value {
    json!({"deliverySourceName": source, "deliveryDestinationArn": destination_arn(destination)})
}

fn delivery_with_suffix(source: &str, destination: &str, suffix: &str) -> Value {
    json!({"deliverySourceName": source, "deliveryDestinationArn": destination_arn(destination),
        "s3DeliveryConfiguration": {"suffixPath": suffix}})
}

/// The answer of a call that must succeed.
fn ok(proxy: &LogsProxy, target: &str, body: Value) -> Value {
    let (status, answer) = proxy.logs_call(target, body.clone());
    assert_eq!(status, 200, "{target} {body}: {answer}");
    answer
}

/// The message of a call that must fail with ConflictException.
fn conflict(proxy: &LogsProxy, target: &str, body: Value) -> String {
    let (status, answer) = proxy.logs_call(target, body.clone());
    assert_eq!(
        (status, answer["__type"].as_str()),
        (400, Some("ConflictException")),
        "{target} {body}: {answer}"
    );
    answer["message"].as_str().unwrap_or_default().to_string()
}

fn mentions_tags(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.contains_key("tags") || m.values().any(mentions_tags),
        Value::Array(items) => items.iter().any(mentions_tags),
        _ => false,
    }
}

/// A source, an S3 destination and a delivery between them; returns the delivery id.
fn source_destination_delivery(proxy: &LogsProxy, name: &str) -> String {
    ok(
        proxy,
        "PutDeliverySource",
        source(name, &cloudfront("EINUSE"), "ACCESS_LOGS"),
    );
    ok(
        proxy,
        "PutDeliveryDestination",
        destination(name, "arn:aws:s3:::bucket-x"),
    );
    let answer = ok(proxy, "CreateDelivery", delivery(name, name));
    answer["delivery"]["id"].as_str().expect("delivery id").to_string()
}

#[test]
fn rule_1_answers_carry_no_tags_except_list_tags_for_resource() {
    let Logs { raw, real, .. } = &start();
    let tags = json!({"team": "platform"});
    let with_tags = |mut body: Value| {
        body["tags"] = tags.clone();
        body
    };
    let mut ids = Vec::new();
    for (proxy, prefix, distribution, tagged) in [(raw, "raw", "E1", true), (real, "real", "E2", false)] {
        let (src, dst) = (format!("{prefix}-src"), format!("{prefix}-dst"));
        let put_source = ok(
            proxy,
            "PutDeliverySource",
            with_tags(source(&src, &cloudfront(distribution), "ACCESS_LOGS")),
        );
        let put_destination = ok(
            proxy,
            "PutDeliveryDestination",
            with_tags(destination(&dst, "arn:aws:s3:::bucket-x")),
        );
        let create = ok(proxy, "CreateDelivery", with_tags(delivery(&src, &dst)));
        for answer in [&put_source, &put_destination, &create] {
            assert_eq!(mentions_tags(answer), tagged, "{prefix}: {answer}");
        }
        ids.push((
            src,
            dst,
            create["delivery"]["id"].as_str().unwrap().to_string(),
            create["delivery"]["arn"].clone(),
        ));
    }
    let (src, dst, id, delivery_arn) = ids.pop().unwrap();
    let reads = [
        ("GetDeliverySource", json!({"name": src})),
        ("GetDeliveryDestination", json!({"name": dst})),
        ("GetDelivery", json!({"id": id})),
        ("DescribeDeliverySources", json!({})),
        ("DescribeDeliveryDestinations", json!({})),
        ("DescribeDeliveries", json!({})),
    ];
    for (target, body) in reads {
        assert!(
            mentions_tags(&ok(raw, target, body.clone())),
            "moto fills in tags on {target}"
        );
        let answer = ok(real, target, body);
        assert!(!mentions_tags(&answer), "{target} through the layer: {answer}");
    }
    for arn in [
        json!(format!("arn:aws:logs:us-east-1:123456789012:delivery-source:{src}")),
        json!(destination_arn(&dst)),
        delivery_arn,
    ] {
        assert_eq!(
            ok(real, "ListTagsForResource", json!({"resourceArn": arn}))["tags"],
            tags,
            "{arn}"
        );
    }
}

#[test]
fn rule_2_describe_deliveries_lists_only_ids_and_names() {
    let Logs { raw, real, .. } = &start();
    ok(
        real,
        "PutDeliverySource",
        source("src", &cloudfront("E1"), "ACCESS_LOGS"),
    );
    ok(
        real,
        "PutDeliveryDestination",
        destination("dst", "arn:aws:s3:::bucket-x"),
    );
    let mut create = delivery_with_suffix("src", "dst", "{DistributionId}/{yyyy}");
    create["recordFields"] = json!(["date", "time"]);
    let id = ok(real, "CreateDelivery", create)["delivery"]["id"].clone();

    let moto_view = ok(raw, "DescribeDeliveries", json!({}))["deliveries"][0].clone();
    for field in ["deliveryDestinationType", "recordFields", "s3DeliveryConfiguration"] {
        assert!(moto_view.get(field).is_some(), "moto lists {field}: {moto_view}");
    }
    let listed = ok(real, "DescribeDeliveries", json!({}))["deliveries"].clone();
    let expected: Value = ["id", "arn", "deliverySourceName", "deliveryDestinationArn"]
        .iter()
        .map(|k| (k.to_string(), moto_view[k].clone()))
        .collect();
    assert_eq!(listed, json!([expected]));

    let whole = ok(real, "GetDelivery", json!({"id": id}))["delivery"].clone();
    assert_eq!(
        whole["deliveryDestinationType"], "S3",
        "GetDelivery still reads a delivery whole: {whole}"
    );
    assert_eq!(whole["recordFields"], json!(["date", "time"]));
}

#[test]
fn rule_3_one_source_per_resource_arn_and_log_type() {
    let Logs { raw, real, moto } = &start();
    let arn = cloudfront("EXYZ");
    ok(raw, "PutDeliverySource", source("first", &arn, "ACCESS_LOGS"));
    ok(raw, "PutDeliverySource", source("second", &arn, "ACCESS_LOGS"));
    moto.reset().unwrap();

    ok(real, "PutDeliverySource", source("first", &arn, "ACCESS_LOGS"));
    assert_eq!(
        conflict(real, "PutDeliverySource", source("second", &arn, "ACCESS_LOGS")),
        SOURCE_TAKEN_MESSAGE
    );
    assert_eq!(
        moto.logs_call("GetDeliverySource", json!({"name": "second"})).0,
        400,
        "the refused source was not created"
    );
    ok(real, "PutDeliverySource", source("first", &arn, "ACCESS_LOGS"));
    ok(
        real,
        "PutDeliverySource",
        source("second", &cloudfront("EOTHER"), "ACCESS_LOGS"),
    );
    // One resource with two log types (moto knows two for MediaPackage): one source each.
    let channel = "arn:aws:mediapackage:us-east-1:123456789012:channels/chan";
    ok(
        real,
        "PutDeliverySource",
        source("egress", channel, "EGRESS_ACCESS_LOGS"),
    );
    ok(
        real,
        "PutDeliverySource",
        source("ingress", channel, "INGRESS_ACCESS_LOGS"),
    );
    assert_eq!(
        conflict(
            real,
            "PutDeliverySource",
            source("ingress-2", channel, "INGRESS_ACCESS_LOGS")
        ),
        SOURCE_TAKEN_MESSAGE
    );

    let counted: Vec<String> = real.calls().into_keys().collect();
    assert_eq!(
        counted,
        ["PutDeliverySource"],
        "the layer's DescribeDeliverySources lookups are not counted"
    );
}

#[test]
fn rule_4_sources_and_destinations_in_use_cannot_be_deleted() {
    let Logs { raw, real, moto } = &start();
    source_destination_delivery(raw, "used");
    ok(raw, "DeleteDeliverySource", json!({"name": "used"}));
    ok(raw, "DeleteDeliveryDestination", json!({"name": "used"}));
    moto.reset().unwrap();

    let id = source_destination_delivery(real, "used");
    for target in ["DeleteDeliverySource", "DeleteDeliveryDestination"] {
        let message = conflict(real, target, json!({"name": "used"}));
        assert!(
            !message.contains("currently being updated"),
            "must not read as the transient conflict: {message}"
        );
    }
    assert_eq!(moto.logs_call("GetDeliverySource", json!({"name": "used"})).0, 200);
    assert_eq!(moto.logs_call("GetDeliveryDestination", json!({"name": "used"})).0, 200);
    ok(real, "DeleteDelivery", json!({"id": id}));
    ok(real, "DeleteDeliverySource", json!({"name": "used"}));
    ok(real, "DeleteDeliveryDestination", json!({"name": "used"}));
}

#[test]
fn rule_5_cloudfront_to_s3_suffix_path_gets_the_aws_logs_prefix() {
    let Logs { raw, real, moto } = &start();
    let suffix = "{DistributionId}/{yyyy}";
    let suffix_of = |proxy: &LogsProxy, id: &Value| {
        ok(proxy, "GetDelivery", json!({"id": id}))["delivery"]["s3DeliveryConfiguration"]["suffixPath"].clone()
    };
    let set_up = |proxy: &LogsProxy| {
        ok(
            proxy,
            "PutDeliverySource",
            source("cf", &cloudfront("E1"), "ACCESS_LOGS"),
        );
        ok(
            proxy,
            "PutDeliverySource",
            source("cf-2", &cloudfront("E2"), "ACCESS_LOGS"),
        );
        ok(
            proxy,
            "PutDeliverySource",
            source(
                "bedrock",
                "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB1",
                "APPLICATION_LOGS",
            ),
        );
        ok(
            proxy,
            "PutDeliveryDestination",
            destination("s3", "arn:aws:s3:::bucket-x"),
        );
        ok(
            proxy,
            "PutDeliveryDestination",
            destination("cwl", "arn:aws:logs:us-east-1:123456789012:log-group:g"),
        );
    };

    set_up(raw);
    let id = ok(raw, "CreateDelivery", delivery_with_suffix("cf", "s3", suffix))["delivery"]["id"].clone();
    assert_eq!(suffix_of(raw, &id), suffix);
    moto.reset().unwrap();

    set_up(real);
    let prefixed = format!("{CLOUDFRONT_S3_PREFIX}{suffix}");
    assert_eq!(prefixed, "AWSLogs/{account-id}/CloudFront/{DistributionId}/{yyyy}");
    let created = ok(real, "CreateDelivery", delivery_with_suffix("cf", "s3", suffix))["delivery"].clone();
    assert_eq!(created["s3DeliveryConfiguration"]["suffixPath"], prefixed);
    assert_eq!(suffix_of(real, &created["id"]), prefixed);
    assert_eq!(
        suffix_of(raw, &created["id"]),
        prefixed,
        "stored prefixed, not only reported"
    );

    let to_logs_group = ok(real, "CreateDelivery", delivery_with_suffix("cf", "cwl", suffix))["delivery"]["id"].clone();
    assert_eq!(
        suffix_of(real, &to_logs_group),
        suffix,
        "a CloudWatch Logs destination is left alone"
    );
    let not_cloudfront =
        ok(real, "CreateDelivery", delivery_with_suffix("bedrock", "s3", suffix))["delivery"]["id"].clone();
    assert_eq!(
        suffix_of(real, &not_cloudfront),
        suffix,
        "a source other than CloudFront is left alone"
    );
    let no_suffix = ok(real, "CreateDelivery", delivery("cf-2", "s3"))["delivery"]["id"].clone();
    // moto's own default for an S3 delivery without a suffix path is already the bare prefix.
    assert_eq!(
        suffix_of(real, &no_suffix),
        CLOUDFRONT_S3_PREFIX,
        "no suffixPath given: left to moto, not prefixed twice"
    );
}

/// The function binary, as tests/common does it.
fn binary() -> PathBuf {
    match std::env::var_os("CFN_LOGS_DELIVERY_BIN").filter(|p| !p.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_BIN_EXE_cfn-logs-delivery")),
    }
}

/// Run by [`stack_semantics_follow_cfn_local_logs`] in a child process with the variable set, so
/// no test changes this process's environment.
#[test]
#[ignore = "a helper: run by stack_semantics_follow_cfn_local_logs in a child process"]
fn print_stack_semantics() {
    match Stack::start(&binary()) {
        Ok(stack) => {
            let put =
                json!({"name": "s", "resourceArn": cloudfront("E1"), "logType": "ACCESS_LOGS", "tags": {"a": "b"}});
            let (_, answer) = stack.proxy.logs_call("PutDeliverySource", put);
            println!(
                "stack semantics: {:?}, tags in Put answer: {}",
                stack.proxy.semantics(),
                mentions_tags(&answer)
            );
        }
        Err(e) => println!("stack error: {:?}", e.kind()),
    }
}

#[test]
fn stack_semantics_follow_cfn_local_logs() {
    let cases = [
        (None, "stack semantics: RealService, tags in Put answer: false"),
        (Some("real"), "stack semantics: RealService, tags in Put answer: false"),
        (Some("moto"), "stack semantics: RawMoto, tags in Put answer: true"),
        (Some("mooto"), "stack error: InvalidInput"),
    ];
    for (value, expected) in cases {
        let mut child = Command::new(std::env::current_exe().unwrap());
        child.args([
            "--exact",
            "print_stack_semantics",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        match value {
            Some(v) => child.env(SEMANTICS_ENV, v),
            None => child.env_remove(SEMANTICS_ENV),
        };
        let out = child.output().expect("run the test binary again");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            stdout.contains(expected),
            "{SEMANTICS_ENV}={value:?}: expected {expected:?} in\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
