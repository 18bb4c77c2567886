//! The handler under `cargo lambda watch` + `cargo lambda invoke` (the pinned cargo-lambda), with
//! moto as CloudWatch Logs and as the S3 bucket the answers go to: Create → Update → Delete of
//! a source, a destination and a delivery, by running the very commands of `events/README.md`
//! ("With cargo lambda"), with free ports and a private directory swapped in.
//!
//! cargo lambda sends its timeout as `Lambda-Runtime-Deadline-Ms` (a duration, not an epoch
//! time): every answer being SUCCESS shows the handler copes with it.
//!
//! Needs cargo-lambda (on PATH or in `.venv`), jq and curl. When one is missing the test is
//! skipped with a message, except under `./scripts/test` or CI (`CFN_LOGS_DELIVERY_BIN` or `CI`
//! set), where it fails: there they must be installed.

mod docs;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cfn_local::moto::{free_port, Moto};
use serde_json::{json, Value};

/// The ports and scratch directory the README's commands use.
const README_MOTO: &str = "127.0.0.1:5000";
const README_LAMBDA_PORT: &str = "-P 9000";
const README_DIR: &str = "/tmp/";
/// Room for the function's first build: when `./scripts/demo` or `./scripts/test` has not made it
/// yet, the first invoke waits for a clean release build (about 4 minutes on 2 cores).
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(15 * 60);
/// moto accepts any signature; the header only has to name S3 for its router.
const S3_AUTHORIZATION: &str =
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The shell blocks of the README's "With cargo lambda" section, in order.
fn readme_blocks() -> Vec<String> {
    let readme = std::fs::read_to_string(workspace().join("events/README.md")).expect("read events/README.md");
    let section = readme
        .split("### With cargo lambda")
        .nth(1)
        .expect("events/README.md has a \"### With cargo lambda\" section");
    let section = section.split("\n### ").next().unwrap_or(section);
    section
        .split("```sh\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap_or_default().to_string())
        .collect()
}

/// The block's commands: lines that are neither blank nor comments.
fn commands(block: &str) -> Vec<&str> {
    block
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

/// `program` on PATH, else in the workspace's `.venv/bin`: the directory it is in.
fn tool_dir(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([workspace().join(".venv/bin")])
        .find(|dir| dir.join(program).is_file())
}

/// `./scripts/test` sets `CFN_LOGS_DELIVERY_BIN`; CI sets `CI`. There a missing tool is a failure.
fn tools_required() -> bool {
    ["CFN_LOGS_DELIVERY_BIN", "CI"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// PATH for the commands: the tools' directories first, as `source .venv/bin/activate` would.
fn path_with_tools(dirs: &[PathBuf]) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(dirs.iter().cloned().chain(std::env::split_paths(&path))).expect("PATH")
}

/// `cargo lambda watch` and what it starts (cargo, the function), stopped together on drop.
struct Watch {
    child: Child,
    log: PathBuf,
}

impl Watch {
    fn start(command: &str, path: &std::ffi::OsString, log: PathBuf) -> Watch {
        use std::os::unix::process::CommandExt;
        assert!(
            !command.contains(['"', '\'', '$', '\\']),
            "the watch command is run without a shell: {command}"
        );
        let mut words = command.split_whitespace();
        let program = words.next().expect("a command");
        let out = std::fs::File::create(&log).expect("watch log");
        let mut cmd = Command::new(program);
        // Only the README's --env-var settings: no profile, region or service endpoint of the caller's.
        // Nor what `cargo test` sets (CARGO_MANIFEST_DIR …): a build script that reads one (ring's)
        // would record it, and every later `cargo build --release` would rebuild most of the tree.
        for (key, _) in
            std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("AWS_") || docs::set_by_cargo_test(k))
        {
            cmd.env_remove(key);
        }
        let child = cmd
            .args(words)
            .current_dir(workspace())
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{command}`: {e}"));
        Watch { child, log }
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// cargo-lambda logs "command exited" when `cargo run` ends: the build failed or the function died.
    fn function_failed(&self) -> bool {
        self.log_text().contains("command exited")
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        // The whole process group: cargo-lambda, the `cargo run` it started and the function.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let end = Instant::now() + Duration::from_secs(5);
        while Instant::now() < end && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = Command::new("kill")
            .args(["-KILL", "--", &group])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.wait();
    }
}

/// Runs README blocks with bash (`-euo pipefail`) at the workspace root and returns its stdout.
/// Panics with everything printed if the script fails, if `cargo lambda watch` reports that the
/// function failed to build or start (the invoke would wait for ever), or after [`SCRIPT_TIMEOUT`].
fn run_script(label: &str, script: &str, path: &std::ffi::OsString, watch: &Watch, dir: &Path) -> String {
    let (stdout_path, stderr_path) = (dir.join(format!("{label}.stdout")), dir.join(format!("{label}.stderr")));
    let mut bash = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(workspace())
        .env("PATH", path)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("run bash");
    let started = Instant::now();
    let problem = loop {
        match bash.try_wait().expect("wait for bash") {
            Some(status) if status.success() => break None,
            Some(status) => break Some(format!("failed ({status})")),
            None if watch.function_failed() => {
                break Some("stopped: the function failed to build or start".to_string())
            }
            None if started.elapsed() > SCRIPT_TIMEOUT => break Some(format!("timed out after {SCRIPT_TIMEOUT:?}")),
            None => std::thread::sleep(Duration::from_millis(200)),
        }
    };
    let _ = bash.kill();
    let _ = bash.wait();
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    if let Some(problem) = problem {
        panic!(
            "{label} {problem}:\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{}\n--- cargo lambda watch\n{}",
            std::fs::read_to_string(&stderr_path).unwrap_or_default(),
            watch.log_text()
        );
    }
    stdout
}

/// The answer the handler PUT for this event file, read back from moto's S3.
fn answer_of(moto: &Moto, event_name: &str) -> Value {
    let event: Value =
        serde_json::from_slice(&std::fs::read(workspace().join(format!("events/{event_name}.json"))).unwrap()).unwrap();
    let url = format!(
        "{}/cfn-responses/{}",
        moto.endpoint(),
        event["RequestId"].as_str().unwrap()
    );
    let (status, _, body) = cfn_local::http::request(
        "GET",
        &url,
        &[("Authorization", S3_AUTHORIZATION)],
        b"",
        Duration::from_secs(10),
    )
    .expect("GET the answer");
    assert_eq!(
        status,
        200,
        "no answer stored for {event_name}: {}",
        String::from_utf8_lossy(&body)
    );
    let answer: Value =
        serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{event_name}: the answer is not JSON ({e})"));
    assert_eq!(answer["Status"], "SUCCESS", "{event_name}: {answer}");
    assert_eq!(answer["RequestId"], event["RequestId"], "{event_name}: {answer}");
    answer
}

fn listed(moto: &Moto, operation: &str, key: &str) -> Vec<Value> {
    let (status, body) = moto.logs_call(operation, json!({}));
    assert_eq!(status, 200, "{operation}: {body}");
    body[key].as_array().cloned().unwrap_or_default()
}

#[test]
fn lifecycle_under_cargo_lambda_watch_and_invoke_as_events_readme_says() {
    let missing: Vec<&str> = ["cargo-lambda", "jq", "curl"]
        .into_iter()
        .filter(|p| tool_dir(p).is_none())
        .collect();
    if !missing.is_empty() {
        let message = format!(
            "{} not found (./scripts/tools installs cargo-lambda into .venv; jq and curl come with the OS)",
            missing.join(", ")
        );
        assert!(!tools_required(), "{message}");
        eprintln!("SKIPPED: {message}");
        return;
    }
    let moto = Moto::start().expect("start moto (./scripts/tools or ./scripts/demo installs it into .venv)");
    let lambda_port = free_port().unwrap();
    let dir = cfn_local::children::scratch_dir("cargo-lambda").unwrap();
    let local = |text: &str| {
        text.replace(README_MOTO, &format!("127.0.0.1:{}", moto.port()))
            .replace(README_LAMBDA_PORT, &format!("-P {lambda_port}"))
            .replace(README_DIR, &format!("{}/", dir.path().display()))
    };

    let blocks = readme_blocks();
    assert_eq!(
        blocks.len(),
        5,
        "events/README.md, With cargo lambda: moto, watch, the invoke helper, create/update, delete: {blocks:#?}"
    );
    assert_eq!(
        commands(&blocks[0]),
        ["moto_server -H 127.0.0.1 -p 5000"],
        "what cfn_local::Moto runs"
    );
    let watch_command = commands(&blocks[1]);
    assert!(
        watch_command.len() == 1 && watch_command[0].starts_with("cargo lambda watch "),
        "{watch_command:?}"
    );
    let (helper, create_update, delete) = (local(&blocks[2]), local(&blocks[3]), local(&blocks[4]));

    let tools: Vec<PathBuf> = ["cargo-lambda", "jq", "curl"]
        .iter()
        .filter_map(|p| tool_dir(p))
        .collect();
    let path = path_with_tools(&tools);
    eprintln!(
        "cargo lambda watch builds the release binary first: seconds when ./scripts/demo or ./scripts/test built it, minutes otherwise"
    );
    let watch = Watch::start(&local(watch_command[0]), &path, dir.path().join("watch.log"));

    let create_update_output = run_script(
        "create-and-update",
        &format!("{helper}\n{create_update}"),
        &path,
        &watch,
        dir.path(),
    );

    let source = answer_of(&moto, "delivery-source-create");
    let destination = answer_of(&moto, "delivery-destination-create");
    let delivery = answer_of(&moto, "delivery-create");
    let delivery_id = delivery["PhysicalResourceId"]
        .as_str()
        .expect("the delivery's id")
        .to_string();
    assert_ne!(delivery_id, "Kq3vW9xLmT2pB7nR", "the id is moto's, not the sample's");
    assert!(
        create_update_output.contains(&delivery_id),
        "invoke prints the answers:\n{create_update_output}"
    );
    let source_update = answer_of(&moto, "delivery-source-update");
    assert_eq!(
        source_update["PhysicalResourceId"], source["PhysicalResourceId"],
        "an in-place update keeps the id"
    );
    let destination_update = answer_of(&moto, "delivery-destination-update");
    assert_eq!(
        destination_update["PhysicalResourceId"],
        destination["PhysicalResourceId"]
    );

    let source_arn = source["Data"]["Arn"].as_str().expect("the source's Arn");
    let (_, tags) = moto.logs_call("ListTagsForResource", json!({"resourceArn": source_arn}));
    assert_eq!(tags["tags"]["team"], "edge-platform", "the update's new tag: {tags}");
    let deliveries = listed(&moto, "DescribeDeliveries", "deliveries");
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["id"], delivery_id.as_str());

    run_script("delete", &format!("{helper}\n{delete}"), &path, &watch, dir.path());
    let deleted = answer_of(&moto, "delivery-delete");
    assert_eq!(
        deleted["PhysicalResourceId"],
        delivery_id.as_str(),
        "the delete names the delivery its create made"
    );
    answer_of(&moto, "delivery-destination-delete");
    answer_of(&moto, "delivery-source-delete");
    for (operation, key) in [
        ("DescribeDeliveries", "deliveries"),
        ("DescribeDeliveryDestinations", "deliveryDestinations"),
        ("DescribeDeliverySources", "deliverySources"),
    ] {
        assert_eq!(
            listed(&moto, operation, key),
            Vec::<Value>::new(),
            "{operation}: all deleted"
        );
    }
    drop(watch);
}
