//! Shared fixture of the real-service layer's tests (`real_service`, `regions_accounts_layer`):
//! one moto with two proxies in front of it, and the Logs API request bodies they send.
#![allow(dead_code)]

use cfn_local::{LogsProxy, Moto, Semantics};
use serde_json::{json, Value};

/// The ARN of CloudFront distribution `distribution` in moto's default account.
pub use cfn_local::events::distribution_arn as cloudfront;

/// One moto with two proxies in front of it: `raw` answers as moto does, `real` as the service.
pub struct Logs {
    pub raw: LogsProxy,
    pub real: LogsProxy,
    pub moto: Moto,
}

pub fn start() -> Logs {
    let moto = Moto::start()
        .unwrap_or_else(|e| panic!("cannot start moto (is .venv set up? ./scripts/demo installs it): {e}"));
    let raw = LogsProxy::start_with(&moto.endpoint(), Semantics::RawMoto).expect("start the raw proxy");
    let real = LogsProxy::start(&moto.endpoint()).expect("start the real-service proxy");
    Logs { raw, real, moto }
}

/// A PutDeliverySource body.
pub fn source(name: &str, resource_arn: &str, log_type: &str) -> Value {
    json!({"name": name, "resourceArn": resource_arn, "logType": log_type})
}

/// A PutDeliveryDestination body.
pub fn destination(name: &str, resource_arn: &str) -> Value {
    json!({"name": name, "deliveryDestinationConfiguration": {"destinationResourceArn": resource_arn}})
}
