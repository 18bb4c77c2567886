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

use super::config_template::{self, Settings};
use super::owner::{delete_if_ours, refuse_or_adopt, Existing, Found};
use super::place::{properties, Common};
use super::plan::{self, Before, Change, Decide, Decision, Facts, Replacement};
use super::{destination, tags, Ctx, Location, Operations, Outcome, Resource};
use crate::props::{check_arn, check_len, check_name, Problem, Problems, Props, Tags};
use crate::{Error, OrAbsent};
use aws_sdk_cloudwatchlogs::types::{Delivery as Live, DeliveryDestinationType, S3DeliveryConfiguration};

const KIND: &str = "delivery";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub source_name: String,
    /// Where DeliverySourceName says the source is, when it is given as the source's ARN (what
    /// `!Ref` gives for a source outside the provider's region or account).
    pub source_at: Option<Location>,
    pub destination_arn: String,
    pub record_fields: Option<Vec<String>>,
    pub field_delimiter: Option<String>,
    pub s3_suffix_path: Option<String>,
    pub s3_hive_compatible: Option<bool>,
    pub tags: Tags,
    pub common: Common,
}

impl Resource for Delivery {
    const TYPE: &'static str = "Custom::Delivery";
    const PROPERTIES: &'static [&'static str] = properties![
        "DeliverySourceName",
        "DeliveryDestinationArn",
        "RecordFields",
        "FieldDelimiter",
        "S3SuffixPath",
        "S3EnableHiveCompatiblePath",
        "Tags"
    ];
    const ATTRIBUTES: &'static [&'static str] = &["Arn", "DeliveryId", "DeliveryDestinationType"];
    const ARN_TYPE: &'static str = "delivery";

    fn parse(properties: &Value) -> Result<Self, Problems> {
        let p = Props::new(properties, Self::PROPERTIES)?;
        let source = p.take(p.required_str("DeliverySourceName").and_then(source_name));
        let destination_arn = p.take(
            p.required_str("DeliveryDestinationArn")
                .and_then(|a| destination_name(a).map(|_| a)),
        );
        let record_fields = p.take(p.optional_str_list("RecordFields", 128, 64)).flatten();
        let field_delimiter = p
            .take(
                p.optional_str("FieldDelimiter")
                    .and_then(|d| d.map(|d| check_len("FieldDelimiter", d, 1, 5)).transpose()),
            )
            .flatten();
        let s3_suffix_path = p
            .take(
                p.optional_str("S3SuffixPath")
                    .and_then(|s| s.map(|s| check_len("S3SuffixPath", s, 1, 256)).transpose()),
            )
            .flatten();
        let s3_hive_compatible = p.take(p.optional_bool("S3EnableHiveCompatiblePath")).flatten();
        let tags = p.take(p.tags());
        let common = Common::take(&p);
        let (source_name, source_at) = source.unwrap_or_default();
        p.finish(|| Delivery {
            source_name: source_name.into(),
            source_at,
            destination_arn: destination_arn.unwrap_or_default().into(),
            record_fields,
            field_delimiter: field_delimiter.map(Into::into),
            s3_suffix_path: s3_suffix_path.map(Into::into),
            s3_hive_compatible,
            tags: tags.unwrap_or_default(),
            common,
        })
    }

    fn common(&self) -> &Common {
        &self.common
    }

    /// A delivery is made in its destination's region, and with its source (same region and account).
    fn check_place(&self, at: &Location) -> Result<(), Error> {
        let because = || match &self.common.region {
            Some(region) => format!("its Region is {region}"),
            None => format!("Region is not set: the provider's region, {}", at.region),
        };
        let destination_region = check_arn("DeliveryDestinationArn", &self.destination_arn)?.region;
        if destination_region != at.region {
            return Err(Error::invalid(
                "DeliveryDestinationArn",
                format!(
                    "names a delivery destination in {destination_region}, but this delivery would be made in {} ({}); a \
                     delivery is made in its destination's region: set `Region: {destination_region}` on the delivery and its source",
                    at.region,
                    because()
                ),
            ));
        }
        match &self.source_at {
            Some(source) if source.region != at.region || (!at.account.is_empty() && source.account != at.account) => Err(Error::invalid(
                "DeliverySourceName",
                format!(
                    "names a delivery source in {} (account {}), but this delivery would be made in {} (account {}; {}); a delivery \
                     is made where its source is: give the delivery the source's Region and AssumeRoleArn",
                    source.region,
                    source.account,
                    at.region,
                    at.account,
                    because()
                ),
            )),
            _ => Ok(()),
        }
    }
}

