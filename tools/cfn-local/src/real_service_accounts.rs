//! The real-service layer's rules for regions and accounts, around
//! [`crate::real_service`]'s: moto 5.2.5 already keeps state per region (the SigV4 credential
//! scope) and per account (keys from STS AssumeRole map to the role's account); these rules add
//! what it lacks. Each cites its public source.
//!
//! - **CloudFront answers only in us-east-1.** PutDeliverySource of a CloudFront resource in any
//!   other region fails `ValidationException` "PutDeliverySource action is not supported for this
//!   LogType in region eu-west-1" (terraform-aws-modules/terraform-aws-cloudfront#197 shows the
//!   code and text, PR #203 quotes the CloudFront developer guide, standard logging: "you must
//!   specify the US East (N. Virginia) Region (us-east-1)"; alphagov/govuk-infrastructure#2624).
//!   CreateDelivery from a CloudFront source outside us-east-1 gets the same answer with its own
//!   name in it (our wording, after the Put one; such a source can exist only in moto).
//! - **Cross-account CreateDelivery** (the CloudWatch Logs guide's cross-account delivery example;
//!   aws-cdk PR #36827): a caller in account A may name a destination of account B only if B's
//!   destination policy allows A `logs:CreateDelivery` (else `AccessDeniedException`, worded after
//!   the Logs cross-account denial "User with accountId: A is not authorized to perform: …",
//!   CloudSnorkel/CloudWatch2S3#24), and only an S3 or Firehose destination (else
//!   `ValidationException`, our wording). moto's CreateDelivery knows only the caller's own
//!   destinations, so the layer plays the call: it gives A a hidden *shadow* of B's destination
//!   (same type, resource and format, named [`SHADOW_PREFIX`]`{B}-{name}`), lets moto create the
//!   delivery to the shadow, and maps the shadow's ARN back to B's in every Logs answer. Shadows
//!   are left out of DescribeDeliveryDestinations and deleted with the last delivery using them.
//!   Chosen over state of the layer's own: moto keeps the delivery whole (Get, Describe, tags,
//!   Delete, its duplicate rules) and the mapping is a pure function of the ARN, so nothing is
//!   lost when the proxy restarts. Only a destination in the caller's own region is played.
//! - **A refused AssumeRole**: the real STS answers 403 `AccessDenied` "User: CALLER is not
//!   authorized to perform: sts:AssumeRole on resource: ROLE" when the role does not exist or its
//!   trust policy does not trust the caller (the query-protocol error shape quoted in
//!   Netflix/security_monkey#77; amzn/selling-partner-api-models#2523 shows the 403). moto assumes
//!   any role. The layer reads the role from moto's IAM and evaluates its trust policy for the
//!   caller's account ([`policy`]), `sts:ExternalId` included. The caller's own IAM policy is not
//!   checked (moto's callers have none).
//!
//! Like the other rules, lookups go straight to moto (neither counted nor faulted), and a lookup
//! that fails leaves the call to moto as it came. The calls of aws-sdk-sts 1.124 (the locked
//! version) are the query protocol: a form body `Action=AssumeRole&Version=2011-06-15&…`, XML
//! answers.

use crate::http::{self, Method, Request, Response};
use crate::moto::{self, ACCOUNT_HEADER};
use crate::real_service;
use crate::upstream::{aws_error, forward};
use serde_json::{json, Value};
use std::time::Duration;

/// The one region whose Logs delivery APIs serve CloudFront sources.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

/// How a shadow destination's name starts: `cfn-local-shadow-{account}-{name}`.
pub const SHADOW_PREFIX: &str = "cfn-local-shadow-";

/// Destination types a delivery may name in another account.
pub const CROSS_ACCOUNT_TYPES: &[&str] = &["S3", "FH"];

