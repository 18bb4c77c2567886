//! Lambda's on-failure destination. When no attempt at an event could answer it (the process was
//! killed for memory or by the hard timeout, its runtime never started, every PUT to S3 failed)
//! or the event waited in Lambda's queue past `MaximumEventAgeInSeconds` (throttling, reserved
//! concurrency 0), Lambda gives the function's on-failure destination an invocation record that
//! wraps the event. This binary, deployed a second time as that destination (template.yaml), answers
//! the wrapped event FAILED, so the stack learns why within minutes instead of waiting for its
//! ServiceTimeout.
//!
//! Nothing is known of what the provider did before it failed, so nothing is looked at: no
//! CloudWatch Logs call, and the answer is the one the protocol layer gives any failed event of
//! that request type (a marker id for a Create, the event's own id otherwise), through the same
//! allow-list, redaction, size limit and PUT retries.

use std::time::Instant;

use serde_json::Value;

use super::{failure, split_budget, Envelope, Handler, Provider, Unanswered};
use crate::text::shorten;

/// `requestContext.condition` of the records an on-failure destination gets.
const RETRIES_EXHAUSTED: &str = "RetriesExhausted";
const EVENT_AGE_EXCEEDED: &str = "EventAgeExceeded";
/// How much of the last attempt's error the Reason quotes.
const MAX_ERROR_CHARS: usize = 300;

/// An asynchronous-invocation record, as Lambda gives a destination function: `requestContext`
/// (`condition`, `approximateInvokeCount`), `requestPayload` (the original event) and, when an
/// attempt ran, `responsePayload` (its error).
#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub condition: String,
    /// `approximateInvokeCount`: how many attempts ran.
    pub attempts: Option<u64>,
    /// The last attempt's `errorType: errorMessage`, if it reported one.
    pub error: Option<String>,
    /// `requestPayload`.
    pub event: Value,
}

