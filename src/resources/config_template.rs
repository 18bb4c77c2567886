//! A delivery's settings checked against the service's configuration template before
//! CreateDelivery and UpdateDeliveryConfiguration, so one FAILED answer names every problem.
//!
//! DescribeConfigurationTemplates (service, log type, resource type, destination type) lists the
//! record fields a delivery may use (and which are mandatory), the field delimiters and the
//! `{variables}` of an S3 suffix path (CloudWatch Logs API reference, DescribeConfigurationTemplates
//! and ConfigurationTemplate). The templates are the service's own data and change rarely: they are
//! read once per process (the Lambda process serves many events) and kept per region, service,
//! log type and destination type. A delivery knows only its source name and destination ARN, so
//! the source is read (GetDeliverySource: service, log type, resource ARN) and, on Create, the
//! destination too (GetDeliveryDestination: its type). Anything that cannot be read is logged
//! and skipped: the service still has the last word on the call itself.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_cloudwatchlogs::types::{ConfigurationTemplate, DeliveryDestinationType};

use super::Ctx;
use crate::props::{all_of, Path, Problem, Problems};
use crate::{Error, OrAbsent};

/// The settings a CreateDelivery or UpdateDeliveryConfiguration will send; `None`: not sent.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Settings<'a> {
    pub record_fields: Option<&'a [String]>,
    pub field_delimiter: Option<&'a str>,
    /// As the template gives it (not with a prefix the service added).
    pub suffix_path: Option<&'a str>,
}

impl Settings<'_> {
    fn is_empty(&self) -> bool {
        self.record_fields.is_none() && self.field_delimiter.is_none() && self.suffix_path.is_none()
    }
}

/// What a configuration template allows, reduced to what the check needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Template {
    pub resource_type: String,
    /// (name, mandatory)
    pub fields: Vec<(String, bool)>,
    pub delimiters: Vec<String>,
    /// Variable names without braces.
    pub suffix_variables: Vec<String>,
}

impl From<&ConfigurationTemplate> for Template {
    fn from(t: &ConfigurationTemplate) -> Self {
        Template {
            resource_type: t.resource_type().unwrap_or_default().to_owned(),
            fields: t
                .allowed_fields()
                .iter()
                .filter_map(|f| Some((f.name()?.to_owned(), f.mandatory().unwrap_or(false))))
                .collect(),
            delimiters: t.allowed_field_delimiters().to_vec(),
            suffix_variables: t
                .allowed_suffix_path_fields()
                .iter()
                .map(|v| unbraced(v).to_owned())
                .collect(),
        }
    }
}

/// Which templates apply: they are read and cached under this key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    region: String,
    service: String,
    log_type: String,
    destination_type: String,
}

/// Templates read so far by this process, per key. Only successful reads are kept.
fn cache() -> &'static Mutex<HashMap<Key, Arc<Vec<Template>>>> {
    static CACHE: OnceLock<Mutex<HashMap<Key, Arc<Vec<Template>>>>> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Checks `settings` of a delivery from `source_name` to `destination_arn` against the service's
/// template: every problem in one error naming the properties. `destination_type`: when the
/// caller knows it already (an existing delivery reports it). No call when nothing is to be sent.
pub(super) async fn check(
    ctx: &Ctx,
    source_name: &str,
    destination_arn: &str,
    destination_type: Option<&str>,
    settings: Settings<'_>,
) -> Result<(), Error> {
    if settings.is_empty() {
        return Ok(());
    }
    match template_for(ctx, source_name, destination_arn, destination_type).await {
        Ok(Some(template)) => Ok(problems(&template, settings)?),
        Ok(None) => Ok(()),
        Err(e) => {
            tracing::warn!(error = %e, source = source_name, "could not read the delivery's configuration template; its settings are left to CloudWatch Logs to check");
            Ok(())
        }
    }
}

/// The template of this source → destination, `None` when the service has none for it.
async fn template_for(
    ctx: &Ctx,
    source_name: &str,
    destination_arn: &str,
    destination_type: Option<&str>,
) -> Result<Option<Template>, Error> {
    let client = &ctx.logs.client;
    let source = ctx
        .logs
        .call("GetDeliverySource", || {
            client.get_delivery_source().name(source_name).send()
        })
        .await
        .or_absent()?;
    let Some(source) = source.and_then(|s| s.delivery_source) else {
        return Ok(None); // CreateDelivery will say the source does not exist
    };
    let (Some(service), Some(log_type)) = (source.service(), source.log_type()) else {
        return Ok(None);
    };
    let destination_type = match destination_type {
        Some(t) => t.to_owned(),
        None => match live_destination_type(ctx, destination_arn).await? {
            Some(t) => t,
            None => return Ok(None),
        },
    };
    let key = Key {
        region: client.config().region().map(|r| r.to_string()).unwrap_or_default(),
        service: service.to_owned(),
        log_type: log_type.to_owned(),
        destination_type,
    };
    let templates = templates(ctx, key).await?;
    Ok(pick(&templates, source.resource_arns().first().map(String::as_str)).cloned())
}

