//! The model catalogue as users meet it: names, aliases, provider priority,
//! restrictions, auto mode, their own catalogue files, and the errors.

use std::path::{Path, PathBuf};

use zen_core::models::{Catalogue, ModelRegistry, ToolCategory};
use zen_core::providers::ProviderKind;
use zen_core::{Config, Error, ErrorKind};

fn registry(settings: &[(&str, &str)]) -> zen_core::Result<ModelRegistry> {
    ModelRegistry::new(&Config::from_map(settings.iter().copied())?)
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

fn resolved(r: &ModelRegistry, name: &str) -> (ProviderKind, String) {
    let m = r
        .resolve(name)
        .unwrap_or_else(|e| panic!("{name} should resolve: {e}"));
    (m.provider, m.api_name)
}

#[test]
fn exact_case_insensitive_and_alias() {
    let r = registry(&[("OPENAI_API_KEY", "k")]).unwrap();
    assert_eq!(resolved(&r, "gpt-5.5").1, "gpt-5.5");
    assert_eq!(resolved(&r, "GPT-5.5").1, "gpt-5.5");
    assert_eq!(resolved(&r, "codex").1, "gpt-5.3-codex");
    assert_eq!(resolved(&r, "Mini").1, "gpt-5-mini");
}

#[test]
fn native_providers_win_over_openrouter() {
    let r = registry(&[("GEMINI_API_KEY", "g"), ("OPENROUTER_API_KEY", "r")]).unwrap();
    assert_eq!(
        resolved(&r, "flash"),
        (ProviderKind::Gemini, "gemini-3.8-flash".into())
    );
    assert_eq!(
        resolved(&r, "pro"),
        (ProviderKind::Gemini, "gemini-4-argon".into())
    );
    assert_eq!(
        resolved(&r, "opus"),
        (ProviderKind::OpenRouter, "anthropic/claude-opus-5".into())
    );
    let only_router = registry(&[("OPENROUTER_API_KEY", "r")]).unwrap();
    assert_eq!(
        resolved(&only_router, "flash"),
        (ProviderKind::OpenRouter, "google/gemini-3.8-flash".into())
    );
}

#[test]
fn allow_lists_restrict_and_name_their_variable() {
    let r = registry(&[
        ("OPENAI_API_KEY", "k"),
        ("GEMINI_API_KEY", "g"),
        ("OPENAI_ALLOWED_MODELS", "o3, MINI"),
        ("GOOGLE_ALLOWED_MODELS", "flash"),
    ])
    .unwrap();
    assert_eq!(resolved(&r, "o3").1, "o3");
    assert_eq!(
        resolved(&r, "gpt-5-mini").1,
        "gpt-5-mini",
        "allowed through its alias"
    );
    assert_eq!(resolved(&r, "gemini-3.8-flash").1, "gemini-3.8-flash");
    let err = r.resolve("gpt-5.5").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ModelNotAvailable);
    let text = err.to_string();
    assert!(text.contains("OPENAI_ALLOWED_MODELS"), "{text}");
    assert!(
        text.contains("Available models:") && text.contains("o3"),
        "{text}"
    );
    let err = r.resolve("pro").unwrap_err().to_string();
    assert!(err.contains("GOOGLE_ALLOWED_MODELS"), "{err}");

    let names: Vec<String> = r.available().into_iter().map(|m| m.api_name).collect();
    assert_eq!(names, vec!["gemini-3.8-flash", "gpt-5-mini", "o3"]);
}

#[test]
fn disabled_models_including_provider_scoped_entries() {
    let r = registry(&[
        ("OPENAI_API_KEY", "k"),
        ("OPENROUTER_API_KEY", "r"),
        ("DISABLED_MODELS", "gpt-5.5, openrouter:o3"),
    ])
    .unwrap();
    let err = r.resolve("gpt5.5").unwrap_err().to_string();
    assert!(err.contains("DISABLED_MODELS"), "{err}");
    // Scoped to OpenRouter: OpenAI still serves o3 ...
    assert_eq!(resolved(&r, "o3"), (ProviderKind::OpenAi, "o3".into()));
    // ... and OpenRouter's own o3 entry is gone from the list.
    assert!(
        !r.available()
            .iter()
            .any(|m| m.provider == ProviderKind::OpenRouter && m.api_name == "openai/o3")
    );
}