/// A new place, source or destination is a replacement, in the order [`deletes_old_first`] says;
/// the settings change in place through UpdateDeliveryConfiguration.
impl Decide for Delivery {
    fn decide(&self, before: &Before<'_, Self>, at: &Location, facts: &Facts) -> Decision {
        if let Some(moved) = plan::moved(KIND, before.at, at) {
            return moved;
        }
        let Some(old) = before.props else {
            return Decision::Unchanged; // the live delivery's pairing decides (see `update`)
        };
        let mut why = Vec::new();
        if old.source_name != self.source_name || old.source_at != self.source_at {
            why.push(format!(
                "DeliverySourceName changes ('{}' -> '{}')",
                old.source_name, self.source_name
            ));
        }
        if old.destination_arn != self.destination_arn {
            why.push(format!(
                "DeliveryDestinationArn changes ('{}' -> '{}')",
                old.destination_arn, self.destination_arn
            ));
        }
        if !why.is_empty() {
            let same_source = why.len() == 1 && old.destination_arn != self.destination_arn;
            let types = (
                facts.old_destination_type.as_deref(),
                facts.new_destination_type.as_deref(),
            );
            return Decision::Replaced(Replacement {
                why: why.join(", "),
                order: replacement_order(same_source, types),
            });
        }
        let mut changes = Vec::new();
        let settings: [(&str, Option<String>, Option<String>); 4] = [
            (
                "RecordFields",
                old.record_fields.as_ref().map(|f| f.join(",")),
                self.record_fields.as_ref().map(|f| f.join(",")),
            ),
            (
                "FieldDelimiter",
                old.field_delimiter.clone(),
                self.field_delimiter.clone(),
            ),
            ("S3SuffixPath", old.s3_suffix_path.clone(), self.s3_suffix_path.clone()),
            (
                "S3EnableHiveCompatiblePath",
                old.s3_hive_compatible.map(|h| h.to_string()),
                self.s3_hive_compatible.map(|h| h.to_string()),
            ),
        ];
        for (property, old, new) in &settings {
            if plan::differs(old.as_ref(), new.as_ref()) {
                changes.push(Change {
                    what: format!(
                        "{property} '{}' -> '{}'",
                        old.as_deref().unwrap_or_default(),
                        new.as_deref().unwrap_or_default()
                    ),
                    call: "UpdateDeliveryConfiguration",
                });
            }
            plan::left_as_is(property, old.as_ref(), new.as_ref(), &mut changes);
        }
        changes.extend(plan::tag_change(&old.tags, &self.tags));
        plan::common_changes(&old.common, &self.common, &mut changes);
        Decision::in_place(changes)
    }

    fn id_in_properties(&self) -> String {
        String::new() // the service names a delivery; its properties do not
    }
}

/// CloudWatch Logs allows one delivery per source and destination type, and CloudFormation makes
/// the replacement before deleting the old one: so when the source stays and the new destination
/// has the old one's type, the old delivery must go first. `None`: a type is not known.
pub fn deletes_old_first(same_source: bool, (old_type, new_type): (Option<&str>, Option<&str>)) -> Option<bool> {
    if !same_source {
        return Some(false);
    }
    Some(old_type? == new_type?)
}

fn replacement_order(same_source: bool, types: (Option<&str>, Option<&str>)) -> String {
    match deletes_old_first(same_source, types) {
        Some(false) => "the new delivery is created first; CloudFormation deletes the old one after the update".into(),
        Some(true) => format!(
            "the old delivery is deleted first (one delivery per source and destination type, and both destinations are {}), \
             then the new one is created: the source delivers nothing in between, and if the create fails CloudFormation's \
             rollback makes the old pairing again",
            types.0.unwrap_or_default()
        ),
        None => "the new delivery is created first, unless its destination has the old one's type: then the old delivery is \
                 deleted first (one delivery per source and destination type)"
            .into(),
    }
}