/// The type of the destination an ARN names (GetDeliveryDestination); `None` if it cannot be read
/// here (gone, or in another account).
async fn live_destination_type(ctx: &Ctx, destination_arn: &str) -> Result<Option<String>, Error> {
    let Some((_, name)) = destination_arn.rsplit_once(":delivery-destination:") else {
        return Ok(None);
    };
    if super::delivery::is_cross_account(ctx, destination_arn) {
        return Ok(None); // another account's: not readable from here
    }
    super::destination::live_type(ctx, name).await
}

/// The templates for `key`, from the cache or read (every page) and cached.
async fn templates(ctx: &Ctx, key: Key) -> Result<Arc<Vec<Template>>, Error> {
    if let Some(found) = cache().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok(found.clone());
    }
    let client = &ctx.logs.client;
    let mut read = Vec::new();
    let mut next_token: Option<String> = None;
    loop {
        let page = ctx
            .logs
            .call("DescribeConfigurationTemplates", || {
                client
                    .describe_configuration_templates()
                    .service(&key.service)
                    .log_types(&key.log_type)
                    .delivery_destination_types(DeliveryDestinationType::from(key.destination_type.as_str()))
                    .set_next_token(next_token.clone())
                    .send()
            })
            .await?;
        read.extend(page.configuration_templates().iter().map(Template::from));
        match page.next_token() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
            _ => break,
        }
    }
    let read = Arc::new(read);
    cache()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(key, read.clone());
    Ok(read)
}

/// The template for the source's resource: the only one, or the one whose resource type is the
/// resource ARN's (`distribution` in `…:distribution/E1`, compared without case and punctuation).
/// `None` when several apply and none matches: better no check than the wrong one.
fn pick<'t>(templates: &'t [Template], resource_arn: Option<&str>) -> Option<&'t Template> {
    if let [only] = templates {
        return Some(only);
    }
    let wanted = normalized(resource_type_of(resource_arn?)?);
    templates.iter().find(|t| normalized(&t.resource_type) == wanted)
}

/// The resource type part of an ARN's resource (`distribution/E1` → `distribution`).
fn resource_type_of(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    resource.split(['/', ':']).next().filter(|t| !t.is_empty())
}

