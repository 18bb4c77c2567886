//! `Custom::Delivery` → CreateDelivery / UpdateDeliveryConfiguration / DeleteDelivery.
//! DeliverySourceName and DeliveryDestinationArn are create-only (a change replaces the delivery);
//! RecordFields, FieldDelimiter and the S3 settings change in place.
//!
//! Replacement order: normally the new delivery is created first and CloudFormation deletes the
//! old one afterwards. But the service allows one delivery per source *per destination type*, so
//! when the source stays and the new destination has the old one's type, the new delivery would
//! be refused while the old exists: then the old delivery is deleted first. If the create then
//! fails, CloudFormation's rollback Update recreates the old pairing.

use serde_json::Value;

use super::owner::{delete_if_ours, Found};
use super::{destination, tags, Ctx, Outcome, Resource};
use crate::props::{check_arn, check_len, check_name, Props, Tags};
use crate::{Error, OrAbsent};
use aws_sdk_cloudwatchlogs::types::{Delivery as Live, S3DeliveryConfiguration};

const KIND: &str = "delivery";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub source_name: String,
    pub destination_arn: String,
    pub record_fields: Option<Vec<String>>,
    pub field_delimiter: Option<String>,
    pub s3_suffix_path: Option<String>,
    pub s3_hive_compatible: Option<bool>,
    pub tags: Tags,
}

impl Resource for Delivery {
    const TYPE: &'static str = "Custom::Delivery";
    const PROPERTIES: &'static [&'static str] = &[
        "DeliverySourceName",
        "DeliveryDestinationArn",
        "RecordFields",
        "FieldDelimiter",
        "S3SuffixPath",
        "S3EnableHiveCompatiblePath",
        "Tags",
    ];

    fn parse(properties: &Value) -> Result<Self, Error> {
        let p = Props::new(properties, Self::PROPERTIES)?;
        let source_name = p.required_str("DeliverySourceName")?;
        check_name("DeliverySourceName", source_name)?;
        let destination_arn = p.required_str("DeliveryDestinationArn")?;
        destination_name(destination_arn)?;
        let record_fields = p.optional_str_list("RecordFields")?;
        if let Some(fields) = &record_fields {
            if fields.len() > 128 {
                return Err(Error::invalid("RecordFields", format!("at most 128 fields are allowed, got {}", fields.len())));
            }
            for (i, f) in fields.iter().enumerate() {
                check_len(&format!("RecordFields[{i}]"), f, 1, 64)?;
            }
        }
        let field_delimiter = p.optional_str("FieldDelimiter")?;
        if let Some(d) = field_delimiter {
            check_len("FieldDelimiter", d, 1, 5)?;
        }
        let s3_suffix_path = p.optional_str("S3SuffixPath")?;
        if let Some(s) = s3_suffix_path {
            check_len("S3SuffixPath", s, 1, 256)?;
        }
        Ok(Delivery {
            source_name: source_name.into(),
            destination_arn: destination_arn.into(),
            record_fields,
            field_delimiter: field_delimiter.map(Into::into),
            s3_suffix_path: s3_suffix_path.map(Into::into),
            s3_hive_compatible: p.optional_bool("S3EnableHiveCompatiblePath")?,
            tags: p.tags()?,
        })
    }

    async fn create(&self, ctx: &Ctx) -> Result<Outcome, Error> {
        let client = &ctx.logs.client;
        let tags = tags::on_create(&self.tags, &ctx.owner);
        let created = ctx
            .logs
            .call("CreateDelivery", || {
                client
                    .create_delivery()
                    .delivery_source_name(&self.source_name)
                    .delivery_destination_arn(&self.destination_arn)
                    .set_record_fields(self.record_fields.clone())
                    .set_field_delimiter(self.field_delimiter.clone())
                    .set_s3_delivery_configuration(self.s3_configuration())
                    .set_tags(Some(tags.clone()))
                    .send()
            })
            .await;
        let refusal = match created {
            Ok(out) => return Ok(outcome(&out.delivery.ok_or_else(|| missing("CreateDelivery"))?)),
            Err(e) if e.is_conflict() => e,
            Err(e) => return Err(e),
        };
        // The pairing exists already: ours from an earlier attempt (adopt) or someone else's (refuse).
        match Found::classify(&ctx.owner, self.find_existing(ctx).await?, |d: &Live| d.tags()) {
            Found::Ours(live) => {
                tracing::info!(id = live.id().unwrap_or_default(), "delivery was created earlier by this stack resource; adopting it");
                self.converge(ctx, live).await
            }
            Found::Foreign(live) => Err(Error::AlreadyExists {
                kind: KIND,
                id: format!("{} ({} -> {})", live.id().unwrap_or_default(), self.source_name, self.destination_arn),
                property: "DeliverySourceName or DeliveryDestinationArn",
            }),
            Found::Nothing => Err(refusal), // e.g. one delivery per source and destination type
        }
    }

    async fn update(&self, ctx: &Ctx, physical_id: &str) -> Result<Outcome, Error> {
        let Some(live) = get(ctx, physical_id).await? else {
            tracing::warn!(id = physical_id, "delivery was deleted outside CloudFormation; creating it again (new id)");
            return self.create(ctx).await;
        };
        let same_pairing = live.delivery_source_name() == Some(self.source_name.as_str())
            && live.delivery_destination_arn() == Some(self.destination_arn.as_str());
        if same_pairing {
            self.converge(ctx, live).await
        } else {
            self.replace(ctx, &live).await
        }
    }

    async fn delete(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
        let found = Found::classify(&ctx.owner, get(ctx, physical_id).await?, |d: &Live| d.tags());
        delete_if_ours(found, KIND, physical_id, || delete_by_id(ctx, physical_id)).await
    }
}

