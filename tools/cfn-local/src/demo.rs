//! `cfn-local demo`: the life of the example stack, event by event, as CloudFormation plays it;
//! then a provider killed mid-event, answered by the failsafe (`demo/killed_mid_event.rs`).

mod killed_mid_event;

use crate::answer_check::answer_problems;
use crate::events;
use crate::real_service::Semantics;
use crate::receiver::{Answer, FAKE_SIGNATURE};
use crate::runtime_api::Outcome;
use crate::stack::Stack;
use serde_json::{json, Value};
use std::io;
use std::path::Path;
use std::time::Instant;

const SOURCE: &str = "Custom::DeliverySource";
const DESTINATION: &str = "Custom::DeliveryDestination";
const DELIVERY: &str = "Custom::Delivery";
const ACCOUNT: &str = "123456789012";

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

struct Demo<'a> {
    stack: &'a Stack,
    rows: Vec<Row>,
}

fn source_props(tags: Value) -> Value {
    json!({
        "Name": "demo-source",
        "ResourceArn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/E1DEMO0EXAMPLE"),
        "LogType": "ACCESS_LOGS",
        "Tags": tags,
    })
}

fn destination_props(name: &str) -> Value {
    let arn = format!("arn:aws:logs:us-east-1:{ACCOUNT}:delivery-destination:{name}");
    json!({
        "Name": name,
        "DestinationResourceArn": "arn:aws:s3:::cfn-local-demo-logs",
        "OutputFormat": "json",
        "DeliveryDestinationPolicy": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "AllowCreateDeliveryFromThisAccount",
                "Effect": "Allow",
                "Principal": {"AWS": ACCOUNT},
                "Action": "logs:CreateDelivery",
                "Resource": arn,
            }],
        },
        "Tags": [{"Key": "team", "Value": "platform"}],
    })
}

fn delivery_props(source_name: &str, destination_arn: &str) -> Value {
    json!({
        "DeliverySourceName": source_name,
        "DeliveryDestinationArn": destination_arn,
        "RecordFields": ["date", "time", "x-edge-location"],
        "FieldDelimiter": ",",
        "S3SuffixPath": "{DistributionId}/{yyyy}/{MM}/{dd}/{HH}",
        "S3EnableHiveCompatiblePath": "false",
        "Tags": [{"Key": "team", "Value": "platform"}],
    })
}

const SOURCE_DATA: &[&str] = &["Arn", "Name", "Service", "LogType", "ResourceArn"];
const DESTINATION_DATA: &[&str] = &["Arn", "Name", "DeliveryDestinationType", "OutputFormat"];
const DELIVERY_DATA: &[&str] = &["Arn", "DeliveryId", "DeliveryDestinationType"];

/// Runs the demo against `binary`; `Ok(true)` if every answer and check was as expected.
pub fn run(binary: &Path, extra_env: &[(&str, &str)], semantics: Semantics) -> io::Result<bool> {
    println!("starting moto, the Runtime API, the ResponseURL receiver and {}", binary.display());
    let stack = Stack::start_with(binary, extra_env, semantics)?;
    println!("moto at {} ({semantics:?} semantics), function pid {}\n", stack.moto.endpoint(), stack.lambda.pid());
    let mut demo = Demo { stack: &stack, rows: Vec::new() };
    demo.play();
    demo.killed_mid_event();
    demo.final_checks();
    demo.print_table();
    let ok = demo.rows.iter().all(|r| r.ok);
    if !ok {
        println!("\n--- function log ---\n{}", stack.lambda.log_text());
    }
    println!("\n{}", if ok { "demo: every answer as expected" } else { "demo: SOME ANSWERS WERE NOT AS EXPECTED" });
    Ok(ok)
}

