//! The guarded path every model call takes, against the stand-in's fault
//! injection: retries, Retry-After, the breaker, limits, AIMD, the queue,
//! fallback, metrics and the audit log.

use std::time::Duration;

use serde_json::{Value, json};
use zen_core::providers::{GenerateRequest, ProviderKind};
use zen_core::resilience::BreakerState;
use zen_core::{Config, Engine, Error, ErrorKind};
use zen_testkit::{Behaviour, StandIn};

fn engine(server: &StandIn, extra: &[(&str, &str)]) -> Engine {
    let openai = format!("{}/v1", server.url());
    let mut settings: Vec<(String, String)> = vec![
        ("OPENAI_API_KEY".into(), "sk-secret-key-123".into()),
        ("OPENAI_BASE_URL".into(), openai),
        ("ZEN_RETRY_BASE_MS".into(), "5".into()),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

async fn ask(
    engine: &Engine,
    model: &str,
) -> zen_core::Result<zen_core::providers::GenerateResponse> {
    let model = engine.resolve_model(model).await?;
    engine
        .generate(&model, &GenerateRequest::new("hello"))
        .await
}

fn fail(status: u16, times: u32) -> Behaviour {
    Behaviour {
        status: Some(status),
        times: Some(times),
        ..Behaviour::default()
    }
}

async fn model_stats(engine: &Engine, model: &str) -> Value {
    let stats = engine.stats().await;
    stats["models"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["model"] == model)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn transient_failures_are_retried_then_succeed() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    for status in [429, 500, 502, 503, 504] {
        server.reset();
        server.script(fail(status, 2));
        let reply = ask(&engine, "o3").await.unwrap();
        assert!(reply.content.starts_with("Stand-in answer"));
        assert_eq!(
            server.requests().len(),
            3,
            "{status}: two failures, then success"
        );
    }
    let stats = model_stats(&engine, "o3").await;
    assert_eq!(stats["retries"], 10);
    assert_eq!(stats["calls"], 5);
}

#[tokio::test]
async fn retries_stop_at_the_limit_and_never_repeat_a_bad_request() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("ZEN_BREAKER_FAILURES", "100")]);
    server.script(Behaviour {
        status: Some(503),
        always: true,
        ..Behaviour::default()
    });
    let err = ask(&engine, "o3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Provider);
    assert_eq!(
        server.requests().len(),
        4,
        "one try and ZEN_MAX_RETRIES=3 retries"
    );

    for status in [400, 401, 403, 404] {
        server.reset();
        server.script(fail(status, 1));
        ask(&engine, "o3").await.unwrap_err();
        assert_eq!(server.requests().len(), 1, "{status} is never retried");
    }
    server.reset();
    server.script(Behaviour {
        status: Some(400),
        error_code: Some("context_length_exceeded".into()),
        ..Behaviour::default()
    });
    ask(&engine, "o3").await.unwrap_err();
    assert_eq!(server.requests().len(), 1);

    let none = engine_with(&server, &[("ZEN_MAX_RETRIES", "0")]);
    server.reset();
    server.script(fail(500, 1));
    ask(&none, "o3").await.unwrap_err();
    assert_eq!(server.requests().len(), 1);
}

fn engine_with(server: &StandIn, extra: &[(&str, &str)]) -> Engine {
    engine(server, extra)
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    server.script(Behaviour {
        status: Some(429),
        retry_after: Some(1),
        ..Behaviour::default()
    });
    ask(&engine, "o3").await.unwrap();
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].received_ms - requests[0].received_ms;
    assert!(gap >= 950, "waited {gap} ms, asked for 1 s");
}

#[tokio::test]
async fn the_breaker_opens_fails_fast_then_lets_a_trial_through() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(
        &server,
        &[
            ("ZEN_MAX_RETRIES", "0"),
            ("ZEN_BREAKER_FAILURES", "3"),
            ("ZEN_BREAKER_COOLDOWN_SECS", "0.5"),
        ],
    );
    server.script(Behaviour {
        status: Some(503),
        times: Some(3),
        ..Behaviour::default()
    });
    for _ in 0..3 {
        ask(&engine, "o3").await.unwrap_err();
    }
    let before = server.requests().len();
    let err = ask(&engine, "o3").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::CircuitOpen {
                provider: ProviderKind::OpenAi,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("trial"), "{err}");
    assert_eq!(
        server.requests().len(),
        before,
        "no upstream request while open"
    );
    let breaker = |engine: &Engine| {
        engine
            .resilience()
            .snapshot()
            .into_iter()
            .find(|p| p.provider == ProviderKind::OpenAi)
            .unwrap()
            .breaker
    };
    assert_eq!(breaker(&engine), BreakerState::Open);

    // After the cool-down a failing trial opens it again ...
    tokio::time::sleep(Duration::from_millis(600)).await;
    server.script(fail(503, 1));
    ask(&engine, "o3").await.unwrap_err();
    assert_eq!(breaker(&engine), BreakerState::Open);
    assert!(matches!(
        ask(&engine, "o3").await,
        Err(Error::CircuitOpen { .. })
    ));
    // ... and a successful one closes it.
    tokio::time::sleep(Duration::from_millis(600)).await;
    ask(&engine, "o3").await.unwrap();
    assert_eq!(breaker(&engine), BreakerState::Closed);
    ask(&engine, "o3").await.unwrap();
    let stats = engine.stats().await;
    assert_eq!(stats["providers"][0]["breaker"], "closed");
}

