//! Everything one function binary needs to run locally, wired together:
//! function → (Runtime API) … (ResponseURL) → receiver, and function → proxy → moto.

use crate::events;
use crate::lambda::LambdaProcess;
use crate::logs_proxy::LogsProxy;
use crate::moto::Moto;
use crate::real_service::Semantics;
use crate::receiver::{Answer, Receiver};
use crate::runtime_api::{Invocation, RuntimeApi};
use serde_json::Value;
use std::io;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Default Lambda timeout given with each event.
pub const DEFAULT_INVOKE_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after the invocation ends an answer may still arrive.
const ANSWER_GRACE: Duration = Duration::from_secs(2);

/// Fields are public so tests can reach each part (inject faults, read logs, plant state).
/// Declaration order is drop order: the function goes first, moto last. The proxy answers like the
/// real CloudWatch Logs unless `CFN_LOCAL_LOGS=moto` (see [`Semantics`]).
#[derive(Debug)]
pub struct Stack {
    /// Its `timeout` is the Lambda timeout [`Stack::send`] gives each event.
    pub lambda: Function,
    pub receiver: Receiver,
    pub proxy: LogsProxy,
    pub moto: Moto,
}

impl Stack {
    /// Semantics from `CFN_LOCAL_LOGS` (default: the real service's).
    pub fn start(binary: &Path) -> io::Result<Stack> {
        Stack::start_with_env(binary, &[])
    }

    /// `env` goes to the function last (it can override `AWS_ENDPOINT_URL` and the rest).
    /// Semantics from `CFN_LOCAL_LOGS` (default: the real service's; an unknown value is an error).
    pub fn start_with_env(binary: &Path, env: &[(&str, &str)]) -> io::Result<Stack> {
        Stack::start_with(binary, env, Semantics::from_env()?)
    }

    /// [`Stack::start_with_env`] with the proxy's semantics given, whatever `CFN_LOCAL_LOGS` says.
    pub fn start_with(binary: &Path, env: &[(&str, &str)], semantics: Semantics) -> io::Result<Stack> {
        let moto = Moto::start()?;
        let proxy = LogsProxy::start_with(&moto.endpoint(), semantics)?;
        let receiver = Receiver::start()?;
        let endpoint = proxy.endpoint();
        let defaults = [
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("CFN_RESPONSE_ALLOWED_HOSTS", "127.0.0.1"),
        ];
        let all_env: Vec<_> = defaults
            .iter()
            .chain(env)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Ok(Stack {
            lambda: Function::start(binary, &all_env, DEFAULT_INVOKE_TIMEOUT)?,
            receiver,
            proxy,
            moto,
        })
    }

    /// Sends one CloudFormation event (its ResponseURL pointed at the receiver; a RequestId added
    /// if missing) and waits for the invocation and the answer. Sending the same event again
    /// (a Lambda retry) returns the new answer, not the earlier one.
    pub fn send(&self, event: Value) -> (Invocation, Option<Answer>) {
        self.send_to(&self.lambda, event)
    }

    /// Another function process with this stack's binary and environment (so the same proxy and
    /// receiver), on a Runtime API of its own: Lambda runs concurrent events in separate
    /// sandboxes. Send it events with [`Stack::send_to`].
    pub fn start_function(&self) -> io::Result<Function> {
        Function::start(&self.lambda.binary, &self.lambda.env, self.lambda.timeout)
    }

    /// [`Stack::send`] to `function` ([`Stack::lambda`] or one of [`Stack::start_function`]'s).
    pub fn send_to(&self, function: &Function, event: Value) -> (Invocation, Option<Answer>) {
        self.answered(event, |event| function.runtime.invoke(event, function.timeout))
    }

    /// Runs `invoke` on `event` with its ResponseURL pointed at the receiver (a RequestId added if
    /// missing), then waits for the answer that follows those the receiver had for it before.
    pub(crate) fn answered<T>(&self, mut event: Value, invoke: impl FnOnce(Value) -> T) -> (T, Option<Answer>) {
        let request_id = events::ensure_request_id(&mut event);
        let seen = self.receiver.answers(&request_id).len();
        let out = invoke(events::with_response_url(event, &self.receiver.url(&request_id)));
        (out, self.receiver.wait_for_after(&request_id, seen, ANSWER_GRACE))
    }

