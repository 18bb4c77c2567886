//! Where a resource lives, and the properties every kind shares for it: `Region` (whose CloudWatch
//! Logs holds it), `AssumeRoleArn` / `ExternalId` (the account: every call is made with that role)
//! and `AdoptExisting` (a Create may take over an unowned resource of the same name or pairing).
//!
//! A resource's place decides its physical id. In the function's own region and account it is the
//! name (or delivery id), as the native types' Ref; anywhere else it is the resource's ARN. So a
//! change of region or account is always a replacement (CloudFormation then deletes the old
//! resource, where it was), and Update and Delete learn from the id alone where the resource is,
//! whatever the event's properties say.

use serde_json::Value;

use crate::props::{check_arn, Problem, Props};
use crate::text::shorten;

/// A kind's property list ([`super::Resource::PROPERTIES`]): its own names, then the ones every
/// kind shares (read by [`Common::take`]), so the shared ones are written here only.
macro_rules! properties {
    ($($own:literal),* $(,)?) => {
        &[$($own,)* "Region", "AssumeRoleArn", "ExternalId", "AdoptExisting"]
    };
}
pub(crate) use properties;

/// The property names every kind accepts on top of its own.
pub const COMMON_PROPERTIES: &[&str] = properties![];

/// CloudWatch Logs takes every delivery call for a CloudFront source in this region only.
pub const CLOUDFRONT_REGION: &str = "us-east-1";

/// The shared properties, as the template gives them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Common {
    /// `Region`; absent: the function's own.
    pub region: Option<String>,
    /// `AssumeRoleArn` with its `ExternalId`; absent: the function's own credentials.
    pub role: Option<Role>,
    /// `AdoptExisting: "true"`.
    pub adopt_existing: bool,
}

/// The role every call for a resource is made with.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Role {
    pub arn: String,
    /// The role's account: where the resource lives.
    pub account: String,
    pub external_id: Option<String>,
}

impl Common {
    /// Reads the shared properties, recording their problems in `p`.
    pub fn take(p: &Props) -> Common {
        let region = p
            .take(p.optional_str("Region").and_then(|r| r.map(check_region).transpose()))
            .flatten();
        let role_arn = p.take(
            p.optional_str("AssumeRoleArn")
                .and_then(|a| a.map(|a| check_role_arn("AssumeRoleArn", a)).transpose()),
        );
        let external_id = p
            .take(
                p.optional_str("ExternalId")
                    .and_then(|e| e.map(check_external_id).transpose()),
            )
            .flatten();
        if external_id.is_some() && !p.has("AssumeRoleArn") {
            p.take::<()>(Err(Problem::value(
                "ExternalId",
                "is only used with AssumeRoleArn; set AssumeRoleArn too, or remove ExternalId",
            )));
        }
        let adopt_existing = p.take(p.optional_bool("AdoptExisting")).flatten().unwrap_or(false);
        let role = role_arn.flatten().map(|(arn, account)| Role {
            arn: arn.to_owned(),
            account: account.to_owned(),
            external_id: external_id.map(str::to_owned),
        });
        Common {
            region: region.map(str::to_owned),
            role,
            adopt_existing,
        }
    }

    /// What can be read of them from properties that may not validate (a Delete's): a malformed
    /// value counts as absent.
    pub fn lenient(properties: &Value) -> Common {
        let field = |name: &str| properties.get(name).and_then(Value::as_str);
        let role = field("AssumeRoleArn")
            .and_then(|a| check_role_arn("AssumeRoleArn", a).ok())
            .map(|(arn, account)| Role {
                arn: arn.to_owned(),
                account: account.to_owned(),
                external_id: field("ExternalId").map(str::to_owned),
            });
        Common {
            region: field("Region").and_then(|r| check_region(r).ok()).map(str::to_owned),
            role,
            adopt_existing: false,
        }
    }
}

/// A region and an account: where a resource is, or where the function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub partition: String,
    pub region: String,
    pub account: String,
}

impl Location {
    /// Where the function runs: its own region, and the partition and account of the stack that
    /// sent the event (a custom resource's function is in its stack's region and account).
    pub fn home(region: &str, stack_id: &str) -> Location {
        let parts: Vec<&str> = stack_id.splitn(6, ':').collect();
        let (partition, account) = match parts.as_slice() {
            ["arn", partition, "cloudformation", _, account, _] => (*partition, *account),
            _ => ("aws", ""),
        };
        Location {
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
        }
    }

