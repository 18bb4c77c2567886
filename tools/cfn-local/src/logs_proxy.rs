//! A counting forward proxy between the function and moto: counts Logs API calls per operation,
//! injects the failures moto never produces (throttling, 503, transient conflicts, hangs, lost
//! responses), and by default makes moto answer like the real service ([`crate::real_service`]).

use crate::http::{self, Request, Response, Server, Shared};
use crate::moto;
use crate::real_service::{self, Semantics};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io;
use std::sync::Arc;
use std::time::Duration;

const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(60);
const AMZ_JSON: &str = "application/x-amz-json-1.1";

/// What the proxy does to the next calls instead of forwarding them.
/// `remaining` counts down per faulted call; `usize::MAX` never runs out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    #[default]
    None,
    /// Read the request, never answer (until the fault is changed, the caller goes away or the
    /// proxy is dropped; then the connection is closed unanswered). [`LogsProxy::held_calls`] counts them.
    Hang,
    /// HTTP 400 `ThrottlingException`.
    Throttle { remaining: usize },
    /// HTTP 503 `ServiceUnavailableException`.
    Unavailable { remaining: usize },
    /// HTTP 400 `ConflictException`, the transient "currently being updated" kind.
    Conflict { remaining: usize },
    /// Forward the call (it takes effect upstream), then close the connection unanswered: the
    /// attempt that timed out after the service had done the work. The SDK client retries it.
    LoseResponse { remaining: usize },
}

impl Fault {
    fn remaining_mut(&mut self) -> Option<&mut usize> {
        match self {
            Fault::Throttle { remaining }
            | Fault::Unavailable { remaining }
            | Fault::Conflict { remaining }
            | Fault::LoseResponse { remaining } => Some(remaining),
            Fault::None | Fault::Hang => None,
        }
    }
}

#[derive(Default)]
struct Inner {
    calls: BTreeMap<String, usize>,
    /// Calls held unanswered by `Fault::Hang` right now.
    held: usize,
    fault: Fault,
    /// Fault only calls of this operation (others are forwarded).
    only: Option<String>,
    stopping: bool,
}

type State = Shared<Inner>;

/// The proxy. Give [`LogsProxy::endpoint`] to the function as `AWS_ENDPOINT_URL`.
pub struct LogsProxy {
    state: Arc<State>,
    server: Server,
    semantics: Semantics,
}

impl LogsProxy {
    /// `upstream`: base URL of the real endpoint, e.g. `moto.endpoint()`. Answers like the real
    /// service ([`Semantics::RealService`]).
    pub fn start(upstream: &str) -> io::Result<LogsProxy> {
        LogsProxy::start_with(upstream, Semantics::RealService)
    }

    /// [`LogsProxy::start`] with the given semantics (`RawMoto`: moto's own answers).
    pub fn start_with(upstream: &str, semantics: Semantics) -> io::Result<LogsProxy> {
        let state = Arc::new(State::default());
        let s = state.clone();
        let upstream = upstream.trim_end_matches('/').to_string();
        let server = Server::start(move |req| handle(&s, &upstream, semantics, req))?;
        Ok(LogsProxy { state, server, semantics })
    }

