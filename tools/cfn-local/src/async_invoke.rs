//! Lambda's asynchronous invocation, the way CloudFormation invokes a custom-resource provider,
//! played locally (docs/SERVICE-RULES.md#asynchronous-invocation): the event is queued and run; an attempt that ends in an error,
//! a crash or a timeout is run again after a delay, up to `MaximumRetryAttempts` more times; when
//! no attempt succeeded, or the event grew older than `MaximumEventAgeInSeconds` before one could
//! run, the on-failure destination function is invoked with an invocation record. The delays are
//! Lambda's (about one minute, then two) divided by a speed-up, so a local run takes seconds.
//! A process that dies mid-event ends that attempt at once with `Runtime.ExitError`, as in Lambda,
//! and the next attempt gets a fresh process (a new sandbox: cold start).

use crate::lambda::LambdaProcess;
use crate::logs_proxy::LogsProxy;
use crate::receiver::Answer;
use crate::runtime_api::{Invocation, Outcome, FUNCTION_ARN};
use crate::stack::{Function, Stack};
use serde_json::{json, Value};
use std::io;
use std::process::ExitStatus;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The provider's EventInvokeConfig in template.yaml (tests/template.rs checks that they agree).
pub const MAXIMUM_RETRY_ATTEMPTS: u32 = 1;
pub const MAXIMUM_EVENT_AGE: Duration = Duration::from_secs(300);
/// How long Lambda waits before the first and the second retry.
pub const LAMBDA_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];
/// The failsafe function's name and Timeout in template.yaml.
pub const FAILSAFE_FUNCTION_NAME: &str = "cfn-logs-delivery-failsafe";
pub const FAILSAFE_TIMEOUT: Duration = Duration::from_secs(30);
/// How often a process and a `during` hook's condition are looked at (neither can be awaited).
const POLL: Duration = Duration::from_millis(20);

/// How Lambda treats the function's asynchronous events.
#[derive(Clone, Debug)]
pub struct AsyncSettings {
    pub maximum_retry_attempts: u32,
    pub maximum_event_age: Duration,
    /// Before the first retry, before the second.
    pub retry_delays: [Duration; 2],
    /// The function never gets to run (throttled throughout, or reserved concurrency 0): the event
    /// waits in the queue until it is too old.
    pub throttled: bool,
}

impl AsyncSettings {
    /// template.yaml's settings, with Lambda's waits divided by `speedup` (1: real time).
    pub fn template(speedup: u32) -> AsyncSettings {
        let speedup = speedup.max(1);
        AsyncSettings {
            maximum_retry_attempts: MAXIMUM_RETRY_ATTEMPTS,
            maximum_event_age: MAXIMUM_EVENT_AGE / speedup,
            retry_delays: LAMBDA_RETRY_DELAYS.map(|d| d / speedup),
            throttled: false,
        }
    }
}

/// Why Lambda gave up on an event: `requestContext.condition` of the record is its `Debug` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    RetriesExhausted,
    EventAgeExceeded,
}

/// What became of one asynchronous invocation.
#[derive(Debug)]
pub struct AsyncRun {
    /// When CloudFormation's invoke was accepted.
    pub sent_at: Instant,
    /// Every attempt at the function, in order.
    pub attempts: Vec<Invocation>,
    /// Set when Lambda gave up and invoked the on-failure destination with `record`.
    pub condition: Option<Condition>,
    pub record: Option<Value>,
    pub destination: Option<Invocation>,
}

impl Function {
    /// One invocation; `during` runs beside it, in another thread, while it is in flight. A
    /// process that dies before answering ends the invocation at once with Lambda's error.
    fn attempt(&self, payload: &Value, during: &(dyn Fn(&Attempt) + Sync)) -> Invocation {
        let finished = AtomicBool::new(false);
        let attempt = Attempt {
            process: &self.process,
            finished: &finished,
        };
        std::thread::scope(|s| {
            s.spawn(|| during(&attempt));
            s.spawn(|| {
                if attempt.wait_for(|| !self.process.is_running()) {
                    let why = self.process.exit_status().map_or_else(|| "unknown".into(), exit_description);
                    self.runtime.fail_in_flight(|id| {
                        json!({"errorType": "Runtime.ExitError", "errorMessage": format!("RequestId: {id} Error: Runtime exited with error: {why}")})
                    });
                }
            });
            let invocation = self.runtime.invoke(payload.clone(), self.timeout);
            finished.store(true, Ordering::SeqCst);
            invocation
        })
    }
}

