//! Building the answer body. CloudFormation refuses bodies over 4096 bytes ("Response object is
//! too long"), so the Reason is cut to fit and every echoed id is bounded.

use std::collections::HashMap;

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse as Response, CloudFormationCustomResourceResponseStatus as Status,
};

use super::event::{Envelope, MAX_PHYSICAL_ID};
use crate::request::{Action, Outcome, Request};

pub const MAX_BODY_BYTES: usize = 4096;
const TRUNCATED: &str = " …[truncated]";

/// Prefix of the PhysicalResourceId answered for a failed Create. `:` can appear neither in a
/// source/destination name nor in a delivery id, so a marker never names a real resource.
pub const FAILED_CREATE_MARKER: &str = "cfn-logs-delivery:failed-create:";

/// The answer to the Delete CloudFormation sends for a failed Create, which names our marker:
/// nothing was created, so there is nothing to run. `None` for any other request.
pub fn delete_of_failed_create(request: &Request) -> Option<Outcome> {
    match &request.action {
        Action::Delete { physical_id } if physical_id.starts_with(FAILED_CREATE_MARKER) => Some(Outcome {
            physical_id: physical_id.clone(),
            data: Vec::new(),
        }),
        _ => None,
    }
}

pub fn success(envelope: &Envelope, outcome: &Outcome) -> Response {
    let mut r = echo(envelope);
    r.status = Status::Success;
    r.physical_resource_id = outcome.physical_id.clone();
    r.reason = Some("OK".into());
    r.data = outcome
        .data
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<HashMap<_, _>>();
    r
}

/// A FAILED answer. A failed Create gets a marker id that names no real resource, so the
/// Delete CloudFormation sends next cannot touch anything; Update and Delete keep their id.
pub fn failure(envelope: &Envelope, reason: &str) -> Response {
    let mut r = echo(envelope);
    r.status = Status::Failed;
    r.physical_resource_id = match &envelope.physical_id {
        Some(id) if envelope.request_type != "Create" && !id.is_empty() => clip(id, MAX_PHYSICAL_ID),
        _ => format!("{FAILED_CREATE_MARKER}{}", clip(&envelope.request_id, 200)),
    };
    r.reason = Some(reason.to_owned());
    r
}

fn echo(envelope: &Envelope) -> Response {
    let mut r = Response::default();
    r.stack_id = clip(&envelope.stack_id, 1024);
    r.request_id = clip(&envelope.request_id, 256);
    r.logical_resource_id = clip(&envelope.logical_id, 256);
    r
}

/// The JSON body, at most 4096 bytes: the Reason is shortened (marked as truncated) to fit.
pub fn to_body(response: &Response) -> Vec<u8> {
    let body = serde_json::to_vec(response).expect("a response always serializes");
    if body.len() <= MAX_BODY_BYTES {
        return body;
    }
    let reason = response.reason.clone().unwrap_or_default();
    let mut fitted = response.clone();
    fitted.reason = Some(String::new());
    let without_reason = serde_json::to_vec(&fitted).expect("a response always serializes").len();
    let room = MAX_BODY_BYTES.saturating_sub(without_reason + TRUNCATED.len());
    fitted.reason = Some(format!("{}{TRUNCATED}", clip(&reason, room)));
    serde_json::to_vec(&fitted).expect("a response always serializes")
}

/// The longest prefix of `s` whose JSON-escaped form takes at most `max_bytes`.
fn clip(s: &str, max_bytes: usize) -> String {
    let mut used = 0;
    let end = s
        .char_indices()
        .find(|(_, c)| {
            used += escaped_len(*c);
            used > max_bytes
        })
        .map_or(s.len(), |(i, _)| i);
    s[..end].to_owned()
}

