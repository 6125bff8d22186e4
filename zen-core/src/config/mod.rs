//! Configuration: one [`Config`] read from the environment, a `.env` file, a map
//! handed in by a host, or a mix (see [`Sources`] for the precedence).
//!
//! The Python PAL server's variable names keep their meaning, so an existing
//! setup works unchanged; settings new to zen are named `ZEN_*`.

mod settings;

use std::path::PathBuf;
use std::time::Duration;

pub use settings::{Settings, Sources, is_placeholder};

use crate::error::{Error, Result};
use crate::providers::{ProviderKind, ThinkingMode};

/// Default (connect, read) timeouts for hosted providers: long enough for
/// deep-thinking models.
const REMOTE_TIMEOUTS: (Duration, Duration) = (Duration::from_secs(45), Duration::from_secs(900));
/// Default (connect, read) timeouts for servers on this machine or a private
/// network, where a local model may load slowly.
const LOCAL_TIMEOUTS: (Duration, Duration) = (Duration::from_secs(60), Duration::from_secs(1800));

/// How one provider is reached.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderConfig {
    /// Which provider.
    pub kind: ProviderKind,
    /// The API key, when the provider needs one.
    pub api_key: Option<String>,
    /// Base address, without a trailing `/` (the first of `endpoints`).
    pub base_url: String,
    /// Every base address, `base_url` first: more than one when the
    /// provider's address setting (`CUSTOM_API_URL`, `AZURE_OPENAI_ENDPOINT`,
    /// `OPENAI_BASE_URL`, `GEMINI_BASE_URL`, …) lists several, and calls are
    /// then balanced between them by health and recent latency.
    pub endpoints: Vec<String>,
    /// How long an endpoint that failed is avoided while another is healthy
    /// (`ZEN_BREAKER_COOLDOWN_SECS`, default 30 s).
    pub endpoint_cooldown: Duration,
    /// `api-version` query value (Azure, DIAL).
    pub api_version: Option<String>,
    /// Extra headers sent with every request (OpenRouter's attribution headers).
    pub extra_headers: Vec<(String, String)>,
    /// TCP connect timeout.
    pub connect_timeout: Duration,
    /// Time allowed between bytes of the reply.
    pub read_timeout: Duration,
    /// The user's catalogue file replacing the built-in one.
    pub models_config_path: Option<PathBuf>,
    /// Allow-list: only these models (names or aliases, case-insensitive) may be used.
    pub allowed_models: Option<Vec<String>>,
    /// Custom endpoints: a model that is usable even when no catalogue lists it.
    pub custom_model_name: Option<String>,
}

impl ProviderConfig {
    /// The base addresses calls go to: `endpoints`, or `base_url` alone
    /// when that list was left empty.
    pub fn bases(&self) -> Vec<String> {
        if self.endpoints.is_empty() {
            vec![self.base_url.clone()]
        } else {
            self.endpoints.clone()
        }
    }
}

/// Log verbosity, from `LOG_LEVEL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    /// Everything.
    Debug,
    /// Normal operation (the default).
    Info,
    /// Problems only.
    Warning,
    /// Errors only.
    Error,
}

impl LogLevel {
    /// The matching `tracing` filter directive.
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warning => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// Everything zen-core reads from settings, checked and typed.
#[derive(Debug, Clone)]
pub struct Config {
    /// Providers that have credentials (or a URL, for custom endpoints), in
    /// [`ProviderKind::PRIORITY`] order.
    pub providers: Vec<ProviderConfig>,
    /// `DEFAULT_MODEL`: a model name, or `auto` to let zen choose per tool.
    pub default_model: String,
    /// `DISABLED_TOOLS`, lowercase; `None` when unset (the tool registry then
    /// applies its defaults), empty when set to nothing (every tool on).
    pub disabled_tools: Option<Vec<String>>,
    /// `DISABLED_MODELS`, lowercase: never used, whatever the provider.
    pub disabled_models: Vec<String>,
    /// `PREFERRED_MODELS`, in order: auto mode tries these first.
    pub preferred_models: Vec<String>,
    /// `CONVERSATION_TIMEOUT_HOURS` (default 3).
    pub conversation_timeout: Duration,
    /// `MAX_CONVERSATION_TURNS` (default 50).
    pub max_conversation_turns: u32,
    /// `CONVERSATION_MEMORY_LIMIT_MB` (default 512): most bytes the in-memory
    /// conversation store holds before evicting the least recently used.
    pub conversation_memory_limit_bytes: u64,
    /// `MAX_MCP_OUTPUT_TOKENS` (default 25 000): the client's limit for one result.
    pub max_mcp_output_tokens: u32,
    /// `LOCALE`: answer in this language when set.
    pub locale: Option<String>,
    /// `LOG_LEVEL` (default INFO).
    pub log_level: LogLevel,
    /// `DEFAULT_THINKING_MODE_THINKDEEP` (default high).
    pub default_thinking_mode_thinkdeep: ThinkingMode,
    /// All merged settings, for `ZEN_*` options read by later layers.
    pub settings: Settings,
}

impl Config {
    /// Reads `.env` and the process environment (the environment wins).
    pub fn from_env() -> Result<Config> {
        Self::from_sources(&Sources::environment())
    }