/// An attempt in flight, as the `during` hook of [`AsyncLambda::send`] sees it.
pub struct Attempt<'a> {
    pub process: &'a LambdaProcess,
    finished: &'a AtomicBool,
}

impl Attempt<'_> {
    /// Waits until `condition` holds (true) or the attempt ends (false).
    pub fn wait_for(&self, condition: impl Fn() -> bool) -> bool {
        while !self.finished.load(Ordering::SeqCst) {
            if condition() {
                return true;
            }
            std::thread::sleep(POLL);
        }
        false
    }
}

/// A `during` hook that kills the function's process (SIGKILL, as the out-of-memory killer or
/// Lambda's hard timeout would) once it has a CloudWatch Logs call held by `Fault::Hang`: the
/// process dies in the middle of the event, every attempt.
pub fn kill_mid_logs_call(proxy: &LogsProxy) -> impl Fn(&Attempt) + Sync + '_ {
    move |attempt| {
        if attempt.wait_for(|| proxy.held_calls() > 0) {
            attempt.process.kill();
        }
    }
}

/// A `during` hook that does nothing.
pub fn leave_alone(_: &Attempt) {}

/// The provider and its on-failure destination, under Lambda's asynchronous machinery.
#[derive(Debug)]
pub struct AsyncLambda {
    pub settings: AsyncSettings,
    pub function: Function,
    pub destination: Function,
}

impl AsyncLambda {
    /// The stack's function binary, started twice as template.yaml deploys it: the provider, and
    /// the failsafe function as its on-failure destination. Both get the stack's environment (the
    /// same Logs endpoint, so the proxy would count any call the failsafe made).
    pub fn start(stack: &Stack, settings: AsyncSettings) -> io::Result<AsyncLambda> {
        let (binary, env) = (&stack.lambda.binary, &stack.lambda.env);
        let mut destination_env = env.clone();
        destination_env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), FAILSAFE_FUNCTION_NAME.into()));
        let function = Function::start(binary, env, stack.lambda.timeout)?;
        let destination = Function::start(binary, &destination_env, FAILSAFE_TIMEOUT)?;
        for f in [&function, &destination] {
            if f.runtime.wait_for_poll(1, Duration::from_secs(20)).is_none() {
                return Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("{} never polled the Runtime API", binary.display()),
                ));
            }
        }
        Ok(AsyncLambda {
            settings,
            function,
            destination,
        })
    }

    /// CloudFormation's asynchronous invoke of `event`, played to the end. Its ResponseURL is
    /// pointed at the stack's receiver (a RequestId added if missing), as [`Stack::send`] does;
    /// returns the run and the answer that reached the receiver.
    pub fn send(
        &mut self,
        stack: &Stack,
        event: Value,
        during: impl Fn(&Attempt) + Sync,
    ) -> io::Result<(AsyncRun, Option<Answer>)> {
        let (run, answer) = stack.answered(event, |event| self.invoke(event, during));
        Ok((run?, answer))
    }

    /// Attempts, retries after Lambda's delays, then the destination if every attempt failed or the
    /// event got too old. (Lambda would retry a failing destination too; here it runs once.)
    pub fn invoke(&mut self, event: Value, during: impl Fn(&Attempt) + Sync) -> io::Result<AsyncRun> {
        let sent_at = Instant::now();
        let too_old = sent_at + self.settings.maximum_event_age;
        let mut attempts = Vec::new();
        let condition = loop {
            if self.settings.throttled {
                std::thread::sleep(too_old.saturating_duration_since(Instant::now()));
                break Some(Condition::EventAgeExceeded);
            }
            self.function.ensure_running()?;
            let number = attempts.len() as u32 + 1;
            let invocation = self.function.attempt(&event, &during);
            let failed = !matches!(invocation.outcome, Outcome::Response(_));
            attempts.push(invocation);
            if !failed {
                break None;
            }
            if number > self.settings.maximum_retry_attempts {
                break Some(Condition::RetriesExhausted);
            }
            std::thread::sleep(self.settings.retry_delays[(number as usize - 1).min(1)]);
            if Instant::now() > too_old {
                break Some(Condition::EventAgeExceeded);
            }
        };
        let mut run = AsyncRun {
            sent_at,
            attempts,
            condition,
            record: None,
            destination: None,
        };
        if let Some(condition) = condition {
            let record = on_failure_record(
                &event,
                condition,
                run.attempts.len(),
                run.attempts.last().map(response_payload),
            );
            self.destination.ensure_running()?;
            run.destination = Some(self.destination.attempt(&record, &leave_alone));
            run.record = Some(record);
        }
        Ok(run)
    }
}

