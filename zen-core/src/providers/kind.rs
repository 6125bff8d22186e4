use std::fmt;

/// The model providers zen can talk to.
///
/// The order of [`ProviderKind::PRIORITY`] is the order in which a model name is
/// looked up: native APIs first, OpenRouter (the catch-all) last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProviderKind {
    /// Google Gemini (generateContent API).
    Gemini,
    /// OpenAI (chat completions and responses APIs).
    OpenAi,
    /// Azure OpenAI deployments.
    Azure,
    /// xAI (Grok), OpenAI-compatible.
    Xai,
    /// EPAM DIAL, OpenAI-compatible with deployments.
    Dial,
    /// Any OpenAI-compatible server: Ollama, vLLM, LM Studio…
    Custom,
    /// OpenRouter, OpenAI-compatible, catch-all for `vendor/model` names.
    OpenRouter,
}

impl ProviderKind {
    /// Every provider, in lookup priority order.
    pub const PRIORITY: [ProviderKind; 7] = [
        ProviderKind::Gemini,
        ProviderKind::OpenAi,
        ProviderKind::Azure,
        ProviderKind::Xai,
        ProviderKind::Dial,
        ProviderKind::Custom,
        ProviderKind::OpenRouter,
    ];

    /// Short lowercase identifier (`gemini`, `openai`, …) used in output and settings.
    pub fn id(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "gemini",
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure",
            ProviderKind::Xai => "xai",
            ProviderKind::Dial => "dial",
            ProviderKind::Custom => "custom",
            ProviderKind::OpenRouter => "openrouter",
        }
    }

    /// Human-readable name.
    pub fn display_name(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "Google Gemini",
            ProviderKind::OpenAi => "OpenAI",
            ProviderKind::Azure => "Azure OpenAI",
            ProviderKind::Xai => "xAI",
            ProviderKind::Dial => "DIAL",
            ProviderKind::Custom => "Custom endpoint",
            ProviderKind::OpenRouter => "OpenRouter",
        }
    }

    /// Parses an identifier as returned by [`ProviderKind::id`] (case-insensitive;
    /// `google` is accepted for Gemini).
    pub fn from_id(id: &str) -> Option<Self> {
        let id = id.trim().to_ascii_lowercase();
        Self::PRIORITY
            .into_iter()
            .find(|kind| kind.id() == id)
            .or_else(|| (id == "google").then_some(ProviderKind::Gemini))
    }

    /// The variable naming a user catalogue file that replaces the built-in one.
    pub fn models_config_var(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "GEMINI_MODELS_CONFIG_PATH",
            ProviderKind::OpenAi => "OPENAI_MODELS_CONFIG_PATH",
            ProviderKind::Azure => "AZURE_MODELS_CONFIG_PATH",
            ProviderKind::Xai => "XAI_MODELS_CONFIG_PATH",
            ProviderKind::Dial => "DIAL_MODELS_CONFIG_PATH",
            ProviderKind::Custom => "CUSTOM_MODELS_CONFIG_PATH",
            ProviderKind::OpenRouter => "OPENROUTER_MODELS_CONFIG_PATH",
        }
    }

    /// The setting that turns this provider on.
    pub fn enabling_var(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "GEMINI_API_KEY",
            ProviderKind::OpenAi => "OPENAI_API_KEY",
            ProviderKind::Azure => "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT",
            ProviderKind::Xai => "XAI_API_KEY",
            ProviderKind::Dial => "DIAL_API_KEY",
            ProviderKind::Custom => "CUSTOM_API_URL",
            ProviderKind::OpenRouter => "OPENROUTER_API_KEY",
        }
    }

    /// The variable holding this provider's allow-list of models.
    pub fn allowed_models_var(self) -> &'static str {
        match self {
            ProviderKind::Gemini => "GOOGLE_ALLOWED_MODELS",
            ProviderKind::OpenAi => "OPENAI_ALLOWED_MODELS",
            ProviderKind::Azure => "AZURE_OPENAI_ALLOWED_MODELS",
            ProviderKind::Xai => "XAI_ALLOWED_MODELS",
            ProviderKind::Dial => "DIAL_ALLOWED_MODELS",
            ProviderKind::Custom => "CUSTOM_ALLOWED_MODELS",
            ProviderKind::OpenRouter => "OPENROUTER_ALLOWED_MODELS",
        }
    }
}

impl fmt::Display for ProviderKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl serde::Serialize for ProviderKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}
