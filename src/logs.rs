//! Every CloudWatch Logs call goes through [`Logs::call`]: it maps SDK errors into [`Error`] and
//! retries the transient ones with jittered backoff, never past the operation's deadline. When the
//! process has no usable Logs client, it is also the one place that refuses each call, naming it.
//! The SDK's own retries are off (see `main`), so this is the single retry policy.
//!
//! Each kind of failure keeps its own attempt count: a call that waited out a few transient
//! conflicts still has its whole budget for a dropped connection, and each kind's backoff grows
//! only with its own failures.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudwatchlogs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatchlogs::Client;

use crate::backoff;
use crate::Error;

/// Connection-level failures: retried a little, then reported, so a wrong endpoint fails fast.
const MAX_DISPATCH_ATTEMPTS: u32 = 3;
/// Server errors (HTTP 5xx that are not "unavailable"): a few tries, then reported.
const MAX_SERVER_ERROR_ATTEMPTS: u32 = 4;
const BASE_DELAY: Duration = Duration::from_millis(200);
const MAX_DELAY: Duration = Duration::from_secs(5);
/// The transient conflict's pace. The service serialises changes to an account's delivery
/// configuration and refuses an overlapping one ("currently being updated"); the account is free
/// again as soon as the change before it is applied. A short, capped backoff keeps a stack's
/// parallel events from sitting idle while the account is free (the 5 s cap did: a 16 × 3 stack
/// took about 3× its serialised time), and the jitter spreads the retries of parallel events.
const BUSY_BASE_DELAY: Duration = Duration::from_millis(100);
const BUSY_MAX_DELAY: Duration = Duration::from_millis(500);

/// The Logs client plus the deadline of the operation it serves.
#[derive(Clone, Debug)]
pub struct Logs {
    pub client: Client,
    pub deadline: Instant,
    /// The role `client` makes its calls with (`AssumeRoleArn`), named when it cannot be assumed.
    pub role: Option<String>,
    /// Why no call can be made, when none can (no Logs client could be built at start-up:
    /// startup.rs): every call then fails saying so, before anything is sent.
    pub unavailable: Option<String>,
}

/// How a failed call should be treated.
#[derive(Debug, PartialEq, Eq)]
enum Retry {
    /// Throttling, unavailability: retry while time remains.
    UntilDeadline,
    /// The transient conflict ("currently being updated"): retry while time remains, at its own
    /// short pace ([`BUSY_MAX_DELAY`]).
    WhileBusy,
    /// Retry at most this many attempts of this kind of failure.
    UpTo(u32),
    Never,
}

impl Retry {
    /// The delay before the next attempt, after `failures` failures of this kind (this one
    /// included); `None`: no retry (the budget is spent, or the delay would end past `deadline`).
    fn delay(&self, failures: u32, deadline: Instant) -> Option<Duration> {
        let (base, cap) = match self {
            Retry::Never => return None,
            Retry::UpTo(max) if failures >= *max => return None,
            Retry::WhileBusy => (BUSY_BASE_DELAY, BUSY_MAX_DELAY),
            Retry::UntilDeadline | Retry::UpTo(_) => (BASE_DELAY, MAX_DELAY),
        };
        backoff::delay_within(failures, base, cap, deadline)
    }
}

/// The attempt count of each kind of failure one call met: connection failures, and each error
/// code of the service (throttling, the transient conflict, a server error, …).
#[derive(Debug, Default)]
struct Failures(Vec<(String, u32)>);

impl Failures {
    /// Counts one more failure like `error`; returns how many of its kind there were.
    fn count(&mut self, error: &Error) -> u32 {
        let kind = match error {
            Error::Aws { code, .. } => code.as_str(),
            _ => "unreachable",
        };
        match self.0.iter_mut().find(|(k, _)| k == kind) {
            Some((_, n)) => {
                *n += 1;
                *n
            }
            None => {
                self.0.push((kind.to_owned(), 1));
                1
            }
        }
    }
}

impl Logs {
    pub fn new(client: Client, deadline: Instant) -> Self {
        Logs {
            client,
            deadline,
            role: None,
            unavailable: None,
        }
    }

    pub fn with_role(self, role: Option<String>) -> Self {
        Logs { role, ..self }
    }

    /// `why`: why no call can be made, if none can ([`Logs::unavailable`]).
    pub fn with_unavailable(self, why: Option<&str>) -> Self {
        Logs {
            unavailable: why.map(str::to_owned),
            ..self
        }
    }

