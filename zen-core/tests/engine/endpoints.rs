//! Several endpoints for one provider — `CUSTOM_API_URL`,
//! `AZURE_OPENAI_ENDPOINT` and every provider's base address as comma lists —
//! balanced by health and latency, against two stand-in servers.

use std::time::Duration;

use serde_json::Value;
use zen_core::providers::{EXPLORE_EVERY, GenerateRequest, GenerateResponse, ProviderKind};
use zen_core::{Config, Engine, Error, ErrorKind};
use zen_testkit::{Behaviour, StandIn};

fn settings(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut all = vec![("ZEN_RETRY_BASE_MS".to_owned(), "1".to_owned())];
    all.extend(
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    all
}

fn custom(servers: &[&StandIn], extra: &[(&str, &str)]) -> Engine {
    let urls: Vec<String> = servers.iter().map(|s| format!("{}/v1", s.url())).collect();
    let urls = urls.join(",");
    let mut pairs = vec![("CUSTOM_API_URL", urls.as_str())];
    pairs.extend_from_slice(extra);
    Engine::new(Config::from_map(settings(&pairs)).unwrap()).unwrap()
}

async fn ask(engine: &Engine, model: &str) -> zen_core::Result<GenerateResponse> {
    let model = engine.resolve_model(model).await?;
    engine
        .generate(&model, &GenerateRequest::new("hello"))
        .await
}

fn always(behaviour: Behaviour) -> Behaviour {
    Behaviour {
        always: true,
        ..behaviour
    }
}

fn failing(status: u16) -> Behaviour {
    Behaviour {
        status: Some(status),
        ..Behaviour::default()
    }
}

async fn provider_stats(engine: &Engine, id: &str) -> Value {
    engine.stats().await["providers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["provider"] == id)
        .cloned()
        .unwrap()
}

#[tokio::test]
async fn a_failing_endpoint_is_avoided_while_the_other_is_healthy() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    a.script(always(failing(503)));
    let engine = custom(&[&a, &b], &[]);
    for _ in 0..20 {
        ask(&engine, "local-llama").await.unwrap();
    }
    assert_eq!(a.requests().len(), 1, "tried once, then avoided");
    assert_eq!(b.requests().len(), 20);
    let stats = provider_stats(&engine, "custom").await;
    assert_eq!(stats["breaker"], "closed", "the provider stays up");
    let endpoints = stats["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0]["breaker"], "open");
    assert_eq!(endpoints[0]["failures"], 1);
    assert_eq!(endpoints[1]["breaker"], "closed");
    assert_eq!(endpoints[1]["calls"], 20);
}

#[tokio::test]
async fn a_transient_failure_is_retried_on_the_other_endpoint() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    a.script(failing(502));
    let engine = custom(&[&a, &b], &[]);
    let reply = ask(&engine, "local-llama").await.unwrap();
    assert!(reply.content.starts_with("Stand-in answer"));
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));

    // A bad request says nothing about an endpoint's health: not retried,
    // and the endpoint is not avoided.
    b.script(failing(400));
    let before = a.requests().len() + b.requests().len();
    let err = ask(&engine, "local-llama").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(a.requests().len() + b.requests().len(), before + 1);
    let endpoints = provider_stats(&engine, "custom").await["endpoints"].clone();
    assert_eq!(endpoints[1]["breaker"], "closed");
}

#[tokio::test]
async fn a_retry_at_another_endpoint_does_not_wait() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    // An hour's Retry-After is more than zen waits for (it gives up at
    // once with one endpoint); it speaks only for the endpoint that sent it.
    a.script(Behaviour {
        retry_after: Some(3600),
        ..failing(429)
    });
    let engine = custom(&[&a, &b], &[("ZEN_RETRY_BASE_MS", "60000")]);
    let reply = tokio::time::timeout(Duration::from_secs(20), ask(&engine, "local-llama"))
        .await
        .expect("the retry went to the healthy endpoint without a backoff")
        .unwrap();
    assert!(reply.content.starts_with("Stand-in answer"));
    assert_eq!((a.requests().len(), b.requests().len()), (1, 1));

    let lone = StandIn::start().await.unwrap();
    lone.script(Behaviour {
        retry_after: Some(3600),
        ..failing(429)
    });
    let single = custom(&[&lone], &[]);
    let err = ask(&single, "local-llama").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited, "{err}");
}

