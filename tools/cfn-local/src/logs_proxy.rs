//! A counting forward proxy between the function and moto: counts Logs API calls per operation
//! (STS calls by their `Action`), also per account and region ([`Place`]), injects the failures
//! moto never produces (throttling, 503, transient conflicts, hangs, lost responses), and by
//! default makes moto answer like the real service ([`crate::real_service`],
//! [`crate::real_service_accounts`]).

use crate::http::{Request, Response, Server, Shared};
use crate::moto;
use crate::real_service::Semantics;
use crate::real_service_accounts::{self as accounts, AssumedRole};
use crate::serialise::{self, Admission, Scope, Serialiser, UpdateCounts};
use crate::upstream::{aws_error, forward};
use hyper::body::Bytes;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

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
    /// Like `LoseResponse`, on every `nth` mutating call that takes effect (1-based: the `nth`,
    /// `2 × nth`, …; [`crate::serialise::is_mutating`]); every other call is answered. Never runs out.
    LoseResponseEvery { nth: usize },
}

/// Where a call was made: (account, region). The account is the one moto gives the call's access
/// key (keys from AssumeRole answers the proxy passed: the role's; any other: moto's default); the
/// region is its SigV4 credential scope's (`""` if it has none).
pub type Place = (String, String);

#[derive(Default)]
struct Inner {
    calls: BTreeMap<String, usize>,
    /// The same calls, per [`Place`].
    places: BTreeMap<Place, BTreeMap<String, usize>>,
    /// Access key → account, from the AssumeRole answers the proxy passed on.
    accounts: HashMap<String, String>,
    /// The body of the last call per operation (what the function sent), for tests.
    last_bodies: BTreeMap<String, Bytes>,
    /// Calls held unanswered by `Fault::Hang` right now.
    held: usize,
    fault: Fault,
    /// Fault only calls of this operation (others are forwarded).
    only: Option<String>,
    /// The account-wide serialisation of changes ([`Semantics::RealService`] only).
    updates: Serialiser,
    /// Mutating calls that took effect under `Fault::LoseResponseEvery`.
    changes_taken: usize,
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
        let server = Server::start(Inner::default(), move |state, req| {
            handle(state, upstream.clone(), semantics, req)
        })?;
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

    /// The JSON body of the last call of `operation` (faulted or not), `None` if there was none.
    /// Cleared by [`LogsProxy::reset_counts`].
    pub fn last_body(&self, operation: &str) -> Option<Value> {
        self.server.read(|i| {
            i.last_bodies
                .get(operation)
                .map(|b| serde_json::from_slice(b).unwrap_or(Value::Null))
        })
    }

    pub fn total_calls(&self) -> usize {
        self.server.read(|i| i.calls.values().sum())
    }

    /// [`LogsProxy::calls`] per place (account, region) they were made in.
    pub fn calls_by_place(&self) -> BTreeMap<Place, BTreeMap<String, usize>> {
        self.server.read(|i| i.places.clone())
    }

    /// Calls per operation made in `region`, in any account: empty if none ever was.
    pub fn calls_in_region(&self, region: &str) -> BTreeMap<String, usize> {
        self.calls_where(|(_, r)| r == region)
    }

    /// Calls per operation made in `account`, in any region.
    pub fn calls_in_account(&self, account: &str) -> BTreeMap<String, usize> {
        self.calls_where(|(a, _)| a == account)
    }

    fn calls_where(&self, place: impl Fn(&Place) -> bool) -> BTreeMap<String, usize> {
        let mut calls = BTreeMap::new();
        for (_, ops) in self.calls_by_place().iter().filter(|(p, _)| place(p)) {
            ops.iter()
                .for_each(|(op, n)| *calls.entry(op.clone()).or_default() += n);
        }
        calls
    }

    /// Calls held unanswered by [`Fault::Hang`] right now (their callers still waiting): a
    /// function with one is in the middle of an event.
    pub fn held_calls(&self) -> usize {
        self.server.read(|i| i.held)
    }

