//! `cfn-logs-delivery-lint TEMPLATE...`: checks the Custom::DeliverySource,
//! Custom::DeliveryDestination and Custom::Delivery resources of CloudFormation / SAM templates
//! with the provider's own validation, before a deploy finds the mistakes.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, ValueEnum};

use cfn_logs_delivery_lint::check::{self, Finding, Severity};
use cfn_logs_delivery_lint::{plan, yaml};

const ABOUT: &str = "Checks the Custom::DeliverySource, Custom::DeliveryDestination and Custom::Delivery resources of
CloudFormation and SAM templates with the cfn-logs-delivery provider's own validation, before deploying.";

const LONG_ABOUT: &str =
    "Checks the Custom::DeliverySource, Custom::DeliveryDestination and Custom::Delivery resources of
CloudFormation and SAM templates (YAML with the short intrinsic forms !Ref, !Sub, !GetAtt, !If, ..., or
JSON) with the cfn-logs-delivery provider's own validation, before deploying. cfn-lint and `sam validate`
know nothing about these custom types; this finds their mistakes without a failed deploy and a rollback.

It reports every problem, not only the first: unknown property names, missing required properties,
values the provider or the CloudWatch Logs API would refuse (names, ARNs, enums, tags, lists and maps of
the wrong shape), null values and duplicate keys (CloudFormation refuses those), a missing or malformed
ServiceToken or ServiceTimeout, Fn::GetAtt of an attribute the provider does not answer, and a resource
whose ServiceToken is the provider's but whose type it does not handle.