    /// A call that failed because the role's credentials could not be had: the AssumeRole refusal,
    /// not retried (a refused AssumeRole is an answer, and a timed-out one was retried by STS's own client).
    fn assume_role_error<E>(&self, operation: &'static str, err: &SdkError<E>) -> Option<(Error, Retry)>
    where
        E: std::error::Error + 'static,
    {
        let role = self.role.as_ref()?;
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
        while let Some(e) = cur {
            if let Some(refused) = e.downcast_ref::<CredentialsError>() {
                let detail = DisplayErrorContext(refused).to_string();
                return Some((
                    Error::AssumeRole {
                        role: role.clone(),
                        operation,
                        detail,
                    },
                    Retry::Never,
                ));
            }
            cur = e.source();
        }
        None
    }

    /// Runs `send` (one SDK request) with retries; `operation` names the API in errors and logs.
    pub async fn call<T, E, F, Fut>(&self, operation: &'static str, send: F) -> Result<T, Error>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T, SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        if let Some(why) = &self.unavailable {
            return Err(Error::Unreachable {
                operation,
                detail: why.clone(),
                attempts: 1,
            });
        }
        let (mut attempt, mut failures) = (0u32, Failures::default());
        loop {
            attempt += 1;
            let started = Instant::now();
            let result = send().await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            let err = match result {
                Ok(out) => {
                    tracing::debug!(operation, attempt, elapsed_ms, "logs call succeeded");
                    return Ok(out);
                }
                Err(err) => err,
            };
            let (error, retry) = self
                .assume_role_error(operation, &err)
                .unwrap_or_else(|| classify(operation, &err, attempt));
            match retry.delay(failures.count(&error), self.deadline) {
                Some(delay) => {
                    tracing::warn!(operation, attempt, elapsed_ms, error = %error, retry_in_ms = delay.as_millis() as u64, "transient CloudWatch Logs error, retrying");
                    tokio::time::sleep(delay).await;
                }
                None => {
                    tracing::debug!(operation, attempt, elapsed_ms, error = %error, "logs call failed");
                    return Err(error);
                }
            }
        }
    }
}

/// Maps an SDK error to our error and a retry decision.
fn classify<E>(operation: &'static str, err: &SdkError<E>, attempts: u32) -> (Error, Retry)
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => {
            let detail = root_cause(err);
            (
                Error::Unreachable {
                    operation,
                    detail,
                    attempts,
                },
                Retry::UpTo(MAX_DISPATCH_ATTEMPTS),
            )
        }
        _ => {
            let status = err.raw_response().map(|r| r.status().as_u16());
            let code = err.code().map(str::to_owned).unwrap_or_else(|| match status {
                Some(s) => format!("HTTP {s}"),
                None => "UnknownError".to_owned(),
            });
            let message = err.message().map(str::to_owned).unwrap_or_else(|| root_cause(err));
            let retry = retry_for(&code, &message, status);
            (
                Error::Aws {
                    operation,
                    code,
                    message,
                    attempts,
                },
                retry,
            )
        }
    }
}

fn retry_for(code: &str, message: &str, status: Option<u16>) -> Retry {
    match code {
        "ThrottlingException" | "Throttling" | "TooManyRequestsException" | "ServiceUnavailableException" => {
            Retry::UntilDeadline
        }
        // The service's transient conflict when changes to the account's configuration overlap.
        "ConflictException" if is_transient_conflict(message) => Retry::WhileBusy,
        _ => match status {
            Some(429) | Some(503) => Retry::UntilDeadline,
            Some(s) if s >= 500 => Retry::UpTo(MAX_SERVER_ERROR_ATTEMPTS),
            _ => Retry::Never,
        },
    }
}

/// The one ConflictException that is transient: "Requested resource is currently being updated.
/// Please try again later." (terraform-provider-aws#42194, PR #48158). Every other conflict
/// (already exists, tags only on create, resource in use, one source per resource) is an answer.
pub fn is_transient_conflict(message: &str) -> bool {
    message.to_ascii_lowercase().contains("currently being updated")
}