#[test]
fn unknown_models_list_what_is_available_and_suggest_one() {
    let r = registry(&[("GEMINI_API_KEY", "g")]).unwrap();
    let err = r.resolve("flsh").unwrap_err();
    let Error::ModelNotAvailable { requested, message } = &err else {
        panic!("wrong error: {err:?}");
    };
    assert_eq!(requested, "flsh");
    assert!(message.contains("not known"), "{message}");
    assert!(message.contains("gemini-4-argon"), "{message}");
    assert!(message.contains("Did you mean `flash`?"), "{message}");

    // Another provider's model says which setting turns that provider on,
    // rather than suggesting a look-alike (`mini` in `gemini-pro`).
    let openai = registry(&[("OPENAI_API_KEY", "k")]).unwrap();
    let message = openai.resolve("gemini-2.5-pro").unwrap_err().to_string();
    assert!(
        message.contains("is a Google Gemini model: set GEMINI_API_KEY"),
        "{message}"
    );
    let message = openai.resolve("gemini-prox").unwrap_err().to_string();
    assert!(!message.contains("`mini`"), "{message}");

    // A bare unknown name is not sent to OpenRouter; a vendor/model name is.
    let router = registry(&[("OPENROUTER_API_KEY", "r")]).unwrap();
    assert!(router.resolve("gpt5x").is_err());
    assert_eq!(
        resolved(&router, "acme/new-model").0,
        ProviderKind::OpenRouter
    );
}

#[test]
fn no_provider_is_its_own_error() {
    let r = registry(&[]).unwrap();
    let err = r.resolve("flash").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NoProvider);
    assert!(err.to_string().contains("GEMINI_API_KEY"));
    assert_eq!(
        r.auto_select(ToolCategory::FastResponse)
            .unwrap_err()
            .kind(),
        ErrorKind::NoProvider
    );
}

#[test]
fn auto_mode_picks_by_category() {
    let r = registry(&[("GEMINI_API_KEY", "g"), ("OPENAI_API_KEY", "k")]).unwrap();
    let pick = |c| r.auto_select(c).unwrap().api_name;
    assert_eq!(pick(ToolCategory::ExtendedReasoning), "gpt-6.1-sol");
    assert_eq!(pick(ToolCategory::FastResponse), "gemini-3.8-flash");

    let gemini = registry(&[("GEMINI_API_KEY", "g")]).unwrap();
    assert_eq!(
        gemini
            .auto_select(ToolCategory::ExtendedReasoning)
            .unwrap()
            .api_name,
        "gemini-4-argon"
    );
    assert_eq!(
        gemini
            .auto_select(ToolCategory::FastResponse)
            .unwrap()
            .api_name,
        "gemini-3.8-flash"
    );

    // Only a local endpoint: auto mode still works (PAL issue #344).
    let local = registry(&[("CUSTOM_API_URL", "http://localhost:11434/v1")]).unwrap();
    assert_eq!(
        local.auto_select(ToolCategory::Balanced).unwrap().provider,
        ProviderKind::Custom
    );
}

#[test]
fn preferred_models_come_first_in_auto_mode() {
    let r = registry(&[
        ("GEMINI_API_KEY", "g"),
        ("OPENAI_API_KEY", "k"),
        ("PREFERRED_MODELS", "not-a-model, o4-mini, flash"),
    ])
    .unwrap();
    assert_eq!(
        r.auto_select(ToolCategory::ExtendedReasoning)
            .unwrap()
            .api_name,
        "o4-mini"
    );
}

#[test]
fn select_honours_named_default_and_auto() {
    let named = registry(&[("OPENAI_API_KEY", "k"), ("DEFAULT_MODEL", "o3")]).unwrap();
    assert_eq!(
        named
            .select(None, ToolCategory::FastResponse)
            .unwrap()
            .api_name,
        "o3"
    );
    assert_eq!(
        named
            .select(Some("mini"), ToolCategory::FastResponse)
            .unwrap()
            .api_name,
        "gpt-5-mini"
    );
    let auto = registry(&[("OPENAI_API_KEY", "k")]).unwrap();
    assert!(
        auto.select(Some("auto"), ToolCategory::FastResponse)
            .is_ok()
    );
}

