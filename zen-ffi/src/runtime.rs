//! The one tokio runtime behind the C API.
//!
//! It is process-wide and created on first use (by `zen_engine_new`): a
//! multi-thread runtime whose worker threads are named `zen-worker` (as many as
//! there are CPUs, or `TOKIO_WORKER_THREADS`). Engines share it, so an engine
//! costs no threads of its own, and it is never shut down: it lives until the
//! process exits. Blocking exports run their future on the caller's thread with
//! `block_on` (any number of threads at once); asynchronous calls run as tasks
//! on its workers, and their callbacks are invoked there.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

use crate::error::Failure;
use crate::status::zen_status;

static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();

/// The runtime, started on first use.
pub(crate) fn get() -> Result<&'static Runtime, Failure> {
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .thread_name("zen-worker")
            .enable_all()
            .build()
            .map_err(|err| err.to_string())
    });
    runtime.as_ref().map_err(|err| {
        Failure::new(
            zen_status::Internal,
            format!("zen could not start its runtime: {err}"),
        )
    })
}
