//! `Custom::DeliveryDestination` → PutDeliveryDestination (+ its policy) / Get / Delete.
//! Name, OutputFormat, DestinationResourceArn and DeliveryDestinationType are create-only;
//! the policy and the tags change in place.

use std::collections::HashMap;

use serde_json::Value;

use super::named::{self, Named};
use super::owner::{Existing, Found};
use super::place::{check_role_arn, properties, Common};
use super::plan::{self, Change};
use super::{Ctx, Outcome, Resource};
use crate::props::{check_arn, check_name, check_one_of, Problem, Problems, Props, Tags};
use crate::{Error, OrAbsent};
use aws_sdk_cloudwatchlogs::types::{
    DeliveryDestination as Live, DeliveryDestinationConfiguration, DeliveryDestinationType, OutputFormat,
};

pub const OUTPUT_FORMATS: &[&str] = &["json", "plain", "w3c", "raw", "parquet"];
pub const TYPES: &[&str] = &["S3", "CWL", "FH", "XRAY"];
/// The service's limit on a destination policy document.
const MAX_POLICY_BYTES: usize = 51_200;

#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryDestination {
    pub name: String,
    pub destination_resource_arn: Option<String>,
    pub output_format: Option<String>,
    /// As given, or inferred from DestinationResourceArn.
    pub destination_type: String,
    /// Whether the template named the type (only then is it sent to the API).
    pub type_given: bool,
    /// The role X-Ray delivery assumes (XRAY destinations only).
    pub role_arn: Option<String>,
    pub policy: Option<Value>,
    pub tags: Tags,
    pub common: Common,
}