#[tokio::test]
async fn a_failed_endpoint_gets_a_trial_after_its_cool_down() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    a.script(failing(503));
    let engine = custom(&[&a, &b], &[("ZEN_BREAKER_COOLDOWN_SECS", "0.2")]);
    ask(&engine, "local-llama").await.unwrap();
    assert_eq!(a.requests().len(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    ask(&engine, "local-llama").await.unwrap();
    assert_eq!(
        a.requests().len(),
        2,
        "the trial went to the recovered endpoint"
    );
    let endpoints = provider_stats(&engine, "custom").await["endpoints"].clone();
    assert_eq!(endpoints[0]["breaker"], "closed");
}

#[tokio::test]
async fn a_slow_endpoint_gets_fewer_calls_than_a_fast_one() {
    let (slow, fast) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    slow.script(always(Behaviour {
        delay_ms: Some(100),
        ..Behaviour::default()
    }));
    let engine = custom(&[&slow, &fast], &[]);
    let calls = 3 * EXPLORE_EVERY as usize;
    for _ in 0..calls {
        ask(&engine, "local-llama").await.unwrap();
    }
    let (to_slow, to_fast) = (slow.requests().len(), fast.requests().len());
    assert_eq!(to_slow + to_fast, calls);
    assert!(to_slow >= 1, "the slow one is still tried now and then");
    assert!(
        to_slow * 3 < to_fast,
        "slow {to_slow}, fast {to_fast}: most calls go to the fast endpoint"
    );
    let endpoints = provider_stats(&engine, "custom").await["endpoints"].clone();
    assert!(
        endpoints[0]["latency_ms"].as_f64().unwrap() > endpoints[1]["latency_ms"].as_f64().unwrap()
    );
}

#[tokio::test]
async fn concurrent_calls_are_spread_over_healthy_endpoints() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    for server in [&a, &b] {
        server.script(always(Behaviour {
            delay_ms: Some(50),
            ..Behaviour::default()
        }));
    }
    let engine = custom(&[&a, &b], &[("ZEN_MAX_CONCURRENT_CUSTOM", "20")]);
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { ask(&engine, "local-llama").await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    let (to_a, to_b) = (a.requests().len(), b.requests().len());
    assert_eq!(to_a + to_b, 20);
    assert!(to_a >= 5 && to_b >= 5, "a {to_a}, b {to_b}");
}

#[tokio::test]
async fn when_every_endpoint_fails_the_provider_error_comes_back() {
    let (a, b) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    a.script(always(failing(503)));
    b.script(always(failing(503)));
    let engine = custom(&[&a, &b], &[("ZEN_MAX_RETRIES", "2")]);
    let err = ask(&engine, "local-llama").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider {
                provider: ProviderKind::Custom,
                status: Some(503),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("(endpoint http://127.0.0.1:"),
        "the message names the endpoint: {err}"
    );
    let (to_a, to_b) = (a.requests().len(), b.requests().len());
    assert_eq!(to_a + to_b, 3, "the first try and two retries");
    assert!(
        to_a >= 1 && to_b >= 1,
        "both were tried: a {to_a}, b {to_b}"
    );

    // Three failures in a row (ZEN_BREAKER_FAILURES), on every endpoint,
    // open the provider's breaker: no more requests.
    let err = ask(&engine, "local-llama").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::CircuitOpen, "{err}");
    assert_eq!(a.requests().len() + b.requests().len(), 3);
}

#[tokio::test]
async fn azure_regions_are_balanced_too() {
    let (east, west) = (
        StandIn::start().await.unwrap(),
        StandIn::start().await.unwrap(),
    );
    let dir = tempfile::tempdir().unwrap();
    let catalogue = dir.path().join("azure_models.json");
    std::fs::write(
        &catalogue,
        r#"{"models": [{"model_name": "gpt-4.1", "deployment": "prod-gpt41",
            "aliases": ["azure-41"], "context_window": 1047576, "max_output_tokens": 32768}]}"#,
    )
    .unwrap();
    east.script(always(failing(500)));
    let endpoints = format!("{}/openai,{}", east.url(), west.url());
    let pairs = [
        ("AZURE_OPENAI_API_KEY", "az-key"),
        ("AZURE_OPENAI_ENDPOINT", endpoints.as_str()),
        ("AZURE_MODELS_CONFIG_PATH", catalogue.to_str().unwrap()),
    ];
    let engine = Engine::new(Config::from_map(settings(&pairs)).unwrap()).unwrap();
    for _ in 0..5 {
        ask(&engine, "azure-41").await.unwrap();
    }
    assert_eq!(east.requests().len(), 1);
    assert_eq!(west.requests().len(), 5);
    let sent = west.last_request().unwrap();
    assert_eq!(sent.path, "/openai/deployments/prod-gpt41/chat/completions");
    assert_eq!(sent.header("api-key"), Some("az-key"));
    let failed = east.last_request().unwrap();
    assert_eq!(
        failed.path, "/openai/deployments/prod-gpt41/chat/completions",
        "a trailing /openai is not doubled"
    );
}

