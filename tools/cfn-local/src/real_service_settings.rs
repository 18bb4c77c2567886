//! The real-service layer's delivery-settings rules: the two calls moto 5.2.5 does not have.
//!
//! - **UpdateDeliveryConfiguration** (moto answers HTTP 500). The layer plays it: the delivery must
//!   exist (moto's GetDelivery); an `s3DeliveryConfiguration` for a delivery that is not S3 is
//!   refused with the service's ValidationException "Provided delivery configuration is invalid for
//!   the destination type." (terraform-provider-aws#46108, fixed by PR #46123; AWS Support quoted
//!   in #48527); the settings sent are stored exactly as sent: the service adds the
//!   `AWSLogs/{account-id}/CloudFront/` prefix only on CreateDelivery (cloudformation-coverage-
//!   roadmap#2274, terraform-provider-aws#46328), and an S3 block replaces the stored one whole (the
//!   handler always sends both S3 settings; a partial block must not pass for a merged one here).
//!   moto cannot change a delivery, and deleting and re-creating it there would change its id, so
//!   the stored settings are an overlay kept here, per moto and delivery id, laid over moto's
//!   GetDelivery answers and dropped with DeleteDelivery. (DescribeDeliveries lists no settings on
//!   the real service, so it needs none.)
//! - **DescribeConfigurationTemplates** (moto has none): answered from [`TEMPLATES`], filtered as
//!   the API filters (service, log types, resource types, destination types).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::http::{self, Method, Request, Response};
use crate::upstream::aws_error;

const TARGET_PREFIX: &str = "Logs_20140328.";
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(60);

/// The service's refusal of an S3 block for a delivery that is not S3 (terraform-provider-aws#46108).
pub const S3_BLOCK_REFUSED: &str = "Provided delivery configuration is invalid for the destination type.";
/// moto's own wording for a delivery id it does not have.
const NO_SUCH_DELIVERY: &str = "Requested Delivery does not exist in this account.";

/// The settings UpdateDeliveryConfiguration stored, per (moto endpoint, delivery id).
type Overlay = HashMap<(String, String), Map<String, Value>>;

fn overlay() -> &'static Mutex<Overlay> {
    static OVERLAY: OnceLock<Mutex<Overlay>> = OnceLock::new();
    OVERLAY.get_or_init(Default::default)
}

fn with_overlay<T>(f: impl FnOnce(&mut Overlay) -> T) -> T {
    f(&mut overlay().lock().unwrap_or_else(|e| e.into_inner()))
}

/// The answer to a call this module plays itself; `None` for every other call.
pub(crate) async fn answer(upstream: &str, operation: &str, req: &Request, body: &Value) -> Option<Response> {
    match operation {
        "UpdateDeliveryConfiguration" => Some(update_delivery_configuration(upstream, req, body).await),
        "DescribeConfigurationTemplates" => Some(http::json(200, &describe_configuration_templates(body))),
        _ => None,
    }
}

/// moto's answer to a call, as the real service would give it after the settings stored here:
/// GetDelivery carries them, DeleteDelivery forgets them.
pub(crate) fn after(upstream: &str, operation: &str, body: &Value, response: Response) -> Response {
    if response.status() != 200 {
        return response;
    }
    match operation {
        "DeleteDelivery" => {
            if let Some(id) = body["id"].as_str() {
                with_overlay(|o| o.remove(&(upstream.to_owned(), id.to_owned())));
            }
            response
        }
        "GetDelivery" => {
            let Ok(mut answer) = serde_json::from_slice::<Value>(response.body()) else {
                return response;
            };
            let Some(delivery) = answer["delivery"].as_object_mut() else {
                return response;
            };
            let key = (
                upstream.to_owned(),
                delivery
                    .get("id")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
            );
            let Some(stored) = with_overlay(|o| o.get(&key).cloned()) else {
                return response;
            };
            delivery.extend(stored);
            response.map(|_| answer.to_string().into())
        }
        _ => response,
    }
}