impl Demo<'_> {
    fn play(&mut self) {
        let url = self.stack.placeholder_url();
        let tags_v1 = json!([{"Key": "team", "Value": "platform"}]);
        let src_props = source_props(tags_v1);
        let dst_props = destination_props("demo-destination");

        println!("== stack create");
        let src = self.step(events::create(SOURCE, "AccessLogsSource", src_props.clone(), &url), Expect::Success(SOURCE_DATA));
        let src_id = id_or(&src, "demo-source");
        let src_name = data_or(&src, "Name", "demo-source");
        let src_arn = data_or(&src, "Arn", "");
        let dst =
            self.step(events::create(DESTINATION, "AccessLogsDestination", dst_props.clone(), &url), Expect::Success(DESTINATION_DATA));
        let dst_id = id_or(&dst, "demo-destination");
        let dst_arn = data_or(&dst, "Arn", "");
        let dlv_props = delivery_props(&src_name, &dst_arn);
        let dlv = self.step(events::create(DELIVERY, "AccessLogsDelivery", dlv_props.clone(), &url), Expect::Success(DELIVERY_DATA));
        let dlv_id = id_or(&dlv, "");

        println!("== stack update: new tags on the source (in place)");
        let src_props_v2 = source_props(json!([{"Key": "team", "Value": "observability"}, {"Key": "env", "Value": "demo"}]));
        self.step(
            events::update(SOURCE, "AccessLogsSource", &src_id, src_props_v2.clone(), src_props.clone(), &url),
            Expect::SameId(src_id.clone(), SOURCE_DATA),
        );
        self.check_tags(&src_arn, json!({"team": "observability", "env": "demo"}));

        println!("== stack update: source renamed, same ResourceArn (one source per resource: refused before any call), rollback");
        let mut renamed = src_props_v2.clone();
        renamed["Name"] = json!("demo-source-renamed");
        self.stack.proxy.reset_counts();
        self.step(
            events::update(SOURCE, "AccessLogsSource", &src_id, renamed.clone(), src_props_v2.clone(), &url),
            Expect::Failed("ResourceArn"),
        );
        self.check_no_calls("no Logs call for the refused rename", &[]);
        self.step(
            events::update(SOURCE, "AccessLogsSource", &src_id, src_props_v2.clone(), renamed, &url),
            Expect::SameId(src_id.clone(), SOURCE_DATA),
        );

        println!("== stack update: new tags on the delivery (the suffix path CloudFront's prefix changed is no change)");
        let mut dlv_props_v2 = dlv_props.clone();
        dlv_props_v2["Tags"] = json!([{"Key": "team", "Value": "observability"}]);
        self.stack.proxy.reset_counts();
        self.step(
            events::update(DELIVERY, "AccessLogsDelivery", &dlv_id, dlv_props_v2.clone(), dlv_props, &url),
            Expect::SameId(dlv_id.clone(), DELIVERY_DATA),
        );
        self.check_no_calls("no configuration call for a tags-only update", &["UpdateDeliveryConfiguration", "CreateDelivery"]);
        let dlv_props = dlv_props_v2;

        println!("== stack update: destination renamed (replacement), delivery follows (replacement), cleanup");
        let dst2_props = destination_props("demo-destination-v2");
        let dst2 = self.step(
            events::update(DESTINATION, "AccessLogsDestination", &dst_id, dst2_props.clone(), dst_props.clone(), &url),
            Expect::NewId(dst_id.clone(), DESTINATION_DATA),
        );
        let dst2_id = id_or(&dst2, "demo-destination-v2");
        let dst2_arn = data_or(&dst2, "Arn", "");
        let dlv2_props = delivery_props(&src_name, &dst2_arn);
        let dlv2 = self.step(
            events::update(DELIVERY, "AccessLogsDelivery", &dlv_id, dlv2_props.clone(), dlv_props.clone(), &url),
            Expect::NewId(dlv_id.clone(), DELIVERY_DATA),
        );
        let dlv2_id = id_or(&dlv2, "");
        self.step(events::delete(DELIVERY, "AccessLogsDelivery", &dlv_id, dlv_props, &url), Expect::Success(&[]));
        self.step(events::delete(DESTINATION, "AccessLogsDestination", &dst_id, dst_props, &url), Expect::Success(&[]));

        println!("== a refused create, and the delete CloudFormation sends after it");
        let mut bad_props = source_props(json!([]));
        bad_props["Name"] = json!("not a valid name!");
        bad_props["ResourceArn"] = json!(format!("arn:aws:cloudfront::{ACCOUNT}:distribution/E2BAD0EXAMPLE"));
        let bad = self.step(events::create(SOURCE, "BadSource", bad_props.clone(), &url), Expect::Failed("Name"));
        let bad_id = id_or(&bad, "");
        self.step(events::delete(SOURCE, "BadSource", &bad_id, bad_props, &url), Expect::Success(&[]));
        self.check_source_exists("demo-source");

        println!("== stack delete");
        self.step(events::delete(DELIVERY, "AccessLogsDelivery", &dlv2_id, dlv2_props, &url), Expect::Success(&[]));
        self.step(events::delete(DESTINATION, "AccessLogsDestination", &dst2_id, dst2_props, &url), Expect::Success(&[]));
        self.step(events::delete(SOURCE, "AccessLogsSource", &src_id, src_props_v2, &url), Expect::Success(&[]));
    }

    /// Sends one event, judges the answer, prints a progress line, records a row.
    fn step(&mut self, event: Value, expect: Expect) -> Option<Answer> {
        let kind = event["ResourceType"].as_str().unwrap_or("").to_string();
        let request = event["RequestType"].as_str().unwrap_or("").to_string();
        let logical_id = event["LogicalResourceId"].as_str().unwrap_or("").to_string();
        let started = Instant::now();
        let log_offset = self.stack.lambda.log_offset();
        let (invocation, answer) = self.stack.send(event.clone());
        let mut problems = Vec::new();
        if let Outcome::Error(e) = &invocation.outcome {
            problems.push(format!("invocation error: {e}"));
        }
        let row = match &answer {
            None => {
                problems.push(format!("no answer (invocation: {:?})", invocation.outcome));
                Row { kind, request, logical_id, status: "NO ANSWER".into(), ok: false, physical_id: String::new(), reason: String::new() }
            }
            Some(a) => {
                problems.extend(answer_problems(&event, a));
                problems.extend(expectation_problems(a, &expect));
                Row {
                    kind,
                    request,
                    logical_id,
                    status: a.status().unwrap_or_else(|| "?".into()),
                    ok: true,
                    physical_id: a.physical_id().unwrap_or_default(),
                    // CloudFormation shows Reason only for failures.
                    reason: match a.status().as_deref() {
                        Some("SUCCESS") => String::new(),
                        _ => a.reason().unwrap_or_default(),
                    },
                }
            }
        };
        let row = Row { ok: problems.is_empty(), ..row };
        println!(
            "  {:<6} {:<28} {:<22} -> {:<9} {:>6} ms  {}",
            row.request,
            row.kind,
            row.logical_id,
            row.status,
            started.elapsed().as_millis(),
            if row.ok { "ok".to_string() } else { format!("UNEXPECTED: {}", problems.join("; ")) }
        );
        if !row.ok {
            let log = self.stack.lambda.log_since(log_offset);
            println!("    function log for this event:\n{}", indent(&log, "      "));
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
        let (status, body) = self.stack.moto.logs_call("ListTagsForResource", json!({"resourceArn": arn}));
        let mut user_tags = body["tags"].as_object().cloned().unwrap_or_default();
        user_tags.retain(|k, _| !k.starts_with("cfn-logs-delivery:") && !k.starts_with("aws:"));
        let problem = (status != 200 || Value::Object(user_tags) != expected)
            .then(|| format!("tags are {} (HTTP {status}), expected {expected}", body["tags"]));
        self.check("ListTagsForResource", "moto", problem);
    }

    /// None of `operations` (every operation if empty) was called since the counts were reset.
    fn check_no_calls(&mut self, what: &str, operations: &[&str]) {
        let calls = self.stack.proxy.calls();
        let made: Vec<_> = calls.iter().filter(|(op, n)| **n > 0 && (operations.is_empty() || operations.contains(&op.as_str()))).collect();
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
            let problem = (status != 200 || left != Some(0)).then(|| format!("left over (HTTP {status}): {}", body[key]));
            self.check(op, "moto", problem);
        }
        let log = self.stack.lambda.log_text();
        let problem = log.contains(FAKE_SIGNATURE).then(|| "the function logged the ResponseURL signature".to_string());
        self.check("no ResponseURL signature in log", "function", problem);
    }

    fn print_table(&self) {
        println!();
        for line in table(&self.rows) {
            println!("{line}");
        }
    }
}