impl InvocationRecord {
    /// `Some` when `payload` has the shape of an invocation record: a `requestContext` object with
    /// a string `condition`, and a `requestPayload`. No CloudFormation event has either field.
    pub fn read(payload: &Value) -> Option<InvocationRecord> {
        let context = payload.get("requestContext")?.as_object()?;
        let condition = context.get("condition")?.as_str()?.to_owned();
        let event = payload.get("requestPayload")?.clone();
        let attempts = context.get("approximateInvokeCount").and_then(Value::as_u64);
        let response = payload.get("responsePayload");
        let field = |name: &str| {
            response
                .and_then(|r| r.get(name))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let error = match (field("errorType"), field("errorMessage")) {
            (Some(kind), Some(message)) => Some(format!("{kind}: {message}")),
            (kind, message) => kind.or(message).map(str::to_owned),
        };
        Some(InvocationRecord {
            condition,
            attempts,
            error,
            event,
        })
    }

    /// Lambda gave up on the event. Any other condition (an on-success record) means an answer
    /// may have been sent: nothing is sent then.
    pub fn is_failure(&self) -> bool {
        self.condition == RETRIES_EXHAUSTED || self.condition == EVENT_AGE_EXCEEDED
    }

    /// What CloudFormation shows: that the provider could not answer, why Lambda gave up, the
    /// last error, and where to look.
    pub fn reason(&self) -> String {
        let attempts = match self.attempts {
            None => String::new(),
            Some(0) => " before any attempt ran".to_owned(),
            Some(1) => " after 1 attempt".to_owned(),
            Some(n) => format!(" after {n} attempts"),
        };
        let what = if self.condition == EVENT_AGE_EXCEEDED {
            "the event waited in Lambda's queue longer than the function's MaximumEventAgeInSeconds"
        } else {
            "every attempt ended in an error, a crash or a timeout before an answer was delivered"
        };
        let last_error = self
            .error
            .as_deref()
            .map(|e| format!(" Last error: {}.", shorten(e, MAX_ERROR_CHARS)))
            .unwrap_or_default();
        format!(
            "the provider function could not answer this event: Lambda gave up on it ({}{attempts}): {what}.{last_error} \
             This answer comes from its on-failure destination; what the provider did before it failed is unknown \
             (a resource it created carries this stack resource's ownership tags and is adopted by a retry). \
             Check the provider's log, its Timeout and MemorySize (a process killed for memory or by the timeout \
             cannot answer), its route to S3 if it runs in a VPC (the answer is an HTTPS PUT to S3), and throttling \
             or a reserved concurrency of 0",
            shorten(&self.condition, 50)
        )
    }
}

impl<P: Provider> Handler<P> {
    /// Answers the event an on-failure record wraps: FAILED, without any CloudWatch Logs call.
    pub(super) async fn answer_record(&self, record: InvocationRecord, deadline: Instant) -> Result<Value, Unanswered> {
        let started = Instant::now();
        let condition = shorten(&record.condition, 50);
        if !record.is_failure() {
            let e = Unanswered::Record(format!("is not an on-failure one (condition {condition})"));
            tracing::error!(condition, "{e}");
            return Err(e);
        }
        if Envelope::read(&record.event).is_none() {
            let e =
                Unanswered::Record("wraps no CloudFormation event (requestPayload has no ResponseURL string)".into());
            tracing::error!(condition, "{e}");
            return Err(e);
        }
        let (envelope, url) = self.admit(&record.event)?;
        tracing::warn!(
            condition, attempts = record.attempts, request_type = %envelope.request_type, logical_id = %envelope.logical_id,
            last_error = record.error.as_deref().map(|e| shorten(e, MAX_ERROR_CHARS)), "the provider could not answer this event: answering it FAILED"
        );
        let (_, put_deadline) = split_budget(started, deadline);
        self.deliver(
            &envelope,
            &url,
            started,
            put_deadline,
            failure(&envelope, &record.reason()),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(condition: &str) -> Value {
        json!({
            "version": "1.0", "timestamp": "2026-01-01T00:00:00.000Z",
            "requestContext": {
                "requestId": "e4b46cbf-b738-xmpl-8880-a18cdf61200e",
                "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:provider:$LATEST",
                "condition": condition, "approximateInvokeCount": 3
            },
            "requestPayload": {"RequestType": "Create", "ResponseURL": "https://b.s3.amazonaws.com/x?sig", "RequestId": "r-1"},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "responsePayload": {"errorType": "Runtime.ExitError", "errorMessage": "RequestId: 1 Error: Runtime exited with error: signal: killed"}
        })
    }

    #[test]
    fn reads_on_failure_records() {
        let r = InvocationRecord::read(&record("RetriesExhausted")).unwrap();
        assert!(r.is_failure());
        assert_eq!(r.attempts, Some(3));
        assert_eq!(
            r.error.as_deref(),
            Some("Runtime.ExitError: RequestId: 1 Error: Runtime exited with error: signal: killed")
        );
        assert_eq!(r.event["RequestId"], "r-1");
        assert!(InvocationRecord::read(&record("EventAgeExceeded"))
            .unwrap()
            .is_failure());
        assert!(!InvocationRecord::read(&record("Success")).unwrap().is_failure());
        // An EventAgeExceeded record of an event that never ran has no response.
        let mut never_ran = record("EventAgeExceeded");
        never_ran.as_object_mut().unwrap().remove("responsePayload");
        assert_eq!(InvocationRecord::read(&never_ran).unwrap().error, None);
    }

    #[test]
    fn cloudformation_events_and_other_payloads_are_not_records() {
        let event =
            json!({"RequestType": "Create", "ResponseURL": "https://b.s3.amazonaws.com/x", "requestContext": "x"});
        assert!(InvocationRecord::read(&event).is_none());
        assert!(InvocationRecord::read(&json!({"requestContext": {"condition": 5}, "requestPayload": {}})).is_none());
        assert!(InvocationRecord::read(&json!({"requestContext": {"condition": "RetriesExhausted"}})).is_none());
        assert!(InvocationRecord::read(&json!([1, 2])).is_none());
    }

    #[test]
    fn the_reason_says_why_how_often_and_where_to_look() {
        let reason = InvocationRecord::read(&record("RetriesExhausted")).unwrap().reason();
        for needle in [
            "could not answer",
            "RetriesExhausted after 3 attempts",
            "signal: killed",
            "Timeout and MemorySize",
            "VPC",
            "concurrency",
        ] {
            assert!(reason.contains(needle), "{needle}: {reason}");
        }
        let mut aged = record("EventAgeExceeded");
        aged["requestContext"]["approximateInvokeCount"] = json!(0);
        aged.as_object_mut().unwrap().remove("responsePayload");
        let reason = InvocationRecord::read(&aged).unwrap().reason();
        assert!(reason.contains("EventAgeExceeded before any attempt ran"), "{reason}");
        assert!(
            reason.contains("MaximumEventAgeInSeconds") && !reason.contains("Last error"),
            "{reason}"
        );
        // A huge error message is quoted shortened.
        let mut loud = record("RetriesExhausted");
        loud["responsePayload"]["errorMessage"] = json!("x".repeat(100_000));
        assert!(InvocationRecord::read(&loud).unwrap().reason().len() < 2_000);
    }
}
