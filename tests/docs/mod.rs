//! The fenced blocks of the repository's Markdown docs, for the tests that run or lint what the docs
//! show (`deploy_paths.rs`, `doc_templates.rs`), the pinned tools they need, and templates read as JSON
//! with the short intrinsic forms in their long form (`template.rs` too).

#![allow(dead_code)] // each test uses its own part

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

pub fn workspace() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced block of a doc, its fence's indentation removed (blocks inside list items).
#[derive(Debug, Clone)]
pub struct Block {
    /// The doc, relative to the workspace.
    pub doc: String,
    /// What follows the opening ```, e.g. `sh`, `yaml`.
    pub lang: String,
    /// The last Markdown heading above the block.
    pub heading: String,
    /// 1-based line of the doc that holds the block's first line.
    pub first_line: usize,
    pub text: String,
}

impl Block {
    /// Its commands: lines that are neither blank nor comments.
    pub fn commands(&self) -> Vec<&str> {
        self.text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    /// Its commands as the shell reads them: a line ending in `\` joined to the next, blank and
    /// comment lines left out (a comment after a command stays: the shell drops it).
    pub fn shell_commands(&self) -> Vec<String> {
        let mut commands = Vec::new();
        let mut pending = String::new();
        for line in self.commands() {
            match line.strip_suffix('\\') {
                Some(start) => pending.push_str(start),
                None => commands.push(std::mem::take(&mut pending) + line),
            }
        }
        if !pending.is_empty() {
            commands.push(pending);
        }
        commands
    }

    /// `DOC:LINE`, where the block starts.
    pub fn at(&self) -> String {
        format!("{}:{}", self.doc, self.first_line)
    }
}

/// Every fenced block of `doc` (a path relative to the workspace), in order.
pub fn blocks(doc: &str) -> Vec<Block> {
    let text = std::fs::read_to_string(workspace().join(doc)).unwrap_or_else(|e| panic!("read {doc}: {e}"));
    let mut found = Vec::new();
    let mut heading = String::new();
    let mut open: Option<(Block, usize)> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        match open.take() {
            None if trimmed.starts_with("```") => {
                let block = Block {
                    doc: doc.to_string(),
                    lang: trimmed.trim_start_matches('`').trim().to_string(),
                    heading: heading.clone(),
                    first_line: index + 2,
                    text: String::new(),
                };
                open = Some((block, line.len() - trimmed.len()));
            }
            None => {
                if line.starts_with('#') {
                    heading = line.trim().to_string();
                }
            }
            Some((block, _)) if trimmed == "```" => found.push(block),
            Some((mut block, indent)) => {
                block
                    .text
                    .push_str(line.get(indent..).unwrap_or_else(|| line.trim_start()));
                block.text.push('\n');
                open = Some((block, indent));
            }
        }
    }
    assert!(open.is_none(), "{doc}: a fenced block is not closed");
    found
}

/// The `lang` blocks under `heading` (the heading line as written, e.g. `## Option 2: cargo lambda`).
pub fn blocks_under(doc: &str, heading: &str, lang: &str) -> Vec<Block> {
    blocks(doc)
        .into_iter()
        .filter(|b| b.heading == heading && b.lang == lang)
        .collect()
}

/// `program` on PATH, else in the workspace's `.venv/bin`: the directory it is in.
pub fn tool_dir(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([workspace().join(".venv/bin")])
        .find(|dir| dir.join(program).is_file())
}

/// `./scripts/test` sets `CFN_LOGS_DELIVERY_BIN`; CI sets `CI`. There a missing tool is a failure.
pub fn tools_required() -> bool {
    ["CFN_LOGS_DELIVERY_BIN", "CI"]
        .iter()
        .any(|k| std::env::var_os(k).is_some_and(|v| !v.is_empty()))
}

/// The tools' directories first on PATH, as `source .venv/bin/activate` would put them.
pub fn path_with(dirs: &[PathBuf]) -> std::ffi::OsString {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(dirs.iter().cloned().chain(std::env::split_paths(&path))).expect("PATH")
}

/// Panics (under `./scripts/test` or CI) or returns false with a SKIPPED message when a tool is missing.
pub fn have_tools(programs: &[&str], hint: &str) -> bool {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| tool_dir(p).is_none()).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("{} not found ({hint})", missing.join(", "));
    assert!(!tools_required(), "{message}");
    eprintln!("SKIPPED: {message}");
    false
}

/// A YAML or JSON template as CloudFormation's JSON form, read by the lint's reader
/// ([`cfn_logs_delivery_lint::yaml::Node::to_json`]): scalars as strings, intrinsics long.
pub fn read_template(text: &str) -> Result<Value, String> {
    cfn_logs_delivery_lint::yaml::parse(text)
        .map(|node| node.to_json())
        .map_err(|e| format!("line {}: {}", e.line.unwrap_or_default(), e.message))
}

/// What `cargo test` sets for a test and a user's shell does not have. ring's build script reruns
/// when `CARGO_MANIFEST_DIR` changes: with it, a build under a test would redo ring and everything
/// above it (~2 min) instead of reusing the one made by hand, and the other way round.
pub fn set_by_cargo_test(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    ["CARGO_PKG_", "CARGO_BIN_EXE_"].iter().any(|p| name.starts_with(p))
        || [
            "CARGO",
            "CARGO_MANIFEST_DIR",
            "CARGO_MANIFEST_PATH",
            "CARGO_CRATE_NAME",
            "CARGO_BIN_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_TARGET_TMPDIR",
            "CARGO_RUSTC_CURRENT_DIR",
        ]
        .contains(&name.as_ref())
}

/// `program` as a user runs it from the workspace root: without what `cargo test` sets, so that a
/// cargo build it makes reuses the one made by hand. `cargo` here is the one on PATH (rustup's
/// proxy), not env!("CARGO"), the toolchain's own: that one sees another rustc path and rebuilds.
pub fn user_command(program: &str) -> Command {
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os().filter(|(k, _)| set_by_cargo_test(k)) {
        cmd.env_remove(key);
    }
    cmd.current_dir(workspace());
    cmd
}

/// README's stack (its yaml block), written to `dir` as `stack.yaml`, the name the docs' lint
/// commands give it.
pub fn readme_stack(dir: &Path) -> PathBuf {
    let stack = blocks("README.md")
        .into_iter()
        .find(|b| b.lang == "yaml")
        .expect("README shows its stack");
    let file = dir.join("stack.yaml");
    std::fs::write(&file, stack.text).unwrap();
    file
}

/// The stand-in of `aws cloudformation get-template … > deployed.json` (it needs an account), in
/// `dir`: what it prints for `stack` deployed from YAML, its text as `TemplateBody`.
pub fn deployed_stand_in(dir: &Path, stack: &Path) -> PathBuf {
    let body = std::fs::read_to_string(stack).unwrap();
    let answer = serde_json::json!({"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]});
    let file = dir.join("deployed.json");
    std::fs::write(&file, answer.to_string()).unwrap();
    file
}

/// What the lint prints for README's stack: checked clean, and planned against itself deployed.
pub const LINT_CHECKS_README_STACK: &str = "3 custom resources checked in 1 template: no problems";
pub const LINT_PLANS_README_STACK: &str = "plan of 3 custom resources: 3 unchanged";
