//! Paths moto and the real-service layer cannot play (XRAY destinations, which moto answers with
//! HTTP 500; retries and refusals of UpdateDeliveryConfiguration; configuration templates with
//! mandatory fields or that cannot be read), exercised with `aws-smithy-mocks` against the real
//! resource code.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatchlogs::error::ErrorMetadata;
use aws_sdk_cloudwatchlogs::operation::create_delivery::CreateDeliveryOutput;
use aws_sdk_cloudwatchlogs::operation::delete_delivery::DeleteDeliveryOutput;
use aws_sdk_cloudwatchlogs::operation::delete_delivery_destination::DeleteDeliveryDestinationOutput;
use aws_sdk_cloudwatchlogs::operation::describe_configuration_templates::{
    DescribeConfigurationTemplatesError, DescribeConfigurationTemplatesOutput,
};
use aws_sdk_cloudwatchlogs::operation::get_delivery::GetDeliveryOutput;
use aws_sdk_cloudwatchlogs::operation::get_delivery_destination::{
    GetDeliveryDestinationError, GetDeliveryDestinationOutput,
};
use aws_sdk_cloudwatchlogs::operation::get_delivery_source::{GetDeliverySourceError, GetDeliverySourceOutput};
use aws_sdk_cloudwatchlogs::operation::list_tags_for_resource::{ListTagsForResourceError, ListTagsForResourceOutput};
use aws_sdk_cloudwatchlogs::operation::put_delivery_destination::PutDeliveryDestinationOutput;
use aws_sdk_cloudwatchlogs::operation::put_delivery_destination_policy::PutDeliveryDestinationPolicyError;
use aws_sdk_cloudwatchlogs::operation::put_delivery_source::PutDeliverySourceOutput;
use aws_sdk_cloudwatchlogs::operation::tag_resource::TagResourceOutput;
use aws_sdk_cloudwatchlogs::operation::update_delivery_configuration::{
    UpdateDeliveryConfigurationError, UpdateDeliveryConfigurationOutput,
};
use aws_sdk_cloudwatchlogs::types::error::{ResourceNotFoundException, ThrottlingException, ValidationException};
use aws_sdk_cloudwatchlogs::types::{
    ConfigurationTemplate, Delivery, DeliveryDestination, DeliveryDestinationType, DeliverySource, RecordField,
    S3DeliveryConfiguration,
};
use aws_sdk_cloudwatchlogs::Client;
use aws_smithy_mocks::{mock, mock_client, Rule, RuleMode};
use cfn_logs_delivery::clients::Clients;
use cfn_logs_delivery::request::{Action, Outcome, Request};
use cfn_logs_delivery::resources::{self, Env};
use cfn_logs_delivery::Error;
use serde_json::{json, Value};

const STACK: &str = "arn:aws:cloudformation:us-east-1:123456789012:stack/mocked/1";
const DEST_ARN: &str = "arn:aws:logs:us-east-1:123456789012:delivery-destination:dest";
const DELIVERY_ARN: &str = "arn:aws:logs:us-east-1:123456789012:delivery:d1";

async fn run(client: Client, resource_type: &str, action: Action, properties: Value) -> Result<Outcome, Error> {
    run_with_old(client, resource_type, action, properties, None).await
}

async fn run_with_old(
    client: Client,
    resource_type: &str,
    action: Action,
    properties: Value,
    old: Option<Value>,
) -> Result<Outcome, Error> {
    let request = Request {
        action,
        resource_type: resource_type.into(),
        properties,
        old_properties: old,
        stack_id: STACK.into(),
        request_id: "req".into(),
        logical_id: "Logical".into(),
    };
    let env = Env::new(
        Arc::new(Clients::new(client, None)),
        Instant::now() + Duration::from_secs(20),
        &request,
    );
    resources::run(&env, &request).await
}

fn live_delivery() -> Delivery {
    Delivery::builder()
        .id("d1")
        .arn(DELIVERY_ARN)
        .delivery_source_name("src")
        .delivery_destination_arn(DEST_ARN)
        .delivery_destination_type(DeliveryDestinationType::S3)
        .record_fields("date")
        .field_delimiter(",")
        .s3_delivery_configuration(
            S3DeliveryConfiguration::builder()
                .suffix_path("old/{yyyy}")
                .enable_hive_compatible_path(false)
                .build(),
        )
        .build() // as the real GetDelivery answers: no tags (ownership is read with ListTagsForResource)
}

