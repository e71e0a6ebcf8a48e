//! The `miodl` binary: parse the command line, run one command, exit with its status.
//!
//! Everything lives in the library; this file only maps commands to their functions and
//! results to exit statuses (SPEC section 3: 0 ok, 1 some file failed, 2 usage error,
//! 3 output could not be written, 130/143 interrupted).

use std::process::ExitCode;

use miodl::cli::{self, Command};
use miodl::run::{self, Plan};
use miodl::stop::Stop;

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
        Command::Serve(_) | Command::Verify(_) | Command::Demo(_) | Command::Timeline(_) => {
            eprintln!("miodl: this command is not wired into this build yet");
            1
        }
    }
}

/// `get` and `crawl`: run the plan, print the summary, exit with the run's status.
fn transfer(plan: Result<Plan, String>) -> i32 {
    let plan = match plan {
        Ok(plan) => plan,
        Err(message) => return usage_error(&message),
    };
    let stop = Stop::new();
    if let Err(e) = stop.install_signal_handlers() {
        eprintln!("miodl: cannot install signal handlers: {e}");
    }
    let json = plan.options().json;
    match run::execute(plan, &stop, true) {
        Ok(report) => {
            if json {
                println!("{}", report.json());
            }
            report.exit_code()
        }
        Err(e) => {
            eprintln!("miodl: {}", e.0);
            3
        }
    }
}

fn usage_error(message: &str) -> i32 {
    eprintln!("miodl: {message}");
    2
}
