//! `cfn-local bench`: how fast the function starts and answers, how much memory it holds and how
//! big it ships, measured from the emulator side (nothing inside the function is instrumented).
//!
//! - **cold**: N fresh processes, each started with one Create already queued, as Lambda starts a
//!   sandbox for an invocation that is waiting: spawn → first `GET /runtime/invocation/next`
//!   (init), first `/next` → answer PUT received (first event), spawn → answer PUT received (cold
//!   answer, what a stack waits for). Then the process is killed.
//! - **warm**: one process; after one unmeasured Create/Delete pair, M events alternating Create
//!   and Delete of delivery sources (invoke → answer PUT received), then its peak RSS (VmHWM).
//! - **moto's own time**: the function's Logs calls go function → counting proxy → a timing
//!   forwarder → moto; the forwarder adds up how long moto takes to answer each event's calls, so
//!   every event's latency splits into moto's part and the rest (the function, the loopback hops,
//!   the PUT). As a cross-check the harness also times the same calls sent straight to moto, and
//!   a bare loopback PUT to the receiver.
//! - **sizes**: the binary, and the binary zipped as `bootstrap` (what Lambda is given).
//! - **parallel stack**: [`cfn_local::parallel`]'s shape (N sources, N destinations, N deliveries,
//!   created and deleted as CloudFormation does, one process per concurrent event) against the
//!   real-service layer, which serialises changes: total time ÷ the serialised floor (accepted
//!   changes × the window).
//!
//! Logs calls and PUTs per event are counted on the emulator side (proxy and receiver).

use cfn_local::children::scratch_dir;
use cfn_local::events::{self, ACCOUNT, SOURCE};
use cfn_local::http::{self, Server};
use cfn_local::lambda::{check_binary, LambdaProcess};
use cfn_local::logs_proxy::LogsProxy;
use cfn_local::moto::{logs_call_at, Moto};
use cfn_local::parallel;
use cfn_local::real_service::Semantics;
use cfn_local::receiver::Receiver;
use cfn_local::runtime_api::{Invocation, Outcome, RuntimeApi};
use cfn_local::stack::Stack;
use cfn_local::upstream::forward;
use comfy_table::{presets, Table};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const DEFAULT_COLD: usize = 20;
pub const DEFAULT_WARM: usize = 100;
/// The parallel stack's width: 16 sources, destinations and deliveries (tests/parallel_stack.rs's shape).
pub const DEFAULT_PARALLEL: usize = 16;

/// The targets docs/PERFORMANCE.md reports against (reported, not enforced).
const INIT_TARGET: Duration = Duration::from_millis(5);
const COLD_ANSWER_TARGET: Duration = Duration::from_millis(10);
/// First event ≤ this × the warm Create (the same two Logs calls and one PUT).
const FIRST_EVENT_RATIO_TARGET: f64 = 1.3;
const PEAK_RSS_TARGET_KB: u64 = 8 * 1024;
const ZIP_TARGET_BYTES: u64 = 3_900_000;
/// The parallel stack's total time ≤ this × its serialised floor: the account-wide serialisation,
/// not the provider, sets the pace (docs/PERFORMANCE.md, "Parallel stacks").
const PARALLEL_RATIO_TARGET: f64 = 1.5;

const FIRST_POLL_TIMEOUT: Duration = Duration::from_secs(10);
const INVOKE_TIMEOUT: Duration = Duration::from_secs(30);
const ANSWER_GRACE: Duration = Duration::from_secs(2);
const CALL_TIMEOUT: Duration = Duration::from_secs(30);

const LOGICAL_ID: &str = "BenchSource";

#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Fresh processes started (init and first event measured on each).
    pub cold: usize,
    /// Events sent to one long-lived process.
    pub warm: usize,
    /// The parallel stack's width (0: not run).
    pub parallel: usize,
    /// How long the real-service layer holds the account for each accepted change in the
    /// parallel stack.
    pub window: Duration,
}

