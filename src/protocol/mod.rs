//! The protocol layer: one CloudFormation event in, exactly one answer out.
//!
//! Whatever happens inside the resource operation (an error, a panic, a hang) the event is
//! answered once, before the Lambda deadline: the operation runs as its own task with a deadline
//! that leaves time for the PUT, and its failure becomes a FAILED answer. Only an event without a
//! usable ResponseURL goes unanswered: there is nobody to answer, and it is refused before any AWS
//! call (and reported to Lambda as handled, so it is not run again).
//!
//! The same entry point answers Lambda's on-failure records (`failsafe.rs`): the event a provider
//! could not answer at all (killed, timed out, throttled) is answered FAILED by the copy of this
//! binary deployed as the provider's on-failure destination.

mod event;
mod failsafe;
mod response;
mod response_url;
mod sender;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lambda_events::event::cloudformation::{
    CloudFormationCustomResourceResponse as Response, CloudFormationCustomResourceResponseStatus as Status,
};
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::request::{Outcome, Request};
use crate::Error;

pub use event::{parse_request, Envelope};
pub use failsafe::InvocationRecord;
pub use response::{delete_of_failed_create, failure, success, to_body, FAILED_CREATE_MARKER, MAX_BODY_BYTES};
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
    /// An invocation record that is not an on-failure one, or that wraps no CloudFormation event.
    #[error("an invocation record that {0}; nothing was sent")]
    Record(String),
    /// Nothing that could answer could be built (see `startup`); Lambda's retries and the
    /// on-failure destination get another chance.
    #[error("the provider could not start: {0}; nothing was done and no answer was sent")]
    NotStarted(String),
}

impl From<Unanswered> for lambda_runtime::Diagnostic {
    fn from(e: Unanswered) -> Self {
        let error_type = match e {
            Unanswered::NoResponseUrl => "NotACustomResourceRequest",
            Unanswered::Refused(_) => "ResponseUrlRefused",
            Unanswered::Send(_) => "AnswerNotDelivered",
            Unanswered::Record(_) => "NotAnOnFailureRecord",
            Unanswered::NotStarted(_) => "ProviderNotStarted",
        };
        lambda_runtime::Diagnostic {
            error_type: error_type.into(),
            error_message: e.to_string(),
        }
    }
}

/// What the protocol runs for a well-formed request, until the operation's deadline. The protocol
/// knows nothing of what it does: `crate::provider` runs the resource kinds against CloudWatch Logs.
pub trait Provider: Send + Sync + 'static {
    fn run(&self, request: Request, deadline: Instant) -> impl Future<Output = Result<Outcome, Error>> + Send;
}

/// Long-lived state: built once at start-up, shared by every invocation.
pub struct Handler<P> {
    provider: Arc<P>,
    sender: ResponseSender,
    allowed: AllowedHosts,
}

impl<P: Provider> Handler<P> {
    /// The protocol around `provider`, answering through `sender` to the hosts `allowed`.
    pub fn new(provider: P, sender: ResponseSender, allowed: AllowedHosts) -> Self {
        Handler {
            provider: Arc::new(provider),
            sender,
            allowed,
        }
    }

    /// The Lambda entry point. The payload arrives raw so that an event too deeply nested for
    /// `serde_json::Value` (128 levels) still reaches us and is answered instead of being dropped.
    ///
    /// An event that can never be answered (no ResponseURL, a refused one) is logged as an error
    /// but reported to Lambda as handled: an error would only make Lambda run it again
    /// (asynchronous invocations are retried), with the same result. An answer that could not be
    /// delivered stays an error, so that Lambda's retry gets another chance to deliver it.
    pub async fn handle(&self, event: LambdaEvent<Box<RawValue>>) -> Result<Value, Unanswered> {
        let deadline = instant_of(event.context.deadline);
        match self.handle_raw(&event.payload, deadline).await {
            Err(e @ (Unanswered::NoResponseUrl | Unanswered::Refused(_) | Unanswered::Record(_))) => {
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
                let reason = Error::InvalidRequest(format!(
                    "the event could not be read: {}",
                    crate::text::shorten(&e.to_string(), 200)
                ));
                let (_, put_deadline) = split_budget(started, deadline);
                self.respond(&envelope, &url, started, put_deadline, Err(reason)).await
            }
        }
    }

    /// Answers one event against CloudWatch Logs, or the event an on-failure record wraps.
    pub async fn handle_event(&self, payload: Value, deadline: Instant) -> Result<Value, Unanswered> {
        if let Some(record) = InvocationRecord::read(&payload) {
            return self.answer_record(record, deadline).await;
        }
        let provider = Arc::clone(&self.provider);
        self.answer_with(payload, deadline, |request, op_deadline| async move {
            provider.run(request, op_deadline).await
        })
        .await
    }

