//! The `zen._zen` extension module: `zen.Engine` (in `engine`) and
//! the exception classes. The logic stays in zen-core; this crate converts
//! arguments, results and errors.

use pyo3::prelude::*;

mod convert;
mod engine;
mod errors;
mod pal;
mod runtime;

/// The compiled part of the `zen` package.
#[pymodule]
fn _zen(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", zen_core::VERSION)?;
    m.add_class::<engine::PyEngine>()?;
    m.add_class::<pal::PalBridge>()?;
    errors::register(m)?;
    Ok(())
}
