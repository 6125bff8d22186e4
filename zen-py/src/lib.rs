//! The `zen._zen` extension module. This first layer carries the version; the
//! engine classes arrive with the Python bindings work.

use pyo3::prelude::*;

/// The compiled part of the `zen` package.
#[pymodule]
fn _zen(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", zen_core::VERSION)?;
    Ok(())
}