    /// The function's place as the lint knows it: a region, no stack, so no account.
    pub fn lint_home(function_region: &str) -> Location {
        Location {
            partition: "aws".into(),
            region: function_region.into(),
            account: String::new(),
        }
    }

    /// Where a resource with these shared properties lives, seen from `self` (home).
    pub fn of(&self, common: &Common) -> Location {
        Location {
            partition: self.partition.clone(),
            region: common.region.clone().unwrap_or_else(|| self.region.clone()),
            account: common
                .role
                .as_ref()
                .map_or_else(|| self.account.clone(), |r| r.account.clone()),
        }
    }

    /// The ARN of the resource `kind/id` (`delivery-source`, `delivery-destination`, `delivery`) here.
    pub fn arn(&self, arn_type: &str, id: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:{arn_type}:{id}",
            self.partition, self.region, self.account
        )
    }
}

/// The physical id of the resource `id` (its name, or delivery id) at `at`: `id` at home, else its ARN.
pub fn physical_id(home: &Location, at: &Location, arn_type: &str, id: &str) -> String {
    if at == home {
        id.to_owned()
    } else {
        at.arn(arn_type, id)
    }
}

/// Where the resource with this physical id is, and its name or id there: an ARN of `arn_type`
/// names its place, anything else (a name, an id, a marker) is at home.
pub fn locate<'a>(home: &Location, arn_type: &str, physical_id: &'a str) -> (Location, &'a str) {
    let parts: Vec<&'a str> = physical_id.splitn(6, ':').collect();
    if let ["arn", partition, "logs", region, account, resource] = parts.as_slice() {
        if let Some(id) = resource.strip_prefix(arn_type).and_then(|r| r.strip_prefix(':')) {
            let at = Location {
                partition: (*partition).to_owned(),
                region: (*region).to_owned(),
                account: (*account).to_owned(),
            };
            return (at, id);
        }
    }
    (home.clone(), physical_id)
}

/// A region name as AWS spells them: lowercase words and a number, joined by hyphens
/// (`us-east-1`, `ap-southeast-2`, `us-gov-west-1`).
pub fn check_region(region: &str) -> Result<&str, Problem> {
    let parts: Vec<&str> = region.split('-').collect();
    let words_ok = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|w| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[0].len() >= 2;
    let number_ok = parts
        .last()
        .is_some_and(|n| (1..=2).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()));
    if words_ok && number_ok && region.len() <= 32 {
        Ok(region)
    } else {
        Err(Problem::value(
            "Region",
            format!(
                "'{}' is not a region name (e.g. us-east-1, eu-west-1)",
                shorten(region, 60)
            ),
        ))
    }
}

/// An IAM role ARN (`arn:aws:iam::ACCOUNT:role/NAME`), with its account.
pub fn check_role_arn<'v>(property: &str, arn: &'v str) -> Result<(&'v str, &'v str), Problem> {
    let parsed = check_arn(property, arn)?;
    if parsed.service == "iam"
        && parsed.account.len() == 12
        && parsed.resource.starts_with("role/")
        && parsed.resource.len() > 5
    {
        Ok((arn, parsed.account))
    } else {
        Err(Problem::value(
            property,
            format!(
                "'{}' is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)",
                shorten(arn, 100)
            ),
        ))
    }
}

/// STS's pattern for an external id: 2 to 1224 of `[\w+=,.@:/-]`.
fn check_external_id(id: &str) -> Result<&str, Problem> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c);
    if (2..=1224).contains(&id.len()) && id.chars().all(allowed) {
        Ok(id)
    } else {
        Err(Problem::value(
            "ExternalId",
            "must be 2 to 1224 characters of letters, digits and _+=,.@:/-",
        ))
    }
}

