//! `zen-mcp`: the zen MCP server and its command line.

#![deny(clippy::print_stdout)]

mod cli;
mod http;
mod server;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::run(std::env::args().skip(1).collect())
}