impl Operations for Delivery {
    async fn create(&self, ctx: &Ctx) -> Result<Outcome, Error> {
        config_template::check(ctx, &self.source_name, &self.destination_arn, None, self.settings()).await?;
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
            Ok(out) => {
                let live = out.delivery.ok_or(Error::Incomplete {
                    operation: "CreateDelivery",
                    what: "the delivery",
                })?;
                return outcome(ctx, &live).await;
            }
            Err(e) if e.is_conflict() => e,
            Err(e) if e.is_not_found() => return Err(self.missing(e, &ctx.at.region)),
            Err(e) => return Err(e),
        };
        // The pairing exists already: ours from an earlier attempt (a redelivered event, or a
        // retried CreateDelivery whose first attempt did succeed) is adopted; someone else's refused.
        match Found::classify(ctx, self.find_existing(ctx).await?, "GetDelivery", |d: &Live| d.arn()).await? {
            Found::Ours(existing) => {
                tracing::info!(
                    id = existing.live.id().unwrap_or_default(),
                    "delivery was created earlier by this stack resource; adopting it"
                );
                self.converge(ctx, existing).await
            }
            Found::Foreign(existing) => {
                let id = format!(
                    "{} ({} -> {})",
                    existing.live.id().unwrap_or_default(),
                    self.source_name,
                    self.destination_arn
                );
                refuse_or_adopt(
                    &self.common,
                    &existing.tags,
                    KIND,
                    &id,
                    "DeliverySourceName or DeliveryDestinationArn",
                )?;
                tracing::info!(
                    id = existing.live.id().unwrap_or_default(),
                    "taking over the existing delivery (AdoptExisting)"
                );
                self.converge(ctx, existing).await
            }
            Found::Nothing => Err(refusal), // e.g. one delivery per source and destination type
        }
    }

    /// As the plan decides ([`Decide`]): a delivery moved to another region or account is a new one
    /// (CloudFormation deletes the old id where it is); so is one whose source or destination
    /// changed: since the old properties, or (when they are not known) since what the live
    /// delivery pairs.
    async fn update(&self, ctx: &Ctx, physical_id: &str, old: Option<&Self>) -> Result<Outcome, Error> {
        let (was_at, id) = ctx.locate(Self::ARN_TYPE, physical_id);
        let before = Before {
            at: &was_at,
            id,
            props: old,
        };
        let decision = self.decide(&before, &ctx.at, &Facts::default());
        match decision {
            Decision::Refused(refusal) => return Err(refusal),
            Decision::Replaced(_) if was_at != ctx.at => return self.create(ctx).await,
            _ => {}
        }
        let existing = match find(ctx, id).await? {
            Found::Ours(existing) => existing,
            Found::Foreign(..) => {
                return Err(Error::NotOurs {
                    kind: KIND,
                    id: physical_id.to_owned(),
                })
            }
            Found::Nothing => {
                tracing::warn!(
                    id = physical_id,
                    "delivery was deleted outside CloudFormation; creating it again (new id)"
                );
                return self.create(ctx).await;
            }
        };
        let live = &existing.live;
        let same_pairing = live.delivery_source_name() == Some(self.source_name.as_str())
            && live.delivery_destination_arn() == Some(self.destination_arn.as_str());
        if same_pairing && !matches!(decision, Decision::Replaced(_)) {
            self.converge(ctx, existing).await
        } else {
            self.replace(ctx, live).await
        }
    }

    async fn delete(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
        let (_, id) = ctx.locate(Self::ARN_TYPE, physical_id);
        let found = find(ctx, id).await?;
        delete_if_ours(found, KIND, physical_id, "DeleteDelivery", || delete_by_id(ctx, id)).await
    }
}

