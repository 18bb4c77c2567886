//! template.yaml wires the failsafe, and every custom resource gives up in time.
//!
//! The template is read with the lint's reader, the short intrinsic forms turned into CloudFormation's
//! long ones (`!Ref X` → `{"Ref": "X"}`, `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` →
//! `{"Fn::Sub": s}`) and every scalar a string, and checked against the timings `cfn_local::async_invoke` plays locally.

mod docs;

use std::path::Path;

use cfn_local::async_invoke::{FAILSAFE_TIMEOUT, LAMBDA_RETRY_DELAYS, MAXIMUM_EVENT_AGE, MAXIMUM_RETRY_ATTEMPTS};
use serde_json::{json, Value};

const PROVIDER: &str = "DeliveryProviderFunction";
const FAILSAFE: &str = "DeliveryFailsafeFunction";
/// CloudFormation's bounds for ServiceTimeout, and how long a ResponseURL stays valid.
const MAX_SERVICE_TIMEOUT: u64 = 3600;
const RESPONSE_URL_VALIDITY: u64 = 2 * 3600;

fn read_yaml(text: &str) -> Value {
    docs::read_template(text).expect("valid YAML")
}

fn template() -> Value {
    read_yaml(&std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("template.yaml")).unwrap())
}

fn resource<'a>(t: &'a Value, logical_id: &str) -> &'a Value {
    t["Resources"]
        .get(logical_id)
        .unwrap_or_else(|| panic!("template.yaml has no {logical_id}"))
}

fn seconds(v: &Value, what: &str) -> u64 {
    v.as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{what} is not a number of seconds: {v}"))
}

/// Every (action, resource) a role's inline policies allow, under any condition (both branches of
/// a `Fn::If`). An action given by an intrinsic function is its JSON text.
fn allowed(role: &Value) -> Vec<(String, Value)> {
    assert!(
        role["Properties"].get("ManagedPolicyArns").is_none(),
        "managed policies: {role}"
    );
    let mut grants = Vec::new();
    for policy in role["Properties"]["Policies"].as_array().into_iter().flatten() {
        for statement in policy["PolicyDocument"]["Statement"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(branches)
        {
            assert_eq!(statement["Effect"], "Allow", "{statement}");
            let actions = match &statement["Action"] {
                Value::Array(a) => a.clone(),
                one => vec![one.clone()],
            };
            for action in actions {
                grants.push((
                    action.as_str().map(str::to_owned).unwrap_or_else(|| action.to_string()),
                    statement["Resource"].clone(),
                ));
            }
        }
    }
    grants
}

/// A statement, or each branch of its `Fn::If` (`AWS::NoValue` left out).
fn branches(statement: &Value) -> Vec<Value> {
    match statement.get("Fn::If").and_then(Value::as_array) {
        Some(args) => args.iter().skip(1).flat_map(branches).collect(),
        None if statement == &json!({"Ref": "AWS::NoValue"}) => Vec::new(),
        None => vec![statement.clone()],
    }
}

fn get_att(resource: &str, attribute: &str) -> Value {
    json!({"Fn::GetAtt": [resource, attribute]})
}

#[test]
fn the_provider_hands_what_it_cannot_answer_to_the_failsafe_in_time() {
    let t = template();
    let provider = &resource(&t, PROVIDER)["Properties"];
    let config = &provider["EventInvokeConfig"];
    assert_eq!(
        seconds(&config["MaximumRetryAttempts"], "MaximumRetryAttempts"),
        u64::from(MAXIMUM_RETRY_ATTEMPTS),
        "as cfn-local plays it"
    );
    assert_eq!(
        seconds(&config["MaximumEventAgeInSeconds"], "MaximumEventAgeInSeconds"),
        MAXIMUM_EVENT_AGE.as_secs(),
        "as cfn-local plays it"
    );
    assert_eq!(
        config["DestinationConfig"]["OnFailure"],
        json!({"Type": "Lambda", "Destination": get_att(FAILSAFE, "Arn")})
    );

    // Worst case before the failsafe runs: every attempt uses the whole Timeout, with Lambda's waits between.
    let timeout = seconds(&provider["Timeout"], "Timeout");
    let retries = u64::from(MAXIMUM_RETRY_ATTEMPTS);
    let waits: u64 = LAMBDA_RETRY_DELAYS
        .iter()
        .take(retries as usize)
        .map(|d| d.as_secs())
        .sum();
    let failing_attempts = timeout * (retries + 1) + waits;
    let to_failsafe = failing_attempts.max(MAXIMUM_EVENT_AGE.as_secs());
    assert!(
        failing_attempts <= MAXIMUM_EVENT_AGE.as_secs(),
        "the retries end before the event is too old: {failing_attempts} s"
    );
    let answered_by = to_failsafe + FAILSAFE_TIMEOUT.as_secs();
    assert!(
        answered_by * 4 <= MAX_SERVICE_TIMEOUT,
        "well inside a one-hour ServiceTimeout: {answered_by} s"
    );
    assert!(
        answered_by * 4 <= RESPONSE_URL_VALIDITY,
        "well inside the ResponseURL's validity: {answered_by} s"
    );

    // Lambda uses the provider's role to invoke the destination.
    let grants = allowed(resource(&t, "DeliveryProviderRole"));
    assert!(
        grants.contains(&("lambda:InvokeFunction".to_owned(), get_att(FAILSAFE, "Arn"))),
        "{grants:?}"
    );
}

#[test]
fn the_failsafe_is_the_same_code_without_logs_rights_vpc_or_memory() {
    let t = template();
    let provider = resource(&t, PROVIDER);
    let failsafe = resource(&t, FAILSAFE);
    assert_eq!(failsafe["Type"], "AWS::Serverless::Function");
    assert_eq!(
        failsafe["Metadata"], provider["Metadata"],
        "built the same way: the same binary"
    );
    for same in ["CodeUri", "Handler", "Runtime", "Architectures"] {
        assert_eq!(failsafe["Properties"][same], provider["Properties"][same], "{same}");
    }
    let p = &failsafe["Properties"];
    assert_eq!(p["MemorySize"], "128", "Lambda's smallest memory");
    assert_eq!(
        seconds(&p["Timeout"], "Timeout"),
        FAILSAFE_TIMEOUT.as_secs(),
        "as cfn-local plays it"
    );
    assert!(p.get("VpcConfig").is_none(), "never in a VPC: the answer must reach S3");
    assert!(
        t.get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("VpcConfig"))
            .is_none(),
        "no VPC from Globals either"
    );
    assert!(p.get("EventInvokeConfig").is_none() && p.get("Policies").is_none());
    assert_eq!(p["Role"], get_att("DeliveryFailsafeRole", "Arn"));

    // Its role: its own log lines, nothing of CloudWatch Logs delivery, no wildcard.
    let grants = allowed(resource(&t, "DeliveryFailsafeRole"));
    assert!(!grants.is_empty());
    for (action, target) in &grants {
        assert!(
            ["logs:CreateLogStream", "logs:PutLogEvents"].contains(&action.as_str()),
            "the failsafe may not {action}"
        );
        assert_eq!(
            target,
            &get_att("DeliveryFailsafeLogGroup", "Arn"),
            "{action} only on its own log group"
        );
    }
}

