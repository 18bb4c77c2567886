//! The cargo-lambda deploy paths of the docs run as written (a reader copies them), against moto as the
//! Lambda, IAM and CloudWatch Logs control planes, and what they deployed is read back through the
//! Lambda API.
//!
//! - README.md "## Deploy", "With cargo-lambda alone": the build, then the deploy.
//! - docs/DEPLOY.md "## Option 2: cargo lambda": the build, the execution role (with the policy file
//!   the section shows), the deploy with its settings and log format, the ServiceToken, then the
//!   failsafe function, its role, the provider's right to invoke it and the EventInvokeConfig.
//!
//! The blocks run with bash at the repository root, with the pinned tools of `.venv` first on PATH
//! (as `source .venv/bin/activate` puts them). What cannot run locally gets a stand-in, and the
//! test prints each one:
//! - AWS itself: `AWS_ENDPOINT_URL` points every SDK call (aws CLI and cargo lambda) at moto, with
//!   credentials `test`/`test`, region us-east-1, no profile or config file of the caller's;
//! - the account: moto plays account 111122223333, the one docs/DEPLOY.md writes
//!   (`MOTO_ACCOUNT_ID`), with AWS's managed policies loaded (`MOTO_IAM_LOAD_MANAGED_POLICIES`), as an
//!   account has them; README's `ACCOUNT` and `ROLE` placeholders become 111122223333 and the role
//!   docs/DEPLOY.md creates;
//! - `file://manage-log-deliveries.json`: the section's JSON block, written to the test's directory;
//! - arm64: when the arm64 standard library is not installed (`rustup target add
//!   aarch64-unknown-linux-gnu` needs the network), the build is `--x86-64` instead of `--arm64`.
//!
//! moto 5.2.5 stores functions without running them (no Docker needed) and does not keep a
//! function's `LoggingConfig`: that command runs, its effect is read back only if moto keeps it.
//!
//! The build is a full release build for the target triple (cargo-lambda always passes `--target`
//! and its own `-C target-cpu`, so `target/release` is not reused): 6.5 minutes of CPU from clean
//! (14 minutes on a 2-core machine busy with other builds), 1 s when up to date. The commands run
//! without the variables `cargo test` sets, so that this build and one made by hand reuse each other. Needs cargo-lambda, ziglang and awscli (requirements/tools.txt) and moto; when one is
//! missing the test is skipped with a message, except under `./scripts/test` or CI, where it fails.

mod docs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cfn_local::async_invoke::{FAILSAFE_FUNCTION_NAME, FAILSAFE_TIMEOUT, MAXIMUM_EVENT_AGE, MAXIMUM_RETRY_ATTEMPTS};
use cfn_local::children::Process;
use serde_json::Value;

/// The account docs/DEPLOY.md writes; moto plays it.
const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const PROVIDER: &str = "cfn-logs-delivery";
/// The provider's settings in template.yaml (`DeliveryProviderFunction`), which the docs' deploy repeats.
const PROVIDER_MEMORY_MB: u64 = 128;
const PROVIDER_TIMEOUT_S: u64 = 120;
const FAILSAFE_MEMORY_MB: u64 = 128;
/// A clean release build for a new target triple takes about 4-5 minutes on 2 cores; CI may be slower.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(3 * 60);
const POLICY_FILE: &str = "manage-log-deliveries.json";

/// moto_server as account [`ACCOUNT`], killed on drop.
struct Moto {
    process: Process,
    endpoint: String,
}