/// The summary: one line per step or check, at most [`TABLE_WIDTH`] columns. Long cells are cut
/// with an ellipsis; a Reason goes whole on the lines below its row, wrapped.
fn table(rows: &[Row]) -> Vec<String> {
    let headers = ["#", "Request", "Kind", "Logical id", "Status", "Expected", "Physical id"];
    let caps = [4, 7, 20, 28, 9, 8, TABLE_WIDTH];
    let mut cells: Vec<[String; 7]> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            [
                (i + 1).to_string(),
                r.request.clone(),
                r.kind.strip_prefix("Custom::").unwrap_or(&r.kind).to_string(),
                r.logical_id.clone(),
                r.status.clone(),
                if r.ok { "yes".into() } else { "NO".into() },
                r.physical_id.clone(),
            ]
        })
        .collect();
    let mut widths = headers.map(str::len);
    for row in &mut cells {
        for ((cell, cap), w) in row.iter_mut().zip(caps).zip(widths.iter_mut()) {
            *cell = shorten(cell, cap);
            *w = (*w).max(cell.chars().count());
        }
    }
    // The last column gets what the others leave.
    let last = widths.len() - 1;
    let room = TABLE_WIDTH.saturating_sub(widths[..last].iter().map(|w| w + 2).sum::<usize>()).max(headers[last].len());
    widths[last] = widths[last].min(room);
    let line = |cols: &[String]| {
        let mut out = String::new();
        for (c, w) in cols.iter().zip(widths) {
            out.push_str(&format!("{:<w$}  ", shorten(c, w)));
        }
        out.trim_end().to_string()
    };
    let mut lines = vec![line(&headers.map(String::from)), line(&widths.map(|w| "-".repeat(w)))];
    for (row, r) in cells.iter().zip(rows) {
        lines.push(line(row));
        for (i, text) in wrap(&r.reason, TABLE_WIDTH - REASON_INDENT.len() - "Reason: ".len()).iter().enumerate() {
            lines.push(format!("{REASON_INDENT}{}{text}", if i == 0 { "Reason: " } else { "        " }));
        }
    }
    lines
}

