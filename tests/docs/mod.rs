//! The fenced blocks of the repository's Markdown docs, for the tests that run or lint what the docs
//! show (`deploy_paths.rs`, `doc_templates.rs`), the pinned tools they need, and templates read as JSON
//! with the short intrinsic forms in their long form (`template.rs` too).

#![allow(dead_code)] // each test uses its own part

use std::path::{Path, PathBuf};

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
