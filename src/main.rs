//! The `ferry` command: parse, run, print the error chain on one line, exit with the code of
//! the error's kind (documented in `ferry --help`).

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::args::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // A closed stdout (`ferry inspect ... | head`) is not a failure.
            if let Some(io) = err.downcast_ref::<std::io::Error>() {
                if io.kind() == std::io::ErrorKind::BrokenPipe {
                    return ExitCode::SUCCESS;
                }
            }
            eprintln!("ferry: error: {err:#}");
            let code = err
                .chain()
                .find_map(|e| e.downcast_ref::<ferry::Error>())
                .map(|e| e.kind().exit_code())
                .unwrap_or(1);
            ExitCode::from(code as u8)
        }
    }
}
