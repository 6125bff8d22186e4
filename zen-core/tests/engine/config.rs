//! Configuration as a PAL user writes it: names, placeholders, precedence of
//! sources, and one clear error per mistake.

use std::time::Duration;

use zen_core::config::{LogLevel, Settings, Sources};
use zen_core::providers::{ProviderKind, ThinkingMode};
use zen_core::{Config, ErrorKind};

fn config(settings: &[(&str, &str)]) -> zen_core::Result<Config> {
    Config::from_map(settings.iter().copied())
}

fn error_text(settings: &[(&str, &str)]) -> String {
    let Err(err) = config(settings) else {
        panic!("this configuration must be refused: {settings:?}");
    };
    assert_eq!(err.kind(), ErrorKind::Config, "{err}");
    err.to_string()
}

#[test]
fn defaults_match_pal() {
    let c = config(&[]).unwrap();
    assert!(c.providers.is_empty());
    assert_eq!(c.default_model, "auto");
    assert!(c.is_auto_mode());
    assert_eq!(c.conversation_timeout, Duration::from_secs(3 * 3600));
    assert_eq!(c.max_conversation_turns, 50);
    assert_eq!(c.default_thinking_mode_thinkdeep, ThinkingMode::High);
    assert_eq!(c.disabled_tools, None);
    assert_eq!(c.locale, None);
}

#[test]
fn every_provider_is_configured_from_pal_names() {
    let c = config(&[
        ("GEMINI_API_KEY", "g"),
        ("OPENAI_API_KEY", "o"),
        ("XAI_API_KEY", "x"),
        ("OPENROUTER_API_KEY", "r"),
        ("DIAL_API_KEY", "d"),
        ("AZURE_OPENAI_API_KEY", "a"),
        ("AZURE_OPENAI_ENDPOINT", "https://res.openai.azure.com/"),
        ("CUSTOM_API_URL", "http://localhost:11434/v1"),
    ])
    .unwrap();
    let kinds: Vec<ProviderKind> = c.providers.iter().map(|p| p.kind).collect();
    assert_eq!(
        kinds,
        ProviderKind::PRIORITY.to_vec(),
        "configured in priority order"
    );
    let azure = c.provider(ProviderKind::Azure).unwrap();
    assert_eq!(
        azure.base_url, "https://res.openai.azure.com",
        "trailing slash removed"
    );
    assert_eq!(azure.api_version.as_deref(), Some("2025-04-01-preview"));
    let dial = c.provider(ProviderKind::Dial).unwrap();
    assert_eq!(dial.base_url, "https://core.dialx.ai");
    assert_eq!(dial.api_version.as_deref(), Some("2024-12-01-preview"));
    assert_eq!(
        c.provider(ProviderKind::OpenAi).unwrap().base_url,
        "https://api.openai.com/v1"
    );
    // Local endpoints get longer timeouts than hosted ones.
    let custom = c.provider(ProviderKind::Custom).unwrap();
    assert_eq!(custom.api_key, None);
    assert_eq!(custom.read_timeout, Duration::from_secs(1800));
    assert_eq!(
        c.provider(ProviderKind::Xai).unwrap().read_timeout,
        Duration::from_secs(900)
    );
}

#[test]
fn placeholder_keys_count_as_unset() {
    let c = config(&[
        ("GEMINI_API_KEY", "your_gemini_api_key_here"),
        ("OPENAI_API_KEY", "your_openai_api_key_here"),
        ("AZURE_OPENAI_API_KEY", "your_azure_openai_key_here"),
        ("XAI_API_KEY", ""),
        ("OPENROUTER_API_KEY", "real"),
    ])
    .unwrap();
    let kinds: Vec<ProviderKind> = c.providers.iter().map(|p| p.kind).collect();
    assert_eq!(kinds, vec![ProviderKind::OpenRouter]);
}

