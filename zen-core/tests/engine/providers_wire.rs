//! Wire-level tests of every provider against the stand-in server: URL path and
//! query, auth header, body shape, reply parsing and errors.

use std::time::Duration;

use serde_json::json;
use zen_core::models::ToolCategory;
use zen_core::providers::{GenerateRequest, ImageData, ProviderKind, ThinkingMode};
use zen_core::{Config, Engine, Error};
use zen_testkit::{Behaviour, RecordedRequest, StandIn};

/// An engine for wire tests: one attempt per call and no breaker, so each
/// failure reaches the test as the provider layer reported it (the retry and
/// breaker path is tested in resilience.rs).
fn engine(settings: &[(&str, &str)]) -> Engine {
    let mut all: Vec<(&str, &str)> =
        vec![("ZEN_MAX_RETRIES", "0"), ("ZEN_BREAKER_FAILURES", "1000")];
    all.extend_from_slice(settings);
    Engine::new(Config::from_map(all).unwrap()).unwrap()
}

async fn call(
    engine: &Engine,
    model: &str,
    request: GenerateRequest,
) -> zen_core::Result<zen_core::providers::GenerateResponse> {
    let model = engine.resolve_model(model).await?;
    engine.generate(&model, &request).await
}

fn request() -> GenerateRequest {
    GenerateRequest {
        prompt: "Review this function".into(),
        system_prompt: Some("You are a careful reviewer.".into()),
        temperature: Some(0.4),
        ..GenerateRequest::default()
    }
}

fn only_request(server: &StandIn) -> RecordedRequest {
    let requests = server.requests();
    assert_eq!(
        requests.len(),
        1,
        "expected exactly one request: {requests:#?}"
    );
    requests.into_iter().next().unwrap()
}

#[tokio::test]
async fn openai_chat_completions() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &base)]);

    let reply = call(&engine, "gpt4.1", request()).await.unwrap();

    let sent = only_request(&server);
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent.body["model"], "gpt-4.1");
    assert_eq!(sent.body["stream"], false);
    assert_eq!(sent.body["temperature"], 0.4);
    assert_eq!(sent.body["max_completion_tokens"], 32768);
    assert_eq!(
        sent.body["messages"],
        json!([
            {"role": "system", "content": "You are a careful reviewer."},
            {"role": "user", "content": "Review this function"}
        ])
    );
    assert!(
        reply.content.starts_with("Stand-in answer from gpt-4.1"),
        "{}",
        reply.content
    );
    assert_eq!(reply.provider, ProviderKind::OpenAi);
    assert_eq!(reply.finish_reason.as_deref(), Some("stop"));
    assert!(reply.usage.input_tokens > 0 && reply.usage.output_tokens > 0);
    assert_eq!(
        reply.usage.total_tokens,
        reply.usage.input_tokens + reply.usage.output_tokens
    );
}

#[tokio::test]
async fn openai_reasoning_models_get_no_temperature() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &base)]);

    call(&engine, "o3", request()).await.unwrap();
    let sent = only_request(&server);
    assert!(sent.body.get("temperature").is_none(), "{}", sent.body);
    assert_eq!(sent.body["max_completion_tokens"], 100000);

    // A fixed-temperature model that accepts the parameter gets 1.0.
    server.reset();
    call(&engine, "gpt-5", request()).await.unwrap();
    assert_eq!(only_request(&server).body["temperature"], 1.0);
}

#[tokio::test]
async fn openai_responses_api() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("OPENAI_API_KEY", "sk-test"), ("OPENAI_BASE_URL", &base)]);

    let mut req = request();
    req.thinking_mode = Some(ThinkingMode::Low);
    req.max_output_tokens = Some(2000);
    let reply = call(&engine, "gpt-5.5", req).await.unwrap();

    let sent = only_request(&server);
    assert_eq!(sent.path, "/v1/responses");
    assert_eq!(sent.header("authorization"), Some("Bearer sk-test"));
    assert_eq!(sent.body["model"], "gpt-5.5");
    assert_eq!(sent.body["instructions"], "You are a careful reviewer.");
    assert_eq!(
        sent.body["input"],
        json!([{"role": "user", "content": [{"type": "input_text", "text": "Review this function"}]}])
    );
    assert_eq!(sent.body["reasoning"], json!({"effort": "low"}));
    assert_eq!(sent.body["max_output_tokens"], 2000);
    assert!(sent.body.get("temperature").is_none());
    assert!(reply.content.starts_with("Stand-in answer from gpt-5.5"));
    // Unlike PAL, input and output tokens are read from the responses API's own fields.
    assert!(reply.usage.input_tokens > 0 && reply.usage.output_tokens > 0);

    // Without a thinking mode, the model's default effort is sent.
    server.reset();
    call(&engine, "terra", request()).await.unwrap();
    assert_eq!(
        only_request(&server).body["reasoning"],
        json!({"effort": "medium"})
    );
}

