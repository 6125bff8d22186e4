//! Consultations that carry on across calls, tools and models, checked at the
//! wire: what the stand-in provider receives.

use std::path::Path;

use serde_json::json;
use zen_core::consult::{ConsultOutcome, ConsultReply, ConsultRequest};
use zen_core::models::ToolCategory;
use zen_core::{Config, Engine, Error, ErrorKind};
use zen_testkit::{Behaviour, StandIn};

fn engine(server: &StandIn, extra: &[(&str, &str)]) -> Engine {
    let openai = format!("{}/v1", server.url());
    let mut settings = vec![
        ("OPENAI_API_KEY".to_owned(), "sk".to_owned()),
        ("OPENAI_BASE_URL".to_owned(), openai),
        ("GEMINI_API_KEY".to_owned(), "g".to_owned()),
        ("GEMINI_BASE_URL".to_owned(), server.url()),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

fn ask(tool: &str, prompt: &str) -> ConsultRequest {
    ConsultRequest {
        tool_name: tool.into(),
        prompt: prompt.into(),
        system_prompt: Some("You are a second opinion.".into()),
        category: Some(ToolCategory::FastResponse),
        arguments: json!({"prompt": prompt}),
        ..ConsultRequest::default()
    }
}

async fn reply(engine: &Engine, request: ConsultRequest) -> ConsultReply {
    match engine.consult(request).await.unwrap() {
        ConsultOutcome::Reply(reply) => reply,
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// The text the model received in the last request, whatever the wire format.
fn last_prompt(server: &StandIn) -> String {
    let body = server.last_request().unwrap().body;
    if let Some(messages) = body.get("messages") {
        return messages
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| m["content"].as_str().unwrap().to_owned())
            .collect();
    }
    if let Some(input) = body.get("input") {
        return input[0]["content"][0]["text"].as_str().unwrap().to_owned();
    }
    body["contents"][0]["parts"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_continuation_sends_each_turn_and_each_file_exactly_once() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.rs", "fn alpha_version_one() {}\n");
    let b = write(dir.path(), "b.rs", "fn beta() {}\n");

    // Turn 1 (chat, o3) attaches a.rs.
    server.script(Behaviour {
        reply: Some("REPLY-ONE from o3".into()),
        ..Behaviour::default()
    });
    let mut first = ask("chat", "QUESTION-ONE about alpha");
    first.model = Some("o3".into());
    first.files = vec![a.clone()];
    let r1 = reply(&engine, first).await;
    assert_eq!(r1.model.api_name, "o3");
    assert_eq!(r1.remaining_turns, 48);
    let sent = last_prompt(&server);
    assert_eq!(count(&sent, "QUESTION-ONE"), 1);
    assert!(
        sent.contains("   1│ fn alpha_version_one"),
        "new files are numbered:\n{sent}"
    );

    // a.rs changes; turn 2 (thinkdeep, no model named) reuses o3 and attaches b.rs.
    std::fs::write(&a, "fn alpha_version_two() {}\n").unwrap();
    server.script(Behaviour {
        reply: Some("REPLY-TWO from o3".into()),
        ..Behaviour::default()
    });
    let mut second = ask("thinkdeep", "QUESTION-TWO about beta");
    second.continuation_id = Some(r1.continuation_id.to_string());
    second.files = vec![b.clone()];
    let r2 = reply(&engine, second).await;
    assert_eq!(r2.model.api_name, "o3", "the last model is reused");
    assert_eq!(r2.continuation_id, r1.continuation_id);
    assert_eq!(r2.remaining_turns, 46);

    // Turn 3 switches to Gemini and attaches a.rs again.
    let mut third = ask("codereview", "QUESTION-THREE: review both");
    third.continuation_id = Some(r2.continuation_id.to_string());
    third.model = Some("flash".into());
    third.files = vec![a.clone()];
    let r3 = reply(&engine, third).await;
    assert_eq!(r3.model.api_name, "gemini-3.8-flash");

    let sent = last_prompt(&server);
    for turn_text in [
        "QUESTION-ONE",
        "REPLY-ONE",
        "QUESTION-TWO",
        "REPLY-TWO",
        "QUESTION-THREE",
    ] {
        assert_eq!(
            count(&sent, turn_text),
            1,
            "{turn_text} must appear once:\n{sent}"
        );
    }
    assert_eq!(
        count(&sent, &format!("BEGIN FILE: {a}")),
        1,
        "a.rs once:\n{sent}"
    );
    assert_eq!(
        count(&sent, &format!("BEGIN FILE: {b}")),
        1,
        "b.rs once:\n{sent}"
    );
    assert_eq!(
        count(&sent, "alpha_version_two"),
        1,
        "current content:\n{sent}"
    );
    assert_eq!(
        count(&sent, "alpha_version_one"),
        0,
        "old content is gone:\n{sent}"
    );
    assert!(
        sent.contains("   1│ fn alpha_version_two"),
        "a.rs is attached anew, numbered"
    );
    assert!(
        !sent.contains("   1│ fn beta"),
        "history files go without numbers:\n{sent}"
    );
    // The history comes before the request.
    assert!(sent.find("REPLY-TWO").unwrap() < sent.find("QUESTION-THREE").unwrap());

    // The thread records the clients' words, not the expanded prompts.
    let thread = engine
        .store()
        .get(r3.continuation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(thread.turns.len(), 6);
    assert_eq!(thread.turns[2].content, "QUESTION-TWO about beta");
    assert_eq!(
        thread.turns[5].model_name.as_deref(),
        Some("gemini-3.8-flash")
    );
    assert_eq!(thread.turns[5].provider.as_deref(), Some("gemini"));
    assert_eq!(thread.tool_name, "chat");
}

#[tokio::test]
async fn bad_unknown_and_full_conversations_are_clear_errors() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("MAX_CONVERSATION_TURNS", "4")]);

    let mut bad = ask("chat", "hi");
    bad.continuation_id = Some("not-a-uuid".into());
    let err = engine.consult(bad).await.unwrap_err();
    assert!(matches!(err, Error::InvalidArguments { ref field, .. } if field == "continuation_id"));

    let mut unknown = ask("chat", "hi");
    unknown.continuation_id = Some(uuid_text());
    let err = engine.consult(unknown).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConversationNotFound);
    assert!(
        err.to_string().contains("Start a new conversation"),
        "{err}"
    );
    assert!(server.requests().is_empty(), "nothing was sent");

    let r1 = reply(&engine, ask("chat", "one")).await;
    assert_eq!(r1.remaining_turns, 2);
    let mut next = ask("chat", "two");
    next.continuation_id = Some(r1.continuation_id.to_string());
    let r2 = reply(&engine, next).await;
    assert_eq!(r2.remaining_turns, 0);
    let mut over = ask("chat", "three");
    over.continuation_id = Some(r1.continuation_id.to_string());
    let before = server.requests().len();
    let err = engine.consult(over).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ConversationFull);
    assert_eq!(
        server.requests().len(),
        before,
        "a full conversation costs no model call"
    );
}

