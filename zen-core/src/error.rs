//! The one error type of zen-core.
//!
//! Every surface (MCP, C, Python) maps [`Error::kind`] once, in one table, to
//! its own notion of an error. Messages say what went wrong and what to do.

use std::time::Duration;

use crate::providers::ProviderKind;

/// Result alias used throughout zen-core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as something a caller can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A setting (environment variable, `.env` line or host map entry) is wrong.
    #[error("configuration error in {name}: {message}")]
    Config {
        /// The variable or file that is wrong.
        name: String,
        /// What is wrong with it and how to fix it.
        message: String,
    },

    /// A model catalogue file could not be used.
    #[error("model catalogue {file}: {message}")]
    Catalogue {
        /// The file (or built-in catalogue) at fault.
        file: String,
        /// The entry and problem.
        message: String,
    },

    /// The caller passed a value the request can't carry.
    #[error("invalid argument `{field}`: {message}")]
    InvalidArguments {
        /// The argument at fault.
        field: String,
        /// Why it was refused.
        message: String,
    },

    /// No enabled tool has this name.
    #[error("{message}")]
    UnknownTool {
        /// The name asked for.
        name: String,
        /// Why, and the tools there are.
        message: String,
    },

    /// The model named is unknown, disallowed, or not served by any configured provider.
    #[error("{message}")]
    ModelNotAvailable {
        /// The name the caller asked for.
        requested: String,
        /// A full sentence: why, what is available, and a suggestion.
        message: String,
    },

    /// No provider has an API key or URL configured.
    #[error(
        "no model provider is configured: set at least one of GEMINI_API_KEY, OPENAI_API_KEY, \
         XAI_API_KEY, OPENROUTER_API_KEY, DIAL_API_KEY, AZURE_OPENAI_API_KEY with \
         AZURE_OPENAI_ENDPOINT, or CUSTOM_API_URL"
    )]
    NoProvider,

    /// The provider answered with an error, or an unusable reply.
    #[error("{provider} error{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Provider {
        /// Which provider.
        provider: ProviderKind,
        /// HTTP status, when the provider answered at all.
        status: Option<u16>,
        /// The provider's own message, or what was wrong with its reply.
        message: String,
        /// Whether trying again later may succeed.
        retryable: bool,
    },

    /// The provider said to slow down (HTTP 429).
    #[error("{provider} is rate limiting requests{}: {message}", retry_after.map(|d| format!(" (retry after {}s)", d.as_secs())).unwrap_or_default())]
    RateLimited {
        /// Which provider.
        provider: ProviderKind,
        /// How long the provider asked us to wait, if it said.
        retry_after: Option<Duration>,
        /// The provider's message.
        message: String,
    },

    /// The conversation named by a `continuation_id` is unknown or expired.
    #[error(
        "conversation {id} was not found: it expired after {idle_hours} hours without use, never \
         existed, or the server restarted. Start a new conversation by calling again without \
         continuation_id"
    )]
    ConversationNotFound {
        /// The id asked for.
        id: String,
        /// The idle limit, for the message.
        idle_hours: f64,
    },

    /// The conversation has used all its turns.
    #[error(
        "conversation {id} has reached its limit of {max_turns} turns \
         (MAX_CONVERSATION_TURNS); start a new conversation without continuation_id"
    )]
    ConversationFull {
        /// The conversation.
        id: String,
        /// The limit.
        max_turns: u32,
    },

    /// A file or image can't be used (outside what may be read, missing, binary…).
    #[error("can't use {path}: {reason}")]
    FileRefused {
        /// The path as given.
        path: String,
        /// Why, and what to do instead.
        reason: String,
    },

    /// Too many calls are waiting; the queue timeout passed.
    #[error(
        "{what} is busy: no place came free within {}s; try again shortly, or raise the limit",
        waited.as_secs()
    )]
    Busy {
        /// What is full.
        what: String,
        /// How long the call waited.
        waited: Duration,
    },

    /// The provider's circuit breaker is open after repeated failures.
    #[error(
        "{provider} is failing and its circuit breaker is open: calls are refused for another \
         {}s, then one trial call is let through. Use another model meanwhile",
        retry_in.as_secs().max(1)
    )]
    CircuitOpen {
        /// Which provider.
        provider: ProviderKind,
        /// When a trial call will be let through.
        retry_in: Duration,
    },

    /// The provider did not answer in time.
    #[error(
        "{provider} did not answer within {}s; raise the read timeout if the model is slow",
        after.as_secs()
    )]
    Timeout {
        /// Which provider.
        provider: ProviderKind,
        /// The limit that was hit.
        after: Duration,
    },
}

/// The kind of an [`Error`], without its details: what surfaces map to status
/// codes and exception classes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A setting is wrong.
    Config,
    /// A catalogue file is wrong.
    Catalogue,
    /// An argument is wrong.
    InvalidArguments,
    /// No such tool.
    UnknownTool,
    /// The model can't be used.
    ModelNotAvailable,
    /// No provider is configured.
    NoProvider,
    /// The provider failed.
    Provider,
    /// The provider is rate limiting.
    RateLimited,
    /// The provider timed out.
    Timeout,
    /// A limit is full.
    Busy,
    /// A circuit breaker is open.
    CircuitOpen,
    /// A file was refused.
    FileRefused,
    /// The conversation is unknown or expired.
    ConversationNotFound,
    /// The conversation has no turns left.
    ConversationFull,
}

impl ErrorKind {
    /// A stable snake_case name (`invalid_arguments`, `rate_limited`, …) for
    /// metrics, logs and machine-readable output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Catalogue => "catalogue",
            ErrorKind::InvalidArguments => "invalid_arguments",
            ErrorKind::UnknownTool => "unknown_tool",
            ErrorKind::ModelNotAvailable => "model_not_available",
            ErrorKind::NoProvider => "no_provider",
            ErrorKind::Provider => "provider",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Busy => "busy",
            ErrorKind::CircuitOpen => "circuit_open",
            ErrorKind::FileRefused => "file_refused",
            ErrorKind::ConversationNotFound => "conversation_not_found",
            ErrorKind::ConversationFull => "conversation_full",
        }
    }
}

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config { .. } => ErrorKind::Config,
            Error::Catalogue { .. } => ErrorKind::Catalogue,
            Error::InvalidArguments { .. } => ErrorKind::InvalidArguments,
            Error::UnknownTool { .. } => ErrorKind::UnknownTool,
            Error::ModelNotAvailable { .. } => ErrorKind::ModelNotAvailable,
            Error::NoProvider => ErrorKind::NoProvider,
            Error::Provider { .. } => ErrorKind::Provider,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Busy { .. } => ErrorKind::Busy,
            Error::CircuitOpen { .. } => ErrorKind::CircuitOpen,
            Error::FileRefused { .. } => ErrorKind::FileRefused,
            Error::ConversationNotFound { .. } => ErrorKind::ConversationNotFound,
            Error::ConversationFull { .. } => ErrorKind::ConversationFull,
        }
    }

    /// Whether the same call may succeed if tried again later: a transient
    /// provider failure, or zen holding the call back for now (a full queue,
    /// an open circuit breaker).
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Provider { retryable, .. } => *retryable,
            Error::RateLimited { .. }
            | Error::Timeout { .. }
            | Error::Busy { .. }
            | Error::CircuitOpen { .. } => true,
            _ => false,
        }
    }

    pub(crate) fn config(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            name: name.into(),
            message: message.into(),
        }
    }

    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        Error::InvalidArguments {
            field: field.into(),
            message: message.into(),
        }
    }
}