    /// A ResponseURL for building events with [`crate::events`]; [`Stack::send`] rewrites it anyway.
    pub fn placeholder_url(&self) -> String {
        self.receiver.url("pending")
    }

    /// Kills the function and starts a fresh process with the same set-up (a new sandbox: cold
    /// start, nothing remembered). An event the old process had taken is lost.
    pub fn restart_lambda(&mut self) -> io::Result<()> {
        self.lambda.kill();
        self.lambda.ensure_running()
    }
}

/// One function: its Runtime API and its current process (pid, kill, log_offset, … through
/// `Deref`), replaced when it dies.
#[derive(Debug)]
pub struct Function {
    pub runtime: RuntimeApi,
    pub(crate) process: LambdaProcess,
    pub(crate) binary: PathBuf,
    /// What the function gets on top of Lambda's environment (Logs endpoint, allowed hosts, …).
    pub(crate) env: Vec<(String, String)>,
    /// The Lambda timeout given with each event.
    pub timeout: Duration,
    /// Output of the processes that died before the current one.
    earlier_logs: String,
}

impl Deref for Function {
    type Target = LambdaProcess;
    fn deref(&self) -> &LambdaProcess {
        &self.process
    }
}

impl Function {
    /// Starts `binary` against a Runtime API of its own, with `env` on top of Lambda's.
    pub fn start(binary: &Path, env: &[(String, String)], timeout: Duration) -> io::Result<Function> {
        let runtime = RuntimeApi::start()?;
        let process = spawn(binary, &runtime, env)?;
        Ok(Function {
            runtime,
            process,
            binary: binary.to_path_buf(),
            env: env.to_vec(),
            timeout,
            earlier_logs: String::new(),
        })
    }

    /// The output of every process this function had, oldest first.
    pub fn log_text(&self) -> String {
        format!("{}{}", self.earlier_logs, self.process.log_text())
    }

    /// A new process if the current one died, as Lambda gives the next event a new sandbox.
    pub(crate) fn ensure_running(&mut self) -> io::Result<()> {
        if !self.process.is_running() {
            self.earlier_logs.push_str(&self.process.log_text());
            self.process = spawn(&self.binary, &self.runtime, &self.env)?;
        }
        Ok(())
    }
}

fn spawn(binary: &Path, runtime: &RuntimeApi, env: &[(String, String)]) -> io::Result<LambdaProcess> {
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    LambdaProcess::spawn(binary, &runtime.addr(), &env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime_api::Outcome;
    use serde_json::json;

    /// Needs the release binary and moto; skipped (passes with a message) without them.
    #[test]
    fn a_function_killed_while_it_waits_for_an_event_never_takes_the_next_one() {
        let (Some(binary), Some(_)) = (crate::find_binary(), crate::moto::find_moto_server()) else {
            return eprintln!(
                "SKIPPED: needs the release binary (cargo build --release) and moto (./scripts/demo installs it)"
            );
        };
        let mut stack = Stack::start_with(&binary, &[], Semantics::RawMoto).unwrap();
        stack.lambda.timeout = Duration::from_secs(5);
        let props = json!({"Name": "n", "ResourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "LogType": "ACCESS_LOGS"});
        for round in 0..3 {
            // Each process polls once at start and once after each event.
            assert!(stack
                .lambda
                .runtime
                .wait_for_poll(2 * round + 1, Duration::from_secs(20))
                .is_some());
            stack.restart_lambda().unwrap(); // the old process dies in its `/next`
            let marker = format!("cfn-logs-delivery:failed-create:{round}");
            let (inv, answer) = stack.send(events::delete(
                "Custom::DeliverySource",
                "Src",
                &marker,
                props.clone(),
                &stack.placeholder_url(),
            ));
            assert!(
                matches!(inv.outcome, Outcome::Response(_)),
                "round {round}: {:?}\n{}",
                inv.outcome,
                stack.lambda.log_text()
            );
            assert_eq!(answer.and_then(|a| a.status()).as_deref(), Some("SUCCESS"));
        }
        assert_eq!(stack.proxy.total_calls(), 0, "a failed create's Delete makes no call");
    }
}
