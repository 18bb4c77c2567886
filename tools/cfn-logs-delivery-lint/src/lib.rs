//! Checks the provider's custom resources in CloudFormation and SAM templates before deploying,
//! with the provider's own validation (the `cfn-logs-delivery` library): what the
//! `cfn-logs-delivery-lint` command runs, and what tests read templates with.
//!
//! - [`yaml`]: YAML or JSON with line numbers and the short intrinsic forms (`!Ref`, `!Sub`, …).
//! - [`check`]: every check of one template, around the handler's validation; `order` and
//!   `regions` add what depends on other resources of the template.
//! - [`plan`]: `--previous`, what an update will do to each resource, with `resolve` working out
//!   the values of intrinsics as far as the template tells.

pub mod check;
mod order;
pub mod plan;
mod regions;
mod resolve;
pub mod yaml;