/// The innermost error message, which is the informative one ("Connection refused", ...).
fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let full = DisplayErrorContext(err).to_string();
    let mut cur: &dyn std::error::Error = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    let inner = cur.to_string();
    if inner.is_empty() {
        full
    } else {
        inner
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn without_a_usable_client_a_call_fails_naming_it_and_why_and_sends_nothing() {
        let config = aws_sdk_cloudwatchlogs::Config::builder()
            .behavior_version(aws_sdk_cloudwatchlogs::config::BehaviorVersion::latest())
            .build();
        let logs = Logs::new(Client::from_conf(config), Instant::now() + Duration::from_secs(5))
            .with_unavailable(Some("the provider could not start: testing"));
        let sent = std::sync::atomic::AtomicU32::new(0);
        let err = logs
            .call("GetDeliverySource", || {
                sent.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                logs.client.get_delivery_source().name("x").send()
            })
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "GetDeliverySource failed: could not reach CloudWatch Logs: the provider could not start: testing"
        );
        assert_eq!(sent.into_inner(), 0, "no request was even built");
    }

    #[test]
    fn throttling_and_transient_conflicts_retry_until_the_deadline() {
        assert_eq!(
            retry_for("ThrottlingException", "Rate exceeded", Some(400)),
            Retry::UntilDeadline
        );
        assert_eq!(
            retry_for("ServiceUnavailableException", "", Some(503)),
            Retry::UntilDeadline
        );
        assert_eq!(
            retry_for(
                "ConflictException",
                "Delivery Source is currently being updated. Please try again later",
                Some(400)
            ),
            Retry::WhileBusy
        );
        assert_eq!(
            retry_for(
                "ConflictException",
                "Requested resource is currently being updated. Please try again later.",
                Some(400)
            ),
            Retry::WhileBusy
        );
    }

    #[test]
    fn real_conflicts_and_client_errors_are_not_retried() {
        assert_eq!(
            retry_for("ConflictException", "The specified Delivery already exists", Some(400)),
            Retry::Never
        );
        assert_eq!(
            retry_for(
                "ConflictException",
                "This ResourceId has already been used in another Delivery Source in this account.",
                Some(400)
            ),
            Retry::Never
        );
        assert_eq!(
            retry_for(
                "ConflictException",
                "Tags can only be provided when a resource is being created, not updated.",
                Some(400)
            ),
            Retry::Never
        );
        assert_eq!(
            retry_for(
                "ConflictException",
                "Please try again after deleting the delivery",
                Some(400)
            ),
            Retry::Never
        );
        assert_eq!(retry_for("ValidationException", "bad", Some(400)), Retry::Never);
        assert_eq!(retry_for("AccessDeniedException", "no", Some(400)), Retry::Never);
        assert_eq!(retry_for("ResourceNotFoundException", "gone", Some(400)), Retry::Never);
    }

    #[test]
    fn server_errors_retry_a_few_times() {
        assert_eq!(
            retry_for("HTTP 500", "boom", Some(500)),
            Retry::UpTo(MAX_SERVER_ERROR_ATTEMPTS)
        );
        assert_eq!(retry_for("HTTP 503", "", Some(503)), Retry::UntilDeadline);
    }

    fn aws(code: &str) -> Error {
        Error::Aws {
            operation: "PutDeliverySource",
            code: code.into(),
            message: String::new(),
            attempts: 1,
        }
    }

    fn unreachable() -> Error {
        Error::Unreachable {
            operation: "PutDeliverySource",
            detail: "connection closed".into(),
            attempts: 1,
        }
    }

    #[test]
    fn each_kind_of_failure_keeps_its_own_count() {
        let mut failures = Failures::default();
        for n in 1..=5 {
            assert_eq!(failures.count(&aws("ConflictException")), n);
        }
        // Five conflicts spend none of the budget for connection failures or server errors.
        assert_eq!(failures.count(&unreachable()), 1);
        assert_eq!(failures.count(&aws("HTTP 500")), 1);
        assert_eq!(failures.count(&unreachable()), 2);
        assert_eq!(failures.count(&aws("ThrottlingException")), 1);
        assert_eq!(failures.count(&aws("ConflictException")), 6);
    }

    #[test]
    fn a_limited_kind_stops_at_its_own_budget() {
        let far = Instant::now() + Duration::from_secs(3600);
        let dispatch = Retry::UpTo(MAX_DISPATCH_ATTEMPTS);
        assert!((1..MAX_DISPATCH_ATTEMPTS).all(|n| dispatch.delay(n, far).is_some()));
        assert_eq!(dispatch.delay(MAX_DISPATCH_ATTEMPTS, far), None);
        assert_eq!(Retry::Never.delay(1, far), None);
        // After conflicts, a dropped connection is its kind's first failure: retried.
        let mut failures = Failures::default();
        (0..10).for_each(|_| {
            failures.count(&aws("ConflictException"));
        });
        assert!(dispatch.delay(failures.count(&unreachable()), far).is_some());
    }

    #[test]
    fn the_transient_conflict_is_retried_at_a_short_pace_others_back_off_to_seconds() {
        let far = Instant::now() + Duration::from_secs(3600);
        for n in 1..50 {
            let busy = Retry::WhileBusy.delay(n, far).unwrap();
            assert!(
                busy >= BUSY_BASE_DELAY && busy <= BUSY_MAX_DELAY,
                "conflict {n}: {busy:?}"
            );
        }
        let throttled: Vec<Duration> = (1..50).filter_map(|n| Retry::UntilDeadline.delay(n, far)).collect();
        assert_eq!(throttled.len(), 49, "throttling is retried until the deadline");
        assert!(
            throttled[10..].iter().all(|d| *d >= MAX_DELAY / 2 && *d <= MAX_DELAY),
            "{throttled:?}"
        );
    }

    #[test]
    fn no_retry_sleeps_past_the_deadline() {
        let soon = Instant::now() + Duration::from_millis(40);
        for retry in [
            Retry::WhileBusy,
            Retry::UntilDeadline,
            Retry::UpTo(MAX_SERVER_ERROR_ATTEMPTS),
        ] {
            assert_eq!(retry.delay(1, soon), None, "{retry:?}");
        }
    }
}
