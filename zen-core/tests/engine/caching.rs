//! The engine's caches against the stand-in provider: file contents keyed by
//! (path, modification time, size), and the opt-in response cache for
//! temperature-0 requests.

use std::fs;
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use zen_core::cache::FileCache;
use zen_core::consult::{ConsultOutcome, ConsultReply, ConsultRequest};
use zen_core::providers::{GenerateRequest, GenerateResponse};
use zen_core::{Config, Engine};
use zen_testkit::StandIn;

fn engine(server: &StandIn, extra: &[(&str, &str)]) -> Engine {
    let mut settings = vec![
        ("OPENAI_API_KEY".to_owned(), "sk".to_owned()),
        ("OPENAI_BASE_URL".to_owned(), format!("{}/v1", server.url())),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

fn ask_with_file(path: &Path, continuation: Option<&str>) -> ConsultRequest {
    ConsultRequest {
        tool_name: "chat".into(),
        prompt: "What does this do?".into(),
        files: vec![path.display().to_string()],
        model: Some("gpt-4.1".into()),
        continuation_id: continuation.map(str::to_owned),
        arguments: json!({}),
        ..ConsultRequest::default()
    }
}

async fn reply(engine: &Engine, request: ConsultRequest) -> ConsultReply {
    match engine.consult(request).await.unwrap() {
        ConsultOutcome::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

fn last_user_text(server: &StandIn) -> String {
    let body = server.last_request().unwrap().body;
    body["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "user")
        .map(|m| m["content"].as_str().unwrap().to_owned())
        .collect()
}

async fn file_stats(engine: &Engine) -> Value {
    engine.stats().await["caches"]["files"].clone()
}

#[tokio::test]
async fn an_unchanged_file_is_read_once_and_a_changed_one_again() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lib.rs");
    fs::write(&file, "fn first() {}\n").unwrap();

    let first = reply(&engine, ask_with_file(&file, None)).await;
    assert!(last_user_text(&server).contains("fn first() {}"));
    let stats = file_stats(&engine).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(0), Some(1))
    );

    // Attached again in a continuation: the content comes from the cache.
    let id = first.continuation_id.to_string();
    reply(&engine, ask_with_file(&file, Some(&id))).await;
    assert!(last_user_text(&server).contains("fn first() {}"));
    let stats = file_stats(&engine).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(stats["entries"], 1);

    // A new size: read again, and the model sees the new content.
    fs::write(&file, "fn second_version() {}\n").unwrap();
    reply(&engine, ask_with_file(&file, Some(&id))).await;
    let text = last_user_text(&server);
    assert!(text.contains("fn second_version() {}"), "{text}");
    assert!(!text.contains("fn first() {}"), "{text}");
    assert_eq!(file_stats(&engine).await["misses"], 2);

    // Same size, new modification time: read again too.
    fs::write(&file, "fn third_version() {}\n").unwrap();
    let later = SystemTime::now() + Duration::from_secs(5);
    fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(later)
        .unwrap();
    reply(&engine, ask_with_file(&file, Some(&id))).await;
    assert!(last_user_text(&server).contains("fn third_version() {}"));
    let stats = file_stats(&engine).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(1), Some(3))
    );
}

#[tokio::test]
async fn files_from_the_history_come_from_the_cache() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.md");
    fs::write(&file, "remember the milk\n").unwrap();
    let first = reply(&engine, ask_with_file(&file, None)).await;

    // The continuation attaches nothing: the file is embedded from history.
    let mut next = ask_with_file(&file, Some(&first.continuation_id.to_string()));
    next.files.clear();
    reply(&engine, next).await;
    assert!(last_user_text(&server).contains("remember the milk"));
    assert_eq!(file_stats(&engine).await["hits"], 1);
}

#[tokio::test]
async fn images_from_the_history_come_from_the_cache() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("diagram.png");
    fs::write(&image, b"\x89PNG\r\n\x1a\nnot really a picture").unwrap();
    let mut first = ask_with_file(&image, None);
    first.files.clear();
    first.images = vec![image.display().to_string()];
    let first = reply(&engine, first).await;
    let mut next = ask_with_file(&image, Some(&first.continuation_id.to_string()));
    next.files.clear();
    reply(&engine, next).await;
    let body = server.last_request().unwrap().body;
    let user = body["messages"].as_array().unwrap().last().unwrap().clone();
    assert!(user["content"].to_string().contains("image_url"), "{user}");
    let stats = file_stats(&engine).await;
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(1), Some(1))
    );
}

