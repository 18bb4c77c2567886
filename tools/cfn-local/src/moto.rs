//! moto_server as the local CloudWatch Logs: one private instance per `Moto`, killed on drop.

use crate::children::Process;
use crate::http;
use serde_json::{json, Value};
use std::io;
use std::net::TcpListener;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// moto's account for any access key it did not hand out itself (the function's own keys).
pub const DEFAULT_ACCOUNT: &str = "123456789012";
/// The access key of [`logs_call_at`]: not one moto handed out, so [`DEFAULT_ACCOUNT`]'s.
pub const DEFAULT_ACCESS_KEY: &str = "testing";
/// The region of [`logs_call_at`].
pub const DEFAULT_REGION: &str = "us-east-1";
/// moto reads this header before the access key to pick the account (moto/core/responses.py,
/// `get_current_account`): how the harness acts in an account without keys of it.
pub const ACCOUNT_HEADER: &str = "x-moto-account-id";
const FORM: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// An `Authorization` header as SigV4 shapes it, with a dummy signature: moto picks service and
/// region from the credential scope and the account from the access key; it checks no signature.
pub fn authorization(access_key: &str, region: &str, service: &str) -> String {
    format!("AWS4-HMAC-SHA256 Credential={access_key}/20260101/{region}/{service}/aws4_request, SignedHeaders=host, Signature=0")
}

/// A running moto_server on a free loopback port; pid, log_text, … are [`Process`]'s.
#[derive(Debug)]
pub struct Moto {
    process: Process,
    port: u16,
}

impl Deref for Moto {
    type Target = Process;
    fn deref(&self) -> &Process {
        &self.process
    }
}

/// Where moto_server is: `$MOTO_SERVER` (if set, only there), else `.venv/bin/moto_server` in this crate's or the
/// current dir's ancestors, else `moto_server` on PATH.
pub fn find_moto_server() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MOTO_SERVER").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let starts = [
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR"))),
        std::env::current_dir().ok(),
    ];
    let venvs: Vec<PathBuf> = starts
        .iter()
        .flatten()
        .flat_map(|s| s.ancestors().map(|d| d.join(".venv/bin")))
        .collect();
    let path = std::env::var_os("PATH").unwrap_or_default();
    venvs
        .into_iter()
        .chain(std::env::split_paths(&path))
        .map(|d| d.join("moto_server"))
        .find(|p| p.is_file())
}

/// A port that was free a moment ago (moto binds it itself).
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Moto {
    /// Starts moto_server and waits until it answers. `ErrorKind::NotFound` if it is not installed.
    pub fn start() -> io::Result<Moto> {
        let server = find_moto_server().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "moto_server not found: set MOTO_SERVER, or create .venv with `pip install 'moto[server]==5.2.5'`",
            )
        })?;
        // Up to three attempts: another process may take the port before moto binds it.
        (1..3).fold(Moto::start_at(&server), |started, _| {
            started.or_else(|_| Moto::start_at(&server))
        })
    }

    fn start_at(server: &Path) -> io::Result<Moto> {
        let port = free_port()?;
        let mut cmd = Command::new(server);
        // moto needs none of the caller's AWS settings, and some break it: with AWS_PROFILE naming a
        // profile this machine lacks, every call answers HTTP 500.
        for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("AWS_")) {
            cmd.env_remove(key);
        }
        let moto = Moto {
            process: Process::spawn(cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]), "moto_server")?,
            port,
        };
        let started = Instant::now();
        while started.elapsed() < STARTUP_TIMEOUT {
            if let Some(status) = moto.exit_status() {
                return Err(io::Error::other(format!(
                    "moto_server exited ({status}) during startup:\n{}",
                    moto.log_text()
                )));
            }
            let url = format!("{}/moto-api/", moto.endpoint());
            if let Ok((200, _, _)) = http::request("GET", &url, &[], b"", Duration::from_secs(2)) {
                return Ok(moto);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "moto_server did not answer within {STARTUP_TIMEOUT:?}:\n{}",
                moto.log_text()
            ),
        ))
    }

    /// `http://127.0.0.1:PORT`, the value for `AWS_ENDPOINT_URL`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Forgets all state (every service, every region).
    pub fn reset(&self) -> io::Result<()> {
        let url = format!("{}/moto-api/reset", self.endpoint());
        match http::request("POST", &url, &[], b"", CALL_TIMEOUT)? {
            (200, _, _) => Ok(()),
            (status, _, body) => Err(io::Error::other(format!(
                "moto reset answered {status}: {}",
                String::from_utf8_lossy(&body)
            ))),
        }
    }

    /// Creates IAM role `name` in `account` (moto's IAM, directly) whose trust policy lets
    /// `trusted_account` (its root, so any principal of it) assume it, on the condition
    /// `sts:ExternalId` = `external_id` when given. Returns the role's ARN.
    pub fn create_role(
        &self,
        account: &str,
        name: &str,
        trusted_account: &str,
        external_id: Option<&str>,
    ) -> io::Result<String> {
        let mut statement = json!({"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": format!("arn:aws:iam::{trusted_account}:root")}});
        if let Some(id) = external_id {
            statement["Condition"] = json!({"StringEquals": {"sts:ExternalId": id}});
        }
        let trust = json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
        self.create_role_with_trust(account, name, &trust)
    }

    /// Creates IAM role `name` in `account` with this trust policy (a JSON document). Returns its ARN.
    pub fn create_role_with_trust(&self, account: &str, name: &str, trust_policy: &str) -> io::Result<String> {
        let params = [
            ("Action", "CreateRole"),
            ("Version", "2010-05-08"),
            ("RoleName", name),
            ("AssumeRolePolicyDocument", trust_policy),
        ];
        match query_call_at(&self.endpoint(), &QueryCaller::in_account(account), "iam", &params)? {
            (200, xml) => xml_field(&xml, "Arn")
                .ok_or_else(|| io::Error::other(format!("CreateRole answered without an Arn: {xml}"))),
            (status, xml) => Err(io::Error::other(format!(
                "CreateRole {name} in {account} answered {status}: {xml}"
            ))),
        }
    }

    /// Calls the Logs JSON API directly, e.g. `logs_call("DescribeDeliverySources", json!({}))`.
    /// Returns the HTTP status and the JSON body (`Null` if empty, a string if not JSON).
    /// Panics if moto cannot be reached: meant for tests and checks.
    pub fn logs_call(&self, target: &str, body: Value) -> (u16, Value) {
        logs_call_at(&self.endpoint(), target, &body).unwrap_or_else(|e| panic!("moto call {target} failed: {e}"))
    }
}

