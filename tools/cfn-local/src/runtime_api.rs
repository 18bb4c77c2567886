//! A Lambda Runtime API emulator: hands one queued event at a time to the function through
//! `/next` and collects what it posts back, with the headers the real service sends.
//!
//! Real Lambda freezes the process between invocations; here it just keeps long-polling.

use crate::http::{self, Request, Response, Server, Shared};
use crate::moto::parse_json_lenient;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use uuid::Uuid;

pub const FUNCTION_ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:cfn-logs-delivery";
/// How long past its deadline an invocation is waited for before it counts as unanswered.
pub const GRACE: Duration = Duration::from_secs(2);

const PREFIX: &str = "/2018-06-01/runtime/";

/// How an invocation ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// Body of `/invocation/{id}/response` (a JSON string if the body was not JSON).
    Response(Value),
    /// Body of `/invocation/{id}/error`.
    Error(Value),
    /// Nothing posted before deadline + [`GRACE`].
    NoAnswer,
}

/// One finished (or abandoned) invocation.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The `Lambda-Runtime-Aws-Request-Id` (not the CloudFormation RequestId).
    pub aws_request_id: String,
    pub outcome: Outcome,
    /// When it was queued.
    pub sent_at: Instant,
    /// When `/next` handed it to the function.
    pub picked_up_at: Option<Instant>,
    /// When the function posted its result.
    pub finished_at: Option<Instant>,
    /// `sent_at` until the result, or until giving up.
    pub elapsed: Duration,
    /// The deadline given to the function (`Lambda-Runtime-Deadline-Ms`).
    pub deadline_epoch_ms: u64,
    pub timeout: Duration,
}

struct Pending {
    aws_request_id: String,
    payload: Vec<u8>,
    deadline_epoch_ms: u64,
}

/// What became of one request id handed out; unknown ids are refused, as the real API does.
#[derive(Default)]
struct Track {
    picked_up: Option<Instant>,
    finished: Option<(Outcome, Instant)>,
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Pending>,
    tracks: HashMap<String, Track>,
    polls: Vec<Instant>,
    init_error: Option<Value>,
    /// How long past the deadline [`RuntimeApi::invoke`] waits; `None`: [`GRACE`]. Unit tests shorten it.
    grace: Option<Duration>,
}

/// The emulator. Give [`RuntimeApi::addr`] to the function as `AWS_LAMBDA_RUNTIME_API`.
#[derive(Debug)]
pub struct RuntimeApi {
    server: Server<Inner>,
}

impl RuntimeApi {
    pub fn start() -> io::Result<RuntimeApi> {
        Ok(RuntimeApi {
            server: Server::start(Inner::default(), handle)?,
        })
    }

    /// `127.0.0.1:PORT`
    pub fn addr(&self) -> String {
        self.server.addr().to_string()
    }

    /// Queues `payload` with a deadline `timeout` from now and blocks until the function posts a
    /// result or deadline + grace ([`GRACE`]) passes.
    pub fn invoke(&self, payload: Value, timeout: Duration) -> Invocation {
        self.invoke_raw(payload.to_string().into_bytes(), timeout)
    }

    /// [`RuntimeApi::invoke`] with a body that need not be JSON.
    pub fn invoke_raw(&self, payload: Vec<u8>, timeout: Duration) -> Invocation {
        let (id, sent_at) = (Uuid::new_v4().to_string(), Instant::now());
        let deadline_epoch_ms = epoch_millis(SystemTime::now() + timeout);
        let grace = self.server.update(|i| {
            i.tracks.insert(id.clone(), Track::default());
            i.queue.push_back(Pending {
                aws_request_id: id.clone(),
                payload,
                deadline_epoch_ms,
            });
            i.grace.unwrap_or(GRACE)
        });
        let give_up = (sent_at + timeout + grace).saturating_duration_since(Instant::now());
        self.server.wait(give_up, |i| i.tracks[&id].finished.as_ref().map(drop));
        // Decided in one step: an answer that came after the wait gave up still counts.
        self.server.update(|i| {
            let track = &i.tracks[&id];
            let (picked_up_at, finished) = (track.picked_up, track.finished.clone());
            if finished.is_none() {
                i.queue.retain(|p| p.aws_request_id != id);
            }
            Invocation {
                picked_up_at,
                finished_at: finished.as_ref().map(|f| f.1),
                elapsed: finished
                    .as_ref()
                    .map_or_else(Instant::now, |f| f.1)
                    .duration_since(sent_at),
                outcome: finished.map_or(Outcome::NoAnswer, |f| f.0),
                aws_request_id: id.clone(),
                sent_at,
                deadline_epoch_ms,
                timeout,
            }
        })
    }