impl Delivery {
    /// CreateDelivery's "Requested Delivery Source (or Destination) does not exist in this
    /// account.", naming the property, the name and the region, and how to order the two.
    fn missing(&self, e: Error, region: &str) -> Error {
        let message = e.service_message().to_owned();
        let (property, what, name, fix) = if message.contains("Destination") {
            let name = destination_name(&self.destination_arn).unwrap_or(&self.destination_arn);
            (
                "DeliveryDestinationArn",
                "destination",
                name.to_owned(),
                "`!GetAtt Destination.Arn`",
            )
        } else if message.contains("Source") {
            (
                "DeliverySourceName",
                "source",
                self.source_name.clone(),
                "`!Ref Source`",
            )
        } else {
            return e;
        };
        Error::MissingForDelivery {
            property,
            what,
            name,
            region: region.to_owned(),
            fix,
            message,
        }
    }

    fn s3_configuration(&self) -> Option<S3DeliveryConfiguration> {
        (self.s3_suffix_path.is_some() || self.s3_hive_compatible.is_some()).then(|| {
            S3DeliveryConfiguration::builder()
                .set_suffix_path(self.s3_suffix_path.clone())
                .set_enable_hive_compatible_path(self.s3_hive_compatible)
                .build()
        })
    }

    /// The plan's replacement, with the destination types read live ([`deletes_old_first`]).
    async fn replace(&self, ctx: &Ctx, old: &Live) -> Result<Outcome, Error> {
        if old.delivery_source_name() == Some(self.source_name.as_str())
            && !is_cross_account(ctx, &self.destination_arn)
        {
            let name = destination_name(&self.destination_arn)?;
            let new_type = destination::live_type(ctx, name).await?.ok_or_else(|| {
                Error::invalid(
                    "DeliveryDestinationArn",
                    format!("delivery destination '{name}' does not exist"),
                )
            })?;
            let old_type = old.delivery_destination_type().map(|t| t.as_str());
            if deletes_old_first(true, (old_type, Some(new_type.as_str()))) == Some(true) {
                let old_id = old.id().unwrap_or_default();
                tracing::info!(old_id, destination_type = %new_type, "one delivery per source and destination type: deleting the old delivery before creating its replacement");
                delete_by_id(ctx, old_id).await?;
            }
        }
        self.create(ctx).await
    }

    /// Applies the in-place settings that differ from the live delivery, then the tags.
    async fn converge(&self, ctx: &Ctx, existing: Existing<Live>) -> Result<Outcome, Error> {
        let live = &existing.live;
        let change = self.configuration_change(live);
        if !change.is_empty() {
            let destination_type = live.delivery_destination_type().map(|t| t.as_str());
            let settings = Settings {
                suffix_path: change.s3.as_ref().and(self.s3_suffix_path.as_deref()),
                ..change.settings()
            };
            config_template::check(
                ctx,
                &self.source_name,
                &self.destination_arn,
                destination_type,
                settings,
            )
            .await?;
            let client = &ctx.logs.client;
            let id = live.id().unwrap_or_default();
            ctx.logs
                .call("UpdateDeliveryConfiguration", || {
                    client
                        .update_delivery_configuration()
                        .id(id)
                        .set_record_fields(change.record_fields.clone())
                        .set_field_delimiter(change.field_delimiter.clone())
                        .set_s3_delivery_configuration(change.s3.clone())
                        .send()
                })
                .await?;
        }
        existing.sync_tags(ctx, &self.tags).await?;
        outcome(ctx, live).await
    }

