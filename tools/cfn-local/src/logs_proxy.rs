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

#[derive(Default)]
struct Inner {
    calls: BTreeMap<String, usize>,
    /// Calls held unanswered by `Fault::Hang` right now.
    held: usize,
    fault: Fault,
    /// Fault only calls of this operation (others are forwarded).
    only: Option<String>,
}

/// The proxy. Give [`LogsProxy::endpoint`] to the function as `AWS_ENDPOINT_URL`.
#[derive(Debug)]
pub struct LogsProxy {
    server: Server<Inner>,
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
        let upstream: Arc<str> = upstream.trim_end_matches('/').into();
        let server = Server::start(Inner::default(), move |state, req| handle(state, upstream.clone(), semantics, req))?;
        Ok(LogsProxy { server, semantics })
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
        self.server.read(|i| i.calls.clone())
    }

    /// Calls of one operation.
    pub fn call_count(&self, operation: &str) -> usize {
        self.server.read(|i| i.calls.get(operation).copied().unwrap_or(0))
    }

    pub fn total_calls(&self) -> usize {
        self.server.read(|i| i.calls.values().sum())
    }

    /// Calls held unanswered by [`Fault::Hang`] right now (their callers still waiting): a
    /// function with one is in the middle of an event.
    pub fn held_calls(&self) -> usize {
        self.server.read(|i| i.held)
    }

    pub fn reset_counts(&self) {
        self.server.update(|i| i.calls.clear());
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
        self.server.read(|i| i.fault.clone())
    }

    fn set(&self, fault: Fault, only: Option<String>) {
        self.server.update(|i| (i.fault, i.only) = (fault, only));
    }
}

fn operation(req: &Request) -> String {
    match req.headers().get("x-amz-target").and_then(|t| t.to_str().ok()) {
        Some(t) => t.rsplit('.').next().unwrap_or(t).to_string(),
        None => format!("{} {}", req.method(), req.uri().path()),
    }
}

/// Counts the call, applies the fault, then answers it (`None`: close unanswered).
async fn handle(state: Arc<Shared<Inner>>, upstream: Arc<str>, semantics: Semantics, req: Request) -> Option<Response> {
    let op = operation(&req);
    let injected = state.update(|i| {
        *i.calls.entry(op.clone()).or_default() += 1;
        let applies = i.only.as_ref().is_none_or(|only| *only == op);
        i.held += usize::from(applies && i.fault == Fault::Hang);
        applies.then(|| take_injected(&mut i.fault)).flatten()
    });
    match injected {
        Some(Injected::Hang) => {
            // Held until the fault changes; hyper drops this future when the caller goes away.
            let _held = Held(&state);
            state.until(|i| (i.fault != Fault::Hang).then_some(())).await;
            return None;
        }
        Some(Injected::Error(status, kind, message)) => return Some(aws_error(status, kind, message)),
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
    injected.is_none().then_some(response)
}

/// Counts a call held by [`Fault::Hang`] while it is held, however it ends.
struct Held<'a>(&'a Shared<Inner>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.update(|i| i.held -= 1);
    }
}

/// What a fault does to one call.
enum Injected {
    Hang,
    /// Status, `__type` and message of the error answer.
    Error(u16, &'static str, &'static str),
    LoseResponse,
}

/// What the current fault does to this call, counting it down; used up, it becomes `Fault::None`.
fn take_injected(fault: &mut Fault) -> Option<Injected> {
    let (injected, remaining) = match fault {
        Fault::None => return None,
        Fault::Hang => return Some(Injected::Hang),
        Fault::Throttle { remaining } => (Injected::Error(400, "ThrottlingException", "Rate exceeded"), remaining),
        Fault::Unavailable { remaining } => (Injected::Error(503, "ServiceUnavailableException", "Service Unavailable"), remaining),
        Fault::Conflict { remaining } => {
            (Injected::Error(400, "ConflictException", "Delivery Source is currently being updated. Please try again later"), remaining)
        }
        Fault::LoseResponse { remaining } => (Injected::LoseResponse, remaining),
    };
    let applies = *remaining > 0;
    if applies && *remaining != usize::MAX {
        *remaining -= 1;
    }
    if *remaining == 0 {
        *fault = Fault::None;
    }
    applies.then_some(injected)
}

