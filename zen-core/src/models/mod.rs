//! The model catalogue: which models exist, what they can do, which may be
//! used, and which one auto mode picks.

mod catalogue;
mod registry;
mod spec;

pub use catalogue::Catalogue;
pub use registry::{ModelRegistry, ResolvedModel, ToolCategory};
pub use spec::{ModelSpec, TemperatureConstraint};
