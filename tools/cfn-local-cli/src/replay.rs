//! `cfn-local invoke`: replays saved event files through the local stack.

use crate::demo::indent;
use cfn_local::real_service::Semantics;
use cfn_local::receiver::Answer;
use cfn_local::runtime_api::Outcome;
use cfn_local::stack::Stack;
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Files as given; a directory expands to its `*.json` files in lifecycle order ([`lifecycle_rank`]).
pub fn collect_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for path in paths {
        let start = files.len();
        if path.is_dir() {
            let is_json = |p: &PathBuf| p.is_file() && p.extension().is_some_and(|x| x == "json");
            files.extend(std::fs::read_dir(path)?.flatten().map(|e| e.path()).filter(is_json));
        } else {
            files.push(path.clone());
        }
        files[start..].sort_by_cached_key(|p| (lifecycle_rank(p), p.clone()));
    }
    Ok(files)
}

/// (phase, kind): sorting by it (then by name) plays events as CloudFormation would.
type Rank = (u8, u8);

/// Creates, then Updates, each source → destination → delivery (a delivery needs both); then
/// Deletes in reverse (the service refuses to delete what a delivery uses). Anything else
/// (another resource type, a file that is not an event) comes after, by name.
fn lifecycle_rank(file: &Path) -> Rank {
    let event: Value = std::fs::read(file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let kind = match event["ResourceType"].as_str() {
        Some("Custom::DeliverySource") => 0,
        Some("Custom::DeliveryDestination") => 1,
        Some("Custom::Delivery") => 2,
        _ => return (3, 0),
    };
    match event["RequestType"].as_str() {
        Some("Create") => (0, kind),
        Some("Update") => (1, kind),
        Some("Delete") => (2, 2 - kind),
        _ => (3, 0),
    }
}

/// Sends each file's event, prints the answer and the function's log lines for it.
/// `Ok(true)` if every event got an answer.
pub fn run(binary: &Path, paths: &[PathBuf], extra_env: &[(&str, &str)], semantics: Semantics) -> io::Result<bool> {
    let files = collect_files(paths)?;
    if files.is_empty() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "no event files given"));
    }
    let stack = Stack::start_with(binary, extra_env, semantics)?;
    let mut answered_ids = PhysicalIds::new();
    // Every file is replayed, answered or not.
    let unanswered = files
        .iter()
        .filter(|file| !replay_one(&stack, file, &mut answered_ids))
        .count();
    Ok(unanswered == 0)
}

/// The PhysicalResourceId answered for each (StackId, LogicalResourceId) so far in this run.
type PhysicalIds = HashMap<(String, String), String>;

fn resource_key(event: &Value) -> (String, String) {
    let field = |k: &str| event[k].as_str().unwrap_or_default().to_string();
    (field("StackId"), field("LogicalResourceId"))
}

/// CloudFormation sends an Update or Delete the id the resource's last answer gave; a saved event
/// holds a sample one (a delivery id is made by the service). Returns the replaced id, if any.
fn use_answered_id(event: &mut Value, answered_ids: &PhysicalIds) -> Option<String> {
    let answered = answered_ids.get(&resource_key(event))?;
    let saved = event.get("PhysicalResourceId")?.as_str()?.to_string();
    (saved != *answered).then(|| {
        event["PhysicalResourceId"] = Value::String(answered.clone());
        saved
    })
}

