//! Every command README.md shows runs somewhere, and this test says where: a reader copies them, so
//! each must have run. A new command in README fails here until it is given a place.
//!
//! | README command | Runs in |
//! |---|---|
//! | `./scripts/demo`, `./scripts/demo --raw-moto` | `./scripts/test` (its demo step runs both as written) |
//! | `./scripts/test` | CI, and by hand: it is the whole check |
//! | `cfn-lint stack.yaml` | here, on README's stack (and `tests/doc_templates.rs`, with `sam validate --lint`) |
//! | `cargo run … -p cfn-logs-delivery-lint -- ARGS stack.yaml` | here, as written (cargo builds the lint if `./scripts/test` has not) |
//! | `aws cloudformation get-template … > deployed.json` | here, as a stand-in: what it prints for README's stack (it needs an account) |
//! | `cargo lambda build …`, `cargo lambda deploy …` | `tests/deploy_paths.rs`, against moto as Lambda and IAM |
//! | `rustup target add …`, `sam build && sam deploy --guided …`, `aws cloudformation deploy …` | nowhere: they need the network and an AWS account (moto runs no custom resource without Docker); `tests/doc_templates.rs` lints what they deploy |

mod docs;

use std::process::Command;

/// Each README command's start, and where it runs (the table above).
const PLACES: &[(&str, &str)] = &[
    ("./scripts/demo", "./scripts/test"),
    ("./scripts/test", "CI"),
    ("cfn-lint stack.yaml", "here"),
    ("cargo run --release --locked -p cfn-logs-delivery-lint -- ", "here"),
    ("aws cloudformation get-template ", "here: a stand-in of its answer"),
    ("cargo lambda build ", "tests/deploy_paths.rs"),
    ("cargo lambda deploy ", "tests/deploy_paths.rs"),
    ("rustup target add ", "nowhere: the network"),
    ("sam build && sam deploy --guided", "nowhere: an AWS account"),
    ("aws cloudformation deploy ", "nowhere: an AWS account"),
];

fn readme_commands() -> Vec<String> {
    docs::blocks("README.md")
        .iter()
        .filter(|b| b.lang == "sh")
        .flat_map(|b| b.commands().into_iter().map(str::to_owned))
        .collect()
}

#[test]
fn every_readme_command_has_a_place_where_it_runs() {
    let commands = readme_commands();
    assert!(!commands.is_empty());
    for command in &commands {
        let place = PLACES.iter().find(|(start, _)| command.starts_with(start));
        assert!(
            place.is_some(),
            "README.md: `{command}` runs nowhere yet: run it in a test and add it to PLACES"
        );
    }
    let script = std::fs::read_to_string(docs::workspace().join("scripts/test")).unwrap();
    for needed in ["\n./scripts/demo\n", "\n./scripts/demo --raw-moto\n"] {
        assert!(
            script.contains(needed),
            "scripts/test runs README's `{}`",
            needed.trim()
        );
    }
}

/// Each lint command as written: the check (no problems) and the plan against `deployed.json`,
/// which here is what `aws cloudformation get-template` prints for README's stack deployed from
/// YAML (its text as `TemplateBody`): every resource unchanged.
#[test]
fn the_readme_lint_commands_pass_on_the_readme_stack() {
    let dir = cfn_local::children::scratch_dir("readme-commands").unwrap();
    let file = docs::readme_stack(dir.path());
    let deployed = docs::deployed_stand_in(dir.path(), &file);
    let commands = readme_commands();
    assert!(
        commands.iter().any(|c| c.starts_with(PLACES[4].0)),
        "README saves the deployed template"
    );
    let lints: Vec<&str> = commands.iter().filter_map(|c| c.strip_prefix(PLACES[3].0)).collect();
    assert_eq!(lints.len(), 2, "README checks and plans: {lints:?}");
    for (lint, expected) in lints
        .into_iter()
        .zip([docs::LINT_CHECKS_README_STACK, docs::LINT_PLANS_README_STACK])
    {
        let args: Vec<String> = lint
            .split_whitespace()
            .map(|a| match a {
                "stack.yaml" => file.display().to_string(),
                "deployed.json" => deployed.display().to_string(),
                _ => a.to_owned(),
            })
            .collect();
        let out = docs::user_command("cargo")
            .args(PLACES[3].0.split_whitespace().skip(1))
            .args(&args)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{lint}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(expected), "{lint}: {text}");
    }

    assert!(commands.iter().any(|c| c == "cfn-lint stack.yaml"));
    if docs::have_tools(&["cfn-lint"], "./scripts/tools installs it into .venv") {
        let out = Command::new(docs::tool_dir("cfn-lint").unwrap().join("cfn-lint"))
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cfn-lint stack.yaml: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}