const LOOKUP_TIMEOUT: Duration = Duration::from_secs(60);
const LOGS_TARGET_PREFIX: &str = "Logs_20140328.";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// One call of the function (faults already applied) under these rules and then
/// [`real_service::handle`]'s.
pub(crate) async fn handle(upstream: &str, operation: &str, req: &Request) -> Response {
    let Some(moto) = Lookup::of(upstream, req) else {
        return real_service::handle(upstream, operation, req).await;
    };
    if operation == "AssumeRole" {
        return match assume_role_refused(&moto, req).await {
            Some(refusal) => refusal,
            None => forward(upstream, req).await,
        };
    }
    let body: Value = serde_json::from_slice(req.body()).unwrap_or(Value::Null);
    if let Some(refusal) = cloudfront_outside_us_east_1(&moto, operation, &body).await {
        return refusal;
    }
    let response = match operation {
        "CreateDelivery" => create_delivery(&moto, req, &body).await,
        "DeleteDelivery" => delete_delivery(&moto, req, &body).await,
        _ => real_service::handle(upstream, operation, req).await,
    };
    unshadow(operation, response)
}

/// Who signed a call: the `Credential=` of its SigV4 `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialScope {
    pub access_key: String,
    pub region: String,
    pub service: String,
}

impl CredentialScope {
    /// `None` for a call without a SigV4 `Authorization` header.
    pub fn of(req: &Request) -> Option<CredentialScope> {
        CredentialScope::parse(req.headers().get("authorization")?.to_str().ok()?)
    }

    /// From `AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, …`.
    pub fn parse(authorization: &str) -> Option<CredentialScope> {
        let (_, credential) = authorization.split_once("Credential=")?;
        let credential = credential.split([',', ' ']).next()?;
        let mut parts = credential.split('/');
        let (access_key, _date, region, service) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
        Some(CredentialScope {
            access_key: access_key.into(),
            region: region.into(),
            service: service.into(),
        })
    }
}

/// The `Action` of a query-protocol call (a form body, as STS and IAM take them).
pub fn query_action(req: &Request) -> Option<String> {
    let form = req
        .headers()
        .get("content-type")?
        .to_str()
        .ok()?
        .starts_with("application/x-www-form-urlencoded");
    form.then(|| form_value(req.body(), "Action")).flatten()
}

fn form_value(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// The keys an AssumeRole answer hands out, and the account moto maps them to (the role's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssumedRole {
    pub access_key_id: String,
    pub account: String,
    /// `arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION`
    pub arn: String,
}

impl AssumedRole {
    /// From the XML of a successful AssumeRole answer.
    pub fn from_answer(xml: &str) -> Option<AssumedRole> {
        let (access_key_id, arn) = (moto::xml_field(xml, "AccessKeyId")?, moto::xml_field(xml, "Arn")?);
        let account = arn.split(':').nth(4).filter(|a| !a.is_empty())?.to_string();
        Some(AssumedRole {
            access_key_id,
            account,
            arn,
        })
    }

    pub(crate) fn from_response(response: &Response) -> Option<AssumedRole> {
        AssumedRole::from_answer(std::str::from_utf8(response.body()).ok()?)
    }
}

/// Who calls: the account moto gives the caller's key and its principal ARN (STS GetCallerIdentity).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    pub account: String,
    pub arn: String,
}

/// Calls to moto on behalf of one request, signed as its caller (moto does not check signatures).
struct Lookup<'a> {
    upstream: &'a str,
    scope: CredentialScope,
}

