//! The real-service layer of the Logs proxy: moto 5.2.5 is kinder than CloudWatch Logs, and tests
//! that pass only because of that prove nothing. This layer makes moto answer the delivery APIs
//! the way the real service does where the difference is publicly documented (docs/SERVICE-RULES.md#where-moto-differs).
//!
//! It sits behind the proxy's counting and fault injection. The lookups it makes on moto reuse the
//! caller's headers (moto reads region and account from the credential scope and does not check
//! signatures) and go straight upstream, so the proxy neither counts nor faults them. A lookup that
//! fails leaves the call as it came: the layer never invents an error of its own.

use crate::http::{self, Method, Request, Response};
use crate::real_service_settings;
use crate::upstream::{aws_error, forward};
use serde_json::{json, Map, Value};
use std::io;
use std::time::Duration;

/// How the Logs proxy answers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Semantics {
    /// moto plus the rules of this module: what the function meets in AWS.
    #[default]
    RealService,
    /// moto as it is.
    RawMoto,
}

/// The environment variable [`crate::Stack`] reads: `moto` for [`Semantics::RawMoto`]; unset,
/// empty or `real` for [`Semantics::RealService`].
pub const SEMANTICS_ENV: &str = "CFN_LOCAL_LOGS";

impl Semantics {
    /// From [`SEMANTICS_ENV`]; any other value is an `InvalidInput` error (a typo must not
    /// silently pick a mode).
    pub fn from_env() -> io::Result<Semantics> {
        Semantics::parse(std::env::var(SEMANTICS_ENV).ok().as_deref())
    }

    /// The value of [`SEMANTICS_ENV`], `None` if unset.
    pub fn parse(value: Option<&str>) -> io::Result<Semantics> {
        match value.map(str::trim).unwrap_or("") {
            "" | "real" => Ok(Semantics::RealService),
            "moto" => Ok(Semantics::RawMoto),
            other => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{SEMANTICS_ENV}={other:?}: expected \"moto\" or \"real\""),
            )),
        }
    }
}

const TARGET_PREFIX: &str = "Logs_20140328.";
/// Enough for any listing moto gives (it does not paginate these at all).
const MAX_PAGES: usize = 100;
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Rule 3's message, as the real service words it (terraform-provider-aws#40885).
pub const SOURCE_TAKEN_MESSAGE: &str =
    "This ResourceId has already been used in another Delivery Source in this account.";

/// Rule 5's prefix, `{account-id}` literally: the service fills it in at delivery time.
pub const CLOUDFRONT_S3_PREFIX: &str = "AWSLogs/{account-id}/CloudFront/";

/// One call of the function (faults already applied): refused, or rewritten and forwarded, and
/// its answer reshaped.
pub(crate) async fn handle(upstream: &str, operation: &str, req: &Request) -> Response {
    let moto = Lookup { upstream, req };
    let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
    let refusal = match operation {
        "PutDeliverySource" => source_taken(&moto, &body).await,
        "DeleteDeliverySource" | "DeleteDeliveryDestination" => in_use(&moto, operation, &body).await,
        _ => None,
    };
    if let Some(refusal) = refusal {
        return refusal;
    }
    if let Some(played) = real_service_settings::answer(upstream, operation, req, &body).await {
        return played; // calls moto does not have
    }
    let rewritten = if operation == "CreateDelivery" {
        cloudfront_s3_suffix(&moto, &body).await
    } else {
        None
    };
    let response = match rewritten {
        Some(rewritten) => forward(upstream, &req.clone().map(|_| rewritten.to_string().into())).await,
        None => forward(upstream, req).await,
    };
    reshape_answer(
        operation,
        real_service_settings::after(upstream, operation, &body, response),
    )
}

/// Calls to moto made on behalf of one request of the function.
struct Lookup<'a> {
    upstream: &'a str,
    req: &'a Request,
}