#[test]
fn every_example_custom_resource_sets_a_service_timeout_the_failsafe_beats() {
    let t = template();
    let provider = &resource(&t, PROVIDER)["Properties"];
    let timeout = seconds(&provider["Timeout"], "Timeout");
    let answered_by = MAXIMUM_EVENT_AGE.as_secs() + FAILSAFE_TIMEOUT.as_secs();
    let custom: Vec<(&String, &Value)> = t["Resources"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, r)| {
            r["Type"]
                .as_str()
                .is_some_and(|t| t.starts_with("Custom::") || t == "AWS::CloudFormation::CustomResource")
        })
        .collect();
    assert_eq!(custom.len(), 3, "the example's source, destination and delivery");
    for (logical_id, r) in custom {
        assert_eq!(
            r["Properties"]["ServiceToken"],
            get_att(PROVIDER, "Arn"),
            "{logical_id}"
        );
        let service_timeout = seconds(
            &r["Properties"]["ServiceTimeout"],
            &format!("{logical_id}.ServiceTimeout"),
        );
        assert!(service_timeout <= MAX_SERVICE_TIMEOUT, "{logical_id}");
        assert!(
            service_timeout >= answered_by,
            "{logical_id}: the failsafe ({answered_by} s) answers before CloudFormation gives up"
        );
        assert!(
            service_timeout >= timeout * (u64::from(MAXIMUM_RETRY_ATTEMPTS) + 1),
            "{logical_id}: a slow provider is not cut off"
        );
    }
}

#[test]
fn the_readme_snippet_shows_service_timeout() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let snippet = readme
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml snippet in README.md");
    let template = read_yaml(snippet);
    let resources = template
        .get("Resources")
        .unwrap_or(&template)
        .as_object()
        .expect("resources");
    let custom: Vec<_> = resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str().is_some_and(|t| t.starts_with("Custom::")))
        .collect();
    assert_eq!(
        custom.len(),
        3,
        "README's stack: a source, a destination and a delivery"
    );
    for (logical_id, r) in custom {
        assert!(
            r["Properties"]["ServiceTimeout"]
                .as_str()
                .is_some_and(|t| t.parse::<u64>().is_ok()),
            "README snippet: {logical_id} has no ServiceTimeout"
        );
    }
}