#[tokio::test]
async fn no_continuation_is_offered_when_an_exchange_no_longer_fits() {
    let server = StandIn::start().await.unwrap();
    // Three turns: the first exchange takes two, and one is not enough for
    // another ask and answer.
    let engine = engine(&server, &[("MAX_CONVERSATION_TURNS", "3")]);
    let dir = tempfile::tempdir().unwrap();
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "one", "model": "o3",
                               "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "success", "{out}");
    assert!(out.get("continuation_offer").is_none(), "{out}");
}

fn uuid_text() -> String {
    zen_core::conversation::ContinuationId::new().to_string()
}

#[tokio::test]
async fn long_prompts_are_sent_back_and_prompt_txt_is_the_prompt() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("MAX_MCP_OUTPUT_TOKENS", "1000")]);
    // 1000 tokens allow 2400 characters inline.
    let long = "x".repeat(2401);
    match engine.consult(ask("chat", &long)).await.unwrap() {
        ConsultOutcome::ResendPrompt {
            message,
            prompt_chars,
            limit_chars,
        } => {
            assert_eq!((prompt_chars, limit_chars), (2401, 2400));
            assert!(message.contains("prompt.txt"), "{message}");
        }
        other => panic!("expected resend_prompt, got {other:?}"),
    }
    assert!(server.requests().is_empty());

    let dir = tempfile::tempdir().unwrap();
    let prompt_file = write(dir.path(), "prompt.txt", &format!("LONG-PROMPT {long}"));
    let other = write(dir.path(), "notes.md", "NOTES-BODY\n");
    let mut request = ask("chat", "");
    request.files = vec![prompt_file.clone(), other.clone()];
    let r = reply(&engine, request).await;
    let sent = last_prompt(&server);
    assert_eq!(count(&sent, "LONG-PROMPT"), 1);
    assert!(
        !sent.contains("BEGIN FILE: ") || !sent.contains(&format!("BEGIN FILE: {prompt_file}"))
    );
    assert!(sent.contains(&format!("BEGIN FILE: {other}")));
    let thread = engine
        .store()
        .get(r.continuation_id)
        .await
        .unwrap()
        .unwrap();
    assert!(thread.turns[0].content.starts_with("LONG-PROMPT"));
    assert_eq!(thread.turns[0].files, vec![other]);
}

#[tokio::test]
async fn refused_paths_are_reported_and_not_sent() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "ok.txt", "FINE\n");
    let mut request = ask("chat", "look");
    request.files = vec!["/proc/self/environ".into(), "/etc/passwd".into(), good];
    let r = reply(&engine, request).await;
    let refused: Vec<&str> = r.refused_files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(refused, vec!["/proc/self/environ", "/etc/passwd"]);
    let sent = last_prompt(&server);
    assert!(sent.contains("FINE"));
    assert!(!sent.contains("root:"), "nothing of /etc/passwd");

    let mut relative = ask("chat", "look");
    relative.files = vec!["src/main.rs".into()];
    let err = engine.consult(relative).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArguments { ref message, .. } if message.contains("src/main.rs"))
    );
}

