//! Child processes and scratch directories that must not outlive the harness.
//!
//! Each is registered in a process-wide list so that [`cleanup_all`] (called from the Ctrl-C
//! handler of the binary, where destructors do not run) can stop moto and the Lambda and
//! remove the temp dirs. Normal code relies on `Drop`.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

type Shared = Arc<Mutex<Child>>;

static NEXT_KEY: AtomicU64 = AtomicU64::new(0);
static CHILDREN: Mutex<Vec<(u64, Weak<Mutex<Child>>)>> = Mutex::new(Vec::new());
static DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A spawned child that is killed and reaped when dropped (or by [`cleanup_all`]).
#[derive(Debug)]
pub struct ChildGuard {
    key: u64,
    pid: u32,
    child: Shared,
}

impl ChildGuard {
    pub fn spawn(cmd: &mut Command) -> io::Result<ChildGuard> {
        let child = cmd.spawn()?;
        let pid = child.id();
        let child = Arc::new(Mutex::new(child));
        let key = NEXT_KEY.fetch_add(1, Ordering::Relaxed);
        lock(&CHILDREN).push((key, Arc::downgrade(&child)));
        Ok(ChildGuard { key, pid, child })
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `Some(status)` once the child has exited.
    pub fn try_wait(&self) -> Option<ExitStatus> {
        lock(&self.child).try_wait().ok().flatten()
    }

    pub fn is_running(&self) -> bool {
        self.try_wait().is_none()
    }

    /// Waits up to `timeout` for the child to exit on its own.
    pub fn wait_timeout(&self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if Instant::now() >= end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap. Idempotent.
    pub fn kill(&self) {
        stop(&self.child);
    }
}

fn stop(child: &Mutex<Child>) {
    let mut child = lock(child);
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        self.kill();
        lock(&CHILDREN).retain(|(k, _)| *k != self.key);
    }
}

/// A fresh directory under the system temp dir, removed on drop.
/// Set `CFN_LOCAL_KEEP=1` to keep it (the logs in it) for a post-mortem.
#[derive(Debug)]
pub struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    pub fn new(prefix: &str) -> io::Result<ScratchDir> {
        let path = std::env::temp_dir().join(format!("cfn-local-{prefix}-{}-{}", std::process::id(), crate::ids::fresh_hex(8)));
        std::fs::create_dir_all(&path)?;
        lock(&DIRS).push(path.clone());
        Ok(ScratchDir { path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn keep_dirs() -> bool {
    std::env::var_os("CFN_LOCAL_KEEP").is_some_and(|v| !v.is_empty() && v != "0")
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        lock(&DIRS).retain(|p| p != &self.path);
        if !keep_dirs() {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Kills every live child spawned through [`ChildGuard`] and removes every [`ScratchDir`].
/// Meant for signal handlers, right before `process::exit`.
pub fn cleanup_all() {
    let children: Vec<Shared> = lock(&CHILDREN).iter().filter_map(|(_, w)| w.upgrade()).collect();
    for child in children {
        stop(&child);
    }
    if !keep_dirs() {
        for dir in lock(&DIRS).drain(..) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_guard_kills_its_child() {
        let guard = ChildGuard::spawn(Command::new("sleep").arg("30")).unwrap();
        let pid = guard.pid();
        assert!(guard.is_running());
        drop(guard);
        // Reaped, so /proc/PID is gone (or reused by an unrelated process, very unlikely here).
        assert!(
            !Path::new(&format!("/proc/{pid}/cmdline")).exists() || {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                !cmd.starts_with(b"sleep")
            }
        );
    }

    #[test]
    fn scratch_dir_is_removed_on_drop() {
        let dir = ScratchDir::new("test").unwrap();
        let path = dir.path().to_path_buf();
        assert!(path.is_dir());
        drop(dir);
        assert!(keep_dirs() || !path.exists());
    }
}