    /// The protocol around any operation (tests pass operations that panic or hang). The Delete of
    /// a failed Create's marker runs none: nothing was created.
    pub async fn answer_with<F, Fut>(
        &self,
        payload: Value,
        deadline: Instant,
        operation: F,
    ) -> Result<Value, Unanswered>
    where
        F: FnOnce(Request, Instant) -> Fut,
        Fut: Future<Output = Result<Outcome, Error>> + Send + 'static,
    {
        let started = Instant::now();
        let (envelope, url) = self.admit(&payload)?;
        let (op_deadline, put_deadline) = split_budget(started, deadline);
        let result = match parse_request(payload) {
            Ok(request) => match delete_of_failed_create(&request) {
                Some(outcome) => Ok(outcome),
                None => run_guarded(operation(request, op_deadline), started, op_deadline).await,
            },
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
        self.deliver(envelope, url, started, put_deadline, response).await
    }

    /// PUTs `response` and logs the outcome.
    async fn deliver(
        &self,
        envelope: &Envelope,
        url: &ResponseUrl,
        started: Instant,
        put_deadline: Instant,
        response: Response,
    ) -> Result<Value, Unanswered> {
        let status = if response.status == Status::Success {
            "SUCCESS"
        } else {
            "FAILED"
        };
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
    let strings = fields.into_iter().filter_map(|(k, v)| {
        serde_json::from_str::<String>(v.get())
            .ok()
            .map(|s| (k, Value::String(s)))
    });
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
        Ok(Err(join)) if join.is_panic() => Err(Error::Panic(crate::text::panic_text(join.into_panic().as_ref()))),
        Ok(Err(_)) => Err(Error::Panic("the operation was cancelled".into())),
        Err(_) => {
            abort.abort();
            Err(Error::TimedOut(op_deadline.saturating_duration_since(started)))
        }
    }
}

/// (operation deadline, answer deadline): the operation stops early enough for the PUT, and the
/// PUT itself stops a little before Lambda would kill the process.
fn split_budget(now: Instant, deadline: Instant) -> (Instant, Instant) {
    let remaining = deadline.saturating_duration_since(now);
    let reserve = (remaining / 5).clamp(MIN_RESERVE, MAX_RESERVE).min(remaining);
    let margin = (reserve / 4).min(Duration::from_millis(500));
    (
        now + (remaining - reserve),
        deadline.checked_sub(margin).unwrap_or(deadline).max(now),
    )
}

/// Lambda's longest timeout: no runner's deadline is taken to leave more than this.
const MAX_BUDGET: Duration = Duration::from_secs(15 * 60);
/// 2001-09-09 in epoch milliseconds. A real deadline is "now" plus at most 15 minutes, so a smaller
/// value cannot be an epoch time: `cargo lambda watch` (1.9.2) sends its timeout, `600000`, as a duration.
const EPOCH_FLOOR_MS: u64 = 1_000_000_000_000;

/// The runtime's `Lambda-Runtime-Deadline-Ms` as an `Instant`. The real Runtime API sends epoch
/// milliseconds; a value below [`EPOCH_FLOOR_MS`] is read as a duration from now (what
/// `cargo lambda watch` means by it), and 0 as "no deadline given" ([`DEFAULT_BUDGET`]). Either
/// way the budget is at most [`MAX_BUDGET`]; an epoch deadline already past leaves none.
fn instant_of(deadline_ms: u64) -> Instant {
    let now = Instant::now();
    let budget = match deadline_ms {
        0 => DEFAULT_BUDGET,
        ms if ms < EPOCH_FLOOR_MS => Duration::from_millis(ms),
        ms => {
            let now_ms = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis() as u64;
            Duration::from_millis(ms.saturating_sub(now_ms))
        }
    };
    now + budget.min(MAX_BUDGET)
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

    /// How far `instant_of(ms)` lies from now.
    fn budget_of(ms: u64) -> Duration {
        instant_of(ms).saturating_duration_since(Instant::now())
    }

    fn near(d: Duration, expected: Duration) -> bool {
        d <= expected && d + Duration::from_secs(1) >= expected
    }

    #[test]
    fn epoch_deadline_is_a_point_in_time() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let d = budget_of(now_ms + 10_000);
        assert!(near(d, Duration::from_secs(10)), "{d:?}");
        assert_eq!(
            budget_of(now_ms - 5_000),
            Duration::ZERO,
            "a deadline already past leaves no time"
        );
        assert!(
            near(budget_of(now_ms + 3_600_000), MAX_BUDGET),
            "never more than Lambda's 15 minutes"
        );
    }

    #[test]
    fn deadline_that_cannot_be_an_epoch_time_is_a_duration() {
        // cargo lambda watch 1.9.2 sends its 10-minute timeout as the deadline.
        assert!(
            near(budget_of(600_000), Duration::from_secs(600)),
            "{:?}",
            budget_of(600_000)
        );
        assert!(near(budget_of(3_000), Duration::from_secs(3)));
        assert!(near(budget_of(1), Duration::from_millis(1)));
        assert!(near(budget_of(EPOCH_FLOOR_MS - 1), MAX_BUDGET));
        assert!(near(budget_of(0), DEFAULT_BUDGET), "0: no deadline given");
    }
}
