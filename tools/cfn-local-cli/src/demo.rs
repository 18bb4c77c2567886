//! `cfn-local demo`: the life of the example stack, event by event, as CloudFormation plays it;
//! then a provider killed mid-event, answered by the failsafe (`demo/killed_mid_event.rs`).
//! The stack and its provider are in eu-west-1; CloudFront's source, destination and delivery are
//! made in us-east-1 (`Region`), the one region CloudWatch Logs takes them in.

mod killed_mid_event;

use cfn_local::answer_check::answer_problems;
use cfn_local::events::{self, source_props, ACCOUNT, DELIVERY, DESTINATION, SOURCE};
use cfn_local::real_service::Semantics;
use cfn_local::receiver::{Answer, FAKE_SIGNATURE};
use cfn_local::runtime_api::Outcome;
use cfn_local::stack::Stack;
use comfy_table::{presets, ContentArrangement, Table};
use serde_json::{json, Value};
use std::io;
use std::path::Path;
use std::time::Instant;

/// What an answer must look like for the step to pass.
enum Expect {
    /// SUCCESS with these Data keys.
    Success(&'static [&'static str]),
    /// SUCCESS keeping this physical id (in-place update).
    SameId(String, &'static [&'static str]),
    /// SUCCESS with a physical id other than this one (replacement).
    NewId(String, &'static [&'static str]),
    /// FAILED with a Reason containing this text.
    Failed(&'static str),
}

/// One line of the final table.
struct Row {
    kind: String,
    request: String,
    logical_id: String,
    status: String,
    ok: bool,
    physical_id: String,
    reason: String,
}

impl Row {
    /// The row of `event`; a Reason only for a failure, as CloudFormation shows it.
    fn answered(event: &Value, answer: Option<&Answer>, ok: bool) -> Row {
        let field = |key: &str| event[key].as_str().unwrap_or_default().to_string();
        let status = answer.map_or_else(|| "NO ANSWER".to_string(), |a| a.status().unwrap_or_else(|| "?".into()));
        let reason = if status == "SUCCESS" {
            None
        } else {
            answer.and_then(Answer::reason)
        };
        Row {
            kind: field("ResourceType"),
            request: field("RequestType"),
            logical_id: field("LogicalResourceId"),
            status,
            ok,
            physical_id: answer.and_then(Answer::physical_id).unwrap_or_default(),
            reason: reason.unwrap_or_default(),
        }
    }
}

struct Demo<'a> {
    stack: &'a Stack,
    rows: Vec<Row>,
}

/// Where the stack and its provider run.
const STACK_REGION: &str = "eu-west-1";
/// Where CloudWatch Logs takes every delivery call for a CloudFront source.
const CLOUDFRONT_REGION: &str = "us-east-1";

/// `props` made in us-east-1, as every CloudFront delivery resource must be.
fn in_virginia(mut props: Value) -> Value {
    props["Region"] = json!(CLOUDFRONT_REGION);
    props
}

fn destination_props(name: &str) -> Value {
    let arn = format!("arn:aws:logs:us-east-1:{ACCOUNT}:delivery-destination:{name}");
    let statement = json!({
        "Sid": "AllowCreateDeliveryFromThisAccount", "Effect": "Allow", "Principal": {"AWS": ACCOUNT},
        "Action": "logs:CreateDelivery", "Resource": arn,
    });
    in_virginia(json!({
        "Name": name, "DestinationResourceArn": "arn:aws:s3:::cfn-local-demo-logs", "OutputFormat": "json",
        "DeliveryDestinationPolicy": {"Version": "2012-10-17", "Statement": [statement]},
        "Tags": [{"Key": "team", "Value": "platform"}],
    }))
}

fn delivery_props(source_name: &str, destination_arn: &str) -> Value {
    in_virginia(json!({
        "DeliverySourceName": source_name, "DeliveryDestinationArn": destination_arn,
        "RecordFields": ["date", "time", "x-edge-location"], "FieldDelimiter": ",",
        "S3SuffixPath": "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}", "S3EnableHiveCompatiblePath": "false",
        "Tags": [{"Key": "team", "Value": "platform"}],
    }))
}

