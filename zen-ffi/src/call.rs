//! Asynchronous tool calls: `zen_engine_call_tool_async`, the `zen_call`
//! handle, cancellation, and the callback that reports exactly once.

use std::ffi::{CString, c_char, c_void};
use std::sync::Arc;

use tokio::sync::Notify;

use crate::engine::{self, zen_engine};
use crate::error::Failure;
use crate::status::zen_status;
use crate::{input, runtime};

/// Receives the outcome of a `zen_engine_call_tool_async` call.
///
/// - `user_data`: the pointer given to `zen_engine_call_tool_async`.
/// - `status`: `ZEN_STATUS_OK`, the call's failure status (as
///   `zen_engine_call_tool` would return it), or `ZEN_STATUS_CANCELLED`.
/// - `output_json`: on `ZEN_STATUS_OK`, the tool's answer (as
///   `zen_engine_call_tool` describes it); NULL otherwise. When the status is
///   not OK, `zen_last_error_message()` called from inside the callback gives
///   the detail.
///
/// Ownership: `output_json` is lent for the duration of the callback; copy it
/// to keep it, and never pass it to `zen_string_free`.
/// Thread-safety: invoked exactly once per call, from one of zen's worker
/// threads, never from inside `zen_engine_call_tool_async` itself. It may block and may call any
/// zen function, including `zen_engine_call_tool` and `zen_call_free` on its
/// own call's handle. It must not unwind (a C++ exception or `longjmp`) out of
/// itself.
#[allow(non_camel_case_types)]
pub type zen_call_callback = Option<
    unsafe extern "C" fn(user_data: *mut c_void, status: zen_status, output_json: *const c_char),
>;

/// An asynchronous tool call in flight, from `zen_engine_call_tool_async`.
/// Opaque; use it to cancel the call, and free it with `zen_call_free`.
///
/// Ownership: the caller owns the handle until `zen_call_free`. The handle and
/// the call are independent: freeing the handle does not stop the call, and
/// the handle stays valid after the callback ran.
/// Thread-safety: `zen_call_cancel` may be called on one handle from any number
/// of threads at once; `zen_call_free` must not race with other uses of the
/// handle.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct zen_call {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    /// Wakes the call's task to cancel it (a stored permit when it is not
    /// waiting yet).
    cancel: Notify,
}

/// The callback and its `user_data`, owed exactly one invocation.
struct Pending {
    callback: unsafe extern "C" fn(*mut c_void, zen_status, *const c_char),
    user_data: *mut c_void,
    delivered: bool,
}

// SAFETY: zen_engine_call_tool_async documents that `user_data` is handed to
// the callback on another thread; making that sound is the caller's part.
unsafe impl Send for Pending {}

impl Pending {
    /// Invokes the callback, with the last error set on failure.
    fn deliver(mut self, outcome: Result<CString, Failure>) {
        let (status, output) = match outcome {
            Ok(text) => (zen_status::Ok, Some(text)),
            Err(failure) => (failure.record(), None),
        };
        let output_ptr = output.as_ref().map_or(std::ptr::null(), |s| s.as_ptr());
        let (callback, user_data) = (self.callback, self.user_data);
        // The callback may block, or call blocking zen functions: hand this
        // worker's other tasks to another thread while it runs.
        tokio::task::block_in_place(|| {
            self.delivered = true;
            // SAFETY: the caller of zen_engine_call_tool_async gave a valid
            // function pointer; `output_ptr` is NULL or a live C string.
            unsafe { callback(user_data, status, output_ptr) }
        });
    }
}

impl Drop for Pending {
    /// Keeps the promise of one callback even if the task ends early (a bug
    /// that panicked, or the runtime going away).
    fn drop(&mut self) {
        if self.delivered {
            return;
        }
        let status = if std::thread::panicking() {
            Failure::new(
                zen_status::Panic,
                "zen panicked during an asynchronous call. This is a bug in zen; please report it",
            )
            .record()
        } else {
            Failure::new(
                zen_status::Cancelled,
                "the call was stopped before it finished",
            )
            .record()
        };
        // SAFETY: as in `deliver`.
        unsafe { (self.callback)(self.user_data, status, std::ptr::null()) }
    }
}

