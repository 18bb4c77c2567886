//! A stack of N delivery sources, N destinations and N deliveries (source i → destination i),
//! created and deleted the way CloudFormation does: every resource whose dependencies are done
//! at once, each concurrent event in a function process of its own (Lambda runs concurrent events
//! in separate sandboxes). Create: sources and destinations together, then the deliveries; Delete:
//! the deliveries, then sources and destinations together. Used by `tests/parallel_stack.rs` and
//! the bench, against the real-service layer's serialisation of changes ([`crate::serialise`]).

use crate::events::{self, DELIVERY, DESTINATION, SOURCE};
use crate::serialise::UpdateCounts;
use crate::stack::{Function, Stack};
use serde_json::{json, Value};
use std::io;
use std::thread;
use std::time::{Duration, Instant};

/// Events of the shape per width: 2N + N creates, N + 2N deletes.
pub const EVENTS_PER_WIDTH: usize = 6;

/// What one run of the shape gave.
#[derive(Debug)]
pub struct Run {
    /// First event sent → last answer received.
    pub elapsed: Duration,
    /// The proxy's serialisation counts over the run.
    pub counts: UpdateCounts,
    /// The proxy's window during the run.
    pub window: Duration,
    /// Events sent.
    pub events: usize,
    /// Every event not answered SUCCESS exactly once, and everything left in moto afterwards.
    pub problems: Vec<String>,
}

impl Run {
    /// Accepted changes × the window: no schedule of the same changes can take less.
    pub fn floor(&self) -> Duration {
        self.window * u32::try_from(self.counts.accepted).unwrap_or(u32::MAX)
    }

    /// Total time ÷ the serialised floor (`None` with the window off).
    pub fn ratio(&self) -> Option<f64> {
        let floor = self.floor().as_secs_f64();
        (floor > 0.0).then(|| self.elapsed.as_secs_f64() / floor)
    }
}

/// One resource of the stack.
struct Resource {
    kind: &'static str,
    logical_id: String,
    props: Value,
}

fn source_name(label: &str, i: usize) -> String {
    format!("{label}-src-{i}")
}

fn destination_name(label: &str, i: usize) -> String {
    format!("{label}-dst-{i}")
}

/// CloudFront distributions' access logs.
fn sources(label: &str, width: usize) -> Vec<Resource> {
    row(SOURCE, "Src", width, |i| {
        events::source_props(&source_name(label, i), &format!("EPAR{i:04}"), events::team_tags())
    })
}

/// S3 destinations in JSON, each with a policy (so two changes per Create).
fn destinations(label: &str, width: usize) -> Vec<Resource> {
    row(DESTINATION, "Dst", width, |i| {
        events::destination_props(&destination_name(label, i))
    })
}

/// The pairings only: the deliveries' settings are not what the shape is about.
fn deliveries(label: &str, width: usize) -> Vec<Resource> {
    row(DELIVERY, "Dlv", width, |i| {
        events::delivery_props(&source_name(label, i), &destination_name(label, i))
    })
}

/// `width` resources of `kind`, logical ids `<prefix>0…`, with `props(i)`.
fn row(kind: &'static str, prefix: &str, width: usize, props: impl Fn(usize) -> Value) -> Vec<Resource> {
    (0..width)
        .map(|i| Resource {
            kind,
            logical_id: format!("{prefix}{i}"),
            props: props(i),
        })
        .collect()
}

/// The function processes of a run: `2 × width` of them, started on `stack`'s proxy and receiver
/// (its own function is not used), each polling for its first event.
pub fn start_functions(stack: &Stack, width: usize) -> io::Result<Vec<Function>> {
    let functions: Vec<Function> = (0..2 * width)
        .map(|_| stack.start_function())
        .collect::<io::Result<_>>()?;
    for f in &functions {
        if f.runtime.wait_for_poll(1, Duration::from_secs(20)).is_none() {
            return Err(io::Error::other(format!(
                "a function process never polled its Runtime API; its log:\n{}",
                f.log_text()
            )));
        }
    }
    Ok(functions)
}

