//! `cfn-local`: run cfn-logs-delivery locally as Lambda and CloudFormation would.

mod bench;
mod demo;
mod replay;

use cfn_local::{children, lambda, Semantics};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Run cfn-logs-delivery locally as Lambda and CloudFormation would: a Lambda Runtime API drives
/// the binary, moto plays CloudWatch Logs, a local receiver plays the ResponseURL.
#[derive(Parser)]
#[command(
    after_help = "moto answers like the real CloudWatch Logs (no tags in Get*, in-use deletes refused, ...) unless \
--raw-moto or CFN_LOCAL_LOGS=moto. RUST_LOG, if set, is passed to the function. moto_server: $MOTO_SERVER, .venv/bin, or \
PATH. CFN_LOCAL_KEEP=1 keeps the logs of moto and the function."
)]
struct Cli {
    /// The function binary ($CFN_LOGS_DELIVERY_BIN, else release/cfn-logs-delivery in the target dir of this cfn-local)
    #[arg(long, global = true, value_name = "PATH", default_value_os_t = lambda::release_binary())]
    binary: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the example stack's life, then a provider killed mid-event
    Demo {
        /// moto's own answers, not the real service's
        #[arg(long)]
        raw_moto: bool,
    },
    /// Replay CloudFormation event files (a directory: its *.json, in lifecycle order)
    Invoke {
        /// moto's own answers, not the real service's
        #[arg(long)]
        raw_moto: bool,
        #[arg(required = true, value_name = "FILE|DIR")]
        paths: Vec<PathBuf>,
    },
    /// Cold start, latency, memory and size (against raw moto), then a parallel stack against the real-service layer
    Bench {
        /// Fresh processes started, one event each
        #[arg(long, value_name = "N", default_value_t = bench::DEFAULT_COLD)]
        cold: usize,
        /// Events sent to one process
        #[arg(long, value_name = "M", default_value_t = bench::DEFAULT_WARM)]
        warm: usize,
        /// Sources, destinations and deliveries of the parallel stack (0: skip it)
        #[arg(long, value_name = "N", default_value_t = bench::DEFAULT_PARALLEL)]
        parallel: usize,
        /// How long the real-service layer holds the account for each accepted change
        #[arg(long, value_name = "MS", default_value_t = cfn_local::serialise::DEFAULT_WINDOW.as_millis() as u64)]
        window_ms: u64,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Destructors do not run on a signal: stop moto and the function, and remove the scratch
    // root (every scratch dir is in it), explicitly.
    let _ = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: stopping child processes");
        cfn_local::cleanup_all();
        std::process::exit(130);
    });
    let rust_log = std::env::var("RUST_LOG").ok();
    let env: Vec<(&str, &str)> = rust_log.iter().map(|v| ("RUST_LOG", v.as_str())).collect();
    let semantics = |raw_moto: bool| {
        if raw_moto {
            Ok(Semantics::RawMoto)
        } else {
            Semantics::from_env()
        }
    };
    let result = children::scratch_root().and_then(|_root| match &cli.command {
        Command::Demo { raw_moto } => demo::run(&cli.binary, &env, semantics(*raw_moto)?),
        Command::Invoke { raw_moto, paths } => replay::run(&cli.binary, paths, &env, semantics(*raw_moto)?),
        Command::Bench {
            cold,
            warm,
            parallel,
            window_ms,
        } => {
            let options = bench::Options {
                cold: *cold,
                warm: *warm,
                parallel: *parallel,
                window: Duration::from_millis(*window_ms),
            };
            bench::run(&cli.binary, &options, &env)
        }
    });
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("cfn-local: {e}");
            ExitCode::from(2)
        }
    }
}