/// The Data keys a SUCCESS of `resource_type` carries: the provider's own list of its attributes.
fn data_of(resource_type: &str) -> &'static [&'static str] {
    cfn_logs_delivery::attributes(resource_type).expect("a resource type of the provider")
}

/// Runs the demo against `binary`; `Ok(true)` if every answer and check was as expected.
pub fn run(binary: &Path, extra_env: &[(&str, &str)], semantics: Semantics) -> io::Result<bool> {
    println!(
        "starting moto, the Runtime API, the ResponseURL receiver and {} (in {STACK_REGION})",
        binary.display()
    );
    let env: Vec<(&str, &str)> = [("AWS_REGION", STACK_REGION)]
        .into_iter()
        .chain(extra_env.iter().copied())
        .collect();
    let stack = Stack::start_with(binary, &env, semantics)?;
    println!(
        "moto at {} ({semantics:?} semantics), function pid {}\n",
        stack.moto.endpoint(),
        stack.lambda.pid()
    );
    let mut demo = Demo {
        stack: &stack,
        rows: Vec::new(),
    };
    demo.play();
    demo.killed_mid_event();
    demo.final_checks();
    for table in tables(&demo.rows) {
        println!("\n{table}");
    }
    let ok = demo.rows.iter().all(|r| r.ok);
    if !ok {
        println!("\n--- function log ---\n{}", stack.lambda.log_text());
    }
    println!(
        "\n{}",
        if ok {
            "demo: every answer as expected"
        } else {
            "demo: SOME ANSWERS WERE NOT AS EXPECTED"
        }
    );
    Ok(ok)
}