#[test]
fn hidden_models_answer_only_to_their_name_until_allowed() {
    let r = registry(&[("OPENAI_API_KEY", "k")]).unwrap();
    assert_eq!(resolved(&r, "gpt-4o").1, "gpt-4o");
    assert!(!r.available().iter().any(|m| m.api_name == "gpt-4o"));
    let allowed = registry(&[
        ("OPENAI_API_KEY", "k"),
        ("OPENAI_ALLOWED_MODELS", "gpt-4o,o3"),
    ])
    .unwrap();
    assert!(allowed.available().iter().any(|m| m.api_name == "gpt-4o"));
}

#[test]
fn a_pal_users_custom_models_json_loads_unchanged() {
    let path = fixture("pal_custom_models.json");
    let r = registry(&[
        ("CUSTOM_API_URL", "http://localhost:11434/v1"),
        ("CUSTOM_MODELS_CONFIG_PATH", path.to_str().unwrap()),
    ])
    .unwrap();
    let llama = r.resolve("local-llama").unwrap();
    assert_eq!(llama.api_name, "llama3.2");
    assert_eq!(llama.spec.context_window, 128_000);
    let qwen = r.resolve("coder").unwrap();
    assert_eq!(qwen.api_name, "qwen2.5-coder:32b");
    assert!(qwen.spec.allow_code_generation);
    assert_eq!(
        qwen.spec.friendly_name.as_deref(),
        Some("Qwen Coder (local)")
    );
    let r1 = r.resolve("r1-local").unwrap();
    assert_eq!(r1.spec.effective_temperature(0.3), None);
    // The user's file replaces the built-in one.
    assert!(r.resolve("qwen-coder").is_err());
    let sources = r.catalogue_sources();
    assert_eq!(sources[0].1, path.display().to_string());
}

#[test]
fn user_catalogue_mistakes_name_file_and_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            r#"{"models": [{"model_name": "a", "max_tokens": 5}]}"#,
            "max_tokens",
        ),
        (
            r#"{"models": [{"model_name": "a", "aliases": ["x"]}, {"model_name": "b", "aliases": ["X"]}]}"#,
            "`X`",
        ),
        (
            r#"{"models": [{"model_name": "a", "intelligence_score": 40}]}"#,
            "intelligence_score",
        ),
        (
            r#"{"models": [{"model_name": "a", "temperature_constraint": "wobbly"}]}"#,
            "wobbly",
        ),
        (r#"{"models": [{"aliases": ["x"]}]}"#, "model_name"),
        (r#"{"models": {"model_name": "a"}}"#, "array"),
        (r#"{"models": [ {"model_name": "a"}, ]}"#, "not valid JSON"),
    ];
    for (i, (text, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("openai_{i}.json"));
        std::fs::write(&path, text).unwrap();
        let err = registry(&[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_MODELS_CONFIG_PATH", path.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Catalogue);
        let message = err.to_string();
        assert!(message.contains(&format!("openai_{i}.json")), "{message}");
        assert!(
            message.contains(expected),
            "`{message}` should mention {expected}"
        );
    }
    let missing = dir.path().join("missing.json");
    let err = registry(&[
        ("OPENAI_API_KEY", "k"),
        ("OPENAI_MODELS_CONFIG_PATH", missing.to_str().unwrap()),
    ])
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("missing.json") && err.contains("OPENAI_MODELS_CONFIG_PATH"),
        "{err}"
    );
}

/// PAL's own shipped catalogues, when CI provides them (it unpacks the
/// `pal-mcp-server` package and sets ZEN_TEST_PAL_CONF to its `conf/`).
#[test]
fn pal_shipped_catalogues_load_unchanged() {
    let Ok(dir) = std::env::var("ZEN_TEST_PAL_CONF") else {
        eprintln!("ZEN_TEST_PAL_CONF is not set; .ci/run sets it to PAL's conf/ directory");
        return;
    };
    let files = [
        ("gemini_models.json", ProviderKind::Gemini),
        ("openai_models.json", ProviderKind::OpenAi),
        ("xai_models.json", ProviderKind::Xai),
        ("openrouter_models.json", ProviderKind::OpenRouter),
        ("dial_models.json", ProviderKind::Dial),
        ("custom_models.json", ProviderKind::Custom),
        ("azure_models.json", ProviderKind::Azure),
    ];
    for (file, kind) in files {
        let path = Path::new(&dir).join(file);
        let catalogue = Catalogue::from_file(&path, kind)
            .unwrap_or_else(|e| panic!("PAL's {file} must load: {e}"));
        if kind != ProviderKind::Azure {
            assert!(!catalogue.models().is_empty(), "{file} is empty");
        }
    }
}
