//! `zen-mcp-conformance`: zen's real MCP server over streamable HTTP, plus the
//! fixture tools, resources and prompts (`test_simple_text`,
//! `test://static-text`, …) that the official MCP conformance suite calls.
//!
//! Built only with the `conformance-fixtures` cargo feature, for
//! `tests/mcp/conformance.sh`; the shipped `zen-mcp` binary holds none of it.
//! Everything that is not a fixture is answered by zen's own handler, so the
//! suite's protocol scenarios exercise the product.
//!
//! Usage: `zen-mcp-conformance HOST:PORT` (port 0 picks a free one; the
//! address is printed on standard error like `zen-mcp serve --http` does).

#![deny(clippy::print_stdout)]

// The product's server and HTTP stack, compiled into this binary as they are.
#[allow(dead_code)]
#[path = "../../http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../../server.rs"]
mod server;

mod fixtures;
mod mrtr;

use std::process::ExitCode;

use zen_core::{Config, Engine};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr = match args.as_slice() {
        [addr] if !addr.starts_with('-') => addr.clone(),
        _ => {
            eprintln!(
                "usage: zen-mcp-conformance HOST:PORT — serves zen plus the conformance \
                 fixtures at http://HOST:PORT/mcp (port 0 picks a free port)"
            );
            return ExitCode::from(2);
        }
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("warn"))
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
    let result = Config::from_env()
        .and_then(Engine::new)
        .map_err(|e| e.to_string())
        .and_then(|engine| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("can't start the async runtime: {e}"))
                .and_then(|rt| {
                    rt.block_on(http::serve_handler(engine, &addr, |engine| {
                        fixtures::Conformance::new(server::ZenServer::new(engine))
                    }))
                })
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("zen-mcp-conformance: {message}");
            ExitCode::FAILURE
        }
    }
}
