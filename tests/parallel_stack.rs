//! A stack of 16 sources, 16 destinations and 16 deliveries, created and
//! deleted the way CloudFormation does (every resource whose dependencies are done at once, one
//! function process per concurrent event: `cfn_local::parallel`), against the real-service layer,
//! which serialises changes to the account's delivery configuration (docs/SERVICE-RULES.md,
//! "Account-wide serialisation"). Every event must be answered SUCCESS exactly once and nothing
//! may be left, also when some changes take effect but lose their answer.

mod common;

use std::time::Duration;

use cfn_local::{parallel, Fault};
use common::*;

/// Sources, destinations and deliveries each.
const WIDTH: usize = 16;
/// How long an accepted change holds the account: short, to keep the test quick (the bench
/// measures the ratio at the layer's default window).
const WINDOW: Duration = Duration::from_millis(50);

#[test]
fn a_parallel_stack_is_created_and_deleted_with_every_event_answered_once() {
    run("parallel", None);
}

/// One change in 20 that takes effect loses its answer (the connection drops): the retry meets
/// "already exists", "tags only on create" or "not found", and the event still succeeds.
#[test]
fn a_parallel_stack_survives_lost_answers() {
    run("lost", Some(20));
}

fn run(label: &str, lose_every: Option<usize>) {
    let stack = start_stack(&[]);
    stack.proxy.set_update_window(WINDOW);
    let functions = parallel::start_functions(&stack, WIDTH).expect("start the function processes");
    if let Some(nth) = lose_every {
        stack.proxy.set_fault(Fault::LoseResponseEvery { nth });
    }
    let run = parallel::run(&stack, &functions, WIDTH, label);
    println!(
        "{label}: {} events in {:.1?}, {} changes accepted and {} refused: {:.2}× the serialised floor ({:.1?})",
        run.events,
        run.elapsed,
        run.counts.accepted,
        run.counts.refused,
        run.ratio().unwrap_or_default(),
        run.floor()
    );
    assert!(
        run.problems.is_empty(),
        "{label}: {} problems:\n{}",
        run.problems.len(),
        run.problems.join("\n")
    );
    assert_eq!(run.events, parallel::EVENTS_PER_WIDTH * WIDTH);
    assert!(
        run.counts.refused > 0,
        "the events overlapped, so some changes were refused: {:?}",
        run.counts
    );
    if let Some(nth) = lose_every {
        assert!(
            run.counts.accepted >= 2 * nth,
            "at least two answers were lost: {:?}",
            run.counts
        );
    }
    for (i, f) in functions.iter().enumerate() {
        scan_log(&format!("parallel_stack::{label}::{i}"), f);
    }
}