impl Resource for DeliveryDestination {
    const TYPE: &'static str = "Custom::DeliveryDestination";
    const PROPERTIES: &'static [&'static str] = properties![
        "Name",
        "DestinationResourceArn",
        "OutputFormat",
        "DeliveryDestinationType",
        "RoleArn",
        "DeliveryDestinationPolicy",
        "Tags"
    ];
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "Name", "DeliveryDestinationType", "OutputFormat"];
    const ARN_TYPE: &'static str = "delivery-destination";

    fn parse(properties: &Value) -> Result<Self, Problems> {
        let p = Props::new(properties, Self::PROPERTIES)?;
        let name = p.take(p.required_str("Name").and_then(|n| check_name("Name", n)));
        let output_format = p
            .take(
                p.optional_str("OutputFormat")
                    .and_then(|f| one_of("OutputFormat", f, OUTPUT_FORMATS)),
            )
            .flatten();
        let given_type = p.take(
            p.optional_str("DeliveryDestinationType")
                .and_then(|t| one_of("DeliveryDestinationType", t, TYPES)),
        );
        let arn = p.take(p.optional_str("DestinationResourceArn"));
        let role_arn = p
            .take(
                p.optional_str("RoleArn")
                    .and_then(|r| r.map(|r| check_role_arn("RoleArn", r).map(|(arn, _)| arn)).transpose()),
            )
            .flatten();
        // The type needs both ARN and given type readable; a problem with either is reported already.
        let destination_type = match (arn, given_type) {
            (Some(arn), Some(given)) => p.take(destination_type(arn, given)),
            _ => None,
        };
        if let (Some(format), Some(kind)) = (output_format, destination_type.as_deref()) {
            p.take(check_format_fits(format, kind));
        }
        if p.has("RoleArn") && destination_type.as_deref().is_some_and(|t| t != "XRAY") {
            p.take::<()>(Err(Problem::value(
                "RoleArn",
                "is only supported for X-Ray destinations (DeliveryDestinationType: XRAY)",
            )));
        }
        let policy = p
            .take(
                p.optional_json_object("DeliveryDestinationPolicy")
                    .and_then(check_policy_size),
            )
            .flatten();
        let tags = p.take(p.tags());
        let common = Common::take(&p);
        p.finish(|| DeliveryDestination {
            name: name.unwrap_or_default().into(),
            destination_resource_arn: arn.flatten().map(|a| without_any_suffix(a).to_owned()),
            output_format: output_format.map(Into::into),
            destination_type: destination_type.unwrap_or_default(),
            type_given: given_type.flatten().is_some(),
            role_arn: role_arn.map(Into::into),
            policy,
            tags: tags.unwrap_or_default(),
            common,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }
}

impl Named for DeliveryDestination {
    const KIND: &'static str = "delivery destination";
    const PUT: &'static str = "PutDeliveryDestination";
    const DELETE: &'static str = "DeleteDeliveryDestination";
    type Live = Live;

    fn name(&self) -> &str {
        &self.name
    }

    fn tags(&self) -> &Tags {
        &self.tags
    }

    async fn find(ctx: &Ctx, name: &str) -> Result<Found<Live>, Error> {
        Found::classify(ctx, get(ctx, name).await?, "GetDeliveryDestination", |d: &Live| d.arn()).await
    }

    /// PutDeliveryDestination of this destination: with `tags` to create it, without to change its
    /// role in place (tags are only accepted on create).
    async fn put(&self, ctx: &Ctx, tags: Option<HashMap<String, String>>) -> Result<Live, Error> {
        let client = &ctx.logs.client;
        let config = self
            .destination_resource_arn
            .as_ref()
            .map(|arn| {
                DeliveryDestinationConfiguration::builder()
                    .destination_resource_arn(arn)
                    .build()
            })
            .transpose()
            .map_err(|e| Error::invalid("DestinationResourceArn", e.to_string()))?;
        let out = ctx
            .logs
            .call("PutDeliveryDestination", || {
                client
                    .put_delivery_destination()
                    .name(&self.name)
                    .set_output_format(self.output_format.as_deref().map(OutputFormat::from))
                    .set_delivery_destination_configuration(config.clone())
                    .set_delivery_destination_type(
                        self.type_given
                            .then(|| DeliveryDestinationType::from(self.destination_type.as_str())),
                    )
                    .set_role_arn(self.role_arn.clone())
                    .set_tags(tags.clone())
                    .send()
            })
            .await?;
        out.delivery_destination.ok_or(Error::Incomplete {
            operation: "PutDeliveryDestination",
            what: "the delivery destination",
        })
    }

    /// The policy of a destination just made.
    async fn finish_new(&self, ctx: &Ctx, live: Live) -> Result<Outcome, Error> {
        if let Some(policy) = &self.policy {
            if let Err(e) = put_policy(ctx, &self.name, policy).await {
                // The answer will be FAILED with a marker id, so CloudFormation would never delete
                // this destination: undo it here rather than leave an orphan behind.
                if let Err(undo) = Self::delete_call(ctx, &self.name).await {
                    tracing::error!(name = %self.name, error = %undo, "could not remove the destination whose policy failed");
                }
                return Err(e);
            }
        }
        Ok(self.outcome(&live))
    }

    /// Create-only properties must match; RoleArn, the policy and the tags change in place.
    async fn converge(&self, ctx: &Ctx, existing: Existing<Live>, old: Option<&Self>) -> Result<Outcome, Error> {
        let live = &existing.live;
        let live_arn = live
            .delivery_destination_configuration()
            .map(|c| c.destination_resource_arn());
        if let Some(desired) = &self.destination_resource_arn {
            if live_arn.map(without_any_suffix) != Some(desired.as_str()) {
                return Err(Self::create_only(
                    "DestinationResourceArn",
                    live_arn.unwrap_or_default(),
                    desired,
                ));
            }
        }
        let live_type = live.delivery_destination_type().map(|t| t.as_str()).unwrap_or_default();
        if !live_type.is_empty() && live_type != self.destination_type {
            return Err(Self::create_only(
                "DeliveryDestinationType",
                live_type,
                &self.destination_type,
            ));
        }
        if let Some(desired) = &self.output_format {
            let live_format = live.output_format().map(|f| f.as_str()).unwrap_or_default();
            if live_format != desired {
                return Err(Self::create_only("OutputFormat", live_format, desired));
            }
        }
        if named::changed(
            self.role_arn.as_deref(),
            old.map(|old| old.role_arn.as_deref()),
            live.role_arn(),
        ) {
            self.put(ctx, None).await?;
        }
        self.sync_policy(ctx).await?;
        existing.sync_tags(ctx, &self.tags).await?;
        Ok(self.outcome(live))
    }

    /// DestinationResourceArn, DeliveryDestinationType and OutputFormat are create-only; RoleArn
    /// changes through PutDeliveryDestination, the policy through its own calls.
    fn changes_from(&self, old: &Self) -> Result<Vec<Change>, Error> {
        let arn = |d: &Self| d.destination_resource_arn.clone().unwrap_or_default();
        if plan::differs(
            old.destination_resource_arn.as_ref(),
            self.destination_resource_arn.as_ref(),
        ) {
            return Err(Self::create_only("DestinationResourceArn", arn(old), arn(self)));
        }
        if old.destination_type != self.destination_type {
            return Err(Self::create_only(
                "DeliveryDestinationType",
                &old.destination_type,
                &self.destination_type,
            ));
        }
        if plan::differs(old.output_format.as_ref(), self.output_format.as_ref()) {
            let format = |d: &Self| d.output_format.clone().unwrap_or_default();
            return Err(Self::create_only("OutputFormat", format(old), format(self)));
        }
        let mut changes = Vec::new();
        if plan::differs(old.role_arn.as_ref(), self.role_arn.as_ref()) {
            changes.push(Change {
                what: "RoleArn".into(),
                call: "PutDeliveryDestination",
            });
        }
        plan::left_as_is("RoleArn", old.role_arn.as_ref(), self.role_arn.as_ref(), &mut changes);
        plan::left_as_is(
            "OutputFormat",
            old.output_format.as_ref(),
            self.output_format.as_ref(),
            &mut changes,
        );
        match (&old.policy, &self.policy) {
            (old, Some(new)) if old.as_ref() != Some(new) => changes.push(Change {
                what: "DeliveryDestinationPolicy".into(),
                call: "PutDeliveryDestinationPolicy",
            }),
            (Some(_), None) => changes.push(Change {
                what: "DeliveryDestinationPolicy removed".into(),
                call: "DeleteDeliveryDestinationPolicy",
            }),
            _ => {}
        }
        Ok(changes)
    }

    async fn delete_call(ctx: &Ctx, name: &str) -> Result<(), Error> {
        let client = &ctx.logs.client;
        ctx.logs
            .call("DeleteDeliveryDestination", || {
                client.delete_delivery_destination().name(name).send()
            })
            .await
            .map(drop)
    }
}

impl DeliveryDestination {
    /// Compares documents, not strings: reformatting a policy is not a change.
    async fn sync_policy(&self, ctx: &Ctx) -> Result<(), Error> {
        let client = &ctx.logs.client;
        let live = ctx
            .logs
            .call("GetDeliveryDestinationPolicy", || {
                client
                    .get_delivery_destination_policy()
                    .delivery_destination_name(&self.name)
                    .send()
            })
            .await
            .or_absent()?
            .and_then(|out| out.policy)
            .and_then(|p| p.delivery_destination_policy)
            .map(|s| serde_json::from_str::<Value>(&s).unwrap_or(Value::String(s)));
        match (&self.policy, live) {
            (Some(desired), Some(live)) if *desired == live => Ok(()),
            (Some(desired), _) => put_policy(ctx, &self.name, desired).await,
            (None, Some(_)) => ctx
                .logs
                .call("DeleteDeliveryDestinationPolicy", || {
                    client
                        .delete_delivery_destination_policy()
                        .delivery_destination_name(&self.name)
                        .send()
                })
                .await
                .map(drop),
            (None, None) => Ok(()),
        }
    }

    fn outcome(&self, live: &Live) -> Outcome {
        let destination_type = live
            .delivery_destination_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_else(|| self.destination_type.clone());
        // OutputFormat only when set.
        let format = live
            .output_format()
            .map(|f| f.as_str().to_owned())
            .or_else(|| self.output_format.clone());
        let data = super::data::<Self, _>([
            Some(live.arn().unwrap_or_default().to_owned()),
            Some(self.name.clone()),
            Some(destination_type),
            format,
        ]);
        Outcome {
            physical_id: self.name.clone(),
            data,
        }
    }
}

async fn put_policy(ctx: &Ctx, name: &str, policy: &Value) -> Result<(), Error> {
    let client = &ctx.logs.client;
    let doc = policy.to_string();
    ctx.logs
        .call("PutDeliveryDestinationPolicy", || {
            client
                .put_delivery_destination_policy()
                .delivery_destination_name(name)
                .delivery_destination_policy(&doc)
                .send()
        })
        .await
        .map(drop)
}

/// `value` if it is one of `allowed` (absent stays absent).
fn one_of<'v>(property: &str, value: Option<&'v str>, allowed: &[&str]) -> Result<Option<&'v str>, Problem> {
    value.map(|v| check_one_of(property, v, allowed)).transpose()
}