    pub fn reset_counts(&self) {
        self.server
            .update(|i| (i.calls.clear(), i.places.clear(), i.last_bodies.clear()));
    }

    /// Calls the Logs JSON API through the proxy (counted, faulted and reshaped like the
    /// function's calls), with the headers of [`crate::Moto::logs_call`]. Returns the HTTP status
    /// and the JSON body. Panics if the proxy cannot be reached or closes unanswered: for tests.
    pub fn logs_call(&self, target: &str, body: Value) -> (u16, Value) {
        moto::logs_call_at(&self.endpoint(), target, &body)
            .unwrap_or_else(|e| panic!("Logs call {target} through the proxy failed: {e}"))
    }

    /// [`LogsProxy::logs_call`] as a client of `region` with `access_key` (from
    /// [`LogsProxy::assume_role`], or any other: moto's default account).
    pub fn logs_call_as(&self, region: &str, access_key: &str, target: &str, body: Value) -> (u16, Value) {
        moto::logs_call_as_at(&self.endpoint(), region, access_key, target, &body)
            .unwrap_or_else(|e| panic!("Logs call {target} in {region} through the proxy failed: {e}"))
    }

    /// STS AssumeRole through the proxy (the query protocol, as aws-sdk-sts sends it), signed
    /// for `region` with `access_key`. The keys, or the HTTP status and the error `Code`.
    pub fn assume_role(
        &self,
        region: &str,
        access_key: &str,
        role_arn: &str,
        external_id: Option<&str>,
    ) -> Result<AssumedRole, (u16, String)> {
        let mut params = vec![
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", role_arn),
            ("RoleSessionName", "cfn-local"),
        ];
        params.extend(external_id.map(|id| ("ExternalId", id)));
        let caller = moto::QueryCaller::new(region, access_key);
        let (status, xml) = moto::query_call_at(&self.endpoint(), &caller, "sts", &params)
            .unwrap_or_else(|e| panic!("AssumeRole through the proxy failed: {e}"));
        match AssumedRole::from_answer(&xml) {
            Some(role) if status == 200 => Ok(role),
            _ => Err((status, moto::xml_field(&xml, "Code").unwrap_or(xml))),
        }
    }

    /// Applies `fault` to every operation.
    pub fn set_fault(&self, fault: Fault) {
        self.server
            .update(|i| (i.fault, i.only, i.changes_taken) = (fault, None, 0));
    }

    /// Applies `fault` to calls of `operation` only.
    pub fn set_fault_on(&self, operation: &str, fault: Fault) {
        self.server
            .update(|i| (i.fault, i.only, i.changes_taken) = (fault, Some(operation.to_string()), 0));
    }

    /// The current fault (with its remaining count).
    pub fn fault(&self) -> Fault {
        self.server.read(|i| i.fault.clone())
    }

    /// How long an accepted mutating call holds its account and region ([`crate::serialise`];
    /// [`serialise::DEFAULT_WINDOW`] unless set; zero: off). [`Semantics::RealService`] only.
    pub fn set_update_window(&self, window: Duration) {
        self.server.update(|i| i.updates.set_window(window));
    }

    pub fn update_window(&self) -> Duration {
        self.server.read(|i| i.updates.window())
    }

    /// Mutating calls accepted and refused by the serialisation since its window was last set.
    pub fn update_counts(&self) -> UpdateCounts {
        self.server.read(|i| i.updates.counts())
    }
}

/// The `X-Amz-Target` after the dot (JSON protocols), else the `Action` of a query-protocol form
/// body (STS: `AssumeRole`), else `"<METHOD> <path>"`.
fn operation(req: &Request) -> String {
    match req.headers().get("x-amz-target").and_then(|t| t.to_str().ok()) {
        Some(t) => t.rsplit('.').next().unwrap_or(t).to_string(),
        None => accounts::query_action(req).unwrap_or_else(|| format!("{} {}", req.method(), req.uri().path())),
    }
}