    /// The settings a CreateDelivery sends, for the configuration-template check.
    fn settings(&self) -> Settings<'_> {
        Settings {
            record_fields: self.record_fields.as_deref(),
            field_delimiter: self.field_delimiter.as_deref(),
            suffix_path: self.s3_suffix_path.as_deref(),
        }
    }

    /// What UpdateDeliveryConfiguration must send to bring `live` to the template: only the
    /// settings that differ. Only settings the template states are compared (an absent one leaves
    /// the service's value), and the suffix path as the template gave it, whatever prefix the
    /// service added. The S3 block goes only to an S3 delivery whose S3 settings changed: the
    /// service refuses any `s3DeliveryConfiguration` for another type ("Provided delivery
    /// configuration is invalid for the destination type.", terraform-provider-aws#46108, fixed by
    /// PR #46123 which leaves an unchanged S3 block out).
    fn configuration_change(&self, live: &Live) -> ConfigurationChange {
        let record_fields = self
            .record_fields
            .clone()
            .filter(|f| f.as_slice() != live.record_fields());
        let field_delimiter = self
            .field_delimiter
            .clone()
            .filter(|d| Some(d.as_str()) != live.field_delimiter());
        ConfigurationChange {
            record_fields,
            field_delimiter,
            s3: self.s3_change(live),
        }
    }

    /// The S3 block to send, if this S3 delivery's stated S3 settings differ from the live ones.
    /// It carries both settings (the live value of one the template leaves out), so the one not
    /// changing stays exactly as stored. A new suffix path gets the service prefix the live path
    /// carries: the service adds `AWSLogs/{account-id}/CloudFront/` only on CreateDelivery and
    /// stores an updated path exactly as sent (cloudformation-coverage-roadmap#2274,
    /// terraform-provider-aws#46328), so without it the logs would move away from where a new
    /// stack puts them.
    fn s3_change(&self, live: &Live) -> Option<S3DeliveryConfiguration> {
        let live_s3 = live.s3_delivery_configuration();
        let live_path = live_s3.and_then(|c| c.suffix_path());
        let live_hive = live_s3.and_then(|c| c.enable_hive_compatible_path());
        let new_path = self
            .s3_suffix_path
            .as_deref()
            .filter(|p| !live_path.is_some_and(|live| same_suffix_path(p, live)));
        let new_hive = self.s3_hive_compatible.filter(|h| *h != live_hive.unwrap_or(false));
        if new_path.is_none() && new_hive.is_none() {
            return None;
        }
        if !is_s3(live) {
            tracing::warn!(
                id = live.id().unwrap_or_default(),
                "S3SuffixPath / S3EnableHiveCompatiblePath apply to S3 deliveries only; ignored for this one"
            );
            return None;
        }
        let path = match new_path {
            Some(path) => Some(with_live_prefix(path, live_path)),
            None => live_path.map(str::to_owned),
        };
        Some(
            S3DeliveryConfiguration::builder()
                .set_suffix_path(path)
                .set_enable_hive_compatible_path(new_hive.or(live_hive))
                .build(),
        )
    }

    #[cfg(test)]
    fn configuration_differs(&self, live: &Live) -> bool {
        !self.configuration_change(live).is_empty()
    }

    /// The delivery for this exact source → destination pairing, read whole. The real
    /// DescribeDeliveries lists only id, arn, source name and destination ARN (aws/aws-cli#10002),
    /// so the match is read again with GetDelivery for its type, settings and state.
    async fn find_existing(&self, ctx: &Ctx) -> Result<Option<Live>, Error> {
        let client = &ctx.logs.client;
        let mut next_token: Option<String> = None;
        loop {
            let page = ctx
                .logs
                .call("DescribeDeliveries", || {
                    client.describe_deliveries().set_next_token(next_token.clone()).send()
                })
                .await?;
            let found = page.deliveries().iter().find(|d| {
                d.delivery_source_name() == Some(self.source_name.as_str())
                    && d.delivery_destination_arn() == Some(self.destination_arn.as_str())
            });
            if let Some(found) = found {
                let id = found.id().ok_or(Error::Incomplete {
                    operation: "DescribeDeliveries",
                    what: "the delivery's id",
                })?;
                return get(ctx, id).await;
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(None),
            }
        }
    }
}

/// The settings one UpdateDeliveryConfiguration sends; `None`: left as they are.
#[derive(Debug, Default, PartialEq)]
struct ConfigurationChange {
    record_fields: Option<Vec<String>>,
    field_delimiter: Option<String>,
    s3: Option<S3DeliveryConfiguration>,
}

impl ConfigurationChange {
    fn is_empty(&self) -> bool {
        *self == ConfigurationChange::default()
    }

    /// What the configuration template is asked about (the suffix path is added by the caller,
    /// as the template gave it).
    fn settings(&self) -> Settings<'_> {
        Settings {
            record_fields: self.record_fields.as_deref(),
            field_delimiter: self.field_delimiter.as_deref(),
            suffix_path: None,
        }
    }
}