fn get_delivery_rule() -> Rule {
    mock!(Client::get_delivery).then_output(|| GetDeliveryOutput::builder().delivery(live_delivery()).build())
}

/// ListTagsForResource as it answers for a delivery this stack resource created.
fn ownership_tags_rule() -> Rule {
    mock!(Client::list_tags_for_resource).then_output(|| {
        ListTagsForResourceOutput::builder()
            .tags("cfn-logs-delivery:stack-id", STACK)
            .tags("cfn-logs-delivery:logical-id", "Logical")
            .build()
    })
}

/// GetDeliverySource of `src`: a CloudFront distribution's access logs.
fn cloudfront_source_rule() -> Rule {
    source_rule(
        "cloudfront",
        "ACCESS_LOGS",
        "arn:aws:cloudfront::123456789012:distribution/E1",
    )
}

fn source_rule(service: &'static str, log_type: &'static str, resource_arn: &'static str) -> Rule {
    mock!(Client::get_delivery_source).then_output(move || {
        GetDeliverySourceOutput::builder()
            .delivery_source(
                DeliverySource::builder()
                    .name("src")
                    .service(service)
                    .log_type(log_type)
                    .resource_arns(resource_arn)
                    .build(),
            )
            .build()
    })
}

/// DescribeConfigurationTemplates with no template: the settings are left to the service.
fn no_templates_rule() -> Rule {
    mock!(Client::describe_configuration_templates)
        .then_output(|| DescribeConfigurationTemplatesOutput::builder().build())
}

fn delivery_props(record_fields: Value, delimiter: &str, suffix: &str, hive: &str) -> Value {
    json!({"DeliverySourceName": "src", "DeliveryDestinationArn": DEST_ARN, "RecordFields": record_fields,
           "FieldDelimiter": delimiter, "S3SuffixPath": suffix, "S3EnableHiveCompatiblePath": hive})
}

fn update_of(id: &str) -> Action {
    Action::Update { physical_id: id.into() }
}

#[tokio::test]
async fn changed_configuration_goes_through_update_delivery_configuration() {
    let update = mock!(Client::update_delivery_configuration)
        .match_requests(|req| {
            req.id() == Some("d1")
                && req.record_fields() == ["date", "time"]
                && req.field_delimiter() == Some("\t")
                && req.s3_delivery_configuration().and_then(|c| c.suffix_path()) == Some("new/{yyyy}")
                && req
                    .s3_delivery_configuration()
                    .and_then(|c| c.enable_hive_compatible_path())
                    == Some(true)
        })
        .then_output(|| UpdateDeliveryConfigurationOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [
            &get_delivery_rule(),
            &update,
            &ownership_tags_rule(),
            &cloudfront_source_rule(),
            &no_templates_rule()
        ]
    );

    let outcome = run(
        client,
        "Custom::Delivery",
        update_of("d1"),
        delivery_props(json!(["date", "time"]), "\t", "new/{yyyy}", "true"),
    )
    .await
    .unwrap();
    assert_eq!(update.num_calls(), 1);
    assert_eq!(outcome.physical_id, "d1", "an in-place update keeps the id");
    assert!(outcome.data.contains(&("DeliveryId", "d1".to_string())));
    assert!(outcome.data.contains(&("Arn", DELIVERY_ARN.to_string())));
}

#[tokio::test]
async fn unchanged_configuration_makes_no_update_call() {
    let update = mock!(Client::update_delivery_configuration)
        .then_output(|| UpdateDeliveryConfigurationOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&get_delivery_rule(), &update, &ownership_tags_rule()]
    );
    let outcome = run(
        client,
        "Custom::Delivery",
        update_of("d1"),
        delivery_props(json!(["date"]), ",", "old/{yyyy}", "false"),
    )
    .await
    .unwrap();
    assert_eq!(update.num_calls(), 0);
    assert_eq!(outcome.physical_id, "d1");
}

fn throttled() -> UpdateDeliveryConfigurationError {
    UpdateDeliveryConfigurationError::ThrottlingException(
        ThrottlingException::builder()
            .message("Rate exceeded")
            .meta(
                ErrorMetadata::builder()
                    .code("ThrottlingException")
                    .message("Rate exceeded")
                    .build(),
            )
            .build(),
    )
}