/// Median and maximum; `None` for no samples. The median of an even count is the mean of the middle two.
fn stats(samples: &[Duration]) -> Option<(Duration, Duration)> {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let max = *sorted.last()?;
    Some((
        if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2
        },
        max,
    ))
}

/// A forwarder in front of moto that records the time moto takes to answer each call (connect,
/// request, response: one loopback round trip plus moto's work); [`take`] takes them.
fn moto_clock(upstream: &str) -> io::Result<Server<Vec<Duration>>> {
    let upstream: Arc<str> = upstream.trim_end_matches('/').into();
    Server::start(Vec::new(), move |calls, req| {
        let upstream = upstream.clone();
        async move {
            let started = Instant::now();
            let response = forward(&upstream, &req).await;
            calls.update(|c| c.push(started.elapsed()));
            Some(response)
        }
    })
}

/// The calls the clock timed since the last `take`.
fn take(clock: &Server<Vec<Duration>>) -> Vec<Duration> {
    clock.update(std::mem::take)
}

/// One event's result, as seen from outside the function.
struct Sent {
    request_id: String,
    queued_at: Instant,
    /// Invocation queued → answer PUT received.
    latency: Option<Duration>,
    /// When the answer PUT was received.
    answered_at: Option<Instant>,
    /// What moto took for each of this event's Logs calls.
    calls: Vec<Duration>,
    problem: Option<String>,
}

/// (latency, moto's share) of each event of one kind.
type Series = Vec<(Duration, Duration)>;

/// The latencies, moto's shares, and the rest (latency − moto's share) of `series`.
fn split(series: &[(Duration, Duration)]) -> [Vec<Duration>; 3] {
    let column = |f: fn(&(Duration, Duration)) -> Duration| series.iter().map(f).collect();
    [
        column(|e| e.0),
        column(|e| e.1),
        column(|(latency, moto)| latency.saturating_sub(*moto)),
    ]
}

