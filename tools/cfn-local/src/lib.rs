//! Local stand-ins for AWS Lambda and CloudFormation, so `cfn-logs-delivery` can be run and tested
//! on one machine: a Lambda Runtime API emulator drives the real binary, a ResponseURL receiver
//! plays the S3 bucket CloudFormation reads answers from, and moto plays CloudWatch Logs (behind a
//! proxy that makes it answer like the real service where moto is known to be kinder).
//! [`async_invoke`] plays Lambda's asynchronous invocation around it: retries after an error, a crash
//! or a timeout, then the on-failure destination (the failsafe function).
//!
//! The stand-ins speak HTTP through libraries (hyper servers and a reqwest client on a tokio runtime
//! of the harness's own, [`http`]); their APIs stay blocking, so tests and the demo drive them from
//! plain threads, independent of the async stack of the crate under test.

pub mod answer_check;
pub mod async_invoke;
pub mod bench;
pub mod children;
pub mod demo;
pub mod events;
pub mod http;
pub mod lambda;
pub mod logs_proxy;
pub mod moto;
pub mod real_service;
pub mod receiver;
pub mod replay;
pub mod runtime_api;
pub mod stack;

pub use async_invoke::{AsyncLambda, AsyncRun, AsyncSettings, Condition};
pub use children::cleanup_all;
pub use lambda::{find_binary, release_binary, LambdaProcess};
pub use logs_proxy::{Fault, LogsProxy};
pub use moto::Moto;
pub use real_service::Semantics;
pub use receiver::{Answer, Receiver, FAKE_SIGNATURE};
pub use runtime_api::{Invocation, Outcome, RuntimeApi};
pub use stack::Stack;