impl Lookup<'_> {
    /// The JSON answer of `operation`, `None` unless moto answered 200 with JSON.
    async fn call(&self, operation: &str, body: Value) -> Option<Value> {
        let mut headers = http::end_to_end(self.req.headers());
        headers.insert("x-amz-target", format!("{TARGET_PREFIX}{operation}").try_into().ok()?);
        let call = http::client(Method::POST, &format!("{}/", self.upstream))
            .headers(headers)
            .body(body.to_string());
        let (status, _, body) = http::send(call.timeout(LOOKUP_TIMEOUT)).await.ok()?;
        if status != 200 {
            return None;
        }
        serde_json::from_slice(&body).ok()
    }

    /// Every item of a Describe* listing, following `nextToken`.
    async fn list_all(&self, operation: &str, member: &str) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        let mut body = json!({});
        for _ in 0..MAX_PAGES {
            let page = self.call(operation, body).await?;
            items.extend(page.get(member)?.as_array()?.iter().cloned());
            match page.get("nextToken").and_then(Value::as_str).filter(|t| !t.is_empty()) {
                Some(token) => body = json!({ "nextToken": token }),
                None => return Some(items),
            }
        }
        None
    }
}

/// Rule 3: one delivery source per resource ARN and log type. PutDeliverySource of a new name for
/// a resource ARN and log type another source already has fails with ConflictException
/// (terraform-provider-aws#40885, cloudformation-coverage-roadmap#2513; the native
/// AWS::Logs::DeliverySource reports it as AlreadyExists). moto accepts it. A Put of the same name
/// is left to moto (overwrite, or its own rule against changing the resource ARN).
async fn source_taken(moto: &Lookup<'_>, put: &Value) -> Option<Response> {
    let (name, resource_arn, log_type) = (
        put["name"].as_str()?,
        put["resourceArn"].as_str()?,
        put["logType"].as_str()?,
    );
    let sources = moto.list_all("DescribeDeliverySources", "deliverySources").await?;
    let taken = sources.iter().any(|s| {
        s["name"].as_str() != Some(name)
            && s["logType"].as_str() == Some(log_type)
            && s["resourceArns"]
                .as_array()
                .is_some_and(|arns| arns.iter().any(|a| a.as_str() == Some(resource_arn)))
    });
    taken.then(|| aws_error(400, "ConflictException", SOURCE_TAKEN_MESSAGE))
}

/// Rule 4: a delivery source or destination some delivery uses cannot be deleted; the SDK docs of
/// DeleteDeliverySource and DeleteDeliveryDestination list ConflictException for it. moto deletes
/// it anyway. The real message text is not public: this one is made up, and the handler must not
/// depend on it (nor may it say "currently being updated", the transient kind).
async fn in_use(moto: &Lookup<'_>, operation: &str, delete: &Value) -> Option<Response> {
    let (name, source) = (delete["name"].as_str()?, operation == "DeleteDeliverySource");
    let arn_end = format!(":delivery-destination:{name}");
    let deliveries = moto.list_all("DescribeDeliveries", "deliveries").await?;
    let user = deliveries.iter().find(|d| match source {
        true => d["deliverySourceName"].as_str() == Some(name),
        false => d["deliveryDestinationArn"]
            .as_str()
            .is_some_and(|a| a.ends_with(&arn_end)),
    })?;
    let (kind, id) = (
        if source { "Source" } else { "Destination" },
        user["id"].as_str().unwrap_or("?"),
    );
    Some(aws_error(
        400,
        "ConflictException",
        &format!("Delivery {kind} {name} is in use by delivery {id} and cannot be deleted."),
    ))
}

/// Rule 5: a CreateDelivery from a CloudFront source to an S3 destination stores and reports
/// `AWSLogs/{account-id}/CloudFront/` + the given `suffixPath` (terraform-provider-aws#40968 shows
/// the stored "AWSLogs/{account-id}/CloudFront/cloudfront/{DistributionId}/{yyyy}/{MM}/{dd}";
/// #46328 / PR #46455; cloudformation-coverage-roadmap#2274). Returns the rewritten request body so
/// moto stores the prefixed value; `None` to forward unchanged. UpdateDeliveryConfiguration does not
/// add the prefix on the real service (same sources), so it is not touched.
async fn cloudfront_s3_suffix(moto: &Lookup<'_>, create: &Value) -> Option<Value> {
    let suffix = create["s3DeliveryConfiguration"]["suffixPath"]
        .as_str()
        .filter(|s| !s.is_empty())?;
    let source = moto
        .call(
            "GetDeliverySource",
            json!({ "name": create["deliverySourceName"].as_str()? }),
        )
        .await?;
    if source["deliverySource"]["service"] != "cloudfront" {
        return None;
    }
    let (_, destination_name) = create["deliveryDestinationArn"]
        .as_str()?
        .rsplit_once(":delivery-destination:")?;
    let destination = moto
        .call("GetDeliveryDestination", json!({ "name": destination_name }))
        .await?;
    if destination["deliveryDestination"]["deliveryDestinationType"] != "S3" {
        return None;
    }
    let mut rewritten = create.clone();
    rewritten["s3DeliveryConfiguration"]["suffixPath"] = json!(format!("{CLOUDFRONT_S3_PREFIX}{suffix}"));
    Some(rewritten)
}