/// Everything the run measured.
#[derive(Default)]
struct Results {
    init: Vec<Duration>,
    first_event: Series,
    /// Spawn → first answer received, the event queued before the spawn.
    cold_answer: Vec<Duration>,
    rss_after_first_event_kb: Vec<u64>,
    first_event_calls: BTreeMap<String, usize>,
    first_event_puts: usize,
    rss_after_init_kb: Option<u64>,
    warm_create: Series,
    warm_delete: Series,
    warm_calls: BTreeMap<String, usize>,
    warm_puts: usize,
    peak_rss_kb: Option<u64>,
    /// moto's time per single Logs call made by the function (warm run).
    moto_per_call: Vec<Duration>,
    direct_create: Vec<Duration>,
    direct_delete: Vec<Duration>,
    loopback_put: Vec<Duration>,
    binary_bytes: u64,
    zip: Option<(u64, &'static str)>,
    parallel: Option<parallel::Run>,
    problems: Vec<String>,
}

/// Runs the benchmark against `binary`; `Ok(true)` if every event was answered SUCCESS. The
/// targets are reported, not enforced: timings depend on the machine.
pub fn run(binary: &Path, options: &Options, extra_env: &[(&str, &str)]) -> io::Result<bool> {
    check_binary(binary)?;
    let options = Options {
        warm: options.warm.max(2),
        ..*options
    };
    println!(
        "cfn-local bench: {} ({} cold starts, {} warm events)",
        binary.display(),
        options.cold,
        options.warm
    );
    println!("starting moto, its timing forwarder, the counting Logs proxy and the ResponseURL receiver");
    let moto = Moto::start()?;
    let clock = moto_clock(&moto.endpoint())?;
    // Raw moto semantics: the real-service layer's lookups would go through the clock and count
    // as moto's time, and its reshaping would add to every event; the bench measures the function.
    let proxy = LogsProxy::start_with(&clock.base_url(), Semantics::RawMoto)?;
    let receiver = Receiver::start()?;
    let endpoint = proxy.endpoint();
    let mut env: Vec<(&str, &str)> = vec![
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("CFN_RESPONSE_ALLOWED_HOSTS", "127.0.0.1"),
    ];
    env.extend_from_slice(extra_env);
    // moto imports a service's code on its first call: keep that out of the first cold start.
    for _ in 0..3 {
        direct_pair(&moto.endpoint(), "bench-warm-up", 0)?;
    }
    moto.reset()?;
    let bench = Bench {
        binary,
        env: &env,
        moto: &moto,
        clock: &clock,
        proxy: &proxy,
        receiver: &receiver,
    };

    let mut results = Results {
        binary_bytes: std::fs::metadata(binary)?.len(),
        ..Results::default()
    };
    bench.cold(options.cold, &mut results)?;
    moto.reset()?;
    bench.warm(options.warm, &mut results)?;
    moto.reset()?;
    bench.moto_alone((options.warm / 2).max(10), &mut results)?;
    results.zip = zip_bootstrap(binary)
        .map_err(|e| println!("  could not zip the binary: {e}"))
        .ok();
    if options.parallel > 0 {
        results.parallel = Some(parallel_stack(binary, &options, extra_env)?);
        results.problems.extend(
            results
                .parallel
                .iter()
                .flat_map(|run| run.problems.iter().map(|p| format!("parallel stack: {p}"))),
        );
    }

    print_table(&results, &options);
    let ok = results.problems.is_empty();
    if !ok {
        println!("\nproblems:\n  - {}", results.problems.join("\n  - "));
    }
    println!(
        "\n{}",
        if ok {
            "bench: every event answered SUCCESS"
        } else {
            "bench: SOME EVENTS WERE NOT ANSWERED AS EXPECTED"
        }
    );
    Ok(ok)
}

struct Bench<'a> {
    binary: &'a Path,
    env: &'a [(&'a str, &'a str)],
    moto: &'a Moto,
    clock: &'a Server<Vec<Duration>>,
    proxy: &'a LogsProxy,
    receiver: &'a Receiver,
}

