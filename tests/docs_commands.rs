//! Every command the docs show in a ```sh block (docs/*.md and events/README.md; README.md has
//! `readme_commands.rs`) runs somewhere, and this test says where and checks the claim: a named
//! script or test holds the command's text, or reads the doc's section and runs its blocks. A new
//! command without a place fails here until it is given one. Commands are read as the shell reads
//! them: `\` continuations joined, comment lines left out.
//!
//! | Doc: command | Runs in |
//! |---|---|
//! | CODE.md: `./scripts/tools` | here, as written (a no-op install when `.venv` is current, then the tools' versions) |
//! | CODE.md, events/README.md: `./scripts/demo events/…` (a file, the folder, `invalid`) | here, as written: each event is answered, SUCCESS for the valid ones, FAILED for `invalid/` |
//! | CODE.md, PERFORMANCE.md: `./scripts/bench`, `… --cold 5 --warm 20`, `BENCH_ARM64=0 ./scripts/bench` | here, shortened: `BENCH_ARM64=0 ./scripts/bench --cold 1 --warm 2 --parallel 0` (the full run measures for a minute or more; its arm64 package step is a `cargo lambda build --release --arm64` like the one `tests/deploy_paths.rs` runs) |
//! | PERFORMANCE.md: `target/release/cfn-local bench --binary PATH [--cold N] [--warm M]` | here, PATH the release binary, `--cold 1 --warm 2` and `--parallel 0` (the next line runs the parallel stack) |
//! | PERFORMANCE.md: `target/release/cfn-local bench --cold 0 --warm 2 --parallel 16 --window-ms 200` | here, as written (about 30 s) |
//! | DEPLOY.md: `python3 -m venv .venv`, `.venv/bin/pip install -r requirements/tools.txt`, `export PATH=…` | `scripts/lib.sh` (`ensure_python_tools`, which `./scripts/test` runs with `tools`) |
//! | DEPLOY.md: `sam validate --lint --region us-east-1`, `cfn-lint template.yaml` | `scripts/test` |
//! | DEPLOY.md "## Option 2: cargo lambda": build, roles, deploys, ServiceToken, failsafe | `tests/deploy_paths.rs` (reads the section's blocks and runs them against moto) |
//! | events/README.md "### With cargo lambda": moto, watch, the `invoke` helper and its calls | `tests/cargo_lambda.rs` (reads the section's blocks and runs them) |
//! | LINT.md: `cargo install --path tools/cfn-logs-delivery-lint --locked` | here, as written, with `CARGO_INSTALL_ROOT` a scratch directory (seconds: it reuses the release build) |
//! | LINT.md: `cfn-logs-delivery-lint …` (check, `--previous` plan) | here, as written, the installed lint on PATH, README's stack as `stack.yaml` |
//! | LINT.md: `aws cloudformation get-template … > deployed.json` | here, as a stand-in: what it prints for README's stack (it needs an account) |
//! | DEPLOY.md: `rustup target add …` | nowhere: the network (it downloads the arm64 standard library) |
//! | DEPLOY.md: `sam build`, `sam deploy --guided`, `sam build && sam deploy …`; events/README.md: `sam build` | nowhere: an AWS account; `sam build` builds for arm64, whose standard library only `rustup target add` (the network) brings, what only `sam deploy` or `sam local invoke` (Docker) uses; `tests/doc_templates.rs` lints what they deploy |
//! | DEPLOY.md: `aws logs tail …` | nowhere: an AWS account (the provider's logs in CloudWatch) |
//! | events/README.md: `sam local invoke …` | nowhere: Docker |

mod docs;

use std::path::{Path, PathBuf};
use std::process::Output;