/// The output formats each destination type accepts, from the service's vended-logs rules (the
/// CDK vended-logs mixins, generated from the service's data, list the same per destination; an
/// X-Ray destination takes none). The service refuses the others only at CreateDelivery time.
pub const FORMATS_BY_TYPE: &[(&str, &[&str])] = &[
    ("S3", &["json", "plain", "w3c", "parquet"]),
    ("CWL", &["json", "plain"]),
    ("FH", &["json", "plain", "raw"]),
    ("XRAY", &[]),
];

/// An OutputFormat the destination type accepts ([`FORMATS_BY_TYPE`]).
fn check_format_fits(format: &str, destination_type: &str) -> Result<(), Problem> {
    let allowed = FORMATS_BY_TYPE
        .iter()
        .find(|(t, _)| *t == destination_type)
        .map_or(&[][..], |(_, formats)| *formats);
    if allowed.contains(&format) {
        return Ok(());
    }
    let message = match allowed {
        [] => format!("'{format}' is not accepted by {destination_type} destinations, which take no output format: remove OutputFormat"),
        _ => format!(
            "'{format}' is not accepted by {destination_type} destinations, which take {}; choose one of them or another destination type",
            allowed.join(", ")
        ),
    };
    Err(Problem::value("OutputFormat", message))
}