/// Where `req` is made, by the keys the proxy has seen AssumeRole hand out.
fn place(req: &Request, accounts: &HashMap<String, String>) -> Place {
    let scope = accounts::CredentialScope::of(req);
    let key = scope.as_ref().map_or("", |s| s.access_key.as_str());
    let account = accounts.get(key).map_or(moto::DEFAULT_ACCOUNT, String::as_str);
    (account.to_string(), scope.map(|s| s.region).unwrap_or_default())
}

/// Counts the call, applies the fault, then answers it (`None`: close unanswered).
async fn handle(state: Arc<Shared<Inner>>, upstream: Arc<str>, semantics: Semantics, req: Request) -> Option<Response> {
    let op = operation(&req);
    let injected = state.update(|i| {
        *i.calls.entry(op.clone()).or_default() += 1;
        *i.places
            .entry(place(&req, &i.accounts))
            .or_default()
            .entry(op.clone())
            .or_default() += 1;
        i.last_bodies.insert(op.clone(), req.body().clone());
        let applies = i.only.as_ref().is_none_or(|only| *only == op);
        i.held += usize::from(applies && i.fault == Fault::Hang);
        applies.then(|| take_injected(&mut i.fault)).flatten()
    });
    match injected {
        Some(Fault::Hang) => {
            // Held until the fault changes; hyper drops this future when the caller goes away.
            let _held = Held(&state);
            state.until(|i| (i.fault != Fault::Hang).then_some(())).await;
            return None;
        }
        Some(Fault::Throttle { .. }) => return Some(aws_error(400, "ThrottlingException", "Rate exceeded")),
        Some(Fault::Unavailable { .. }) => {
            return Some(aws_error(503, "ServiceUnavailableException", "Service Unavailable"))
        }
        Some(Fault::Conflict { .. }) => {
            return Some(aws_error(
                400,
                "ConflictException",
                "Delivery Source is currently being updated. Please try again later",
            ))
        }
        Some(Fault::LoseResponse { .. } | Fault::LoseResponseEvery { .. } | Fault::None) | None => {}
    }
    let assume_role = op == "AssumeRole";
    let admitted = match semantics {
        Semantics::RealService => state.update(|i| i.updates.admit(&op, Scope::of(req.headers()), Instant::now())),
        Semantics::RawMoto => Admission::Free,
    };
    if admitted == Admission::Refused {
        return Some(aws_error(400, "ConflictException", serialise::BUSY_MESSAGE));
    }
    let lost = injected.is_some() || state.update(|i| loses_change(i, &op));
    // A task of its own: like the service, it finishes a call whose caller went away meanwhile.
    let response = tokio::spawn(async move {
        match semantics {
            Semantics::RealService => accounts::handle(&upstream, &op, &req).await,
            Semantics::RawMoto => forward(&upstream, &req).await,
        }
    });
    let response = response.await.ok()?;
    if let Some(role) = (assume_role && response.status() == 200)
        .then(|| AssumedRole::from_response(&response))
        .flatten()
    {
        state.update(|i| i.accounts.insert(role.access_key_id, role.account));
    }
    if let Admission::Until(until) = admitted {
        tokio::time::sleep_until(until.into()).await;
    }
    (!lost).then_some(response)
}

/// Whether this call, which takes effect, loses its answer under `Fault::LoseResponseEvery`.
fn loses_change(i: &mut Inner, op: &str) -> bool {
    let Fault::LoseResponseEvery { nth } = i.fault else {
        return false;
    };
    if !serialise::is_mutating(op) || i.only.as_ref().is_some_and(|only| only != op) {
        return false;
    }
    i.changes_taken += 1;
    i.changes_taken.is_multiple_of(nth.max(1))
}

/// Counts a call held by [`Fault::Hang`] while it is held, however it ends.
struct Held<'a>(&'a Shared<Inner>);

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.0.update(|i| i.held -= 1);
    }
}

