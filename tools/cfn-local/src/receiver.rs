//! The ResponseURL receiver: plays the presigned S3 URL CloudFormation reads answers from.
//!
//! It records every PUT exactly as received (Content-Type, Content-Length, body) so tests can
//! check the rules a real presigned URL enforces, and can fail or hang to test retries.

use crate::http::{Request, Response, Server, Shared};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse;
use serde_json::Value;
use std::collections::HashMap;
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Put into every URL as `X-Amz-Signature`: grep a log for it to prove the query string
/// (a credential in real life) was never logged.
pub const FAKE_SIGNATURE: &str = "f00dfeedcafe5e11c0ffee0ddba11b0a710ad5f00dfeedcafe5e11c0ffee0ddb";

const PATH_PREFIX: &str = "/cfn-response/";

/// One answer (a PUT that got 200).
#[derive(Clone, Debug)]
pub struct Answer {
    /// From the URL path; the handler must not have changed it.
    pub request_id: String,
    /// Path and query as received.
    pub target: String,
    /// `None` when the header was absent (what a presigned URL signed without one needs).
    pub content_type: Option<String>,
    pub content_length_header: Option<usize>,
    pub body: Vec<u8>,
    /// The body parsed as CloudFormation would accept it; `None` if it is not a valid answer.
    /// (Missing `NoEcho`/`Data` are accepted as false/empty, as CloudFormation does.)
    pub response: Option<CloudFormationCustomResourceResponse>,
    pub received_at: Instant,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// `"SUCCESS"` / `"FAILED"` as written in the body.
    pub fn status(&self) -> Option<String> {
        self.json()?.get("Status")?.as_str().map(str::to_string)
    }

    pub fn physical_id(&self) -> Option<String> {
        self.json()?.get("PhysicalResourceId")?.as_str().map(str::to_string)
    }

    pub fn reason(&self) -> Option<String> {
        self.json()?.get("Reason")?.as_str().map(str::to_string)
    }

    /// `Data[key]` as a string.
    pub fn data(&self, key: &str) -> Option<String> {
        self.json()?.get("Data")?.get(key)?.as_str().map(str::to_string)
    }
}

/// Parses a body the way CloudFormation reads it.
pub fn parse_answer(body: &[u8]) -> Option<CloudFormationCustomResourceResponse> {
    let mut v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object_mut()?;
    obj.entry("NoEcho").or_insert(Value::Bool(false));
    obj.entry("Data").or_insert_with(|| Value::Object(Default::default()));
    serde_json::from_value(v).ok()
}

#[derive(Default)]
struct Inner {
    answers: Vec<Answer>,
    attempts: HashMap<String, usize>,
    fail_next: usize,
    fail_status: u16,
    hang: bool,
    stopping: bool,
}

type State = Shared<Inner>;

/// A local ResponseURL endpoint. See [`Receiver::url`].
pub struct Receiver {
    state: Arc<State>,
    server: Server,
}

impl Receiver {
    pub fn start() -> io::Result<Receiver> {
        let state = Arc::new(State::default());
        let s = state.clone();
        let server = Server::start(move |req| handle(&s, req))?;
        Ok(Receiver { state, server })
    }

    /// A presigned-looking URL for one request id (query string included, as S3's would be).
    pub fn url(&self, request_id: &str) -> String {
        format!(
            "{}{PATH_PREFIX}{request_id}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLE&X-Amz-Signature={FAKE_SIGNATURE}",
            self.server.base_url()
        )
    }

    pub fn port(&self) -> u16 {
        self.server.addr().port()
    }

    /// Answer the next `n` PUTs with `status` (counted as attempts, not as answers).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut inner = self.state.lock();
        inner.fail_next = n;
        inner.fail_status = status;
    }

    /// While on, PUTs are read and then held without an answer. Turning it off (or dropping the
    /// receiver) closes the held connections unanswered: they count as attempts only.
    pub fn set_hang(&self, hang: bool) {
        self.state.lock().hang = hang;
        self.state.changed.notify_all();
    }

    pub fn answers(&self, request_id: &str) -> Vec<Answer> {
        self.state.lock().answers.iter().filter(|a| a.request_id == request_id).cloned().collect()
    }

    pub fn all_answers(&self) -> Vec<Answer> {
        self.state.lock().answers.clone()
    }

    /// Every PUT for this request id: answered, failed on purpose, or hung.
    pub fn attempts(&self, request_id: &str) -> usize {
        self.state.lock().attempts.get(request_id).copied().unwrap_or(0)
    }

    /// The first answer for `request_id`, waiting up to `timeout` for it.
    pub fn wait_for(&self, request_id: &str, timeout: Duration) -> Option<Answer> {
        self.wait_for_after(request_id, 0, timeout)
    }

    /// The answer for `request_id` that follows the first `seen` ones, waiting up to `timeout`
    /// (for an event sent again: pass `answers(id).len()` taken before sending it).
    pub fn wait_for_after(&self, request_id: &str, seen: usize, timeout: Duration) -> Option<Answer> {
        let end = Instant::now() + timeout;
        let mut inner = self.state.lock();
        loop {
            if let Some(a) = inner.answers.iter().filter(|a| a.request_id == request_id).nth(seen) {
                return Some(a.clone());
            }
            let now = Instant::now();
            if now >= end {
                return None;
            }
            inner = self.state.changed.wait_timeout(inner, end - now).unwrap_or_else(|e| e.into_inner()).0;
        }
    }
}

