//! `cfn-logs-delivery-lint`, the built binary, on the templates of tests/lint/: every kind of
//! mistake reported with its line, no false alarm for values decided at deploy time, exit codes,
//! `--format json`, and the repository's own templates (template.yaml, the README's and
//! docs/DEPLOY.md's snippets) clean.
//!
//! tests/lint/expected.txt is the whole text output for the broken templates (./scripts/test
//! compares it too); after a deliberate change of messages, regenerate it with
//! `cargo run -p cfn-logs-delivery-lint -- tests/lint/broken.yaml tests/lint/broken.json > tests/lint/expected.txt`
//! in this crate's directory.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const LINT: &str = env!("CARGO_BIN_EXE_cfn-logs-delivery-lint");

/// Runs the lint from the repository root (paths in its output are as given).
fn lint(args: &[&str]) -> Output {
    Command::new(LINT)
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs cfn-logs-delivery-lint")
}

fn lint_stdin(text: &str, args: &[&str]) -> Output {
    let mut child = Command::new(LINT)
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("runs cfn-logs-delivery-lint");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

/// Asserts `out` has a line `FILE:LINE: LOGICAL_ID (…): PROPERTY: MESSAGE…` and returns it.
fn reported<'a>(text: &'a str, file: &str, line: usize, logical_id: &str, property: &str, message: &str) -> &'a str {
    let start = format!("{file}:{line}: {logical_id} (");
    text.lines()
        .find(|l| l.starts_with(&start) && l.contains(&format!("): {property}: {message}")))
        .unwrap_or_else(|| panic!("no `{start}…{property}: {message}` in:\n{text}"))
}