#[tokio::test]
async fn every_provider_address_takes_a_list() {
    for (key_var, url_var, model, path, id) in [
        (
            "OPENAI_API_KEY",
            "OPENAI_BASE_URL",
            "gpt-4.1",
            "/v1/chat/completions",
            "openai",
        ),
        (
            "GEMINI_API_KEY",
            "GEMINI_BASE_URL",
            "gemini-2.5-flash",
            "/v1beta/models/gemini-2.5-flash:generateContent",
            "gemini",
        ),
        (
            "OPENROUTER_API_KEY",
            "OPENROUTER_BASE_URL",
            "openai/gpt-4o",
            "/v1/chat/completions",
            "openrouter",
        ),
    ] {
        let (a, b) = (
            StandIn::start().await.unwrap(),
            StandIn::start().await.unwrap(),
        );
        a.script(always(failing(503)));
        let suffix = if id == "gemini" { "" } else { "/v1" };
        let urls = format!("{}{suffix},{}{suffix}", a.url(), b.url());
        let pairs = [(key_var, "k"), (url_var, urls.as_str())];
        let engine = Engine::new(Config::from_map(settings(&pairs)).unwrap()).unwrap();
        for _ in 0..4 {
            let reply = ask(&engine, model).await.unwrap();
            assert!(reply.content.starts_with("Stand-in answer"), "{url_var}");
        }
        assert_eq!(a.requests().len(), 1, "{url_var}: tried once, then avoided");
        assert_eq!(b.requests().len(), 4, "{url_var}");
        assert_eq!(b.last_request().unwrap().path, path, "{url_var}");
        let stats = provider_stats(&engine, id).await;
        assert_eq!(stats["breaker"], "closed", "{url_var}");
        assert_eq!(stats["endpoints"][0]["breaker"], "open", "{url_var}");
        assert_eq!(stats["endpoints"][1]["calls"], 4, "{url_var}");
    }
}

#[test]
fn a_list_is_read_into_endpoints() {
    let config = Config::from_map([(
        "CUSTOM_API_URL",
        " http://127.0.0.1:1/v1/ , http://127.0.0.1:2/v1 ",
    )])
    .unwrap();
    let custom = config.provider(ProviderKind::Custom).unwrap();
    assert_eq!(
        custom.endpoints,
        ["http://127.0.0.1:1/v1", "http://127.0.0.1:2/v1"]
    );
    assert_eq!(custom.base_url, "http://127.0.0.1:1/v1");
    let single = Config::from_map([("CUSTOM_API_URL", "http://localhost:11434/v1")]).unwrap();
    assert_eq!(
        single.provider(ProviderKind::Custom).unwrap().endpoints,
        ["http://localhost:11434/v1"]
    );
}

#[test]
fn a_bad_list_is_a_one_line_error_naming_the_variable() {
    for (variable, value, says) in [
        (
            "CUSTOM_API_URL",
            "http://127.0.0.1:1/v1,,http://127.0.0.1:2/v1",
            "item 2 of the list is empty",
        ),
        (
            "CUSTOM_API_URL",
            "http://127.0.0.1:1/v1,",
            "item 2 of the list is empty",
        ),
        (
            "CUSTOM_API_URL",
            "http://127.0.0.1:1/v1,localhost:2/v1",
            "`localhost:2/v1` (item 2 of the list)",
        ),
        (
            "CUSTOM_API_URL",
            "http://127.0.0.1:1/v1,http://",
            "`http://` (item 2 of the list)",
        ),
        (
            "CUSTOM_API_URL",
            "http://a:1/v1,http://a:1/v1/",
            "listed twice",
        ),
        (
            "AZURE_OPENAI_ENDPOINT",
            "https://east.openai.azure.com,,",
            "item 2 of the list is empty",
        ),
        (
            "AZURE_OPENAI_ENDPOINT",
            "https://east.openai.azure.com,west",
            "`west` (item 2 of the list)",
        ),
    ] {
        let mut pairs = vec![(variable, value)];
        if variable.starts_with("AZURE") {
            pairs.push(("AZURE_OPENAI_API_KEY", "k"));
        }
        let err = Config::from_map(pairs).map(|_| ()).unwrap_err();
        let text = err.to_string();
        assert_eq!(err.kind(), ErrorKind::Config, "{value}: {text}");
        assert!(text.contains(variable), "{value}: {text}");
        assert!(text.contains(says), "{value}: {text}");
        assert!(!text.contains('\n'), "one line: {text}");
    }
}