/// Where a documented command runs (the table above).
#[derive(Debug)]
enum Place {
    /// A test of this file runs it (see the table for its stand-ins).
    Here,
    /// Each (file, text): the file, relative to the workspace, holds the text.
    Holds(&'static [(&'static str, &'static str)]),
    /// The test file reads the doc's blocks under this heading and runs them.
    ReadsSection { file: &'static str, heading: &'static str },
    /// It runs nowhere, for this reason (an AWS account, the network, Docker).
    Nowhere(&'static str),
}

/// A row of the table: the doc, how its command starts ("" with a section: every command of it).
struct Row {
    doc: &'static str,
    start: &'static str,
    place: Place,
}

const fn row(doc: &'static str, start: &'static str, place: Place) -> Row {
    Row { doc, start, place }
}

const DEMO: &str = "./scripts/demo events/";
const BENCH: &str = "./scripts/bench";
const BENCH_NO_ARM64: &str = "BENCH_ARM64=0 ./scripts/bench";
const CFN_LOCAL_BENCH: &str = "target/release/cfn-local bench ";
const LINT_INSTALL: &str = "cargo install --path tools/cfn-logs-delivery-lint --locked";
const LINT: &str = "cfn-logs-delivery-lint ";
const GET_TEMPLATE: &str = "aws cloudformation get-template ";
const ACCOUNT: &str = "an AWS account";
/// `sam build` makes what only `sam deploy` (an account) or `sam local invoke` (Docker) uses.
const SAM_BUILD: &str = "an arm64 build, whose standard library `rustup target add` downloads (the network), for \
                         `sam deploy` (an account) or `sam local invoke` (Docker)";

const PLACES: &[Row] = &[
    row("docs/CODE.md", "./scripts/tools", Place::Here),
    row("docs/CODE.md", DEMO, Place::Here),
    row("docs/CODE.md", BENCH, Place::Here),
    row(
        "docs/DEPLOY.md",
        "rustup target add ",
        Place::Nowhere("the network: it downloads the arm64 standard library"),
    ),
    row(
        "docs/DEPLOY.md",
        "python3 -m venv .venv",
        Place::Holds(&[("scripts/lib.sh", "python3 -m venv \"$VENV\"")]),
    ),
    row(
        "docs/DEPLOY.md",
        ".venv/bin/pip install -r requirements/tools.txt",
        Place::Holds(&[
            ("scripts/lib.sh", "file=\"$ROOT/requirements/$name.txt\""),
            (
                "scripts/lib.sh",
                "\"$VENV/bin/pip\" install --disable-pip-version-check -r \"$file\"",
            ),
            ("scripts/test", "ensure_python_tools emulator tools"),
        ]),
    ),
    row(
        "docs/DEPLOY.md",
        "export PATH=\"$PWD/.venv/bin:$PATH\" SAM_CLI_TELEMETRY=0",
        Place::Holds(&[
            ("scripts/lib.sh", "export PATH=\"$VENV/bin:$PATH\""),
            ("scripts/lib.sh", "export SAM_CLI_TELEMETRY=0"),
        ]),
    ),
    row(
        "docs/DEPLOY.md",
        "sam validate --lint --region us-east-1",
        Place::Holds(&[("scripts/test", "sam validate --lint --region us-east-1")]),
    ),
    row(
        "docs/DEPLOY.md",
        "cfn-lint template.yaml",
        Place::Holds(&[("scripts/test", "\ncfn-lint template.yaml\n")]),
    ),
    row(
        "docs/DEPLOY.md",
        "",
        Place::ReadsSection {
            file: "tests/deploy_paths.rs",
            heading: "## Option 2: cargo lambda",
        },
    ),
    row("docs/DEPLOY.md", "sam build && sam deploy ", Place::Nowhere(ACCOUNT)),
    row("docs/DEPLOY.md", "sam build", Place::Nowhere(SAM_BUILD)),
    row("docs/DEPLOY.md", "sam deploy --guided", Place::Nowhere(ACCOUNT)),
    row("docs/DEPLOY.md", "aws logs tail ", Place::Nowhere(ACCOUNT)),
    row("docs/LINT.md", LINT_INSTALL, Place::Here),
    row("docs/LINT.md", LINT, Place::Here),
    row("docs/LINT.md", GET_TEMPLATE, Place::Here),
    row("docs/PERFORMANCE.md", BENCH, Place::Here),
    row("docs/PERFORMANCE.md", BENCH_NO_ARM64, Place::Here),
    row("docs/PERFORMANCE.md", CFN_LOCAL_BENCH, Place::Here),
    row("events/README.md", DEMO, Place::Here),
    row(
        "events/README.md",
        "",
        Place::ReadsSection {
            file: "tests/cargo_lambda.rs",
            heading: "### With cargo lambda",
        },
    ),
    row("events/README.md", "sam build", Place::Nowhere(SAM_BUILD)),
    row("events/README.md", "sam local invoke ", Place::Nowhere("Docker")),
];

/// A command of a doc's shell block, with where it is.
struct Documented {
    block: docs::Block,
    command: String,
}

/// The docs this test covers: docs/*.md and events/README.md.
fn covered_docs() -> Vec<String> {
    let mut found: Vec<String> = std::fs::read_dir(docs::workspace().join("docs"))
        .expect("read docs/")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    found.sort();
    found.push("events/README.md".to_string());
    found
}

/// Every command of the covered docs' sh/bash/shell blocks.
fn documented_commands() -> Vec<Documented> {
    covered_docs()
        .iter()
        .flat_map(|doc| docs::blocks(doc))
        .filter(|b| ["sh", "bash", "shell"].contains(&b.lang.as_str()))
        .flat_map(|block| {
            block.shell_commands().into_iter().map(move |command| Documented {
                block: block.clone(),
                command,
            })
        })
        .collect()
}

/// The first row of the table that is this command's place.
fn place_of(documented: &Documented) -> Option<&'static Row> {
    PLACES.iter().find(|row| {
        row.doc == documented.block.doc
            && documented.command.starts_with(row.start)
            && match row.place {
                Place::ReadsSection { heading, .. } => documented.block.heading == heading,
                _ => true,
            }
    })
}

fn read(file: &str) -> String {
    std::fs::read_to_string(docs::workspace().join(file)).unwrap_or_else(|e| panic!("read {file}: {e}"))
}

/// Why a place does not hold what the table says, if it does not.
fn claim_problem(row: &Row) -> Option<String> {
    match row.place {
        Place::Holds(texts) => texts
            .iter()
            .find(|(file, text)| !read(file).contains(text))
            .map(|(file, text)| format!("{file} no longer holds `{}`", text.trim())),
        Place::ReadsSection { file, heading } => {
            let test = read(file);
            (!test.contains(row.doc) || !test.contains(heading))
                .then(|| format!("{file} no longer reads {} \"{heading}\"", row.doc))
        }
        Place::Here | Place::Nowhere(_) => None,
    }
}

/// The commands of `doc` that start with `start`, as written (at least one).
fn commands_of(doc: &str, start: &str) -> Vec<String> {
    let found: Vec<String> = documented_commands()
        .into_iter()
        .filter(|d| d.block.doc == doc && d.command.starts_with(start))
        .map(|d| d.command)
        .collect();
    assert!(!found.is_empty(), "{doc}: no command starts with `{start}`");
    found
}

#[test]
fn every_docs_command_has_a_place_and_the_place_runs_it() {
    let documented = documented_commands();
    assert!(documented.len() > 20, "{} commands", documented.len());
    for d in &documented {
        let row = place_of(d).unwrap_or_else(|| {
            panic!(
                "{} ({}): `{}` runs nowhere yet: run it as written in a test (here, or in the test or script \
                 that runs its kind) and add it to PLACES in tests/docs_commands.rs and its table",
                d.block.at(),
                d.block.heading,
                d.command
            )
        });
        if let Place::Nowhere(why) = row.place {
            eprintln!("NOWHERE: {}: `{}`: {why}", d.block.at(), d.command);
        }
        if let Some(problem) = claim_problem(row) {
            panic!(
                "{}: `{}`: {problem}: run the command there again, or fix its row in PLACES",
                d.block.at(),
                d.command
            );
        }
    }
    for row in PLACES {
        assert!(
            documented
                .iter()
                .any(|d| place_of(d).is_some_and(|r| std::ptr::eq(r, row))),
            "PLACES: no command of {} starts with `{}` ({:?}): remove the row",
            row.doc,
            row.start,
            row.place
        );
    }
}

#[test]
fn joined_continuations_make_one_command() {
    let deploy = commands_of("docs/DEPLOY.md", "cargo lambda deploy cfn-logs-delivery ");
    assert!(
        deploy[0].contains(" --iam-role ") && deploy[0].ends_with("--log-retention 30"),
        "{deploy:?}"
    );
}

/// `script` run with `bash -euo pipefail` in `dir`, as a user would: without what `cargo test`
/// sets, `.venv/bin` first on PATH (as the docs' `export PATH` line puts it) and `extra_path` before it.
fn run_as_written(script: &str, dir: &Path, extra_path: &[PathBuf]) -> Output {
    let venv = docs::workspace().join(".venv/bin");
    let dirs: Vec<PathBuf> = extra_path.iter().cloned().chain([venv]).collect();
    let out = docs::user_command("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", docs::path_with(&dirs))
        .output()
        .unwrap_or_else(|e| panic!("run bash: {e}"));
    assert!(
        out.status.success(),
        "`{script}` failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// LINT.md's commands as written: the install (into a scratch root), the check, the saved deployed
/// template (a stand-in) and the plan, in a directory holding README's stack as `stack.yaml`.
#[test]
fn the_lint_commands_of_lint_md_run_as_written() {
    let dir = cfn_local::children::scratch_dir("docs-lint").unwrap();
    let root = dir.path().join("install-root");
    let [install] = <[String; 1]>::try_from(commands_of("docs/LINT.md", LINT_INSTALL)).unwrap();
    let out = docs::user_command("bash")
        .args(["-euo", "pipefail", "-c", &install])
        .env("CARGO_INSTALL_ROOT", &root)
        .output()
        .unwrap();
    eprintln!("STAND-IN: {install} with CARGO_INSTALL_ROOT={}", root.display());
    assert!(
        out.status.success(),
        "{install}: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let stack = docs::readme_stack(dir.path());
    commands_of("docs/LINT.md", GET_TEMPLATE);
    docs::deployed_stand_in(dir.path(), &stack);
    eprintln!("STAND-IN: {GET_TEMPLATE}… > deployed.json: what it prints for README's stack");
    let lints = commands_of("docs/LINT.md", LINT);
    assert_eq!(lints.len(), 2, "LINT.md checks and plans: {lints:?}");
    for (lint, expected) in lints
        .iter()
        .zip([docs::LINT_CHECKS_README_STACK, docs::LINT_PLANS_README_STACK])
    {
        let text = stdout(&run_as_written(lint, dir.path(), &[root.join("bin")]));
        assert!(text.contains(expected), "{lint}: {text}");
    }
}

/// The number of `== FILE` headers `cfn-local invoke` printed, and of answers with `status`.
fn answered(text: &str, status: &str) -> (usize, usize) {
    let events = text.lines().filter(|l| l.starts_with("== ")).count();
    let with_status = text.matches(&format!("\"Status\": \"{status}\"")).count();
    (events, with_status)
}

fn json_files(dir: &str) -> usize {
    std::fs::read_dir(docs::workspace().join(dir))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "json"))
        .count()
}

/// CODE.md's and events/README.md's `./scripts/demo events/…` as written: every event answered,
/// SUCCESS for the valid ones, FAILED for `events/invalid`.
#[test]
fn the_demo_commands_of_the_docs_run_as_written() {
    if !docs::have_tools(&["moto_server"], "./scripts/demo installs it into .venv") {
        return;
    }
    // The same command in both docs runs once; a trailing comment is the shell's to drop.
    let mut commands: Vec<String> = [commands_of("docs/CODE.md", DEMO), commands_of("events/README.md", DEMO)]
        .concat()
        .iter()
        .map(|c| c.split(" #").next().unwrap_or(c).trim().to_string())
        .collect();
    commands.sort();
    commands.dedup();
    for command in &commands {
        let target = command.split_whitespace().nth(1).unwrap();
        let text = stdout(&run_as_written(command, docs::workspace(), &[]));
        let (events, expected, status) = match target.trim_end_matches('/') {
            "events/invalid" => (json_files("events/invalid"), json_files("events/invalid"), "FAILED"),
            "events" => (json_files("events"), json_files("events"), "SUCCESS"),
            _ => (1, 1, "SUCCESS"),
        };
        assert_eq!(answered(&text, status), (events, expected), "{command}:\n{text}");
    }
}

/// CODE.md's `./scripts/tools` as written, where the pinned tools are installed already (then it
/// installs nothing and prints their versions).
#[test]
fn scripts_tools_runs_as_written() {
    if !docs::have_tools(
        &["sam", "cfn-lint", "cargo-lambda", "aws"],
        "./scripts/tools installs them into .venv",
    ) {
        return;
    }
    let [command] = <[String; 1]>::try_from(commands_of("docs/CODE.md", "./scripts/tools")).unwrap();
    let text = stdout(&run_as_written(&command, docs::workspace(), &[]));
    assert!(text.contains("tools ready in .venv"), "{command}: {text}");
}

/// Where `target/release/` of the docs is: next to the binary the tests drive.
fn release_dir() -> PathBuf {
    match std::env::var_os("CFN_LOGS_DELIVERY_BIN").filter(|p| !p.is_empty()) {
        Some(bin) => PathBuf::from(bin).parent().unwrap().to_path_buf(),
        None => docs::workspace().join("target/release"),
    }
}

/// A bench command's run ends with this line when every event was answered SUCCESS.
const BENCH_DONE: &str = "bench: every event answered SUCCESS";

/// PERFORMANCE.md's bench commands: the parallel-stack line as written; the others shortened to
/// one cold start and two warm events without the parallel stack (see the table above).
#[test]
fn the_bench_commands_of_performance_md_run() {
    if !docs::have_tools(&["moto_server"], "./scripts/demo installs it into .venv") {
        return;
    }
    let cfn_local = release_dir().join("cfn-local");
    assert!(
        cfn_local.is_file(),
        "{}: build it (./scripts/test does)",
        cfn_local.display()
    );
    let binary = release_dir().join("cfn-logs-delivery");
    let local = |command: &str| command.replacen("target/release/", &format!("{}/", release_dir().display()), 1);

    let lines = commands_of("docs/PERFORMANCE.md", CFN_LOCAL_BENCH);
    let [any_binary, parallel] = <[String; 2]>::try_from(lines).unwrap();
    let placeholders = "--binary PATH [--cold N] [--warm M]";
    assert!(any_binary.contains(placeholders), "{any_binary}");
    let filled = any_binary.replacen(
        placeholders,
        &format!("--binary {} --cold 1 --warm 2 --parallel 0", binary.display()),
        1,
    );
    eprintln!("STAND-IN: {any_binary} as {filled}");
    let short_script = format!("{BENCH_NO_ARM64} --cold 1 --warm 2 --parallel 0");
    eprintln!("STAND-IN: {BENCH}, {BENCH} --cold 5 --warm 20 and {BENCH_NO_ARM64} as {short_script}");
    assert!(parallel.contains("--parallel 16"), "{parallel}");
    for command in [local(&filled), short_script, local(&parallel)] {
        let text = stdout(&run_as_written(&command, docs::workspace(), &[]));
        assert!(text.contains(BENCH_DONE), "{command}:\n{text}");
    }
}
