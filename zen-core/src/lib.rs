//! zen-core: the engine behind zen. It knows the model providers (Gemini,
//! OpenAI, Azure OpenAI, xAI, DIAL, OpenRouter and any OpenAI-compatible
//! server), their model catalogues, and how a user configures them. It has no
//! knowledge of MCP, C or Python: those surfaces are thin layers over
//! [`Engine`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod cache;
pub mod config;
pub mod consult;
pub mod conversation;
pub mod engine;
pub mod error;
pub mod files;
pub mod models;
pub mod prompt;
pub mod providers;
pub mod resilience;
pub mod telemetry;
pub mod tokens;
pub mod tools;

pub use config::Config;
pub use engine::Engine;
pub use error::{Error, ErrorKind, Result};

/// The version of zen.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Where zen lives; sent as OpenRouter's default referer.
pub const HOMEPAGE: &str = "https://github.com/zen-mcp/zen";