impl<'a> Lookup<'a> {
    fn of(upstream: &'a str, req: &Request) -> Option<Lookup<'a>> {
        Some(Lookup {
            upstream,
            scope: CredentialScope::of(req)?,
        })
    }

    /// A Logs call in the caller's region, in `account` (`None`: the caller's own). Status and JSON.
    async fn logs(&self, account: Option<&str>, operation: &str, body: Value) -> Option<(u16, Value)> {
        let call = self
            .call(account, "logs")
            .header("x-amz-target", format!("{LOGS_TARGET_PREFIX}{operation}"));
        let (status, _, body) = http::send(
            call.header("content-type", "application/x-amz-json-1.1")
                .body(body.to_string()),
        )
        .await
        .ok()?;
        Some((status.as_u16(), moto::parse_json_lenient(&body)))
    }

    /// [`Lookup::logs`] that must answer 200: its JSON.
    async fn logs_ok(&self, account: Option<&str>, operation: &str, body: Value) -> Option<Value> {
        self.logs(account, operation, body)
            .await
            .filter(|(status, _)| *status == 200)
            .map(|(_, answer)| answer)
    }

    /// A query-protocol call (STS, IAM) answered as JSON (moto's `ContentType=JSON`): status and
    /// JSON (the text as a JSON string if it is not JSON).
    async fn query(&self, account: Option<&str>, service: &str, params: &[(&str, &str)]) -> Option<(u16, Value)> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .append_pair("ContentType", "JSON")
            .finish();
        let (status, _, body) = http::send(self.call(account, service).header("content-type", FORM).body(body))
            .await
            .ok()?;
        Some((status.as_u16(), moto::parse_json_lenient(&body)))
    }

    fn call(&self, account: Option<&str>, service: &str) -> reqwest::RequestBuilder {
        let authorization = moto::authorization(&self.scope.access_key, &self.scope.region, service);
        let call = http::client(Method::POST, &format!("{}/", self.upstream)).header("authorization", authorization);
        let call = match account {
            Some(account) => call.header(ACCOUNT_HEADER, account),
            None => call,
        };
        call.timeout(LOOKUP_TIMEOUT)
    }

    async fn identity(&self) -> Option<Identity> {
        let (status, answer) = self
            .query(
                None,
                "sts",
                &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
            )
            .await?;
        let result = answer
            .pointer("/GetCallerIdentityResponse/GetCallerIdentityResult")
            .filter(|_| status == 200)?;
        Some(Identity {
            account: result["Account"].as_str()?.to_string(),
            arn: result["Arn"].as_str()?.to_string(),
        })
    }
}

// ---- CloudFront: us-east-1 only ----

/// Rule: a CloudFront source's delivery calls answer only in [`CLOUDFRONT_REGION`] (module docs).
async fn cloudfront_outside_us_east_1(moto: &Lookup<'_>, operation: &str, body: &Value) -> Option<Response> {
    if moto.scope.region == CLOUDFRONT_REGION {
        return None;
    }
    let cloudfront = match operation {
        "PutDeliverySource" => body["resourceArn"].as_str().is_some_and(is_cloudfront_arn),
        "CreateDelivery" => {
            let name = body["deliverySourceName"].as_str()?;
            let source = moto.logs_ok(None, "GetDeliverySource", json!({ "name": name })).await?;
            source["deliverySource"]["service"] == "cloudfront"
        }
        _ => false,
    };
    let message = format!(
        "{operation} action is not supported for this LogType in region {}",
        moto.scope.region
    );
    cloudfront.then(|| aws_error(400, "ValidationException", &message))
}

fn is_cloudfront_arn(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("cloudfront")
}

// ---- Cross-account deliveries: shadow destinations ----

/// `arn:PARTITION:logs:REGION:ACCOUNT:delivery-destination:NAME`, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
struct DestinationArn {
    partition: String,
    region: String,
    account: String,
    name: String,
}

impl DestinationArn {
    fn parse(arn: &str) -> Option<DestinationArn> {
        let parts: Vec<&str> = arn.splitn(7, ':').collect();
        match parts[..] {
            ["arn", partition, "logs", region, account, "delivery-destination", name] if !name.is_empty() => {
                Some(DestinationArn {
                    partition: partition.into(),
                    region: region.into(),
                    account: account.into(),
                    name: name.into(),
                })
            }
            _ => None,
        }
    }

    fn arn(&self) -> String {
        format!(
            "arn:{}:logs:{}:{}:delivery-destination:{}",
            self.partition, self.region, self.account, self.name
        )
    }

    /// The shadow of this (other account's) destination in `account`.
    fn shadow_in(&self, account: &str) -> DestinationArn {
        DestinationArn {
            account: account.into(),
            name: format!("{SHADOW_PREFIX}{}-{}", self.account, self.name),
            ..self.clone()
        }
    }