impl Delivery {
    fn s3_configuration(&self) -> Option<S3DeliveryConfiguration> {
        (self.s3_suffix_path.is_some() || self.s3_hive_compatible.is_some()).then(|| {
            S3DeliveryConfiguration::builder()
                .set_suffix_path(self.s3_suffix_path.clone())
                .set_enable_hive_compatible_path(self.s3_hive_compatible)
                .build()
        })
    }

    async fn replace(&self, ctx: &Ctx, old: &Live) -> Result<Outcome, Error> {
        if old.delivery_source_name() == Some(self.source_name.as_str()) {
            let name = destination_name(&self.destination_arn)?;
            let new_type = destination::live_type(ctx, name)
                .await?
                .ok_or_else(|| Error::invalid("DeliveryDestinationArn", format!("delivery destination '{name}' does not exist")))?;
            if old.delivery_destination_type().map(|t| t.as_str()) == Some(new_type.as_str()) {
                let old_id = old.id().unwrap_or_default();
                tracing::info!(old_id, destination_type = %new_type, "one delivery per source and destination type: deleting the old delivery before creating its replacement");
                delete_by_id(ctx, old_id).await?;
            }
        }
        self.create(ctx).await
    }

    /// Applies the in-place settings that differ from the live delivery, then the tags.
    async fn converge(&self, ctx: &Ctx, live: Live) -> Result<Outcome, Error> {
        if self.configuration_differs(&live) {
            let client = &ctx.logs.client;
            let id = live.id().unwrap_or_default();
            ctx.logs
                .call("UpdateDeliveryConfiguration", || {
                    client
                        .update_delivery_configuration()
                        .id(id)
                        .set_record_fields(self.record_fields.clone())
                        .set_field_delimiter(self.field_delimiter.clone())
                        .set_s3_delivery_configuration(self.s3_configuration())
                        .send()
                })
                .await?;
        }
        let arn = live.arn().ok_or_else(|| missing("GetDelivery"))?;
        tags::sync(ctx, arn, &self.tags).await?;
        Ok(outcome(&live))
    }

    /// Only settings the template states are compared: an absent one leaves the service's value.
    fn configuration_differs(&self, live: &Live) -> bool {
        let s3 = live.s3_delivery_configuration();
        self.record_fields.as_deref().is_some_and(|f| f != live.record_fields())
            || self.field_delimiter.as_deref().is_some_and(|d| Some(d) != live.field_delimiter())
            || self.s3_suffix_path.as_deref().is_some_and(|p| Some(p) != s3.and_then(|c| c.suffix_path()))
            || self.s3_hive_compatible.is_some_and(|h| h != s3.and_then(|c| c.enable_hive_compatible_path()).unwrap_or(false))
    }

    /// The delivery for this exact source → destination pairing, if any.
    async fn find_existing(&self, ctx: &Ctx) -> Result<Option<Live>, Error> {
        let client = &ctx.logs.client;
        let mut next_token: Option<String> = None;
        loop {
            let page =
                ctx.logs.call("DescribeDeliveries", || client.describe_deliveries().set_next_token(next_token.clone()).send()).await?;
            let found = page.deliveries().iter().find(|d| {
                d.delivery_source_name() == Some(self.source_name.as_str())
                    && d.delivery_destination_arn() == Some(self.destination_arn.as_str())
            });
            if let Some(found) = found {
                return Ok(Some(found.clone()));
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(None),
            }
        }
    }
}