    /// When the function first asked for an event (end of its init).
    pub fn first_poll_at(&self) -> Option<Instant> {
        self.server.read(|i| i.polls.first().copied())
    }

    /// Waits up to `timeout` for the `n`-th `/next` (1: the first).
    pub fn wait_for_poll(&self, n: usize, timeout: Duration) -> Option<Instant> {
        self.server.wait(timeout, |i| i.polls.get(n - 1).copied())
    }

    /// Body of `/init/error`, if the function reported one.
    pub fn init_error(&self) -> Option<Value> {
        self.server.read(|i| i.init_error.clone())
    }

    /// Ends every invocation the function had taken and not answered with `error(request id)`, as
    /// Lambda does when the runtime process dies mid-event (`Runtime.ExitError`). Returns how many.
    pub fn fail_in_flight(&self, error: impl Fn(&str) -> Value) -> usize {
        self.server.update(|i| {
            let in_flight = i
                .tracks
                .iter_mut()
                .filter(|(_, t)| t.picked_up.is_some() && t.finished.is_none());
            in_flight
                .map(|(id, t)| t.finished = Some((Outcome::Error(error(id)), Instant::now())))
                .count()
        })
    }
}

async fn handle(state: Arc<Shared<Inner>>, req: Request) -> Option<Response> {
    let Some(route) = req.uri().path().strip_prefix(PREFIX) else {
        return Some(error(404, "NotFound", "unknown path"));
    };
    let accepted = http::json(202, &json!({"status": "OK"}));
    Some(
        match (req.method().as_str(), route.split('/').collect::<Vec<_>>().as_slice()) {
            ("GET", ["invocation", "next"]) => next(&state).await,
            ("POST", ["invocation", id, kind @ ("response" | "error")]) => {
                let body = parse_json_lenient(req.body());
                let outcome = if *kind == "response" {
                    Outcome::Response(body)
                } else {
                    Outcome::Error(body)
                };
                let known = state.update(|i| {
                    let track = i.tracks.get_mut(*id)?;
                    track.finished.get_or_insert((outcome, Instant::now()));
                    Some(())
                });
                match known {
                    Some(()) => accepted,
                    None => error(400, "InvalidRequestID", "unknown request id"),
                }
            }
            ("POST", ["init", "error"]) => {
                state.update(|i| i.init_error = Some(parse_json_lenient(req.body())));
                accepted
            }
            _ => error(404, "NotFound", "unknown route"),
        },
    )
}

/// Long poll: waits for a queued event. hyper drops a poll whose client died (a killed function)
/// as soon as it sees the connection closed, so the event is taken only after one turn of the I/O
/// driver (`yield_now` resumes after it), and taken and answered in one step, with no await between.
async fn next(state: &Shared<Inner>) -> Response {
    state.update(|i| i.polls.push(Instant::now()));
    let p = loop {
        state.until(|i| (!i.queue.is_empty()).then_some(())).await;
        tokio::task::yield_now().await;
        let taken = state.update(|i| {
            let p = i.queue.pop_front()?;
            i.tracks.entry(p.aws_request_id.clone()).or_default().picked_up = Some(Instant::now());
            Some(p)
        });
        if let Some(p) = taken {
            break p;
        }
    };
    let trace = format!(
        "Root=1-{:08x}-{};Parent={};Sampled=0",
        epoch_millis(SystemTime::now()) / 1000,
        &Uuid::new_v4().simple().to_string()[..24],
        &Uuid::new_v4().simple().to_string()[..16]
    );
    let deadline = p.deadline_epoch_ms.to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("Lambda-Runtime-Aws-Request-Id", p.aws_request_id.as_str()),
        ("Lambda-Runtime-Deadline-Ms", &deadline),
        ("Lambda-Runtime-Invoked-Function-Arn", FUNCTION_ARN),
        ("Lambda-Runtime-Trace-Id", &trace),
    ];
    http::respond(200, &headers, p.payload)
}

