//! CloudFormation custom-resource events, shaped by the `aws_lambda_events` types so they match
//! what the function deserializes.

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceRequest, CreateRequest, DeleteRequest, UpdateRequest,
};
use serde_json::{json, Value};

pub const STACK_ID: &str =
    "arn:aws:cloudformation:us-east-1:123456789012:stack/cfn-local-demo/0d5a4d10-c9d3-11ef-9f2a-0a1b2c3d4e5f";
pub const SERVICE_TOKEN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cfn-logs-delivery";
/// The account of [`STACK_ID`], for the ARNs in properties.
pub const ACCOUNT: &str = "123456789012";
pub const SOURCE: &str = "Custom::DeliverySource";
pub const DESTINATION: &str = "Custom::DeliveryDestination";
pub const DELIVERY: &str = "Custom::Delivery";

/// The one tag the example resources carry (`team=platform`).
pub fn team_tags() -> Value {
    json!([{"Key": "team", "Value": "platform"}])
}

/// The ARN of the CloudFront distribution `distribution` (e.g. `E1EXAMPLE`) in [`ACCOUNT`]: a source
/// ARN moto accepts (its allow-list of vended-log services includes CloudFront).
pub fn distribution_arn(distribution: &str) -> String {
    format!("arn:aws:cloudfront::{ACCOUNT}:distribution/{distribution}")
}

/// A CloudFront distribution's access-log source: the properties of a [`SOURCE`].
pub fn source_props(name: &str, distribution: &str, tags: Value) -> Value {
    json!({
        "Name": name,
        "ResourceArn": distribution_arn(distribution),
        "LogType": "ACCESS_LOGS",
        "Tags": tags,
    })
}

/// The ARN of the delivery destination `name` in us-east-1 of [`ACCOUNT`].
pub fn destination_arn(name: &str) -> String {
    format!("arn:aws:logs:us-east-1:{ACCOUNT}:delivery-destination:{name}")
}

/// An S3 destination (bucket `bucket-{name}`) in JSON, with a policy that lets [`ACCOUNT`] create
/// deliveries to it (so two changes per Create), tagged [`team_tags`]: the properties of a [`DESTINATION`].
pub fn destination_props(name: &str) -> Value {
    json!({
        "Name": name, "DestinationResourceArn": format!("arn:aws:s3:::bucket-{name}"), "OutputFormat": "json",
        "DeliveryDestinationPolicy": {"Version": "2012-10-17", "Statement": [{
            "Sid": "AllowAccount", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
            "Action": "logs:CreateDelivery", "Resource": "*"
        }]},
        "Tags": team_tags(),
    })
}

/// The pairing of source `source` with the destination [`destination_arn`] names, tagged
/// [`team_tags`], the delivery's settings left to the service: the properties of a [`DELIVERY`].
pub fn delivery_props(source: &str, destination: &str) -> Value {
    json!({"DeliverySourceName": source, "DeliveryDestinationArn": destination_arn(destination), "Tags": team_tags()})
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

/// A `$request` type (their fields cannot be set in a struct literal) with the fields every
/// request has.
macro_rules! request {
    ($request:ident, $resource_type:expr, $logical_id:expr, $props:expr, $response_url:expr) => {{
        let mut r = $request::default();
        r.service_token = Some(SERVICE_TOKEN.into());
        r.request_id = uuid::Uuid::new_v4().to_string();
        r.response_url = $response_url.into();
        r.stack_id = STACK_ID.into();
        r.resource_type = $resource_type.into();
        r.logical_resource_id = $logical_id.into();
        r.resource_properties = with_token($props);
        r
    }};
}

fn to_value(request: CloudFormationCustomResourceRequest) -> Value {
    serde_json::to_value(request).expect("a request always serializes")
}

pub fn create(resource_type: &str, logical_id: &str, props: Value, response_url: &str) -> Value {
    to_value(CloudFormationCustomResourceRequest::Create(request!(
        CreateRequest,
        resource_type,
        logical_id,
        props,
        response_url
    )))
}

pub fn update(
    resource_type: &str,
    logical_id: &str,
    physical_id: &str,
    props: Value,
    old_props: Value,
    response_url: &str,
) -> Value {
    let mut r = request!(UpdateRequest, resource_type, logical_id, props, response_url);
    r.physical_resource_id = physical_id.into();
    r.old_resource_properties = with_token(old_props);
    to_value(CloudFormationCustomResourceRequest::Update(r))
}

pub fn delete(resource_type: &str, logical_id: &str, physical_id: &str, props: Value, response_url: &str) -> Value {
    let mut r = request!(DeleteRequest, resource_type, logical_id, props, response_url);
    r.physical_resource_id = physical_id.into();
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
    let id = uuid::Uuid::new_v4().to_string();
    if let Some(obj) = event.as_object_mut() {
        obj.insert("RequestId".into(), Value::String(id.clone()));
    }
    id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_the_cloudformation_shape() {
        let c = create(SOURCE, "Src", json!({"Name": "n"}), "http://x/1");
        let common = json!({
            "ServiceToken": SERVICE_TOKEN, "ResponseURL": "http://x/1", "StackId": STACK_ID, "RequestId": c["RequestId"],
            "ResourceType": SOURCE, "LogicalResourceId": "Src", "ResourceProperties": {"Name": "n", "ServiceToken": SERVICE_TOKEN},
        });
        let with = |mut event: Value, fields: Value| {
            event
                .as_object_mut()
                .unwrap()
                .extend(fields.as_object().unwrap().clone());
            event
        };
        assert_eq!(c, with(common.clone(), json!({"RequestType": "Create"})));

        let u = update(
            SOURCE,
            "Src",
            "id-1",
            json!({"Name": "n"}),
            json!({"Name": "m"}),
            "http://x/1",
        );
        assert_ne!(u["RequestId"], c["RequestId"]);
        let old = json!({"Name": "m", "ServiceToken": SERVICE_TOKEN});
        let updated = json!({"RequestType": "Update", "RequestId": u["RequestId"], "PhysicalResourceId": "id-1", "OldResourceProperties": old});
        assert_eq!(u, with(common.clone(), updated));
        let d = delete(SOURCE, "Src", "id-1", json!({"Name": "n"}), "http://x/1");
        assert_eq!(
            d,
            with(
                common,
                json!({"RequestType": "Delete", "RequestId": d["RequestId"], "PhysicalResourceId": "id-1"})
            )
        );
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
