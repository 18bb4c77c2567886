//! Every CloudFormation template the docs show passes `sam validate --lint` and
//! `cfn-lint`, so a doc change cannot break a template a user copies.
//!
//! Checked: `template.yaml` and every ```` ```yaml ```` block of README.md and docs/*.md. A block
//! without a top-level `Resources` key is a fragment of one (README's snippet): the test wraps it in a
//! template (`Resources:` above, the block indented under it). A block may name resources its text
//! says the reader's stack has (`Distribution`, `LogsBucket`): the test adds a stand-in custom
//! resource for each name a `Ref`, `Fn::GetAtt` or `Fn::Sub` uses that the block does not define, and
//! says which. A problem is reported at the doc file and line of the snippet.
//!
//! Needs sam and cfn-lint (on PATH or in `.venv`, requirements/tools.txt). When one is missing the
//! test is skipped with a message, except under `./scripts/test` or CI (`CFN_LOGS_DELIVERY_BIN` or
//! `CI` set), where it fails.

mod docs;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

/// Docs known to show templates: each must keep showing one, or this test checks nothing there.
const DOCS_WITH_TEMPLATES: [&str; 2] = ["README.md", "docs/DEPLOY.md"];
/// Lines the wrapper puts above a fragment.
const FRAGMENT_HEADER: &str = "AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n";

/// A template as the docs show it: a ```yaml block, or a whole file.
type Snippet = docs::Block;

fn snippet(doc: &str, first_line: usize, text: &str) -> Snippet {
    Snippet {
        doc: doc.to_string(),
        lang: "yaml".to_string(),
        heading: String::new(),
        first_line,
        text: text.to_string(),
    }
}

fn parse(snippet: &Snippet) -> Value {
    docs::read_template(&snippet.text).unwrap_or_else(|e| {
        panic!(
            "{}:{}: the yaml block does not parse: {e}",
            snippet.doc, snippet.first_line
        )
    })
}

/// The `${Name}` / `${Name.Attribute}` variables of a `Fn::Sub` string (`${!Literal}` is no variable).
fn sub_variables(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| rest.split_once('}'))
        .map(|(name, _)| name)
        .filter(|n| !n.starts_with('!'))
        .map(|name| name.split('.').next().unwrap_or(name).to_string())
        .collect()
}

/// Every logical id or parameter a `Ref`, `Fn::GetAtt` or `Fn::Sub` under `node` names.
fn referenced_names(node: &Value, names: &mut BTreeSet<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                match (key.as_str(), value) {
                    ("Ref", Value::String(name)) => drop(names.insert(name.clone())),
                    ("Fn::GetAtt", Value::Array(parts)) => {
                        names.extend(parts.first().and_then(Value::as_str).map(str::to_owned))
                    }
                    ("Fn::Sub", Value::String(text)) => names.extend(sub_variables(text)),
                    ("Fn::Sub", Value::Array(parts)) => {
                        let own: Vec<&String> = parts
                            .get(1)
                            .and_then(Value::as_object)
                            .map(|m| m.keys().collect())
                            .unwrap_or_default();
                        let text = parts.first().and_then(Value::as_str).unwrap_or_default();
                        names.extend(sub_variables(text).into_iter().filter(|n| !own.contains(&n)));
                    }
                    _ => {}
                }
                referenced_names(value, names);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| referenced_names(item, names)),
        _ => {}
    }
}

/// Names the template uses but neither declares as a parameter or resource nor gets from AWS.
fn undefined_names(template: &Value) -> Vec<String> {
    let mut used = BTreeSet::new();
    referenced_names(template, &mut used);
    let declared = |section: &str, name: &str| template[section].as_object().is_some_and(|m| m.contains_key(name));
    used.into_iter()
        .filter(|n| !n.starts_with("AWS::") && !declared("Parameters", n) && !declared("Resources", n))
        .collect()
}

/// A custom resource standing in for what the reader's own stack defines (any attribute may be read).
fn stub(name: &str) -> String {
    format!(
        "  {name}:   # stand-in added by tests/doc_templates.rs\n    Type: Custom::DocStandIn\n    Properties:\n      ServiceToken: !Sub \"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:doc-stand-in\"\n"
    )
}

/// The template the tools check, and how its lines map back to the doc.
struct Checked {
    text: String,
    /// (line of `text`, 1-based) → line of the doc, `None` for lines the test added.
    doc_lines: Vec<Option<usize>>,
    stand_ins: Vec<String>,
    fragment: bool,
}