/// Width of the summary table: a usual terminal's.
const TABLE_WIDTH: usize = 120;
const REASON_INDENT: &str = "     ";

/// `text` in lines of at most `width` characters, broken at spaces (a longer word is cut).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !current.is_empty() {
                lines.push(std::mem::take(&mut current));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

fn expectation_problems(a: &Answer, expect: &Expect) -> Vec<String> {
    let status = a.status().unwrap_or_default();
    let mut problems = Vec::new();
    let data_keys = match expect {
        Expect::Failed(needle) => {
            if status != "FAILED" {
                problems.push(format!("expected FAILED, got {status}"));
            }
            if !a.reason().is_some_and(|r| r.contains(needle)) {
                problems.push(format!("Reason does not name {needle}"));
            }
            return problems;
        }
        Expect::Success(keys) => keys,
        Expect::SameId(old, keys) => {
            if a.physical_id().as_ref() != Some(old) {
                problems.push(format!("physical id changed from {old}"));
            }
            keys
        }
        Expect::NewId(old, keys) => {
            if a.physical_id().as_ref() == Some(old) {
                problems.push("expected a replacement (new physical id)".into());
            }
            keys
        }
    };
    if status != "SUCCESS" {
        problems.push(format!("expected SUCCESS, got {status}: {}", a.reason().unwrap_or_default()));
    }
    let missing: Vec<&str> = data_keys.iter().copied().filter(|k| a.data(k).is_none()).collect();
    if !missing.is_empty() && status == "SUCCESS" {
        problems.push(format!("Data lacks {}", missing.join(", ")));
    }
    problems
}

fn id_or(a: &Option<Answer>, fallback: &str) -> String {
    a.as_ref().and_then(Answer::physical_id).unwrap_or_else(|| fallback.to_string())
}

fn data_or(a: &Option<Answer>, key: &str, fallback: &str) -> String {
    a.as_ref().and_then(|a| a.data(key)).unwrap_or_else(|| fallback.to_string())
}

fn shorten(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max - 1).collect();
    format!("{cut}…")
}

/// Prefixes every line (for quoting function logs).
pub fn indent(text: &str, prefix: &str) -> String {
    text.lines().map(|l| format!("{prefix}{l}")).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(kind: &str, logical_id: &str, physical_id: &str, reason: &str) -> Row {
        Row {
            kind: kind.into(),
            request: "Update".into(),
            logical_id: logical_id.into(),
            status: "FAILED".into(),
            ok: true,
            physical_id: physical_id.into(),
            reason: reason.into(),
        }
    }

    #[test]
    fn table_fits_120_columns_and_keeps_the_whole_reason() {
        let reason = format!("ResourceArn: {} (and more words to wrap) {}", "x".repeat(150), "the end");
        let rows = [
            row("Custom::DeliveryDestination", "AVeryLongLogicalIdThatGoesOnAndOnAndOn", &"p".repeat(200), &reason),
            row("(check) moto", "DescribeDeliveryDestinations", "", ""),
        ];
        let lines = table(&rows);
        for l in &lines {
            assert!(l.chars().count() <= TABLE_WIDTH, "{} columns: {l}", l.chars().count());
        }
        assert!(lines[2].contains("DeliveryDestination  ") && !lines[2].contains("Custom::"), "{}", lines[2]);
        assert!(lines[2].ends_with('…'), "{}", lines[2]);
        let reason_lines: Vec<&str> = lines.iter().filter(|l| l.starts_with(REASON_INDENT)).map(|l| l.trim()).collect();
        let rejoined = reason_lines.join(" ").replace("Reason: ", "");
        assert_eq!(rejoined.split_whitespace().collect::<String>(), reason.split_whitespace().collect::<String>());
        assert!(lines.last().unwrap().contains("DescribeDeliveryDestinations"));
    }

    #[test]
    fn wrap_breaks_at_spaces_and_cuts_long_words() {
        assert_eq!(wrap("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap("abcdefghij k", 4), ["abcd", "efgh", "ij k"]);
        assert!(wrap("", 10).is_empty());
    }
}