#[tokio::test]
async fn retries_stop_when_the_breaker_opens_and_report_the_provider_error() {
    // The defaults: 3 retries, and a breaker that opens after 3 failures.
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    server.script(Behaviour {
        status: Some(503),
        always: true,
        ..Behaviour::default()
    });
    let err = ask(&engine, "o3").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Provider {
                status: Some(503),
                ..
            }
        ),
        "the caller sees what the provider said, not the breaker: {err:?}"
    );
    assert_eq!(server.requests().len(), 3, "no retry the breaker refuses");
    let err = ask(&engine, "o3").await.unwrap_err();
    assert!(matches!(err, Error::CircuitOpen { .. }), "{err:?}");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn provider_limits_hold_under_200_concurrent_calls() {
    let server = StandIn::start().await.unwrap();
    let custom = format!("{}/v1", server.url());
    let engine = Engine::new(
        Config::from_map([
            ("CUSTOM_API_URL", custom.as_str()),
            ("ZEN_MAX_CONCURRENT_CUSTOM", "5"),
        ])
        .unwrap(),
    )
    .unwrap();
    server.script(Behaviour {
        delay_ms: Some(20),
        always: true,
        ..Behaviour::default()
    });
    let calls: Vec<_> = (0..200)
        .map(|_| {
            let engine = engine.clone();
            tokio::spawn(async move { ask(&engine, "local-llama").await.is_ok() })
        })
        .collect();
    let mut ok = 0;
    for call in calls {
        ok += usize::from(call.await.unwrap());
    }
    assert_eq!(ok, 200);
    assert_eq!(server.requests().len(), 200);
    assert!(
        server.max_in_flight() <= 5,
        "{} in flight at once",
        server.max_in_flight()
    );
    assert!(server.max_in_flight() >= 2, "calls did run side by side");
}

#[tokio::test]
async fn the_limit_shrinks_on_429_and_grows_back() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("ZEN_MAX_CONCURRENT_OPENAI", "8")]);
    let limit = |engine: &Engine| {
        engine
            .resilience()
            .snapshot()
            .into_iter()
            .find(|p| p.provider == ProviderKind::OpenAi)
            .unwrap()
            .limit
    };
    server.script(fail(429, 2));
    ask(&engine, "o3").await.unwrap();
    // Halved twice, then one success adds a little back.
    assert!(limit(&engine) < 3.0, "{}", limit(&engine));
    for _ in 0..60 {
        ask(&engine, "o3").await.unwrap();
    }
    assert_eq!(limit(&engine), 8.0, "back to the ceiling, never above");
}

