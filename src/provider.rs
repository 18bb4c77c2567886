//! The provider: the protocol (`protocol`) answering with the resource kinds (`resources`) run
//! against CloudWatch Logs. The one place that joins the two layers, so neither needs the other.

use std::time::Instant;

use crate::logs::Logs;
use crate::protocol::{AllowedHosts, Handler, Operation, Outcome, Request, ResponseSender};
use crate::resources::{self, Ctx, Owner};
use crate::Error;

impl Handler {
    pub fn new(logs: aws_sdk_cloudwatchlogs::Client, allowed: AllowedHosts) -> Self {
        Handler::with_parts(logs, None, ResponseSender::new(), allowed)
    }

    /// What `startup` builds: `logs_unavailable` says why `logs` is a client that makes no call.
    pub fn with_parts(
        logs: aws_sdk_cloudwatchlogs::Client,
        logs_unavailable: Option<String>,
        sender: ResponseSender,
        allowed: AllowedHosts,
    ) -> Self {
        let operation: Operation =
            Box::new(move |request, deadline| Box::pin(run(logs.clone(), logs_unavailable.clone(), request, deadline)));
        Handler::with_operation(operation, sender, allowed)
    }
}

/// Runs `request` against CloudWatch Logs until `deadline`. When the Logs client could not be
/// built (`logs_unavailable` says why, and `logs` refuses every call), a call the operation
/// needed fails saying so.
async fn run(
    logs: aws_sdk_cloudwatchlogs::Client,
    logs_unavailable: Option<String>,
    request: Request,
    deadline: Instant,
) -> Result<Outcome, Error> {
    let ctx = Ctx {
        logs: Logs::new(logs, deadline),
        owner: Owner { stack_id: request.stack_id.clone(), logical_id: request.logical_id.clone() },
    };
    let result = resources::run(&ctx, &request).await;
    match logs_unavailable {
        Some(why) => result.map_err(|e| without_logs(e, why)),
        None => result,
    }
}

/// The error of an operation run without a Logs client: the call it needed names why it was not made.
fn without_logs(e: Error, why: String) -> Error {
    match e {
        Error::Aws { operation, .. } | Error::Unreachable { operation, .. } => Error::Unreachable { operation, detail: why, attempts: 1 },
        other => other,
    }
}