#[test]
fn settings_are_typed() {
    let c = config(&[
        ("DEFAULT_MODEL", "pro"),
        ("DISABLED_TOOLS", "Analyze, refactor"),
        ("DISABLED_MODELS", "O3"),
        ("PREFERRED_MODELS", "flash, o3"),
        ("CONVERSATION_TIMEOUT_HOURS", "0.5"),
        ("MAX_CONVERSATION_TURNS", "20"),
        ("MAX_MCP_OUTPUT_TOKENS", "50000"),
        ("LOCALE", "fr-FR"),
        ("LOG_LEVEL", "warning"),
        ("DEFAULT_THINKING_MODE_THINKDEEP", "MAX"),
        ("CUSTOM_API_URL", "https://models.internal.example/v1"),
        ("CUSTOM_CONNECT_TIMEOUT", "5"),
        ("CUSTOM_READ_TIMEOUT", "120.5"),
        ("CUSTOM_MODEL_NAME", "llama3.3:70b"),
        ("CUSTOM_ALLOWED_MODELS", "llama3.3:70b, local-llama"),
    ])
    .unwrap();
    assert!(!c.is_auto_mode());
    assert_eq!(c.default_model, "pro");
    assert_eq!(
        c.disabled_tools,
        Some(vec!["analyze".into(), "refactor".into()])
    );
    assert_eq!(c.disabled_models, vec!["o3"]);
    assert_eq!(c.preferred_models, vec!["flash", "o3"]);
    assert_eq!(c.conversation_timeout, Duration::from_secs(1800));
    assert_eq!(c.max_conversation_turns, 20);
    assert_eq!(c.max_mcp_output_tokens, 50_000);
    assert_eq!(c.locale.as_deref(), Some("fr-FR"));
    assert_eq!(c.log_level, LogLevel::Warning);
    assert_eq!(c.default_thinking_mode_thinkdeep, ThinkingMode::Max);
    let custom = c.provider(ProviderKind::Custom).unwrap();
    assert_eq!(custom.connect_timeout, Duration::from_secs(5));
    assert_eq!(custom.read_timeout, Duration::from_secs_f64(120.5));
    assert_eq!(custom.custom_model_name.as_deref(), Some("llama3.3:70b"));
    assert_eq!(
        custom.allowed_models,
        Some(vec!["llama3.3:70b".into(), "local-llama".into()])
    );
}

#[test]
fn each_mistake_is_one_error_naming_the_variable() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("MAX_CONVERSATION_TURNS", "many")],
            "MAX_CONVERSATION_TURNS",
        ),
        (&[("MAX_CONVERSATION_TURNS", "0")], "MAX_CONVERSATION_TURNS"),
        (
            &[("CONVERSATION_TIMEOUT_HOURS", "-1")],
            "CONVERSATION_TIMEOUT_HOURS",
        ),
        (&[("MAX_MCP_OUTPUT_TOKENS", "12k")], "MAX_MCP_OUTPUT_TOKENS"),
        (&[("LOG_LEVEL", "loud")], "LOG_LEVEL"),
        (
            &[("DEFAULT_THINKING_MODE_THINKDEEP", "deep")],
            "DEFAULT_THINKING_MODE_THINKDEEP",
        ),
        (&[("CUSTOM_API_URL", "localhost:11434")], "CUSTOM_API_URL"),
        (
            &[
                ("CUSTOM_API_URL", "http://localhost/v1"),
                ("CUSTOM_READ_TIMEOUT", "soon"),
            ],
            "CUSTOM_READ_TIMEOUT",
        ),
        (
            &[
                ("OPENAI_API_KEY", "k"),
                ("OPENAI_BASE_URL", "api.openai.com"),
            ],
            "OPENAI_BASE_URL",
        ),
        (
            &[("GEMINI_API_KEY", "k"), ("GEMINI_BASE_URL", "ftp://x")],
            "GEMINI_BASE_URL",
        ),
        (&[("AZURE_OPENAI_API_KEY", "k")], "AZURE_OPENAI_ENDPOINT"),
        (
            &[("AZURE_OPENAI_ENDPOINT", "https://x.openai.azure.com")],
            "AZURE_OPENAI_API_KEY",
        ),
        (&[("CUSTOM_MODEL_NAME", "llama3.2")], "CUSTOM_API_URL"),
    ];
    for (settings, variable) in cases {
        let text = error_text(settings);
        assert!(text.contains(variable), "`{text}` should name {variable}");
        assert!(!text.contains('\n'), "one line: {text}");
    }
    let text = error_text(&[("LOG_LEVEL", "loud")]);
    assert!(text.contains("debug, info"), "lists the options: {text}");
}