impl Bench<'_> {
    fn cold(&self, runs: usize, r: &mut Results) -> io::Result<()> {
        println!("cold starts: {runs} × (one Create queued, spawn → first /next → answer)");
        for i in 0..runs {
            let (runtime, mut lambda) = (RuntimeApi::start()?, None);
            self.proxy.reset_counts();
            // The invocation is queued first (it waits in the Runtime API, as on Lambda), then the
            // process is started; its first /next gets the event at once.
            let mut sent = self.send(create_event(&format!("bench-cold-{i}"), i), |event| {
                std::thread::scope(|scope| {
                    let invoking = scope.spawn(|| runtime.invoke(event, INVOKE_TIMEOUT));
                    // Time for that thread to queue it (microseconds); measured below either way.
                    std::thread::sleep(Duration::from_millis(2));
                    lambda = Some(LambdaProcess::spawn(self.binary, &runtime.addr(), self.env));
                    invoking.join().expect("the invoking thread does not panic")
                })
            });
            let lambda = lambda.expect("spawned in send")?;
            let Some(first_poll) = runtime.first_poll_at() else {
                return Err(io::Error::other(format!(
                    "the function never polled for an event; its log:\n{}",
                    lambda.log_text()
                )));
            };
            for (op, n) in self.proxy.calls() {
                *r.first_event_calls.entry(op).or_default() += n;
            }
            r.first_event_puts += self.receiver.attempts(&sent.request_id);
            r.rss_after_first_event_kb.extend(lambda.peak_rss_kb());
            r.init.push(first_poll.saturating_duration_since(lambda.started_at));
            if let Some(at) = sent.answered_at {
                r.cold_answer.push(at.saturating_duration_since(lambda.started_at));
                // The event was there before the process asked: its latency runs from that ask
                // (or from the queueing, had the thread been slower than the process).
                sent.latency = Some(at.saturating_duration_since(first_poll.max(sent.queued_at)));
            }
            record(sent, "cold Create", &lambda, &mut r.first_event, &mut r.problems);
        }
        Ok(())
    }

    fn warm(&self, events: usize, r: &mut Results) -> io::Result<()> {
        println!("warm: one process, 1 unmeasured Create/Delete pair, then {events} events (Create/Delete pairs)");
        let runtime = RuntimeApi::start()?;
        let lambda = LambdaProcess::spawn(self.binary, &runtime.addr(), self.env)?;
        if runtime.wait_for_poll(1, FIRST_POLL_TIMEOUT).is_none() {
            let log = lambda.log_text();
            return Err(io::Error::other(format!(
                "the function did not poll for an event within {FIRST_POLL_TIMEOUT:?}; its log:\n{log}"
            )));
        }
        r.rss_after_init_kb = lambda.peak_rss_kb();
        let invoke = |event| runtime.invoke(event, INVOKE_TIMEOUT);
        let mut primer = Series::new();
        record(
            self.send(create_event("bench-primer", 0), invoke),
            "primer Create",
            &lambda,
            &mut primer,
            &mut r.problems,
        );
        record(
            self.send(delete_event("bench-primer"), invoke),
            "primer Delete",
            &lambda,
            &mut primer,
            &mut r.problems,
        );
        self.proxy.reset_counts();
        for i in 0..events {
            let name = format!("bench-warm-{}", i / 2);
            let (event, what, into) = if i % 2 == 0 {
                (create_event(&name, i / 2), "warm Create", &mut r.warm_create)
            } else {
                (delete_event(&name), "warm Delete", &mut r.warm_delete)
            };
            let sent = self.send(event, invoke);
            r.moto_per_call.extend(&sent.calls);
            r.warm_puts += self.receiver.attempts(&sent.request_id);
            record(sent, what, &lambda, into, &mut r.problems);
        }
        r.warm_calls = self.proxy.calls();
        r.peak_rss_kb = lambda.peak_rss_kb();
        Ok(())
    }

    /// The calls a warm Create (Get → not found, Put) and Delete (Get, Delete) make, sent by the
    /// harness straight to moto; and a bare PUT to the receiver.
    fn moto_alone(&self, pairs: usize, r: &mut Results) -> io::Result<()> {
        println!("cross-check: {pairs} × the same Logs calls sent straight to moto; {pairs} bare loopback PUTs");
        for i in 0..pairs {
            let (create, delete) = direct_pair(&self.moto.endpoint(), &format!("bench-direct-{i}"), i)?;
            r.direct_create.push(create);
            r.direct_delete.push(delete);
        }
        let body = answer_like_body();
        for i in 0..pairs {
            let started = Instant::now();
            let (status, _, _) = http::request(
                "PUT",
                &self.receiver.url(&format!("bench-put-{i}")),
                &[],
                &body,
                CALL_TIMEOUT,
            )?;
            r.loopback_put.push(started.elapsed());
            if status != 200 {
                return Err(io::Error::other(format!("loopback PUT answered HTTP {status}")));
            }
        }
        Ok(())
    }

    /// Sends one event through `invoke` (its ResponseURL pointed at the receiver), waits for its
    /// answer and checks it; with moto's time per Logs call meanwhile.
    fn send(&self, mut event: Value, invoke: impl FnOnce(Value) -> Invocation) -> Sent {
        let wants_arn = event["RequestType"] == "Create";
        let request_id = events::ensure_request_id(&mut event);
        take(self.clock);
        let invocation = invoke(events::with_response_url(event, &self.receiver.url(&request_id)));
        let answer = self.receiver.wait_for(&request_id, ANSWER_GRACE);
        let answered_at = answer.as_ref().map(|a| a.received_at);
        let problem = match (&invocation.outcome, &answer) {
            (_, None) => Some(format!("no answer (invocation: {:?})", invocation.outcome)),
            (Outcome::Response(_), Some(a)) if a.status().as_deref() == Some("SUCCESS") => {
                (wants_arn && a.data("Arn").is_none()).then(|| "SUCCESS without Data.Arn".to_string())
            }
            (outcome, Some(a)) => {
                let (status, reason) = (a.status().unwrap_or_else(|| "?".into()), a.reason().unwrap_or_default());
                Some(format!("answered {status} ({reason}), invocation {outcome:?}"))
            }
        };
        let latency = answered_at.map(|at| at.saturating_duration_since(invocation.sent_at));
        Sent {
            request_id,
            queued_at: invocation.sent_at,
            latency,
            answered_at,
            calls: take(self.clock),
            problem,
        }
    }
}

