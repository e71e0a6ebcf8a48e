//! The `miodl` binary: parse the command line, run one command, exit with its status.
//!
//! Everything lives in the library; this file only maps commands to their functions and
//! results to exit statuses (docs/reference.md §3: 0 ok, 1 some file failed, 2 usage error,
//! 3 output could not be written, 130/143 interrupted).

use std::process::ExitCode;

use miodl::app::cli::{self, Command};
use miodl::app::run::{self, Plan, StartError};
use miodl::model::stop::Stop;

fn main() -> ExitCode {
    let status = match cli::parse(std::env::args_os()) {
        Ok(command) => run_command(command),
        Err(e) => usage_error(&e.to_string()),
    };
    ExitCode::from(status.clamp(0, 255) as u8)
}

fn run_command(command: Command) -> i32 {
    match command {
        Command::Help(text) => {
            print!("{text}");
            0
        }
        Command::Version => {
            println!("{}", cli::VERSION);
            0
        }
        Command::Get(args) => transfer(run::prepare_get(args)),
        Command::Crawl(args) => transfer(run::prepare_crawl(args)),
        Command::Serve(args) => serve(args),
        Command::Verify(args) => verify(&args.dir),
        Command::Demo(args) => miodl::app::demo::run_command(&args),
        Command::Timeline(args) => miodl::report::timeline::run_command(&args.trace, &args.output),
    }
}

/// `get` and `crawl`: run the plan, print the summary, exit with the run's status.
fn transfer(plan: Result<Plan, StartError>) -> i32 {
    let plan = match plan {
        Ok(plan) => plan,
        Err(e) => return usage_error(&e.to_string()),
    };
    let stop = Stop::new();
    if let Err(e) = stop.install_signal_handlers() {
        eprintln!("miodl: cannot install signal handlers: {e}");
    }
    let json = plan.options().json;
    match run::execute(plan, &stop, run::Stderr::Console) {
        Ok(report) => {
            if json {
                println!("{}", report.json());
            }
            report.exit_code()
        }
        Err(e) => {
            eprintln!("miodl: {e}");
            3
        }
    }
}

/// `serve`: the reference server until SIGINT/SIGTERM.
fn serve(args: cli::ServeArgs) -> i32 {
    #[allow(unused_mut)]
    let mut config = args.config;
    #[cfg(feature = "tls")]
    if args.tls {
        let names = [config.host.as_str(), "localhost", "127.0.0.1", "::1"];
        match miodl::transport::tls::SelfSigned::generate(&names) {
            Ok(certificate) => config.tls = Some(certificate),
            Err(e) => {
                eprintln!("miodl: {e}");
                return 1;
            }
        }
    }
    let (host, port) = (config.host.clone(), config.port);
    match miodl::serve::run_cli(config) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("miodl: cannot serve on {host}:{port}: {e}");
            1
        }
    }
}

/// `verify`: `ok: N files` and 0, or each problem and 1.
fn verify(dir: &std::path::Path) -> i32 {
    match miodl::app::verify::verify(dir) {
        Ok(report) if report.is_ok() => {
            println!("{report}");
            0
        }
        Ok(report) => {
            println!("{report}");
            1
        }
        Err(e) => {
            eprintln!("miodl: cannot read {}: {e}", dir.display());
            1
        }
    }
}

fn usage_error(message: &str) -> i32 {
    eprintln!("miodl: {message}");
    2
}