/// The session name AssumeRole is called with, so CloudTrail shows which stack resource acted:
/// `<stack name>-<logical id>`, at most 64 of `[\w+=,.@-]`.
pub fn session_name(stack_id: &str, logical_id: &str) -> String {
    let stack = stack_id.split('/').nth(1).unwrap_or("cfn-logs-delivery");
    let name: String = format!("{stack}-{logical_id}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .take(64)
        .collect();
    if name.len() < 2 {
        "cfn-logs-delivery".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::props::Problems;
    use serde_json::json;

    const STACK: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/shop/guid";

    fn common(props: Value) -> Result<Common, Problems> {
        let known: Vec<&str> = COMMON_PROPERTIES.to_vec();
        let p = Props::new(&props, &known)?;
        let common = Common::take(&p);
        p.finish(|| common)
    }

    #[test]
    fn region_names() {
        for good in [
            "us-east-1",
            "eu-west-1",
            "ap-southeast-2",
            "us-gov-west-1",
            "cn-north-1",
            "il-central-1",
        ] {
            assert_eq!(check_region(good).unwrap(), good);
        }
        for bad in [
            "us-east",
            "US-EAST-1",
            "useast1",
            "us-east-100",
            "eu_west_1",
            "e-west-1",
            "us--1",
        ] {
            let e = check_region(bad).unwrap_err().to_string();
            assert!(
                e.starts_with("Region: '") && e.contains("is not a region name"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn shared_properties_are_read_and_checked() {
        let c = common(json!({"Region": "us-east-1", "AssumeRoleArn": "arn:aws:iam::210987654321:role/logging", "ExternalId": "abc-1", "AdoptExisting": "true"}))
            .unwrap();
        assert_eq!(c.region.as_deref(), Some("us-east-1"));
        assert_eq!(
            c.role.as_ref().map(|r| (r.account.as_str(), r.external_id.as_deref())),
            Some(("210987654321", Some("abc-1")))
        );
        assert!(c.adopt_existing);
        assert_eq!(common(json!({})).unwrap(), Common::default());
        let e = common(
            json!({"Region": "Europe", "AssumeRoleArn": "arn:aws:iam::210987654321:user/u", "AdoptExisting": "yes"}),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("3 problems: Region: 'Europe' is not a region name"),
            "{e}"
        );
        assert!(
            e.contains("AssumeRoleArn: 'arn:aws:iam::210987654321:user/u' is not an IAM role ARN")
                && e.contains("AdoptExisting:"),
            "{e}"
        );
        let e = common(json!({"ExternalId": "abc"})).unwrap_err().to_string();
        assert!(e.starts_with("ExternalId: is only used with AssumeRoleArn"), "{e}");
    }

    #[test]
    fn physical_ids_name_the_place_away_from_home() {
        let home = Location::home("eu-west-1", STACK);
        assert_eq!(
            (home.partition.as_str(), home.account.as_str()),
            ("aws", "123456789012")
        );
        let virginia = home.of(&Common {
            region: Some("us-east-1".into()),
            ..Common::default()
        });
        assert_eq!(physical_id(&home, &home, "delivery-source", "src"), "src");
        assert_eq!(
            physical_id(
                &home,
                &home.of(&Common {
                    region: Some("eu-west-1".into()),
                    ..Common::default()
                }),
                "x",
                "src"
            ),
            "src"
        );
        let id = physical_id(&home, &virginia, "delivery-source", "src");
        assert_eq!(id, "arn:aws:logs:us-east-1:123456789012:delivery-source:src");
        assert_eq!(locate(&home, "delivery-source", &id), (virginia, "src"));
        assert_eq!(locate(&home, "delivery-source", "src"), (home.clone(), "src"));
        assert_eq!(locate(&home, "delivery", "cfn-logs-delivery:failed-create:r").0, home);
        let role = Role {
            arn: "arn:aws:iam::210987654321:role/r".into(),
            account: "210987654321".into(),
            external_id: None,
        };
        let other_account = home.of(&Common {
            role: Some(role),
            ..Common::default()
        });
        assert_eq!(
            physical_id(&home, &other_account, "delivery", "abc"),
            "arn:aws:logs:eu-west-1:210987654321:delivery:abc"
        );
    }

    #[test]
    fn session_names_fit_sts() {
        assert_eq!(session_name(STACK, "Dest"), "shop-Dest");
        assert_eq!(session_name("not an arn", "L"), "cfn-logs-delivery-L");
        assert_eq!(
            session_name(&format!("arn:aws:cloudformation:r:1:stack/{}/g", "s".repeat(80)), "L").len(),
            64
        );
    }
}