/// The parallel shape on a stack of its own, against the real-service layer with `options.window`.
fn parallel_stack(binary: &Path, options: &Options, extra_env: &[(&str, &str)]) -> io::Result<parallel::Run> {
    let width = options.parallel;
    println!(
        "parallel stack: {width} sources, destinations and deliveries created and deleted as CloudFormation does, {} function \
         processes, changes serialised with a {} window",
        2 * width,
        ms(options.window)
    );
    let stack = Stack::start_with(binary, extra_env, Semantics::RealService)?;
    stack.proxy.set_update_window(options.window);
    let functions = parallel::start_functions(&stack, width)?;
    Ok(parallel::run(&stack, &functions, width, "bench"))
}

fn record(sent: Sent, what: &str, lambda: &LambdaProcess, into: &mut Series, problems: &mut Vec<String>) {
    match (sent.problem, sent.latency) {
        (None, Some(latency)) => into.push((latency, sent.calls.iter().sum())),
        (problem, _) => {
            let log = lambda.log_text();
            let lines: Vec<&str> = log.lines().collect();
            let tail = lines[lines.len().saturating_sub(5)..].join(" | ");
            problems.push(format!(
                "{what}: {}; function log tail: {tail}",
                problem.unwrap_or_default()
            ));
        }
    }
}

const PENDING: &str = "http://127.0.0.1:9/cfn-response/pending";

fn source_props(name: &str, n: usize) -> Value {
    events::source_props(name, &format!("EBENCH{n:08}"), events::team_tags())
}

fn create_event(name: &str, n: usize) -> Value {
    events::create(SOURCE, LOGICAL_ID, source_props(name, n), PENDING)
}

fn delete_event(name: &str) -> Value {
    events::delete(SOURCE, LOGICAL_ID, name, source_props(name, 0), PENDING)
}

/// The calls of a warm Create (Get → not found, Put) and Delete (Get, Delete), as the function
/// makes them (its PutDeliverySource carries the ownership tags), timed from the harness: (Create's
/// two calls, Delete's two).
fn direct_pair(endpoint: &str, name: &str, n: usize) -> io::Result<(Duration, Duration)> {
    let get = json!({"name": name});
    let put = json!({
        "name": name,
        "resourceArn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/EBENCH{n:08}"),
        "logType": "ACCESS_LOGS",
        "tags": {"team": "platform", "cfn-logs-delivery:stack-id": events::STACK_ID, "cfn-logs-delivery:logical-id": LOGICAL_ID},
    });
    let call = |operation: &str, body: &Value, want: u16| {
        let started = Instant::now();
        match logs_call_at(endpoint, operation, body)? {
            (status, _) if status == want => Ok(started.elapsed()),
            (status, body) => Err(io::Error::other(format!(
                "{operation} answered HTTP {status}, expected {want}: {body}"
            ))),
        }
    };
    let create = call("GetDeliverySource", &get, 400)? + call("PutDeliverySource", &put, 200)?;
    Ok((
        create,
        call("GetDeliverySource", &get, 200)? + call("DeleteDeliverySource", &get, 200)?,
    ))
}