fn outcome(live: &Live) -> Outcome {
    let id = live.id().unwrap_or_default().to_owned();
    Outcome {
        physical_id: id.clone(),
        data: vec![
            ("Arn", live.arn().unwrap_or_default().to_owned()),
            ("DeliveryId", id),
            ("DeliveryDestinationType", live.delivery_destination_type().map(|t| t.as_str().to_owned()).unwrap_or_default()),
        ],
    }
}

/// The destination name inside a delivery-destination ARN, which must be one.
fn destination_name(arn: &str) -> Result<&str, Error> {
    let parsed = check_arn("DeliveryDestinationArn", arn)?;
    let name = parsed.resource.strip_prefix("delivery-destination:").filter(|_| parsed.service == "logs").ok_or_else(|| {
        Error::invalid(
            "DeliveryDestinationArn",
            "must be a delivery destination ARN (arn:aws:logs:REGION:ACCOUNT:delivery-destination:NAME), e.g. !GetAtt MyDestination.Arn",
        )
    })?;
    check_name("DeliveryDestinationArn", name)?;
    Ok(name)
}

/// Delivery ids are alphanumeric; anything else (a marker, a placeholder) names no delivery.
fn is_delivery_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric())
}

async fn get(ctx: &Ctx, id: &str) -> Result<Option<Live>, Error> {
    if !is_delivery_id(id) {
        return Ok(None);
    }
    let client = &ctx.logs.client;
    let out = ctx.logs.call("GetDelivery", || client.get_delivery().id(id).send()).await.or_absent()?;
    Ok(out.and_then(|o| o.delivery))
}

async fn delete_by_id(ctx: &Ctx, id: &str) -> Result<(), Error> {
    let client = &ctx.logs.client;
    ctx.logs.call("DeleteDelivery", || client.delete_delivery().id(id).send()).await.or_absent().map(drop)
}

fn missing(operation: &'static str) -> Error {
    Error::Aws { operation, code: "IncompleteResponse".into(), message: "the response did not include the delivery".into(), attempts: 1 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DEST: &str = "arn:aws:logs:us-east-1:123456789012:delivery-destination:dest";

    fn parse(v: Value) -> Result<Delivery, String> {
        Delivery::parse(&v).map_err(|e| e.to_string())
    }

    #[test]
    fn parses_all_properties() {
        let d = parse(json!({
            "DeliverySourceName": "src", "DeliveryDestinationArn": DEST,
            "RecordFields": ["date", "time"], "FieldDelimiter": ",", "S3SuffixPath": "{yyyy}/{MM}",
            "S3EnableHiveCompatiblePath": "true", "Tags": [{"Key": "k", "Value": "v"}]
        }))
        .unwrap();
        assert_eq!(d.record_fields, Some(vec!["date".to_string(), "time".to_string()]));
        assert_eq!(d.s3_hive_compatible, Some(true));
        assert_eq!(d.s3_configuration().unwrap().suffix_path(), Some("{yyyy}/{MM}"));
    }

    #[test]
    fn refusals_name_the_property() {
        let cases = [
            (json!({"DeliveryDestinationArn": DEST}), "DeliverySourceName: is required"),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": "arn:aws:s3:::bucket"}),
                "DeliveryDestinationArn: must be a delivery destination ARN",
            ),
            (json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "RecordFields": "date"}), "RecordFields: must be a list"),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "FieldDelimiter": "------"}),
                "FieldDelimiter: must be 1 to 5",
            ),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "S3EnableHiveCompatiblePath": "maybe"}),
                "S3EnableHiveCompatiblePath: must be",
            ),
            (json!({"DeliverySourceName": "s s", "DeliveryDestinationArn": DEST}), "DeliverySourceName: "),
        ];
        for (v, want) in cases {
            let e = parse(v).unwrap_err();
            assert!(e.starts_with(want), "{e} !~ {want}");
        }
    }

    #[test]
    fn only_stated_settings_count_as_changes() {
        let live = Live::builder()
            .id("abc")
            .record_fields("date")
            .record_fields("time")
            .field_delimiter(",")
            .s3_delivery_configuration(S3DeliveryConfiguration::builder().suffix_path("p").build())
            .build();
        let mut d = parse(json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST})).unwrap();
        assert!(!d.configuration_differs(&live));
        d.record_fields = Some(vec!["date".into(), "time".into()]);
        d.s3_hive_compatible = Some(false);
        assert!(!d.configuration_differs(&live));
        d.field_delimiter = Some("\t".into());
        assert!(d.configuration_differs(&live));
    }

    #[test]
    fn markers_and_placeholders_are_not_delivery_ids() {
        assert!(is_delivery_id("AbC123"));
        assert!(!is_delivery_id("cfn-logs-delivery:failed-create:x"));
        assert!(!is_delivery_id("stack-Delivery-1ABC"));
        assert!(!is_delivery_id(""));
    }
}