#[tokio::test]
async fn a_full_queue_is_a_clear_busy_error() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(
        &server,
        &[
            ("ZEN_MAX_CONCURRENT_OPENAI", "1"),
            ("ZEN_QUEUE_TIMEOUT_SECS", "0.2"),
        ],
    );
    server.script(Behaviour {
        delay_ms: Some(1500),
        ..Behaviour::default()
    });
    let slow = {
        let engine = engine.clone();
        tokio::spawn(async move { ask(&engine, "o3").await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let err = ask(&engine, "o3").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Busy);
    assert!(err.to_string().contains("busy"), "{err}");
    slow.await.unwrap().unwrap();
}

#[tokio::test]
async fn auto_mode_falls_back_to_another_provider() {
    let server = StandIn::start().await.unwrap();
    let base = server.url();
    let engine = engine(
        &server,
        &[
            ("GEMINI_API_KEY", "g"),
            ("GEMINI_BASE_URL", &base),
            ("ZEN_MAX_RETRIES", "1"),
            ("PREFERRED_MODELS", "o3"),
        ],
    );
    // OpenAI is down; Gemini is fine.
    server.script(Behaviour {
        status: Some(503),
        path_contains: Some("/chat/completions".into()),
        always: true,
        ..Behaviour::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "anyone there?", "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["metadata"]["provider_used"], "gemini", "{out}");
    assert_eq!(out["metadata"]["fallback_from"], "o3");

    // A model the client named does not fall back unless ZEN_FALLBACK=on.
    let err = engine
        .call_tool(
            "chat",
            json!({"prompt": "o3 please", "model": "o3", "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Provider | ErrorKind::CircuitOpen),
        "{err:?}"
    );
}

#[tokio::test]
async fn stats_and_prometheus_text_describe_the_calls() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let args =
        json!({"prompt": "count me", "model": "o3", "working_directory_absolute_path": dir.path()});
    engine.call_tool("chat", args.clone()).await.unwrap();
    engine
        .call_tool("chat", json!({"prompt": 1}))
        .await
        .unwrap_err();
    let stats = engine.stats().await;
    assert_eq!(stats["tools"]["chat"]["calls"], 2);
    assert_eq!(stats["tools"]["chat"]["errors"]["invalid_arguments"], 1);
    assert_eq!(stats["models"][0]["model"], "o3");
    assert!(stats["models"][0]["tokens_in"].as_u64().unwrap() > 0);
    assert_eq!(stats["conversations"]["threads"], 1);
    assert!(stats["process"]["resident_bytes"].as_u64().unwrap() > 0);

    let text = engine.prometheus().await;
    let lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let scrape = prometheus_parse::Scrape::parse(lines.into_iter().map(Ok)).unwrap();
    let value = |name: &str, label: (&str, &str)| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name && s.labels.get(label.0) == Some(label.1))
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
    };
    assert_eq!(value("zen_tool_calls_total", ("tool", "chat")), Some(2.0));
    assert_eq!(value("zen_model_calls_total", ("model", "o3")), Some(1.0));
    assert_eq!(
        value("zen_breaker_state", ("provider", "openai")),
        Some(0.0)
    );
    assert!(
        scrape
            .samples
            .iter()
            .any(|s| s.metric == "zen_tool_duration_seconds")
    );

    let out = engine
        .call_tool("metrics", json!({}))
        .await
        .unwrap()
        .into_value();
    let from_tool: Value = serde_json::from_str(out["content"].as_str().unwrap()).unwrap();
    assert_eq!(from_tool["tools"]["chat"]["calls"], 2);
}

#[tokio::test]
async fn the_audit_log_records_calls_without_secrets() {
    let server = StandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("audit.jsonl");
    let engine = engine(&server, &[("ZEN_AUDIT_LOG", log.to_str().unwrap())]);
    let args = json!({"prompt": "TOP-SECRET-PLAN", "model": "o3", "working_directory_absolute_path": dir.path()});
    engine.call_tool("chat", args).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let events: Vec<&str> = records.iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(events, vec!["model_call", "tool_call"]);
    let tool = &records[1];
    assert_eq!(tool["tool"], "chat");
    assert_eq!(tool["status"], "continuation_available");
    assert_eq!(tool["model"], "o3");
    assert!(tool["continuation_id"].is_string());
    assert!(tool["time"].is_string() && tool["duration_ms"].is_u64());
    assert_eq!(records[0]["retries"], 0);
    // The model call names the tool call it served.
    assert!(tool["call_id"].as_str().is_some_and(|id| id.len() == 32));
    assert_eq!(records[0]["call_id"], tool["call_id"]);
    // A failed call names the model asked for; a workflow's first step the
    // conversation it started.
    let bad = json!({"prompt": 7, "model": "o3"});
    engine.call_tool("chat", bad).await.unwrap_err();
    let step = json!({"step": "look", "step_number": 1, "total_steps": 2,
                      "next_step_required": true, "findings": "none yet", "model": "o3"});
    engine.call_tool("thinkdeep", step).await.unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records[2]["status"], "error");
    assert_eq!(records[2]["model"], "o3");
    assert_ne!(records[2]["call_id"], tool["call_id"]);
    assert_eq!(records[3]["tool"], "thinkdeep");
    assert!(records[3]["continuation_id"].is_string(), "{}", records[3]);
    assert!(!text.contains("sk-secret-key-123"), "never an API key");
    assert!(!text.contains("TOP-SECRET-PLAN"), "no content unless asked");

    // With ZEN_AUDIT_CONTENT=1 the prompt is kept; past ZEN_AUDIT_MAX_MB the log rotates.
    let log2 = dir.path().join("content.jsonl");
    let engine = engine_with(
        &server,
        &[
            ("ZEN_AUDIT_LOG", log2.to_str().unwrap()),
            ("ZEN_AUDIT_CONTENT", "1"),
            ("ZEN_AUDIT_MAX_MB", "1"),
            ("ZEN_AUDIT_KEEP", "2"),
        ],
    );
    let big = "x".repeat(30_000);
    for _ in 0..20 {
        let args = json!({"prompt": format!("TOP-SECRET-PLAN {big}"), "model": "o3",
                          "working_directory_absolute_path": dir.path()});
        engine.call_tool("chat", args).await.unwrap();
    }
    let current = std::fs::read_to_string(&log2).unwrap();
    assert!(current.contains("TOP-SECRET-PLAN"));
    assert!(!current.contains("sk-secret-key-123"));
    assert!(dir.path().join("content.jsonl.1").exists(), "rotated");
    assert!(
        !dir.path().join("content.jsonl.3").exists(),
        "only ZEN_AUDIT_KEEP old files"
    );
    assert!(std::fs::metadata(&log2).unwrap().len() <= 1024 * 1024);
}