#[test]
fn dotenv_file_and_precedence() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("zen.env");
    std::fs::write(
        &file,
        "# my settings\nGEMINI_API_KEY=from-file\nDEFAULT_MODEL=flash\nLOCALE=\"de-DE\"\n",
    )
    .unwrap();
    let path = file.to_str().unwrap();

    // The host map wins over the file.
    let sources = Sources {
        process_env: false,
        dotenv: true,
        overrides: [("ZEN_ENV_FILE", path), ("DEFAULT_MODEL", "pro")]
            .into_iter()
            .collect(),
    };
    let c = Config::from_sources(&sources).unwrap();
    assert_eq!(
        c.provider(ProviderKind::Gemini).unwrap().api_key.as_deref(),
        Some("from-file")
    );
    assert_eq!(c.default_model, "pro");
    assert_eq!(c.locale.as_deref(), Some("de-DE"));
}

#[test]
fn environment_beats_dotenv_unless_the_file_forces_itself() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.env");
    std::fs::write(&plain, "DEFAULT_MODEL=from-file\nLOCALE=en\n").unwrap();
    let forced = dir.path().join("forced.env");
    std::fs::write(
        &forced,
        "PAL_MCP_FORCE_ENV_OVERRIDE=true\nDEFAULT_MODEL=from-file\n",
    )
    .unwrap();
    let env: Settings = [("DEFAULT_MODEL", "from-env")].into_iter().collect();
    let host: Settings = [("LOCALE", "fr")].into_iter().collect();

    let merged = Sources::layer(
        Settings::from_dotenv_file(&plain, "test").unwrap(),
        env.clone(),
        host.clone(),
    );
    assert_eq!(merged.get("DEFAULT_MODEL"), Some("from-env"));
    assert_eq!(
        merged.get("LOCALE"),
        Some("fr"),
        "the host map wins over everything"
    );

    let merged = Sources::layer(
        Settings::from_dotenv_file(&forced, "test").unwrap(),
        env,
        host,
    );
    assert_eq!(merged.get("DEFAULT_MODEL"), Some("from-file"));
}

#[test]
fn dotenv_mistakes_name_the_file_or_variable() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.env");
    let sources = Sources {
        process_env: false,
        dotenv: true,
        overrides: [("ZEN_ENV_FILE", missing.to_str().unwrap())]
            .into_iter()
            .collect(),
    };
    let err = Config::from_sources(&sources).unwrap_err().to_string();
    assert!(
        err.contains("ZEN_ENV_FILE") && err.contains("nope.env"),
        "{err}"
    );

    let broken = dir.path().join("broken.env");
    std::fs::write(&broken, "GOOD=1\nthis line is not a setting\n").unwrap();
    let sources = Sources {
        process_env: false,
        dotenv: true,
        overrides: [("ZEN_ENV_FILE", broken.to_str().unwrap())]
            .into_iter()
            .collect(),
    };
    let err = Config::from_sources(&sources).unwrap_err().to_string();
    assert!(err.contains("broken.env"), "{err}");
}

#[test]
fn host_maps_read_nothing_else() {
    // PATH is always in the process environment; a host map does not see it.
    let c = config(&[("XAI_API_KEY", "x")]).unwrap();
    assert_eq!(c.providers.len(), 1);
    assert!(c.settings.is_set("XAI_API_KEY"));
    assert!(!c.settings.is_set("PATH"));
}