fn replay_one(stack: &Stack, file: &Path, answered_ids: &mut PhysicalIds) -> bool {
    let read = std::fs::read(file).map_err(|e| e.to_string());
    let mut event: Value = match read.and_then(|b| serde_json::from_slice(&b).map_err(|e| e.to_string())) {
        Ok(event) => event,
        Err(e) => {
            println!("== {}\n  cannot read it as JSON: {e}\n", file.display());
            return false;
        }
    };
    let field = |event: &Value, key: &str| event[key].as_str().unwrap_or("?").to_string();
    let request_type = field(&event, "RequestType");
    println!(
        "== {} ({request_type} {} {})",
        file.display(),
        field(&event, "ResourceType"),
        field(&event, "LogicalResourceId")
    );
    if let Some(saved) = use_answered_id(&mut event, answered_ids) {
        println!(
            "PhysicalResourceId {saved} replaced by {}, the id answered earlier in this run",
            field(&event, "PhysicalResourceId")
        );
    }
    let key = resource_key(&event);
    let offset = stack.lambda.log_offset();
    let (invocation, answer) = stack.send(event);
    // A FAILED Update keeps the resource's id; a Delete ends it.
    if let Some(id) = answer
        .as_ref()
        .filter(|a| a.status().as_deref() == Some("SUCCESS"))
        .and_then(Answer::physical_id)
    {
        if request_type == "Delete" {
            answered_ids.remove(&key);
        } else {
            answered_ids.insert(key, id);
        }
    }
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
                .map_or_else(|| String::from_utf8_lossy(&a.body).into_owned(), |v| format!("{v:#}"));
            let content_type = a
                .content_type
                .as_deref()
                .map_or("absent".to_string(), |c| format!("{c:?}"));
            println!(
                "answer ({} bytes, Content-Type {content_type}):\n{}",
                a.body.len(),
                indent(&shown, "  ")
            );
        }
        None => println!("answer: NONE"),
    }
    std::thread::sleep(Duration::from_millis(50)); // let the last log lines land
    println!(
        "function log:\n{}\n",
        indent(stack.lambda.log_since(offset).trim_end(), "  ")
    );
    answer.is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(request: &str, kind: &str) -> String {
        json!({"RequestType": request, "ResourceType": format!("Custom::{kind}")}).to_string()
    }

    #[test]
    fn directories_expand_in_lifecycle_order() {
        let dir = cfn_local::children::scratch_dir("test").unwrap();
        let saved = [
            ("a-delivery-create.json", event("Create", "Delivery")),
            ("b-delivery-delete.json", event("Delete", "Delivery")),
            ("c-destination-delete.json", event("Delete", "DeliveryDestination")),
            ("d-source-update.json", event("Update", "DeliverySource")),
            ("e-destination-create.json", event("Create", "DeliveryDestination")),
            ("f-source-create.json", event("Create", "DeliverySource")),
            ("g-source-delete.json", event("Delete", "DeliverySource")),
            ("h-other.json", event("Create", "Pipeline")),
            ("i-not-an-event.json", "[".into()),
            ("notes.txt", "{}".into()),
        ];
        for (name, text) in &saved {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        let single = dir.path().join("notes.txt");
        let files = collect_files(&[dir.path().to_path_buf(), single.clone()]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        let expected = "f-source-create.json e-destination-create.json a-delivery-create.json d-source-update.json \
                        b-delivery-delete.json c-destination-delete.json g-source-delete.json h-other.json i-not-an-event.json notes.txt";
        assert_eq!(names.join(" "), expected);
    }

    #[test]
    fn later_events_get_the_id_answered_for_their_resource() {
        let mut ids = PhysicalIds::new();
        ids.insert(("stack-1".into(), "AccessLogsDelivery".into()), "realId123".into());
        let mut delete =
            json!({"StackId": "stack-1", "LogicalResourceId": "AccessLogsDelivery", "PhysicalResourceId": "sampleId"});
        assert_eq!(use_answered_id(&mut delete, &ids).as_deref(), Some("sampleId"));
        assert_eq!(delete["PhysicalResourceId"], "realId123");
        let mut other_stack =
            json!({"StackId": "stack-2", "LogicalResourceId": "AccessLogsDelivery", "PhysicalResourceId": "sampleId"});
        assert_eq!(use_answered_id(&mut other_stack, &ids), None);
        assert_eq!(other_stack["PhysicalResourceId"], "sampleId");
        let mut create = json!({"StackId": "stack-1", "LogicalResourceId": "AccessLogsDelivery"});
        assert_eq!(use_answered_id(&mut create, &ids), None);
        assert!(create.get("PhysicalResourceId").is_none());
    }
}