impl Demo<'_> {
    fn play(&mut self) {
        let src_props = in_virginia(source_props(
            "demo-source",
            "E1DEMO0EXAMPLE",
            json!([{"Key": "team", "Value": "platform"}]),
        ));
        let dst_props = destination_props("demo-destination");

        println!("== stack create (stack and provider in {STACK_REGION}; CloudFront's delivery resources in {CLOUDFRONT_REGION})");
        let src = self.create(SOURCE, "AccessLogsSource", &src_props, Expect::Success(data_of(SOURCE)));
        let (src_id, src_name, src_arn) = (
            id_or(&src, "demo-source"),
            data_or(&src, "Name", "demo-source"),
            data_or(&src, "Arn", ""),
        );
        let dst = self.create(
            DESTINATION,
            "AccessLogsDestination",
            &dst_props,
            Expect::Success(data_of(DESTINATION)),
        );
        let (dst_id, dst_arn) = (id_or(&dst, "demo-destination"), data_or(&dst, "Arn", ""));
        let dlv_props = delivery_props(&src_name, &dst_arn);
        let dlv = self.create(
            DELIVERY,
            "AccessLogsDelivery",
            &dlv_props,
            Expect::Success(data_of(DELIVERY)),
        );
        let dlv_id = id_or(&dlv, "");

        println!("== stack update: new tags on the source (in place)");
        let mut src_props_v2 = src_props.clone();
        src_props_v2["Tags"] = json!([{"Key": "team", "Value": "observability"}, {"Key": "env", "Value": "demo"}]);
        self.update(
            SOURCE,
            "AccessLogsSource",
            &src_id,
            &src_props_v2,
            &src_props,
            Expect::SameId(src_id.clone(), data_of(SOURCE)),
        );
        self.check_tags(&src_arn, json!({"team": "observability", "env": "demo"}));

        println!("== stack update: source renamed, same ResourceArn (one source per resource: refused before any call), rollback");
        let mut renamed = src_props_v2.clone();
        renamed["Name"] = json!("demo-source-renamed");
        self.stack.proxy.reset_counts();
        self.update(
            SOURCE,
            "AccessLogsSource",
            &src_id,
            &renamed,
            &src_props_v2,
            Expect::Failed("ResourceArn"),
        );
        self.check_no_calls("no Logs call for the refused rename", &[]);
        self.update(
            SOURCE,
            "AccessLogsSource",
            &src_id,
            &src_props_v2,
            &renamed,
            Expect::SameId(src_id.clone(), data_of(SOURCE)),
        );

        println!(
            "== stack update: new tags on the delivery (the suffix path CloudFront's prefix changed is no change)"
        );
        let mut dlv_props_v2 = dlv_props.clone();
        dlv_props_v2["Tags"] = json!([{"Key": "team", "Value": "observability"}]);
        self.stack.proxy.reset_counts();
        self.update(
            DELIVERY,
            "AccessLogsDelivery",
            &dlv_id,
            &dlv_props_v2,
            &dlv_props,
            Expect::SameId(dlv_id.clone(), data_of(DELIVERY)),
        );
        self.check_no_calls(
            "no configuration call for a tags-only update",
            &["UpdateDeliveryConfiguration", "CreateDelivery"],
        );
        let dlv_props = dlv_props_v2;

        println!("== stack update: destination renamed (replacement), delivery follows (replacement), cleanup");
        let dst2_props = destination_props("demo-destination-v2");
        let replaced = Expect::NewId(dst_id.clone(), data_of(DESTINATION));
        let dst2 = self.update(
            DESTINATION,
            "AccessLogsDestination",
            &dst_id,
            &dst2_props,
            &dst_props,
            replaced,
        );
        let (dst2_id, dst2_arn) = (id_or(&dst2, "demo-destination-v2"), data_or(&dst2, "Arn", ""));
        let dlv2_props = delivery_props(&src_name, &dst2_arn);
        let replaced = Expect::NewId(dlv_id.clone(), data_of(DELIVERY));
        let dlv2_id = id_or(
            &self.update(
                DELIVERY,
                "AccessLogsDelivery",
                &dlv_id,
                &dlv2_props,
                &dlv_props,
                replaced,
            ),
            "",
        );
        self.delete(DELIVERY, "AccessLogsDelivery", &dlv_id, &dlv_props);
        self.delete(DESTINATION, "AccessLogsDestination", &dst_id, &dst_props);

        println!("== a refused create, and the delete CloudFormation sends after it");
        let bad_props = in_virginia(source_props("not a valid name!", "E2BAD0EXAMPLE", json!([])));
        let bad_id = id_or(
            &self.create(SOURCE, "BadSource", &bad_props, Expect::Failed("Name")),
            "",
        );
        self.delete(SOURCE, "BadSource", &bad_id, &bad_props);
        self.check_source_exists("demo-source");

        println!("== stack delete");
        self.delete(DELIVERY, "AccessLogsDelivery", &dlv2_id, &dlv2_props);
        self.delete(DESTINATION, "AccessLogsDestination", &dst2_id, &dst2_props);
        self.delete(SOURCE, "AccessLogsSource", &src_id, &src_props_v2);
    }

    fn create(&mut self, kind: &str, logical_id: &str, props: &Value, expect: Expect) -> Option<Answer> {
        self.step(
            events::create(kind, logical_id, props.clone(), &self.stack.placeholder_url()),
            expect,
        )
    }

    fn update(
        &mut self,
        kind: &str,
        logical_id: &str,
        id: &str,
        props: &Value,
        old: &Value,
        expect: Expect,
    ) -> Option<Answer> {
        self.step(
            events::update(
                kind,
                logical_id,
                id,
                props.clone(),
                old.clone(),
                &self.stack.placeholder_url(),
            ),
            expect,
        )
    }

    fn delete(&mut self, kind: &str, logical_id: &str, id: &str, props: &Value) {
        self.step(
            events::delete(kind, logical_id, id, props.clone(), &self.stack.placeholder_url()),
            Expect::Success(&[]),
        );
    }

    /// Sends one event, judges the answer, prints a progress line, records a row.
    fn step(&mut self, event: Value, expect: Expect) -> Option<Answer> {
        let started = Instant::now();
        let log_offset = self.stack.lambda.log_offset();
        let (invocation, answer) = self.stack.send(event.clone());
        let mut problems = problems(&event, answer.as_ref(), &expect);
        if answer.is_none() || matches!(invocation.outcome, Outcome::Error(_)) {
            problems.push(format!("invocation: {:?}", invocation.outcome));
        }
        let row = Row::answered(&event, answer.as_ref(), problems.is_empty());
        let ms = started.elapsed().as_millis();
        println!(
            "  {:<6} {:<28} {:<22} -> {:<9} {ms:>6} ms  {}",
            row.request,
            row.kind,
            row.logical_id,
            row.status,
            verdict(&problems)
        );
        if !row.ok {
            println!(
                "    function log for this event:\n{}",
                indent(&self.stack.lambda.log_since(log_offset), "      ")
            );
        }
        self.rows.push(row);
        answer
    }

    fn check(&mut self, what: &str, subject: &str, problem: Option<String>) {
        let ok = problem.is_none();
        println!("  check  {what:<51} -> {}", problem.as_deref().unwrap_or("ok"));
        self.rows.push(Row {
            kind: format!("(check) {subject}"),
            request: "-".into(),
            logical_id: what.into(),
            status: if ok { "OK".into() } else { "MISMATCH".into() },
            ok,
            physical_id: String::new(),
            reason: problem.unwrap_or_default(),
        });
    }

    /// The template's tags, exactly. Tags the function adds for itself (`cfn-logs-delivery:*`
    /// ownership markers) and AWS's own (`aws:*`) are left out of the comparison.
    fn check_tags(&mut self, arn: &str, expected: Value) {
        let (status, body) = self
            .stack
            .moto
            .logs_call("ListTagsForResource", json!({"resourceArn": arn}));
        let mut user_tags = body["tags"].as_object().cloned().unwrap_or_default();
        user_tags.retain(|k, _| !k.starts_with("cfn-logs-delivery:") && !k.starts_with("aws:"));
        let problem = (status != 200 || Value::Object(user_tags) != expected)
            .then(|| format!("tags are {} (HTTP {status}), expected {expected}", body["tags"]));
        self.check("ListTagsForResource", "moto", problem);
    }

    /// None of `operations` (every operation if empty) was called since the counts were reset.
    fn check_no_calls(&mut self, what: &str, operations: &[&str]) {
        let calls = self.stack.proxy.calls();
        let made: Vec<_> = calls
            .iter()
            .filter(|(op, n)| **n > 0 && (operations.is_empty() || operations.contains(&op.as_str())))
            .collect();
        let problem = (!made.is_empty()).then(|| format!("calls made: {made:?}"));
        self.check(what, "proxy", problem);
    }

    fn check_source_exists(&mut self, name: &str) {
        let (status, body) = self.stack.moto.logs_call("GetDeliverySource", json!({"name": name}));
        let problem = (status != 200).then(|| format!("{name} is gone after the failed create's delete: {body}"));
        self.check("GetDeliverySource", "moto", problem);
    }

    /// Nothing left in moto, and the ResponseURL signature never reached the function log.
    fn final_checks(&mut self) {
        for (op, key) in [
            ("DescribeDeliveries", "deliveries"),
            ("DescribeDeliveryDestinations", "deliveryDestinations"),
            ("DescribeDeliverySources", "deliverySources"),
        ] {
            let (status, body) = self.stack.moto.logs_call(op, json!({}));
            let left = body[key].as_array().map(Vec::len);
            let problem =
                (status != 200 || left != Some(0)).then(|| format!("left over (HTTP {status}): {}", body[key]));
            self.check(op, "moto", problem);
        }
        let elsewhere = self.stack.proxy.calls_in_region(STACK_REGION);
        let problem = (!elsewhere.is_empty()).then(|| format!("Logs calls in {STACK_REGION}: {elsewhere:?}"));
        self.check(&format!("every Logs call in {CLOUDFRONT_REGION}"), "proxy", problem);
        let log = self.stack.lambda.log_text();
        let problem = log
            .contains(FAKE_SIGNATURE)
            .then(|| "the function logged the ResponseURL signature".to_string());
        self.check("no ResponseURL signature in log", "function", problem);
    }
}