    /// The destination this shadow stands for; `None` if it is no shadow.
    fn unshadowed(&self) -> Option<DestinationArn> {
        let (account, name) = self.name.strip_prefix(SHADOW_PREFIX)?.split_once('-')?;
        Some(DestinationArn {
            account: account.into(),
            name: name.into(),
            ..self.clone()
        })
    }
}

/// Rule: cross-account CreateDelivery (module docs). A delivery to the caller's own destination,
/// or to one the layer cannot read, goes on to moto as it came.
async fn create_delivery(moto: &Lookup<'_>, req: &Request, body: &Value) -> Response {
    let played = match cross_account_destination(moto, body).await {
        Some(destination) => play_cross_account(moto, req, body, destination).await,
        None => None,
    };
    match played {
        Some(response) => response,
        None => real_service::handle(moto.upstream, "CreateDelivery", req).await,
    }
}

/// What the layer knows of another account's destination named by a CreateDelivery.
struct Foreign {
    arn: DestinationArn,
    caller: Identity,
    destination: Value,
    policy: Option<Value>,
}

async fn cross_account_destination(moto: &Lookup<'_>, body: &Value) -> Option<Foreign> {
    let arn = DestinationArn::parse(body["deliveryDestinationArn"].as_str()?)?;
    let caller = moto.identity().await?;
    if arn.account == caller.account || arn.region != moto.scope.region {
        return None;
    }
    let owner = Some(arn.account.as_str());
    let destination = moto
        .logs_ok(owner, "GetDeliveryDestination", json!({ "name": arn.name }))
        .await?["deliveryDestination"]
        .take();
    let policy = moto
        .logs_ok(
            owner,
            "GetDeliveryDestinationPolicy",
            json!({ "deliveryDestinationName": arn.name }),
        )
        .await?;
    let policy = policy["policy"]["deliveryDestinationPolicy"]
        .as_str()
        .and_then(|p| serde_json::from_str(p).ok());
    Some(Foreign {
        arn,
        caller,
        destination,
        policy,
    })
}

/// Refuses, or creates the delivery to the destination's shadow. `None`: a lookup failed.
async fn play_cross_account(moto: &Lookup<'_>, req: &Request, body: &Value, foreign: Foreign) -> Option<Response> {
    let Foreign {
        arn,
        caller,
        destination,
        policy,
    } = foreign;
    let allowed = policy
        .as_ref()
        .is_some_and(|p| policy::allows(p, &caller, "logs:CreateDelivery", &arn.arn(), &[]));
    if !allowed {
        let message = format!(
            "User with accountId: {} is not authorized to perform: logs:CreateDelivery on resource: {}",
            caller.account,
            arn.arn()
        );
        return Some(aws_error(400, "AccessDeniedException", &message));
    }
    let kind = destination["deliveryDestinationType"].as_str().unwrap_or("?");
    if !CROSS_ACCOUNT_TYPES.contains(&kind) {
        let message = format!(
            "Delivery destination {} is of type {kind}: only S3 and Firehose (FH) destinations can receive deliveries from another account",
            arn.arn()
        );
        return Some(aws_error(400, "ValidationException", &message));
    }
    let shadow = arn.shadow_in(&caller.account);
    let mut put = json!({ "name": shadow.name, "deliveryDestinationConfiguration": destination["deliveryDestinationConfiguration"] });
    if let Some(format) = destination.get("outputFormat") {
        put["outputFormat"] = format.clone();
    }
    moto.logs_ok(None, "PutDeliveryDestination", put).await?;
    let mut rewritten = body.clone();
    rewritten["deliveryDestinationArn"] = json!(shadow.arn());
    let response = real_service::handle(
        moto.upstream,
        "CreateDelivery",
        &req.clone().map(|_| rewritten.to_string().into()),
    )
    .await;
    if response.status() != 200 {
        remove_if_unused(moto, &shadow).await;
    }
    Some(response)
}