#[tokio::test]
async fn throttled_update_configuration_is_retried() {
    let update = mock!(Client::update_delivery_configuration)
        .sequence()
        .error(throttled)
        .times(2)
        .output(|| UpdateDeliveryConfigurationOutput::builder().build())
        .build();
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [
            &get_delivery_rule(),
            &update,
            &ownership_tags_rule(),
            &cloudfront_source_rule(),
            &no_templates_rule()
        ]
    );
    let outcome = run(
        client,
        "Custom::Delivery",
        update_of("d1"),
        delivery_props(json!(["date", "time"]), ",", "old/{yyyy}", "false"),
    )
    .await;
    assert_eq!(outcome.unwrap().physical_id, "d1");
    assert_eq!(update.num_calls(), 3);
}

#[tokio::test]
async fn refused_update_configuration_names_the_operation_and_the_service_message() {
    let update = mock!(Client::update_delivery_configuration).then_error(|| {
        UpdateDeliveryConfigurationError::ValidationException(
            ValidationException::builder()
                .message("recordFields contains an unsupported field: bogus")
                .meta(
                    ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("recordFields contains an unsupported field: bogus")
                        .build(),
                )
                .build(),
        )
    });
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [
            &get_delivery_rule(),
            &update,
            &ownership_tags_rule(),
            &cloudfront_source_rule(),
            &no_templates_rule()
        ]
    );
    let err = run(
        client,
        "Custom::Delivery",
        update_of("d1"),
        delivery_props(json!(["bogus"]), ",", "old/{yyyy}", "false"),
    )
    .await
    .unwrap_err();
    assert_eq!(update.num_calls(), 1, "a validation error is not retried");
    assert_eq!(
        err.to_string(),
        "UpdateDeliveryConfiguration failed: ValidationException: recordFields contains an unsupported field: bogus"
    );
}

fn not_found() -> ResourceNotFoundException {
    ResourceNotFoundException::builder()
        .meta(ErrorMetadata::builder().code("ResourceNotFoundException").build())
        .build()
}

fn destination_not_found() -> Rule {
    mock!(Client::get_delivery_destination)
        .then_error(|| GetDeliveryDestinationError::ResourceNotFoundException(not_found()))
}

/// PutDeliveryDestination answering an XRAY destination named `traces`.
fn put_traces_output() -> PutDeliveryDestinationOutput {
    PutDeliveryDestinationOutput::builder()
        .delivery_destination(
            DeliveryDestination::builder()
                .name("traces")
                .arn("arn:aws:logs:us-east-1:123456789012:delivery-destination:traces")
                .delivery_destination_type(DeliveryDestinationType::Xray)
                .build(),
        )
        .build()
}

#[tokio::test]
async fn xray_destination_is_created_with_its_type_and_no_configuration() {
    let absent = destination_not_found();
    let put = mock!(Client::put_delivery_destination)
        .match_requests(|req| {
            req.name() == Some("traces")
                && req.delivery_destination_type() == Some(&DeliveryDestinationType::Xray)
                && req.delivery_destination_configuration().is_none()
                && req.output_format().is_none()
                && req
                    .tags()
                    .is_some_and(|t| t.get("cfn-logs-delivery:logical-id").map(String::as_str) == Some("Logical"))
        })
        .then_output(put_traces_output);
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&absent, &put]);
    let outcome = run(
        client,
        "Custom::DeliveryDestination",
        Action::Create,
        json!({"Name": "traces", "DeliveryDestinationType": "XRAY"}),
    )
    .await
    .unwrap();
    assert_eq!(put.num_calls(), 1);
    assert_eq!(outcome.physical_id, "traces");
    assert!(outcome.data.contains(&("DeliveryDestinationType", "XRAY".to_string())));
    assert!(
        !outcome.data.iter().any(|(k, _)| *k == "OutputFormat"),
        "no OutputFormat when none is set: {:?}",
        outcome.data
    );
}