/// Bytes a character takes inside a JSON string as serde_json writes it.
fn escaped_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn envelope(request_type: &str) -> Envelope {
        Envelope {
            response_url: "https://b.s3.amazonaws.com/x?sig".into(),
            request_type: request_type.into(),
            resource_type: "Custom::DeliverySource".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1".into(),
            request_id: "req-1".into(),
            logical_id: "Src".into(),
            physical_id: Some("src".into()),
        }
    }

    fn parsed(body: &[u8]) -> Value {
        serde_json::from_slice(body).unwrap()
    }

    #[test]
    fn success_echoes_ids_and_stringly_data() {
        let outcome = Outcome {
            physical_id: "src".into(),
            data: vec![("Arn", "arn:x".into()), ("Name", "src".into())],
        };
        let v = parsed(&to_body(&success(&envelope("Create"), &outcome)));
        assert_eq!(v["Status"], "SUCCESS");
        assert_eq!(v["PhysicalResourceId"], "src");
        assert_eq!(v["StackId"], "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1");
        assert_eq!(v["RequestId"], "req-1");
        assert_eq!(v["LogicalResourceId"], "Src");
        assert_eq!(v["Data"]["Arn"], "arn:x");
        assert!(v["Data"].as_object().unwrap().values().all(Value::is_string));
    }

    #[test]
    fn failed_create_gets_a_marker_and_failed_update_keeps_its_id() {
        let v = parsed(&to_body(&failure(&envelope("Create"), "Name: bad")));
        assert_eq!(v["Status"], "FAILED");
        assert_eq!(v["PhysicalResourceId"], format!("{FAILED_CREATE_MARKER}req-1"));
        assert_eq!(v["Reason"], "Name: bad");
        let v = parsed(&to_body(&failure(&envelope("Update"), "x")));
        assert_eq!(v["PhysicalResourceId"], "src");
    }

    #[test]
    fn only_the_delete_of_a_marker_needs_no_operation() {
        let request = |action| Request {
            action,
            resource_type: "Custom::Anything".into(),
            properties: Value::Null,
            old_properties: None,
            stack_id: "s".into(),
            request_id: "r".into(),
            logical_id: "L".into(),
        };
        let marker = format!("{FAILED_CREATE_MARKER}req-1");
        let outcome = delete_of_failed_create(&request(Action::Delete {
            physical_id: marker.clone(),
        }))
        .unwrap();
        assert_eq!(
            outcome,
            Outcome {
                physical_id: marker.clone(),
                data: Vec::new()
            }
        );
        assert_eq!(
            delete_of_failed_create(&request(Action::Delete {
                physical_id: "src".into()
            })),
            None
        );
        assert_eq!(
            delete_of_failed_create(&request(Action::Update { physical_id: marker })),
            None
        );
        assert_eq!(delete_of_failed_create(&request(Action::Create)), None);
    }

    #[test]
    fn long_reasons_are_cut_to_fit_4096_bytes() {
        for filler in ["x", "é", "\"", "\u{1}", "😀"] {
            let reason = filler.repeat(10_000);
            let body = to_body(&failure(&envelope("Create"), &reason));
            assert!(body.len() <= MAX_BODY_BYTES, "{filler}: {}", body.len());
            let v = parsed(&body);
            let r = v["Reason"].as_str().unwrap();
            assert!(r.ends_with("[truncated]"), "{filler}");
            assert!(
                body.len() > MAX_BODY_BYTES - 64,
                "{filler}: used only {} bytes",
                body.len()
            );
        }
    }

    #[test]
    fn hostile_ids_are_bounded() {
        let mut e = envelope("Delete");
        e.stack_id = "\u{1}".repeat(5000);
        e.request_id = "r".repeat(5000);
        e.logical_id = "l".repeat(5000);
        e.physical_id = Some("p".repeat(5000));
        let body = to_body(&failure(&e, &"why ".repeat(2000)));
        assert!(body.len() <= MAX_BODY_BYTES, "{}", body.len());
        assert!(parsed(&body)["Reason"].as_str().is_some());
    }
}