#[tokio::test]
async fn over_budget_the_oldest_files_then_the_oldest_turns_go_with_a_note() {
    let server = StandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A small model: 10,000 tokens of context → 6,000 content, 1,800 for
    // files, 3,000 for history.
    let catalogue = write(
        dir.path(),
        "custom.json",
        r#"{"models": [{"model_name": "tiny", "context_window": 10000, "max_output_tokens": 2000}]}"#,
    );
    let custom = format!("{}/v1", server.url());
    server.set_models(&["tiny"]);
    let engine = Engine::new(
        Config::from_map([
            ("CUSTOM_API_URL", custom.as_str()),
            ("CUSTOM_MODELS_CONFIG_PATH", catalogue.as_str()),
        ])
        .unwrap(),
    )
    .unwrap();

    // Three exchanges, each attaching a ~900-token file; each turn says ~1,000 tokens.
    let mut id = None;
    let mut files = Vec::new();
    for n in 1..=3 {
        let file = write(
            dir.path(),
            &format!("f{n}.txt"),
            &format!("FILE-{n} {}\n", "y".repeat(3600)),
        );
        files.push(file.clone());
        server.script(Behaviour {
            reply: Some(format!("ANSWER-{n} {}", "z".repeat(4000))),
            ..Behaviour::default()
        });
        let mut request = ask("chat", &format!("ASK-{n} {}", "w".repeat(4000)));
        request.files = vec![file];
        request.continuation_id = id.map(|i: zen_core::conversation::ContinuationId| i.to_string());
        id = Some(reply(&engine, request).await.continuation_id);
    }
    let mut last = ask("chat", "ASK-4 final");
    last.continuation_id = id.map(|i| i.to_string());
    let r = reply(&engine, last).await;
    let sent = last_prompt(&server);

    // Files: only the newest fits; the older two are named as left out.
    assert_eq!(count(&sent, "FILE-3"), 1, "{sent}");
    assert_eq!(count(&sent, "FILE-2 y"), 0);
    assert_eq!(count(&sent, "FILE-1 y"), 0);
    assert!(sent.contains(&format!("{} (left out", files[0])), "{sent}");
    // Turns: the newest fit, the oldest are left out, and the prompt says so.
    assert_eq!(count(&sent, "ANSWER-3"), 1);
    assert_eq!(count(&sent, "ASK-1 "), 0);
    assert!(sent.contains("oldest of 6 turns"), "{sent}");
    assert!(
        r.left_out.iter().any(|n| n.contains("oldest of 6 turns")),
        "{:?}",
        r.left_out
    );
}

#[tokio::test]
async fn images_follow_the_models_limits() {
    let server = StandIn::start().await.unwrap();
    let custom = format!("{}/v1", server.url());
    let engine =
        Engine::new(Config::from_map([("CUSTOM_API_URL", custom.as_str())]).unwrap()).unwrap();
    let mut request = ask("chat", "what is in the picture?");
    request.images = vec!["data:image/png;base64,iVBORw0KGgo=".into()];
    let err = engine.consult(request).await.unwrap_err();
    assert!(err.to_string().contains("does not accept images"), "{err}");
    // Auto mode asked the endpoint which models it serves; no model call.
    assert!(server.requests().iter().all(|r| r.method == "GET"));

    let vision = engine_with_images(&server);
    let mut request = ask("chat", "what is in the picture?");
    request.model = Some("gpt-4.1".into());
    request.images = vec!["data:image/png;base64,iVBORw0KGgo=".into()];
    let r = reply(&vision, request).await;
    let body = server.last_request().unwrap().body;
    assert_eq!(body["messages"][1]["content"][1]["type"], "image_url");
    let thread = vision
        .store()
        .get(r.continuation_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        thread.turns[0].images.len(),
        1,
        "images are remembered per turn"
    );

    let mut six = ask("chat", "many");
    six.model = Some("gpt-4.1".into());
    six.images = vec!["data:image/png;base64,iVBORw0KGgo=".into(); 6];
    assert!(vision.consult(six).await.is_err());
}

fn engine_with_images(server: &StandIn) -> Engine {
    engine(server, &[])
}

#[tokio::test]
async fn locale_asks_for_the_language() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server, &[("LOCALE", "fr-FR")]);
    let mut request = ask("chat", "bonjour");
    request.model = Some("gpt-4.1".into());
    reply(&engine, request).await;
    let body = server.last_request().unwrap().body;
    let system = body["messages"][0]["content"].as_str().unwrap();
    assert!(system.starts_with("Always respond in fr-FR."), "{system}");
}