#[tokio::test]
async fn xai_uses_its_own_base_url_and_key() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/xai/v1", server.url());
    let engine = engine(&[("XAI_API_KEY", "xai-key"), ("XAI_BASE_URL", &base)]);

    let reply = call(&engine, "grok", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/xai/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer xai-key"));
    assert_eq!(sent.body["model"], "grok-4.7");
    assert_eq!(sent.body["max_tokens"], 500000);
    assert_eq!(reply.provider, ProviderKind::Xai);
}

#[tokio::test]
async fn openrouter_headers_and_catch_all() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/api/v1", server.url());
    let engine = engine(&[
        ("OPENROUTER_API_KEY", "or-key"),
        ("OPENROUTER_BASE_URL", &base),
        ("OPENROUTER_REFERER", "https://example.test/app"),
        ("OPENROUTER_TITLE", "My App"),
    ]);

    call(&engine, "opus", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/api/v1/chat/completions");
    assert_eq!(sent.header("authorization"), Some("Bearer or-key"));
    assert_eq!(
        sent.header("http-referer"),
        Some("https://example.test/app")
    );
    assert_eq!(sent.header("x-title"), Some("My App"));
    assert_eq!(sent.body["model"], "anthropic/claude-opus-5");

    // A vendor/model name the catalogue lacks still goes to OpenRouter, with
    // its `:free` variant kept.
    server.reset();
    let reply = call(&engine, "qwen/qwen3-coder:free", request())
        .await
        .unwrap();
    assert_eq!(only_request(&server).body["model"], "qwen/qwen3-coder:free");
    assert_eq!(reply.provider, ProviderKind::OpenRouter);

    // A catalogued model with a variant suffix keeps the suffix on the wire.
    server.reset();
    call(&engine, "deepseek:free", request()).await.unwrap();
    assert_eq!(
        only_request(&server).body["model"],
        "deepseek/deepseek-r1-0528:free"
    );
}

#[tokio::test]
async fn openrouter_default_headers_name_zen() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/api/v1", server.url());
    let engine = engine(&[
        ("OPENROUTER_API_KEY", "or-key"),
        ("OPENROUTER_BASE_URL", &base),
    ]);
    call(&engine, "haiku", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.header("http-referer"), Some(zen_core::HOMEPAGE));
    assert_eq!(sent.header("x-title"), Some("zen MCP server"));
}

