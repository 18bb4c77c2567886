//! `cfn-local invoke`: replays saved event files through the local stack.

use crate::demo::indent;
use crate::real_service::Semantics;
use crate::runtime_api::Outcome;
use crate::stack::Stack;
use serde_json::Value;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Files as given; directories expand to their `*.json` files, sorted by name.
pub fn collect_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
                .collect();
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// Sends each file's event, prints the answer and the function's log lines for it.
/// `Ok(true)` if every event got an answer.
pub fn run(binary: &Path, paths: &[PathBuf], extra_env: &[(&str, &str)], semantics: Semantics) -> io::Result<bool> {
    let files = collect_files(paths)?;
    if files.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no event files given"));
    }
    let stack = Stack::start_with(binary, extra_env, semantics)?;
    let mut all_answered = true;
    for file in &files {
        all_answered &= replay_one(&stack, file);
    }
    Ok(all_answered)
}

fn replay_one(stack: &Stack, file: &Path) -> bool {
    let event: Value =
        match std::fs::read(file).map_err(|e| e.to_string()).and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
            Ok(v) => v,
            Err(e) => {
                println!("== {}\n  cannot read it as JSON: {e}\n", file.display());
                return false;
            }
        };
    println!(
        "== {} ({} {} {})",
        file.display(),
        event["RequestType"].as_str().unwrap_or("?"),
        event["ResourceType"].as_str().unwrap_or("?"),
        event["LogicalResourceId"].as_str().unwrap_or("?")
    );
    let offset = stack.lambda.log_offset();
    let (invocation, answer) = stack.send(event);
    let ms = invocation.elapsed.as_millis();
    match &invocation.outcome {
        Outcome::Response(_) => println!("invocation: returned after {ms} ms"),
        Outcome::Error(v) => println!("invocation: ERROR after {ms} ms: {v}"),
        Outcome::NoAnswer => println!("invocation: NO RESULT after {ms} ms"),
    }
    match &answer {
        Some(a) => {
            let shown = a
                .json()
                .map(|v| serde_json::to_string_pretty(&v).unwrap_or_default())
                .unwrap_or_else(|| String::from_utf8_lossy(&a.body).into_owned());
            println!(
                "answer ({} bytes, Content-Type {}):\n{}",
                a.body.len(),
                a.content_type.as_deref().map_or("absent".to_string(), |c| format!("{c:?}")),
                indent(&shown, "  ")
            );
        }
        None => println!("answer: NONE"),
    }
    std::thread::sleep(Duration::from_millis(50)); // let the last log lines land
    println!("function log:\n{}\n", indent(stack.lambda.log_since(offset).trim_end(), "  "));
    answer.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_expand_to_sorted_json_files() {
        let dir = crate::children::ScratchDir::new("test").unwrap();
        for name in ["b.json", "a.json", "notes.txt"] {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let single = dir.path().join("notes.txt");
        let files = collect_files(&[dir.path().to_path_buf(), single.clone()]).unwrap();
        assert_eq!(files, vec![dir.path().join("a.json"), dir.path().join("b.json"), single]);
    }
}