    /// Reads only `map`: nothing from the process or the file system.
    pub fn from_map<K, V>(map: impl IntoIterator<Item = (K, V)>) -> Result<Config>
    where
        K: Into<String>,
        V: Into<String>,
    {
        Self::from_settings(map.into_iter().collect())
    }

    /// Reads the given sources, merged in precedence order.
    pub fn from_sources(sources: &Sources) -> Result<Config> {
        Self::from_settings(sources.collect()?)
    }

    /// Builds a config from already-merged settings.
    pub fn from_settings(settings: Settings) -> Result<Config> {
        let providers = ProviderKind::PRIORITY
            .into_iter()
            .map(|kind| provider_config(kind, &settings))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect();

        let hours = settings
            .parse::<f64>("CONVERSATION_TIMEOUT_HOURS", "a number of hours")?
            .unwrap_or(3.0);
        if !(hours.is_finite() && hours > 0.0) {
            return Err(Error::config(
                "CONVERSATION_TIMEOUT_HOURS",
                format!("{hours} is not a positive number of hours"),
            ));
        }
        let max_turns = settings.u64_at_least("MAX_CONVERSATION_TURNS", 1, 50)?;
        let max_output = settings.u64_at_least("MAX_MCP_OUTPUT_TOKENS", 1000, 25_000)?;
        let memory_mb = settings.u64_at_least("CONVERSATION_MEMORY_LIMIT_MB", 1, 512)?;

        let log_level = match settings
            .choice(
                "LOG_LEVEL",
                &["debug", "info", "warning", "warn", "error", "critical"],
            )?
            .as_deref()
        {
            Some("debug") => LogLevel::Debug,
            Some("warning" | "warn") => LogLevel::Warning,
            Some("error" | "critical") => LogLevel::Error,
            _ => LogLevel::Info,
        };

        let thinkdeep = match settings.get("DEFAULT_THINKING_MODE_THINKDEEP") {
            None => ThinkingMode::High,
            Some(raw) => raw
                .parse::<ThinkingMode>()
                .map_err(|message| Error::config("DEFAULT_THINKING_MODE_THINKDEEP", message))?,
        };

        let lowercase = |name: &str| {
            settings
                .list(name)
                .map(|items| items.into_iter().map(|i| i.to_ascii_lowercase()).collect())
        };

        Ok(Config {
            providers,
            default_model: settings.get("DEFAULT_MODEL").unwrap_or("auto").to_owned(),
            // `DISABLED_TOOLS=` turns every tool on, as in PAL; unset keeps
            // the default set off.
            disabled_tools: lowercase("DISABLED_TOOLS")
                .or_else(|| settings.is_blank("DISABLED_TOOLS").then(Vec::new)),
            disabled_models: lowercase("DISABLED_MODELS").unwrap_or_default(),
            preferred_models: settings.list("PREFERRED_MODELS").unwrap_or_default(),
            conversation_timeout: Duration::from_secs_f64(hours * 3600.0),
            max_conversation_turns: u32::try_from(max_turns).unwrap_or(u32::MAX),
            conversation_memory_limit_bytes: memory_mb.saturating_mul(1024 * 1024),
            max_mcp_output_tokens: u32::try_from(max_output).unwrap_or(u32::MAX),
            locale: settings.get("LOCALE").map(str::to_owned),
            log_level,
            default_thinking_mode_thinkdeep: thinkdeep,
            settings,
        })
    }

    /// Whether `DEFAULT_MODEL` is `auto` (zen chooses the model per tool).
    pub fn is_auto_mode(&self) -> bool {
        self.default_model.eq_ignore_ascii_case("auto")
    }

    /// The configuration of `kind`, if it is configured.
    pub fn provider(&self, kind: ProviderKind) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.kind == kind)
    }
}

