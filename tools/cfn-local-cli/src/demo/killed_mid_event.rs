//! The demo's last scene: CloudFormation's event under Lambda's asynchronous machinery, the provider
//! process killed (SIGKILL) in the middle of it on every attempt. Lambda retries once, then hands the
//! event to the on-failure destination, the failsafe function (the same binary), which answers
//! FAILED; the scene shows how long the stack waited.

use super::{indent, problems, verdict, Demo, Expect, Row};
use cfn_local::async_invoke::{
    kill_mid_logs_call, AsyncLambda, AsyncSettings, Condition, LAMBDA_RETRY_DELAYS, MAXIMUM_RETRY_ATTEMPTS,
};
use cfn_local::events::{self, source_props, SOURCE};
use cfn_local::logs_proxy::Fault;
use cfn_local::receiver::FAKE_SIGNATURE;
use cfn_local::runtime_api::Outcome;
use serde_json::json;
use std::time::Duration;

/// Lambda's waits (a minute between attempts) divided by this, so the scene takes about a second.
const SPEEDUP: u32 = 100;
const MARKER: &str = "cfn-logs-delivery:failed-create:";

impl Demo<'_> {
    pub(super) fn killed_mid_event(&mut self) {
        println!(
            "== the provider killed mid-event on every attempt: Lambda retries, then the failsafe function answers"
        );
        let stack = self.stack;
        let mut lambda = match AsyncLambda::start(stack, AsyncSettings::template(SPEEDUP)) {
            Ok(lambda) => lambda,
            Err(e) => return self.check("start the provider and its failsafe", "cfn-local", Some(e.to_string())),
        };
        let props = super::in_virginia(source_props("demo-killed-source", "E3KILLEDEXAMPLE", json!([])));
        let event = events::create(SOURCE, "KilledSource", props, &stack.placeholder_url());
        // Every CloudWatch Logs call hangs, so the event is in flight when the process is killed.
        stack.proxy.set_fault(Fault::Hang);
        let sent = lambda.send(stack, event.clone(), kill_mid_logs_call(&stack.proxy));
        stack.proxy.set_fault(Fault::None);
        let (run, answer) = match sent {
            Ok(sent) => sent,
            Err(e) => return self.check("asynchronous invoke", "cfn-local", Some(e.to_string())),
        };

        let mut problems = problems(&event, answer.as_ref(), &Expect::Failed("RetriesExhausted"));
        let mut previous_end = run.sent_at;
        for (i, attempt) in run.attempts.iter().enumerate() {
            let error = match &attempt.outcome {
                Outcome::Error(e) => e["errorMessage"].as_str().unwrap_or_default().to_string(),
                other => {
                    problems.push(format!("attempt {} was not killed: {other:?}", i + 1));
                    String::new()
                }
            };
            let after = attempt.sent_at.saturating_duration_since(previous_end);
            previous_end = attempt.finished_at.unwrap_or(attempt.sent_at + attempt.elapsed);
            let wait = if i == 0 {
                String::new()
            } else {
                format!(", after Lambda's {:.1} s wait", after.as_secs_f64())
            };
            println!(
                "  attempt {}{wait}: killed mid-event ({})",
                i + 1,
                error.rsplit("Error: ").next().unwrap_or(&error)
            );
        }
        if run.attempts.len() != MAXIMUM_RETRY_ATTEMPTS as usize + 1 {
            problems.push(format!(
                "{} attempts, expected {}",
                run.attempts.len(),
                MAXIMUM_RETRY_ATTEMPTS + 1
            ));
        }
        if run.condition != Some(Condition::RetriesExhausted) {
            problems.push(format!(
                "Lambda's condition is {:?}, expected RetriesExhausted",
                run.condition
            ));
        }
        if let Some(a) = &answer {
            if !a.physical_id().is_some_and(|id| id.starts_with(MARKER)) {
                problems.push("a failed Create must answer the marker id".into());
            }
            let waited = a.received_at.saturating_duration_since(run.sent_at);
            // What the same run takes with Lambda's real waits between attempts.
            let retries = run.attempts.len().saturating_sub(1).min(LAMBDA_RETRY_DELAYS.len());
            let real_waits: Duration = LAMBDA_RETRY_DELAYS[..retries].iter().sum();
            let real = waited + real_waits - real_waits / SPEEDUP;
            println!(
                "  failsafe: {} record, {} attempts -> {}\n    {}",
                run.condition.map_or("no".into(), |c| format!("{c:?}")),
                run.attempts.len(),
                a.status().unwrap_or_default(),
                a.physical_id().unwrap_or_default()
            );
            println!(
                "  the stack waited {:.1} s (Lambda's waits / {SPEEDUP}; about {:.0} s with its real one-minute wait)\n  \
                 instead of its ServiceTimeout (600 s in template.yaml, 3600 s by default)",
                waited.as_secs_f64(),
                real.as_secs_f64()
            );
        } else {
            problems.push(format!(
                "the failsafe's invocation: {:?}",
                run.destination.as_ref().map(|d| &d.outcome)
            ));
        }
        println!("  {}", verdict(&problems));
        if !problems.is_empty() {
            println!("    provider log:\n{}", indent(&lambda.function.log_text(), "      "));
            println!(
                "    failsafe log:\n{}",
                indent(&lambda.destination.log_text(), "      ")
            );
        }
        self.rows
            .push(Row::answered(&event, answer.as_ref(), problems.is_empty()));
        let leaked = [lambda.function.log_text(), lambda.destination.log_text()]
            .iter()
            .any(|log| log.contains(FAKE_SIGNATURE));
        self.check(
            "no signature in provider or failsafe log",
            "function",
            leaked.then(|| "a log has the ResponseURL signature".into()),
        );
    }
}