    pub fn semantics(&self) -> Semantics {
        self.semantics
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint(&self) -> String {
        self.server.base_url()
    }

    /// Calls received per operation (`PutDeliverySource`, …: the `X-Amz-Target` after the dot),
    /// faulted ones included. Requests without the header count as `"<METHOD> <path>"`.
    pub fn calls(&self) -> BTreeMap<String, usize> {
        self.state.lock().calls.clone()
    }

    /// Calls of one operation.
    pub fn call_count(&self, operation: &str) -> usize {
        self.state.lock().calls.get(operation).copied().unwrap_or(0)
    }

    pub fn total_calls(&self) -> usize {
        self.state.lock().calls.values().sum()
    }

    /// Calls held unanswered by [`Fault::Hang`] right now (their callers still waiting): a
    /// function with one is in the middle of an event.
    pub fn held_calls(&self) -> usize {
        self.state.lock().held
    }

    pub fn reset_counts(&self) {
        self.state.lock().calls.clear();
    }

    /// Calls the Logs JSON API through the proxy (counted, faulted and reshaped like the
    /// function's calls), with the headers of [`crate::Moto::logs_call`]. Returns the HTTP status
    /// and the JSON body. Panics if the proxy cannot be reached or closes unanswered: for tests.
    pub fn logs_call(&self, target: &str, body: Value) -> (u16, Value) {
        self.try_logs_call(target, body).unwrap_or_else(|e| panic!("Logs call {target} through the proxy failed: {e}"))
    }

    /// [`LogsProxy::logs_call`] without the panic.
    pub fn try_logs_call(&self, target: &str, body: Value) -> io::Result<(u16, Value)> {
        moto::logs_call_at(&self.endpoint(), target, &body)
    }

    /// Applies `fault` to every operation.
    pub fn set_fault(&self, fault: Fault) {
        self.set(fault, None);
    }

    /// Applies `fault` to calls of `operation` only.
    pub fn set_fault_on(&self, operation: &str, fault: Fault) {
        self.set(fault, Some(operation.to_string()));
    }

    /// The current fault (with its remaining count).
    pub fn fault(&self) -> Fault {
        self.state.lock().fault.clone()
    }

    fn set(&self, fault: Fault, only: Option<String>) {
        let mut inner = self.state.lock();
        inner.fault = fault;
        inner.only = only;
        self.state.changed.notify_all();
    }
}

impl std::fmt::Debug for LogsProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsProxy").field("addr", &self.server.addr()).field("semantics", &self.semantics).finish_non_exhaustive()
    }
}

impl Drop for LogsProxy {
    fn drop(&mut self) {
        self.state.lock().stopping = true;
        self.state.changed.notify_all();
    }
}

fn operation(req: &Request) -> String {
    match req.header("x-amz-target") {
        Some(t) => t.rsplit('.').next().unwrap_or(t).to_string(),
        None => format!("{} {}", req.method, req.path()),
    }
}

/// Counts the call, applies the fault, then answers it (`None`: close unanswered).
fn handle(state: &State, upstream: &str, semantics: Semantics, req: &Request) -> Option<Response> {
    let op = operation(req);
    let mut inner = state.lock();
    *inner.calls.entry(op.clone()).or_default() += 1;
    let applies = inner.only.as_ref().is_none_or(|o| *o == op);
    let mut lose_response = false;
    if applies {
        if inner.fault == Fault::Hang {
            inner.held += 1;
            state.changed.notify_all();
            while inner.fault == Fault::Hang && !inner.stopping && !req.peer_closed() {
                inner = state.changed.wait_timeout(inner, Duration::from_millis(50)).unwrap_or_else(|e| e.into_inner()).0;
            }
            inner.held -= 1;
            return None;
        }
        match take_injected(&mut inner.fault) {
            Some(Injected::Error { status, kind, message }) => return Some(aws_error(status, kind, message)),
            Some(Injected::LoseResponse) => lose_response = true,
            None => {}
        }
    }
    drop(inner);
    let response = match semantics {
        Semantics::RealService => real_service::handle(upstream, &op, req),
        Semantics::RawMoto => forward(upstream, req),
    };
    (!lose_response).then_some(response)
}

/// What a fault does to one call.
enum Injected {
    Error { status: u16, kind: &'static str, message: &'static str },
    LoseResponse,
}

/// What the current fault does to this call, counting it down.
fn take_injected(fault: &mut Fault) -> Option<Injected> {
    let injected = match fault {
        Fault::Throttle { .. } => Injected::Error { status: 400, kind: "ThrottlingException", message: "Rate exceeded" },
        Fault::Unavailable { .. } => Injected::Error { status: 503, kind: "ServiceUnavailableException", message: "Service Unavailable" },
        Fault::Conflict { .. } => Injected::Error {
            status: 400,
            kind: "ConflictException",
            message: "Delivery Source is currently being updated. Please try again later",
        },
        Fault::LoseResponse { .. } => Injected::LoseResponse,
        Fault::None | Fault::Hang => return None,
    };
    count_down(fault).then_some(injected)
}

/// Whether a counted fault applies to one more call; it turns into `Fault::None` when used up.
fn count_down(fault: &mut Fault) -> bool {
    let Some(remaining) = fault.remaining_mut() else { return false };
    let applies = *remaining > 0;
    if applies && *remaining != usize::MAX {
        *remaining -= 1;
    }
    if *remaining == 0 {
        *fault = Fault::None;
    }
    applies
}