#[tokio::test]
async fn dial_deployment_url_and_api_key_header() {
    let server = StandIn::start().await.unwrap();
    let host = server.url();
    let engine = engine(&[
        ("DIAL_API_KEY", "dial-key"),
        ("DIAL_API_HOST", &host),
        ("DIAL_API_VERSION", "2025-01-01-preview"),
    ]);

    let reply = call(&engine, "sonnet-4.1", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(
        sent.path,
        "/openai/deployments/anthropic.claude-sonnet-4.1-20250805-v1:0/chat/completions"
    );
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2025-01-01-preview")
    );
    assert_eq!(sent.header("api-key"), Some("dial-key"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.body["model"],
        "anthropic.claude-sonnet-4.1-20250805-v1:0"
    );
    assert_eq!(sent.body["max_tokens"], 64000);
    assert_eq!(reply.provider, ProviderKind::Dial);

    // A host written with the /openai suffix is not doubled.
    let with_suffix = format!("{}/openai", server.url());
    let engine2 = engine_with(&[
        ("DIAL_API_KEY", "dial-key"),
        ("DIAL_API_HOST", &with_suffix),
    ]);
    server.reset();
    call(&engine2, "o3", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(
        sent.path,
        "/openai/deployments/o3-2025-04-16/chat/completions"
    );
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2024-12-01-preview")
    );
}

fn engine_with(settings: &[(&str, &str)]) -> Engine {
    engine(settings)
}

#[tokio::test]
async fn azure_deployments_chat_and_responses() {
    let server = StandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let catalogue = dir.path().join("azure_models.json");
    std::fs::write(
        &catalogue,
        r#"{"_README": {"note": "our deployments"}, "models": [
            {"model_name": "gpt-4.1", "deployment": "prod-gpt41", "aliases": ["azure-41"],
             "context_window": 1047576, "max_output_tokens": 32768, "supports_images": true},
            {"model_name": "gpt-5.5", "deployment_name": "prod-gpt55", "context_window": 1050000,
             "max_output_tokens": 128000, "supports_temperature": false,
             "temperature_constraint": "fixed", "use_openai_response_api": true,
             "default_reasoning_effort": "high", "supports_extended_thinking": true}
        ]}"#,
    )
    .unwrap();
    let endpoint = server.url();
    let engine = engine(&[
        ("AZURE_OPENAI_API_KEY", "az-key"),
        ("AZURE_OPENAI_ENDPOINT", &endpoint),
        ("AZURE_OPENAI_API_VERSION", "2025-03-01-preview"),
        ("AZURE_MODELS_CONFIG_PATH", catalogue.to_str().unwrap()),
    ]);

    let reply = call(&engine, "azure-41", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/openai/deployments/prod-gpt41/chat/completions");
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2025-03-01-preview")
    );
    assert_eq!(sent.header("api-key"), Some("az-key"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(sent.body["model"], "prod-gpt41");
    assert_eq!(sent.body["max_completion_tokens"], 32768);
    assert_eq!(reply.provider, ProviderKind::Azure);

    // The deployment name itself resolves too; flagged models use the responses API.
    server.reset();
    call(&engine, "prod-gpt55", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/openai/responses");
    assert_eq!(
        sent.query.as_deref(),
        Some("api-version=2025-03-01-preview")
    );
    assert_eq!(sent.body["model"], "prod-gpt55");
    assert_eq!(sent.body["reasoning"], json!({"effort": "high"}));
}

#[tokio::test]
async fn custom_endpoint_without_and_with_key() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    let reply = call(&engine, "local-llama", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization"),
        None,
        "no key configured, none sent"
    );
    assert_eq!(sent.body["model"], "llama3.2");
    assert_eq!(sent.body["max_tokens"], 8192);
    assert_eq!(reply.provider, ProviderKind::Custom);

    let keyed = engine_with(&[
        ("CUSTOM_API_URL", &base),
        ("CUSTOM_API_KEY", "local-secret"),
    ]);
    server.reset();
    call(&keyed, "llama3.2:latest", request()).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.header("authorization"), Some("Bearer local-secret"));
    assert_eq!(
        sent.body["model"], "llama3.2:latest",
        "the tag is kept on the wire"
    );
}

#[tokio::test]
async fn custom_models_named_or_listed_by_the_endpoint_are_usable() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    server.set_models(&["mistral-small3.2:24b", "phi4:latest"]);
    let engine = engine(&[
        ("CUSTOM_API_URL", &base),
        ("CUSTOM_MODEL_NAME", "my-finetune"),
    ]);

    // Named in CUSTOM_MODEL_NAME, absent from every catalogue.
    call(&engine, "my-finetune", request()).await.unwrap();
    assert_eq!(server.last_request().unwrap().body["model"], "my-finetune");

    // Listed by the endpoint's /models: found on first use.
    server.reset();
    let reply = call(&engine, "mistral-small3.2:24b", request())
        .await
        .unwrap();
    let requests = server.requests();
    assert_eq!(requests[0].method, "GET");
    assert_eq!(requests[0].path, "/v1/models");
    assert_eq!(requests[1].body["model"], "mistral-small3.2:24b");
    assert_eq!(reply.provider, ProviderKind::Custom);

    // `phi4` matches the endpoint's `phi4:latest`.
    let names: Vec<String> = engine.models().into_iter().map(|m| m.api_name).collect();
    assert!(names.contains(&"phi4:latest".to_owned()), "{names:?}");
    call(&engine, "phi4", request()).await.unwrap();
}