/// DeleteDelivery, then the shadow destination it used if no other delivery uses it.
async fn delete_delivery(moto: &Lookup<'_>, req: &Request, body: &Value) -> Response {
    let delivery = match body["id"].as_str() {
        Some(id) => moto.logs_ok(None, "GetDelivery", json!({ "id": id })).await,
        None => None,
    };
    let shadow = delivery
        .as_ref()
        .and_then(|d| DestinationArn::parse(d["delivery"]["deliveryDestinationArn"].as_str()?));
    let response = real_service::handle(moto.upstream, "DeleteDelivery", req).await;
    if let Some(shadow) = shadow.filter(|s| s.unshadowed().is_some() && response.status() == 200) {
        remove_if_unused(moto, &shadow).await;
    }
    response
}

async fn remove_if_unused(moto: &Lookup<'_>, shadow: &DestinationArn) {
    let Some(deliveries) = moto.logs_ok(None, "DescribeDeliveries", json!({})).await else {
        return;
    };
    let target = shadow.arn();
    let used = deliveries["deliveries"]
        .as_array()
        .is_some_and(|ds| ds.iter().any(|d| d["deliveryDestinationArn"] == target.as_str()));
    if !used {
        moto.logs(None, "DeleteDeliveryDestination", json!({ "name": shadow.name }))
            .await;
    }
}

/// Every Logs answer names the destination a shadow stands for, never the shadow;
/// DescribeDeliveryDestinations lists no shadows.
fn unshadow(operation: &str, response: Response) -> Response {
    if response.status() != 200 {
        return response;
    }
    let Ok(mut answer) = serde_json::from_slice::<Value>(response.body()) else {
        return response;
    };
    let before = answer.clone();
    if operation == "DescribeDeliveryDestinations" {
        if let Some(items) = answer["deliveryDestinations"].as_array_mut() {
            items.retain(|d| !d["name"].as_str().is_some_and(|n| n.starts_with(SHADOW_PREFIX)));
        }
    }
    map_strings(&mut answer, &|s| {
        DestinationArn::parse(s)?.unshadowed().map(|d| d.arn())
    });
    if answer == before {
        return response;
    }
    response.map(|_| answer.to_string().into())
}

fn map_strings(value: &mut Value, f: &impl Fn(&str) -> Option<String>) {
    match value {
        Value::String(s) => {
            if let Some(mapped) = f(s) {
                *s = mapped;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| map_strings(v, f)),
        Value::Object(map) => map.values_mut().for_each(|v| map_strings(v, f)),
        _ => {}
    }
}

// ---- STS AssumeRole ----

/// Rule: AssumeRole of a role that does not exist or does not trust the caller is refused
/// (module docs). `None`: allowed, or a lookup failed.
async fn assume_role_refused(moto: &Lookup<'_>, req: &Request) -> Option<Response> {
    let role_arn = form_value(req.body(), "RoleArn")?;
    let external_id = form_value(req.body(), "ExternalId");
    let (account, name) = role_of(&role_arn)?;
    let caller = moto.identity().await?;
    let (status, answer) = moto
        .query(
            Some(account),
            "iam",
            &[("Action", "GetRole"), ("Version", "2010-05-08"), ("RoleName", name)],
        )
        .await?;
    let trusted = match status {
        200 => {
            let role = answer.pointer("/GetRoleResponse/GetRoleResult/Role")?;
            let context: Vec<(&str, &str)> = external_id.iter().map(|id| ("sts:ExternalId", id.as_str())).collect();
            role["Arn"] == role_arn.as_str()
                && trust_policy(role)
                    .is_some_and(|trust| policy::allows(&trust, &caller, "sts:AssumeRole", &role_arn, &context))
        }
        // moto answers the error as JSON when asked for JSON, as XML otherwise.
        _ if answer.to_string().contains("NoSuchEntity") => false,
        _ => return None,
    };
    let message = format!(
        "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        caller.arn
    );
    (!trusted).then(|| sts_error(403, "AccessDenied", &message))
}

/// (account, role name) of `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`.
fn role_of(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", _, "iam", "", account, resource] => {
            Some((account, resource.strip_prefix("role/")?.rsplit('/').next()?))
        }
        _ => None,
    }
}