#[tokio::test]
async fn a_refused_policy_undoes_the_new_destination() {
    let absent = destination_not_found();
    let put = mock!(Client::put_delivery_destination).then_output(|| {
        PutDeliveryDestinationOutput::builder()
            .delivery_destination(
                DeliveryDestination::builder()
                    .name("dest")
                    .arn(DEST_ARN)
                    .delivery_destination_type(DeliveryDestinationType::S3)
                    .build(),
            )
            .build()
    });
    let policy = mock!(Client::put_delivery_destination_policy).then_error(|| {
        PutDeliveryDestinationPolicyError::ValidationException(
            ValidationException::builder()
                .message("Invalid policy document")
                .meta(
                    ErrorMetadata::builder()
                        .code("ValidationException")
                        .message("Invalid policy document")
                        .build(),
                )
                .build(),
        )
    });
    let undo = mock!(Client::delete_delivery_destination)
        .match_requests(|req| req.name() == Some("dest"))
        .then_output(|| DeleteDeliveryDestinationOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&absent, &put, &policy, &undo]
    );
    let props = json!({"Name": "dest", "DestinationResourceArn": "arn:aws:s3:::bucket", "DeliveryDestinationPolicy": {"Version": "2012-10-17"}});
    let err = run(client, "Custom::DeliveryDestination", Action::Create, props)
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "PutDeliveryDestinationPolicy failed: ValidationException: Invalid policy document"
    );
    assert_eq!(
        undo.num_calls(),
        1,
        "the destination made by this failed Create is removed again"
    );
}

#[tokio::test]
async fn a_tags_read_that_fails_is_an_error_naming_the_call_never_not_ours() {
    let denied = mock!(Client::list_tags_for_resource).then_error(|| {
        ListTagsForResourceError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform: logs:ListTagsForResource")
                .build(),
        )
    });
    let delete = mock!(Client::delete_delivery).then_output(|| DeleteDeliveryOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&get_delivery_rule(), &denied, &delete]
    );
    let err = run(
        client,
        "Custom::Delivery",
        Action::Delete {
            physical_id: "d1".into(),
        },
        json!({}),
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "ListTagsForResource failed: AccessDeniedException: not authorized to perform: logs:ListTagsForResource"
    );
    assert_eq!(delete.num_calls(), 0);
}

#[tokio::test]
async fn a_create_answer_without_the_destination_type_reads_it_from_the_destination() {
    let create = mock!(Client::create_delivery).then_output(|| {
        let mut live = live_delivery();
        live.delivery_destination_type = None;
        CreateDeliveryOutput::builder().delivery(live).build()
    });
    let destination = mock!(Client::get_delivery_destination)
        .match_requests(|req| req.name() == Some("dest"))
        .then_output(|| {
            GetDeliveryDestinationOutput::builder()
                .delivery_destination(
                    DeliveryDestination::builder()
                        .name("dest")
                        .arn(DEST_ARN)
                        .delivery_destination_type(DeliveryDestinationType::Cwl)
                        .build(),
                )
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&create, &destination]);
    let outcome = run(
        client,
        "Custom::Delivery",
        Action::Create,
        json!({"DeliverySourceName": "src", "DeliveryDestinationArn": DEST_ARN}),
    )
    .await
    .unwrap();
    assert_eq!(destination.num_calls(), 1);
    assert!(
        outcome.data.contains(&("DeliveryDestinationType", "CWL".to_string())),
        "{:?}",
        outcome.data
    );
}

#[tokio::test]
async fn the_suffix_path_prefix_cloudfront_adds_is_not_a_change() {
    let prefixed = mock!(Client::get_delivery).then_output(|| {
        let mut live = live_delivery();
        live.s3_delivery_configuration = Some(
            S3DeliveryConfiguration::builder()
                .suffix_path("AWSLogs/{account-id}/CloudFront/old/{yyyy}")
                .enable_hive_compatible_path(false)
                .build(),
        );
        GetDeliveryOutput::builder().delivery(live).build()
    });
    let update = mock!(Client::update_delivery_configuration)
        .then_output(|| UpdateDeliveryConfigurationOutput::builder().build());
    let tag = mock!(Client::tag_resource).then_output(|| TagResourceOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&prefixed, &update, &ownership_tags_rule(), &tag]
    );
    let mut props = delivery_props(json!(["date"]), ",", "old/{yyyy}", "false");
    props["Tags"] = json!([{"Key": "team", "Value": "b"}]);
    let outcome = run(client, "Custom::Delivery", update_of("d1"), props).await.unwrap();
    assert_eq!(
        (update.num_calls(), tag.num_calls()),
        (0, 1),
        "a tags-only update makes no configuration call"
    );
    assert_eq!(outcome.physical_id, "d1");
}

