//! `Custom::DeliverySource` → PutDeliverySource / GetDeliverySource / DeleteDeliverySource.
//! Name, ResourceArn and LogType are create-only: only tags change in place.

use std::collections::HashMap;

use serde_json::Value;

use super::named::{self, Named};
use super::owner::{Existing, Found};
use super::place::{properties, Common, CLOUDFRONT_REGION};
use super::plan::{self, Change};
use super::{Ctx, Location, Outcome, Resource};
use crate::props::{check_arn, check_len, check_name, check_word_chars, Problems, Props, Tags};
use crate::{Error, OrAbsent};
use aws_sdk_cloudwatchlogs::types::DeliverySource as Live;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySource {
    pub name: String,
    pub resource_arn: String,
    pub log_type: String,
    /// `DeliverySourceConfiguration` (e.g. `{"samplingRate": "50"}`), as the template gives it.
    pub configuration: Option<HashMap<String, String>>,
    pub tags: Tags,
    pub common: Common,
}

impl Resource for DeliverySource {
    const TYPE: &'static str = "Custom::DeliverySource";
    const PROPERTIES: &'static [&'static str] =
        properties!["Name", "ResourceArn", "LogType", "DeliverySourceConfiguration", "Tags"];
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "Name", "Service", "LogType", "ResourceArn", "ResourceArns"];
    const ARN_TYPE: &'static str = "delivery-source";

    fn parse(properties: &Value) -> Result<Self, Problems> {
        let p = Props::new(properties, Self::PROPERTIES)?;
        let name = p.take(p.required_str("Name").and_then(|n| check_name("Name", n)));
        let resource_arn = p.take(
            p.required_str("ResourceArn")
                .and_then(|a| check_arn("ResourceArn", a).map(|_| a)),
        );
        let log_type = p.take(
            p.required_str("LogType")
                .and_then(|t| check_len("LogType", t, 1, 255))
                .and_then(|t| check_word_chars("LogType", t)),
        );
        let configuration = p
            .take(p.optional_str_map("DeliverySourceConfiguration", 1, 255))
            .flatten();
        let tags = p.take(p.tags());
        let common = Common::take(&p);
        p.finish(|| DeliverySource {
            name: name.unwrap_or_default().into(),
            resource_arn: resource_arn.unwrap_or_default().into(),
            log_type: log_type.unwrap_or_default().into(),
            configuration,
            tags: tags.unwrap_or_default(),
            common,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }

    /// CloudWatch Logs takes every delivery call for a CloudFront source in us-east-1 only,
    /// whatever the stack's region: elsewhere PutDeliverySource fails "PutDeliverySource action is
    /// not supported for this LogType in region …" (docs/SERVICE-RULES.md#cloudfront-is-us-east-1-only).
    fn check_place(&self, at: &Location) -> Result<(), Error> {
        let cloudfront = check_arn("ResourceArn", &self.resource_arn).is_ok_and(|a| a.service == "cloudfront");
        if !cloudfront || at.region == CLOUDFRONT_REGION {
            return Ok(());
        }
        let where_from = match &self.common.region {
            Some(region) => format!("Region is {region}"),
            None => format!(
                "Region is not set, so it would be made in the provider's region, {}",
                at.region
            ),
        };
        Err(Error::invalid(
            "Region",
            format!(
                "a CloudFront delivery source exists only in {CLOUDFRONT_REGION} (CloudWatch Logs takes every delivery call for \
                 CloudFront there, whatever the stack's region), but {where_from}. Set `Region: {CLOUDFRONT_REGION}` on the \
                 source, its destination and its delivery (the S3 bucket may stay in any region)"
            ),
        ))
    }
}

impl Named for DeliverySource {
    const KIND: &'static str = "delivery source";
    const PUT: &'static str = "PutDeliverySource";
    const DELETE: &'static str = "DeleteDeliverySource";
    type Live = Live;

    fn name(&self) -> &str {
        &self.name
    }

    fn tags(&self) -> &Tags {
        &self.tags
    }

    /// The source of that name and whose it is (GetDeliverySource, then ListTagsForResource).
    async fn find(ctx: &Ctx, name: &str) -> Result<Found<Live>, Error> {
        let client = &ctx.logs.client;
        let out = ctx
            .logs
            .call("GetDeliverySource", || client.get_delivery_source().name(name).send())
            .await
            .or_absent()?;
        Found::classify(
            ctx,
            out.and_then(|o| o.delivery_source),
            "GetDeliverySource",
            |s: &Live| s.arn(),
        )
        .await
    }

    /// PutDeliverySource of this source: with `tags` to create it, without to change its
    /// configuration in place (tags are only accepted on create).
    async fn put(&self, ctx: &Ctx, tags: Option<HashMap<String, String>>) -> Result<Live, Error> {
        let client = &ctx.logs.client;
        let out = ctx
            .logs
            .call("PutDeliverySource", || {
                client
                    .put_delivery_source()
                    .name(&self.name)
                    .resource_arn(&self.resource_arn)
                    .log_type(&self.log_type)
                    .set_delivery_source_configuration(self.configuration.clone())
                    .set_tags(tags.clone())
                    .send()
            })
            .await?;
        out.delivery_source.ok_or(Error::Incomplete {
            operation: "PutDeliverySource",
            what: "the delivery source",
        })
    }

    async fn finish_new(&self, _ctx: &Ctx, live: Live) -> Result<Outcome, Error> {
        Ok(self.outcome(&live))
    }

    /// Brings an existing source in line: create-only properties must match, the configuration
    /// is changed in place (Put without tags) when it changed, tags are synced. `old`: the
    /// template's previous properties, on Update.
    async fn converge(&self, ctx: &Ctx, existing: Existing<Live>, old: Option<&Self>) -> Result<Outcome, Error> {
        let live = &existing.live;
        if !live.resource_arns().iter().any(|a| a == &self.resource_arn) {
            return Err(Self::create_only(
                "ResourceArn",
                live.resource_arns().join(","),
                &self.resource_arn,
            ));
        }
        if live.log_type() != Some(self.log_type.as_str()) {
            return Err(Self::create_only(
                "LogType",
                live.log_type().unwrap_or_default(),
                &self.log_type,
            ));
        }
        let old_configuration = old.map(|old| old.configuration.as_ref());
        let changed = named::changed(
            self.configuration.as_ref(),
            old_configuration,
            live.delivery_source_configuration(),
        );
        let put = if changed {
            tracing::info!(name = %self.name, "changing the delivery source configuration in place");
            Some(self.put(ctx, None).await?)
        } else {
            None
        };
        existing.sync_tags(ctx, &self.tags).await?;
        Ok(self.outcome(put.as_ref().unwrap_or(live)))
    }

    /// ResourceArn and LogType are create-only; the configuration changes through PutDeliverySource.
    fn changes_from(&self, old: &Self) -> Result<Vec<Change>, Error> {
        if old.resource_arn != self.resource_arn {
            return Err(Self::create_only("ResourceArn", &old.resource_arn, &self.resource_arn));
        }
        if old.log_type != self.log_type {
            return Err(Self::create_only("LogType", &old.log_type, &self.log_type));
        }
        let mut changes = Vec::new();
        if plan::differs(old.configuration.as_ref(), self.configuration.as_ref()) {
            changes.push(Change {
                what: format!(
                    "DeliverySourceConfiguration {} -> {}",
                    plan::show_map(old.configuration.as_ref()),
                    plan::show_map(self.configuration.as_ref())
                ),
                call: "PutDeliverySource",
            });
        }
        plan::left_as_is(
            "DeliverySourceConfiguration",
            old.configuration.as_ref(),
            self.configuration.as_ref(),
            &mut changes,
        );
        Ok(changes)
    }

    async fn delete_call(ctx: &Ctx, name: &str) -> Result<(), Error> {
        let client = &ctx.logs.client;
        ctx.logs
            .call("DeleteDeliverySource", || {
                client.delete_delivery_source().name(name).send()
            })
            .await
            .map(drop)
    }

    /// A rename that keeps ResourceArn and LogType (in the same region and account): the service
    /// refuses a second source for the same resource and log type while the old one exists
    /// (docs/SERVICE-RULES.md#one-source-per-resource), and CloudFormation creates the new one first.
    fn check_rename(&self, old_name: &str, old: Option<&Self>) -> Result<(), Error> {
        match old.filter(|o| o.resource_arn == self.resource_arn && o.log_type == self.log_type) {
            Some(old) => Err(Error::RenameKeepsResourceArn {
                old_name: old_name.to_owned(),
                new_name: self.name.clone(),
                resource_arn: old.resource_arn.clone(),
                log_type: old.log_type.clone(),
            }),
            None => Ok(()),
        }
    }

    /// Terraform and the native type see this text for one source per resource and log type.
    fn explain_conflict(&self, refusal: Error) -> Error {
        if refusal.service_message().contains("ResourceId has already been used") {
            Error::ResourceArnTaken {
                resource_arn: self.resource_arn.clone(),
                log_type: self.log_type.clone(),
                message: refusal.service_message().to_owned(),
            }
        } else {
            refusal
        }
    }
}

impl DeliverySource {
    fn outcome(&self, live: &Live) -> Outcome {
        // The service names the source's service; if an answer ever leaves it out, the
        // ResourceArn's service part is the same value.
        let service = live.service().map(str::to_owned).or_else(|| {
            check_arn("ResourceArn", &self.resource_arn)
                .ok()
                .map(|a| a.service.to_owned())
        });
        // A list in the native type; Data values are strings: `!Split [",", !GetAtt Src.ResourceArns]`.
        let resource_arns = if live.resource_arns().is_empty() {
            self.resource_arn.clone()
        } else {
            live.resource_arns().join(",")
        };
        let data = super::data::<Self, _>([
            Some(live.arn().unwrap_or_default().to_owned()),
            Some(self.name.clone()),
            Some(service.unwrap_or_default()),
            Some(self.log_type.clone()),
            Some(self.resource_arn.clone()),
            Some(resource_arns),
        ]);
        Outcome {
            physical_id: self.name.clone(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_valid_source() {
        let s = DeliverySource::parse(&json!({
            "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f",
            "Name": "my-source", "ResourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "LogType": "ACCESS_LOGS",
            "Tags": [{"Key": "team", "Value": "platform"}]
        }))
        .unwrap();
        assert_eq!(s.name, "my-source");
        assert_eq!(s.tags.0.get("team").map(String::as_str), Some("platform"));
    }

    #[test]
    fn each_bad_property_is_named() {
        let base = json!({"Name": "s", "ResourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "LogType": "ACCESS_LOGS"});
        let cases = [
            ("Name", json!("bad name"), "Name: "),
            ("Name", json!(""), "Name: must not be empty"),
            ("ResourceArn", json!("distribution/E1"), "ResourceArn: "),
            ("LogType", json!(["ACCESS_LOGS"]), "LogType: must be a string"),
            ("LogType", json!("ACCESS LOGS"), "LogType: "),
            ("Tags", json!("team=a"), "Tags: "),
            ("Extra", json!("x"), "Extra: unknown property"),
        ];
        for (key, value, want) in cases {
            let mut props = base.clone();
            props[key] = value;
            let msg = DeliverySource::parse(&props).unwrap_err().to_string();
            assert!(msg.starts_with(want), "{key}: {msg}");
        }
        let msg = DeliverySource::parse(&json!({"Name": "s", "LogType": "A"}))
            .unwrap_err()
            .to_string();
        assert_eq!(msg, "ResourceArn: is required");
    }

    #[test]
    fn three_bad_properties_are_named_in_one_reason() {
        let msg = DeliverySource::parse(&json!({
            "Name": "bad name", "LogType": 5, "Colour": "red", "Tags": [{"Key": "k", "Value": "v", "Extra": 1}]
        }))
        .unwrap_err()
        .to_string();
        assert!(
            msg.starts_with("5 problems: ResourceArn: is required; Colour: unknown property"),
            "{msg}"
        );
        for needle in [
            "Name: 'bad name' contains ' '",
            "LogType: must be a string, got a number",
            "Tags[0]: unknown field 'Extra'",
        ] {
            assert!(msg.contains(needle), "{needle} in {msg}");
        }
    }

    #[test]
    fn delivery_source_configuration_is_a_map_of_short_strings() {
        let base = json!({"Name": "s", "ResourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "LogType": "ACCESS_LOGS"});
        let mut props = base.clone();
        props["DeliverySourceConfiguration"] = json!({"samplingRate": "50"});
        let s = DeliverySource::parse(&props).unwrap();
        assert_eq!(
            s.configuration,
            Some([("samplingRate".to_string(), "50".to_string())].into())
        );
        for (bad, want) in [
            (
                json!("samplingRate=50"),
                "DeliverySourceConfiguration: must be a map of strings, got a string",
            ),
            (
                json!({"samplingRate": 50}),
                "DeliverySourceConfiguration.samplingRate: must be a string, got a number",
            ),
            (
                json!({"samplingRate": ""}),
                "DeliverySourceConfiguration.samplingRate: must be 1 to 255 characters long, got 0",
            ),
            (
                json!({"": "50"}),
                "DeliverySourceConfiguration.: keys must be 1 to 255 characters long, got 0",
            ),
        ] {
            let mut props = base.clone();
            props["DeliverySourceConfiguration"] = bad;
            assert_eq!(DeliverySource::parse(&props).unwrap_err().to_string(), want);
        }
    }
}