/// An error answer as the Logs JSON protocol gives it.
pub(crate) fn aws_error(status: u16, kind: &str, message: &str) -> Response {
    let headers = [("Content-Type", AMZ_JSON), ("x-amzn-ErrorType", kind), ("x-amzn-RequestId", &crate::ids::fresh_uuid())];
    http::respond(status, &headers, json!({"__type": kind, "message": message}).to_string())
}

/// Sends `req` on to `upstream` as it came (hop-by-hop headers dropped); 502 if it cannot.
pub async fn forward(upstream: &str, req: &Request) -> Response {
    let url = format!("{upstream}{}", req.uri().path_and_query().map_or("/", |p| p.as_str()));
    let call = http::client(req.method().clone(), &url).headers(http::end_to_end(req.headers())).body(req.body().clone());
    match http::send(call.timeout(UPSTREAM_TIMEOUT)).await {
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

    const T: Duration = Duration::from_secs(5);

    /// An upstream that echoes what it saw, recording the `X-Amz-Target` of each call.
    fn upstream() -> Server<Vec<String>> {
        Server::start(Vec::new(), |seen, req: Request| {
            let header = |name| req.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            seen.update(|s| s.push(header("x-amz-target").unwrap_or_default()));
            let body = json!({"saw": header("x-amz-target"), "host": header("host"), "len": req.body().len()});
            async move { Some(http::respond(200, &[("Content-Type", AMZ_JSON)], body.to_string())) }
        })
        .unwrap()
    }

    /// The proxy without the real-service layer: these tests are about counting and faults.
    fn raw_proxy(up: &Server<Vec<String>>) -> LogsProxy {
        LogsProxy::start_with(&up.base_url(), Semantics::RawMoto).unwrap()
    }

    fn call(proxy: &LogsProxy, op: &str, timeout: Duration) -> io::Result<(u16, Headers, Value)> {
        let headers = [("X-Amz-Target", &*format!("Logs_20140328.{op}")), ("Content-Type", AMZ_JSON)];
        let (s, h, b) = request("POST", &format!("{}/", proxy.endpoint()), &headers, b"{}", timeout)?;
        Ok((s, h, serde_json::from_slice(&b).unwrap_or(Value::Null)))
    }

    fn status(proxy: &LogsProxy, op: &str) -> u16 {
        call(proxy, op, T).unwrap().0
    }

    #[test]
    fn forwards_and_counts_per_operation() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        let (status_code, headers, body) = call(&proxy, "PutDeliverySource", T).unwrap();
        assert_eq!((status_code, headers["content-type"].to_str().unwrap()), (200, AMZ_JSON));
        assert_eq!(body, json!({"saw": "Logs_20140328.PutDeliverySource", "host": up.addr().to_string(), "len": 2}));
        status(&proxy, "PutDeliverySource");
        status(&proxy, "GetDeliverySource");
        let expected = [("GetDeliverySource".to_string(), 1), ("PutDeliverySource".to_string(), 2)];
        assert_eq!((proxy.calls(), proxy.total_calls()), (BTreeMap::from(expected), 3));
        proxy.reset_counts();
        assert!(proxy.calls().is_empty());
    }

    #[test]
    fn injected_errors_count_down_then_forward() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault(Fault::Throttle { remaining: 2 });
        for _ in 0..2 {
            let (status, headers, body) = call(&proxy, "CreateDelivery", T).unwrap();
            assert_eq!((status, headers["x-amzn-errortype"].to_str().unwrap()), (400, "ThrottlingException"));
            assert_eq!(body, json!({"__type": "ThrottlingException", "message": "Rate exceeded"}));
        }
        assert_eq!(proxy.fault(), Fault::None);
        assert_eq!((status(&proxy, "CreateDelivery"), proxy.call_count("CreateDelivery")), (200, 3));

        proxy.set_fault(Fault::Unavailable { remaining: usize::MAX });
        for _ in 0..3 {
            let (status, _, body) = call(&proxy, "GetDelivery", T).unwrap();
            assert_eq!((status, body["__type"].as_str()), (503, Some("ServiceUnavailableException")));
        }
        assert_eq!(proxy.fault(), Fault::Unavailable { remaining: usize::MAX });

        proxy.set_fault_on("PutDeliverySource", Fault::Conflict { remaining: 1 });
        assert_eq!(status(&proxy, "GetDeliverySource"), 200);
        let (status_code, _, body) = call(&proxy, "PutDeliverySource", T).unwrap();
        assert_eq!((status_code, &body["__type"]), (400, &json!("ConflictException")));
        assert!(body["message"].as_str().unwrap().contains("currently being updated"));
        assert_eq!(status(&proxy, "PutDeliverySource"), 200);
    }

    #[test]
    fn hang_holds_calls_until_their_caller_goes_away_or_it_is_cleared() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault(Fault::Hang);
        std::thread::scope(|s| {
            let held = s.spawn(|| call(&proxy, "GetDelivery", Duration::from_millis(600)).unwrap_err().kind());
            assert_eq!(proxy.server.wait(T, |i| (i.held == 1).then_some(())), Some(()));
            assert_eq!(held.join().unwrap(), io::ErrorKind::TimedOut);
        });
        // The caller gave up and closed its connection: the call is no longer held.
        assert_eq!(proxy.server.wait(T, |i| (i.held == 0).then_some(())), Some(()));
        assert_eq!(proxy.fault(), Fault::Hang);
        std::thread::scope(|s| {
            let held = s.spawn(|| call(&proxy, "GetDelivery", T).unwrap_err().kind());
            proxy.server.wait(T, |i| (i.held == 1).then_some(())).unwrap();
            proxy.set_fault(Fault::None);
            assert_eq!(held.join().unwrap(), io::ErrorKind::UnexpectedEof, "closed unanswered when the fault changes");
        });
        assert_eq!((status(&proxy, "GetDelivery"), proxy.call_count("GetDelivery"), proxy.held_calls()), (200, 3, 0));
    }

    #[test]
    fn unreachable_upstream_is_a_502() {
        let dead = { upstream().base_url() }; // dropped: nothing listens there any more
        assert_eq!(status(&LogsProxy::start(&dead).unwrap(), "GetDelivery"), 502);
    }

    #[test]
    fn lose_response_forwards_then_closes_unanswered() {
        let up = upstream();
        let proxy = raw_proxy(&up);
        proxy.set_fault_on("CreateDelivery", Fault::LoseResponse { remaining: 2 });
        assert_eq!(status(&proxy, "GetDelivery"), 200);
        for left in [1, 0] {
            assert_eq!(call(&proxy, "CreateDelivery", T).unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
            let expected = if left == 0 { Fault::None } else { Fault::LoseResponse { remaining: left } };
            assert_eq!(proxy.fault(), expected);
        }
        assert_eq!(status(&proxy, "CreateDelivery"), 200);
        let creates = up.read(|seen| seen.iter().filter(|t| t.ends_with(".CreateDelivery")).count());
        assert_eq!(creates, 3, "the lost answers' calls reached upstream too");
        assert_eq!(proxy.call_count("CreateDelivery"), 3);
    }

    #[test]
    fn real_service_lookups_are_neither_counted_nor_faulted() {
        let up = upstream();
        let proxy = LogsProxy::start(&up.base_url()).unwrap();
        assert_eq!(proxy.semantics(), Semantics::RealService);
        proxy.set_fault(Fault::Throttle { remaining: 1 });
        let put = json!({"name": "s", "resourceArn": "arn:aws:cloudfront::123456789012:distribution/E1", "logType": "ACCESS_LOGS"});
        assert_eq!(proxy.logs_call("PutDeliverySource", put.clone()).0, 400);
        assert!(up.read(Vec::is_empty), "a faulted call never reaches the layer");
        // The echo has no `deliverySources`: the lookup fails and the call is forwarded as it came.
        let (status, body) = proxy.logs_call("PutDeliverySource", put);
        assert_eq!((status, &body["saw"]), (200, &json!("Logs_20140328.PutDeliverySource")));
        assert_eq!(up.read(Vec::clone), ["Logs_20140328.DescribeDeliverySources", "Logs_20140328.PutDeliverySource"]);
        assert_eq!(proxy.calls(), BTreeMap::from([("PutDeliverySource".to_string(), 2)]));
    }
}