fn checked_template(snippet: &Snippet) -> Checked {
    let parsed = parse(snippet);
    let fragment = parsed.get("Resources").is_none();
    let template = if fragment {
        json!({ "Resources": parsed })
    } else {
        parsed
    };
    let stand_ins = undefined_names(&template);
    let stubs: String = stand_ins.iter().map(|n| stub(n)).collect();
    let mut text = String::new();
    let mut doc_lines = Vec::new();
    let mut add = |block: &str, from_doc: Option<usize>| {
        for (k, line) in block.lines().enumerate() {
            text.push_str(line);
            text.push('\n');
            doc_lines.push(from_doc.map(|first| first + k));
        }
    };
    if fragment {
        add(FRAGMENT_HEADER, None);
        let indented: String = snippet
            .text
            .lines()
            .map(|l| {
                if l.is_empty() {
                    "\n".to_string()
                } else {
                    format!("  {l}\n")
                }
            })
            .collect();
        add(&indented, Some(snippet.first_line));
        add(&stubs, None);
    } else {
        let lines: Vec<&str> = snippet.text.lines().collect();
        let resources = lines
            .iter()
            .position(|l| l.trim_end() == "Resources:")
            .unwrap_or_else(|| {
                panic!(
                    "{}:{}: a template whose Resources key is not a line `Resources:` of its own",
                    snippet.doc, snippet.first_line
                )
            });
        add(&lines[..=resources].join("\n"), Some(snippet.first_line));
        add(&stubs, None);
        add(
            &lines[resources + 1..].join("\n"),
            Some(snippet.first_line + resources + 1),
        );
    }
    Checked {
        text,
        doc_lines,
        stand_ins,
        fragment,
    }
}