/// One Logs JSON API call to `endpoint` (moto, or a proxy in front of it), signed as moto expects
/// (credential scope us-east-1/logs, key [`DEFAULT_ACCESS_KEY`]; the signature itself is not checked).
pub fn logs_call_at(endpoint: &str, target: &str, body: &Value) -> io::Result<(u16, Value)> {
    logs_call_as_at(endpoint, DEFAULT_REGION, DEFAULT_ACCESS_KEY, target, body)
}

/// [`logs_call_at`] signed for `region` with `access_key`: what a client of that region with
/// those credentials sends (moto keeps state per region and per the key's account).
pub fn logs_call_as_at(
    endpoint: &str,
    region: &str,
    access_key: &str,
    target: &str,
    body: &Value,
) -> io::Result<(u16, Value)> {
    let (amz_target, authorization) = (
        format!("Logs_20140328.{target}"),
        authorization(access_key, region, "logs"),
    );
    let headers = [
        ("X-Amz-Target", amz_target.as_str()),
        ("Content-Type", "application/x-amz-json-1.1"),
        ("Authorization", authorization.as_str()),
    ];
    let (status, _, bytes) = http::request(
        "POST",
        &format!("{endpoint}/"),
        &headers,
        body.to_string().as_bytes(),
        CALL_TIMEOUT,
    )?;
    Ok((status, parse_json_lenient(&bytes)))
}

/// Who makes a query-protocol call: region and access key of its signature, or an account moto
/// is told outright ([`ACCOUNT_HEADER`]).
#[derive(Clone, Debug)]
pub struct QueryCaller {
    pub region: String,
    pub access_key: String,
    pub account: Option<String>,
}

impl QueryCaller {
    /// Signed with `access_key` for `region`.
    pub fn new(region: &str, access_key: &str) -> QueryCaller {
        QueryCaller {
            region: region.to_string(),
            access_key: access_key.to_string(),
            account: None,
        }
    }

    /// Acting in `account` (us-east-1, the default key).
    pub fn in_account(account: &str) -> QueryCaller {
        QueryCaller {
            account: Some(account.to_string()),
            ..QueryCaller::new(DEFAULT_REGION, DEFAULT_ACCESS_KEY)
        }
    }
}

/// One call of a query-protocol API (STS, IAM: a form body with `Action`, XML answers) to
/// `endpoint`. Returns the HTTP status and the body text.
pub fn query_call_at(
    endpoint: &str,
    caller: &QueryCaller,
    service: &str,
    params: &[(&str, &str)],
) -> io::Result<(u16, String)> {
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let authorization = authorization(&caller.access_key, &caller.region, service);
    let mut headers = vec![("Content-Type", FORM), ("Authorization", authorization.as_str())];
    headers.extend(caller.account.as_deref().map(|account| (ACCOUNT_HEADER, account)));
    let (status, _, bytes) = http::request("POST", &format!("{endpoint}/"), &headers, body.as_bytes(), CALL_TIMEOUT)?;
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// The text of the first element named `tag` in an XML answer (`AccessKeyId`, `Code`, …).
pub fn xml_field(xml: &str, tag: &str) -> Option<String> {
    let doc = roxmltree::Document::parse(xml).ok()?;
    let text = doc.descendants().find(|n| n.has_tag_name(tag))?.text()?.to_string();
    Some(text)
}

/// `Null` for an empty body, the JSON if it parses, else the text as a JSON string.
pub fn parse_json_lenient(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The only test that needs moto; skipped (passes with a message) when it is not installed.
    #[test]
    fn moto_starts_answers_logs_calls_resets_and_stops() {
        if find_moto_server().is_none() {
            eprintln!("SKIPPED: moto_server not found (set MOTO_SERVER, or run ./scripts/demo once: it installs moto into .venv)");
            return;
        }
        let moto = Moto::start().expect("start moto");
        let pid = moto.pid();
        let put = json!({"name": "t-dest", "deliveryDestinationConfiguration": {"destinationResourceArn": "arn:aws:s3:::bucket-t"}});
        assert_eq!(moto.logs_call("PutDeliveryDestination", put).0, 200);
        let (status, body) = moto.logs_call("DescribeDeliveryDestinations", json!({}));
        assert_eq!(status, 200);
        assert_eq!(body["deliveryDestinations"].as_array().map(Vec::len), Some(1));

        moto.reset().unwrap();
        let (_, body) = moto.logs_call("DescribeDeliveryDestinations", json!({}));
        assert_eq!(body["deliveryDestinations"].as_array().map(Vec::len), Some(0));

        drop(moto);
        let alive = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| !s.contains(") Z "))
            .unwrap_or(false);
        assert!(!alive, "moto_server {pid} still running after drop");
    }
}