impl Moto {
    fn start() -> Moto {
        let server = cfn_local::moto::find_moto_server().expect("moto_server (./scripts/tools installs it into .venv)");
        let port = cfn_local::moto::free_port().unwrap();
        let mut cmd = Command::new(server);
        for (key, _) in std::env::vars_os().filter(|(k, _)| is_aws_setting(k)) {
            cmd.env_remove(key);
        }
        cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .env("MOTO_ACCOUNT_ID", ACCOUNT)
            .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true");
        let moto = Moto {
            process: Process::spawn(&mut cmd, "moto_server").unwrap(),
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            assert!(
                moto.process.is_running(),
                "moto_server exited:\n{}",
                moto.process.log_text()
            );
            if let Ok((200, _, _)) = cfn_local::http::request(
                "GET",
                &format!("{}/moto-api/", moto.endpoint),
                &[],
                b"",
                Duration::from_secs(2),
            ) {
                return moto;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not answer within 30 s:\n{}", moto.process.log_text());
    }

    /// Forgets every function, role and log group.
    fn reset(&self) {
        let (status, _, body) = cfn_local::http::request(
            "POST",
            &format!("{}/moto-api/reset", self.endpoint),
            &[],
            b"",
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(status, 200, "moto reset: {}", String::from_utf8_lossy(&body));
    }
}

/// Where the docs' commands run: the repository root, the pinned tools first on PATH, AWS replaced
/// by moto.
struct Shell {
    path: std::ffi::OsString,
    env: BTreeMap<&'static str, String>,
    dir: PathBuf,
}

impl Shell {
    fn new(moto: &Moto, dir: &Path) -> Shell {
        // `.venv/bin` first, as `source .venv/bin/activate` puts it: its python3 has ziglang, which
        // cargo-lambda runs as `python3 -m ziglang`, and its aws is the pinned one.
        let venv = docs::workspace().join(".venv/bin");
        let found = ["cargo-lambda", "aws"].iter().filter_map(|p| docs::tool_dir(p));
        let tools: Vec<PathBuf> = [venv].into_iter().filter(|d| d.is_dir()).chain(found).collect();
        let none = dir.join("no-aws-config").display().to_string();
        let env = BTreeMap::from([
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
            ("AWS_REGION", REGION.to_string()),
            ("AWS_DEFAULT_REGION", REGION.to_string()),
            ("AWS_CONFIG_FILE", none.clone()),
            ("AWS_SHARED_CREDENTIALS_FILE", none),
            ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
            ("AWS_PAGER", String::new()),
        ]);
        Shell {
            path: docs::path_with(&tools),
            env,
            dir: dir.to_path_buf(),
        }
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for (key, _) in std::env::vars_os().filter(|(k, _)| is_aws_setting(k) || docs::set_by_cargo_test(k)) {
            cmd.env_remove(key);
        }
        cmd.current_dir(docs::workspace())
            .env("PATH", &self.path)
            .envs(&self.env)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `script` with `bash -euo pipefail`; its stdout. Panics with everything it printed if it
    /// fails or outlives `timeout`.
    fn run(&self, label: &str, script: &str, timeout: Duration) -> String {
        let (out, err) = (
            self.dir.join(format!("{label}.stdout")),
            self.dir.join(format!("{label}.stderr")),
        );
        let mut child = self
            .command("bash")
            .args(["-euo", "pipefail", "-c", script])
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .spawn()
            .expect("run bash");
        let started = Instant::now();
        let problem = loop {
            match child.try_wait().expect("wait for bash") {
                Some(status) if status.success() => break None,
                Some(status) => break Some(format!("failed ({status})")),
                None if started.elapsed() > timeout => break Some(format!("timed out after {timeout:?}")),
                None => std::thread::sleep(Duration::from_millis(200)),
            }
        };
        let _ = child.kill();
        let _ = child.wait();
        let stdout = std::fs::read_to_string(&out).unwrap_or_default();
        if let Some(problem) = problem {
            let stderr = std::fs::read_to_string(&err).unwrap_or_default();
            panic!("{label} {problem}:\n--- script\n{script}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
        }
        eprintln!("{label}: done in {:.1} s", started.elapsed().as_secs_f64());
        stdout
    }

    /// `aws ARGS... --output json` through the same stand-ins, parsed.
    fn aws(&self, args: &[&str]) -> Value {
        let out = self
            .command("aws")
            .args(args)
            .args(["--output", "json"])
            .output()
            .expect("run aws");
        assert!(
            out.status.success(),
            "aws {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("aws {}: not JSON ({e})", args.join(" ")))
    }
}

fn is_aws_setting(name: &std::ffi::OsStr) -> bool {
    name.to_string_lossy().starts_with("AWS_")
}

/// Whether the active toolchain has the arm64 Linux standard library (`rustup target add` needs the
/// network, which the tests do not have).
fn arm64_std_installed() -> bool {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("rustc --print sysroot");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    Path::new(&sysroot)
        .join("lib/rustlib/aarch64-unknown-linux-gnu/lib")
        .is_dir()
}

/// The build command as the docs write it, or for x86_64 when arm64 cannot be built here; and the
/// architecture cargo lambda deploy will then read from the binary.
fn build_command(documented: &str) -> (String, &'static str) {
    assert!(
        documented.contains(" --arm64"),
        "the docs build for arm64, as template.yaml deploys: {documented}"
    );
    if arm64_std_installed() {
        return (documented.to_string(), "arm64");
    }
    eprintln!("STAND-IN: the arm64 standard library is not installed (rustup target list --installed): building x86_64 (--x86-64) instead");
    (documented.replace(" --arm64", " --x86-64"), "x86_64")
}

/// The blocks of docs/DEPLOY.md "## Option 2: cargo lambda": five sh blocks and the policy file.
struct DeploySection {
    build: docs::Block,
    role: docs::Block,
    deploy: docs::Block,
    service_token: docs::Block,
    failsafe: docs::Block,
    policy: docs::Block,
}

fn deploy_section() -> DeploySection {
    let heading = "## Option 2: cargo lambda";
    let sh = docs::blocks_under("docs/DEPLOY.md", heading, "sh");
    let json = docs::blocks_under("docs/DEPLOY.md", heading, "json");
    let [build, role, deploy, service_token, failsafe] = <[docs::Block; 5]>::try_from(sh).unwrap_or_else(|sh| {
        panic!(
            "docs/DEPLOY.md {heading}: 5 sh blocks (build, role, deploy, ServiceToken, failsafe), found {}: {sh:#?}",
            sh.len()
        )
    });
    let [policy] = <[docs::Block; 1]>::try_from(json)
        .unwrap_or_else(|j| panic!("docs/DEPLOY.md {heading}: one json block: {j:#?}"));
    DeploySection {
        build,
        role,
        deploy,
        service_token,
        failsafe,
        policy,
    }
}

/// README.md "## Deploy": the sh block of "With cargo-lambda alone" (its first command is the build).
fn readme_block() -> docs::Block {
    docs::blocks_under("README.md", "## Deploy", "sh")
        .into_iter()
        .find(|b| {
            b.commands()
                .first()
                .is_some_and(|c| c.starts_with("cargo lambda build"))
        })
        .expect("README.md ## Deploy: a sh block starting with `cargo lambda build`")
}

fn configuration(shell: &Shell, function: &str) -> Value {
    shell.aws(&["lambda", "get-function-configuration", "--function-name", function])
}

fn function_arn(function: &str) -> String {
    format!("arn:aws:lambda:{REGION}:{ACCOUNT}:function:{function}")
}

fn role_arn(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role}")
}

/// What every function of the docs is: the provided.al2023 runtime running `bootstrap`, for the
/// built architecture, with the given role and no environment variables (the provider reads only
/// Lambda's own; template.yaml sets none either).
fn assert_function(config: &Value, what: &str, arch: &str, role: &str) {
    assert_eq!(config["Runtime"], "provided.al2023", "{what}: {config:#}");
    assert_eq!(config["Handler"], "bootstrap", "{what}: {config:#}");
    assert_eq!(config["Architectures"], serde_json::json!([arch]), "{what}: {config:#}");
    assert_eq!(config["Role"], role_arn(role), "{what}: {config:#}");
    let variables = config["Environment"]["Variables"]
        .as_object()
        .map(|v| v.len())
        .unwrap_or(0);
    assert_eq!(variables, 0, "{what}: no environment variables: {config:#}");
    assert!(
        config["CodeSize"].as_u64().unwrap_or(0) > 1_000_000,
        "{what}: the zip holds the release binary: {config:#}"
    );
}

fn assert_settings(config: &Value, what: &str, memory: u64, timeout: u64) {
    assert_eq!(config["MemorySize"], memory, "{what}: {config:#}");
    assert_eq!(config["Timeout"], timeout, "{what}: {config:#}");
}

fn assert_logging_config(config: &Value) {
    match config.get("LoggingConfig") {
        Some(logging) => {
            assert_eq!(logging["LogFormat"], "JSON", "{config:#}");
            assert_eq!(logging["ApplicationLogLevel"], "INFO", "{config:#}");
            assert_eq!(logging["SystemLogLevel"], "WARN", "{config:#}");
        }
        None => eprintln!(
            "NOT READ BACK: moto does not keep LoggingConfig (update-function-configuration --logging-config ran)"
        ),
    }
}

/// README's two commands, ACCOUNT and ROLE replaced by the account moto plays and the role
/// docs/DEPLOY.md creates (README sends the reader there for the role).
fn readme_path(shell: &Shell, readme: &docs::Block, section: &DeploySection, role_script: &str, arch: &str) {
    let commands = readme.commands();
    assert_eq!(commands.len(), 2, "{}: build and deploy: {commands:?}", readme.at());
    let deploy = commands[1];
    assert!(
        deploy.contains("ACCOUNT") && deploy.contains("ROLE"),
        "{}: {deploy}",
        readme.at()
    );
    let deploy = deploy.replace("ACCOUNT", ACCOUNT).replace("ROLE", PROVIDER);
    eprintln!(
        "STAND-IN: {}: ACCOUNT={ACCOUNT}, ROLE={PROVIDER} (made by {})",
        readme.at(),
        section.role.at()
    );
    shell.run("readme-role", role_script, SCRIPT_TIMEOUT);
    shell.run("readme-deploy", &deploy, SCRIPT_TIMEOUT);
    let config = configuration(shell, PROVIDER);
    assert_function(&config, "README's deploy", arch, PROVIDER);
    assert_settings(&config, "README's deploy", PROVIDER_MEMORY_MB, PROVIDER_TIMEOUT_S);
}

/// The role block with the policy file where the test wrote it.
fn role_script(section: &DeploySection, dir: &Path) -> String {
    let reference = format!("file://{POLICY_FILE}");
    assert!(
        section.role.text.contains(&reference),
        "{}: the role block reads {reference}",
        section.role.at()
    );
    let policy_file = dir.join(POLICY_FILE);
    std::fs::write(&policy_file, &section.policy.text).unwrap();
    eprintln!(
        "STAND-IN: {}: {reference} is {} ({}'s block)",
        section.role.at(),
        policy_file.display(),
        section.policy.at()
    );
    section
        .role
        .text
        .replace(&reference, &format!("file://{}", policy_file.display()))
}

#[test]
fn the_documented_cargo_lambda_deploys_land_in_lambda_as_template_yaml_has_them() {
    if !docs::have_tools(
        &["cargo-lambda", "aws", "moto_server"],
        "./scripts/tools installs them into .venv",
    ) {
        return;
    }
    let section = deploy_section();
    let readme = readme_block();
    let documented_build = section.build.commands();
    assert_eq!(documented_build.len(), 1, "{}: one build command", section.build.at());
    assert_eq!(
        readme.commands()[0],
        documented_build[0],
        "README ({}) and docs/DEPLOY.md ({}) build alike",
        readme.at(),
        section.build.at()
    );
    let (build, arch) = build_command(documented_build[0]);

    let moto = Moto::start();
    let dir = cfn_local::children::scratch_dir("deploy-paths").unwrap();
    let shell = Shell::new(&moto, dir.path());
    eprintln!(
        "STAND-IN: AWS is moto at {} (account {ACCOUNT}, region {REGION}, credentials test/test), for the aws CLI and cargo lambda alike",
        moto.endpoint
    );
    eprintln!(
        "{}: {build} (a release build for the target triple: minutes from clean, seconds when up to date)",
        section.build.at()
    );
    shell.run("build", &build, BUILD_TIMEOUT);

    let role_script = role_script(&section, dir.path());
    readme_path(&shell, &readme, &section, &role_script, arch);
    moto.reset();

    shell.run("role", &role_script, SCRIPT_TIMEOUT);
    shell.run("deploy", &section.deploy.text, SCRIPT_TIMEOUT);
    let service_token = shell.run("service-token", &section.service_token.text, SCRIPT_TIMEOUT);
    assert_eq!(
        service_token.trim(),
        function_arn(PROVIDER),
        "{}: prints the ServiceToken",
        section.service_token.at()
    );
    shell.run("failsafe", &section.failsafe.text, SCRIPT_TIMEOUT);

    let provider = configuration(&shell, PROVIDER);
    assert_function(&provider, "the provider", arch, PROVIDER);
    assert_settings(&provider, "the provider", PROVIDER_MEMORY_MB, PROVIDER_TIMEOUT_S);
    assert_logging_config(&provider);
    let failsafe = configuration(&shell, FAILSAFE_FUNCTION_NAME);
    assert_function(&failsafe, "the failsafe", arch, FAILSAFE_FUNCTION_NAME);
    assert_settings(
        &failsafe,
        "the failsafe",
        FAILSAFE_MEMORY_MB,
        FAILSAFE_TIMEOUT.as_secs(),
    );
    assert_eq!(
        failsafe["CodeSha256"], provider["CodeSha256"],
        "the failsafe is the same bootstrap"
    );

    let invoke_config = shell.aws(&[
        "lambda",
        "get-function-event-invoke-config",
        "--function-name",
        PROVIDER,
    ]);
    assert_eq!(
        invoke_config["MaximumRetryAttempts"], MAXIMUM_RETRY_ATTEMPTS,
        "{invoke_config:#}"
    );
    assert_eq!(
        invoke_config["MaximumEventAgeInSeconds"],
        MAXIMUM_EVENT_AGE.as_secs(),
        "{invoke_config:#}"
    );
    assert_eq!(
        invoke_config["DestinationConfig"]["OnFailure"]["Destination"], failsafe["FunctionArn"],
        "{invoke_config:#}"
    );

    let invoke = shell.aws(&[
        "iam",
        "get-role-policy",
        "--role-name",
        PROVIDER,
        "--policy-name",
        "invoke-failsafe",
    ]);
    let statement = &invoke["PolicyDocument"]["Statement"][0];
    assert_eq!(statement["Action"], "lambda:InvokeFunction", "{invoke:#}");
    assert_eq!(
        statement["Resource"], failsafe["FunctionArn"],
        "the provider's role may invoke its on-failure destination: {invoke:#}"
    );
    let manage = shell.aws(&[
        "iam",
        "get-role-policy",
        "--role-name",
        PROVIDER,
        "--policy-name",
        "manage-log-deliveries",
    ]);
    let documented: Value = serde_json::from_str(&section.policy.text).expect("the policy block is JSON");
    assert_eq!(manage["PolicyDocument"], documented, "{}", section.policy.at());
    for role in [PROVIDER, FAILSAFE_FUNCTION_NAME] {
        let attached = shell.aws(&["iam", "list-attached-role-policies", "--role-name", role]);
        let names: Vec<&str> = attached["AttachedPolicies"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| p["PolicyName"].as_str())
            .collect();
        assert_eq!(names, ["AWSLambdaBasicExecutionRole"], "{role}: {attached:#}");
    }

    let groups = shell.aws(&[
        "logs",
        "describe-log-groups",
        "--log-group-name-prefix",
        &format!("/aws/lambda/{PROVIDER}"),
    ]);
    let retention: BTreeMap<&str, Option<u64>> = groups["logGroups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["logGroupName"].as_str().unwrap_or_default(),
                g["retentionInDays"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        retention.get("/aws/lambda/cfn-logs-delivery"),
        Some(&Some(30)),
        "--log-retention 30, as template.yaml: {groups:#}"
    );
    drop(moto);
}
