//! The Python exceptions: `zen.ZenError` and one subclass per
//! [`ErrorKind`], all derived from [`TABLE`].
//!
//! The classes are made at import time with `type(name, bases, namespace)`, so
//! that a class can also derive from the builtin exception whose meaning it
//! shares (`InvalidArgumentsError` is a `ValueError`, `ProviderTimeoutError`
//! a `TimeoutError`): `catch ValueError` code keeps working.

use pyo3::exceptions::{PyException, PyLookupError, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};
use zen_core::{Error, ErrorKind};

/// The builtin exception a class derives from besides `ZenError`.
#[derive(Debug, Clone, Copy)]
enum Builtin {
    /// `ZenError` only.
    None,
    /// A value the caller gave is wrong.
    Value,
    /// Something named was not found.
    Lookup,
    /// Something took too long.
    Timeout,
}

/// One row of the mapping: a kind, its class, the builtin it also is, and the
/// class's docstring.
#[derive(Debug)]
struct Row {
    kind: ErrorKind,
    class: &'static str,
    builtin: Builtin,
    doc: &'static str,
}

const fn row(kind: ErrorKind, class: &'static str, builtin: Builtin, doc: &'static str) -> Row {
    Row {
        kind,
        class,
        builtin,
        doc,
    }
}

/// The one table from [`ErrorKind`] to Python exception class. A kind that
/// zen-core adds later and this table does not list raises `ZenError` itself.
const TABLE: &[Row] = &[
    row(
        ErrorKind::Config,
        "ConfigError",
        Builtin::Value,
        "A setting (environment variable, .env line or config entry) is wrong.",
    ),
    row(
        ErrorKind::Catalogue,
        "CatalogueError",
        Builtin::Value,
        "A model catalogue file (*_MODELS_CONFIG_PATH) can't be used.",
    ),
    row(
        ErrorKind::InvalidArguments,
        "InvalidArgumentsError",
        Builtin::Value,
        "A tool argument is missing or wrong; the message names the field.",
    ),
    row(
        ErrorKind::UnknownTool,
        "UnknownToolError",
        Builtin::Lookup,
        "No enabled tool has this name (it does not exist or DISABLED_TOOLS lists it).",
    ),
    row(
        ErrorKind::ModelNotAvailable,
        "ModelNotAvailableError",
        Builtin::Lookup,
        "The model is unknown, not allowed, or not served by a configured provider.",
    ),
    row(
        ErrorKind::NoProvider,
        "NoProviderError",
        Builtin::None,
        "No model provider is configured: set an API key or CUSTOM_API_URL.",
    ),
    row(
        ErrorKind::Provider,
        "ProviderError",
        Builtin::None,
        "The provider answered with an error or an unusable reply.",
    ),
    row(
        ErrorKind::RateLimited,
        "RateLimitedError",
        Builtin::None,
        "The provider is rate limiting requests; retry_after says how long to wait, if known.",
    ),
    row(
        ErrorKind::Timeout,
        "ProviderTimeoutError",
        Builtin::Timeout,
        "The provider did not answer in time (CUSTOM_READ_TIMEOUT).",
    ),
    row(
        ErrorKind::Busy,
        "BusyError",
        Builtin::None,
        "Too many calls are waiting: no place came free within ZEN_QUEUE_TIMEOUT_SECS.",
    ),
    row(
        ErrorKind::CircuitOpen,
        "CircuitOpenError",
        Builtin::None,
        "The provider kept failing and its circuit breaker is open; retry_after says when \
         a trial call will be let through.",
    ),
    row(
        ErrorKind::FileRefused,
        "FileRefusedError",
        Builtin::None,
        "A file can't be used: outside what may be read, missing, too large or not text.",
    ),
    row(
        ErrorKind::ConversationNotFound,
        "ConversationNotFoundError",
        Builtin::Lookup,
        "The continuation_id is unknown or the conversation expired.",
    ),
    row(
        ErrorKind::ConversationFull,
        "ConversationFullError",
        Builtin::None,
        "The conversation has used all its turns (MAX_CONVERSATION_TURNS).",
    ),
];

