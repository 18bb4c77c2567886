//! A counting forward proxy between the function and moto: counts Logs API calls per operation,
//! injects the failures moto never produces (throttling, 503, transient conflicts, hangs, lost
//! responses), and by default makes moto answer like the real service ([`crate::real_service`]).

use crate::http::{self, Request, Response, Server, Shared};
use crate::moto;
use crate::real_service::{self, Semantics};
use serde_json::{json, Value};
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
        let upstream: Arc<str> = upstream.trim_end_matches('/').into();
        let server = Server::start(move |req| handle(s.clone(), upstream.clone(), semantics, req))?;
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
        self.state.read(|i| i.calls.clone())
    }

    /// Calls of one operation.
    pub fn call_count(&self, operation: &str) -> usize {
        self.state.read(|i| i.calls.get(operation).copied().unwrap_or(0))
    }

    pub fn total_calls(&self) -> usize {
        self.state.read(|i| i.calls.values().sum())
    }

    /// Calls held unanswered by [`Fault::Hang`] right now (their callers still waiting): a
    /// function with one is in the middle of an event.
    pub fn held_calls(&self) -> usize {
        self.state.read(|i| i.held)
    }

    pub fn reset_counts(&self) {
        self.state.update(|i| i.calls.clear());
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
        self.state.read(|i| i.fault.clone())
    }

    fn set(&self, fault: Fault, only: Option<String>) {
        self.state.update(|i| (i.fault, i.only) = (fault, only));
    }
}

impl std::fmt::Debug for LogsProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsProxy").field("addr", &self.server.addr()).field("semantics", &self.semantics).finish_non_exhaustive()
    }
}

fn operation(req: &Request) -> String {
    match req.headers().get("x-amz-target").and_then(|t| t.to_str().ok()) {
        Some(t) => t.rsplit('.').next().unwrap_or(t).to_string(),
        None => format!("{} {}", req.method(), req.uri().path()),
    }
}

/// Counts the call, applies the fault, then answers it (`None`: close unanswered).
async fn handle(state: Arc<State>, upstream: Arc<str>, semantics: Semantics, req: Request) -> Option<Response> {
    let op = operation(&req);
    let injected = state.update(|i| {
        *i.calls.entry(op.clone()).or_default() += 1;
        if i.only.as_ref().is_some_and(|o| *o != op) {
            return None;
        }
        i.held += usize::from(i.fault == Fault::Hang);
        take_injected(&mut i.fault)
    });
    match injected {
        Some(Injected::Hang) => {
            // Held until the fault changes; hyper drops this future when the caller goes away.
            let _held = Held(&state);
            state.until(|i| (i.fault != Fault::Hang).then_some(())).await;
            return None;
        }
        Some(Injected::Error { status, kind, message }) => return Some(aws_error(status, kind, message)),
        Some(Injected::LoseResponse) | None => {}
    }
    // A task of its own: like the service, it finishes a call whose caller went away meanwhile.
    let response = tokio::spawn(async move {
        match semantics {
            Semantics::RealService => real_service::handle(&upstream, &op, &req).await,
            Semantics::RawMoto => forward(&upstream, &req).await,
        }
    });
    let response = response.await.ok()?;
    (injected.is_none()).then_some(response)
}

/// Counts a call held by [`Fault::Hang`] while it is held, however it ends.
struct Held<'a>(&'a State);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.update(|i| i.held -= 1);
    }
}

/// What a fault does to one call.
enum Injected {
    Hang,
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
        Fault::Hang => return Some(Injected::Hang),
        Fault::None => return None,
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
    let headers = [("Content-Type", AMZ_JSON), ("x-amzn-ErrorType", kind), ("x-amzn-RequestId", &crate::ids::fresh_uuid())];
    http::respond(status, &headers, json!({"__type": kind, "message": message}).to_string())
}

/// Sends `req` on to `upstream` as it came (hop-by-hop headers dropped); 502 if it cannot.
pub async fn forward(upstream: &str, req: &Request) -> Response {
    let url = format!("{upstream}{}", req.uri().path_and_query().map_or("/", |p| p.as_str()));
    match http::send(req.method().clone(), &url, http::end_to_end(req.headers()), req.body().clone(), UPSTREAM_TIMEOUT).await {
        Ok((status, headers, body)) => {
            let mut response = Response::new(body);
            (*response.status_mut(), *response.headers_mut()) = (status, http::end_to_end(&headers));
            response
        }
        Err(e) => http::respond(502, &[("Content-Type", AMZ_JSON)], json!({"__type": "ProxyError", "message": e.to_string()}).to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{request, Headers};
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
        let server = Server::start(move |req: Request| {
            let header = |name| req.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            s.lock().unwrap().push(header("x-amz-target").unwrap_or_default());
            let body = json!({"saw": header("x-amz-target"), "host": header("host"), "len": req.body().len()});
            async move { Some(http::respond(200, &[("Content-Type", AMZ_JSON)], body.to_string())) }
        })
        .unwrap();
        (server, seen)
    }

    /// The proxy without the real-service layer: these tests are about counting and faults.
    fn raw_proxy(up: &Server) -> LogsProxy {
        LogsProxy::start_with(&up.base_url(), Semantics::RawMoto).unwrap()
    }

    fn call(proxy: &LogsProxy, op: &str) -> (u16, Headers, Value) {
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
        assert_eq!(headers["content-type"], AMZ_JSON);
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
            assert_eq!(headers["x-amzn-errortype"], "ThrottlingException");
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
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err:?}");
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
