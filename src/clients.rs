//! One CloudWatch Logs client per region and role, made on first use and kept while the process is
//! warm. The function's own (its region, its credentials) is built at start-up; a resource with
//! `Region` or `AssumeRoleArn` gets a client derived from it: the same HTTP client (one TLS set-up,
//! one connection pool), endpoint and retry settings, another signing region, and for a role an
//! aws-config `AssumeRoleProvider` (STS in the resource's region) whose credentials the client's
//! identity cache keeps until near expiry. A function that never uses either builds nothing more.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_config::sts::AssumeRoleProvider;
use aws_config::{Region, SdkConfig};
use aws_sdk_cloudwatchlogs::config::SharedCredentialsProvider;
use aws_sdk_cloudwatchlogs::Client;

use crate::resources::place::Role;

/// The clients of one process.
pub struct Clients {
    home: Client,
    /// What `home` was built from; a role needs it for STS. `None`: roles cannot be assumed (tests'
    /// hand-built clients, or clients that make no call).
    config: Option<SdkConfig>,
    /// Why no call can be made, when none can: every client is then `home`, and `Logs::call`
    /// refuses each call saying why (the one guard: logs.rs).
    unavailable: Option<String>,
    /// The function's own region (`home`'s, or the environment's when no client could be built).
    home_region: String,
    away: Mutex<HashMap<Key, Client>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    region: String,
    role: Option<(Role, String)>,
}

impl Clients {
    /// `config`: what `home` was built from (needed to assume roles).
    pub fn new(home: Client, config: Option<SdkConfig>) -> Clients {
        let home_region = home.config().region().map(|r| r.to_string()).unwrap_or_default();
        Clients {
            home,
            config,
            unavailable: None,
            home_region,
            away: Mutex::default(),
        }
    }

    /// Clients that make no call; `why` says why (startup.rs). `idle` is never sent through: it
    /// only fills the place of a client. The function's region is still known from the
    /// environment, so the place checks before any call hold as ever.
    pub fn unavailable(idle: Client, why: String) -> Clients {
        let home_region = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .find_map(|v| std::env::var(v).ok())
            .unwrap_or_default();
        Clients {
            home: idle,
            config: None,
            unavailable: Some(why),
            home_region,
            away: Mutex::default(),
        }
    }

    /// Why no call can be made, if none can.
    pub fn unavailable_reason(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// The region the function's own client signs for (`AWS_REGION`).
    pub fn home_region(&self) -> &str {
        &self.home_region
    }

    /// The client for `region` with `role` (`session`: the AssumeRole session name). `Err` when a
    /// role is asked for and this process has no configuration to assume it with.
    pub async fn get(&self, region: &str, role: Option<&Role>, session: &str) -> Result<Client, String> {
        if self.unavailable.is_some() || (role.is_none() && region == self.home_region) {
            return Ok(self.home.clone());
        }
        let key = Key {
            region: region.to_owned(),
            role: role.map(|r| (r.clone(), session.to_owned())),
        };
        if let Some(client) = self.away.lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(client.clone());
        }
        let mut config = self.home.config().to_builder().region(Region::new(region.to_owned()));
        if let Some(role) = role {
            let sdk = self
                .config
                .as_ref()
                .ok_or("this provider was built without an AWS configuration to assume roles with")?;
            let mut provider = AssumeRoleProvider::builder(&role.arn)
                .region(Region::new(region.to_owned()))
                .session_name(session);
            if let Some(id) = &role.external_id {
                provider = provider.external_id(id);
            }
            config = config.credentials_provider(SharedCredentialsProvider::new(provider.configure(sdk).build().await));
        }
        let client = Client::from_conf(config.build());
        Ok(self
            .away
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_insert(client)
            .clone())
    }
}
