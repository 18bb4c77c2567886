//! The protocol layer: one CloudFormation event in, exactly one answer out.
//!
//! Whatever happens inside the resource operation (an error, a panic, a hang) the event is
//! answered once, before the Lambda deadline: the operation runs as its own task with a deadline
//! that leaves time for the PUT, and its failure becomes a FAILED answer. Only an event without a
//! usable ResponseURL goes unanswered: there is nobody to answer, and it is refused before any AWS
//! call (and reported to Lambda as handled, so it is not run again).

mod request;
mod response;
mod response_url;
mod sender;

use std::future::Future;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponseStatus as Status;
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::logs::Logs;
use crate::resources::{self, Ctx, Outcome, Owner};
use crate::Error;

pub use request::{parse_request, Action, Envelope, Request};
pub use response::{failure, success, to_body, MAX_BODY_BYTES};
pub use response_url::{redact, AllowedHosts, Refused, ResponseUrl, ALLOWED_HOSTS_ENV};
pub use sender::{ResponseSender, SendError};

/// Time kept back from the operation for answering: a fifth of what remains, within these bounds.
const MIN_RESERVE: Duration = Duration::from_secs(1);
const MAX_RESERVE: Duration = Duration::from_secs(5);
/// When the runtime gives no deadline (some local runners), assume this much.
const DEFAULT_BUDGET: Duration = Duration::from_secs(60);