/// An error answer as the Logs JSON protocol gives it.
pub(crate) fn aws_error(status: u16, kind: &str, message: &str) -> Response {
    let body = serde_json::json!({"__type": kind, "message": message});
    Response::new(status)
        .header("Content-Type", AMZ_JSON)
        .header("x-amzn-ErrorType", kind)
        .header("x-amzn-RequestId", &crate::ids::fresh_uuid())
        .body(body.to_string())
}

/// Sends `req` on to `upstream` as it came (hop-by-hop headers dropped); 502 if it cannot.
pub fn forward(upstream: &str, req: &Request) -> Response {
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .filter(|(n, _)| !matches!(n.as_str(), "host" | "connection" | "content-length" | "transfer-encoding"))
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let url = format!("{upstream}{}", req.target);
    match http::request(&req.method, &url, &headers, &req.body, UPSTREAM_TIMEOUT) {
        Ok((status, headers, body)) => Response { status, headers, body },
        Err(e) => Response::new(502)
            .header("Content-Type", AMZ_JSON)
            .body(serde_json::json!({"__type": "ProxyError", "message": e.to_string()}).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{find_header, request};
    use serde_json::{json, Value};
    use std::sync::Mutex;

    const T: Duration = Duration::from_secs(5);

    /// An upstream that echoes the operation it saw.
    fn upstream() -> Server {
        recording_upstream().0
    }

    /// [`upstream`], also recording the `X-Amz-Target` of each call it received.
    fn recording_upstream() -> (Server, Arc<Mutex<Vec<String>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let server = Server::start(move |req| {
            s.lock().unwrap().push(req.header("x-amz-target").unwrap_or("").to_string());
            let body = json!({"saw": req.header("x-amz-target"), "host": req.header("host"), "len": req.body.len()});
            Some(Response::new(200).header("Content-Type", AMZ_JSON).body(body.to_string()))
        })
        .unwrap();
        (server, seen)
    }

    /// The proxy without the real-service layer: these tests are about counting and faults.
    fn raw_proxy(up: &Server) -> LogsProxy {
        LogsProxy::start_with(&up.base_url(), Semantics::RawMoto).unwrap()
    }

    fn call(proxy: &LogsProxy, op: &str) -> (u16, Vec<(String, String)>, Value) {
        let target = format!("Logs_20140328.{op}");
        let (s, h, b) =
            request("POST", &format!("{}/", proxy.endpoint()), &[("X-Amz-Target", &target), ("Content-Type", AMZ_JSON)], b"{}", T).unwrap();
        (s, h, serde_json::from_slice(&b).unwrap_or(Value::Null))
    }

    #[test]
    fn forwards_and_counts_per_operation() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        let (status, headers, body) = call(&proxy, "PutDeliverySource");
        assert_eq!(status, 200);
        assert_eq!(body["saw"], "Logs_20140328.PutDeliverySource");
        assert_eq!(body["host"], up.addr().to_string());
        assert_eq!(body["len"], 2);
        assert_eq!(find_header(&headers, "content-type"), Some(AMZ_JSON));
        call(&proxy, "PutDeliverySource");
        call(&proxy, "GetDeliverySource");
        let calls = proxy.calls();
        assert_eq!(calls.get("PutDeliverySource"), Some(&2));
        assert_eq!(calls.get("GetDeliverySource"), Some(&1));
        assert_eq!(proxy.total_calls(), 3);
        proxy.reset_counts();
        assert!(proxy.calls().is_empty());
    }

    #[test]
    fn injected_errors_count_down_then_forward() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault(Fault::Throttle { remaining: 2 });
        for _ in 0..2 {
            let (status, headers, body) = call(&proxy, "CreateDelivery");
            assert_eq!(status, 400);
            assert_eq!(find_header(&headers, "x-amzn-errortype"), Some("ThrottlingException"));
            assert_eq!(body, json!({"__type": "ThrottlingException", "message": "Rate exceeded"}));
        }
        assert_eq!(proxy.fault(), Fault::None);
        assert_eq!(call(&proxy, "CreateDelivery").0, 200);
        assert_eq!(proxy.call_count("CreateDelivery"), 3);

        proxy.set_fault(Fault::Unavailable { remaining: usize::MAX });
        for _ in 0..3 {
            let (status, _, body) = call(&proxy, "GetDelivery");
            assert_eq!((status, body["__type"].as_str()), (503, Some("ServiceUnavailableException")));
        }
        assert_eq!(proxy.fault(), Fault::Unavailable { remaining: usize::MAX });

        proxy.set_fault_on("PutDeliverySource", Fault::Conflict { remaining: 1 });
        assert_eq!(call(&proxy, "GetDeliverySource").0, 200);
        let (status, _, body) = call(&proxy, "PutDeliverySource");
        assert_eq!(status, 400);
        assert_eq!(body["__type"], "ConflictException");
        assert!(body["message"].as_str().unwrap().contains("currently being updated"));
        assert_eq!(call(&proxy, "PutDeliverySource").0, 200);
    }

    #[test]
    fn hang_holds_calls_until_cleared() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault(Fault::Hang);
        let url = format!("{}/", proxy.endpoint());
        let err = request("POST", &url, &[("X-Amz-Target", "Logs_20140328.GetDelivery")], b"{}", Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err:?}");
        proxy.set_fault(Fault::None);
        assert_eq!(call(&proxy, "GetDelivery").0, 200);
        assert_eq!(proxy.call_count("GetDelivery"), 2);
    }

    #[test]
    fn a_held_call_is_counted_until_its_caller_goes_away() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault(Fault::Hang);
        let url = format!("{}/", proxy.endpoint());
        std::thread::scope(|s| {
            s.spawn(|| request("POST", &url, &[("X-Amz-Target", "Logs_20140328.GetDelivery")], b"{}", Duration::from_millis(600)));
            let end = std::time::Instant::now() + T;
            while proxy.held_calls() == 0 && std::time::Instant::now() < end {
                std::thread::sleep(Duration::from_millis(10));
            }
            assert_eq!(proxy.held_calls(), 1);
        });
        // The caller gave up and closed its connection: the call is no longer held.
        let end = std::time::Instant::now() + T;
        while proxy.held_calls() > 0 && std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(proxy.held_calls(), 0);
        assert_eq!(proxy.fault(), Fault::Hang);
    }

    #[test]
    fn unreachable_upstream_is_a_502() {
        let dead = { upstream().base_url() }; // dropped: nothing listens there any more
        let proxy = LogsProxy::start(&dead).unwrap();
        assert_eq!(call(&proxy, "GetDelivery").0, 502);
    }

    #[test]
    fn lose_response_forwards_then_closes_unanswered() {
        let (up, seen) = recording_upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault_on("CreateDelivery", Fault::LoseResponse { remaining: 2 });
        assert_eq!(call(&proxy, "GetDelivery").0, 200);
        let url = format!("{}/", proxy.endpoint());
        for left in [1, 0] {
            let err = request("POST", &url, &[("X-Amz-Target", "Logs_20140328.CreateDelivery")], b"{}", T).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof, "{err:?}");
            let expected = if left == 0 { Fault::None } else { Fault::LoseResponse { remaining: left } };
            assert_eq!(proxy.fault(), expected);
        }
        assert_eq!(call(&proxy, "CreateDelivery").0, 200);
        let creates = seen.lock().unwrap().iter().filter(|t| t.ends_with(".CreateDelivery")).count();
        assert_eq!(creates, 3, "the lost answers' calls reached upstream too");
        assert_eq!(proxy.call_count("CreateDelivery"), 3);
    }

    #[test]
    fn real_service_lookups_are_neither_counted_nor_faulted() {
        let (up, seen) = recording_upstream();
        let proxy = LogsProxy::start(&up.base_url()).unwrap();
        assert_eq!(proxy.semantics(), Semantics::RealService);
        proxy.set_fault(Fault::Throttle { remaining: 1 });
        let put = json!({"name": "s", "resourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "logType": "ACCESS_LOGS"});
        assert_eq!(proxy.logs_call("PutDeliverySource", put.clone()).0, 400);
        assert!(seen.lock().unwrap().is_empty(), "a faulted call never reaches the layer");
        // The echo has no `deliverySources`: the lookup fails and the call is forwarded as it came.
        let (status, body) = proxy.logs_call("PutDeliverySource", put);
        assert_eq!((status, &body["saw"]), (200, &json!("Logs_20140328.PutDeliverySource")));
        assert_eq!(*seen.lock().unwrap(), ["Logs_20140328.DescribeDeliverySources", "Logs_20140328.PutDeliverySource"]);
        assert_eq!(proxy.calls(), BTreeMap::from([("PutDeliverySource".to_string(), 2)]));
    }
}