/// An S3 delivery: as the service reports it, or (when the answer leaves the type out) one that
/// has S3 settings.
fn is_s3(live: &Live) -> bool {
    match live.delivery_destination_type() {
        Some(t) => *t == DeliveryDestinationType::S3,
        None => live.s3_delivery_configuration().is_some(),
    }
}

/// `path` behind the service prefix `live_path` carries, unless `path` spells a prefix out itself.
fn with_live_prefix(path: &str, live_path: Option<&str>) -> String {
    let prefix = live_path.and_then(|live| strip_service_prefix(live).map(|rest| &live[..live.len() - rest.len()]));
    match prefix {
        Some(prefix) if strip_service_prefix(path).is_none() => format!("{prefix}{path}"),
        _ => path.to_owned(),
    }
}

/// The service prepends `AWSLogs/{account-id}/CloudFront/` to the S3 suffix path of a
/// CloudFront delivery when it creates it (and only then): cloudformation-coverage-roadmap#2274,
/// terraform-provider-aws#40968 / #46328 (whose fix strips it when reading). So the live path
/// matches the template's if it is the same, or the same behind such a service-added prefix.
fn same_suffix_path(desired: &str, live: &str) -> bool {
    live == desired || strip_service_prefix(live) == Some(desired)
}

/// `AWSLogs/<account>/<Service>/` where `<account>` is `{account-id}` or 12 digits.
fn strip_service_prefix(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("AWSLogs/")?;
    let (account, rest) = rest.split_once('/')?;
    let is_account = account == "{account-id}" || (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()));
    let (service, rest) = rest.split_once('/')?;
    (is_account && !service.is_empty() && service.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(rest)
}

/// The answer for a live delivery. Its destination type comes from the delivery when the service
/// reports it, else from the destination itself (no reliance on a field an answer may leave out).
async fn outcome(ctx: &Ctx, live: &Live) -> Result<Outcome, Error> {
    let id = live.id().unwrap_or_default().to_owned();
    let destination_type = match live.delivery_destination_type() {
        Some(t) => t.as_str().to_owned(),
        None => {
            match live
                .delivery_destination_arn()
                .filter(|arn| !is_cross_account(ctx, arn))
                .and_then(|arn| destination_name(arn).ok())
            {
                Some(name) => destination::live_type(ctx, name).await?.unwrap_or_default(),
                None => String::new(),
            }
        }
    };
    let physical_id = ctx.physical_id(Delivery::ARN_TYPE, &id);
    let data = super::data::<Delivery, _>([
        Some(live.arn().unwrap_or_default().to_owned()),
        Some(id),
        Some(destination_type),
    ]);
    Ok(Outcome { physical_id, data })
}

/// A destination in another account than the delivery's: its type and settings cannot be read from here.
pub(super) fn is_cross_account(ctx: &Ctx, destination_arn: &str) -> bool {
    check_arn("DeliveryDestinationArn", destination_arn)
        .is_ok_and(|a| a.account != ctx.at.account && !ctx.at.account.is_empty())
}

/// DeliverySourceName: a source's name, or its ARN (what `!Ref` gives for a source made outside
/// the provider's region or account), with where that ARN says the source is.
fn source_name(value: &str) -> Result<(&str, Option<Location>), Problem> {
    if !value.starts_with("arn:") {
        return check_name("DeliverySourceName", value).map(|name| (name, None));
    }
    let arn = check_arn("DeliverySourceName", value)?;
    let name = arn.resource.strip_prefix("delivery-source:").filter(|_| arn.service == "logs").ok_or_else(|| {
        Problem::value(
            "DeliverySourceName",
            "must be a delivery source's name or ARN (arn:aws:logs:REGION:ACCOUNT:delivery-source:NAME), e.g. !Ref MySource",
        )
    })?;
    check_name("DeliverySourceName", name)?;
    let partition = value.split(':').nth(1).unwrap_or("aws").to_owned();
    Ok((
        name,
        Some(Location {
            partition,
            region: arn.region.to_owned(),
            account: arn.account.to_owned(),
        }),
    ))
}

