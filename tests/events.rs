//! Every sample event under `events/` must be a well-formed CloudFormation custom-resource request,
//! and the handler's own validator must accept the valid ones and refuse the ones under
//! `events/invalid/`, naming the offending property in its message.
//!
//! `cfn_logs_delivery::validate_event` parses the envelope and the properties exactly as the
//! handler does, without calling AWS.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

const RESPONSE_URL_PREFIX: &str = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/";
const STACK_ID_PREFIX: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/logs-delivery-example/";
const RESOURCE_TYPES: [&str; 3] = [
    "Custom::DeliverySource",
    "Custom::DeliveryDestination",
    "Custom::Delivery",
];
const REQUEST_TYPES: [&str; 3] = ["Create", "Update", "Delete"];

/// For each file under `events/invalid/` (path relative to that directory): substrings of which at
/// least one must appear in the validator's error message. The first one is the offending property.
fn expected_refusals() -> BTreeMap<&'static str, &'static [&'static str]> {
    BTreeMap::from([
        ("delivery-source-bad-name.json", &["Name"] as &[&str]),
        (
            "delivery-destination-unknown-property.json",
            &["OutputFromat"] as &[&str],
        ),
        (
            "delivery-missing-required-property.json",
            &["DeliveryDestinationArn"] as &[&str],
        ),
        (
            "unknown-resource-type.json",
            &["Custom::DeliveryPipeline", "ResourceType"] as &[&str],
        ),
        (
            "delivery-destination-bad-output-format.json",
            &["OutputFormat"] as &[&str],
        ),
        (
            "delivery-source-reserved-tag-key.json",
            &["Tags", "cfn-logs-delivery:stack-id"] as &[&str],
        ),
        (
            "delivery-bad-hive-flag.json",
            &["S3EnableHiveCompatiblePath"] as &[&str],
        ),
    ])
}

/// Sample files of valid events are named `<kind>-<request>.json`.
fn kind_slug(resource_type: &str) -> Option<&'static str> {
    match resource_type {
        "Custom::DeliverySource" => Some("delivery-source"),
        "Custom::DeliveryDestination" => Some("delivery-destination"),
        "Custom::Delivery" => Some("delivery"),
        _ => None,
    }
}

fn events_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("events")
}

fn collect_json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            collect_json_files(&path, out);
        } else if path.extension().is_some_and(|ext| ext == "json") {
            out.push(path);
        }
    }
}

fn all_event_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    collect_json_files(&events_dir(), &mut files);
    files.sort();
    assert!(
        !files.is_empty(),
        "no event files found under {}",
        events_dir().display()
    );
    files
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// `events/invalid/x.json` -> `Some("x.json")`; anything else -> `None`.
fn invalid_name(path: &Path) -> Option<String> {
    let relative = path.strip_prefix(events_dir().join("invalid")).ok()?;
    Some(relative.to_string_lossy().replace('\\', "/"))
}

struct Envelope {
    request_type: &'static str,
    resource_type: String,
    logical_resource_id: String,
    request_id: String,
    stack_id: String,
    response_url: String,
    service_token: Option<String>,
    resource_properties: Value,
    physical_resource_id: Option<String>,
}

/// Deserializes with the aws_lambda_events type the handler uses.
fn parse_envelope(path: &Path, value: &Value) -> Envelope {
    let request: CloudFormationCustomResourceRequest = serde_json::from_value(value.clone()).unwrap_or_else(|e| {
        panic!(
            "{} is not a CloudFormation custom-resource request: {e}",
            path.display()
        )
    });
    match request {
        CloudFormationCustomResourceRequest::Create(r) => Envelope {
            request_type: "Create",
            resource_type: r.resource_type,
            logical_resource_id: r.logical_resource_id,
            request_id: r.request_id,
            stack_id: r.stack_id,
            response_url: r.response_url,
            service_token: r.service_token,
            resource_properties: r.resource_properties,
            physical_resource_id: None,
        },
        CloudFormationCustomResourceRequest::Update(r) => {
            assert!(
                r.old_resource_properties.is_object(),
                "{}: OldResourceProperties must be an object",
                path.display()
            );
            Envelope {
                request_type: "Update",
                resource_type: r.resource_type,
                logical_resource_id: r.logical_resource_id,
                request_id: r.request_id,
                stack_id: r.stack_id,
                response_url: r.response_url,
                service_token: r.service_token,
                resource_properties: r.resource_properties,
                physical_resource_id: Some(r.physical_resource_id),
            }
        }
        CloudFormationCustomResourceRequest::Delete(r) => Envelope {
            request_type: "Delete",
            resource_type: r.resource_type,
            logical_resource_id: r.logical_resource_id,
            request_id: r.request_id,
            stack_id: r.stack_id,
            response_url: r.response_url,
            service_token: r.service_token,
            resource_properties: r.resource_properties,
            physical_resource_id: Some(r.physical_resource_id),
        },
        _ => panic!("{}: unexpected RequestType", path.display()),
    }
}

fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()))
}

/// The shape CloudFormation really sends, so that the samples stay realistic.
fn check_envelope(path: &Path, env: &Envelope) {
    let name = path.display();
    assert!(
        is_uuid(&env.request_id),
        "{name}: RequestId {:?} is not a UUID",
        env.request_id
    );
    assert!(
        env.stack_id.starts_with(STACK_ID_PREFIX),
        "{name}: unexpected StackId {}",
        env.stack_id
    );
    assert!(!env.logical_resource_id.is_empty(), "{name}: empty LogicalResourceId");
    assert!(
        env.response_url.starts_with(RESPONSE_URL_PREFIX),
        "{name}: ResponseURL must be a presigned URL of the CloudFormation response bucket"
    );
    assert!(
        env.response_url.contains("X-Amz-Signature=EXAMPLE"),
        "{name}: ResponseURL must carry a placeholder signature (X-Amz-Signature=EXAMPLE...)"
    );
    let token = env
        .service_token
        .as_deref()
        .unwrap_or_else(|| panic!("{name}: no ServiceToken"));
    let props = env
        .resource_properties
        .as_object()
        .unwrap_or_else(|| panic!("{name}: ResourceProperties must be an object"));
    assert_eq!(
        props.get("ServiceToken").and_then(Value::as_str),
        Some(token),
        "{name}: ResourceProperties.ServiceToken must repeat the ServiceToken"
    );
    if let Some(id) = &env.physical_resource_id {
        assert!(!id.is_empty(), "{name}: empty PhysicalResourceId");
    }
}

#[test]
fn every_invalid_event_has_an_expectation_and_vice_versa() {
    let on_disk: BTreeSet<String> = all_event_files().iter().filter_map(|p| invalid_name(p)).collect();
    let expected: BTreeSet<String> = expected_refusals().keys().map(|k| k.to_string()).collect();
    assert!(!on_disk.is_empty(), "events/invalid/ holds no samples");
    assert_eq!(
        on_disk, expected,
        "files in events/invalid/ and expected_refusals() differ"
    );
}

#[test]
fn valid_samples_cover_every_kind_and_request_type() {
    let mut seen = BTreeSet::new();
    for path in all_event_files().iter().filter(|p| invalid_name(p).is_none()) {
        let env = parse_envelope(path, &read_json(path));
        seen.insert((env.resource_type.clone(), env.request_type));
    }
    for resource_type in RESOURCE_TYPES {
        for request_type in REQUEST_TYPES {
            assert!(
                seen.contains(&(resource_type.to_string(), request_type)),
                "no valid sample event for {request_type} of {resource_type}"
            );
        }
    }
}

#[test]
fn every_sample_event_is_accepted_or_refused_as_expected() {
    let expectations = expected_refusals();
    let mut failures = Vec::new();

    for path in all_event_files() {
        let value = read_json(&path);
        let env = parse_envelope(&path, &value);
        check_envelope(&path, &env);
        let shown = path
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(&path)
            .display()
            .to_string();

        match invalid_name(&path) {
            None => {
                // Valid samples are named after what they hold: <kind>-<request>.json.
                let slug = kind_slug(&env.resource_type)
                    .unwrap_or_else(|| panic!("{shown}: unexpected ResourceType {}", env.resource_type));
                let file_name = path.file_name().unwrap().to_string_lossy().to_string();
                let wanted = format!("{slug}-{}.json", env.request_type.to_lowercase());
                assert_eq!(file_name, wanted, "{shown}: file name does not match its content");

                if let Err(err) = cfn_logs_delivery::validate_event(&value) {
                    failures.push(format!("{shown}: refused, but it is valid: {err}"));
                }
            }
            Some(name) => {
                let needles = expectations
                    .get(name.as_str())
                    .unwrap_or_else(|| panic!("{shown}: no entry in expected_refusals()"));
                match cfn_logs_delivery::validate_event(&value) {
                    Ok(()) => failures.push(format!("{shown}: accepted, but it must be refused")),
                    Err(err) => {
                        let message = err.to_string();
                        // Shown with `cargo test --test events -- --nocapture`.
                        println!("{shown}: refused: {message}");
                        if !needles.iter().any(|n| message.contains(n)) {
                            failures.push(format!(
                                "{shown}: refused, but the message does not name {:?}: {message}",
                                needles
                            ));
                        }
                    }
                }
            }
        }
    }

    assert!(
        failures.is_empty(),
        "{} sample event(s) misjudged:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