async fn update_delivery_configuration(upstream: &str, req: &Request, body: &Value) -> Response {
    let Some(id) = body["id"].as_str() else {
        return aws_error(
            400,
            "ValidationException",
            "1 validation error detected: Value null at 'id' failed to satisfy constraint: Member must not be null",
        );
    };
    let delivery = match moto_call(upstream, req, "GetDelivery", json!({ "id": id })).await {
        Some((200, answer)) => answer["delivery"].clone(),
        Some((404 | 400, _)) => return aws_error(400, "ResourceNotFoundException", NO_SUCH_DELIVERY),
        _ => {
            return aws_error(
                500,
                "ServiceUnavailableException",
                "the layer could not read the delivery from moto",
            )
        }
    };
    if body.get("s3DeliveryConfiguration").is_some() && delivery["deliveryDestinationType"] != "S3" {
        return aws_error(400, "ValidationException", S3_BLOCK_REFUSED);
    }
    let sent: Map<String, Value> = ["recordFields", "fieldDelimiter", "s3DeliveryConfiguration"]
        .into_iter()
        .filter_map(|field| body.get(field).map(|v| (field.to_owned(), v.clone())))
        .collect();
    with_overlay(|o| o.entry((upstream.to_owned(), id.to_owned())).or_default().extend(sent));
    http::json(200, &json!({}))
}

/// A call to moto made on behalf of the function's request (its headers: region and account).
async fn moto_call(upstream: &str, req: &Request, operation: &str, body: Value) -> Option<(u16, Value)> {
    let mut headers = http::end_to_end(req.headers());
    headers.insert("x-amz-target", format!("{TARGET_PREFIX}{operation}").try_into().ok()?);
    let call = http::client(Method::POST, &format!("{upstream}/"))
        .headers(headers)
        .body(body.to_string());
    let (status, _, answer) = http::send(call.timeout(LOOKUP_TIMEOUT)).await.ok()?;
    Some((status.as_u16(), serde_json::from_slice(&answer).unwrap_or(Value::Null)))
}

/// One configuration template: (service, log type, resource type, record fields, suffix-path
/// variables), answered for each destination type with that type's output formats.
struct SourceTemplate {
    service: &'static str,
    log_type: &'static str,
    resource_type: &'static str,
    fields: &'static [&'static str],
    suffix_variables: &'static [&'static str],
}

/// The templates the layer answers. None of their fields is marked mandatory: no public source
/// says which are, and a made-up one would refuse what the real service accepts.
///
/// - CloudFront ACCESS_LOGS: the 33 log file fields of the CloudFront developer guide (standard
///   logging reference, "Log file fields", shared by standard logging v2), which is also moto's
///   default record-field list; the suffix-path variables the standard logging (v2) S3 options
///   name: distribution id, year, month, day, hour. The real template also lists a subset of the
///   real-time log fields, left out here.
/// - Bedrock knowledge-base APPLICATION_LOGS: the record fields the CDK vended-logs mixins
///   (generated from the service's data) list for it (CfnKnowledgeBaseApplicationLogsRecordFields).
const TEMPLATES: &[SourceTemplate] = &[
    SourceTemplate {
        service: "cloudfront",
        log_type: "ACCESS_LOGS",
        resource_type: "distribution",
        fields: &[
            "date",
            "time",
            "x-edge-location",
            "sc-bytes",
            "c-ip",
            "cs-method",
            "cs(Host)",
            "cs-uri-stem",
            "sc-status",
            "cs(Referer)",
            "cs(User-Agent)",
            "cs-uri-query",
            "cs(Cookie)",
            "x-edge-result-type",
            "x-edge-request-id",
            "x-host-header",
            "cs-protocol",
            "cs-bytes",
            "time-taken",
            "x-forwarded-for",
            "ssl-protocol",
            "ssl-cipher",
            "x-edge-response-result-type",
            "cs-protocol-version",
            "fle-status",
            "fle-encrypted-fields",
            "c-port",
            "time-to-first-byte",
            "x-edge-detailed-result-type",
            "sc-content-type",
            "sc-content-len",
            "sc-range-start",
            "sc-range-end",
        ],
        suffix_variables: &["{DistributionId}", "{yyyy}", "{MM}", "{dd}", "{HH}"],
    },
    SourceTemplate {
        service: "bedrock",
        log_type: "APPLICATION_LOGS",
        resource_type: "knowledge-base",
        fields: &["event_timestamp", "event", "event_type", "event_version", "level"],
        suffix_variables: &["{yyyy}", "{MM}", "{dd}", "{HH}"],
    },
];

/// Output formats per destination type: the service's vended-logs rules (the CDK vended-logs
/// mixins list the same per destination).
const DESTINATIONS: &[(&str, &[&str])] = &[
    ("S3", &["json", "plain", "w3c", "parquet"]),
    ("CWL", &["json", "plain"]),
    ("FH", &["json", "plain", "raw"]),
];

/// The field delimiters offered for plain, w3c and raw output: tab (the default), space, comma
/// and pipe, as the CloudFront standard logging (v2) console offers them. A choice documented here
/// for the layer, not read from the service.
const DELIMITERS: &[&str] = &["\t", " ", ",", "|"];

