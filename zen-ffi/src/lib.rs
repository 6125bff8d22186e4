//! The C ABI of zen: `include/zen.h`, generated from this crate by cbindgen.
//!
//! The surface is small and thin over [`zen_core::Engine`]:
//!
//! - `zen_engine_new` / `zen_engine_free`: an opaque engine handle;
//! - `zen_engine_list_tools`, `zen_engine_list_models`, `zen_engine_metrics`:
//!   JSON descriptions;
//! - `zen_engine_call_tool` (blocking) and `zen_engine_call_tool_async` (a
//!   callback, with `zen_call_cancel` / `zen_call_free`);
//! - `zen_string_free`, `zen_last_error_message`, `zen_status_str`, `zen_version`.
//!
//! Conventions, binding on every export:
//!
//! - every fallible function returns a [`zen_status`] and writes its results
//!   through out-parameters, which are left untouched on failure;
//! - the detail of a failure goes to a thread-local last error, read with
//!   `zen_last_error_message`;
//! - every export runs inside the `ffi_boundary!` macro, so a panic becomes
//!   `ZEN_STATUS_PANIC` and never unwinds into C;
//! - strings in are borrowed NUL-terminated UTF-8; strings out are `char *`
//!   owned by the caller and freed with `zen_string_free`.
//!
//! All the work runs on one process-wide tokio runtime, started on first use
//! and never shut down (see the `runtime` module).

/// Runs the body of an export inside the panic boundary.
///
/// - `ffi_boundary!({ ... })`: the body returns `Result<(), Failure>`; the
///   export returns `ZEN_STATUS_OK`, the failure's status (recording its
///   message as the thread's last error), or `ZEN_STATUS_PANIC`.
/// - `ffi_boundary!(default = value; { ... })`: for exports that return
///   something other than a status; the body's value, or `value` on a panic
///   (whose message is still recorded as the last error).
macro_rules! ffi_boundary {
    (default = $default:expr; $body:block) => {
        $crate::error::value_boundary(|| $default, || $body)
    };
    ($body:block) => {
        $crate::error::status_boundary(|| $body)
    };
}

// Declared in the order their exports should appear in include/zen.h; the
// blank lines keep rustfmt from sorting them.
mod status;

mod error;

mod engine;

mod call;

mod input;
mod runtime;

use std::ffi::{CStr, CString, c_char};

pub use call::{
    zen_call, zen_call_callback, zen_call_cancel, zen_call_free, zen_engine_call_tool_async,
};
pub use engine::{
    zen_engine, zen_engine_call_tool, zen_engine_free, zen_engine_list_models,
    zen_engine_list_tools, zen_engine_metrics, zen_engine_new,
};
pub use error::zen_last_error_message;
pub use status::{zen_status, zen_status_str};

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the crate version holds a NUL byte"),
    };

/// The version of the zen library, e.g. `"0.1.0"`; it matches the
/// `ZEN_VERSION_MAJOR`, `ZEN_VERSION_MINOR` and `ZEN_VERSION_PATCH` macros of
/// the header it was built with.
///
/// Ownership: the returned string is static; never free it.
/// Thread-safety: may be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn zen_version() -> *const c_char {
    ffi_boundary!(default = VERSION.as_ptr(); { VERSION.as_ptr() })
}

/// Frees a string that zen returned through a `char **out_json`
/// out-parameter. Does nothing when `string` is NULL.
///
/// Ownership: takes ownership of `string`, which must not be used afterwards.
/// Thread-safety: may be called from any thread, including one other than the
/// thread that received the string.
///
/// # Safety
///
/// `string` is NULL or a pointer returned by zen through a `char **`
/// out-parameter that has not been freed yet. Strings zen lends (such as the
/// `output_json` of a callback, or `zen_version()`) must not be passed here.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_string_free(string: *mut c_char) {
    ffi_boundary!(default = (); {
        if !string.is_null() {
            // SAFETY: the caller guarantees `string` came from
            // `CString::into_raw` in this library and is freed only once.
            drop(unsafe { CString::from_raw(string) });
        }
    })
}

/// Hands a JSON text to C as an owned string, freed with `zen_string_free`.
pub(crate) fn owned_c_string(text: String) -> Result<*mut c_char, error::Failure> {
    CString::new(text).map(CString::into_raw).map_err(|_| {
        error::Failure::new(
            zen_status::Internal,
            "zen produced a string holding a NUL byte; this is a bug, please report it",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_core() {
        // SAFETY: zen_version returns a pointer to a static NUL-terminated string.
        let text = unsafe { CStr::from_ptr(zen_version()) };
        assert_eq!(text.to_str().unwrap(), zen_core::VERSION);
    }

    #[test]
    fn freeing_null_is_harmless() {
        // SAFETY: NULL is documented as accepted.
        unsafe { zen_string_free(std::ptr::null_mut()) };
    }
}
