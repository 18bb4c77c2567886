//! The ResponseURL receiver: plays the presigned S3 URL CloudFormation reads answers from.
//!
//! It records every PUT exactly as received (Content-Type, Content-Length, body) so tests can
//! check the rules a real presigned URL enforces, and can fail or hang to test retries.

use crate::http::{respond, Method, Request, Response, Server, Shared};
use aws_lambda_events::event::cloudformation::CloudFormationCustomResourceResponse;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE};
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
}

/// A local ResponseURL endpoint. See [`Receiver::url`].
#[derive(Debug)]
pub struct Receiver {
    server: Server<Inner>,
}

impl Receiver {
    pub fn start() -> io::Result<Receiver> {
        Ok(Receiver {
            server: Server::start(Inner::default(), handle)?,
        })
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
        self.server.update(|i| (i.fail_next, i.fail_status) = (n, status));
    }

    /// While on, PUTs are read and then held without an answer. Turning it off (or dropping the
    /// receiver) closes the held connections unanswered: they count as attempts only.
    pub fn set_hang(&self, hang: bool) {
        self.server.update(|i| i.hang = hang);
    }

    pub fn answers(&self, request_id: &str) -> Vec<Answer> {
        self.server.read(|i| {
            i.answers
                .iter()
                .filter(|a| a.request_id == request_id)
                .cloned()
                .collect()
        })
    }

    pub fn all_answers(&self) -> Vec<Answer> {
        self.server.read(|i| i.answers.clone())
    }

    /// Every PUT for this request id: answered, failed on purpose, or hung.
    pub fn attempts(&self, request_id: &str) -> usize {
        self.server.read(|i| i.attempts.get(request_id).copied().unwrap_or(0))
    }

    /// The first answer for `request_id`, waiting up to `timeout` for it.
    pub fn wait_for(&self, request_id: &str, timeout: Duration) -> Option<Answer> {
        self.wait_for_after(request_id, 0, timeout)
    }

    /// The answer for `request_id` that follows the first `seen` ones, waiting up to `timeout`
    /// (for an event sent again: pass `answers(id).len()` taken before sending it).
    pub fn wait_for_after(&self, request_id: &str, seen: usize, timeout: Duration) -> Option<Answer> {
        self.server.wait(timeout, |i| {
            i.answers
                .iter()
                .filter(|a| a.request_id == request_id)
                .nth(seen)
                .cloned()
        })
    }
}

/// A PUT is an attempt; then it hangs (`None`), fails on purpose, or is recorded as an answer.
async fn handle(state: Arc<Shared<Inner>>, req: Request) -> Option<Response> {
    let Some(request_id) = req.uri().path().strip_prefix(PATH_PREFIX) else {
        return Some(respond(404, &[], "no such key"));
    };
    if req.method() != Method::PUT {
        return Some(respond(405, &[], "PUT only"));
    }
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let answer = state.update(|i| {
        *i.attempts.entry(request_id.to_string()).or_default() += 1;
        if i.hang {
            return None;
        }
        if i.fail_next > 0 {
            i.fail_next -= 1;
            let status = i.fail_status;
            return Some(respond(
                status,
                &[],
                format!("<Error><Code>Injected</Code><Message>injected {status}</Message></Error>"),
            ));
        }
        i.answers.push(Answer {
            request_id: request_id.to_string(),
            target: req.uri().path_and_query().map_or_else(String::new, ToString::to_string),
            content_type: header(CONTENT_TYPE).map(str::to_string),
            content_length_header: header(CONTENT_LENGTH).and_then(|v| v.trim().parse().ok()),
            body: req.body().to_vec(),
            response: parse_answer(req.body()),
            received_at: Instant::now(),
        });
        Some(respond(200, &[], ""))
    });
    if answer.is_none() {
        state.until(|i| (!i.hang).then_some(())).await;
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::request;
    use serde_json::json;

    const T: Duration = Duration::from_secs(5);

    fn put(r: &Receiver, rid: &str, headers: &[(&str, &str)], body: &[u8], timeout: Duration) -> io::Result<u16> {
        request("PUT", &r.url(rid), headers, body, timeout).map(|(status, _, _)| status)
    }

    fn answer(rid: &str) -> Vec<u8> {
        let data = json!({"Arn": "arn:x"});
        json!({"Status": "SUCCESS", "PhysicalResourceId": "p", "StackId": "s", "RequestId": rid, "LogicalResourceId": "L", "Data": data})
            .to_string()
            .into()
    }

    #[test]
    fn records_answers_with_raw_headers() {
        let r = Receiver::start().unwrap();
        assert!(r.url("rid-1").contains(FAKE_SIGNATURE));
        assert_eq!(put(&r, "rid-1", &[], &answer("rid-1"), T).unwrap(), 200);
        let a = r.wait_for("rid-1", T).unwrap();
        assert_eq!(
            (a.content_type.as_deref(), a.content_length_header),
            (None, Some(a.body.len()))
        );
        assert_eq!(
            (a.status().as_deref(), a.data("Arn").as_deref()),
            (Some("SUCCESS"), Some("arn:x"))
        );
        let parsed = a.response.unwrap();
        assert_eq!((parsed.physical_resource_id.as_str(), parsed.no_echo), ("p", false));
        assert!(
            a.target.starts_with("/cfn-response/rid-1?") && a.target.contains("X-Amz-Signature="),
            "{}",
            a.target
        );
        assert_eq!(r.attempts("rid-1"), 1);

        put(&r, "rid-2", &[("Content-Type", "application/json")], b"not json", T).unwrap();
        let a = r.wait_for("rid-2", T).unwrap();
        assert_eq!(
            (a.content_type.as_deref(), a.response.is_none()),
            (Some("application/json"), true)
        );
        assert_eq!(r.all_answers().len(), 2);
    }

    #[test]
    fn hang_holds_until_released_and_then_answers_again() {
        let r = Receiver::start().unwrap();
        r.set_hang(true);
        let err = put(&r, "rid", &[], &answer("rid"), Duration::from_millis(300)).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut, "{err:?}");
        assert_eq!(r.attempts("rid"), 1);
        assert!(r.wait_for("rid", Duration::from_millis(100)).is_none());
        std::thread::scope(|s| {
            let held = s.spawn(|| put(&r, "rid", &[], &answer("rid"), T).unwrap_err().kind());
            r.server.wait(T, |i| (i.attempts["rid"] == 2).then_some(())).unwrap();
            r.set_hang(false);
            assert_eq!(
                held.join().unwrap(),
                io::ErrorKind::UnexpectedEof,
                "closed unanswered when released"
            );
        });
        assert_eq!(
            (
                put(&r, "rid", &[], &answer("rid"), T).unwrap(),
                r.attempts("rid"),
                r.answers("rid").len()
            ),
            (200, 3, 1)
        );
    }

    #[test]
    fn other_paths_and_methods_are_refused() {
        let r = Receiver::start().unwrap();
        assert_eq!(
            request("PUT", &format!("{}/elsewhere", r.server.base_url()), &[], b"", T)
                .unwrap()
                .0,
            404
        );
        assert_eq!(request("GET", &r.url("x"), &[], b"", T).unwrap().0, 405);
        assert_eq!(r.attempts("x"), 0);
    }
}