#[test]
fn the_example_template_lints_clean() {
    let out = lint(&["../../template.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", stdout(&out), stderr(&out));
    assert_eq!(
        stdout(&out),
        "cfn-logs-delivery-lint: 3 custom resources checked in 1 template: no problems\n"
    );
}

#[test]
fn place_mistakes_are_reported_with_their_lines() {
    let file = "tests/lint/regions.yaml";
    let out = lint(&["--region", "eu-west-1", file]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    reported(
        &text,
        file,
        14,
        "SourceInIreland",
        "Region",
        "a CloudFront delivery source exists only in us-east-1",
    );
    let line = reported(
        &text,
        file,
        20,
        "SourceWithoutRegion",
        "Region",
        "a CloudFront delivery source exists only in us-east-1",
    );
    assert!(
        line.contains("Region is not set, so it would be made in the provider's region, eu-west-1"),
        "{line}"
    );
    let line = reported(
        &text,
        file,
        59,
        "DeliveryLeftBehind",
        "DeliveryDestinationArn",
        "names a delivery destination in us-east-1",
    );
    assert!(
        line.contains("would be made in eu-west-1") && line.contains("set `Region: us-east-1`"),
        "{line}"
    );
    reported(
        &text,
        file,
        67,
        "BadRegion",
        "Region",
        "'Europe (Ireland)' is not a region name",
    );
    let line = reported(
        &text,
        file,
        84,
        "DeliveryAcrossAccounts",
        "DeliveryDestinationArn",
        "names CentralLogGroup, a CWL destination",
    );
    assert!(
        line.contains("account 210987654321") && line.contains("only when it is S3 or Firehose"),
        "{line}"
    );
    assert!(
        text.ends_with("5 problems\n"),
        "nothing else is reported (the right trio, the delivery's source): {text}"
    );
    // Where the provider runs is unknown: only what the template states is checked.
    let out = Command::new(LINT)
        .arg(file)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(
        !text.contains("SourceWithoutRegion")
            && !text.contains("DeliveryLeftBehind")
            && text.contains("SourceInIreland"),
        "{text}"
    );
}

#[test]
fn a_delivery_naming_its_source_or_destination_by_text_is_told_to_use_ref() {
    let file = "tests/lint/order.yaml";
    let out = lint(&["--region", "us-east-1", file]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    let line = reported(
        &text,
        file,
        26,
        "RacingDelivery",
        "DeliverySourceName",
        "names Source (line 5) by its name 'my-src'",
    );
    assert!(
        line.contains("create the delivery and Source at the same time") && line.contains("refuses to delete a source"),
        "{line}"
    );
    assert!(
        line.ends_with("use `DeliverySourceName: !Ref Source` (or add `DependsOn: Source`)"),
        "{line}"
    );
    let line = reported(
        &text,
        file,
        27,
        "RacingDelivery",
        "DeliveryDestinationArn",
        "names Destination (line 13)",
    );
    assert!(
        line.ends_with("use `DeliveryDestinationArn: !GetAtt Destination.Arn` (or add `DependsOn: Destination`)"),
        "{line}"
    );
    // An ARN built with !Sub names the source as well; a dependency through another resource orders them.
    reported(
        &text,
        file,
        57,
        "ArnDelivery",
        "DeliverySourceName",
        "names Source (line 5)",
    );
    assert!(
        text.ends_with("3 problems\n"),
        "DependsOn, !Ref / !GetAtt and names of no resource here are fine: {text}"
    );
}

#[test]
fn every_kind_of_mistake_is_reported_with_its_line() {
    let out = lint(&["tests/lint/broken.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let f = "tests/lint/broken.yaml";
    // Missing required: on the Properties line. Unknown property: on its own.
    reported(&text, f, 22, "UnknownAndMissing", "LogType", "is required");
    reported(
        &text,
        f,
        27,
        "UnknownAndMissing",
        "Colour",
        "unknown property; supported properties are Name, ResourceArn, LogType",
    );
    // Bad literals.
    reported(&text, f, 34, "BadLiterals", "Name", "'access logs' contains ' '");
    reported(
        &text,
        f,
        36,
        "BadLiterals",
        "OutputFormat",
        "'xml' is not one of json, plain, w3c, raw, parquet",
    );
    // Bad tags, each on its own line; the intrinsic Value of Tags[1] is no problem.
    reported(&text, f, 47, "BadTags", "Tags[0].Key", "'team#1' contains '#'");
    reported(&text, f, 51, "BadTags", "Tags[2].Key", "duplicate tag key 'project'");
    reported(
        &text,
        f,
        53,
        "BadTags",
        "Tags[3].Key",
        "keys starting with 'aws:' are reserved",
    );
    assert!(!text.contains("Tags[1]"), "{text}");
    // Lists and maps of the wrong shape, a literal boolean that is not one.
    reported(
        &text,
        f,
        63,
        "WrongShapes",
        "RecordFields",
        "must be a list of strings, got a string",
    );
    reported(
        &text,
        f,
        64,
        "WrongShapes",
        "S3EnableHiveCompatiblePath",
        "must be \"true\" or \"false\", got 'maybe'",
    );
    reported(
        &text,
        f,
        65,
        "WrongShapes",
        "Tags",
        "must be a list of {Key, Value}, got an object",
    );
    // What CloudFormation itself refuses.
    reported(&text, f, 70, "CloudFormationRefuses", "ServiceToken", "is required");
    reported(
        &text,
        f,
        71,
        "CloudFormationRefuses",
        "ServiceTimeout",
        "must be a whole number of seconds from 1 to 3600, got '0'",
    );
    reported(
        &text,
        f,
        74,
        "CloudFormationRefuses",
        "FieldDelimiter",
        "is empty (null); CloudFormation refuses null values",
    );
    reported(
        &text,
        f,
        75,
        "CloudFormationRefuses",
        "FieldDelimiter",
        "is given twice in this mapping (also on line 74)",
    );
    reported(
        &text,
        f,
        78,
        "CloudFormationRefuses",
        "RecordFields[1]",
        "is empty (null)",
    );
    reported(
        &text,
        f,
        84,
        "Conditional",
        "ServiceToken",
        "'arn:aws:s3:::not-a-function' is not a Lambda function or SNS topic ARN",
    );
    // Fn::If: each branch checked, the condition named.
    reported(
        &text,
        f,
        85,
        "Conditional",
        "Name",
        "is required (when condition Plain is true)",
    );
    reported(
        &text,
        f,
        87,
        "Conditional",
        "OutputFormat",
        "'text' is not one of json, plain, w3c, raw, parquet (when condition Plain is false)",
    );
    reported(
        &text,
        f,
        88,
        "Conditional",
        "DeliveryDestinationType",
        "'S3' does not match DestinationResourceArn, which names a CWL destination (when condition Plain is true)",
    );
    // A type the provider does not handle, sent to it; attributes it does not answer.
    // An OutputFormat the destination type does not take.
    reported(
        &text,
        f,
        97,
        "ParquetToLogGroup",
        "OutputFormat",
        "'parquet' is not accepted by CWL destinations, which take json, plain",
    );
    reported(
        &text,
        f,
        106,
        "W3cToFirehose",
        "OutputFormat",
        "'w3c' is not accepted by FH destinations, which take json, plain, raw",
    );
    reported(
        &text,
        f,
        115,
        "RawToBucket",
        "OutputFormat",
        "'raw' is not accepted by S3 destinations, which take json, plain, w3c, parquet",
    );
    reported(
        &text,
        f,
        118,
        "Misspelt",
        "Type",
        "'Custom::DeliverySorce' is not a type this provider handles",
    );
    assert!(text.contains("did you mean Custom::DeliverySource?"), "{text}");
    reported(
        &text,
        f,
        125,
        "SourceArn",
        "Value",
        "!GetAtt UnknownAndMissing.SourceArn: UnknownAndMissing is a Custom::DeliverySource, which answers no attribute 'SourceArn'",
    );
    reported(
        &text,
        f,
        127,
        "DestinationName",
        "Value",
        "${BadLiterals.Nmae}: BadLiterals is a Custom::DeliveryDestination, which answers no attribute 'Nmae'",
    );
    // The one warning, and the summary.
    assert!(
        text.contains(&format!(
            "{f}:83: warning: Conditional (Custom::DeliveryDestination): ServiceTimeout: not set"
        )),
        "{text}"
    );
    assert!(
        text.ends_with("cfn-logs-delivery-lint: 9 custom resources checked in 1 template: 25 problems, 1 warning\n"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 27, "25 problems, 1 warning, the summary:\n{text}");
}

#[test]
fn json_templates_with_long_forms_and_literal_numbers() {
    let out = lint(&["tests/lint/broken.json"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let f = "tests/lint/broken.json";
    reported(
        &text,
        f,
        11,
        "Source",
        "ResourceArn",
        "'cloudfront distribution E1' is not an ARN",
    );
    reported(
        &text,
        f,
        13,
        "Source",
        "DeliverySourceConfiguration.",
        "keys must be 1 to 255 characters long, got 0",
    );
    reported(&text, f, 14, "Source", "Tags[0]", "unknown field 'Owner'");
    // `["date"]` is not a string; `{"Ref": "AWS::NoValue"}` is gone and 42 is the string "42".
    reported(
        &text,
        f,
        23,
        "Delivery",
        "RecordFields[0]",
        "must be a string, got a list",
    );
    reported(
        &text,
        f,
        25,
        "Delivery",
        "FieldDelimiter",
        "must be 1 to 5 characters long, got 6",
    );
    assert!(
        !text.contains("samplingRate")
            && !text.contains("S3EnableHiveCompatiblePath")
            && !text.contains("ServiceTimeout: must"),
        "{text}"
    );
    assert!(
        text.ends_with("2 custom resources checked in 1 template: 5 problems, 1 warning\n"),
        "{text}"
    );
}

#[test]
fn values_decided_at_deploy_time_are_no_false_alarm() {
    let out = lint(&["tests/lint/intrinsics.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        stdout(&out),
        "cfn-logs-delivery-lint: 7 custom resources checked in 1 template: no problems\n"
    );
}

#[test]
fn what_is_knowable_around_an_intrinsic_is_still_checked() {
    let template = r#"
Resources:
  Source:
    Type: Custom::DeliverySource
    Properties:
      ServiceToken: !ImportValue provider-FunctionArn
      ServiceTimeout: 600
      Name: !Ref AWS::NoValue
      ResourceArn: !Ref Arn
      LogType: !Ref Type
      Colour: !Ref Colour
      Tags:
        - Key: !Ref TagKey
          Value: "a,b"
        - Key: x
          Value: !Ref TagValue
      DeliverySourceConfiguration:
        samplingRate: !Ref Rate
        "": x
"#;
    let out = lint_stdin(template, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    reported(&text, "-", 5, "Source", "Name", "is required"); // !Ref AWS::NoValue removes it
    reported(&text, "-", 11, "Source", "Colour", "unknown property");
    reported(&text, "-", 14, "Source", "Tags[0].Value", "'a,b' contains ','");
    reported(
        &text,
        "-",
        19,
        "Source",
        "DeliverySourceConfiguration.",
        "keys must be 1 to 255 characters long",
    );
    assert_eq!(text.lines().count(), 5, "{text}");
}

#[test]
fn the_expected_output_of_the_broken_templates() {
    let out = lint(&["tests/lint/broken.yaml", "tests/lint/broken.json"]);
    assert_eq!(out.status.code(), Some(1));
    let expected = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lint/expected.txt")).unwrap();
    assert_eq!(
        stdout(&out),
        expected,
        "regenerate tests/lint/expected.txt if the change is meant (see the top of tests/lint.rs)"
    );
}

#[test]
fn unreadable_input_exits_2_and_the_rest_is_still_checked() {
    let out = lint(&[
        "tests/lint/unreadable/syntax.yaml",
        "tests/lint/unreadable/no-resources.json",
        "tests/lint/no-such-file.yaml",
        "tests/lint/broken.json",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("tests/lint/unreadable/syntax.yaml:5: not valid YAML or JSON: "),
        "{err}"
    );
    assert!(
        err.contains(
            "tests/lint/unreadable/no-resources.json: not a CloudFormation template: it has no Resources section"
        ),
        "{err}"
    );
    assert!(err.contains("tests/lint/no-such-file.yaml: cannot read: "), "{err}");
    let text = stdout(&out);
    assert!(text.contains("tests/lint/broken.json:11: Source"), "{text}");
    assert!(
        text.ends_with(
            "2 custom resources checked in 4 templates: 5 problems, 1 warning; 3 templates could not be read\n"
        ),
        "{text}"
    );
    assert_eq!(lint(&[]).status.code(), Some(2), "no template given: a usage error");
    assert_eq!(lint(&["--format", "xml", "../../template.yaml"]).status.code(), Some(2));
}

#[test]
fn json_format_for_ci_tools() {
    let out = lint(&[
        "--format",
        "json",
        "tests/lint/broken.yaml",
        "tests/lint/unreadable/syntax.yaml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"templates": 2, "resources": 9, "errors": 25, "warnings": 1, "unreadable": 1})
    );
    let problems = doc["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 26);
    assert_eq!(
        problems[0],
        serde_json::json!({
            "file": "tests/lint/broken.yaml", "line": 22, "logical_id": "UnknownAndMissing", "type": "Custom::DeliverySource",
            "property": "LogType", "message": "is required", "severity": "error"
        })
    );
    assert!(problems
        .iter()
        .any(|p| p["severity"] == "warning" && p["property"] == "ServiceTimeout" && p["line"] == 83));
    assert_eq!(doc["unreadable"][0]["file"], "tests/lint/unreadable/syntax.yaml");
    assert_eq!(doc["unreadable"][0]["line"], 5);
    let clean = lint(&["--format", "json", "../../template.yaml"]);
    assert_eq!(clean.status.code(), Some(0));
    let doc: Value = serde_json::from_slice(&clean.stdout).unwrap();
    assert_eq!(doc["problems"], serde_json::json!([]));
}

#[test]
fn warnings_alone_exit_0() {
    let template = "Resources:\n  Src:\n    Type: Custom::DeliverySource\n    Properties:\n      ServiceToken: !ImportValue p\n      Name: n\n      ResourceArn: arn:aws:cloudfront::123456789012:distribution/E1\n      LogType: ACCESS_LOGS\n";
    let out = lint_stdin(template, &[]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with("-:4: warning: Src (Custom::DeliverySource): ServiceTimeout: not set"),
        "{text}"
    );
    assert!(
        text.ends_with("1 custom resource checked in 1 template: no problems, 1 warning\n"),
        "{text}"
    );
}

/// The ```yaml snippets of the README and docs/DEPLOY.md, as templates (a bare list of resources
/// goes under `Resources:`): no problems. The README's short one has no ServiceTimeout (warnings).
#[test]
fn the_documentation_snippets_lint_clean() {
    for doc in ["README.md", "docs/DEPLOY.md"] {
        let text = std::fs::read_to_string(format!("{}/../../{doc}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        // Snippets of other resources only (a logging account's role) are cfn-lint's to check (tests/doc_templates.rs).
        let snippets: Vec<&str> = text
            .split("```yaml\n")
            .skip(1)
            .map(|s| s.split("```").next().unwrap())
            .filter(|s| s.contains("Custom::"))
            .collect();
        assert!(!snippets.is_empty(), "{doc} has yaml snippets");
        for snippet in snippets {
            let template = if snippet.lines().any(|l| l == "Resources:") {
                snippet.to_owned()
            } else {
                format!(
                    "Resources:\n{}",
                    snippet.lines().map(|l| format!("  {l}\n")).collect::<String>()
                )
            };
            let out = lint_stdin(&template, &[]);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{doc}:\n{template}\n{}{}",
                stdout(&out),
                stderr(&out)
            );
            assert!(!stdout(&out).contains(" 0 custom resources"), "{doc}: {}", stdout(&out));
        }
    }
}

#[test]
fn help_explains_itself() {
    let out = lint(&["--help"]);
    assert_eq!(out.status.code(), Some(0));
    let help = stdout(&out);
    for needed in [
        "Usage: cfn-logs-delivery-lint [OPTIONS] <TEMPLATE>...",
        "Custom::DeliverySource, Custom::DeliveryDestination and Custom::Delivery",
        "decided at",
        "FILE:LINE: LogicalId (Type): Property: problem",
        "Exit status: 0 no problems (warnings allowed), 1 problems found, 2 a template could not be read",
        "--format <FORMAT>",
    ] {
        assert!(help.contains(needed), "--help lacks {needed:?}:\n{help}");
    }
}