/// Runs a linter; `None` when it passed, else what it printed.
fn lint(program: &Path, args: &[&str], file: &Path) -> Option<String> {
    let mut cmd = Command::new(program);
    cmd.args(args).arg(file).env("SAM_CLI_TELEMETRY", "0");
    // sam puts the venv's Python first, as `source .venv/bin/activate` would.
    if let Some(dir) = program.parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        cmd.env(
            "PATH",
            std::env::join_paths([dir.to_path_buf()].into_iter().chain(std::env::split_paths(&path))).unwrap(),
        );
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()));
    (!out.status.success()).then(|| {
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The doc line of a line of the checked template: `DOC:LINE`, or a note for lines the test added.
fn doc_line(generated: &str, snippet: &Snippet, checked: &Checked) -> String {
    match generated
        .parse::<usize>()
        .ok()
        .and_then(|n| checked.doc_lines.get(n.wrapping_sub(1)).copied().flatten())
    {
        Some(line) => format!("{}:{line}", snippet.doc),
        None => format!(
            "{} (line {generated} of the checked template, added by the test)",
            snippet.doc
        ),
    }
}

/// cfn-lint's parseable lines (`FILE:LINE:COL:END_LINE:END_COL:RULE:MESSAGE`) as `DOC:LINE:COL: RULE MESSAGE`.
fn cfn_lint_at_doc_lines(output: &str, file: &Path, snippet: &Snippet, checked: &Checked) -> String {
    let prefix = format!("{}:", file.display());
    let at_doc = |line: &str| {
        let fields: Vec<&str> = line.strip_prefix(&prefix)?.splitn(6, ':').collect();
        let [line, column, _, _, rule, message] = fields[..] else {
            return None;
        };
        Some(format!(
            "{}:{column}: {rule} {message}",
            doc_line(line, snippet, checked)
        ))
    };
    output
        .lines()
        .map(|line| at_doc(line).unwrap_or_else(|| line.to_string()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// sam's summary (`[[RULE: …] (MESSAGE) matched LINE, …]`) with each `matched LINE` as `DOC:LINE`.
fn sam_at_doc_lines(output: &str, snippet: &Snippet, checked: &Checked) -> String {
    let mut parts = output.split("matched ");
    let mut text = parts.next().unwrap_or_default().to_string();
    for part in parts {
        let digits = part.find(|c: char| !c.is_ascii_digit()).unwrap_or(part.len());
        text.push_str(&format!(
            "at {}{}",
            doc_line(&part[..digits], snippet, checked),
            &part[digits..]
        ));
    }
    text
}

/// README.md and every Markdown file of docs/, relative to the workspace.
fn markdown_docs() -> Vec<String> {
    let entries = std::fs::read_dir(docs::workspace().join("docs")).expect("read docs/");
    let mut found: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    found.sort();
    found.insert(0, "README.md".to_string());
    found
}

fn all_snippets() -> Vec<Snippet> {
    let template = std::fs::read_to_string(docs::workspace().join("template.yaml")).expect("read template.yaml");
    let mut snippets = vec![snippet("template.yaml", 1, &template)];
    snippets.extend(
        markdown_docs()
            .iter()
            .flat_map(|doc| docs::blocks(doc))
            .filter(|b| b.lang == "yaml"),
    );
    snippets
}

#[test]
fn every_template_the_docs_show_passes_sam_validate_lint_and_cfn_lint() {
    if !docs::have_tools(&["cfn-lint", "sam"], "./scripts/tools installs them into .venv") {
        return;
    }
    let (cfn_lint, sam) = (
        docs::tool_dir("cfn-lint").unwrap().join("cfn-lint"),
        docs::tool_dir("sam").unwrap().join("sam"),
    );
    let dir = cfn_local::children::scratch_dir("doc-templates").unwrap();
    let snippets = all_snippets();
    for doc in DOCS_WITH_TEMPLATES {
        assert!(
            snippets.iter().any(|s| s.doc == doc),
            "{doc} shows no yaml block any more: update DOCS_WITH_TEMPLATES"
        );
    }
    let mut problems = Vec::new();
    for (index, snippet) in snippets.iter().enumerate() {
        let checked = checked_template(snippet);
        let where_ = snippet.at();
        if snippet.doc == "template.yaml" {
            assert_eq!(
                checked.stand_ins,
                Vec::<String>::new(),
                "template.yaml names what it does not define"
            );
        }
        let mut notes = Vec::new();
        if checked.fragment {
            notes.push("a fragment of Resources, wrapped in a template".to_string());
        }
        if !checked.stand_ins.is_empty() {
            notes.push(format!(
                "stand-in custom resources for {}",
                checked.stand_ins.join(", ")
            ));
        }
        eprintln!(
            "{where_}: checking{}",
            if notes.is_empty() {
                String::new()
            } else {
                format!(" ({})", notes.join("; "))
            }
        );
        let file = dir
            .path()
            .join(format!("{index}-{}.yaml", snippet.doc.replace(['/', '.'], "-")));
        std::fs::write(&file, &checked.text).unwrap();
        if let Some(output) = lint(&cfn_lint, &["--format", "parseable"], &file) {
            problems.push(format!(
                "{where_}: cfn-lint:\n{}",
                cfn_lint_at_doc_lines(&output, &file, snippet, &checked)
            ));
        }
        if let Some(output) = lint(
            &sam,
            &["validate", "--lint", "--region", "us-east-1", "--template-file"],
            &file,
        ) {
            problems.push(format!(
                "{where_}: sam validate --lint:\n{}",
                sam_at_doc_lines(&output, snippet, &checked)
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "templates shown in the docs fail the linters:\n\n{}",
        problems.join("\n\n")
    );
}

#[test]
fn fragments_get_a_wrapper_and_stand_ins_with_doc_lines_kept() {
    let fragment =
        "A:\n  Type: Custom::Delivery\n  Properties:\n    S: !Sub \"${B}-${AWS::Region}-${!Lit}\"\n    D: !GetAtt C.Arn\n    E: !Ref A\n";
    let doc = snippet("X.md", 10, fragment);
    let checked = checked_template(&doc);
    assert!(checked.fragment);
    assert_eq!(checked.stand_ins, ["B", "C"]);
    assert_eq!(checked.doc_lines[..3], [None, None, Some(10)]);
    let line_of_d = checked.text.lines().position(|l| l.contains("D: !GetAtt")).unwrap();
    assert_eq!(checked.doc_lines[line_of_d], Some(14));
    let file = Path::new("/tmp/t.yaml");
    let cfn_lint = format!("/tmp/t.yaml:{}:5:{0}:9:E1010:bad GetAtt", line_of_d + 1);
    assert_eq!(
        cfn_lint_at_doc_lines(&cfn_lint, file, &doc, &checked),
        "X.md:14:5: E1010 bad GetAtt"
    );
    let sam = format!(
        "[[E1010: GetAtt] (bad) matched {}, [E3002: x] (y) matched 1]",
        line_of_d + 1
    );
    let sam = sam_at_doc_lines(&sam, &doc, &checked);
    assert_eq!(sam, "[[E1010: GetAtt] (bad) at X.md:14, [E3002: x] (y) at X.md (line 1 of the checked template, added by the test)]");
    let template = parse(&snippet("generated", 1, &checked.text));
    assert_eq!(template["Resources"]["A"]["Properties"]["E"], json!({"Ref": "A"}));
    assert_eq!(template["Resources"]["C"]["Type"], "Custom::DocStandIn");

    let whole = "Parameters:\n  P:\n    Type: String\nResources:\n  R:\n    Type: Custom::X\n    Properties:\n      V: !Ref Q\nOutputs:\n  O:\n    Value: !Ref P\n";
    let whole = snippet("Y.md", 5, whole);
    let checked = checked_template(&whole);
    assert!(!checked.fragment);
    assert_eq!(checked.stand_ins, ["Q"]);
    let line_of_outputs = checked.text.lines().position(|l| l == "Outputs:").unwrap();
    assert_eq!(checked.doc_lines[line_of_outputs], Some(5 + 8));
    assert_eq!(
        parse(&snippet("generated", 1, &checked.text))["Resources"]["Q"]["Type"],
        "Custom::DocStandIn"
    );
}
