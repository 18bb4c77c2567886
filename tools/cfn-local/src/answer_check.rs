//! The protocol rules every answer keeps, checked one way for the tests and the demo alike:
//! exactly one answer per event; an empty Content-Type (the presigned S3 URL is signed without
//! one) and an exact Content-Length; at most 4096 bytes; a body CloudFormation can read; the
//! request's ids echoed; a PhysicalResourceId of 1 to 1024 bytes (a Delete's own one); every Data
//! value a string; a Status, and a Reason when it is FAILED.

use serde_json::Value;

use crate::receiver::Answer;

/// CloudFormation refuses longer answers ("Response object is too long").
pub const MAX_BODY_BYTES: usize = 4096;
const MAX_PHYSICAL_ID: usize = 1024;
/// The ids an answer echoes, with the most of each it must echo whole (longer ones are cut).
const ECHOED: [(&str, usize); 3] = [("StackId", 1024), ("RequestId", 256), ("LogicalResourceId", 256)];

/// Every rule broken by `answers`, all the answers the receiver got for `event`; empty when none.
pub fn problems(event: &Value, answers: &[Answer]) -> Vec<String> {
    match answers {
        [answer] => answer_problems(event, answer),
        _ => vec![format!("{} answers to one event, expected exactly one", answers.len())],
    }
}

/// Every rule one answer to `event` breaks; empty when none.
pub fn answer_problems(event: &Value, a: &Answer) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(ct) = a.content_type.as_deref().filter(|ct| !ct.is_empty()) {
        problems.push(format!("Content-Type {ct:?} (S3 would refuse the signature)"));
    }
    if a.content_length_header != Some(a.body.len()) {
        problems.push(format!(
            "Content-Length {:?} for {} bytes",
            a.content_length_header,
            a.body.len()
        ));
    }
    if a.body.len() > MAX_BODY_BYTES {
        problems.push(format!("body is {} bytes (> {MAX_BODY_BYTES})", a.body.len()));
    }
    let Some(body) = a.json() else {
        problems.push(format!("body is not JSON: {}", String::from_utf8_lossy(&a.body)));
        return problems;
    };
    if a.response.is_none() {
        problems.push(format!("CloudFormation cannot read the answer: {body}"));
    }
    for (field, max) in ECHOED {
        if let Some(sent) = echoable(&event[field], max) {
            if body[field] != sent {
                problems.push(format!("{field} not echoed: sent {sent:?}, answered {}", body[field]));
            }
        }
    }
    let physical_id = body["PhysicalResourceId"].as_str().unwrap_or_default();
    if physical_id.is_empty() || physical_id.len() > MAX_PHYSICAL_ID {
        problems.push(format!("PhysicalResourceId missing, empty or > 1 KB: {physical_id:?}"));
    }
    let deleted = echoable(&event["PhysicalResourceId"], MAX_PHYSICAL_ID).filter(|id| !id.is_empty());
    if event["RequestType"] == "Delete" && deleted.is_some_and(|id| id != physical_id) {
        problems.push("Delete answered with another PhysicalResourceId".into());
    }
    if !body["Data"]
        .as_object()
        .is_none_or(|data| data.values().all(Value::is_string))
    {
        problems.push(format!("Data values must be strings: {}", body["Data"]));
    }
    match body["Status"].as_str() {
        Some("SUCCESS") => {}
        Some("FAILED") if body["Reason"].as_str().is_some_and(|r| !r.is_empty()) => {}
        Some("FAILED") => problems.push("a FAILED answer without a Reason".into()),
        _ => problems.push(format!("Status {} is neither SUCCESS nor FAILED", body["Status"])),
    }
    problems
}

/// `v` if the answer must echo it whole: a string whose JSON form fits `max` bytes.
fn echoable(v: &Value, max: usize) -> Option<&str> {
    let s = v.as_str()?;
    (serde_json::to_string(s).ok()?.len() - 2 <= max).then_some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receiver::parse_answer;
    use serde_json::json;
    use std::time::Instant;

    fn answer(body: Value, content_type: Option<&str>) -> Answer {
        let body = body.to_string().into_bytes();
        Answer {
            request_id: "r".into(),
            target: "/cfn-response/r".into(),
            content_type: content_type.map(str::to_owned),
            content_length_header: Some(body.len()),
            response: parse_answer(&body),
            body,
            received_at: Instant::now(),
        }
    }

    fn event(request_type: &str) -> Value {
        json!({"RequestType": request_type, "StackId": "s", "RequestId": "r", "LogicalResourceId": "L", "PhysicalResourceId": "p"})
    }

    fn good() -> Value {
        json!({"Status": "SUCCESS", "Reason": "OK", "StackId": "s", "RequestId": "r", "LogicalResourceId": "L", "PhysicalResourceId": "p", "Data": {"Arn": "a"}})
    }

    #[test]
    fn each_broken_rule_is_named() {
        let e = event("Delete");
        assert!(problems(&e, &[]).concat().contains("0 answers"));
        assert!(answer_problems(&e, &answer(good(), Some("application/json")))
            .concat()
            .contains("Content-Type"));
        for (field, value, needle) in [
            ("RequestId", json!("other"), "RequestId not echoed"),
            ("PhysicalResourceId", json!("q"), "Delete answered with another"),
            ("Data", json!({"Port": 80}), "Data values must be strings"),
            ("Status", json!("FAILED"), "without a Reason"),
        ] {
            let mut body = good();
            body[field] = value;
            if field == "Status" {
                body.as_object_mut().unwrap().remove("Reason");
            }
            let found = answer_problems(&e, &answer(body, None)).join("; ");
            assert!(found.contains(needle), "{field}: {found}");
        }
        let mut long = answer(good(), None);
        long.content_length_header = Some(1);
        assert!(answer_problems(&e, &long).concat().contains("Content-Length"));
    }
}