const SOURCE_ARN: &str = "arn:aws:logs:us-east-1:123456789012:delivery-source:src";
const DISTRIBUTION: &str = "arn:aws:cloudfront::123456789012:distribution/E1";

fn source_props(sampling: &str) -> Value {
    json!({"Name": "src", "ResourceArn": DISTRIBUTION, "LogType": "ACCESS_LOGS", "DeliverySourceConfiguration": {"samplingRate": sampling}})
}

/// A source as the real GetDeliverySource / PutDeliverySource answer it (no tags).
fn live_source() -> DeliverySource {
    DeliverySource::builder()
        .name("src")
        .arn(SOURCE_ARN)
        .resource_arns(DISTRIBUTION)
        .service("cloudfront")
        .log_type("ACCESS_LOGS")
        .build()
}

#[tokio::test]
async fn delivery_source_configuration_is_sent_on_create_and_changed_in_place_without_tags() {
    let absent = mock!(Client::get_delivery_source)
        .then_error(|| GetDeliverySourceError::ResourceNotFoundException(not_found()));
    let create = mock!(Client::put_delivery_source)
        .match_requests(|req| {
            req.delivery_source_configuration()
                .and_then(|c| c.get("samplingRate"))
                .map(String::as_str)
                == Some("50")
                && req
                    .tags()
                    .is_some_and(|t| t.contains_key("cfn-logs-delivery:logical-id"))
        })
        .then_output(|| {
            PutDeliverySourceOutput::builder()
                .delivery_source(live_source())
                .build()
        });
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&absent, &create]);
    let outcome = run(client, "Custom::DeliverySource", Action::Create, source_props("50"))
        .await
        .unwrap();
    assert_eq!(create.num_calls(), 1);
    assert!(
        outcome.data.contains(&("ResourceArns", DISTRIBUTION.to_string())),
        "{:?}",
        outcome.data
    );

    // Update 50 -> 10: PutDeliverySource again, without tags (refused on an existing source).
    let get = mock!(Client::get_delivery_source).then_output(|| {
        GetDeliverySourceOutput::builder()
            .delivery_source(live_source())
            .build()
    });
    let change = mock!(Client::put_delivery_source)
        .match_requests(|req| {
            req.delivery_source_configuration()
                .and_then(|c| c.get("samplingRate"))
                .map(String::as_str)
                == Some("10")
                && req.tags().is_none()
        })
        .then_output(|| {
            PutDeliverySourceOutput::builder()
                .delivery_source(live_source())
                .build()
        });
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&get, &change, &source_ownership_rule()]
    );
    let update = Action::Update {
        physical_id: "src".into(),
    };
    run_with_old(
        client,
        "Custom::DeliverySource",
        update.clone(),
        source_props("10"),
        Some(source_props("50")),
    )
    .await
    .unwrap();
    assert_eq!(change.num_calls(), 1);

    // The same configuration as before (a tags-only update): no Put.
    let put = mock!(Client::put_delivery_source).then_output(|| {
        PutDeliverySourceOutput::builder()
            .delivery_source(live_source())
            .build()
    });
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&get, &put, &source_ownership_rule()]
    );
    run_with_old(
        client,
        "Custom::DeliverySource",
        update,
        source_props("10"),
        Some(source_props("10")),
    )
    .await
    .unwrap();
    assert_eq!(put.num_calls(), 0);
}

fn source_ownership_rule() -> Rule {
    mock!(Client::list_tags_for_resource)
        .match_requests(|req| req.resource_arn() == Some(SOURCE_ARN))
        .then_output(|| {
            ListTagsForResourceOutput::builder()
                .tags("cfn-logs-delivery:stack-id", STACK)
                .tags("cfn-logs-delivery:logical-id", "Logical")
                .build()
        })
}

