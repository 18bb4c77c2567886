//! `cfn-logs-delivery-lint --previous`: the plan of tests/plan/before.yaml → after.yaml, a pair
//! with every outcome (see after.yaml's head), printed as tests/plan/expected.txt pins it; and the
//! same update played through the local stack (the release binary, the real-service layer, moto),
//! where every resource's answer agrees with its line of the plan.
//!
//! After a deliberate change of the plan's words, regenerate expected.txt in this crate's directory:
//! `cargo run -p cfn-logs-delivery-lint -- --region us-east-1 --previous tests/plan/before.yaml tests/plan/after.yaml > tests/plan/expected.txt`.

use std::collections::HashMap;
use std::process::{Command, Output};

use serde_json::Value;

const LINT: &str = env!("CARGO_BIN_EXE_cfn-logs-delivery-lint");
const ARGS: [&str; 5] = [
    "--region",
    "us-east-1",
    "--previous",
    "tests/plan/before.yaml",
    "tests/plan/after.yaml",
];

fn lint(extra: &[&str]) -> Output {
    Command::new(LINT)
        .args(ARGS)
        .args(extra)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs cfn-logs-delivery-lint")
}

#[test]
fn the_plan_shows_every_outcome_in_cloudformations_order() {
    let out = lint(&[]);
    assert_eq!(out.status.code(), Some(1), "a refusal makes the exit status 1");
    let text = String::from_utf8(out.stdout).unwrap();
    let expected = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/plan/expected.txt")).unwrap();
    assert_eq!(
        text, expected,
        "regenerate tests/plan/expected.txt if the change is meant (see the top of this file)"
    );
    for outcome in [
        ": added: ",
        ": removed: ",
        ": unchanged\n",
        ": in place: ",
        ": replaced: ",
        ": will be refused: ",
        ": decided at deploy time: ",
    ] {
        assert!(text.contains(outcome), "{outcome} in\n{text}");
    }
    // The destination's new Name changes the Arn its delivery names: the delivery is replaced too,
    // after it, and with the old delivery deleted first (both destinations are S3).
    let line = |id: &str| text.lines().position(|l| l.contains(&format!(" {id} ("))).unwrap();
    assert!(line("EdgeDestination") < line("EdgeDelivery"));
    assert!(text.contains("(it follows the replacement of EdgeDestination); the old delivery is deleted first"));
    // Removals last, the delivery before its source; their lines are in the old template.
    assert!(line("ReportDelivery") < line("ReportSource") && line("MetricsDestination") < line("ReportDelivery"));
    assert!(text.contains("tests/plan/before.yaml:88: ReportDelivery (Custom::Delivery): removed"));
}

#[test]
fn json_plan_for_ci() {
    let out = lint(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["summary"],
        serde_json::json!({"in place": 2, "replaced": 2, "will be refused": 2, "unchanged": 1,
            "decided at deploy time": 1, "added": 1, "removed": 2})
    );
    let first = &doc["plan"][0];
    assert_eq!(first["file"], "tests/plan/after.yaml");
    assert_eq!(first["logical_id"], "EdgeSource");
    assert_eq!(first["outcome"], "in place");
    assert_eq!(
        first["properties"]["ResourceArn"], "arn:aws:cloudfront::123456789012:distribution/EDISTRIBUTION",
        "Fn::Sub worked out, the distribution's Ref a stand-in"
    );
}