#[test]
fn a_cache_hit_does_not_read_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a.txt");
    fs::write(&file, "cached words\n").unwrap();
    let cache = FileCache::new(1024 * 1024);
    assert!(cache.read_file_block(&file, 10_000, false).is_embedded());
    // Made unreadable without touching its modification time or size: only a
    // cached copy can still give the words (root reads it anyway).
    let mut perms = fs::metadata(&file).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    fs::set_permissions(&file, perms).unwrap();
    let again = cache.read_file_block(&file, 10_000, false);
    assert!(again.text.contains("cached words"), "{}", again.text);
    assert_eq!(cache.stats().hits, 1);
    assert_eq!(
        cache.read_prompt_file(&file).unwrap(),
        "cached words\n",
        "a prompt file shares the cache"
    );
    assert_eq!(cache.stats().hits, 2);
    // Telling text from binary when a folder is expanded uses the copy too.
    let expanded = cache
        .expand_paths(&[dir.path().display().to_string()], "files")
        .unwrap();
    assert_eq!(expanded.files.len(), 1, "{expanded:?}");
    assert!(expanded.refused.is_empty(), "{expanded:?}");
}

#[test]
fn the_cache_stays_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let cache = FileCache::new(1024 * 1024);
    let line = "x".repeat(99) + "\n";
    for n in 0..6 {
        let file = dir.path().join(format!("f{n}.txt"));
        fs::write(&file, line.repeat(3_000)).unwrap(); // 300 KB each
        assert!(cache.read_file_block(&file, 1_000_000, false).is_embedded());
    }
    let stats = cache.stats();
    assert_eq!(stats.misses, 6);
    assert!(stats.bytes <= 1024 * 1024, "{stats:?}");
    assert!(stats.entries >= 1 && stats.entries <= 3, "{stats:?}");
}

#[tokio::test]
async fn zero_turns_the_file_cache_off() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("ZEN_FILE_CACHE_MB", "0")]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lib.rs");
    fs::write(&file, "fn f() {}\n").unwrap();
    reply(&engine, ask_with_file(&file, None)).await;
    reply(&engine, ask_with_file(&file, None)).await;
    let stats = file_stats(&engine).await;
    assert_eq!(stats["enabled"], false);
    assert_eq!(stats["hits"], 0);
    let err = Engine::new(Config::from_map([("ZEN_FILE_CACHE_MB", "-3")]).unwrap()).unwrap_err();
    assert!(err.to_string().contains("ZEN_FILE_CACHE_MB"), "{err}");
}

fn at(temperature: Option<f64>, system: &str) -> GenerateRequest {
    GenerateRequest {
        system_prompt: Some(system.into()),
        temperature,
        ..GenerateRequest::new("Name a prime.")
    }
}

async fn model_calls(engine: &Engine) -> u64 {
    engine.stats().await["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["calls"].as_u64().unwrap())
        .sum()
}

#[tokio::test]
async fn identical_requests_at_temperature_zero_are_answered_from_the_cache() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("ZEN_RESPONSE_CACHE", "1")]);
    let model = engine.resolve_model("gpt-4.1").await.unwrap();
    let first = engine
        .generate(&model, &at(Some(0.0), "Be brief."))
        .await
        .unwrap();
    let second = engine
        .generate(&model, &at(Some(0.0), "Be brief."))
        .await
        .unwrap();
    assert_eq!(first, second);
    assert_eq!(server.requests().len(), 1, "the second came from the cache");
    let stats = engine.stats().await;
    assert_eq!(stats["caches"]["responses"]["hits"], 1);
    assert_eq!(model_calls(&engine).await, 1, "a hit is no provider call");
    let text = engine.prometheus().await;
    for line in [
        "zen_cache_hits_total{cache=\"responses\"} 1",
        "zen_cache_misses_total{cache=\"responses\"} 1",
        "zen_cache_entries{cache=\"responses\"} 1",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "{line} missing from:\n{text}"
        );
    }

    // Any difference in the request is another request.
    engine
        .generate(&model, &at(Some(0.0), "Be thorough."))
        .await
        .unwrap();
    let mut with_limit = at(Some(0.0), "Be brief.");
    with_limit.max_output_tokens = Some(100);
    engine.generate(&model, &with_limit).await.unwrap();
    let other = engine.resolve_model("gpt-4o").await.unwrap();
    engine
        .generate(&other, &at(Some(0.0), "Be brief."))
        .await
        .unwrap();
    assert_eq!(server.requests().len(), 4);

    // Other temperatures, or none, are never cached.
    for temperature in [Some(0.7), Some(0.7), None, None] {
        engine
            .generate(&model, &at(temperature, "Be brief."))
            .await
            .unwrap();
    }
    assert_eq!(server.requests().len(), 8);
    assert_eq!(engine.stats().await["caches"]["responses"]["hits"], 1);
}

