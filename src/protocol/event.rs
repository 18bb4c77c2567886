//! Reading the CloudFormation event into a [`Request`]. Two passes: a lenient one that finds what is needed to
//! answer at all (ResponseURL and the ids to echo), then a strict one into the
//! `aws_lambda_events` types. A request that fails the strict pass is still answered FAILED.

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceRequest;
use serde_json::Value;

use crate::request::{Action, Request};
use crate::text::shorten;
use crate::Error;

/// Bounds on echoed ids, so that any answer fits CloudFormation's 4096-byte limit.
pub const MAX_PHYSICAL_ID: usize = 1024;
const MAX_STACK_ID: usize = 1024;
const MAX_SHORT_ID: usize = 256;

/// The fields of an answer that are copied from the request, read without judging the rest.
#[derive(Debug, Clone, Default)]
pub struct Envelope {
    pub response_url: String,
    pub request_type: String,
    pub resource_type: String,
    pub stack_id: String,
    pub request_id: String,
    pub logical_id: String,
    pub physical_id: Option<String>,
}

impl Envelope {
    /// `None` when there is no ResponseURL: then nobody can be answered.
    pub fn read(event: &Value) -> Option<Envelope> {
        let field = |name: &str| event.get(name).and_then(Value::as_str).map(str::to_owned);
        Some(Envelope {
            response_url: field("ResponseURL")?,
            request_type: field("RequestType").unwrap_or_default(),
            resource_type: field("ResourceType").unwrap_or_default(),
            stack_id: field("StackId").unwrap_or_default(),
            request_id: field("RequestId").unwrap_or_default(),
            logical_id: field("LogicalResourceId").unwrap_or_default(),
            physical_id: field("PhysicalResourceId"),
        })
    }
}

/// The strict pass.
pub fn parse_request(event: Value) -> Result<Request, Error> {
    if !event.is_object() {
        return Err(Error::InvalidRequest("the event is not a JSON object".into()));
    }
    let typed: CloudFormationCustomResourceRequest<Value, Value> =
        serde_json::from_value(event).map_err(|e| Error::InvalidRequest(shorten(&e.to_string(), 300)))?;
    let (action, resource_type, properties, old_properties, stack_id, request_id, logical_id) = match typed {
        CloudFormationCustomResourceRequest::Create(r) => (
            Action::Create,
            r.resource_type,
            r.resource_properties,
            None,
            r.stack_id,
            r.request_id,
            r.logical_resource_id,
        ),
        CloudFormationCustomResourceRequest::Update(r) => (
            Action::Update {
                physical_id: r.physical_resource_id,
            },
            r.resource_type,
            r.resource_properties,
            Some(r.old_resource_properties).filter(|old| !old.is_null()),
            r.stack_id,
            r.request_id,
            r.logical_resource_id,
        ),
        CloudFormationCustomResourceRequest::Delete(r) => (
            Action::Delete {
                physical_id: r.physical_resource_id,
            },
            r.resource_type,
            r.resource_properties,
            None,
            r.stack_id,
            r.request_id,
            r.logical_resource_id,
        ),
        _ => return Err(Error::InvalidRequest("unknown RequestType".into())),
    };
    check_id("StackId", &stack_id, MAX_STACK_ID)?;
    check_id("RequestId", &request_id, MAX_SHORT_ID)?;
    check_id("LogicalResourceId", &logical_id, MAX_SHORT_ID)?;
    check_id("ResourceType", &resource_type, MAX_SHORT_ID)?;
    if let Action::Update { physical_id } | Action::Delete { physical_id } = &action {
        check_id("PhysicalResourceId", physical_id, MAX_PHYSICAL_ID)?;
    }
    Ok(Request {
        action,
        resource_type,
        properties,
        old_properties,
        stack_id,
        request_id,
        logical_id,
    })
}

fn check_id(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::InvalidRequest(format!("{field} is empty")));
    }
    if value.len() > max {
        return Err(Error::InvalidRequest(format!(
            "{field} is {} bytes long; at most {max} are accepted",
            value.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(request_type: &str) -> Value {
        json!({
            "RequestType": request_type, "ResponseURL": "https://b.s3.amazonaws.com/x?sig=1",
            "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/s/1", "RequestId": "r-1",
            "ResourceType": "Custom::DeliverySource", "LogicalResourceId": "Src", "PhysicalResourceId": "src",
            "ResourceProperties": {"Name": "src"}, "OldResourceProperties": {"Name": "old"}
        })
    }

    #[test]
    fn reads_the_three_request_types() {
        assert_eq!(parse_request(event("Create")).unwrap().action, Action::Create);
        let update = parse_request(event("Update")).unwrap();
        assert_eq!(
            update.action,
            Action::Update {
                physical_id: "src".into()
            }
        );
        assert_eq!(update.old_properties, Some(json!({"Name": "old"})));
        let mut null_old = event("Update");
        null_old["OldResourceProperties"] = Value::Null;
        assert_eq!(parse_request(null_old).unwrap().old_properties, None);
        assert_eq!(
            parse_request(event("Delete")).unwrap().action,
            Action::Delete {
                physical_id: "src".into()
            }
        );
    }

    #[test]
    fn malformed_requests_are_errors_but_keep_an_envelope() {
        let mut e = event("Remove");
        assert!(parse_request(e.clone())
            .unwrap_err()
            .to_string()
            .starts_with("invalid request: unknown variant"));
        assert_eq!(Envelope::read(&e).unwrap().request_id, "r-1");
        e["StackId"] = json!(5);
        assert!(Envelope::read(&e).unwrap().stack_id.is_empty());
        let mut e = event("Update");
        e.as_object_mut().unwrap().remove("PhysicalResourceId");
        assert!(parse_request(e).unwrap_err().to_string().contains("PhysicalResourceId"));
        let mut e = event("Delete");
        e["PhysicalResourceId"] = json!("x".repeat(2000));
        assert!(parse_request(e).unwrap_err().to_string().contains("at most 1024"));
        assert!(Envelope::read(&json!({"RequestType": "Create"})).is_none());
        assert!(parse_request(json!([1])).is_err());
    }
}