/// The destination's type: as given (XRAY needs no ARN and refuses one), or inferred from the ARN
/// (a given type must agree with it).
fn destination_type(arn: Option<&str>, given: Option<&str>) -> Result<String, Problem> {
    match (arn, given) {
        (Some(_), Some("XRAY")) => Err(Problem::value(
            "DestinationResourceArn",
            "must not be set when DeliveryDestinationType is XRAY",
        )),
        (None, Some("XRAY")) => Ok("XRAY".to_owned()),
        (None, _) => Err(Problem::value(
            "DestinationResourceArn",
            "is required (unless DeliveryDestinationType is XRAY)",
        )),
        (Some(arn), given) => {
            let inferred = type_of_arn(arn)?;
            match given.filter(|g| *g != inferred) {
                Some(given) => Err(Problem::value(
                    "DeliveryDestinationType",
                    format!("'{given}' does not match DestinationResourceArn, which names a {inferred} destination"),
                )),
                None => Ok(inferred.to_owned()),
            }
        }
    }
}

fn check_policy_size(policy: Option<Value>) -> Result<Option<Value>, Problem> {
    if let Some(size) = policy
        .as_ref()
        .map(|doc| doc.to_string().len())
        .filter(|size| *size > MAX_POLICY_BYTES)
    {
        return Err(Problem::value(
            "DeliveryDestinationPolicy",
            format!("is {size} bytes; the service allows at most {MAX_POLICY_BYTES}"),
        ));
    }
    Ok(policy)
}

/// The destination type an ARN implies: s3 → S3, logs → CWL, firehose → FH.
fn type_of_arn(arn: &str) -> Result<&'static str, Problem> {
    match check_arn("DestinationResourceArn", arn)?.service {
        "s3" => Ok("S3"),
        "logs" => Ok("CWL"),
        "firehose" => Ok("FH"),
        other => Err(Problem::value(
            "DestinationResourceArn",
            format!("'{other}' ARNs cannot receive logs; use an S3 bucket, a CloudWatch Logs log group or a Firehose delivery stream ARN"),
        )),
    }
}