/// The destination name inside a delivery-destination ARN, which must be one.
fn destination_name(arn: &str) -> Result<&str, Problem> {
    let parsed = check_arn("DeliveryDestinationArn", arn)?;
    let name = parsed.resource.strip_prefix("delivery-destination:").filter(|_| parsed.service == "logs").ok_or_else(|| {
        Problem::value(
            "DeliveryDestinationArn",
            "must be a delivery destination ARN (arn:aws:logs:REGION:ACCOUNT:delivery-destination:NAME), e.g. !GetAtt MyDestination.Arn",
        )
    })?;
    check_name("DeliveryDestinationArn", name)
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
    let out = ctx
        .logs
        .call("GetDelivery", || client.get_delivery().id(id).send())
        .await
        .or_absent()?;
    Ok(out.and_then(|o| o.delivery))
}

/// The delivery with that id and whose it is (GetDelivery, then ListTagsForResource).
async fn find(ctx: &Ctx, id: &str) -> Result<Found<Live>, Error> {
    Found::classify(ctx, get(ctx, id).await?, "GetDelivery", |d: &Live| d.arn()).await
}

async fn delete_by_id(ctx: &Ctx, id: &str) -> Result<(), Error> {
    let client = &ctx.logs.client;
    ctx.logs
        .call("DeleteDelivery", || client.delete_delivery().id(id).send())
        .await
        .or_absent()
        .map(drop)
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
            (
                json!({"DeliveryDestinationArn": DEST}),
                "DeliverySourceName: is required",
            ),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": "arn:aws:s3:::bucket"}),
                "DeliveryDestinationArn: must be a delivery destination ARN",
            ),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "RecordFields": "date"}),
                "RecordFields: must be a list",
            ),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "FieldDelimiter": "------"}),
                "FieldDelimiter: must be 1 to 5",
            ),
            (
                json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "S3EnableHiveCompatiblePath": "maybe"}),
                "S3EnableHiveCompatiblePath: must be",
            ),
            (
                json!({"DeliverySourceName": "s s", "DeliveryDestinationArn": DEST}),
                "DeliverySourceName: ",
            ),
        ];
        for (v, want) in cases {
            let e = parse(v).unwrap_err();
            assert!(e.starts_with(want), "{e} !~ {want}");
        }
    }

    #[test]
    fn every_bad_record_field_is_named() {
        let e = parse(json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "RecordFields": ["date", "", "x".repeat(65)], "FieldDelimiter": "------"}))
            .unwrap_err();
        assert!(e.starts_with("3 problems: RecordFields[1]: must not be empty"), "{e}");
        assert!(
            e.contains("RecordFields[2]: must be 1 to 64") && e.contains("FieldDelimiter: must be 1 to 5"),
            "{e}"
        );
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
    fn a_service_added_suffix_prefix_is_not_a_change() {
        let with_prefix = |path: &str| {
            Live::builder()
                .id("abc")
                .s3_delivery_configuration(S3DeliveryConfiguration::builder().suffix_path(path).build())
                .build()
        };
        let mut d =
            parse(json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST, "S3SuffixPath": "{DistributionId}/{yyyy}"})).unwrap();
        assert!(!d.configuration_differs(&with_prefix("{DistributionId}/{yyyy}")));
        assert!(!d.configuration_differs(&with_prefix("AWSLogs/{account-id}/CloudFront/{DistributionId}/{yyyy}")));
        assert!(!d.configuration_differs(&with_prefix("AWSLogs/123456789012/CloudFront/{DistributionId}/{yyyy}")));
        assert!(d.configuration_differs(&with_prefix("AWSLogs/{account-id}/CloudFront/other/{yyyy}")));
        assert!(d.configuration_differs(&with_prefix("prefix/{DistributionId}/{yyyy}")));
        assert!(d.configuration_differs(&with_prefix("AWSLogs/12/CloudFront/{DistributionId}/{yyyy}")));
        // A template that spells the prefix out itself matches a path the service left alone or prefixed again.
        d.s3_suffix_path = Some("AWSLogs/{account-id}/CloudFront/x".into());
        assert!(!d.configuration_differs(&with_prefix("AWSLogs/{account-id}/CloudFront/x")));
        assert!(!d.configuration_differs(&with_prefix(
            "AWSLogs/{account-id}/CloudFront/AWSLogs/{account-id}/CloudFront/x"
        )));
    }

    const PREFIXED: &str = "AWSLogs/{account-id}/CloudFront/{DistributionId}/{yyyy}";

    fn live_delivery(destination_type: &str, suffix_path: Option<&str>) -> Live {
        let s3 = suffix_path.map(|p| {
            S3DeliveryConfiguration::builder()
                .suffix_path(p)
                .enable_hive_compatible_path(false)
                .build()
        });
        Live::builder()
            .id("abc")
            .delivery_destination_type(DeliveryDestinationType::from(destination_type))
            .record_fields("date")
            .field_delimiter(",")
            .set_s3_delivery_configuration(s3)
            .build()
    }

    fn desired(extra: Value) -> Delivery {
        let mut props = json!({"DeliverySourceName": "s", "DeliveryDestinationArn": DEST});
        props
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        parse(props).unwrap()
    }

    #[test]
    fn a_record_fields_change_sends_only_the_record_fields() {
        let d = desired(
            json!({"RecordFields": ["date", "time"], "FieldDelimiter": ",", "S3SuffixPath": "{DistributionId}/{yyyy}", "S3EnableHiveCompatiblePath": "false"}),
        );
        let change = d.configuration_change(&live_delivery("S3", Some(PREFIXED)));
        assert_eq!(
            change,
            ConfigurationChange {
                record_fields: Some(vec!["date".into(), "time".into()]),
                ..ConfigurationChange::default()
            }
        );
    }

    #[test]
    fn no_s3_block_for_a_delivery_that_is_not_s3() {
        let d =
            desired(json!({"RecordFields": ["time"], "S3SuffixPath": "{yyyy}", "S3EnableHiveCompatiblePath": "true"}));
        for kind in ["CWL", "FH"] {
            let change = d.configuration_change(&live_delivery(kind, None));
            assert_eq!(change.s3, None, "{kind}");
            assert_eq!(change.record_fields.as_deref(), Some(&["time".to_string()][..]));
        }
    }

    #[test]
    fn a_new_suffix_path_keeps_the_service_prefix_and_the_hive_setting() {
        let d = desired(json!({"S3SuffixPath": "{DistributionId}/{yyyy}/{MM}"}));
        let s3 = d
            .configuration_change(&live_delivery("S3", Some(PREFIXED)))
            .s3
            .expect("an S3 block");
        assert_eq!(
            s3.suffix_path(),
            Some("AWSLogs/{account-id}/CloudFront/{DistributionId}/{yyyy}/{MM}")
        );
        assert_eq!(s3.enable_hive_compatible_path(), Some(false));
        // A live path without the prefix (not CloudFront) gets the path as written.
        let s3 = d
            .configuration_change(&live_delivery("S3", Some("old/{yyyy}")))
            .s3
            .unwrap();
        assert_eq!(s3.suffix_path(), Some("{DistributionId}/{yyyy}/{MM}"));
        // A template that spells a prefix out is sent as written.
        let d = desired(json!({"S3SuffixPath": "AWSLogs/{account-id}/CloudFront/new"}));
        assert_eq!(
            d.configuration_change(&live_delivery("S3", Some(PREFIXED)))
                .s3
                .unwrap()
                .suffix_path(),
            Some("AWSLogs/{account-id}/CloudFront/new")
        );
    }

    #[test]
    fn a_hive_change_alone_resends_the_live_path_as_stored() {
        let d = desired(json!({"S3SuffixPath": "{DistributionId}/{yyyy}", "S3EnableHiveCompatiblePath": "true"}));
        let change = d.configuration_change(&live_delivery("S3", Some(PREFIXED)));
        let s3 = change.s3.expect("an S3 block");
        assert_eq!(
            (s3.suffix_path(), s3.enable_hive_compatible_path()),
            (Some(PREFIXED), Some(true))
        );
        assert_eq!((change.record_fields, change.field_delimiter), (None, None));
    }

    #[test]
    fn markers_and_placeholders_are_not_delivery_ids() {
        assert!(is_delivery_id("AbC123"));
        assert!(!is_delivery_id("cfn-logs-delivery:failed-create:x"));
        assert!(!is_delivery_id("stack-Delivery-1ABC"));
        assert!(!is_delivery_id(""));
    }
}