/// The invocation record Lambda gives an on-failure destination (docs/SERVICE-RULES.md#on-failure-destination). `last_response`
/// is what the last attempt reported (`None` when none ran).
pub fn on_failure_record(event: &Value, condition: Condition, attempts: usize, last_response: Option<Value>) -> Value {
    let mut record = json!({
        "version": "1.0",
        "timestamp": humantime::format_rfc3339_millis(SystemTime::now()).to_string(),
        "requestContext": {
            "requestId": uuid::Uuid::new_v4().to_string(),
            "functionArn": format!("{FUNCTION_ARN}:$LATEST"),
            "condition": format!("{condition:?}"),
            "approximateInvokeCount": attempts,
        },
        "requestPayload": event,
    });
    if let Some(response) = last_response {
        record["responseContext"] =
            json!({"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"});
        record["responsePayload"] = response;
    }
    record
}

/// What Lambda reports as an attempt's `responsePayload`.
fn response_payload(attempt: &Invocation) -> Value {
    match &attempt.outcome {
        Outcome::Response(v) | Outcome::Error(v) => v.clone(),
        Outcome::NoAnswer => json!({
            "errorMessage": format!("{} Task timed out after {:.2} seconds", attempt.aws_request_id, attempt.timeout.as_secs_f64())
        }),
    }
}

/// "signal: killed", "exit status 1": how Lambda words a runtime's end.
fn exit_description(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(9)) => "signal: killed".into(),
        (None, Some(signal)) => format!("signal: {signal}"),
        (None, None) => "unknown".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_have_lambdas_shape() {
        let event = json!({"RequestType": "Create", "ResponseURL": "http://x/1"});
        let killed = json!({"errorType": "Runtime.ExitError", "errorMessage": "RequestId: 1 Error: Runtime exited with error: signal: killed"});
        let r = on_failure_record(&event, Condition::RetriesExhausted, 2, Some(killed.clone()));
        assert_eq!(r["version"], "1.0");
        let timestamp = r["timestamp"].as_str().unwrap();
        assert!(
            timestamp.len() == 24 && timestamp.ends_with('Z') && timestamp.as_bytes()[19] == b'.',
            "{timestamp}"
        );
        assert_eq!(r["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 2);
        assert_eq!(r["requestContext"]["functionArn"], format!("{FUNCTION_ARN}:$LATEST"));
        assert_eq!(r["requestPayload"], event);
        assert_eq!(r["responseContext"]["functionError"], "Unhandled");
        assert_eq!(r["responsePayload"], killed);
        let aged = on_failure_record(&event, Condition::EventAgeExceeded, 0, None);
        assert_eq!(aged["requestContext"]["condition"], "EventAgeExceeded");
        assert!(aged.get("responsePayload").is_none());
    }

    #[test]
    fn template_settings_scale_lambdas_waits() {
        let real = AsyncSettings::template(1);
        assert_eq!(real.maximum_event_age, Duration::from_secs(300));
        assert_eq!(real.retry_delays, [Duration::from_secs(60), Duration::from_secs(120)]);
        let fast = AsyncSettings::template(100);
        assert_eq!(fast.maximum_retry_attempts, MAXIMUM_RETRY_ATTEMPTS);
        assert_eq!(
            fast.retry_delays,
            [Duration::from_millis(600), Duration::from_millis(1200)]
        );
        assert_eq!(fast.maximum_event_age, Duration::from_secs(3));
    }

    #[test]
    fn exit_descriptions_read_like_lambdas() {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(exit_description(ExitStatus::from_raw(9)), "signal: killed");
        assert_eq!(exit_description(ExitStatus::from_raw(256)), "exit status 1");
    }
}