/// Rule 1: answers of these operations carry no `tags` on the real service. Real Get* answers have
/// none (terraform-provider-aws reads tags with ListTagsForResource for all three kinds: "tags
/// aren't set in the Get response"; the native AWS::Logs::Delivery* handlers list
/// logs:ListTagsForResource for Read). moto fills them in (stale after Tag/Untag); they are
/// stripped from every delivery answer so the handler can rely on ListTagsForResource only.
const ANSWERS_WITHOUT_TAGS: &[&str] = &[
    "PutDeliverySource",
    "GetDeliverySource",
    "DescribeDeliverySources",
    "PutDeliveryDestination",
    "GetDeliveryDestination",
    "DescribeDeliveryDestinations",
    "CreateDelivery",
    "GetDelivery",
    "DescribeDeliveries",
];

/// Rule 2: DescribeDeliveries lists only these fields per delivery (aws/aws-cli#10002); read a
/// delivery whole with GetDelivery.
const DESCRIBE_DELIVERIES_FIELDS: &[&str] = &["id", "arn", "deliverySourceName", "deliveryDestinationArn"];

/// Rules 1 and 2 applied to a successful answer; anything else passes as it came.
fn reshape_answer(operation: &str, response: Response) -> Response {
    if response.status() != 200 || !ANSWERS_WITHOUT_TAGS.contains(&operation) {
        return response;
    }
    let Ok(Value::Object(mut answer)) = serde_json::from_slice::<Value>(response.body()) else {
        return response;
    };
    for member in answer.values_mut() {
        for resource in resources(member) {
            resource.remove("tags");
            if operation == "DescribeDeliveries" {
                resource.retain(|field, _| DESCRIBE_DELIVERIES_FIELDS.contains(&field.as_str()));
            }
        }
    }
    response.map(|_| Value::Object(answer).to_string().into())
}

/// The resource objects of one answer member: the object itself, or the objects of a listing.
fn resources(member: &mut Value) -> Vec<&mut Map<String, Value>> {
    match member {
        Value::Object(resource) => vec![resource],
        Value::Array(items) => items.iter_mut().filter_map(Value::as_object_mut).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semantics_from_the_environment_value() {
        assert_eq!(Semantics::parse(None).unwrap(), Semantics::RealService);
        assert_eq!(Semantics::parse(Some("")).unwrap(), Semantics::RealService);
        assert_eq!(Semantics::parse(Some("real")).unwrap(), Semantics::RealService);
        assert_eq!(Semantics::parse(Some("moto")).unwrap(), Semantics::RawMoto);
        assert_eq!(Semantics::parse(Some(" moto\n")).unwrap(), Semantics::RawMoto);
        assert_eq!(
            Semantics::parse(Some("raw")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
    }

    /// Stripping and trimming are tests/real_service.rs's rules 1 and 2; these answers pass as they came.
    #[test]
    fn reshaping_keeps_errors_and_the_next_token() {
        let list = http::respond(
            200,
            &[],
            json!({"deliveries": [{"id": "i", "tags": {}}], "nextToken": "t"}).to_string(),
        );
        let reshaped: Value = serde_json::from_slice(reshape_answer("DescribeDeliveries", list).body()).unwrap();
        assert_eq!(reshaped, json!({"deliveries": [{"id": "i"}], "nextToken": "t"}));
        let error = http::respond(400, &[], r#"{"__type":"X","tags":{}}"#);
        assert_eq!(
            reshape_answer("GetDelivery", error).body(),
            r#"{"__type":"X","tags":{}}"#
        );
    }
}