#[test]
fn a_plan_without_refusals_exits_zero() {
    let out = Command::new(LINT)
        .args([
            "--region",
            "us-east-1",
            "--previous",
            "tests/plan/before.yaml",
            "tests/plan/before.yaml",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.ends_with("plan of 10 custom resources: 10 unchanged\n"), "{text}");
}

/// The plan, then the same update through the local stack: create what before.yaml holds, then
/// send each resource the event CloudFormation would, in the plan's order, and compare.
#[test]
fn the_binary_answers_as_the_plan_said() {
    let Some(binary) = cfn_local::find_binary() else {
        panic!(
            "the release binary is missing ({}): cargo build --release -p cfn-logs-delivery, or ./scripts/test",
            cfn_local::release_binary().display()
        );
    };
    let out = lint(&["--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps = doc["plan"].as_array().unwrap();
    let stack = cfn_local::Stack::start(&binary).expect("the local stack starts (moto in .venv?)");
    let url = stack.placeholder_url();
    let send = |event: Value| {
        let (invocation, answer) = stack.send(event.clone());
        answer.unwrap_or_else(|| panic!("no answer to {event}: {invocation:?}\n{}", stack.lambda.log_text()))
    };

    // What before.yaml deployed: dependencies first (the plan's order; removals are listed last,
    // dependants first, so they are made in reverse).
    let existed: Vec<&Value> = steps.iter().filter(|s| !s["previous_properties"].is_null()).collect();
    let (kept, removed): (Vec<&Value>, Vec<&Value>) = existed.into_iter().partition(|s| s["outcome"] != "removed");
    let mut ids: HashMap<String, String> = HashMap::new();
    for step in kept.iter().chain(removed.iter().rev()) {
        let (id, kind) = (step["logical_id"].as_str().unwrap(), step["type"].as_str().unwrap());
        let answer = send(cfn_local::events::create(
            kind,
            id,
            step["previous_properties"].clone(),
            &url,
        ));
        assert_eq!(
            answer.status().as_deref(),
            Some("SUCCESS"),
            "create {id}: {:?}",
            answer.reason()
        );
        ids.insert(id.to_owned(), answer.physical_id().unwrap());
    }

    let mut replaced = Vec::new();
    for step in steps.iter().filter(|s| s["outcome"] != "removed") {
        let (id, kind) = (step["logical_id"].as_str().unwrap(), step["type"].as_str().unwrap());
        let (outcome, detail) = (step["outcome"].as_str().unwrap(), step["detail"].as_str().unwrap());
        stack.proxy.reset_counts();
        let answer = match ids.get(id) {
            None => send(cfn_local::events::create(kind, id, step["properties"].clone(), &url)),
            Some(physical_id) => send(cfn_local::events::update(
                kind,
                id,
                physical_id,
                step["properties"].clone(),
                step["previous_properties"].clone(),
                &url,
            )),
        };
        let said = format!(
            "{id}: the plan said '{outcome}: {detail}', the binary {:?} {:?}",
            answer.status(),
            answer.reason()
        );
        // Under the conditions the plan's properties were worked out with (all true): the first branch.
        let outcome = match outcome {
            "decided at deploy time" => detail.split(" | ").next().unwrap().split(": ").nth(1).unwrap(),
            other => other,
        };
        match outcome {
            "will be refused" => {
                assert_eq!(answer.status().as_deref(), Some("FAILED"), "{said}");
                assert_eq!(answer.reason().as_deref(), Some(detail), "{said}");
                assert_eq!(
                    mutating_calls(&stack),
                    Vec::<String>::new(),
                    "{said}: refused before any change"
                );
            }
            "replaced" => {
                assert_eq!(answer.status().as_deref(), Some("SUCCESS"), "{said}");
                let new_id = answer.physical_id().unwrap();
                assert_ne!(Some(&new_id), ids.get(id), "{said}: a new physical id");
                replaced.push((kind, id, ids[id].clone(), step["previous_properties"].clone()));
            }
            "unchanged" | "in place" | "added" => {
                assert_eq!(answer.status().as_deref(), Some("SUCCESS"), "{said}");
                if let Some(old_id) = ids.get(id) {
                    assert_eq!(
                        answer.physical_id().as_ref(),
                        Some(old_id),
                        "{said}: the same physical id"
                    );
                }
                let calls = mutating_calls(&stack);
                if outcome == "unchanged" {
                    assert_eq!(calls, Vec::<String>::new(), "{said}");
                }
                for call in planned_calls(detail) {
                    assert!(calls.iter().any(|c| c == call), "{said}: {call} not among {calls:?}");
                }
            }
            other => panic!("{id}: unknown outcome {other}"),
        }
    }

    // CloudFormation's cleanup: the replaced resources' old ids and the removed resources, dependants first.
    for (kind, id, old_id, props) in replaced.into_iter().rev() {
        let answer = send(cfn_local::events::delete(kind, id, &old_id, props, &url));
        assert_eq!(
            answer.status().as_deref(),
            Some("SUCCESS"),
            "cleanup of {id}: {:?}",
            answer.reason()
        );
    }
    for step in removed {
        let id = step["logical_id"].as_str().unwrap();
        let answer = send(cfn_local::events::delete(
            step["type"].as_str().unwrap(),
            id,
            &ids[id],
            step["previous_properties"].clone(),
            &url,
        ));
        assert_eq!(
            answer.status().as_deref(),
            Some("SUCCESS"),
            "removal of {id}: {:?}",
            answer.reason()
        );
    }
}

/// The calls an in-place line names: `… (PutDeliverySource); Tags +a (TagResource, UntagResource)`.
fn planned_calls(detail: &str) -> Vec<&str> {
    detail
        .split(" (")
        .skip(1)
        .filter_map(|part| part.split_once(')').map(|(calls, _)| calls))
        .flat_map(|calls| calls.split(", "))
        .filter(|call| call.chars().next().is_some_and(char::is_uppercase) && !call.contains(' '))
        .collect()
}

/// The Logs calls since the last reset that change something.
fn mutating_calls(stack: &cfn_local::Stack) -> Vec<String> {
    stack
        .proxy
        .calls()
        .into_keys()
        .filter(|op| {
            ["Put", "Create", "Update", "Delete", "Tag", "Untag"]
                .iter()
                .any(|p| op.starts_with(p))
        })
        .collect()
}