/// A body the size of a real Create answer.
fn answer_like_body() -> Vec<u8> {
    json!({
        "Status": "SUCCESS", "PhysicalResourceId": "bench-warm-0", "StackId": events::STACK_ID,
        "RequestId": uuid::Uuid::new_v4().to_string(), "LogicalResourceId": LOGICAL_ID, "NoEcho": false,
        "Data": {
            "Arn": format!("arn:aws:logs:us-east-1:{ACCOUNT}:delivery-source:bench-warm-0"), "Name": "bench-warm-0",
            "Service": "cloudfront", "LogType": "ACCESS_LOGS",
            "ResourceArn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/EBENCH00000000"),
        },
    })
    .to_string()
    .into_bytes()
}

/// Zips the binary as `bootstrap` (what a `provided.al2023` function is given); returns the zip
/// size and the tool used. The `zip` CLI when present, else Python's zipfile module with deflate
/// (`python3 -m zipfile -c` would store the file uncompressed and overstate the size).
pub fn zip_bootstrap(binary: &Path) -> io::Result<(u64, &'static str)> {
    let dir = scratch_dir("bench-zip")?;
    std::fs::copy(binary, dir.path().join("bootstrap"))?;
    let run = |program: &str, args: &[&str]| Command::new(program).args(args).current_dir(dir.path()).status();
    let tool = match run("zip", &["-q", "-X", "bootstrap.zip", "bootstrap"]) {
        Ok(s) if s.success() => "zip CLI, deflate level 6",
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let script = "import sys, zipfile\n\
                          with zipfile.ZipFile(sys.argv[1], 'w', zipfile.ZIP_DEFLATED) as z:\n    z.write(sys.argv[2], 'bootstrap')";
            match run("python3", &["-c", script, "bootstrap.zip", "bootstrap"])? {
                s if s.success() => "python3 zipfile module, deflate (no zip CLI)",
                s => return Err(io::Error::other(format!("python3 zipfile exited with {s}"))),
            }
        }
        Ok(s) => return Err(io::Error::other(format!("zip exited with {s}"))),
        Err(e) => return Err(e),
    };
    Ok((std::fs::metadata(dir.path().join("bootstrap.zip"))?.len(), tool))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn mb_kb(kb: Option<u64>) -> String {
    kb.map_or("-".into(), |kb| format!("{:.1} MB", kb as f64 / 1024.0))
}

fn mb_bytes(bytes: u64) -> String {
    format!("{:.2} MB", bytes as f64 / 1_000_000.0)
}

fn verdict(met: bool) -> &'static str {
    ["NOT met", "met"][usize::from(met)]
}