/// Why an invocation ends in an error to the Lambda runtime (no answer could be delivered).
#[derive(Debug, thiserror::Error)]
pub enum Unanswered {
    #[error("not a CloudFormation custom-resource request: it has no ResponseURL string; nothing was done")]
    NoResponseUrl,
    #[error("{0}; nothing was done and no answer was sent")]
    Refused(#[from] Refused),
    #[error(transparent)]
    Send(#[from] SendError),
}

impl From<Unanswered> for lambda_runtime::Diagnostic {
    fn from(e: Unanswered) -> Self {
        let error_type = match e {
            Unanswered::NoResponseUrl => "NotACustomResourceRequest",
            Unanswered::Refused(_) => "ResponseUrlRefused",
            Unanswered::Send(_) => "AnswerNotDelivered",
        };
        lambda_runtime::Diagnostic { error_type: error_type.into(), error_message: e.to_string() }
    }
}

/// Long-lived state: built once at start-up, shared by every invocation.
pub struct Handler {
    logs: aws_sdk_cloudwatchlogs::Client,
    sender: ResponseSender,
    allowed: AllowedHosts,
}

impl Handler {
    pub fn new(logs: aws_sdk_cloudwatchlogs::Client, allowed: AllowedHosts) -> Self {
        Handler { logs, sender: ResponseSender::new(), allowed }
    }

    /// The Lambda entry point. The payload arrives raw so that an event too deeply nested for
    /// `serde_json::Value` (128 levels) still reaches us and is answered instead of being dropped.
    ///
    /// An event that can never be answered (no ResponseURL, a refused one) is logged as an error
    /// but reported to Lambda as handled: an error would only make Lambda run it twice more
    /// (asynchronous invocations are retried), with the same result. An answer that could not be
    /// delivered stays an error, so that Lambda's retry gets another chance to deliver it.
    pub async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<Value, Unanswered> {
        let deadline = instant_of(event.context.deadline);
        match self.handle_raw(&event.payload, deadline).await {
            Err(e @ (Unanswered::NoResponseUrl | Unanswered::Refused(_))) => {
                Ok(serde_json::json!({"Answered": false, "Reason": e.to_string()}))
            }
            other => other,
        }
    }

    /// Reads the raw event; one that cannot be read whole is answered FAILED from its top-level
    /// fields (ResponseURL and ids), with no AWS call.
    pub async fn handle_raw(&self, raw: &RawValue, deadline: Instant) -> Result<Value, Unanswered> {
        match serde_json::from_str::<Value>(raw.get()) {
            Ok(payload) => self.handle_event(payload, deadline).await,
            Err(e) => {
                let started = Instant::now();
                let top_level = top_level_strings(raw);
                let (envelope, url) = self.admit(&top_level)?;
                let reason = Error::InvalidRequest(format!("the event could not be read: {}", crate::props::shorten(&e.to_string(), 200)));
                let (_, put_deadline) = split_budget(started, deadline);
                self.respond(&envelope, &url, started, put_deadline, Err(reason)).await
            }
        }
    }

    /// Answers one event against CloudWatch Logs.
    pub async fn handle_event(&self, payload: Value, deadline: Instant) -> Result<Value, Unanswered> {
        let logs = self.logs.clone();
        self.answer_with(payload, deadline, move |request, op_deadline| async move {
            let ctx = Ctx {
                logs: Logs::new(logs, op_deadline),
                owner: Owner { stack_id: request.stack_id.clone(), logical_id: request.logical_id.clone() },
            };
            resources::run(&ctx, &request).await
        })
        .await
    }

    /// The protocol around any operation (tests pass operations that panic or hang).
    pub async fn answer_with<F, Fut>(&self, payload: Value, deadline: Instant, operation: F) -> Result<Value, Unanswered>
    where
        F: FnOnce(Request, Instant) -> Fut,
        Fut: Future<Output = Result<Outcome, Error>> + Send + 'static,
    {
        let started = Instant::now();
        let (envelope, url) = self.admit(&payload)?;
        let (op_deadline, put_deadline) = split_budget(started, deadline);
        let result = match parse_request(payload) {
            Ok(request) => run_guarded(operation(request, op_deadline), started, op_deadline).await,
            Err(e) => Err(e),
        };
        self.respond(&envelope, &url, started, put_deadline, result).await
    }

    /// The fields to answer with and the ResponseURL, if it may be answered at all.
    fn admit(&self, payload: &Value) -> Result<(Envelope, ResponseUrl), Unanswered> {
        let Some(envelope) = Envelope::read(payload) else {
            tracing::error!("{}", Unanswered::NoResponseUrl);
            return Err(Unanswered::NoResponseUrl);
        };
        match ResponseUrl::parse(&envelope.response_url, &self.allowed) {
            Ok(url) => Ok((envelope, url)),
            Err(refused) => {
                tracing::error!(request_type = %envelope.request_type, logical_id = %envelope.logical_id, "{refused}; nothing was done and no answer was sent");
                Err(refused.into())
            }
        }
    }

    /// Builds the one answer for `result`, PUTs it and logs the outcome.
    async fn respond(
        &self,
        envelope: &Envelope,
        url: &ResponseUrl,
        started: Instant,
        put_deadline: Instant,
        result: Result<Outcome, Error>,
    ) -> Result<Value, Unanswered> {
        let response = match &result {
            Ok(outcome) => success(envelope, outcome),
            Err(e) => failure(envelope, &e.to_string()),
        };
        let status = if response.status == Status::Success { "SUCCESS" } else { "FAILED" };
        let sent = self.sender.put(url, to_body(&response), put_deadline).await;
        let duration_ms = started.elapsed().as_millis() as u64;
        let reason = response.reason.as_deref().unwrap_or_default();
        match &sent {
            Ok(attempts) => tracing::info!(
                request_type = %envelope.request_type, resource_type = %envelope.resource_type, logical_id = %envelope.logical_id,
                physical_id = %response.physical_resource_id, status, reason, duration_ms, put_attempts = attempts, "answered"
            ),
            Err(e) => tracing::error!(
                request_type = %envelope.request_type, resource_type = %envelope.resource_type, logical_id = %envelope.logical_id,
                physical_id = %response.physical_resource_id, status, reason, duration_ms, error = %e, "answer could not be delivered"
            ),
        }
        sent?;
        Ok(serde_json::to_value(&response).unwrap_or(Value::Null))
    }
}

/// The top-level string fields of an event that cannot be read whole (each value stays raw, so
/// nesting depth does not matter).
fn top_level_strings(raw: &RawValue) -> Value {
    let fields: std::collections::HashMap<String, Box<RawValue>> = serde_json::from_str(raw.get()).unwrap_or_default();
    let strings = fields.into_iter().filter_map(|(k, v)| serde_json::from_str::<String>(v.get()).ok().map(|s| (k, Value::String(s))));
    Value::Object(strings.collect())
}

/// Runs the operation as its own task: a panic or an overrun becomes an error, never a lost answer.
async fn run_guarded<Fut>(operation: Fut, started: Instant, op_deadline: Instant) -> Result<Outcome, Error>
where
    Fut: Future<Output = Result<Outcome, Error>> + Send + 'static,
{
    let task = tokio::spawn(operation);
    let abort = task.abort_handle();
    match tokio::time::timeout_at(op_deadline.into(), task).await {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => Err(Error::Panic(panic_message(join.into_panic()))),
        Ok(Err(_)) => Err(Error::Panic("the operation was cancelled".into())),
        Err(_) => {
            abort.abort();
            Err(Error::TimedOut(op_deadline.saturating_duration_since(started)))
        }
    }
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    crate::props::shorten(&text, 300)
}

/// (operation deadline, answer deadline): the operation stops early enough for the PUT, and the
/// PUT itself stops a little before Lambda would kill the process.
fn split_budget(now: Instant, deadline: Instant) -> (Instant, Instant) {
    let remaining = deadline.saturating_duration_since(now);
    let reserve = (remaining / 5).clamp(MIN_RESERVE, MAX_RESERVE).min(remaining);
    let margin = (reserve / 4).min(Duration::from_millis(500));
    (now + (remaining - reserve), deadline.checked_sub(margin).unwrap_or(deadline).max(now))
}

/// The runtime's deadline (epoch milliseconds) as an `Instant`.
fn instant_of(deadline_ms: u64) -> Instant {
    let now = Instant::now();
    if deadline_ms == 0 {
        return now + DEFAULT_BUDGET;
    }
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_millis() as u64;
    now + Duration::from_millis(deadline_ms.saturating_sub(now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_leaves_time_to_answer() {
        let now = Instant::now();
        let (op, put) = split_budget(now, now + Duration::from_secs(6));
        assert_eq!(op - now, Duration::from_millis(4800));
        assert_eq!(put - now, Duration::from_millis(5700));
        let (op, put) = split_budget(now, now + Duration::from_secs(120));
        assert_eq!(op - now, Duration::from_secs(115));
        assert!(put - now >= Duration::from_millis(119_500));
        let (op, put) = split_budget(now, now + Duration::from_millis(500));
        assert_eq!(op, now);
        assert!(put <= now + Duration::from_millis(500));
    }

    #[test]
    fn deadline_conversion() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let d = instant_of(now_ms + 10_000).saturating_duration_since(Instant::now());
        assert!(d > Duration::from_millis(9_000) && d <= Duration::from_millis(10_000), "{d:?}");
        assert!(instant_of(now_ms - 5_000) <= Instant::now());
    }
}
