//! `cfn-local`: run cfn-logs-delivery locally as Lambda and CloudFormation would.

use cfn_local::{bench, demo, lambda, replay, Semantics};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage:
  cfn-local demo   [--binary PATH] [--raw-moto]              play the example stack's life against moto
  cfn-local invoke [--binary PATH] [--raw-moto] FILE|DIR...  replay CloudFormation event files
  cfn-local bench  [--binary PATH] [--cold N] [--warm M]
                                                             cold start, latency, memory and size (defaults: 20 cold, 100 warm)

--binary defaults to $CFN_LOGS_DELIVERY_BIN, else release/cfn-logs-delivery in this cfn-local's own target dir.
moto answers like the real CloudWatch Logs (no tags in Get*, in-use deletes refused, ...);
--raw-moto (or CFN_LOCAL_LOGS=moto) gives moto's own answers. bench always uses raw moto.
RUST_LOG, if set, is passed to the function. moto_server: $MOTO_SERVER, .venv/bin, or PATH.";

/// Command-line options shared by the subcommands.
struct Options {
    binary: PathBuf,
    rest: Vec<PathBuf>,
    /// `--cold` / `--warm` (bench only).
    cold: Option<usize>,
    warm: Option<usize>,
    /// `--raw-moto` (demo and invoke).
    raw_moto: bool,
}

fn count(flag: &str, value: Option<&String>) -> Result<usize, String> {
    value.and_then(|v| v.parse().ok()).ok_or_else(|| format!("{flag} needs a number"))
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut binary = None;
    let mut rest = Vec::new();
    let (mut cold, mut warm) = (None, None);
    let mut raw_moto = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--binary" => binary = Some(PathBuf::from(it.next().ok_or("--binary needs a path")?)),
            s if s.starts_with("--binary=") => binary = Some(PathBuf::from(&s["--binary=".len()..])),
            "--cold" => cold = Some(count("--cold", it.next())?),
            "--warm" => warm = Some(count("--warm", it.next())?),
            "--raw-moto" => raw_moto = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s}")),
            s => rest.push(PathBuf::from(s)),
        }
    }
    Ok(Options { binary: binary.unwrap_or_else(lambda::release_binary), rest, cold, warm, raw_moto })
}

fn main() -> ExitCode {
    // Destructors do not run on a signal: stop moto and the function explicitly.
    let _ = ctrlc::set_handler(|| {
        eprintln!("\ninterrupted: stopping child processes");
        cfn_local::cleanup_all();
        std::process::exit(130);
    });

    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, args)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if command != "bench" && (options.cold.is_some() || options.warm.is_some()) {
        eprintln!("--cold and --warm are for bench only\n\n{USAGE}");
        return ExitCode::from(2);
    }
    if command == "bench" && options.raw_moto {
        eprintln!("--raw-moto is for demo and invoke (bench always uses raw moto)\n\n{USAGE}");
        return ExitCode::from(2);
    }
    let semantics = if options.raw_moto { Ok(Semantics::RawMoto) } else { Semantics::from_env() };
    let semantics = match semantics {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rust_log = std::env::var("RUST_LOG").ok();
    let env: Vec<(&str, &str)> = rust_log.iter().map(|v| ("RUST_LOG", v.as_str())).collect();

    let result = match command.as_str() {
        "demo" if options.rest.is_empty() => demo::run(&options.binary, &env, semantics),
        "invoke" if !options.rest.is_empty() => replay::run(&options.binary, &options.rest, &env, semantics),
        "bench" if options.rest.is_empty() => {
            let defaults = bench::Options::default();
            let bench_options = bench::Options { cold: options.cold.unwrap_or(defaults.cold), warm: options.warm.unwrap_or(defaults.warm) };
            bench::run(&options.binary, &bench_options, &env)
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("cfn-local {command}: {e}");
            ExitCode::from(2)
        }
    }
}