#[tokio::test]
async fn xray_destination_role_arn_is_sent_on_create() {
    let absent = destination_not_found();
    let role = "arn:aws:iam::123456789012:role/xray-delivery";
    let put = mock!(Client::put_delivery_destination)
        .match_requests(move |req| {
            req.role_arn() == Some(role) && req.delivery_destination_type() == Some(&DeliveryDestinationType::Xray)
        })
        .then_output(put_traces_output);
    let client = mock_client!(aws_sdk_cloudwatchlogs, RuleMode::MatchAny, [&absent, &put]);
    let props = json!({"Name": "traces", "DeliveryDestinationType": "XRAY", "RoleArn": role});
    run(client, "Custom::DeliveryDestination", Action::Create, props)
        .await
        .unwrap();
    assert_eq!(put.num_calls(), 1);
}

/// GetDeliveryDestination of `dest`: an S3 destination.
fn s3_destination_rule() -> Rule {
    mock!(Client::get_delivery_destination).then_output(|| {
        GetDeliveryDestinationOutput::builder()
            .delivery_destination(
                DeliveryDestination::builder()
                    .name("dest")
                    .arn(DEST_ARN)
                    .delivery_destination_type(DeliveryDestinationType::S3)
                    .build(),
            )
            .build()
    })
}

/// A template with a mandatory field: the layer's templates have none (no public source says
/// which fields are), so this path is played here. Its own service and log type, so the
/// process-wide template cache cannot mix it with another test's.
#[tokio::test]
async fn an_unknown_record_field_and_a_missing_mandatory_one_are_named_in_one_reason() {
    let template = mock!(Client::describe_configuration_templates)
        .match_requests(|req| req.service() == Some("bedrock") && req.log_types() == ["APPLICATION_LOGS"])
        .then_output(|| {
            let field = |name: &str, mandatory: bool| RecordField::builder().name(name).mandatory(mandatory).build();
            DescribeConfigurationTemplatesOutput::builder()
                .configuration_templates(
                    ConfigurationTemplate::builder()
                        .service("bedrock")
                        .log_type("APPLICATION_LOGS")
                        .resource_type("KnowledgeBase")
                        .delivery_destination_type(DeliveryDestinationType::S3)
                        .allowed_fields(field("event_timestamp", true))
                        .allowed_fields(field("event", false))
                        .allowed_fields(field("level", false))
                        .build(),
                )
                .build()
        });
    let create = mock!(Client::create_delivery)
        .then_output(|| CreateDeliveryOutput::builder().delivery(live_delivery()).build());
    let source = source_rule(
        "bedrock",
        "APPLICATION_LOGS",
        "arn:aws:bedrock:us-east-1:123456789012:knowledge-base/KB1",
    );
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&source, &s3_destination_rule(), &template, &create]
    );
    let props =
        json!({"DeliverySourceName": "src", "DeliveryDestinationArn": DEST_ARN, "RecordFields": ["event", "levl"]});
    let reason = run(client, "Custom::Delivery", Action::Create, props)
        .await
        .unwrap_err()
        .to_string();
    assert!(reason.starts_with("2 problems: "), "{reason}");
    assert!(
        reason.contains("RecordFields: lacks the mandatory field(s) 'event_timestamp'"),
        "{reason}"
    );
    assert!(
        reason.contains(
            "RecordFields[1]: 'levl' is not a record field of this log type; the nearest allowed name is 'level'"
        ),
        "{reason}"
    );
    assert_eq!(
        (template.num_calls(), create.num_calls()),
        (1, 0),
        "refused before CreateDelivery"
    );
}

/// A template that cannot be read is logged and skipped: the service still checks the call.
#[tokio::test]
async fn a_configuration_template_that_cannot_be_read_is_skipped() {
    let denied = mock!(Client::describe_configuration_templates).then_error(|| {
        DescribeConfigurationTemplatesError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized")
                .build(),
        )
    });
    let create = mock!(Client::create_delivery)
        .then_output(|| CreateDeliveryOutput::builder().delivery(live_delivery()).build());
    let source = source_rule("sso", "ERROR_LOGS", "arn:aws:sso:::instance/ssoins-1");
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&source, &s3_destination_rule(), &denied, &create]
    );
    let props = json!({"DeliverySourceName": "src", "DeliveryDestinationArn": DEST_ARN, "RecordFields": ["anything"]});
    let outcome = run(client, "Custom::Delivery", Action::Create, props).await.unwrap();
    assert_eq!((denied.num_calls(), create.num_calls()), (1, 1));
    assert_eq!(outcome.physical_id, "d1");
}
