//! Reading what C hands in: borrowed strings, JSON, out-parameters.

use std::ffi::{CStr, c_char};

use serde_json::Value;

use crate::error::Failure;
use crate::status::zen_status;

/// Borrows the NUL-terminated UTF-8 string argument `name`.
///
/// # Safety
///
/// `ptr` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn text<'a>(ptr: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    // SAFETY: non-NULL, and the caller guarantees NUL termination and lifetime.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    bytes.to_str().map_err(|err| {
        Failure::new(
            zen_status::InvalidUtf8,
            format!(
                "argument `{name}` is not valid UTF-8: the byte at offset {} starts an invalid \
                 sequence",
                err.valid_up_to()
            ),
        )
    })
}

/// Parses `text`, the JSON argument `name`.
pub(crate) fn json(text: &str, name: &str) -> Result<Value, Failure> {
    serde_json::from_str(text).map_err(|err| {
        Failure::new(
            zen_status::InvalidJson,
            format!("argument `{name}` is not valid JSON: {err}"),
        )
    })
}

/// Checks that the out-parameter `name` can be written.
pub(crate) fn out<T>(ptr: *mut T, name: &str) -> Result<*mut T, Failure> {
    if ptr.is_null() {
        Err(Failure::null(name))
    } else {
        Ok(ptr)
    }
}

/// The settings in a configuration object: each value a string, a number or a
/// boolean (written as text, as in the environment); `null` leaves a setting
/// unset.
pub(crate) fn settings(config: Value) -> Result<Vec<(String, String)>, Failure> {
    let Value::Object(map) = config else {
        return Err(zen_core::Error::Config {
            name: "config_json".into(),
            message: format!(
                "the configuration must be a JSON object of setting names to values, such as \
                 {{\"GEMINI_API_KEY\": \"...\"}}, not {config}"
            ),
        }
        .into());
    };
    let mut settings = Vec::with_capacity(map.len());
    for (name, value) in map {
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            other @ (Value::Array(_) | Value::Object(_)) => {
                return Err(zen_core::Error::Config {
                    message: format!(
                        "must be a string, a number or a boolean, as in the environment; \
                         lists are comma-separated strings (got {other})"
                    ),
                    name,
                }
                .into());
            }
        };
        settings.push((name, text));
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_take_scalars_and_skip_nulls() {
        let got = settings(json!({"A": "x", "B": 3, "C": true, "D": null})).unwrap();
        assert_eq!(
            got,
            vec![
                ("A".to_owned(), "x".to_owned()),
                ("B".to_owned(), "3".to_owned()),
                ("C".to_owned(), "true".to_owned())
            ]
        );
    }

    #[test]
    fn settings_refuse_other_shapes() {
        let err = settings(json!(["A"])).unwrap_err();
        assert_eq!(err.status, zen_status::Config);
        let err = settings(json!({"DISABLED_TOOLS": ["chat"]})).unwrap_err();
        assert_eq!(err.status, zen_status::Config);
        assert!(err.message.contains("DISABLED_TOOLS"), "{}", err.message);
    }

    #[test]
    fn text_reports_null_and_bad_utf8() {
        // SAFETY: NULL is handled; the literal is NUL-terminated and static.
        unsafe {
            assert_eq!(
                text(std::ptr::null(), "x").unwrap_err().status,
                zen_status::NullArgument
            );
            let bad = c"a\xffb";
            let err = text(bad.as_ptr(), "x").unwrap_err();
            assert_eq!(err.status, zen_status::InvalidUtf8);
            assert!(err.message.contains("offset 1"), "{}", err.message);
        }
    }
}