fn provider_config(kind: ProviderKind, s: &Settings) -> Result<Option<ProviderConfig>> {
    let key = |name: &str| s.get(name).map(str::to_owned);
    // Providers reached with a key at an overridable address (or several,
    // as a comma list).
    let keyed = |key_var: &str,
                 url_var: &str,
                 default_url: &str|
     -> Result<Option<(String, Vec<String>)>> {
        match key(key_var) {
            None => Ok(None),
            Some(k) => Ok(Some((
                k,
                s.urls(url_var)?.unwrap_or_else(|| vec![default_url.into()]),
            ))),
        }
    };
    let simple = match kind {
        ProviderKind::Gemini => Some((
            "GEMINI_API_KEY",
            "GEMINI_BASE_URL",
            "https://generativelanguage.googleapis.com",
        )),
        ProviderKind::OpenAi => Some((
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "https://api.openai.com/v1",
        )),
        ProviderKind::Xai => Some(("XAI_API_KEY", "XAI_BASE_URL", "https://api.x.ai/v1")),
        ProviderKind::OpenRouter => Some((
            "OPENROUTER_API_KEY",
            "OPENROUTER_BASE_URL",
            "https://openrouter.ai/api/v1",
        )),
        ProviderKind::Dial => Some(("DIAL_API_KEY", "DIAL_API_HOST", "https://core.dialx.ai")),
        ProviderKind::Azure | ProviderKind::Custom => None,
    };
    let (api_key, endpoints, api_version) = match (kind, simple) {
        (_, Some((key_var, url_var, default_url))) => {
            let Some((k, urls)) = keyed(key_var, url_var, default_url)? else {
                return Ok(None);
            };
            let version = (kind == ProviderKind::Dial)
                .then(|| key("DIAL_API_VERSION").unwrap_or_else(|| "2024-12-01-preview".into()));
            (Some(k), urls, version)
        }
        (ProviderKind::Azure, None) => {
            let api_key = key("AZURE_OPENAI_API_KEY");
            let endpoint = s.urls("AZURE_OPENAI_ENDPOINT")?;
            match (api_key, endpoint) {
                (None, None) => return Ok(None),
                (Some(_), None) => {
                    return Err(Error::config(
                        "AZURE_OPENAI_ENDPOINT",
                        "AZURE_OPENAI_API_KEY is set but the endpoint is not; set it to \
                         https://<resource>.openai.azure.com",
                    ));
                }
                (None, Some(_)) => {
                    return Err(Error::config(
                        "AZURE_OPENAI_API_KEY",
                        "AZURE_OPENAI_ENDPOINT is set but the key is not; set the key \
                         from the Azure portal, or unset the endpoint",
                    ));
                }
                (Some(k), Some(endpoint)) => (
                    Some(k),
                    endpoint,
                    Some(
                        key("AZURE_OPENAI_API_VERSION")
                            .unwrap_or_else(|| "2025-04-01-preview".into()),
                    ),
                ),
            }
        }
        (_, None) => match s.urls("CUSTOM_API_URL")? {
            None => {
                if s.is_set("CUSTOM_API_KEY") || s.is_set("CUSTOM_MODEL_NAME") {
                    return Err(Error::config(
                        "CUSTOM_API_URL",
                        "CUSTOM_API_KEY or CUSTOM_MODEL_NAME is set but CUSTOM_API_URL is \
                         not; set it to your server's OpenAI-compatible base, e.g. \
                         http://localhost:11434/v1 for Ollama",
                    ));
                }
                return Ok(None);
            }
            Some(urls) => (key("CUSTOM_API_KEY"), urls, None),
        },
    };
    let base_url = endpoints.first().cloned().unwrap_or_default();

    // As in PAL, CUSTOM_*_TIMEOUT apply to every provider, in seconds.
    let (connect_default, read_default) = if is_local(&base_url) {
        LOCAL_TIMEOUTS
    } else {
        REMOTE_TIMEOUTS
    };
    let connect_timeout = s.seconds("CUSTOM_CONNECT_TIMEOUT", connect_default)?;
    let read_timeout = s.seconds("CUSTOM_READ_TIMEOUT", read_default)?;

    let extra_headers = if kind == ProviderKind::OpenRouter {
        vec![
            (
                "HTTP-Referer".to_owned(),
                key("OPENROUTER_REFERER").unwrap_or_else(|| crate::HOMEPAGE.to_owned()),
            ),
            (
                "X-Title".to_owned(),
                key("OPENROUTER_TITLE").unwrap_or_else(|| "zen MCP server".to_owned()),
            ),
        ]
    } else {
        Vec::new()
    };

    Ok(Some(ProviderConfig {
        kind,
        api_key,
        base_url,
        endpoints,
        endpoint_cooldown: s.seconds("ZEN_BREAKER_COOLDOWN_SECS", Duration::from_secs(30))?,
        api_version,
        extra_headers,
        connect_timeout,
        read_timeout,
        models_config_path: s.get(kind.models_config_var()).map(PathBuf::from),
        allowed_models: s.list(kind.allowed_models_var()).or_else(|| {
            (kind == ProviderKind::Azure)
                .then(|| s.list("AZURE_ALLOWED_MODELS"))
                .flatten()
        }),
        custom_model_name: (kind == ProviderKind::Custom)
            .then(|| key("CUSTOM_MODEL_NAME"))
            .flatten(),
    }))
}

/// Whether a base URL points at this machine or a private network.
fn is_local(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .unwrap_or(url)
        .split(['/', '?'])
        .next()
        .unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(h, _)| h),
    };
    if host.eq_ignore_ascii_case("localhost") || host.ends_with(".local") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_addresses_are_recognised() {
        assert!(is_local("http://localhost:11434/v1"));
        assert!(is_local("http://127.0.0.1:8080"));
        assert!(is_local("http://192.168.1.5/v1"));
        assert!(is_local("http://[::1]:9000/v1"));
        assert!(!is_local("https://api.openai.com/v1"));
    }
}
