//! The provider: the protocol (`protocol`) answering with the resource kinds (`resources`) run
//! against CloudWatch Logs. The one place that joins the two layers, so neither needs the other.

use std::sync::Arc;
use std::time::Instant;

use crate::clients::Clients;
use crate::protocol::Provider;
use crate::request::{Outcome, Request};
use crate::resources::{self, Env};
use crate::Error;

/// The Lambda's provider: each request runs as its resource kind says, with the process's clients.
pub struct LogsProvider {
    clients: Arc<Clients>,
}

impl LogsProvider {
    /// What `startup` builds.
    pub fn new(clients: Clients) -> Self {
        LogsProvider {
            clients: Arc::new(clients),
        }
    }

    /// Calls through `logs`, in its region; a resource in another region gets a client derived from
    /// it, roles cannot be assumed (no AWS configuration to assume them with). For tests.
    pub fn with_client(logs: aws_sdk_cloudwatchlogs::Client) -> Self {
        LogsProvider::new(Clients::new(logs, None))
    }
}

impl Provider for LogsProvider {
    async fn run(&self, request: Request, deadline: Instant) -> Result<Outcome, Error> {
        resources::run(&Env::new(self.clients.clone(), deadline, &request), &request).await
    }
}