/// The fault this call gets (`None`: forwarded as it came), counted down; used up, it becomes `Fault::None`.
fn take_injected(fault: &mut Fault) -> Option<Fault> {
    let injected = fault.clone();
    let remaining = match fault {
        Fault::None | Fault::LoseResponseEvery { .. } => return None,
        Fault::Hang => return Some(injected),
        Fault::Throttle { remaining }
        | Fault::Unavailable { remaining }
        | Fault::Conflict { remaining }
        | Fault::LoseResponse { remaining } => remaining,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http;
    use serde_json::json;

    /// An upstream that echoes the `X-Amz-Target` of each call, recording them.
    fn upstream() -> Server<Vec<String>> {
        Server::start(Vec::new(), |seen, req: Request| {
            let target = req
                .headers()
                .get("x-amz-target")
                .map(|v| v.to_str().unwrap().to_string());
            seen.update(|s| s.push(target.clone().unwrap_or_default()));
            async move { Some(http::json(200, &json!({"saw": target}))) }
        })
        .unwrap()
    }

    #[test]
    fn unreachable_upstream_is_a_502() {
        let dead = { upstream().base_url() }; // dropped: nothing listens there any more
        assert_eq!(
            LogsProxy::start(&dead).unwrap().logs_call("GetDelivery", json!({})).0,
            502
        );
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
        assert_eq!(
            up.read(Vec::clone),
            [
                "Logs_20140328.DescribeDeliverySources",
                "Logs_20140328.PutDeliverySource"
            ]
        );
        assert_eq!(proxy.calls(), BTreeMap::from([("PutDeliverySource".to_string(), 2)]));
    }

    #[test]
    fn an_overlapping_change_is_refused_and_the_accepted_one_answers_when_its_window_ends() {
        let up = upstream();
        let proxy = LogsProxy::start(&up.base_url()).unwrap();
        assert_eq!(proxy.update_window(), serialise::DEFAULT_WINDOW);
        let window = Duration::from_millis(400);
        proxy.set_update_window(window);
        let started = Instant::now();
        let (first, second, read) = std::thread::scope(|s| {
            let first = s.spawn(|| proxy.logs_call("DeleteDelivery", json!({"id": "a"})));
            std::thread::sleep(window / 4);
            let second = proxy.logs_call("CreateDelivery", json!({}));
            (
                first.join().unwrap(),
                second,
                proxy.logs_call("GetDelivery", json!({"id": "a"})),
            )
        });
        assert_eq!(first.0, 200);
        assert!(started.elapsed() >= window, "answered after {:?}", started.elapsed());
        assert_eq!(
            (second.0, second.1["__type"].as_str(), second.1["message"].as_str()),
            (400, Some("ConflictException"), Some(serialise::BUSY_MESSAGE))
        );
        assert_eq!(read.0, 200, "reads are not held up");
        assert_eq!(
            proxy.update_counts(),
            UpdateCounts {
                accepted: 1,
                refused: 1
            }
        );
        // Upstream: the accepted change once, the refused one never (the layer's own lookups aside).
        let seen = up.read(Vec::clone);
        let count = |op: &str| seen.iter().filter(|t| *t == &format!("Logs_20140328.{op}")).count();
        assert_eq!((count("DeleteDelivery"), count("CreateDelivery")), (1, 0), "{seen:?}");
    }

    #[test]
    fn every_nth_change_that_takes_effect_loses_its_answer() {
        let up = upstream();
        let proxy = LogsProxy::start(&up.base_url()).unwrap();
        proxy.set_update_window(Duration::ZERO);
        proxy.set_fault(Fault::LoseResponseEvery { nth: 2 });
        let answered: Vec<bool> = [
            "DeleteDelivery",
            "GetDelivery",
            "DeleteDelivery",
            "TagResource",
            "DeleteDelivery",
            "DeleteDelivery",
        ]
        .iter()
        .map(|op| moto::logs_call_at(&proxy.endpoint(), op, &json!({})).is_ok())
        .collect();
        assert_eq!(answered, [true, true, false, true, true, false]);
        assert_eq!(up.read(Vec::len), 6, "every call took effect");
        assert_eq!(proxy.fault(), Fault::LoseResponseEvery { nth: 2 }, "it never runs out");
    }
}