/// Plays the shape of `width` on `stack` with `functions` (from [`start_functions`]); resource
/// names start with `label`. The proxy's counts are read as they stand before and after.
pub fn run(stack: &Stack, functions: &[Function], width: usize, label: &str) -> Run {
    let mut driver = Driver {
        stack,
        functions,
        request_ids: Vec::new(),
        problems: Vec::new(),
    };
    let independent: Vec<Resource> = sources(label, width)
        .into_iter()
        .chain(destinations(label, width))
        .collect();
    let deliveries = deliveries(label, width);
    let (before, started) = (stack.proxy.update_counts(), Instant::now());
    let ids = driver.step("Create", &independent, None);
    let delivery_ids = driver.step("Create", &deliveries, None);
    driver.step("Delete", &deliveries, Some(&delivery_ids));
    driver.step("Delete", &independent, Some(&ids));
    let elapsed = started.elapsed();
    let after = stack.proxy.update_counts();
    let counts = UpdateCounts {
        accepted: after.accepted - before.accepted,
        refused: after.refused - before.refused,
    };
    driver.check_answered_once();
    driver.problems.extend(left_in_moto(stack));
    Run {
        elapsed,
        counts,
        window: stack.proxy.update_window(),
        events: driver.request_ids.len(),
        problems: driver.problems,
    }
}

struct Driver<'a> {
    stack: &'a Stack,
    functions: &'a [Function],
    request_ids: Vec<(String, String)>,
    problems: Vec<String>,
}

impl Driver<'_> {
    /// Sends the `request_type` event of every resource at once, each to its own function process;
    /// returns each answer's PhysicalResourceId (empty for an event not answered SUCCESS).
    /// `physical_ids`: those of the resources, for Delete.
    fn step(&mut self, request_type: &str, resources: &[Resource], physical_ids: Option<&[String]>) -> Vec<String> {
        let url = self.stack.placeholder_url();
        let events: Vec<Value> = resources
            .iter()
            .enumerate()
            .map(|(i, r)| match physical_ids {
                None => events::create(r.kind, &r.logical_id, r.props.clone(), &url),
                Some(ids) => events::delete(r.kind, &r.logical_id, &ids[i], r.props.clone(), &url),
            })
            .collect();
        let what = |r: &Resource| format!("{request_type} {}", r.logical_id);
        self.request_ids.extend(
            events
                .iter()
                .zip(resources)
                .map(|(e, r)| (what(r), events::request_id(e).unwrap_or_default().to_owned())),
        );
        let (stack, functions) = (self.stack, self.functions);
        let answers: Vec<_> = thread::scope(|s| {
            let sending: Vec<_> = events
                .into_iter()
                .zip(functions)
                .map(|(e, f)| s.spawn(move || stack.send_to(f, e)))
                .collect();
            sending
                .into_iter()
                .map(|t| t.join().expect("a sending thread does not panic"))
                .collect()
        });
        let mut ids = Vec::new();
        for ((invocation, answer), (r, f)) in answers.into_iter().zip(resources.iter().zip(functions)) {
            match answer {
                Some(a) if a.status().as_deref() == Some("SUCCESS") => ids.push(a.physical_id().unwrap_or_default()),
                other => {
                    let answered = other.map_or(format!("no answer ({:?})", invocation.outcome), |a| {
                        format!("{:?}", a.json())
                    });
                    let log = f.log_text();
                    let tail: Vec<&str> = log.lines().rev().take(3).collect();
                    self.problems
                        .push(format!("{}: {answered}; log tail: {}", what(r), tail.join(" | ")));
                    ids.push(String::new());
                }
            }
        }
        ids
    }

    fn check_answered_once(&mut self) {
        for (what, request_id) in &self.request_ids {
            let n = self.stack.receiver.answers(request_id).len();
            if n != 1 {
                self.problems.push(format!("{what}: answered {n} times"));
            }
        }
    }
}

/// Everything moto still holds, as problems.
fn left_in_moto(stack: &Stack) -> Vec<String> {
    let listings = [
        ("DescribeDeliveries", "deliveries", "id"),
        ("DescribeDeliverySources", "deliverySources", "name"),
        ("DescribeDeliveryDestinations", "deliveryDestinations", "name"),
    ];
    listings
        .iter()
        .flat_map(
            |(operation, member, key)| match stack.moto.logs_call(operation, json!({})) {
                (200, body) => body[member]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|item| format!("left in moto: {} {}", member, item[key]))
                    .collect(),
                (status, body) => vec![format!("{operation} answered HTTP {status}: {body}")],
            },
        )
        .collect()
}
