//! `zen.Engine`: a thin Python class over [`zen_core::Engine`].

use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyMapping, PyString};
use serde_json::Value;

use crate::convert::{from_python, to_python};
use crate::errors::to_pyerr;
use crate::runtime::{block_on, runtime};

/// The zen engine: its providers, model catalogue, tools and conversations.
///
/// ``Engine(config)`` takes the settings the MCP server reads from its
/// environment (``OPENAI_API_KEY``, ``DEFAULT_MODEL``, ``DISABLED_TOOLS``…) as a
/// mapping of names to strings and reads nothing else; ``Engine()`` reads the
/// environment and the ``.env`` file as the server does. One engine may be
/// used from many threads and tasks at once.
#[pyclass(frozen, module = "zen", name = "Engine")]
#[derive(Debug)]
pub(crate) struct PyEngine {
    // zen_core::Engine is itself a handle over an `Arc`: cloning it is cheap
    // and clones share everything.
    pub(crate) engine: zen_core::Engine,
}

#[pymethods]
impl PyEngine {
    #[new]
    #[pyo3(signature = (config = None))]
    fn new(py: Python<'_>, config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let settings = config.map(settings).transpose()?;
        let built = py.detach(|| {
            // Building makes no network call, but providers' HTTP clients are
            // made inside the runtime that will drive them.
            let _entered = runtime().enter();
            let config = match settings {
                Some(pairs) => zen_core::Config::from_map(pairs)?,
                None => zen_core::Config::from_env()?,
            };
            zen_core::Engine::new(config)
        });
        match built {
            Ok(engine) => Ok(PyEngine { engine }),
            Err(err) => Err(to_pyerr(py, &err)),
        }
    }

    /// Calls tool ``name`` with ``arguments`` and returns its answer. Other
    /// Python threads run meanwhile; Ctrl-C interrupts the call.
    #[pyo3(signature = (name, arguments = None))]
    fn call_tool<'py>(
        &self,
        py: Python<'py>,
        name: &str,
        arguments: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = arguments
            .map(from_python)
            .transpose()?
            .unwrap_or(Value::Null);
        let engine = self.engine.clone();
        let output = block_on(py, async move {
            engine
                .call_tool(name, args)
                .await
                .map_err(|err| Python::attach(|py| to_pyerr(py, &err)))
        })?;
        to_python(py, &output.0)
    }

    /// Calls tool ``name`` with ``arguments``; await the result. Many calls
    /// may be in flight at once; cancelling the awaitable cancels the call.
    #[pyo3(signature = (name, arguments = None))]
    fn call_tool_async<'py>(
        &self,
        py: Python<'py>,
        name: String,
        arguments: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let args = arguments
            .map(from_python)
            .transpose()?
            .unwrap_or(Value::Null);
        let engine = self.engine.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let result = engine.call_tool(&name, args).await;
            Python::attach(|py| match result {
                Ok(output) => Ok(to_python(py, &output.0)?.unbind()),
                Err(err) => Err(to_pyerr(py, &err)),
            })
        })
    }

    /// The enabled tools: name, description, input schema and annotations.
    fn list_tools<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let tools = serde_json::to_value(self.engine.tools()).map_err(serialise_failed)?;
        to_python(py, &tools)
    }

    /// The models usable now, in provider priority order.
    fn list_models<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let models = serde_json::to_value(self.engine.models()).map_err(serialise_failed)?;
        to_python(py, &models)
    }

    /// What the engine is doing: calls, errors and latency per tool and per
    /// model, each provider's circuit breaker and queue, conversations held,
    /// memory in use and uptime (the figures of the server's ``/metrics``).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let engine = self.engine.clone();
        let stats = block_on(py, async move { Ok(engine.stats().await) })?;
        to_python(py, &stats)
    }

    fn __repr__(&self) -> String {
        let providers: Vec<&str> = self
            .engine
            .config()
            .providers
            .iter()
            .map(|p| p.kind.id())
            .collect();
        format!("<zen.Engine providers=[{}]>", providers.join(", "))
    }
}

/// The `(name, value)` pairs of a `Mapping[str, str]`.
fn settings(config: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    let Ok(mapping) = config.cast::<PyMapping>() else {
        return Err(PyTypeError::new_err(format!(
            "config must be a mapping of setting names to strings, not {}",
            config.get_type().name()?
        )));
    };
    let mut pairs = Vec::new();
    for pair in mapping.items()?.iter() {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair.extract()?;
        let (Ok(name_str), Ok(value_str)) = (name.cast::<PyString>(), value.cast::<PyString>())
        else {
            return Err(PyTypeError::new_err(format!(
                "config entries must be str to str; {} = {} is not",
                name.repr()?,
                value.repr()?
            )));
        };
        pairs.push((
            name_str.to_str()?.to_owned(),
            value_str.to_str()?.to_owned(),
        ));
    }
    Ok(pairs)
}

/// A value zen-core failed to serialise (a bug, not bad input).
fn serialise_failed(err: serde_json::Error) -> PyErr {
    PyRuntimeError::new_err(format!("zen could not serialise its answer: {err}"))
}