#[tokio::test]
async fn auto_mode_picks_among_the_models_the_endpoint_serves() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    // zen's custom catalogue also knows qwen3-coder:30b and gemma4:e4b,
    // which this endpoint does not serve.
    server.set_models(&["llama3.2:latest", "mistral-small3.2:24b"]);
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    for category in [
        ToolCategory::Balanced,
        ToolCategory::ExtendedReasoning,
        ToolCategory::FastResponse,
    ] {
        let model = engine.select_model(None, category).await.unwrap();
        assert!(
            ["llama3.2:latest", "mistral-small3.2:24b"].contains(&model.api_name.as_str()),
            "{category:?}: {}",
            model.api_name
        );
    }
    let names: Vec<String> = engine.models().into_iter().map(|m| m.api_name).collect();
    assert!(
        !names
            .iter()
            .any(|n| n.starts_with("qwen3-coder") || n.starts_with("gemma4")),
        "{names:?}"
    );
    // The catalogue's llama3.2, sent under the id the endpoint listed.
    assert!(names.contains(&"llama3.2:latest".to_owned()), "{names:?}");
    let llama = engine.resolve_model("local-llama").await.unwrap();
    assert_eq!(llama.api_name, "llama3.2:latest");
    assert_eq!(llama.spec.model_name, "llama3.2");

    // What the endpoint lists under a tag is the catalogue's model when the
    // untagged name is the catalogue's name, not merely an alias.
    server.set_models(&["llama3.2:3b", "gemma4:latest"]);
    drop(engine);
    let tagged = self::engine(&[("CUSTOM_API_URL", &base)]);
    tagged.discover_custom_models().await.unwrap();
    let models = tagged.models();
    let listed: Vec<(&str, &str)> = models
        .iter()
        .map(|m| (m.api_name.as_str(), m.spec.model_name.as_str()))
        .collect();
    assert!(listed.contains(&("llama3.2:3b", "llama3.2")), "{listed:?}");
    assert!(
        listed.contains(&("gemma4:latest", "gemma4:e4b")),
        "{listed:?}"
    );
    assert_eq!(listed.len(), 2, "{listed:?}");
    let gemma = tagged.resolve_model("gemma4:latest").await.unwrap();
    assert_eq!(gemma.api_name, "gemma4:latest");
}

#[tokio::test]
async fn a_failing_model_list_is_asked_for_at_most_once_a_minute() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    server.script(Behaviour {
        status: Some(503),
        path_contains: Some("/models".into()),
        always: true,
        ..Behaviour::default()
    });
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    for _ in 0..3 {
        // Auto mode still works from the catalogue.
        engine
            .select_model(None, ToolCategory::Balanced)
            .await
            .unwrap();
    }
    let asks = server
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/models"))
        .count();
    assert_eq!(asks, 1);
}

#[tokio::test]
async fn gemini_generate_content() {
    let server = StandIn::start().await.unwrap();
    let base = server.url();
    let engine = engine(&[("GEMINI_API_KEY", "g-key"), ("GEMINI_BASE_URL", &base)]);

    let mut req = request();
    req.thinking_mode = Some(ThinkingMode::High);
    req.images = vec![ImageData::from_bytes(
        "image/png",
        b"\x89PNG fake image bytes",
    )];
    let reply = call(&engine, "gemini-2.5-pro", req).await.unwrap();

    let sent = only_request(&server);
    assert_eq!(sent.path, "/v1beta/models/gemini-2.5-pro:generateContent");
    assert_eq!(sent.header("x-goog-api-key"), Some("g-key"));
    assert_eq!(sent.header("authorization"), None);
    assert_eq!(
        sent.body["systemInstruction"],
        json!({"parts": [{"text": "You are a careful reviewer."}]})
    );
    let parts = &sent.body["contents"][0]["parts"];
    assert_eq!(parts[0]["text"], "Review this function");
    assert_eq!(parts[1]["inlineData"]["mimeType"], "image/png");
    let config = &sent.body["generationConfig"];
    assert_eq!(config["temperature"], 0.4);
    assert_eq!(config["maxOutputTokens"], 65536);
    // 67% of the model's 32768-token thinking budget.
    assert_eq!(config["thinkingConfig"], json!({"thinkingBudget": 21954}));
    assert!(
        reply
            .content
            .starts_with("Stand-in answer from gemini-2.5-pro")
    );
    assert_eq!(reply.finish_reason.as_deref(), Some("STOP"));
    assert!(reply.usage.input_tokens > 0);

    // Gemini 3 and later take thinking levels.
    server.reset();
    let mut req = request();
    req.thinking_mode = Some(ThinkingMode::Minimal);
    call(&engine, "flash", req).await.unwrap();
    let sent = only_request(&server);
    assert_eq!(sent.path, "/v1beta/models/gemini-3.8-flash:generateContent");
    assert_eq!(
        sent.body["generationConfig"]["thinkingConfig"],
        json!({"thinkingLevel": "LOW"})
    );
}

