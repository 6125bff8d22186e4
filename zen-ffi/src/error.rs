//! Failures, the thread-local last error, and the panic boundary.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::zen_status;

thread_local! {
    /// The message of the last failed zen call on this thread.
    static LAST_ERROR: RefCell<Option<CString>> = const { RefCell::new(None) };
}

/// Why an export failed: its status and the message for
/// `zen_last_error_message`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: zen_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: zen_status, message: impl Into<String>) -> Self {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer where `name` must point somewhere.
    pub(crate) fn null(name: &str) -> Self {
        Failure::new(
            zen_status::NullArgument,
            format!("argument `{name}` is NULL"),
        )
    }

    /// Records the message as this thread's last error and returns the status.
    pub(crate) fn record(self) -> zen_status {
        set_last_error(&self.message);
        self.status
    }
}

impl From<zen_core::Error> for Failure {
    fn from(err: zen_core::Error) -> Self {
        Failure::new(zen_status::from_kind(err.kind()), err.to_string())
    }
}

/// Makes `message` this thread's last error.
pub(crate) fn set_last_error(message: &str) {
    // A NUL inside a message would cut it short in C: show it instead.
    let text = CString::new(message.replace('\0', "\\0")).unwrap_or_default();
    // `try_with`: during thread teardown the slot may already be gone.
    let _ = LAST_ERROR.try_with(|slot| *slot.borrow_mut() = Some(text));
}

/// The message of a panic payload.
fn panic_message(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    format!("zen panicked: {what}. This is a bug in zen; please report it with this message")
}

/// The panic boundary of an export returning a status (see `ffi_boundary!`).
pub(crate) fn status_boundary(body: impl FnOnce() -> Result<(), Failure>) -> zen_status {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => zen_status::Ok,
        Ok(Err(failure)) => failure.record(),
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            zen_status::Panic
        }
    }
}

/// The panic boundary of an export returning a value (see `ffi_boundary!`).
pub(crate) fn value_boundary<T>(default: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => value,
        Err(payload) => {
            set_last_error(&panic_message(payload.as_ref()));
            default()
        }
    }
}

/// Copies the message of the last failed zen call on the calling thread into
/// `buf`, NUL-terminated. When no call has failed on this thread, the message
/// is the empty string.
///
/// - `needed` (may be NULL): receives the size the message needs, in bytes,
///   including the terminating NUL — on success and on
///   `ZEN_STATUS_BUFFER_TOO_SMALL`, so that a caller can ask with
///   `zen_last_error_message(NULL, 0, &needed)` and then allocate.
/// - Returns `ZEN_STATUS_OK` when the message fit, having written it;
///   `ZEN_STATUS_BUFFER_TOO_SMALL` when `len` is smaller than the message
///   needs (`buf` is then left untouched); `ZEN_STATUS_NULL_ARGUMENT` when
///   `buf` is NULL but `len` is not 0.
///
/// The last error is set by every zen function that returns a status other
/// than `ZEN_STATUS_OK` (and, for an asynchronous call, on the callback's
/// thread just before a failed callback). Successful calls leave it as it was,
/// and this function never changes it: it may be read again.
///
/// Ownership: `buf` stays the caller's; nothing is allocated.
/// Thread-safety: may be called from any thread; each thread has its own last
/// error.
///
/// # Safety
///
/// `buf` is NULL or points to at least `len` writable bytes; `needed` is NULL
/// or points to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_last_error_message(
    buf: *mut c_char,
    len: usize,
    needed: *mut usize,
) -> zen_status {
    // Not `ffi_boundary!({...})`: a failure here must not replace the message
    // the caller is asking for.
    ffi_boundary!(default = zen_status::Panic; {
        if buf.is_null() && len != 0 {
            return zen_status::NullArgument;
        }
        LAST_ERROR.with(|slot| {
            let slot = slot.borrow();
            let bytes = slot.as_deref().map_or(&b"\0"[..], |m| m.to_bytes_with_nul());
            if !needed.is_null() {
                // SAFETY: the caller guarantees a non-NULL `needed` is writable.
                unsafe { needed.write(bytes.len()) };
            }
            if len < bytes.len() {
                return zen_status::BufferTooSmall;
            }
            // SAFETY: `buf` points to `len >= bytes.len()` writable bytes, and
            // cannot overlap the message, which zen owns.
            unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr().cast(), buf, bytes.len()) };
            zen_status::Ok
        })
    })
}

#[cfg(test)]
mod tests {
    use std::ffi::CStr;

    use super::*;

    fn last_error() -> String {
        let mut needed = 0usize;
        // SAFETY: a size query with a valid `needed`.
        let status = unsafe { zen_last_error_message(std::ptr::null_mut(), 0, &mut needed) };
        assert!(matches!(
            status,
            zen_status::BufferTooSmall | zen_status::Ok
        ));
        let mut buf = vec![0 as c_char; needed];
        // SAFETY: `buf` has `needed` bytes.
        let status = unsafe { zen_last_error_message(buf.as_mut_ptr(), needed, &mut needed) };
        assert_eq!(status, zen_status::Ok);
        // SAFETY: zen wrote a NUL-terminated string into `buf`.
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    #[test]
    fn a_panic_becomes_a_status_and_a_message() {
        let status = status_boundary(|| panic!("on purpose"));
        assert_eq!(status, zen_status::Panic);
        assert!(last_error().contains("on purpose"));
        let value = value_boundary(|| 7, || panic!("again"));
        assert_eq!(value, 7);
        assert!(last_error().contains("again"));
    }

    #[test]
    fn failures_set_the_message_and_successes_keep_it() {
        let status = status_boundary(|| Err(Failure::null("out_json")));
        assert_eq!(status, zen_status::NullArgument);
        assert_eq!(last_error(), "argument `out_json` is NULL");
        assert_eq!(status_boundary(|| Ok(())), zen_status::Ok);
        assert_eq!(last_error(), "argument `out_json` is NULL");
    }

    #[test]
    fn a_fresh_thread_has_an_empty_message() {
        std::thread::spawn(|| assert_eq!(last_error(), ""))
            .join()
            .unwrap();
    }
}