async fn get(ctx: &Ctx, name: &str) -> Result<Option<Live>, Error> {
    let client = &ctx.logs.client;
    let out = ctx
        .logs
        .call("GetDeliveryDestination", || {
            client.get_delivery_destination().name(name).send()
        })
        .await
        .or_absent()?;
    Ok(out.and_then(|o| o.delivery_destination))
}

/// A log group's ARN as `!GetAtt LogGroup.Arn` gives it ends in `:*`; the Logs API's own
/// `logGroupArn` fields leave it out. Whether the delivery APIs normalise it is not documented
/// (docs/SERVICE-RULES.md#log-group-arn-suffix, aws-cdk#18253), so the handler sends the ARN without it and compares ARNs
/// without it: the suffix alone never makes two destinations differ.
pub fn without_any_suffix(arn: &str) -> &str {
    if arn.contains(":log-group:") {
        arn.strip_suffix(":*").unwrap_or(arn)
    } else {
        arn
    }
}

/// Used by `Custom::Delivery` to learn a destination's type before a replacement.
pub(super) async fn live_type(ctx: &Ctx, name: &str) -> Result<Option<String>, Error> {
    Ok(get(ctx, name)
        .await?
        .and_then(|d| d.delivery_destination_type().map(|t| t.as_str().to_owned())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: Value) -> Result<DeliveryDestination, String> {
        DeliveryDestination::parse(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn infers_the_type_from_the_arn() {
        let d = parse(json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::bucket", "OutputFormat": "json"}))
            .unwrap();
        assert_eq!(d.destination_type, "S3");
        assert!(!d.type_given);
        let d =
            parse(json!({"Name": "d", "DestinationResourceArn": "arn:aws:logs:us-east-1:123456789012:log-group:g"}))
                .unwrap();
        assert_eq!(d.destination_type, "CWL");
        let d = parse(json!({"Name": "d", "DestinationResourceArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/s", "DeliveryDestinationType": "FH"})).unwrap();
        assert_eq!(d.destination_type, "FH");
    }

    #[test]
    fn xray_needs_no_arn_and_refuses_one() {
        let d = parse(json!({"Name": "traces", "DeliveryDestinationType": "XRAY"})).unwrap();
        assert_eq!(d.destination_type, "XRAY");
        let e =
            parse(json!({"Name": "t", "DeliveryDestinationType": "XRAY", "DestinationResourceArn": "arn:aws:s3:::b"}))
                .unwrap_err();
        assert!(e.starts_with("DestinationResourceArn: must not be set"), "{e}");
    }

    #[test]
    fn role_arn_is_an_iam_role_for_xray_destinations_only() {
        let d = parse(json!({"Name": "t", "DeliveryDestinationType": "XRAY", "RoleArn": "arn:aws:iam::123456789012:role/xray-delivery"}))
            .unwrap();
        assert_eq!(
            d.role_arn.as_deref(),
            Some("arn:aws:iam::123456789012:role/xray-delivery")
        );
        let e = parse(json!({"Name": "t", "DestinationResourceArn": "arn:aws:s3:::b", "RoleArn": "arn:aws:iam::123456789012:role/r"}))
            .unwrap_err();
        assert_eq!(
            e,
            "RoleArn: is only supported for X-Ray destinations (DeliveryDestinationType: XRAY)"
        );
        let e = parse(
            json!({"Name": "t", "DeliveryDestinationType": "XRAY", "RoleArn": "arn:aws:iam::123456789012:user/u"}),
        )
        .unwrap_err();
        assert!(
            e.starts_with("RoleArn: 'arn:aws:iam::123456789012:user/u' is not an IAM role ARN"),
            "{e}"
        );
    }

    #[test]
    fn every_problem_is_named_once_without_cascades() {
        // A bad type is reported once, not again as "does not match" or "is required".
        let e = parse(json!({"Name": "bad name", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationType": "SQS", "OutputFormat": "xml"}))
            .unwrap_err();
        assert!(e.starts_with("3 problems: Name: "), "{e}");
        assert!(
            e.contains("OutputFormat: 'xml' is not one of")
                && e.contains("DeliveryDestinationType: 'SQS' is not one of"),
            "{e}"
        );
        assert!(!e.contains("does not match") && !e.contains("is required"), "{e}");
    }

    #[test]
    fn output_format_must_fit_the_destination_type() {
        let with =
            |arn: &str, format: &str| json!({"Name": "d", "DestinationResourceArn": arn, "OutputFormat": format});
        let (s3, cwl, fh) = (
            "arn:aws:s3:::b",
            "arn:aws:logs:us-east-1:123456789012:log-group:g",
            "arn:aws:firehose:us-east-1:123456789012:deliverystream/s",
        );
        for (arn, ok) in [
            (s3, ["json", "plain", "w3c", "parquet"].as_slice()),
            (cwl, &["json", "plain"]),
            (fh, &["json", "plain", "raw"]),
        ] {
            for format in OUTPUT_FORMATS {
                assert_eq!(
                    parse(with(arn, format)).is_ok(),
                    ok.contains(format),
                    "{format} on {arn}"
                );
            }
        }
        assert_eq!(
            parse(with(cwl, "parquet")).unwrap_err(),
            "OutputFormat: 'parquet' is not accepted by CWL destinations, which take json, plain; choose one of them or another destination type"
        );
        assert!(parse(with(fh, "w3c"))
            .unwrap_err()
            .starts_with("OutputFormat: 'w3c' is not accepted by FH destinations"));
        assert!(parse(with(s3, "raw"))
            .unwrap_err()
            .starts_with("OutputFormat: 'raw' is not accepted by S3 destinations"));
        let e = parse(json!({"Name": "t", "DeliveryDestinationType": "XRAY", "OutputFormat": "json"})).unwrap_err();
        assert!(e.contains("which take no output format"), "{e}");
    }

    #[test]
    fn log_group_arns_lose_their_star_suffix() {
        let d =
            parse(json!({"Name": "d", "DestinationResourceArn": "arn:aws:logs:us-east-1:123456789012:log-group:g:*"}))
                .unwrap();
        assert_eq!(
            d.destination_resource_arn.as_deref(),
            Some("arn:aws:logs:us-east-1:123456789012:log-group:g")
        );
        assert_eq!(
            without_any_suffix("arn:aws:s3:::bucket:*"),
            "arn:aws:s3:::bucket:*",
            "only log groups"
        );
    }

    #[test]
    fn refusals_name_the_property() {
        let cases = [
            (json!({"Name": "d"}), "DestinationResourceArn: is required"),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "OutputFormat": "xml"}),
                "OutputFormat: 'xml' is not one of",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationType": "s3"}),
                "DeliveryDestinationType: 's3' is not one of",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationType": "CWL"}),
                "DeliveryDestinationType: 'CWL' does not match",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:sqs:us-east-1:123456789012:q"}),
                "DestinationResourceArn: 'sqs' ARNs cannot receive logs",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "bucket"}),
                "DestinationResourceArn: 'bucket' is not an ARN",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationPolicy": "{"}),
                "DeliveryDestinationPolicy: is not valid JSON",
            ),
            (
                json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationPolicy": 5}),
                "DeliveryDestinationPolicy: must be a JSON object",
            ),
        ];
        for (v, want) in cases {
            let e = parse(v).unwrap_err();
            assert!(e.starts_with(want), "{e} !~ {want}");
        }
    }

    #[test]
    fn policy_as_string_or_object_is_the_same_document() {
        let doc = json!({"Version": "2012-10-17", "Statement": []});
        let a = parse(
            json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationPolicy": doc.clone()}),
        )
        .unwrap();
        let b = parse(json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "DeliveryDestinationPolicy": serde_json::to_string_pretty(&doc).unwrap()})).unwrap();
        assert_eq!(a.policy, b.policy);
    }
}
