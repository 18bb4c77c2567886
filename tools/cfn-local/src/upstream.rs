//! What the Logs proxy and its real-service layer both send: a call passed on to moto as it came,
//! and an error answer as the Logs JSON protocol gives it. A module of its own so that the
//! dependency runs one way: the proxy ([`crate::logs_proxy`]) calls the layer
//! ([`crate::real_service`] and its rules modules), and both use this; the layer knows nothing of
//! the proxy.

use crate::http::{self, Request, Response};
use serde_json::json;
use std::time::Duration;

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// An error answer as the Logs JSON protocol gives it.
pub(crate) fn aws_error(status: u16, kind: &str, message: &str) -> Response {
    let headers = [
        ("Content-Type", AMZ_JSON),
        ("x-amzn-ErrorType", kind),
        ("x-amzn-RequestId", &uuid::Uuid::new_v4().to_string()),
    ];
    http::respond(
        status,
        &headers,
        json!({"__type": kind, "message": message}).to_string(),
    )
}

/// Sends `req` on to `upstream` as it came (hop-by-hop headers dropped); 502 if it cannot.
pub async fn forward(upstream: &str, req: &Request) -> Response {
    let url = format!("{upstream}{}", req.uri().path_and_query().map_or("/", |p| p.as_str()));
    let call = http::client(req.method().clone(), &url)
        .headers(http::end_to_end(req.headers()))
        .body(req.body().clone());
    match http::send(call.timeout(UPSTREAM_TIMEOUT)).await {
        Ok((status, headers, body)) => {
            let mut response = Response::new(body);
            (*response.status_mut(), *response.headers_mut()) = (status, http::end_to_end(&headers));
            response
        }
        Err(e) => http::respond(
            502,
            &[("Content-Type", AMZ_JSON)],
            json!({"__type": "ProxyError", "message": e.to_string()}).to_string(),
        ),
    }
}
