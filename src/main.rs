//! The `patmine` binary: parses arguments and wires the library's stages. Nothing else.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("patmine: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