/// Width of the summary tables: a usual terminal's.
const TABLE_WIDTH: u16 = 120;

/// The summary, at most [`TABLE_WIDTH`] columns wide: a line per step or check (long cells cut
/// with an ellipsis), then the Reasons (of failures and mismatches) whole, by row number.
fn tables(rows: &[Row]) -> [Table; 2] {
    let table = |header: &[&str]| {
        let mut table = Table::new();
        table
            .load_style(presets::ASCII_MARKDOWN)
            .set_content_arrangement(ContentArrangement::Dynamic);
        table.set_width(TABLE_WIDTH).set_header(header.to_vec());
        table
    };
    let mut steps = table(&[
        "#",
        "Request",
        "Kind",
        "Logical id",
        "Status",
        "Expected",
        "Physical id",
    ]);
    let mut reasons = table(&["#", "Reason"]);
    for (n, r) in (1..).zip(rows) {
        let kind = r.kind.strip_prefix("Custom::").unwrap_or(&r.kind);
        let expected = if r.ok { "yes" } else { "NO" };
        let mut line = comfy_table::Row::from([
            &n.to_string(),
            &r.request,
            kind,
            &r.logical_id,
            &r.status,
            expected,
            &r.physical_id,
        ]);
        steps.add_row(line.max_height(1).clone());
        if !r.reason.is_empty() {
            reasons.add_row([n.to_string(), r.reason.clone()]);
        }
    }
    [steps, reasons]
}