impl std::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Receiver").field("addr", &self.server.addr()).finish_non_exhaustive()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.state.lock().stopping = true;
        self.state.changed.notify_all();
    }
}

fn handle(state: &State, req: &Request) -> Option<Response> {
    let Some(request_id) = req.path().strip_prefix(PATH_PREFIX) else {
        return Some(Response::new(404).body("no such key"));
    };
    if req.method != "PUT" {
        return Some(Response::new(405).body("PUT only"));
    }
    let request_id = request_id.to_string();
    let mut inner = state.lock();
    *inner.attempts.entry(request_id.clone()).or_default() += 1;
    state.changed.notify_all();
    if inner.hang {
        while inner.hang && !inner.stopping {
            inner = state.changed.wait(inner).unwrap_or_else(|e| e.into_inner());
        }
        return None;
    }
    if inner.fail_next > 0 {
        inner.fail_next -= 1;
        let status = inner.fail_status;
        return Some(Response::new(status).body(format!("<Error><Code>Injected</Code><Message>injected {status}</Message></Error>")));
    }
    inner.answers.push(Answer {
        request_id,
        target: req.target.clone(),
        content_type: req.header("content-type").map(str::to_string),
        content_length_header: req.header("content-length").and_then(|v| v.trim().parse().ok()),
        body: req.body.clone(),
        response: parse_answer(&req.body),
        received_at: Instant::now(),
    });
    state.changed.notify_all();
    Some(Response::new(200))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request;
    use serde_json::json;

    const T: Duration = Duration::from_secs(5);

    fn body(rid: &str) -> Vec<u8> {
        json!({
            "Status": "SUCCESS", "PhysicalResourceId": "p", "StackId": "s", "RequestId": rid,
            "LogicalResourceId": "L", "Data": {"Arn": "arn:x"}
        })
        .to_string()
        .into_bytes()
    }

    #[test]
    fn records_answers_with_raw_headers() {
        let r = Receiver::start().unwrap();
        let url = r.url("rid-1");
        assert!(url.contains(FAKE_SIGNATURE));
        let (status, _, _) = request("PUT", &url, &[], &body("rid-1"), T).unwrap();
        assert_eq!(status, 200);
        let a = r.wait_for("rid-1", T).unwrap();
        assert_eq!(a.content_type, None);
        assert_eq!(a.content_length_header, Some(a.body.len()));
        assert_eq!(a.status().as_deref(), Some("SUCCESS"));
        assert_eq!(a.data("Arn").as_deref(), Some("arn:x"));
        let parsed = a.response.unwrap();
        assert_eq!(parsed.physical_resource_id, "p");
        assert!(!parsed.no_echo);
        assert!(a.target.contains("X-Amz-Signature="));
        assert_eq!(r.attempts("rid-1"), 1);

        request("PUT", &r.url("rid-2"), &[("Content-Type", "application/json")], b"not json", T).unwrap();
        let a = r.wait_for("rid-2", T).unwrap();
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        assert!(a.response.is_none());
        assert_eq!(r.all_answers().len(), 2);
    }

    #[test]
    fn fail_next_answers_errors_and_counts_attempts() {
        let r = Receiver::start().unwrap();
        r.fail_next(2, 503);
        let url = r.url("rid");
        assert_eq!(request("PUT", &url, &[], &body("rid"), T).unwrap().0, 503);
        assert_eq!(request("PUT", &url, &[], &body("rid"), T).unwrap().0, 503);
        assert!(r.answers("rid").is_empty());
        assert_eq!(request("PUT", &url, &[], &body("rid"), T).unwrap().0, 200);
        assert_eq!(r.attempts("rid"), 3);
        assert_eq!(r.answers("rid").len(), 1);
        assert!(r.wait_for_after("rid", 1, Duration::from_millis(50)).is_none());
        request("PUT", &url, &[], &body("rid"), T).unwrap();
        assert!(r.wait_for_after("rid", 1, T).is_some());
    }

    #[test]
    fn hang_holds_until_released_and_then_answers_again() {
        let r = Receiver::start().unwrap();
        r.set_hang(true);
        let url = r.url("rid");
        let err = request("PUT", &url, &[], &body("rid"), Duration::from_millis(300)).unwrap_err();
        assert!(matches!(err.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut), "{err:?}");
        assert_eq!(r.attempts("rid"), 1);
        assert!(r.wait_for("rid", Duration::from_millis(100)).is_none());
        r.set_hang(false);
        assert_eq!(request("PUT", &url, &[], &body("rid"), T).unwrap().0, 200);
        assert_eq!(r.attempts("rid"), 2);
        assert_eq!(r.answers("rid").len(), 1);
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let r = Receiver::start().unwrap();
        let base = r.url("x").split("/cfn-response/").next().unwrap().to_string();
        assert_eq!(request("PUT", &format!("{base}/elsewhere"), &[], b"", T).unwrap().0, 404);
        assert_eq!(request("GET", &r.url("x"), &[], b"", T).unwrap().0, 405);
        assert_eq!(r.attempts("x"), 0);
    }
}