/// Starts a tool call on zen's worker threads and returns at once; the
/// outcome arrives through `callback`.
///
/// Arguments as for `zen_engine_call_tool`, and:
/// - `callback`: invoked exactly once with the outcome, from a worker thread
///   (see `zen_call_callback`) — also when the call fails, and when it is
///   cancelled (with `ZEN_STATUS_CANCELLED` and a NULL `output_json`).
/// - `user_data`: passed to `callback` as it is; zen never reads it.
/// - `out_handle`: receives the call's handle; untouched on failure.
///
/// Returns `ZEN_STATUS_OK` when the call started: the callback will run.
/// Otherwise the call did not start and the callback will never run:
/// `ZEN_STATUS_NULL_ARGUMENT` (`engine`, `tool_name`, `callback` or
/// `out_handle` is NULL), `ZEN_STATUS_INVALID_UTF8`, `ZEN_STATUS_INVALID_JSON`,
/// `ZEN_STATUS_UNKNOWN_TOOL`, `ZEN_STATUS_INTERNAL`. Failures of the call
/// itself (`ZEN_STATUS_INVALID_ARGUMENTS`, `ZEN_STATUS_PROVIDER`, …) come
/// through the callback.
///
/// Ownership: `tool_name` and `args_json` are borrowed for this function only
/// (they are copied). The caller owns `*out_handle` and frees it with
/// `zen_call_free`, before or after the callback ran. `engine` may be freed
/// while the call runs; the call keeps what it needs.
/// Thread-safety: may be called on one engine from any number of threads at
/// once. `user_data` is used on another thread: whatever it points to must
/// allow that.
///
/// # Safety
///
/// As for `zen_engine_call_tool`; `callback` is NULL or a function that can be
/// called with `user_data` until it has run; `out_handle` is NULL or points to
/// a writable `zen_call *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_call_tool_async(
    engine: *const zen_engine,
    tool_name: *const c_char,
    args_json: *const c_char,
    callback: zen_call_callback,
    user_data: *mut c_void,
    out_handle: *mut *mut zen_call,
) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let engine = unsafe { engine::borrow(engine)? }.clone();
        let callback = callback.ok_or_else(|| Failure::null("callback"))?;
        let out = input::out(out_handle, "out_handle")?;
        // SAFETY: as the caller guarantees.
        let request = unsafe { engine::request(tool_name, args_json)? };
        // Refuse an unknown tool now, while the caller can still be told.
        engine.tool_registry().get(request.tool)?;
        let runtime = runtime::get()?;

        let shared = Arc::new(Shared::default());
        let handle = Box::into_raw(Box::new(zen_call {
            shared: Arc::clone(&shared),
        }));
        let pending = Pending {
            callback,
            user_data,
            delivered: false,
        };
        let tool = request.tool.to_owned();
        let args = request.args;
        runtime.spawn(async move {
            // The call runs as its own task, so that a panic in it is caught
            // and cancelling it drops it (and its request to the provider).
            let mut call = tokio::spawn(async move {
                let output = engine.call_tool(&tool, args).await?;
                CString::new(output.into_value().to_string()).map_err(|_| {
                    Failure::new(zen_status::Internal, "zen produced JSON holding a NUL byte")
                })
            });
            let outcome = tokio::select! {
                // An answer that is already there wins over a late cancel.
                biased;
                joined = &mut call => match joined {
                    Ok(Ok(output)) => Ok(output),
                    Ok(Err(failure)) => Err(failure),
                    Err(err) if err.is_panic() => Err(Failure::new(
                        zen_status::Panic,
                        format!(
                            "zen panicked during the call: {err}. This is a bug in zen; please \
                             report it"
                        ),
                    )),
                    Err(_) => Err(cancelled()),
                },
                () = shared.cancel.notified() => {
                    call.abort();
                    Err(cancelled())
                }
            };
            pending.deliver(outcome);
        });
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// The failure of a cancelled call.
fn cancelled() -> Failure {
    Failure::new(
        zen_status::Cancelled,
        "the call was cancelled by zen_call_cancel",
    )
}