/// Milliseconds since the Unix epoch (what Lambda's deadline header carries).
fn epoch_millis(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn error(status: u16, kind: &str, message: &str) -> Response {
    http::json(status, &json!({"errorType": kind, "errorMessage": message}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request;

    const T: Duration = Duration::from_secs(5);

    /// A tiny "function": polls /next, posts back what `reply` makes of the event.
    fn fake_function(addr: String, reply: fn(&str, &Value) -> (&'static str, Value)) {
        std::thread::spawn(move || loop {
            let url = format!("http://{addr}{PREFIX}invocation/next");
            let Ok((200, headers, body)) = request("GET", &url, &[], b"", Duration::from_secs(30)) else {
                return;
            };
            let header = |name: &str| headers[name].to_str().unwrap().to_string();
            let id = header("lambda-runtime-aws-request-id");
            assert!(header("lambda-runtime-deadline-ms").parse::<u64>().unwrap() > epoch_millis(SystemTime::now()));
            assert_eq!(header("lambda-runtime-invoked-function-arn"), FUNCTION_ARN);
            assert!(header("lambda-runtime-trace-id").starts_with("Root=1-"));
            let (kind, out) = reply(&id, &serde_json::from_slice(&body).unwrap());
            if kind != "silent" {
                let url = format!("http://{addr}{PREFIX}invocation/{id}/{kind}");
                assert_eq!(
                    request("POST", &url, &[], out.to_string().as_bytes(), T).unwrap().0,
                    202
                );
            }
        });
    }

    #[test]
    fn invocations_round_trip_in_order_and_unknown_ids_are_refused() {
        let api = RuntimeApi::start().unwrap();
        api.server.update(|i| i.grace = Some(Duration::from_millis(50)));
        fake_function(api.addr(), |_, e| match e["n"].as_i64() {
            Some(2) => ("error", json!({"errorType": "Boom", "errorMessage": "two"})),
            Some(3) => ("silent", Value::Null),
            _ => ("response", json!({"echo": e["n"]})),
        });
        let first = api.invoke(json!({"n": 1}), T);
        assert_eq!(first.outcome, Outcome::Response(json!({"echo": 1})));
        assert!(api.first_poll_at().unwrap() <= first.picked_up_at.unwrap());
        let second = api.invoke(json!({"n": 2}), T);
        assert!(matches!(second.outcome, Outcome::Error(ref v) if v["errorType"] == "Boom"));
        let third = api.invoke(json!({"n": 3}), Duration::from_millis(100));
        assert_eq!(third.outcome, Outcome::NoAnswer);
        assert!(third.elapsed >= Duration::from_millis(150) && api.server.read(|i| i.polls.len()) >= 3);

        let base = format!("http://{}{PREFIX}", api.addr());
        assert_eq!(
            request("POST", &format!("{base}invocation/nope/response"), &[], b"{}", T)
                .unwrap()
                .0,
            400
        );
        assert_eq!(
            request("POST", &format!("{base}init/error"), &[], br#"{"errorType":"Init"}"#, T)
                .unwrap()
                .0,
            202
        );
        assert_eq!(api.init_error(), Some(json!({"errorType": "Init"})));
    }

    #[test]
    fn a_dead_poller_does_not_take_the_event() {
        let api = RuntimeApi::start().unwrap();
        // A function that polls, then dies (its connection closes) before any event is queued. The
        // client gives up at 50 ms and closes the connection in a task of its own, a moment later.
        let _ = request(
            "GET",
            &format!("http://{}{PREFIX}invocation/next", api.addr()),
            &[],
            b"",
            Duration::from_millis(50),
        );
        std::thread::sleep(Duration::from_millis(100));
        fake_function(api.addr(), |_, e| ("response", e.clone()));
        assert_eq!(
            api.invoke(json!({"n": 7}), T).outcome,
            Outcome::Response(json!({"n": 7}))
        );
    }

    #[test]
    fn nothing_picked_up_means_no_answer_and_event_is_withdrawn() {
        let api = RuntimeApi::start().unwrap();
        api.server.update(|i| i.grace = Some(Duration::ZERO));
        let inv = api.invoke(json!({}), Duration::from_millis(10));
        assert_eq!((inv.outcome, inv.picked_up_at), (Outcome::NoAnswer, None));
        assert!(api.server.read(|i| i.queue.is_empty()));
    }
}