/// The DescribeConfigurationTemplates answer for a request body (one page: the list is short).
fn describe_configuration_templates(request: &Value) -> Value {
    let wanted = |filter: &str, value: &str| {
        request[filter]
            .as_array()
            .is_none_or(|list| list.is_empty() || list.iter().any(|v| v.as_str() == Some(value)))
    };
    let service = request["service"].as_str();
    let mut templates = Vec::new();
    for t in TEMPLATES.iter().filter(|t| service.is_none_or(|s| s == t.service)) {
        if !wanted("logTypes", t.log_type) || !wanted("resourceTypes", t.resource_type) {
            continue;
        }
        for (destination_type, formats) in DESTINATIONS
            .iter()
            .filter(|(d, _)| wanted("deliveryDestinationTypes", d))
        {
            templates.push(template_json(t, destination_type, formats));
        }
    }
    json!({ "configurationTemplates": templates })
}

fn template_json(t: &SourceTemplate, destination_type: &str, formats: &[&str]) -> Value {
    let mut template = json!({
        "service": t.service,
        "logType": t.log_type,
        "resourceType": t.resource_type,
        "deliveryDestinationType": destination_type,
        "defaultDeliveryConfigValues": {"recordFields": t.fields},
        "allowedFields": t.fields.iter().map(|f| json!({"name": f, "mandatory": false})).collect::<Vec<_>>(),
        "allowedOutputFormats": formats,
        "allowedFieldDelimiters": DELIMITERS,
    });
    if destination_type == "S3" {
        template["allowedSuffixPathFields"] = json!(t.suffix_variables);
        template["defaultDeliveryConfigValues"]["s3DeliveryConfiguration"] = json!({"enableHiveCompatiblePath": false});
    }
    template
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(answer: &Value) -> Vec<String> {
        let templates = answer["configurationTemplates"].as_array().unwrap();
        templates
            .iter()
            .map(|t| {
                format!(
                    "{}/{}/{}",
                    t["service"].as_str().unwrap(),
                    t["logType"].as_str().unwrap(),
                    t["deliveryDestinationType"].as_str().unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn templates_are_filtered_like_the_api_filters_them() {
        let all = describe_configuration_templates(&json!({}));
        assert_eq!(kinds(&all).len(), 6);
        let cloudfront_s3 = describe_configuration_templates(
            &json!({"service": "cloudfront", "logTypes": ["ACCESS_LOGS"], "deliveryDestinationTypes": ["S3"]}),
        );
        assert_eq!(kinds(&cloudfront_s3), ["cloudfront/ACCESS_LOGS/S3"]);
        let template = &cloudfront_s3["configurationTemplates"][0];
        assert_eq!(template["allowedFields"].as_array().unwrap().len(), 33);
        assert_eq!(
            template["allowedOutputFormats"],
            json!(["json", "plain", "w3c", "parquet"])
        );
        assert!(template["allowedSuffixPathFields"]
            .as_array()
            .unwrap()
            .contains(&json!("{DistributionId}")));
        let cwl = describe_configuration_templates(&json!({"service": "bedrock", "deliveryDestinationTypes": ["CWL"]}));
        assert_eq!(kinds(&cwl), ["bedrock/APPLICATION_LOGS/CWL"]);
        assert!(
            cwl["configurationTemplates"][0]
                .get("allowedSuffixPathFields")
                .is_none(),
            "S3 only"
        );
        assert_eq!(
            kinds(&describe_configuration_templates(&json!({"service": "sso"}))),
            Vec::<String>::new()
        );
    }

    #[test]
    fn stored_settings_are_laid_over_get_delivery_and_dropped_with_delete() {
        let upstream = "http://overlay-test";
        with_overlay(|o| {
            o.insert(
                (upstream.into(), "d1".into()),
                json!({"fieldDelimiter": "|"}).as_object().unwrap().clone(),
            )
        });
        let moto_answer = || {
            http::respond(
                200,
                &[],
                json!({"delivery": {"id": "d1", "fieldDelimiter": ","}}).to_string(),
            )
        };
        let got: Value =
            serde_json::from_slice(after(upstream, "GetDelivery", &json!({"id": "d1"}), moto_answer()).body()).unwrap();
        assert_eq!(got["delivery"]["fieldDelimiter"], "|");
        after(
            upstream,
            "DeleteDelivery",
            &json!({"id": "d1"}),
            http::respond(200, &[], "{}"),
        );
        let got: Value =
            serde_json::from_slice(after(upstream, "GetDelivery", &json!({"id": "d1"}), moto_answer()).body()).unwrap();
        assert_eq!(got["delivery"]["fieldDelimiter"], ",");
    }
}