/// Asks a call to stop. A call still running is stopped at once (its request
/// to the model provider is dropped) and its callback is invoked with
/// `ZEN_STATUS_CANCELLED` and a NULL `output_json`. A call that has already
/// finished, or whose callback is running, is not affected: its callback
/// reports the real outcome. Cancelling twice is harmless.
///
/// Returns `ZEN_STATUS_OK`, or `ZEN_STATUS_NULL_ARGUMENT` when `call` is NULL.
///
/// Ownership: `call` is borrowed; it still has to be freed.
/// Thread-safety: may be called from any thread, also at once with other
/// `zen_call_cancel` calls on the same handle, and from inside the callback.
///
/// # Safety
///
/// `call` is NULL or a live handle from `zen_engine_call_tool_async`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_call_cancel(call: *const zen_call) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let call = unsafe { call.as_ref() }.ok_or_else(|| Failure::null("call"))?;
        call.shared.cancel.notify_one();
        Ok(())
    })
}

/// Frees a call handle. Does nothing when `call` is NULL.
///
/// Freeing does not cancel: a call still running goes on and its callback is
/// still invoked exactly once (cancel first with `zen_call_cancel` to stop
/// it). So it is safe to free the handle at any time, before or after the
/// callback, or from inside it.
///
/// Ownership: takes ownership of `call`, which must not be used afterwards.
/// Thread-safety: may be called from any thread, but not while another thread
/// is still using the same handle.
///
/// # Safety
///
/// `call` is NULL or a handle from `zen_engine_call_tool_async` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_call_free(call: *mut zen_call) {
    ffi_boundary!(default = (); {
        if !call.is_null() {
            // SAFETY: the caller gives back a handle from `Box::into_raw`.
            drop(unsafe { Box::from_raw(call) });
        }
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;
    use std::sync::mpsc::{Sender, channel};
    use std::time::Duration;

    use super::*;
    use crate::{zen_engine_free, zen_engine_new};

    type Report = (zen_status, Option<String>, std::thread::ThreadId);

    unsafe extern "C" fn report(user_data: *mut c_void, status: zen_status, json: *const c_char) {
        // SAFETY: the tests pass a leaked `Sender` as `user_data`, and `json`
        // is NULL or a live C string.
        let (sender, json) = unsafe {
            (
                &*user_data.cast::<Sender<Report>>(),
                json.as_ref().map(|p| CStr::from_ptr(p)),
            )
        };
        let json = json.map(|j| j.to_string_lossy().into_owned());
        sender
            .send((status, json, std::thread::current().id()))
            .unwrap();
    }

    fn call(engine: *const zen_engine, tool: &CStr, args: &CStr) -> Report {
        let (sender, receiver) = channel::<Report>();
        let sender = Box::into_raw(Box::new(sender));
        let mut handle = std::ptr::null_mut();
        // SAFETY: valid engine, strings, callback and out-parameter; the
        // sender outlives the call.
        let status = unsafe {
            zen_engine_call_tool_async(
                engine,
                tool.as_ptr(),
                args.as_ptr(),
                Some(report),
                sender.cast(),
                &mut handle,
            )
        };
        assert_eq!(status, zen_status::Ok);
        // SAFETY: a live handle, freed once, before the callback may have run.
        unsafe { zen_call_free(handle) };
        let got = receiver.recv_timeout(Duration::from_secs(30)).unwrap();
        // Exactly once.
        assert!(receiver.recv_timeout(Duration::from_millis(50)).is_err());
        // SAFETY: the callback ran; nothing uses the sender any more.
        drop(unsafe { Box::from_raw(sender) });
        got
    }

    #[test]
    fn the_callback_runs_once_on_a_worker_thread() {
        let mut engine = std::ptr::null_mut();
        // SAFETY: valid configuration string and out-parameter.
        let status = unsafe { zen_engine_new(c"{}".as_ptr(), &mut engine) };
        assert_eq!(status, zen_status::Ok);

        let (status, json, thread) = call(engine, c"version", c"{}");
        assert_eq!(status, zen_status::Ok);
        assert!(json.unwrap().starts_with('{'));
        assert_ne!(thread, std::thread::current().id());

        let (status, json, _) = call(engine, c"chat", c"{}");
        assert_eq!(status, zen_status::InvalidArguments);
        assert_eq!(json, None);

        // SAFETY: a live engine, freed once.
        unsafe { zen_engine_free(engine) };
    }
}