/// A role's AssumeRolePolicyDocument: IAM answers it URL-encoded.
fn trust_policy(role: &Value) -> Option<Value> {
    let document = role["AssumeRolePolicyDocument"].as_str()?;
    let decoded = percent_encoding::percent_decode_str(document).decode_utf8().ok()?;
    serde_json::from_str(&decoded).ok()
}

/// An error answer as the STS query protocol gives it (XML `ErrorResponse`).
fn sts_error(status: u16, code: &str, message: &str) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let body = format!(
        "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>{code}</Code>\
         <Message>{}</Message></Error><RequestId>{id}</RequestId></ErrorResponse>",
        xml_escaped(message)
    );
    http::respond(status, &[("Content-Type", "text/xml"), ("x-amzn-RequestId", &id)], body)
}

fn xml_escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The part of IAM policy evaluation these rules need: does a resource policy (a destination
/// policy, a role's trust policy) let `caller` do `action` on `resource`? An explicit Deny wins;
/// otherwise one Allow statement must match (IAM User Guide, policy evaluation logic).
pub mod policy {
    use super::Identity;
    use serde_json::Value;

    /// `context`: the request's condition keys (`sts:ExternalId`). A statement with a condition
    /// other than `StringEquals` on these keys, or with NotPrincipal / NotAction / NotResource,
    /// never matches: the layer refuses rather than guess.
    pub fn allows(document: &Value, caller: &Identity, action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
        let statements: Vec<&Value> = match &document["Statement"] {
            Value::Array(items) => items.iter().collect(),
            one @ Value::Object(_) => vec![one],
            _ => Vec::new(),
        };
        let matches = |s: &&Value| {
            ["NotPrincipal", "NotAction", "NotResource"]
                .iter()
                .all(|k| s.get(k).is_none())
                && principal_matches(&s["Principal"], caller)
                && strings(&s["Action"])
                    .iter()
                    .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
                && s.get("Resource")
                    .is_none_or(|r| strings(r).iter().any(|r| wildcard_match(r, resource)))
                && conditions_hold(s.get("Condition"), context)
        };
        let effect = |s: &&Value, e: &str| s["Effect"] == e;
        !statements.iter().any(|s| effect(s, "Deny") && matches(s))
            && statements.iter().any(|s| effect(s, "Allow") && matches(s))
    }

    /// `"*"`, or an `AWS` principal naming the caller: its account (the bare id or its `root`),
    /// `*`, the role the caller assumed, or the caller's user.
    fn principal_matches(principal: &Value, caller: &Identity) -> bool {
        match principal {
            Value::String(any) => any == "*",
            Value::Object(map) => map
                .get("AWS")
                .is_some_and(|aws| strings(aws).iter().any(|p| aws_principal_matches(p, caller))),
            _ => false,
        }
    }

    fn aws_principal_matches(principal: &str, caller: &Identity) -> bool {
        if principal == "*" || principal == caller.account {
            return true;
        }
        let parts: Vec<&str> = principal.splitn(6, ':').collect();
        let ["arn", _, "iam", "", account, resource] = parts[..] else {
            return false;
        };
        if account != caller.account {
            return false;
        }
        let caller_resource = caller.arn.splitn(6, ':').nth(5).unwrap_or("");
        match resource.split_once('/') {
            None => resource == "root",
            Some(("role", path)) => {
                let name = path.rsplit('/').next().unwrap_or(path);
                caller_resource
                    .strip_prefix("assumed-role/")
                    .and_then(|r| r.split('/').next())
                    == Some(name)
            }
            Some(("user", path)) => caller_resource
                .strip_prefix("user/")
                .is_some_and(|u| u.rsplit('/').next() == path.rsplit('/').next()),
            Some(_) => false,
        }
    }

    /// Only `StringEquals` on keys of `context` (keys compare case-insensitively).
    fn conditions_hold(conditions: Option<&Value>, context: &[(&str, &str)]) -> bool {
        let Some(conditions) = conditions else { return true };
        let Some(operators) = conditions.as_object() else {
            return false;
        };
        operators.iter().all(|(operator, keys)| {
            operator == "StringEquals"
                && keys.as_object().is_some_and(|keys| {
                    keys.iter().all(|(key, wanted)| {
                        let given = context
                            .iter()
                            .find(|(k, _)| k.eq_ignore_ascii_case(key))
                            .map(|(_, v)| *v);
                        given.is_some_and(|given| strings(wanted).contains(&given))
                    })
                })
        })
    }

    /// A policy element that is one string or a list of them.
    fn strings(value: &Value) -> Vec<&str> {
        match value {
            Value::String(s) => vec![s.as_str()],
            Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }

    /// IAM's wildcards: `*` any run of characters, `?` any one.
    pub fn wildcard_match(pattern: &str, text: &str) -> bool {
        let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
        let (mut pi, mut ti, mut star, mut resume) = (0, 0, None, 0);
        while ti < t.len() {
            if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
                (pi, ti) = (pi + 1, ti + 1);
            } else if pi < p.len() && p[pi] == '*' {
                (star, resume, pi) = (Some(pi), ti, pi + 1);
            } else if let Some(s) = star {
                (pi, resume) = (s + 1, resume + 1);
                ti = resume;
            } else {
                return false;
            }
        }
        p[pi..].iter().all(|c| *c == '*')
    }
}

#[cfg(test)]
mod tests {
    use super::policy::{allows, wildcard_match};
    use super::*;

    fn caller(account: &str, arn: &str) -> Identity {
        Identity {
            account: account.into(),
            arn: arn.into(),
        }
    }

    const DESTINATION: &str = "arn:aws:logs:us-east-1:222222222222:delivery-destination:central";

    #[test]
    fn credential_scope_and_query_action() {
        let scope = CredentialScope::parse(&moto::authorization("AKID", "eu-west-1", "logs")).unwrap();
        assert_eq!(
            (scope.access_key.as_str(), scope.region.as_str(), scope.service.as_str()),
            ("AKID", "eu-west-1", "logs")
        );
        assert_eq!(CredentialScope::parse("Bearer x"), None);
        let req = hyper::Request::builder()
            .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
            .body("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws".into())
            .unwrap();
        assert_eq!(query_action(&req).as_deref(), Some("AssumeRole"));
        assert_eq!(form_value(req.body(), "RoleArn").as_deref(), Some("arn:aws"));
    }

    #[test]
    fn shadows_map_back_to_the_destination_they_stand_for() {
        let foreign = DestinationArn::parse(DESTINATION).unwrap();
        let shadow = foreign.shadow_in("123456789012");
        assert_eq!(
            shadow.arn(),
            "arn:aws:logs:us-east-1:123456789012:delivery-destination:cfn-local-shadow-222222222222-central"
        );
        assert_eq!(shadow.unshadowed(), Some(foreign.clone()));
        assert_eq!(foreign.unshadowed(), None);
        let answer = json!({"deliveryDestinations": [{"name": shadow.name, "arn": shadow.arn()}, {"name": "mine", "arn": "a"}],
            "deliveries": [{"deliveryDestinationArn": shadow.arn()}]});
        let shown: Value =
            serde_json::from_slice(unshadow("DescribeDeliveryDestinations", http::json(200, &answer)).body()).unwrap();
        assert_eq!(
            shown,
            json!({"deliveryDestinations": [{"name": "mine", "arn": "a"}], "deliveries": [{"deliveryDestinationArn": DESTINATION}]})
        );
    }

    #[test]
    fn role_arns_and_assume_role_answers() {
        assert_eq!(
            role_of("arn:aws:iam::222222222222:role/path/logs-writer"),
            Some(("222222222222", "logs-writer"))
        );
        assert_eq!(role_of("arn:aws:iam::222222222222:user/u"), None);
        let xml = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
            <AccessKeyId>ASIAX</AccessKeyId></Credentials><AssumedRoleUser><Arn>arn:aws:sts::222222222222:assumed-role/r/s</Arn>
            </AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>"#;
        let role = AssumedRole::from_answer(xml).unwrap();
        assert_eq!(
            (role.access_key_id.as_str(), role.account.as_str()),
            ("ASIAX", "222222222222")
        );
        let error = sts_error(403, "AccessDenied", "User: a<b> is not authorized");
        assert_eq!(
            moto::xml_field(std::str::from_utf8(error.body()).unwrap(), "Message").as_deref(),
            Some("User: a<b> is not authorized")
        );
    }

    #[test]
    fn principals_that_name_the_caller() {
        let root = caller("111111111111", "arn:aws:sts::111111111111:user/moto");
        let session = caller("111111111111", "arn:aws:sts::111111111111:assumed-role/deployer/s1");
        let allow = |principal: Value| json!({"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "logs:CreateDelivery"}]});
        for principal in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": "111111111111"}),
            json!({"AWS": ["x", "arn:aws:iam::111111111111:root"]}),
        ] {
            assert!(
                allows(
                    &allow(principal.clone()),
                    &root,
                    "logs:CreateDelivery",
                    DESTINATION,
                    &[]
                ),
                "{principal}"
            );
        }
        let role = allow(json!({"AWS": "arn:aws:iam::111111111111:role/deployer"}));
        assert!(allows(&role, &session, "logs:CreateDelivery", DESTINATION, &[]));
        assert!(
            !allows(&role, &root, "logs:CreateDelivery", DESTINATION, &[]),
            "a role principal trusts only that role"
        );
        for principal in [
            json!({"AWS": "333333333333"}),
            json!({"AWS": "arn:aws:iam::333333333333:root"}),
            json!({"Service": "logs.amazonaws.com"}),
        ] {
            assert!(
                !allows(
                    &allow(principal.clone()),
                    &root,
                    "logs:CreateDelivery",
                    DESTINATION,
                    &[]
                ),
                "{principal}"
            );
        }
    }

    #[test]
    fn actions_resources_deny_and_conditions() {
        let me = caller("111111111111", "arn:aws:sts::111111111111:user/moto");
        let statement = |extra: Value| {
            let mut s = json!({"Effect": "Allow", "Principal": {"AWS": "111111111111"}, "Action": ["logs:Create*"]});
            s.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
            s
        };
        let doc = |statements: Vec<Value>| json!({"Version": "2012-10-17", "Statement": statements});
        assert!(allows(
            &doc(vec![statement(json!({"Resource": DESTINATION}))]),
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[]
        ));
        assert!(!allows(
            &doc(vec![statement(
                json!({"Resource": "arn:aws:logs:*:*:delivery-destination:other"})
            )]),
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[]
        ));
        assert!(!allows(
            &doc(vec![
                statement(json!({})),
                json!({"Effect": "Deny", "Principal": "*", "Action": "*"})
            ]),
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[]
        ));
        assert!(!allows(
            &json!({"Statement": []}),
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[]
        ));
        let with_id = doc(vec![statement(
            json!({"Condition": {"StringEquals": {"sts:ExternalId": "x1"}}}),
        )]);
        assert!(allows(
            &with_id,
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[("sts:ExternalId", "x1")]
        ));
        assert!(!allows(
            &with_id,
            &me,
            "logs:CreateDelivery",
            DESTINATION,
            &[("sts:ExternalId", "x2")]
        ));
        assert!(!allows(&with_id, &me, "logs:CreateDelivery", DESTINATION, &[]));
        let unknown = doc(vec![statement(
            json!({"Condition": {"Bool": {"aws:SecureTransport": "true"}}}),
        )]);
        assert!(!allows(&unknown, &me, "logs:CreateDelivery", DESTINATION, &[]));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("logs:*", "logs:CreateDelivery"));
        assert!(wildcard_match("a*c?e", "abbbcde"));
        assert!(!wildcard_match("a*c?e", "abbbce"));
        assert!(!wildcard_match("logs:Create", "logs:CreateDelivery"));
    }
}