A property whose value is an intrinsic function (!Ref, !Sub, !GetAtt, !ImportValue, {\"Fn::...\": ...})
is decided at deploy time and accepted; everything knowable around it is still checked. Each branch of a
Fn::If is checked as well, and a problem of one branch only names the condition that chooses it. A !Sub
without ${...} is its plain text.";

const AFTER_HELP: &str = "Output (text): one line per problem, then a summary line:
  FILE:LINE: LogicalId (Type): Property: problem
  FILE:LINE: warning: LogicalId (Type): Property: ...
LINE is the line of the offending property, or of the Properties key (of the resource if there is
none) when a property is missing.

Warnings (a custom resource without ServiceTimeout, a type that looks like a misspelt one of the
provider's) do not make the exit status non-zero.

Exit status: 0 no problems (warnings allowed), 1 problems found, 2 a template could not be read or
is not a CloudFormation template (or the command line is wrong).

With --previous OLD, one TEMPLATE (the new one) and a plan instead: one line per custom resource,
  FILE:LINE: LogicalId (Type): OUTCOME: what
in the order CloudFormation works (creates and updates after what they reference, then removals).
OUTCOME is added, removed (deleted after the update; its line is in OLD), unchanged, in place (what
changes, through which call), replaced (why, in what order), will be refused (the Reason the
provider or CloudFormation would answer) or decided at deploy time (values the template cannot
tell; with each Fn::If branch). Exit status 1 when anything will be refused.

Examples:
  cfn-logs-delivery-lint template.yaml
  cfn-logs-delivery-lint --format json stacks/*.yaml > lint.json
  aws cloudformation get-template --stack-name logs --query TemplateBody > deployed.json
  cfn-logs-delivery-lint --previous deployed.json template.yaml";

#[derive(Parser)]
#[command(name = "cfn-logs-delivery-lint", version, about = ABOUT, long_about = LONG_ABOUT, after_help = AFTER_HELP)]
struct Cli {
    /// CloudFormation or SAM templates, YAML or JSON; `-` reads standard input.
    #[arg(required = true, value_name = "TEMPLATE")]
    templates: Vec<PathBuf>,

    /// `text`: FILE:LINE lines and a summary; `json`: one JSON document for CI tools
    /// (problems, unreadable templates, summary)
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,

    /// The region the provider runs in, where resources without `Region` are made (default:
    /// AWS_REGION, else AWS_DEFAULT_REGION; unknown: such resources' region is not checked)
    #[arg(long, value_name = "REGION")]
    region: Option<String>,

    /// The template deployed now (YAML or JSON, e.g. saved from `aws cloudformation get-template`):
    /// print what deploying TEMPLATE over it will do to each custom resource
    #[arg(long, value_name = "OLD")]
    previous: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
}

/// A template that could not be checked.
#[derive(serde::Serialize)]
struct Unreadable {
    file: String,
    line: Option<usize>,
    message: String,
}

#[derive(serde::Serialize)]
struct Located<'a> {
    file: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
}

/// `--format json`: every problem (errors and warnings), the templates that could not be read, the counts.
#[derive(serde::Serialize)]
struct Document<'a> {
    problems: Vec<Located<'a>>,
    unreadable: &'a [Unreadable],
    summary: &'a Summary,
}

#[derive(serde::Serialize)]
struct Summary {
    templates: usize,
    resources: usize,
    errors: usize,
    warnings: usize,
    unreadable: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let region = cli.region.clone().or_else(|| {
        ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|v| std::env::var(v).ok())
    });
    let region = region.filter(|r| !r.is_empty());
    if let Some(previous) = &cli.previous {
        return plan_update(previous, &cli.templates, cli.format, region.as_deref());
    }
    let mut found: Vec<(String, Finding)> = Vec::new();
    let mut unreadable = Vec::new();
    let mut resources = 0;
    for path in &cli.templates {
        let file = path.display().to_string();
        match read(path)
            .and_then(|text| yaml::parse(&text).map_err(|e| (e.line, e.message)))
            .and_then(|doc| check::lint(&doc, region.as_deref()))
        {
            Ok(report) => {
                resources += report.resources;
                found.extend(report.findings.into_iter().map(|f| (file.clone(), f)));
            }
            Err((line, message)) => unreadable.push(Unreadable { file, line, message }),
        }
    }
    let errors = found.iter().filter(|(_, f)| f.severity == Severity::Error).count();
    let summary = Summary {
        templates: cli.templates.len(),
        resources,
        errors,
        warnings: found.len() - errors,
        unreadable: unreadable.len(),
    };
    match cli.format {
        Format::Text => print_text(&found, &unreadable, &summary),
        Format::Json => {
            let problems = found.iter().map(|(file, finding)| Located { file, finding }).collect();
            let doc = Document {
                problems,
                unreadable: &unreadable,
                summary: &summary,
            };
            println!("{}", serde_json::to_string_pretty(&doc).expect("plain data serializes"));
        }
    }
    ExitCode::from(if summary.unreadable > 0 {
        2
    } else if summary.errors > 0 {
        1
    } else {
        0
    })
}

/// `--previous OLD NEW`: the plan, and exit status 1 when anything will be refused.
fn plan_update(previous: &Path, templates: &[PathBuf], format: Format, region: Option<&str>) -> ExitCode {
    let [template] = templates else {
        eprintln!(
            "cfn-logs-delivery-lint: --previous takes one TEMPLATE (the new one), got {}",
            templates.len()
        );
        return ExitCode::from(2);
    };
    let files = [previous.display().to_string(), template.display().to_string()];
    let parsed = |path: &Path| read(path).and_then(|text| yaml::parse(&text).map_err(|e| (e.line, e.message)));
    let steps = match (parsed(previous).and_then(template_body), parsed(template)) {
        (Ok(old), Ok(new)) => {
            plan::plan(&old, &new, region).map_err(|(in_old, line, message)| (usize::from(!in_old), line, message))
        }
        (Err((line, message)), _) => Err((0, line, message)),
        (_, Err((line, message))) => Err((1, line, message)),
    };
    let steps = match steps {
        Ok(steps) => steps,
        Err((file, line, message)) => {
            let at = line.map(|l| format!(":{l}")).unwrap_or_default();
            eprintln!("{}{at}: {message}", files[file]);
            return ExitCode::from(2);
        }
    };
    let file_of = |step: &plan::Step| &files[usize::from(!step.in_old)];
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for step in &steps {
        match counts.iter_mut().find(|(o, _)| *o == step.outcome) {
            Some((_, n)) => *n += 1,
            None => counts.push((&step.outcome, 1)),
        }
    }
    let refused = steps.iter().any(|s| s.outcome == "will be refused");
    match format {
        Format::Text => {
            for step in &steps {
                let detail = if step.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", step.detail)
                };
                println!(
                    "{}:{}: {} ({}): {}{detail}",
                    file_of(step),
                    step.line,
                    step.logical_id,
                    step.resource_type,
                    step.outcome
                );
            }
            let counts: Vec<String> = counts.iter().map(|(o, n)| format!("{n} {o}")).collect();
            println!(
                "cfn-logs-delivery-lint: plan of {} custom resource{}: {}",
                steps.len(),
                if steps.len() == 1 { "" } else { "s" },
                if counts.is_empty() {
                    "nothing".to_owned()
                } else {
                    counts.join(", ")
                }
            );
        }
        Format::Json => {
            let plan: Vec<serde_json::Value> = steps
                .iter()
                .map(|step| {
                    let mut value = serde_json::to_value(step).expect("plain data serializes");
                    value["file"] = file_of(step).as_str().into();
                    value
                })
                .collect();
            let summary: serde_json::Map<String, serde_json::Value> =
                counts.iter().map(|(o, n)| (o.to_string(), (*n).into())).collect();
            let doc = serde_json::json!({"plan": plan, "summary": summary});
            println!("{}", serde_json::to_string_pretty(&doc).expect("plain data serializes"));
        }
    }
    ExitCode::from(u8::from(refused))
}

/// The template in what `aws cloudformation get-template` printed: its `TemplateBody`, an object
/// for a stack deployed from JSON and the template's text for one deployed from YAML. Anything
/// else is taken as the template itself.
fn template_body(doc: yaml::Node) -> Result<yaml::Node, (Option<usize>, String)> {
    if doc.get("Resources").is_some() {
        return Ok(doc);
    }
    match doc.get("TemplateBody") {
        Some(body) => match body.as_str() {
            Some(text) => yaml::parse(text).map_err(|e| (e.line, format!("in its TemplateBody: {}", e.message))),
            None => Ok(body.clone()),
        },
        None => Ok(doc),
    }
}

fn read(path: &Path) -> Result<String, (Option<usize>, String)> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(drop)
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| (None, format!("cannot read: {e}")))?;
    Ok(text)
}

fn print_text(found: &[(String, Finding)], unreadable: &[Unreadable], summary: &Summary) {
    for u in unreadable {
        match u.line {
            Some(line) => eprintln!("{}:{line}: {}", u.file, u.message),
            None => eprintln!("{}: {}", u.file, u.message),
        }
    }
    for (file, f) in found {
        let warning = if f.severity == Severity::Warning {
            "warning: "
        } else {
            ""
        };
        println!(
            "{file}:{}: {warning}{} ({}): {}: {}",
            f.line, f.logical_id, f.resource_type, f.property, f.message
        );
    }
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let mut outcome = match (summary.errors, summary.warnings) {
        (0, 0) => "no problems".to_owned(),
        (e, 0) => count(e, "problem"),
        (0, w) => format!("no problems, {}", count(w, "warning")),
        (e, w) => format!("{}, {}", count(e, "problem"), count(w, "warning")),
    };
    if summary.unreadable > 0 {
        outcome.push_str(&format!(
            "; {} could not be read",
            count(summary.unreadable, "template")
        ));
    }
    println!(
        "cfn-logs-delivery-lint: {} checked in {}: {outcome}",
        count(summary.resources, "custom resource"),
        count(summary.templates, "template")
    );
}
