//! The function binary run as Lambda runs it: the environment Lambda sets, nothing inherited
//! but PATH and HOME, output captured to a log file.

use crate::children::Process;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub const FUNCTION_NAME: &str = "cfn-logs-delivery";

/// What Lambda sets for a `provided.al2023` function in us-east-1 (credentials are moto's).
const LAMBDA_ENV: [(&str, &str); 10] = [
    ("AWS_LAMBDA_FUNCTION_NAME", FUNCTION_NAME),
    ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
    ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
    ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cfn-logs-delivery"),
    (
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef",
    ),
    ("AWS_REGION", "us-east-1"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

/// A running function process, killed on drop; pid, kill, log_text, peak_rss_kb, … are
/// [`Process`]'s.
#[derive(Debug)]
pub struct LambdaProcess {
    process: Process,
    pub started_at: Instant,
}

impl Deref for LambdaProcess {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

impl LambdaProcess {
    /// Starts `binary` against the Runtime API at `runtime_api` (`host:port`).
    /// `env` is added last, so it overrides the Lambda defaults.
    pub fn spawn(binary: &Path, runtime_api: &str, env: &[(&str, &str)]) -> io::Result<LambdaProcess> {
        check_binary(binary)?;
        let mut cmd = Command::new(binary);
        cmd.env_clear();
        for keep in ["PATH", "HOME"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .envs(LAMBDA_ENV)
            .envs(env.iter().copied());
        let started_at = Instant::now();
        Ok(LambdaProcess {
            process: Process::spawn(&mut cmd, "function")?,
            started_at,
        })
    }
}

/// `NotFound`, saying how to build it, if `binary` is not a file.
pub fn check_binary(binary: &Path) -> io::Result<()> {
    if binary.is_file() {
        return Ok(());
    }
    let message = format!(
        "{} not found: build it with `cargo build --release --bin cfn-logs-delivery`",
        binary.display()
    );
    Err(io::Error::new(io::ErrorKind::NotFound, message))
}

/// Where the release binary is expected: `$CFN_LOGS_DELIVERY_BIN`, else `release/cfn-logs-delivery`
/// in the target dir this executable was built into (so `target/release/cfn-local` and a
/// `$CARGO_TARGET_DIR/release/cfn-local` each find their own build, never another's), else in
/// `$CARGO_TARGET_DIR` or the workspace's `target` (this crate is its `tools/cfn-local`). May not exist.
pub fn release_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("CFN_LOGS_DELIVERY_BIN").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let own_target = std::env::current_exe().ok().and_then(|exe| target_dir_holding(&exe));
    let target = own_target
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("release").join(FUNCTION_NAME)
}

/// The cargo target dir `path` lies in: its nearest ancestor with the `CACHEDIR.TAG` cargo writes there.
fn target_dir_holding(path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
}

/// [`release_binary`] if it exists.
pub fn find_binary() -> Option<PathBuf> {
    Some(release_binary()).filter(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::children::scratch_dir;
    use std::os::unix::fs::PermissionsExt;
    use std::time::Duration;
    use tempfile::TempDir;

    /// A stand-in "function": prints its environment, then idles.
    fn script(dir: &TempDir) -> PathBuf {
        let path = dir.path().join("fake-function.sh");
        std::fs::write(&path, "#!/bin/sh\necho started\nenv\nexec sleep 30\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[test]
    fn env_is_lambda_like_and_output_is_captured() {
        let dir = scratch_dir("test").unwrap();
        let p = LambdaProcess::spawn(&script(&dir), "127.0.0.1:9", &[("AWS_REGION", "eu-west-1")]).unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while !p.log_text().contains("AWS_LAMBDA_RUNTIME_API") && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        let text = p.log_text();
        assert!(text.starts_with("started\n"), "{text}");
        assert!(text.contains("AWS_LAMBDA_RUNTIME_API=127.0.0.1:9\n"), "{text}");
        assert!(text.contains("AWS_LAMBDA_FUNCTION_VERSION=$LATEST\n"));
        assert!(text.contains("AWS_REGION=eu-west-1\n"));
        assert!(!text.contains("AWS_REGION=us-east-1\n"));
        assert!(text.contains("PATH="));
        if std::env::var_os("CARGO_PKG_NAME").is_some() {
            assert!(!text.contains("CARGO_PKG_NAME="), "parent env leaked");
        }
        assert!(p.is_running() && p.peak_rss_kb().is_some_and(|kb| kb > 0));
    }

    #[test]
    fn missing_binary_is_a_clear_error() {
        let err = LambdaProcess::spawn(Path::new("/nonexistent/cfn-logs-delivery"), "127.0.0.1:9", &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        assert!(err.to_string().contains("cargo build --release"));
    }

    #[test]
    fn release_binary_is_in_the_target_dir_this_executable_was_built_into() {
        if std::env::var_os("CFN_LOGS_DELIVERY_BIN").is_none() {
            // This test binary is <target>/debug/deps/cfn_local-<hash>.
            let exe = std::env::current_exe().unwrap();
            let target = exe.parent().and_then(Path::parent).and_then(Path::parent).unwrap();
            assert_eq!(release_binary(), target.join("release/cfn-logs-delivery"));
        }
    }

    #[test]
    fn target_dir_is_the_nearest_ancestor_cargo_tagged() {
        let dir = scratch_dir("test").unwrap();
        let target = dir.path().join("elsewhere/target");
        std::fs::create_dir_all(target.join("release/deps")).unwrap();
        std::fs::write(
            target.join("CACHEDIR.TAG"),
            "Signature: 8a477f597d28d172789f06886806bc55\n",
        )
        .unwrap();
        assert_eq!(
            target_dir_holding(&target.join("release/cfn-local")),
            Some(target.clone())
        );
        assert_eq!(
            target_dir_holding(&target.join("release/deps/cfn_local-0123")),
            Some(target)
        );
        assert_eq!(target_dir_holding(&dir.path().join("elsewhere/cfn-local")), None);
    }
}