fn print_table(r: &Results, options: &Options) {
    let median = |v: &[Duration]| stats(v).map(|s| s.0);
    let [first, first_moto, first_rest] = split(&r.first_event);
    let [warm, warm_moto, warm_rest] = split(&[&r.warm_create[..], &r.warm_delete[..]].concat());
    let [[create, ..], [delete, ..]] = [split(&r.warm_create), split(&r.warm_delete)];
    let first_note = match (median(&first), median(&create)) {
        (Some(first), Some(warm)) => {
            let ratio = first.as_secs_f64() / warm.as_secs_f64();
            format!(
                "a Create: {ratio:.2}× the warm Create, ≤ {FIRST_EVENT_RATIO_TARGET}×: {}",
                verdict(ratio <= FIRST_EVENT_RATIO_TARGET)
            )
        }
        _ => "a Create".into(),
    };
    // The bound on a warm event's overhead: one Logs round trip and one PUT above moto's own time.
    let budget = median(&r.moto_per_call)
        .zip(median(&r.loopback_put))
        .map(|(call, put)| call + put);
    let overhead_note = match (median(&warm_rest), budget) {
        (Some(o), Some(b)) => format!("≤ one Logs call + one PUT ({}) median: {}", ms(b), verdict(o <= b)),
        _ => String::new(),
    };
    let target = |samples: &[Duration], target: Duration| {
        format!(
            "≤ {} median: {}",
            ms(target),
            verdict(median(samples).is_some_and(|m| m <= target))
        )
    };
    let timing = |label: &str, samples: &[Duration], note: String| match stats(samples) {
        Some((median, max)) => [label.to_string(), ms(median), ms(max), samples.len().to_string(), note],
        None => [label.to_string(), "-".into(), "-".into(), "0".into(), note],
    };
    let value =
        |label: &str, value: String, n: String, note: String| [label.to_string(), value, String::new(), n, note];
    let mut first_rss = r.rss_after_first_event_kb.clone();
    first_rss.sort_unstable();
    let first_rss_median = first_rss.get(first_rss.len().saturating_sub(1) / 2).copied();
    let rss_note = format!(
        "≤ {}: {}",
        mb_kb(Some(PEAK_RSS_TARGET_KB)),
        verdict(r.peak_rss_kb.is_some_and(|kb| kb <= PEAK_RSS_TARGET_KB))
    );
    let zip_note = r.zip.map_or("zip failed".into(), |(bytes, tool)| {
        format!(
            "≤ {}: {} ({bytes} bytes, {tool})",
            mb_bytes(ZIP_TARGET_BYTES),
            verdict(bytes <= ZIP_TARGET_BYTES)
        )
    });
    let mut rows = vec![
        timing("init (spawn → first /next)", &r.init, target(&r.init, INIT_TARGET)),
        timing(
            "cold answer (spawn → answer PUT)",
            &r.cold_answer,
            target(&r.cold_answer, COLD_ANSWER_TARGET),
        ),
        timing("first event (first /next → answer PUT)", &first, first_note),
        timing("  of which moto", &first_moto, String::new()),
        timing("  the rest (function, hops, PUT)", &first_rest, String::new()),
        timing(
            "warm event (invoke → answer PUT)",
            &warm,
            "Create / Delete pairs".into(),
        ),
        timing("  Create (Get + Put)", &create, String::new()),
        timing("  Delete (Get + Delete)", &delete, String::new()),
        timing("  of which moto", &warm_moto, "timed between proxy and moto".into()),
        timing("  the rest (function, hops, PUT)", &warm_rest, overhead_note),
        timing("moto: one Logs call", &r.moto_per_call, "the function's calls".into()),
        timing(
            "moto direct: Create's 2 calls",
            &r.direct_create,
            "cross-check: harness → moto".into(),
        ),
        timing(
            "moto direct: Delete's 2 calls",
            &r.direct_delete,
            "cross-check: harness → moto".into(),
        ),
        timing("loopback PUT (harness → receiver)", &r.loopback_put, String::new()),
        value(
            "peak RSS after init",
            mb_kb(r.rss_after_init_kb),
            "1".into(),
            String::new(),
        ),
        [
            "peak RSS after 1 event (cold runs)".into(),
            mb_kb(first_rss_median),
            mb_kb(first_rss.last().copied()),
            first_rss.len().to_string(),
            String::new(),
        ],
        value(
            &format!("peak RSS (VmHWM) after {} warm events", options.warm),
            mb_kb(r.peak_rss_kb),
            "1".into(),
            rss_note,
        ),
        value(
            "binary size",
            mb_bytes(r.binary_bytes),
            String::new(),
            format!("{} bytes", r.binary_bytes),
        ),
        value(
            "bootstrap zip",
            r.zip.map_or("-".into(), |(bytes, _)| mb_bytes(bytes)),
            String::new(),
            zip_note,
        ),
    ];
    if let Some(run) = &r.parallel {
        rows.push(parallel_row(run, options.parallel));
    }
    for (what, calls, puts, events, n) in [
        ("warm", &r.warm_calls, r.warm_puts, options.warm, warm.len()),
        (
            "first",
            &r.first_event_calls,
            r.first_event_puts,
            options.cold,
            options.cold,
        ),
    ] {
        let per_event = |count: usize| format!("{:.2}", count as f64 / events.max(1) as f64);
        let detail: Vec<String> = calls.iter().map(|(op, n)| format!("{op} {n}")).collect();
        rows.push(value(
            &format!("Logs calls per {what} event"),
            per_event(calls.values().sum()),
            n.to_string(),
            detail.join(", "),
        ));
        rows.push(value(
            &format!("PUTs per {what} event"),
            per_event(puts),
            events.to_string(),
            "receiver attempts".into(),
        ));
    }
    // Markdown: docs/PERFORMANCE.md quotes it.
    let mut table = Table::new();
    table
        .load_style(presets::ASCII_MARKDOWN)
        .set_header(["metric", "median", "max", "n", "target / notes"])
        .add_rows(rows);
    println!("\n{table}");
}

