//! Local stand-ins for AWS Lambda and CloudFormation, so `cfn-logs-delivery` can be run and tested
//! on one machine: [`runtime_api`] drives the real binary, [`receiver`] plays the ResponseURL,
//! [`moto`] behind [`logs_proxy`] plays CloudWatch Logs, [`async_invoke`] plays Lambda's retries
//! and on-failure destination. Their APIs are blocking (the HTTP runs on a tokio runtime of the
//! harness's own, [`http`]), independent of the async stack of the crate under test.
//!
//! Only what the tests use is here, with only the dependencies it needs: the command-line tools
//! (`cfn-local demo`, `bench`, `invoke`) are the crate `cfn-local-cli` (tools/cfn-local-cli), so a
//! test build compiles neither clap nor comfy-table nor ctrlc.

pub mod answer_check;
pub mod async_invoke;
pub mod children;
pub mod events;
pub mod http;
pub mod lambda;
pub mod logs_proxy;
pub mod moto;
pub mod parallel;
pub mod real_service;
pub mod real_service_accounts;
pub mod real_service_settings;
pub mod receiver;
pub mod runtime_api;
pub mod serialise;
pub mod stack;
pub mod upstream;

pub use async_invoke::{AsyncLambda, AsyncRun, AsyncSettings, Condition};
pub use children::cleanup_all;
pub use lambda::{find_binary, release_binary, LambdaProcess};
pub use logs_proxy::{Fault, LogsProxy};
pub use moto::Moto;
pub use real_service::Semantics;
pub use receiver::{Answer, Receiver, FAKE_SIGNATURE};
pub use runtime_api::{Invocation, Outcome, RuntimeApi};
pub use stack::Stack;