#[tokio::test]
async fn every_tool_call_goes_through_the_response_cache() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("ZEN_RESPONSE_CACHE", "on")]);
    let dir = tempfile::tempdir().unwrap();
    let args = json!({
        "prompt": "Is 7 prime?",
        "model": "gpt-4.1",
        "temperature": 0,
        "working_directory_absolute_path": dir.path(),
    });
    let first = engine.call_tool("chat", args.clone()).await.unwrap();
    let second = engine.call_tool("chat", args).await.unwrap();
    assert_eq!(server.requests().len(), 1);
    assert_eq!(
        serde_json::to_value(&first).unwrap()["content"],
        serde_json::to_value(&second).unwrap()["content"]
    );
}

#[tokio::test]
async fn failures_and_a_cache_that_is_off_are_never_used() {
    let server = StandIn::start().await.unwrap();
    let off = engine(&server, &[]);
    let model = off.resolve_model("gpt-4.1").await.unwrap();
    off.generate(&model, &at(Some(0.0), "s")).await.unwrap();
    off.generate(&model, &at(Some(0.0), "s")).await.unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(off.stats().await["caches"]["responses"]["enabled"], false);

    server.reset();
    let on = engine(
        &server,
        &[("ZEN_RESPONSE_CACHE", "1"), ("ZEN_MAX_RETRIES", "0")],
    );
    server.script(zen_testkit::Behaviour {
        status: Some(400),
        ..zen_testkit::Behaviour::default()
    });
    assert!(on.generate(&model, &at(Some(0.0), "s")).await.is_err());
    on.generate(&model, &at(Some(0.0), "s")).await.unwrap();
    assert_eq!(server.requests().len(), 2, "a failure is not kept");
}

#[tokio::test]
async fn identical_requests_in_flight_together_make_one_provider_call() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(
        &server,
        &[("ZEN_RESPONSE_CACHE", "1"), ("ZEN_MAX_RETRIES", "0")],
    );
    server.script(zen_testkit::Behaviour {
        delay_ms: Some(300),
        ..zen_testkit::Behaviour::default()
    });
    let replies = ask_together(&engine, 20, "Same question.").await;
    assert_eq!(
        server.requests().len(),
        1,
        "the other 19 waited for the first"
    );
    for reply in &replies {
        assert_eq!(reply.as_ref().unwrap(), replies[0].as_ref().unwrap());
    }
    let stats = engine.stats().await;
    assert_eq!(stats["caches"]["responses"]["hits"], 19);
    assert_eq!(stats["caches"]["responses"]["misses"], 1);

    // When the first fails, the waiting requests ask for themselves, all at
    // once rather than one after another.
    server.reset();
    server.script(zen_testkit::Behaviour {
        status: Some(400),
        delay_ms: Some(300),
        ..zen_testkit::Behaviour::default()
    });
    let replies = ask_together(&engine, 10, "Another question.").await;
    assert_eq!(server.requests().len(), 10);
    assert_eq!(replies.iter().filter(|r| r.is_err()).count(), 1);
    assert_eq!(engine.stats().await["caches"]["responses"]["hits"], 19);
}

/// `count` identical temperature-0 requests sent at once.
async fn ask_together(
    engine: &Engine,
    count: usize,
    system: &str,
) -> Vec<Result<GenerateResponse, String>> {
    let model = engine.resolve_model("gpt-4.1").await.unwrap();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (engine, model, request) = (engine.clone(), model.clone(), at(Some(0.0), system));
            tokio::spawn(async move {
                engine
                    .generate(&model, &request)
                    .await
                    .map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut replies = Vec::new();
    for task in tasks {
        replies.push(task.await.unwrap());
    }
    replies
}
