//! The one tokio runtime, shared with `pyo3-async-runtimes`, and blocking
//! calls that let other Python threads run and Ctrl-C stop them.

use std::future::Future;
use std::time::Duration;

use pyo3::prelude::*;
use tokio::runtime::Runtime;

/// How often a blocking call looks for a pending signal (Ctrl-C).
const SIGNAL_CHECK_EVERY: Duration = Duration::from_millis(100);

/// The runtime behind both the blocking and the `async` methods.
pub(crate) fn runtime() -> &'static Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// Runs `future` to completion without holding the GIL. Every
/// [`SIGNAL_CHECK_EVERY`] it runs Python's signal handlers; if one raises (a
/// `KeyboardInterrupt` from Ctrl-C), the future is dropped, which cancels the
/// call, and that exception is returned.
pub(crate) fn block_on<F, T>(py: Python<'_>, future: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    py.detach(|| {
        runtime().block_on(async {
            tokio::pin!(future);
            let mut ticks = tokio::time::interval(SIGNAL_CHECK_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    out = &mut future => return out,
                    _ = ticks.tick() => Python::attach(|py| py.check_signals())?,
                }
            }
        })
    })
}
