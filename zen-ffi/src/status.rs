//! `zen_status`: what every fallible export returns, and the one table that
//! maps zen-core's [`ErrorKind`] onto it.

use std::ffi::{CStr, c_char};

use zen_core::ErrorKind;

/// The outcome of a zen function. `ZEN_STATUS_OK` (0) is success; anything
/// else is a failure whose detail is in `zen_last_error_message()`.
///
/// The numbers are part of the ABI: they are grouped in ranges and never
/// reused. 1xx: the caller passed something unusable. 2xx: the engine refused
/// or failed (one code per kind of engine error). 9xx: the call did not run to
/// its end (a bug, or a cancellation). A later version may add codes inside a
/// range; treat an unknown code by its range.
#[allow(non_camel_case_types)]
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum zen_status {
    /// Success.
    Ok = 0,

    /// A pointer argument that must not be NULL was NULL.
    NullArgument = 100,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 101,
    /// A JSON argument does not parse as JSON.
    InvalidJson = 102,
    /// The buffer given to `zen_last_error_message` is too small; `*needed`
    /// says how large it must be.
    BufferTooSmall = 103,

    /// A setting is wrong (a word where a number belongs, an unknown tool in
    /// DISABLED_TOOLS, a configuration that is not a JSON object…).
    Config = 200,
    /// A model catalogue file can't be used.
    Catalogue = 201,
    /// The tool's arguments are wrong (a missing or mistyped field, or
    /// arguments that are not a JSON object).
    InvalidArguments = 202,
    /// No enabled tool has this name (or the tool is disabled).
    UnknownTool = 203,
    /// The model named is unknown, not allowed, or served by no configured
    /// provider.
    ModelNotAvailable = 204,
    /// No model provider is configured.
    NoProvider = 205,
    /// The provider answered with an error or an unusable reply.
    Provider = 206,
    /// The provider is rate limiting requests (HTTP 429).
    RateLimited = 207,
    /// The provider did not answer in time.
    Timeout = 208,
    /// A file or image named in the arguments can't be used.
    FileRefused = 209,
    /// The conversation named by `continuation_id` is unknown or expired.
    ConversationNotFound = 210,
    /// The conversation has used all its turns.
    ConversationFull = 211,
    /// A concurrency or rate limit stayed full past the queue timeout.
    Busy = 212,
    /// The provider's circuit breaker is open after repeated failures.
    CircuitOpen = 213,
    /// An engine error of a kind this version of the C API does not name yet.
    Engine = 299,

    /// zen panicked: a bug. The engine stays usable; please report the message.
    Panic = 900,
    /// The call was cancelled with `zen_call_cancel`.
    Cancelled = 901,
    /// zen could not do its own part (e.g. start its runtime).
    Internal = 902,
}

impl zen_status {
    /// Every status, for `zen_status_str` and the tests.
    const ALL: [zen_status; 23] = [
        zen_status::Ok,
        zen_status::NullArgument,
        zen_status::InvalidUtf8,
        zen_status::InvalidJson,
        zen_status::BufferTooSmall,
        zen_status::Config,
        zen_status::Catalogue,
        zen_status::InvalidArguments,
        zen_status::UnknownTool,
        zen_status::ModelNotAvailable,
        zen_status::NoProvider,
        zen_status::Provider,
        zen_status::RateLimited,
        zen_status::Timeout,
        zen_status::FileRefused,
        zen_status::ConversationNotFound,
        zen_status::ConversationFull,
        zen_status::Busy,
        zen_status::CircuitOpen,
        zen_status::Engine,
        zen_status::Panic,
        zen_status::Cancelled,
        zen_status::Internal,
    ];

    /// The status for an engine error of `kind`: the one table from
    /// zen-core's error kinds to C status codes.
    pub(crate) fn from_kind(kind: ErrorKind) -> zen_status {
        match kind {
            ErrorKind::Config => zen_status::Config,
            ErrorKind::Catalogue => zen_status::Catalogue,
            ErrorKind::InvalidArguments => zen_status::InvalidArguments,
            ErrorKind::UnknownTool => zen_status::UnknownTool,
            ErrorKind::ModelNotAvailable => zen_status::ModelNotAvailable,
            ErrorKind::NoProvider => zen_status::NoProvider,
            ErrorKind::Provider => zen_status::Provider,
            ErrorKind::RateLimited => zen_status::RateLimited,
            ErrorKind::Timeout => zen_status::Timeout,
            ErrorKind::FileRefused => zen_status::FileRefused,
            ErrorKind::ConversationNotFound => zen_status::ConversationNotFound,
            ErrorKind::ConversationFull => zen_status::ConversationFull,
            ErrorKind::Busy => zen_status::Busy,
            ErrorKind::CircuitOpen => zen_status::CircuitOpen,
            // A kind added to zen-core after this table: still an engine error.
            _ => zen_status::Engine,
        }
    }