/// `ZenError`, then one class per row of [`TABLE`], in order.
#[derive(Debug)]
struct Classes {
    base: Py<PyType>,
    kinds: Vec<Py<PyType>>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// Makes the classes (once) and adds them to `module`.
pub(crate) fn register(module: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = module.py();
    let classes = classes(py)?;
    module.add("ZenError", classes.base.bind(py))?;
    for (row, class) in TABLE.iter().zip(&classes.kinds) {
        module.add(row.class, class.bind(py))?;
    }
    Ok(())
}

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let base = make_class(
            py,
            "ZenError",
            vec![py.get_type::<PyException>()],
            "Base class of every error zen raises.\n\n\
             ``kind`` names the error kind (``\"invalid_arguments\"``, ``\"timeout\"``...);\n\
             ``retryable`` says whether the same call may succeed if tried again later.",
            "error",
            &[],
        )?;
        let kinds = TABLE
            .iter()
            .map(|row| {
                let mut bases = vec![base.bind(py).clone()];
                match row.builtin {
                    Builtin::None => {}
                    Builtin::Value => bases.push(py.get_type::<PyValueError>()),
                    Builtin::Lookup => bases.push(py.get_type::<PyLookupError>()),
                    Builtin::Timeout => bases.push(py.get_type::<PyTimeoutError>()),
                }
                let extra: &[&str] = match row.kind {
                    ErrorKind::Provider => &["status"],
                    ErrorKind::RateLimited | ErrorKind::CircuitOpen => &["retry_after"],
                    _ => &[],
                };
                make_class(py, row.class, bases, row.doc, row.kind.as_str(), extra)
            })
            .collect::<PyResult<_>>()?;
        Ok(Classes { base, kinds })
    })
}

/// `type(name, bases, {...})`: a class of module `zen` whose `kind` is
/// `kind`, `retryable` is `False` and each of `none_attributes` is `None`
/// (instances set their own values).
fn make_class<'py>(
    py: Python<'py>,
    name: &str,
    bases: Vec<Bound<'py, PyType>>,
    doc: &str,
    kind: &str,
    none_attributes: &[&str],
) -> PyResult<Py<PyType>> {
    let namespace = PyDict::new(py);
    namespace.set_item("__module__", "zen")?;
    namespace.set_item("__doc__", doc)?;
    namespace.set_item("kind", kind)?;
    namespace.set_item("retryable", false)?;
    for attribute in none_attributes {
        namespace.set_item(attribute, py.None())?;
    }
    let class = py
        .get_type::<PyType>()
        .call1((name, PyTuple::new(py, bases)?, namespace))?
        .cast_into::<PyType>()?;
    Ok(class.unbind())
}

/// The Python exception for `err`: an instance of its kind's class (or of
/// `ZenError` for a kind the table does not list) with the message as its
/// argument and `kind`, `retryable`, and where they apply `status` and
/// `retry_after` set.
pub(crate) fn to_pyerr(py: Python<'_>, err: &Error) -> PyErr {
    match build(py, err) {
        Ok(exc) => exc,
        // Making the exception itself failed (out of memory...): raise that.
        Err(other) => other,
    }
}

fn build(py: Python<'_>, err: &Error) -> PyResult<PyErr> {
    let classes = classes(py)?;
    let kind = err.kind();
    let class = TABLE
        .iter()
        .position(|row| row.kind == kind)
        .and_then(|i| classes.kinds.get(i))
        .unwrap_or(&classes.base)
        .bind(py);
    let exc = class.call1((err.to_string(),))?;
    exc.setattr("kind", kind.as_str())?;
    exc.setattr("retryable", err.is_retryable())?;
    match err {
        Error::Provider { status, .. } => exc.setattr("status", *status)?,
        Error::RateLimited { retry_after, .. } => {
            exc.setattr("retry_after", retry_after.map(|d| d.as_secs_f64()))?;
        }
        Error::CircuitOpen { retry_in, .. } => {
            exc.setattr("retry_after", retry_in.as_secs_f64())?;
        }
        _ => {}
    }
    Ok(PyErr::from_value(exc))
}
