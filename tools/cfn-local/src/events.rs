//! CloudFormation custom-resource events, shaped by the `aws_lambda_events` types so they match
//! what the function deserializes.

use aws_lambda_events::event::cloudformation::{CloudFormationCustomResourceRequest, CreateRequest, DeleteRequest, UpdateRequest};
use serde_json::Value;

pub const STACK_ID: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/cfn-local-demo/0d5a4d10-c9d3-11ef-9f2a-0a1b2c3d4e5f";
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cfn-logs-delivery";

/// A fresh CloudFormation RequestId.
pub fn fresh_request_id() -> String {
    crate::ids::fresh_uuid()
}

/// Properties as CloudFormation sends them: always an object, with `ServiceToken` in it.
fn with_token(props: Value) -> Value {
    let mut props = match props {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    props.insert("ServiceToken".into(), Value::String(SERVICE_TOKEN.into()));
    Value::Object(props)
}

fn to_value(request: CloudFormationCustomResourceRequest) -> Value {
    serde_json::to_value(request).expect("a request always serializes")
}

pub fn create(resource_type: &str, logical_id: &str, props: Value, response_url: &str) -> Value {
    let mut r = CreateRequest::default();
    r.service_token = Some(SERVICE_TOKEN.into());
    r.request_id = fresh_request_id();
    r.response_url = response_url.into();
    r.stack_id = STACK_ID.into();
    r.resource_type = resource_type.into();
    r.logical_resource_id = logical_id.into();
    r.resource_properties = with_token(props);
    to_value(CloudFormationCustomResourceRequest::Create(r))
}

pub fn update(resource_type: &str, logical_id: &str, physical_id: &str, props: Value, old_props: Value, response_url: &str) -> Value {
    let mut r = UpdateRequest::default();
    r.service_token = Some(SERVICE_TOKEN.into());
    r.request_id = fresh_request_id();
    r.response_url = response_url.into();
    r.stack_id = STACK_ID.into();
    r.resource_type = resource_type.into();
    r.logical_resource_id = logical_id.into();
    r.physical_resource_id = physical_id.into();
    r.resource_properties = with_token(props);
    r.old_resource_properties = with_token(old_props);
    to_value(CloudFormationCustomResourceRequest::Update(r))
}

pub fn delete(resource_type: &str, logical_id: &str, physical_id: &str, props: Value, response_url: &str) -> Value {
    let mut r = DeleteRequest::default();
    r.service_token = Some(SERVICE_TOKEN.into());
    r.request_id = fresh_request_id();
    r.response_url = response_url.into();
    r.stack_id = STACK_ID.into();
    r.resource_type = resource_type.into();
    r.logical_resource_id = logical_id.into();
    r.physical_resource_id = physical_id.into();
    r.resource_properties = with_token(props);
    to_value(CloudFormationCustomResourceRequest::Delete(r))
}

/// The same event with another ResponseURL (for replaying saved events locally).
pub fn with_response_url(mut event: Value, url: &str) -> Value {
    if let Some(obj) = event.as_object_mut() {
        obj.insert("ResponseURL".into(), Value::String(url.into()));
    }
    event
}

/// The event's RequestId, if it has one.
pub fn request_id(event: &Value) -> Option<&str> {
    event.get("RequestId")?.as_str()
}

/// The event's RequestId, giving it a fresh one first if it has none (or a non-string one).
pub fn ensure_request_id(event: &mut Value) -> String {
    if let Some(id) = request_id(event).filter(|id| !id.is_empty()) {
        return id.to_string();
    }
    let id = fresh_request_id();
    if let Some(obj) = event.as_object_mut() {
        obj.insert("RequestId".into(), Value::String(id.clone()));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn events_have_the_cloudformation_shape() {
        let c = create("Custom::DeliverySource", "Src", json!({"Name": "n"}), "http://x/1");
        assert_eq!(c["RequestType"], "Create");
        assert_eq!(c["ResponseURL"], "http://x/1");
        assert_eq!(c["StackId"], STACK_ID);
        assert_eq!(c["ResourceType"], "Custom::DeliverySource");
        assert_eq!(c["LogicalResourceId"], "Src");
        assert_eq!(c["ResourceProperties"], json!({"Name": "n", "ServiceToken": SERVICE_TOKEN}));
        assert_eq!(c["ServiceToken"], SERVICE_TOKEN);
        assert!(c.get("PhysicalResourceId").is_none());

        let u = update("Custom::Delivery", "D", "id-1", json!({"A": "2"}), json!({"A": "1"}), "http://x/2");
        assert_eq!(u["RequestType"], "Update");
        assert_eq!(u["PhysicalResourceId"], "id-1");
        assert_eq!(u["OldResourceProperties"]["A"], "1");
        assert_ne!(u["RequestId"], c["RequestId"]);

        let d = delete("Custom::Delivery", "D", "id-1", json!({}), "http://x/3");
        assert_eq!(d["RequestType"], "Delete");
        assert_eq!(d["ResourceProperties"]["ServiceToken"], SERVICE_TOKEN);

        // Parses back as the function will parse it.
        let back: CloudFormationCustomResourceRequest = serde_json::from_value(u).unwrap();
        assert!(matches!(back, CloudFormationCustomResourceRequest::Update(_)));
    }

    #[test]
    fn response_url_rewrite_keeps_the_rest() {
        let e = json!({"RequestType": "Delete", "ResponseURL": "https://s3/x?sig", "RequestId": "r"});
        let e = with_response_url(e, "http://127.0.0.1:1/cfn-response/r");
        assert_eq!(e["ResponseURL"], "http://127.0.0.1:1/cfn-response/r");
        assert_eq!(e["RequestType"], "Delete");
        let mut no_id = json!({"RequestType": "Create"});
        let id = ensure_request_id(&mut no_id);
        assert_eq!(no_id["RequestId"], id);
    }
}