fn normalized(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn unbraced(variable: &str) -> &str {
    variable.trim_start_matches('{').trim_end_matches('}')
}

/// Every way `settings` break `template` (none: `Ok`).
pub(super) fn problems(template: &Template, settings: Settings<'_>) -> Result<(), Problems> {
    let mut checks = Vec::new();
    if let Some(fields) = settings.record_fields {
        checks.extend(unknown_fields(template, fields));
        checks.push(mandatory_fields(template, fields));
    }
    if let Some(delimiter) = settings.field_delimiter {
        checks.push(delimiter_allowed(template, delimiter));
    }
    if let Some(path) = settings.suffix_path {
        checks.push(suffix_variables_allowed(template, path));
    }
    all_of(checks)
}

/// One problem per record field the template does not list, naming the nearest allowed one.
fn unknown_fields(template: &Template, fields: &[String]) -> Vec<Result<(), Problem>> {
    if template.fields.is_empty() {
        return Vec::new();
    }
    let allowed = || template.fields.iter().map(|(name, _)| name.as_str());
    fields
        .iter()
        .enumerate()
        .filter(|(_, f)| !allowed().any(|a| a == f.as_str()))
        .map(|(i, field)| {
            let nearest =
                allowed().max_by(|a, b| strsim::jaro_winkler(field, a).total_cmp(&strsim::jaro_winkler(field, b)));
            let hint = nearest.map_or(String::new(), |n| format!("; the nearest allowed name is '{n}'"));
            Err(Problem::value(
                Path::key("RecordFields").index(i),
                format!("'{field}' is not a record field of this log type{hint}"),
            ))
        })
        .collect()
}

/// The template's mandatory fields a stated RecordFields leaves out.
fn mandatory_fields(template: &Template, fields: &[String]) -> Result<(), Problem> {
    let missing: Vec<&str> = template
        .fields
        .iter()
        .filter(|(name, mandatory)| *mandatory && !fields.contains(name))
        .map(|(name, _)| name.as_str())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let list = missing.iter().map(|m| format!("'{m}'")).collect::<Vec<_>>().join(", ");
    Err(Problem::value(
        "RecordFields",
        format!("lacks the mandatory field(s) {list} of this log type: add them, or leave RecordFields out"),
    ))
}

fn delimiter_allowed(template: &Template, delimiter: &str) -> Result<(), Problem> {
    if template.delimiters.is_empty() || template.delimiters.iter().any(|d| d == delimiter) {
        return Ok(());
    }
    let list = template
        .delimiters
        .iter()
        .map(|d| format!("{d:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Problem::value(
        "FieldDelimiter",
        format!("{delimiter:?} is not allowed for this log type; use one of {list}"),
    ))
}

fn suffix_variables_allowed(template: &Template, path: &str) -> Result<(), Problem> {
    if template.suffix_variables.is_empty() {
        return Ok(());
    }
    let unknown: Vec<&str> = variables(path)
        .filter(|v| !template.suffix_variables.iter().any(|a| a == v))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let braced = |vs: &[&str]| vs.iter().map(|v| format!("{{{v}}}")).collect::<Vec<_>>().join(", ");
    let allowed: Vec<&str> = template.suffix_variables.iter().map(String::as_str).collect();
    let verb = if unknown.len() == 1 { "is" } else { "are" };
    Err(Problem::value(
        "S3SuffixPath",
        format!(
            "{} {verb} not allowed for this log type; the allowed variables are {}",
            braced(&unknown),
            braced(&allowed)
        ),
    ))
}

/// The `{name}` variables of a suffix path, without braces.
fn variables(path: &str) -> impl Iterator<Item = &str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloudfront() -> Template {
        Template {
            resource_type: "distribution".into(),
            fields: vec![
                ("date".into(), true),
                ("time".into(), false),
                ("cs-method".into(), false),
                ("sc-status".into(), true),
            ],
            delimiters: vec!["\t".into(), ",".into(), "|".into()],
            suffix_variables: vec!["DistributionId".into(), "yyyy".into(), "MM".into()],
        }
    }

    fn fields(names: &[&str]) -> Vec<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    fn check(settings: Settings<'_>) -> Result<(), String> {
        problems(&cloudfront(), settings).map_err(|e| e.to_string())
    }

    #[test]
    fn allowed_settings_pass() {
        let f = fields(&["date", "sc-status", "cs-method"]);
        let settings = Settings {
            record_fields: Some(&f),
            field_delimiter: Some("|"),
            suffix_path: Some("logs/{DistributionId}/{yyyy}/{MM}"),
        };
        assert_eq!(check(settings), Ok(()));
        assert_eq!(check(Settings::default()), Ok(()));
    }

    #[test]
    fn an_unknown_field_and_a_missing_mandatory_one_are_named_in_one_reason() {
        let f = fields(&["date", "cs-methd"]);
        let e = check(Settings {
            record_fields: Some(&f),
            ..Settings::default()
        })
        .unwrap_err();
        assert!(e.starts_with("2 problems: "), "{e}");
        assert!(
            e.contains("RecordFields[1]: 'cs-methd' is not a record field of this log type; the nearest allowed name is 'cs-method'"),
            "{e}"
        );
        assert!(
            e.contains("RecordFields: lacks the mandatory field(s) 'sc-status'"),
            "{e}"
        );
    }

    #[test]
    fn delimiters_and_suffix_variables_must_be_allowed() {
        let e = check(Settings {
            field_delimiter: Some(";"),
            suffix_path: Some("{DistributionId}/{yyyy}/{dd}/{HH}"),
            ..Settings::default()
        })
        .unwrap_err();
        assert!(
            e.contains(r#"FieldDelimiter: ";" is not allowed for this log type; use one of "\t", ",", "|""#),
            "{e}"
        );
        assert!(
            e.contains(
                "S3SuffixPath: {dd}, {HH} are not allowed for this log type; the allowed variables are {DistributionId}, {yyyy}, {MM}"
            ),
            "{e}"
        );
    }

    #[test]
    fn an_empty_template_list_checks_nothing() {
        let f = fields(&["anything"]);
        let settings = Settings {
            record_fields: Some(&f),
            field_delimiter: Some(";"),
            suffix_path: Some("{x}"),
        };
        assert!(problems(&Template::default(), settings).is_ok());
    }

    #[test]
    fn the_template_of_the_source_resource_is_picked() {
        let other = Template {
            resource_type: "KnowledgeBase".into(),
            ..Template::default()
        };
        let both = [other.clone(), cloudfront()];
        assert_eq!(
            pick(&both, Some("arn:aws:cloudfront::123456789012:distribution/E1")),
            Some(&both[1])
        );
        assert_eq!(
            pick(&both, Some("arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB1")),
            Some(&both[0])
        );
        assert_eq!(pick(&both, Some("arn:aws:sso:::instance/ssoins-1")), None);
        assert_eq!(pick(&both[1..], None), Some(&both[1]), "the only template applies");
        assert_eq!(pick(&[], None), None);
    }

    #[test]
    fn suffix_variables_are_read_without_braces() {
        assert_eq!(variables("a/{x}/b{yy}/{}/{open").collect::<Vec<_>>(), ["x", "yy", ""]);
        assert_eq!(unbraced("{DistributionId}"), "DistributionId");
        assert_eq!(unbraced("yyyy"), "yyyy");
    }
}
