//! The C ABI of zen. This first layer exposes the library version; the engine
//! functions described in `include/zen.h` arrive with the C API work.

use std::ffi::{CStr, c_char};

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("the crate version holds a NUL byte"),
    };

/// The version of the zen library, e.g. `"0.1.0"`.
///
/// The returned string is static: never free it. Safe to call from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn zen_version() -> *const c_char {
    VERSION.as_ptr()
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
}
