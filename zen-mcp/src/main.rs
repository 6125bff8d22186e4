//! `zen-mcp`: the zen MCP server and its command line.

#![deny(clippy::print_stdout)]

mod cli;
mod http;
mod server;

use std::process::ExitCode;

/// mimalloc rather than the system allocator, in this binary only (zen-core,
/// the C library and the Python module leave the allocator to their host).
/// After a burst of concurrent calls spread over tokio's threads, glibc kept
/// the burst's peak resident (41 MB of heap after the benchmark's 10,000
/// calls, with about 13 MB live); mimalloc's v2 series, built without
/// transparent huge pages (which made an idle server 10 MB larger) and set up
/// by [`tune_allocator`], gives freed pages back (19 MB of heap; v3 kept 24 to
/// 34 MB), and is faster on the many small allocations of a call. See
/// docs/BENCHMARKS.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` (`mi_option_e` in mimalloc.h, the same in v2 and v3).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Returns freed pages to the system at once rather than after a delay: with
/// a delay, pages freed at the end of a burst stay resident until the thread
/// allocates again, which an idle server's threads never do. The environment
/// (`MIMALLOC_PURGE_DELAY`) still decides when it is set.
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: mi_option_set only stores a number in mimalloc's option
        // table; it runs before any other thread is started.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
}

fn main() -> ExitCode {
    tune_allocator();
    cli::run(std::env::args().skip(1).collect())
}
