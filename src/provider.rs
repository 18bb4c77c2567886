//! The provider: the protocol (`protocol`) answering with the resource kinds (`resources`) run
//! against CloudWatch Logs. The one place that joins the two layers, so neither needs the other.

use std::sync::Arc;
use std::time::Instant;

use crate::clients::Clients;
use crate::protocol::{AllowedHosts, Handler, Operation, ResponseSender};
use crate::request::{Outcome, Request};
use crate::resources::{self, Env};
use crate::Error;

impl Handler {
    /// A handler whose Logs calls go through `logs` (in its region; a resource in another region
    /// gets a client derived from it, roles cannot be assumed).
    pub fn new(logs: aws_sdk_cloudwatchlogs::Client, allowed: AllowedHosts) -> Self {
        Handler::with_parts(Clients::new(logs, None), ResponseSender::new(), allowed)
    }

    /// What `startup` builds.
    pub fn with_parts(clients: Clients, sender: ResponseSender, allowed: AllowedHosts) -> Self {
        let clients = Arc::new(clients);
        let operation: Operation = Box::new(move |request, deadline| Box::pin(run(clients.clone(), request, deadline)));
        Handler::with_operation(operation, sender, allowed)
    }
}

/// Runs `request` against CloudWatch Logs until `deadline`. When no Logs client could be built
/// (the clients say why, and refuse every call), a call the operation needed fails saying so.
async fn run(clients: Arc<Clients>, request: Request, deadline: Instant) -> Result<Outcome, Error> {
    let unavailable = clients.unavailable_reason().map(str::to_owned);
    let result = resources::run(&Env::new(clients, deadline, &request), &request).await;
    match unavailable {
        Some(why) => result.map_err(|e| without_logs(e, why)),
        None => result,
    }
}

/// The error of an operation run without a Logs client: the call it needed names why it was not made.
fn without_logs(e: Error, why: String) -> Error {
    match e {
        Error::Aws { operation, .. } | Error::Unreachable { operation, .. } => Error::Unreachable {
            operation,
            detail: why,
            attempts: 1,
        },
        other => other,
    }
}