/// Every rule `answer` breaks, and every way it misses `expect`.
fn problems(event: &Value, answer: Option<&Answer>, expect: &Expect) -> Vec<String> {
    let Some(a) = answer else {
        return vec!["no answer".into()];
    };
    let mut problems = answer_problems(event, a);
    let (status, id) = (a.status().unwrap_or_default(), a.physical_id());
    let (wanted, data_keys): (&str, &[&str]) = match expect {
        Expect::Failed(needle) => {
            if !a.reason().is_some_and(|r| r.contains(needle)) {
                problems.push(format!("Reason does not name {needle}"));
            }
            ("FAILED", &[])
        }
        Expect::Success(keys) => ("SUCCESS", keys),
        Expect::SameId(old, keys) => {
            if id.as_ref() != Some(old) {
                problems.push(format!("physical id changed from {old}"));
            }
            ("SUCCESS", keys)
        }
        Expect::NewId(old, keys) => {
            if id.as_ref() == Some(old) {
                problems.push("expected a replacement (new physical id)".into());
            }
            ("SUCCESS", keys)
        }
    };
    if status != wanted {
        problems.push(format!(
            "expected {wanted}, got {status}: {}",
            a.reason().unwrap_or_default()
        ));
    }
    let missing: Vec<&str> = data_keys.iter().copied().filter(|k| a.data(k).is_none()).collect();
    if !missing.is_empty() && status == "SUCCESS" {
        problems.push(format!("Data lacks {}", missing.join(", ")));
    }
    problems
}

/// "ok", or what was unexpected.
fn verdict(problems: &[String]) -> String {
    if problems.is_empty() {
        "ok".into()
    } else {
        format!("UNEXPECTED: {}", problems.join("; "))
    }
}

fn id_or(a: &Option<Answer>, fallback: &str) -> String {
    a.as_ref()
        .and_then(Answer::physical_id)
        .unwrap_or_else(|| fallback.to_string())
}

fn data_or(a: &Option<Answer>, key: &str, fallback: &str) -> String {
    a.as_ref()
        .and_then(|a| a.data(key))
        .unwrap_or_else(|| fallback.to_string())
}

/// Prefixes every line (for quoting function logs).
pub fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_fit_120_columns_and_keep_the_whole_reason() {
        let reason = format!(
            "ResourceArn: {} (and more words to wrap) {}",
            "x".repeat(150),
            "the end"
        );
        let failed = json!({"ResourceType": DESTINATION, "RequestType": "Update", "LogicalResourceId": "AVeryLongLogicalIdThatGoesOnAndOn"});
        let mut row = Row::answered(&failed, None, false);
        (row.physical_id, row.reason) = ("p".repeat(200), reason.clone());
        let [steps, reasons] = tables(&[row]);
        let (steps, reasons) = (steps.to_string(), reasons.to_string());
        for line in steps.lines().chain(reasons.lines()) {
            assert!(
                line.chars().count() <= TABLE_WIDTH as usize,
                "{} columns: {line}",
                line.chars().count()
            );
        }
        assert!(
            steps.contains(" DeliveryDestination ") && !steps.contains("Custom::") && steps.contains("NO ANSWER"),
            "{steps}"
        );
        let cells = |table: &str, n: usize| {
            table
                .lines()
                .filter_map(|l| l.split('|').nth(n))
                .collect::<String>()
                .replace(' ', "")
        };
        assert!(steps.lines().nth(2).is_some_and(|l| l.ends_with("… |")), "{steps}");
        assert!(cells(&reasons, 2).contains(&reason.replace(' ', "")), "{reasons}");
    }
}