    /// A short description, as a static C string.
    fn description(self) -> &'static CStr {
        match self {
            zen_status::Ok => c"ok",
            zen_status::NullArgument => c"a required pointer argument is NULL",
            zen_status::InvalidUtf8 => c"a string argument is not valid UTF-8",
            zen_status::InvalidJson => c"a JSON argument is not valid JSON",
            zen_status::BufferTooSmall => c"the buffer is too small",
            zen_status::Config => c"configuration error",
            zen_status::Catalogue => c"model catalogue error",
            zen_status::InvalidArguments => c"invalid tool arguments",
            zen_status::UnknownTool => c"unknown or disabled tool",
            zen_status::ModelNotAvailable => c"model not available",
            zen_status::NoProvider => c"no model provider is configured",
            zen_status::Provider => c"the model provider failed",
            zen_status::RateLimited => c"the model provider is rate limiting requests",
            zen_status::Timeout => c"the model provider did not answer in time",
            zen_status::FileRefused => c"a file was refused",
            zen_status::ConversationNotFound => c"conversation not found or expired",
            zen_status::ConversationFull => c"conversation has no turns left",
            zen_status::Busy => c"zen or the provider is busy: a limit stayed full",
            zen_status::CircuitOpen => c"the provider's circuit breaker is open",
            zen_status::Engine => c"engine error",
            zen_status::Panic => c"internal error: zen panicked (a bug)",
            zen_status::Cancelled => c"the call was cancelled",
            zen_status::Internal => c"internal error",
        }
    }
}

/// A short English description of `status`, such as `"invalid tool
/// arguments"`; `"unknown status"` for a number that is not a `zen_status`.
/// Never NULL. It describes the code only: the detail of a failure is in
/// `zen_last_error_message()`.
///
/// `status` is taken as a plain integer so that any value, even one from a
/// newer library, is safe to pass.
///
/// Ownership: the returned string is static; never free it.
/// Thread-safety: may be called from any thread at any time.
#[unsafe(no_mangle)]
pub extern "C" fn zen_status_str(status: i32) -> *const c_char {
    ffi_boundary!(default = c"unknown status".as_ptr(); {
        zen_status::ALL
            .iter()
            .find(|s| **s as i32 == status)
            .map_or(c"unknown status", |s| s.description())
            .as_ptr()
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_status_has_its_own_description() {
        let mut seen = HashSet::new();
        for status in zen_status::ALL.iter().skip(1) {
            // SAFETY: zen_status_str returns a static NUL-terminated string.
            let text = unsafe { CStr::from_ptr(zen_status_str(*status as i32)) };
            assert!(seen.insert(text.to_owned()), "{status:?} shares {text:?}");
        }
    }

    #[test]
    fn unknown_numbers_are_safe() {
        for n in [-1, 1, 99, 214, 1000, i32::MIN, i32::MAX] {
            // SAFETY: as above.
            let text = unsafe { CStr::from_ptr(zen_status_str(n)) };
            assert_eq!(text, c"unknown status");
        }
    }

    #[test]
    fn engine_kinds_map_into_the_2xx_range() {
        let kinds = [
            ErrorKind::Config,
            ErrorKind::Catalogue,
            ErrorKind::InvalidArguments,
            ErrorKind::UnknownTool,
            ErrorKind::ModelNotAvailable,
            ErrorKind::NoProvider,
            ErrorKind::Provider,
            ErrorKind::RateLimited,
            ErrorKind::Timeout,
            ErrorKind::FileRefused,
            ErrorKind::ConversationNotFound,
            ErrorKind::ConversationFull,
        ];
        let codes: HashSet<i32> = kinds
            .iter()
            .map(|k| zen_status::from_kind(*k) as i32)
            .collect();
        assert_eq!(codes.len(), kinds.len());
        assert!(codes.iter().all(|c| (200..300).contains(c)));
    }
}
