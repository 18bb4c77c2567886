//! Child processes that must not outlive the harness, each with a scratch directory for its log.
//!
//! Every child leads its own process group and is killed as a group, so whatever it starts dies
//! with it. Drop kills it; the live groups are also listed for [`cleanup_all`], which the CLI's
//! Ctrl-C handler calls (destructors do not run on a signal), with the CLI's [`scratch_root`].

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::collections::BTreeSet;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use tempfile::TempDir;

static GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());
static ROOT: OnceLock<PathBuf> = OnceLock::new();

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `CFN_LOCAL_KEEP=1` keeps the scratch dirs (the logs in them) for a post-mortem.
fn keep() -> bool {
    std::env::var_os("CFN_LOCAL_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A fresh `cfn-local-<name>-…` directory, removed on drop.
pub fn scratch_dir(name: &str) -> io::Result<TempDir> {
    tempfile::Builder::new()
        .prefix(&format!("cfn-local-{name}-"))
        .disable_cleanup(keep())
        .tempdir()
}

/// For the CLI: every later scratch dir of this process goes in this one, which [`cleanup_all`]
/// removes too.
pub fn scratch_root() -> io::Result<TempDir> {
    let root = scratch_dir("run")?;
    if tempfile::env::override_temp_dir(root.path()).is_ok() {
        let _ = ROOT.set(root.path().to_path_buf());
    }
    Ok(root)
}

/// Kills every live child's group and removes the [`scratch_root`]. For signal handlers, right
/// before `process::exit`.
pub fn cleanup_all() {
    for leader in std::mem::take(&mut *lock(&GROUPS)) {
        kill_group(leader);
    }
    if let Some(root) = ROOT.get().filter(|_| !keep()) {
        let _ = std::fs::remove_dir_all(root);
    }
}

fn kill_group(leader: u32) {
    let _ = killpg(Pid::from_raw(leader as i32), Signal::SIGKILL);
}

/// A child process writing to a log file, killed (its group with it) and reaped on drop.
#[derive(Debug)]
pub struct Process {
    child: Mutex<Child>,
    pid: u32,
    log_path: PathBuf,
    /// Removed after `drop` has killed the process.
    _dir: TempDir,
}

impl Process {
    /// Starts `cmd` in a new process group, stdin empty, stdout and stderr to `<scratch dir>/<name>.log`.
    pub fn spawn(cmd: &mut Command, name: &str) -> io::Result<Process> {
        let dir = scratch_dir(name)?;
        let log_path = dir.path().join(format!("{name}.log"));
        // Append mode: stdout and stderr interleave as written, neither overwrites the other.
        let log = std::fs::File::options().create(true).append(true).open(&log_path)?;
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        let pid = child.id();
        lock(&GROUPS).insert(pid);
        Ok(Process {
            child: Mutex::new(child),
            pid,
            log_path,
            _dir: dir,
        })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The exit status, once it has exited.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }

    pub fn is_running(&self) -> bool {
        self.exit_status().is_none()
    }

    /// SIGKILL to its whole group, then reap. Idempotent.
    pub fn kill(&self) {
        let mut child = lock(&self.child);
        if lock(&GROUPS).remove(&self.pid) {
            kill_group(self.pid);
        }
        let _ = child.wait();
    }

    /// stdout and stderr, interleaved as written.
    pub fn log_text(&self) -> String {
        self.log_since(0)
    }

    /// Current size of the log: pass it to [`Process::log_since`] to get what was written after.
    pub fn log_offset(&self) -> u64 {
        std::fs::metadata(&self.log_path).map(|m| m.len()).unwrap_or(0)
    }

    pub fn log_since(&self, offset: u64) -> String {
        let text = std::fs::read(&self.log_path).unwrap_or_default();
        String::from_utf8_lossy(text.get(offset as usize..).unwrap_or_default()).into_owned()
    }

    /// Peak resident set size so far (VmHWM), in KiB; `None` once the process is gone.
    pub fn peak_rss_kb(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let kb = status.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
        kb.trim().trim_end_matches("kB").trim().parse().ok()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Gone, or a zombie waiting for init: either way no longer running.
    fn gone(pid: &str) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    }

    #[test]
    fn drop_kills_the_child_and_what_it_started_and_removes_the_log() {
        let p = Process::spawn(Command::new("sh").args(["-c", "sleep 30 & echo $!; wait"]), "test").unwrap();
        let end = Instant::now() + Duration::from_secs(5);
        while !p.log_text().ends_with('\n') && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        let grandchild = p.log_text().trim().to_string();
        let (pid, log) = (p.pid().to_string(), p.log_path.clone());
        assert!(p.is_running() && !gone(&grandchild), "{grandchild:?}");
        assert_eq!(p.log_since(p.log_offset()), "");
        drop(p);
        let end = Instant::now() + Duration::from_secs(5);
        while !gone(&grandchild) && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(
            gone(&pid) && gone(&grandchild),
            "sh {pid} or its sleep {grandchild} survived"
        );
        assert!(keep() || !log.exists());
    }
}
