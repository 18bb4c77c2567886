//! `Custom::DeliverySource` → PutDeliverySource / GetDeliverySource / DeleteDeliverySource.
//! Name, ResourceArn and LogType are create-only: only tags change in place.

use serde_json::Value;

use super::owner::{delete_if_ours, Found};
use super::{tags, Ctx, Outcome, Resource};
use crate::props::{check_arn, check_len, check_name, check_word_chars, is_valid_name, Props, Tags};
use crate::{Error, OrAbsent};
use aws_sdk_cloudwatchlogs::types::DeliverySource as Live;

const KIND: &str = "delivery source";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliverySource {
    pub name: String,
    pub resource_arn: String,
    pub log_type: String,
    pub tags: Tags,
}

impl Resource for DeliverySource {
    const TYPE: &'static str = "Custom::DeliverySource";
    const PROPERTIES: &'static [&'static str] = &["Name", "ResourceArn", "LogType", "Tags"];

    fn parse(properties: &Value) -> Result<Self, Error> {
        let p = Props::new(properties, Self::PROPERTIES)?;
        let name = p.required_str("Name")?;
        check_name("Name", name)?;
        let resource_arn = p.required_str("ResourceArn")?;
        check_arn("ResourceArn", resource_arn)?;
        let log_type = p.required_str("LogType")?;
        check_len("LogType", log_type, 1, 255)?;
        check_word_chars("LogType", log_type)?;
        Ok(DeliverySource { name: name.into(), resource_arn: resource_arn.into(), log_type: log_type.into(), tags: p.tags()? })
    }

    async fn create(&self, ctx: &Ctx) -> Result<Outcome, Error> {
        match Found::classify(&ctx.owner, get(ctx, &self.name).await?, |s: &Live| s.tags()) {
            Found::Nothing => self.put_new(ctx).await,
            Found::Ours(live) => {
                tracing::info!(name = %self.name, "delivery source was created earlier by this stack resource; adopting it");
                self.converge(ctx, live).await
            }
            Found::Foreign(_) => Err(Error::AlreadyExists { kind: KIND, id: self.name.clone(), property: "Name" }),
        }
    }

    async fn update(&self, ctx: &Ctx, physical_id: &str) -> Result<Outcome, Error> {
        if self.name != physical_id {
            // Name is create-only: make the new one; CloudFormation deletes the old id afterwards.
            return self.create(ctx).await;
        }
        match get(ctx, &self.name).await? {
            Some(live) => self.converge(ctx, live).await,
            None => {
                tracing::warn!(name = %self.name, "delivery source was deleted outside CloudFormation; recreating it");
                self.put_new(ctx).await
            }
        }
    }

    async fn delete(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
        if !is_valid_name(physical_id) {
            return Ok(()); // not a name the service accepts, so nothing of that name exists
        }
        let found = Found::classify(&ctx.owner, get(ctx, physical_id).await?, |s: &Live| s.tags());
        let client = &ctx.logs.client;
        delete_if_ours(found, KIND, physical_id, || async {
            ctx.logs.call("DeleteDeliverySource", || client.delete_delivery_source().name(physical_id).send()).await.map(drop)
        })
        .await
    }
}

impl DeliverySource {
    async fn put_new(&self, ctx: &Ctx) -> Result<Outcome, Error> {
        let client = &ctx.logs.client;
        let tags = tags::on_create(&self.tags, &ctx.owner);
        let out = ctx
            .logs
            .call("PutDeliverySource", || {
                client
                    .put_delivery_source()
                    .name(&self.name)
                    .resource_arn(&self.resource_arn)
                    .log_type(&self.log_type)
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await?;
        let live = out.delivery_source.ok_or_else(|| missing("PutDeliverySource"))?;
        Ok(self.outcome(&live))
    }

    /// Brings an existing source in line: create-only properties must match, tags are synced.
    async fn converge(&self, ctx: &Ctx, live: Live) -> Result<Outcome, Error> {
        if !live.resource_arns().iter().any(|a| a == &self.resource_arn) {
            return Err(Error::CreateOnlyChange {
                kind: KIND,
                property: "ResourceArn",
                current: live.resource_arns().join(","),
                desired: self.resource_arn.clone(),
            });
        }
        if live.log_type() != Some(self.log_type.as_str()) {
            return Err(Error::CreateOnlyChange {
                kind: KIND,
                property: "LogType",
                current: live.log_type().unwrap_or_default().into(),
                desired: self.log_type.clone(),
            });
        }
        let arn = live.arn().ok_or_else(|| missing("GetDeliverySource"))?;
        tags::sync(ctx, arn, &self.tags).await?;
        Ok(self.outcome(&live))
    }

    fn outcome(&self, live: &Live) -> Outcome {
        Outcome {
            physical_id: self.name.clone(),
            data: vec![
                ("Arn", live.arn().unwrap_or_default().to_owned()),
                ("Name", self.name.clone()),
                ("Service", live.service().unwrap_or_default().to_owned()),
                ("LogType", self.log_type.clone()),
                ("ResourceArn", self.resource_arn.clone()),
            ],
        }
    }
}

async fn get(ctx: &Ctx, name: &str) -> Result<Option<Live>, Error> {
    let client = &ctx.logs.client;
    let out = ctx.logs.call("GetDeliverySource", || client.get_delivery_source().name(name).send()).await.or_absent()?;
    Ok(out.and_then(|o| o.delivery_source))
}

fn missing(operation: &'static str) -> Error {
    Error::Aws {
        operation,
        code: "IncompleteResponse".into(),
        message: "the response did not include the delivery source".into(),
        attempts: 1,
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
        let msg = DeliverySource::parse(&json!({"Name": "s", "LogType": "A"})).unwrap_err().to_string();
        assert_eq!(msg, "ResourceArn: is required");
    }
}