#[tokio::test]
async fn gemini_blocked_and_empty_replies_are_errors() {
    let server = StandIn::start().await.unwrap();
    let base = server.url();
    let engine = engine(&[("GEMINI_API_KEY", "g-key"), ("GEMINI_BASE_URL", &base)]);

    server.script(Behaviour {
        blocked: true,
        ..Behaviour::default()
    });
    let err = call(&engine, "flash", request()).await.unwrap_err();
    assert!(err.to_string().contains("safety"), "{err}");
    assert!(!err.is_retryable());

    server.script(Behaviour {
        empty: true,
        ..Behaviour::default()
    });
    let err = call(&engine, "flash", request()).await.unwrap_err();
    assert!(err.to_string().contains("empty reply"), "{err}");

    server.script(Behaviour {
        empty: true,
        finish_reason: Some("MAX_TOKENS".into()),
        ..Behaviour::default()
    });
    let err = call(&engine, "flash", request()).await.unwrap_err();
    assert!(err.to_string().contains("output tokens"), "{err}");

    server.script(Behaviour {
        status: Some(400),
        error_message: Some("API key not valid".into()),
        error_code: Some("INVALID_ARGUMENT".into()),
        ..Behaviour::default()
    });
    let err = call(&engine, "flash", request()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider {
                status: Some(400),
                retryable: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("API key not valid"), "{err}");
}

#[tokio::test]
async fn http_failures_map_to_actionable_errors() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[
        ("OPENAI_API_KEY", "sk-test"),
        ("OPENAI_BASE_URL", &base),
        ("CUSTOM_READ_TIMEOUT", "0.5"),
    ]);

    server.script(Behaviour {
        status: Some(429),
        retry_after: Some(7),
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    match &err {
        Error::RateLimited {
            retry_after,
            provider,
            ..
        } => {
            assert_eq!(*retry_after, Some(Duration::from_secs(7)));
            assert_eq!(*provider, ProviderKind::OpenAi);
        }
        other => panic!("expected rate limited, got {other:?}"),
    }
    assert!(err.is_retryable());

    for status in [500, 502, 503, 504] {
        server.script(Behaviour {
            status: Some(status),
            ..Behaviour::default()
        });
        let err = call(&engine, "o3", request()).await.unwrap_err();
        assert!(
            matches!(err, Error::Provider { status: Some(s), retryable: true, .. } if s == status),
            "{err:?}"
        );
    }

    server.script(Behaviour {
        status: Some(400),
        error_code: Some("context_length_exceeded".into()),
        error_message: Some("This model's maximum context length is 200000 tokens".into()),
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    assert!(!err.is_retryable());
    assert!(err.to_string().contains("context window"), "{err}");

    for status in [401, 403, 404] {
        server.script(Behaviour {
            status: Some(status),
            ..Behaviour::default()
        });
        let err = call(&engine, "o3", request()).await.unwrap_err();
        assert!(!err.is_retryable(), "{status} must not be retryable");
    }

    server.script(Behaviour {
        delay_ms: Some(3000),
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert!(err.is_retryable());

    server.script(Behaviour {
        empty: true,
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    assert!(err.to_string().contains("empty reply"), "{err}");

    server.script(Behaviour {
        blocked: true,
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    assert!(err.to_string().contains("content filter"), "{err}");

    server.script(Behaviour {
        body: Some(json!({"unexpected": true})),
        ..Behaviour::default()
    });
    let err = call(&engine, "o3", request()).await.unwrap_err();
    assert!(err.to_string().contains("no choices"), "{err}");
}

#[tokio::test]
async fn connection_refused_is_a_retryable_provider_error() {
    // Bind and drop a listener to get a port nobody serves.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}/v1");
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    let err = call(&engine, "local-llama", request()).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider {
                status: None,
                retryable: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("can't connect"), "{err}");
}

#[tokio::test]
async fn images_are_refused_for_models_without_vision() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    let mut req = request();
    req.images = vec![ImageData::from_data_url("data:image/png;base64,iVBORw0KGgo=").unwrap()];
    let err = call(&engine, "local-llama", req).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArguments { ref field, .. } if field == "images"),
        "{err:?}"
    );
    assert!(server.requests().is_empty(), "nothing may be sent");

    // Vision models get them as data URLs.
    let openai_base = format!("{}/v1", server.url());
    let vision = engine_with(&[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", &openai_base)]);
    let mut req = request();
    req.images = vec![ImageData::from_data_url("data:image/png;base64,iVBORw0KGgo=").unwrap()];
    call(&vision, "gpt-4.1", req).await.unwrap();
    let content = &only_request(&server).body["messages"][1]["content"];
    assert_eq!(
        content[1],
        json!({"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}})
    );
}

#[tokio::test]
async fn every_request_names_zen_as_user_agent() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let engine = engine(&[("CUSTOM_API_URL", &base)]);
    for _ in 0..3 {
        call(&engine, "local-llama", request()).await.unwrap();
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    let agent: Vec<&str> = requests
        .iter()
        .filter_map(|r| r.header("user-agent"))
        .collect();
    assert_eq!(agent.len(), 3);
    assert!(agent.iter().all(|a| a.starts_with("zen/")), "{agent:?}");
}