/// Total time and its ratio to the serialised floor.
fn parallel_row(run: &parallel::Run, width: usize) -> [String; 5] {
    let ratio = run.ratio().unwrap_or(f64::INFINITY);
    let note = format!(
        "÷ serialised floor ({} changes × {} = {}): {ratio:.2}×, ≤ {PARALLEL_RATIO_TARGET}×: {}; {} changes refused",
        run.counts.accepted,
        ms(run.window),
        secs(run.floor()),
        verdict(ratio <= PARALLEL_RATIO_TARGET),
        run.counts.refused
    );
    [
        format!("parallel stack {width}×3 (create + delete)"),
        secs(run.elapsed),
        String::new(),
        run.events.to_string(),
        note,
    ]
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_max() {
        let d = Duration::from_millis;
        assert_eq!(stats(&[]), None);
        assert_eq!(stats(&[d(5), d(1), d(3)]), Some((d(3), d(5))));
        assert_eq!(stats(&[d(4), d(1), d(2), d(10)]), Some((d(3), d(10))));
    }

    #[test]
    fn overhead_is_latency_minus_moto() {
        let d = Duration::from_millis;
        assert_eq!(
            split(&[(d(7), d(4)), (d(3), d(5))]),
            [vec![d(7), d(3)], vec![d(4), d(5)], vec![d(3), d(0)]]
        );
    }

    #[test]
    fn zips_a_file_as_bootstrap() {
        let dir = scratch_dir("test").unwrap();
        let file = dir.path().join("some-binary");
        std::fs::write(&file, vec![b'a'; 100_000]).unwrap();
        let (bytes, tool) = zip_bootstrap(&file).unwrap();
        assert!(bytes > 0 && bytes < 10_000, "{bytes} bytes with {tool}");
    }

    #[test]
    fn the_clock_times_forwarded_calls() {
        let upstream = Server::start((), |_, _| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Some(http::respond(200, &[], "ok"))
        })
        .unwrap();
        let clock = moto_clock(&upstream.base_url()).unwrap();
        let (status, _, body) =
            http::request("POST", &format!("{}/x", clock.base_url()), &[], b"{}", CALL_TIMEOUT).unwrap();
        assert_eq!((status, body.as_slice()), (200, b"ok".as_slice()));
        let calls = take(&clock);
        assert_eq!(calls.len(), 1);
        assert!(calls[0] >= Duration::from_millis(20), "{calls:?}");
        assert!(take(&clock).is_empty());
    }

    #[test]
    fn events_are_realistic() {
        let c = create_event("bench-x", 3);
        assert_eq!(c["RequestType"], "Create");
        assert_eq!(c["ResourceProperties"]["Name"], "bench-x");
        let d = delete_event("bench-x");
        assert_eq!(d["PhysicalResourceId"], "bench-x");
    }
}
