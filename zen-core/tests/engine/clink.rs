//! The `clink` tool against a fake AI command-line client
//! (tests/fixtures/clink/fake_cli.sh): parsing each CLI's output, what the CLI
//! receives, conversations, and every way a run can fail. Client definitions
//! go in a temporary ZEN_CLI_CLIENTS_DIR; the test process's own environment
//! is never changed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use zen_core::conversation::{Role, Turn};
use zen_core::tools::ToolOutput;
use zen_core::{Config, Engine, Error, ErrorKind};

fn fake_cli() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/clink/fake_cli.sh")
}

/// The fake CLI as a definition's `command`, run by /bin/sh.
fn fake_command() -> String {
    format!("/bin/sh '{}'", fake_cli().display())
}

/// A client definition running the fake CLI with `env`.
fn client(name: &str, env: Value) -> Value {
    json!({"name": name, "command": fake_command(), "env": env})
}

/// An engine whose ZEN_CLI_CLIENTS_DIR holds `clients` (one file each).
fn engine_with(clients: &[Value]) -> (TempDir, Engine) {
    let dir = TempDir::new().unwrap();
    for (i, definition) in clients.iter().enumerate() {
        let name = definition["name"].as_str().unwrap_or("client");
        std::fs::write(
            dir.path().join(format!("{i}-{name}.json")),
            serde_json::to_string_pretty(definition).unwrap(),
        )
        .unwrap();
    }
    let engine = engine_in(dir.path(), &[]);
    (dir, engine)
}

fn engine_in(dir: &Path, extra: &[(&str, &str)]) -> Engine {
    let mut settings = vec![
        ("GEMINI_API_KEY".to_owned(), "g".to_owned()),
        ("ZEN_CLI_CLIENTS_DIR".to_owned(), dir.display().to_string()),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

/// Calls clink, bounded so that a hung CLI fails the test instead of hanging it.
async fn clink(engine: &Engine, args: Value) -> zen_core::Result<ToolOutput> {
    tokio::time::timeout(Duration::from_secs(60), engine.call_tool("clink", args))
        .await
        .expect("clink did not return within 60 s")
}

fn content(output: &ToolOutput) -> &str {
    output.0["content"].as_str().unwrap()
}

#[tokio::test]
async fn gemini_answer_is_parsed_and_offers_continuation() {
    let (_dir, engine) = engine_with(&[client("gemini", json!({"FAKE_FORMAT": "gemini"}))]);
    let output = clink(
        &engine,
        json!({"prompt": "Review the parser", "cli_name": "gemini"}),
    )
    .await
    .unwrap();
    let v = &output.0;
    assert_eq!(v["status"], "continuation_available", "{v}");
    let text = content(&output);
    // `-o json` is what makes the Gemini CLI print JSON; the prompt came on stdin.
    assert!(text.starts_with("ARGS: -o json\nSTDIN:\n"), "{text}");
    assert!(
        text.contains("=== REQUEST ===\nReview the parser"),
        "{text}"
    );
    assert_eq!(v["metadata"]["tool_name"], "clink");
    assert_eq!(v["metadata"]["cli_name"], "gemini");
    assert_eq!(v["metadata"]["role"], "default");
    assert_eq!(v["metadata"]["parser"], "gemini_json");
    assert_eq!(v["metadata"]["return_code"], 0);
    assert_eq!(v["metadata"]["model_used"], "fake-gemini-model");
    assert_eq!(v["metadata"]["usage"], json!({"total": 42}));
    assert!(v["metadata"]["duration_seconds"].is_number());

    // The exchange is in the conversation: the caller's words, then the CLI.
    let id = v["continuation_offer"]["continuation_id"].as_str().unwrap();
    assert!(v["continuation_offer"]["remaining_turns"].as_u64().unwrap() > 0);
    let chain = engine.conversation(id).await.unwrap();
    let turns = &chain.last().unwrap().turns;
    assert_eq!(turns.len(), 2);
    assert_eq!(
        (turns[0].role, turns[0].content.as_str()),
        (Role::User, "Review the parser")
    );
    assert_eq!(turns[1].role, Role::Assistant);
    assert_eq!(turns[1].content, text);
    assert_eq!(turns[1].model_name.as_deref(), Some("gemini"));
    assert_eq!(turns[1].tool_name.as_deref(), Some("clink"));
}

#[tokio::test]
async fn role_prompt_and_file_references_reach_the_cli() {
    let (dir, engine) = engine_with(&[client("gemini", json!({}))]);
    let file = dir.path().join("notes.md");
    std::fs::write(&file, "twelve bytes").unwrap();
    let file = file.canonicalize().unwrap();
    let output = clink(
        &engine,
        json!({
            "prompt": "Check this",
            "role": "codereviewer",
            "absolute_file_paths": [file.display().to_string()],
        }),
    )
    .await
    .unwrap();
    let text = content(&output);
    assert_eq!(output.0["metadata"]["role"], "codereviewer");
    assert_eq!(
        output.0["metadata"]["cli_name"], "gemini",
        "gemini is the default"
    );
    assert!(text.contains("asked to review code"), "{text}");
    assert!(text.contains("most to least severe"), "{text}");
    // Files are listed for the CLI to read itself, not embedded.
    assert!(text.contains("=== FILES TO READ ==="), "{text}");
    assert!(
        text.contains(&format!("- {} (12 bytes", file.display())),
        "{text}"
    );
    assert!(!text.contains("twelve bytes"), "{text}");

    let planner = clink(&engine, json!({"prompt": "Plan it", "role": "planner"}))
        .await
        .unwrap();
    assert!(
        content(&planner).contains("numbered phases"),
        "{}",
        content(&planner)
    );
}

#[tokio::test]
async fn claude_takes_the_role_prompt_as_a_system_prompt() {
    let (_dir, engine) = engine_with(&[client("claude", json!({"FAKE_FORMAT": "claude"}))]);
    let output = clink(&engine, json!({"prompt": "Hello", "cli_name": "Claude"}))
        .await
        .unwrap();
    let text = content(&output);
    let (args, stdin) = text.split_once("STDIN:").unwrap();
    assert!(
        args.starts_with("ARGS: --print --output-format json --append-system-prompt "),
        "{args}"
    );
    assert!(args.contains("command-line AI agent"), "{args}");
    assert!(!stdin.contains("command-line AI agent"), "{stdin}");
    assert!(stdin.contains("=== REQUEST ===\nHello"), "{stdin}");
    assert_eq!(output.0["metadata"]["model_used"], "fake-claude-model");
    assert_eq!(output.0["metadata"]["is_error"], false);
    // The long prompt argument is shortened in the reported command.
    let command = output.0["metadata"]["command"].as_str().unwrap();
    assert!(command.contains("--append-system-prompt <"), "{command}");
}

#[tokio::test]
async fn codex_events_are_parsed() {
    let (_dir, engine) = engine_with(&[json!({
        "name": "codex",
        "command": fake_command(),
        "additional_args": ["--json"],
        "env": {"FAKE_FORMAT": "codex"},
    })]);
    let output = clink(&engine, json!({"prompt": "Hi", "cli_name": "codex"}))
        .await
        .unwrap();
    assert!(
        content(&output).starts_with("ARGS: exec --json\nSTDIN:"),
        "{}",
        content(&output)
    );
    assert_eq!(output.0["metadata"]["parser"], "codex_jsonl");
    assert_eq!(output.0["metadata"]["usage"]["output_tokens"], 3);
}

#[tokio::test]
async fn unreadable_output_falls_back_to_the_raw_text() {
    let (_dir, engine) = engine_with(&[client("gemini", json!({"FAKE_FORMAT": "text"}))]);
    let output = clink(&engine, json!({"prompt": "Hi"})).await.unwrap();
    assert_eq!(output.0["status"], "continuation_available");
    assert!(
        content(&output).starts_with("ARGS: -o json"),
        "{}",
        content(&output)
    );
    assert!(output.0["metadata"]["parser_fallback"].is_string());
}

#[tokio::test]
async fn continuation_carries_the_history() {
    let (_dir, engine) = engine_with(&[client("gemini", json!({}))]);
    let first = clink(
        &engine,
        json!({"prompt": "First question: is the cache safe?"}),
    )
    .await
    .unwrap();
    let id = first.0["continuation_offer"]["continuation_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = clink(
        &engine,
        json!({"prompt": "Second question", "continuation_id": id}),
    )
    .await
    .unwrap();
    let text = content(&second);
    let history = text.split("=== REQUEST ===").next().unwrap();
    assert!(history.contains("=== CONVERSATION SO FAR ==="), "{text}");
    assert!(
        history.contains("First question: is the cache safe?"),
        "{text}"
    );
    assert!(
        history.contains("--- Turn 2: gemini, via clink ---"),
        "{text}"
    );
    assert!(text.contains("=== REQUEST ===\nSecond question"), "{text}");
    assert_eq!(
        second.0["continuation_offer"]["continuation_id"],
        id.as_str()
    );
    let chain = engine.conversation(&id).await.unwrap();
    assert_eq!(chain.last().unwrap().turns.len(), 4);

    // A conversation started by another tool carries on in clink too.
    let (other, _) = engine
        .record_turns(
            None,
            "chat",
            &json!({"prompt": "caching?"}),
            vec![
                Turn::user("How should we cache lookups?", "chat"),
                Turn::assistant("Use a bounded LRU keyed by path.", "chat"),
            ],
        )
        .await
        .unwrap();
    let third = clink(
        &engine,
        json!({"prompt": "Do you agree?", "continuation_id": other.to_string()}),
    )
    .await
    .unwrap();
    assert!(
        content(&third).contains("Use a bounded LRU keyed by path."),
        "{}",
        content(&third)
    );
    assert!(
        content(&third).contains("began with the `chat` tool"),
        "{}",
        content(&third)
    );
}

#[tokio::test]
async fn a_missing_cli_says_how_to_install_it() {
    let (_dir, engine) = engine_with(&[
        json!({"name": "gemini", "command": "zen-test-no-such-gemini"}),
        json!({"name": "ghost", "command": "zen-test-no-such-cli", "parser": "text"}),
    ]);
    let err = clink(&engine, json!({"prompt": "Hi", "cli_name": "gemini"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    let message = err.to_string();
    assert!(
        message.contains("`zen-test-no-such-gemini` was not found on PATH"),
        "{message}"
    );
    assert!(
        message.contains("npm install -g @google/gemini-cli"),
        "{message}"
    );

    let err = clink(&engine, json!({"prompt": "Hi", "cli_name": "ghost"}))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("zen-test-no-such-cli"), "{err}");
}

#[tokio::test]
async fn unknown_cli_or_role_lists_what_there_is() {
    let (_dir, engine) = engine_with(&[]);
    let err = clink(&engine, json!({"prompt": "Hi", "cli_name": "copilot"}))
        .await
        .unwrap_err();
    match &err {
        Error::InvalidArguments { field, message } => {
            assert_eq!(field, "cli_name");
            assert!(message.contains("claude, codex, gemini"), "{message}");
        }
        other => panic!("expected invalid cli_name, got {other:?}"),
    }
    let err = clink(
        &engine,
        json!({"prompt": "Hi", "cli_name": "codex", "role": "poet"}),
    )
    .await
    .unwrap_err();
    match &err {
        Error::InvalidArguments { field, message } => {
            assert_eq!(field, "role");
            assert!(
                message.contains("codereviewer, default, planner"),
                "{message}"
            );
        }
        other => panic!("expected invalid role, got {other:?}"),
    }
}

#[tokio::test]
async fn a_slow_cli_is_stopped_at_its_timeout() {
    let (_dir, engine) = engine_with(&[json!({
        "name": "sleepy",
        "command": fake_command(),
        "parser": "text",
        "timeout_seconds": 1,
        "env": {"FAKE_MODE": "sleep"},
    })]);
    let output = clink(&engine, json!({"prompt": "Hi", "cli_name": "sleepy"}))
        .await
        .unwrap();
    assert_eq!(output.0["status"], "error", "{}", output.0);
    assert!(
        content(&output).contains("did not finish within 1 s"),
        "{}",
        content(&output)
    );
    assert_eq!(output.0["metadata"]["timed_out"], true);
    assert_eq!(output.0["metadata"]["cli_name"], "sleepy");
}

#[tokio::test]
async fn a_failing_cli_reports_its_exit_status_and_stderr() {
    let (_dir, engine) = engine_with(&[client("gemini", json!({"FAKE_MODE": "fail"}))]);
    let output = clink(&engine, json!({"prompt": "Hi"})).await.unwrap();
    assert_eq!(output.0["status"], "error", "{}", output.0);
    let text = content(&output);
    assert!(text.contains("exit status 3"), "{text}");
    assert!(
        text.contains("fatal: quota exhausted for this project"),
        "{text}"
    );
    assert_eq!(output.0["metadata"]["return_code"], 3);
}

#[tokio::test]
async fn long_answers_are_capped() {
    let (_dir, engine) = engine_with(&[
        client("gemini", json!({"FAKE_MODE": "big"})),
        client(
            "codex",
            json!({"FAKE_MODE": "bignosummary", "FAKE_FORMAT": "codex"}),
        ),
    ]);
    let output = clink(&engine, json!({"prompt": "Hi"})).await.unwrap();
    let text = content(&output);
    assert!(
        text.ends_with("Short version: all good."),
        "{}",
        &text[..200.min(text.len())]
    );
    assert!(!text.contains("xxxx"));
    assert_eq!(output.0["metadata"]["output_summarized"], true);
    assert_eq!(output.0["metadata"]["output_original_length"], 30_044);

    let output = clink(&engine, json!({"prompt": "Hi", "cli_name": "codex"}))
        .await
        .unwrap();
    let text = content(&output);
    assert!(text.chars().count() < 20_000);
    assert!(text.contains(&"y".repeat(4_000)) && !text.contains(&"y".repeat(4_001)));
    assert_eq!(output.0["metadata"]["output_truncated"], true);
    // The conversation keeps what the caller saw.
    let id = output.0["continuation_offer"]["continuation_id"]
        .as_str()
        .unwrap();
    let chain = engine.conversation(id).await.unwrap();
    assert_eq!(chain[0].turns[1].content, text);
}

#[tokio::test]
async fn bad_definition_files_are_named() {
    let dir = TempDir::new().unwrap();
    let bad = dir.path().join("broken.json");
    std::fs::write(&bad, "{\"name\": \"gemini\", ").unwrap();
    let engine = engine_in(dir.path(), &[]);
    let err = clink(&engine, json!({"prompt": "Hi"})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(
        err.to_string().contains(&bad.display().to_string()),
        "{err}"
    );

    std::fs::write(&bad, r#"{"name": "gemini", "colour": "blue"}"#).unwrap();
    let err = clink(&engine, json!({"prompt": "Hi"})).await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("broken.json") && message.contains("colour"),
        "{message}"
    );

    std::fs::write(&bad, r#"{"name": "x", "command": "x", "parser": "yaml"}"#).unwrap();
    let err = clink(&engine, json!({"prompt": "Hi"})).await.unwrap_err();
    assert!(
        err.to_string().contains("gemini_json, codex_jsonl"),
        "{err}"
    );

    let missing = engine_in(&dir.path().join("nope"), &[]);
    let err = clink(&missing, json!({"prompt": "Hi"})).await.unwrap_err();
    assert!(err.to_string().contains("ZEN_CLI_CLIENTS_DIR"), "{err}");
}

#[tokio::test]
async fn a_definition_can_set_the_cli_path_and_pal_files_work() {
    // The CLI is found on the PATH the definition gives the child.
    let bin = TempDir::new().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(fake_cli(), bin.path().join("fakecli")).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    // PAL's setting, naming one file written in PAL's format.
    let pal = TempDir::new().unwrap();
    let pal_file = pal.path().join("mycli.json");
    std::fs::write(
        &pal_file,
        serde_json::to_string(&json!({
            "name": "mycli",
            "command": "fakecli --flag",
            "additional_args": "--extra",
            "env": {"PATH": path, "FAKE_FORMAT": "text"},
            "roles": {"reviewer": {"prompt_path": "systemprompts/clink/default_codereviewer.txt", "role_args": ["--review"]}},
        }))
        .unwrap(),
    )
    .unwrap();
    let empty = TempDir::new().unwrap();
    let engine = engine_in(
        empty.path(),
        &[("CLI_CLIENTS_CONFIG_PATH", &pal_file.display().to_string())],
    );
    let output = clink(
        &engine,
        json!({"prompt": "Hi", "cli_name": "mycli", "role": "reviewer"}),
    )
    .await
    .unwrap();
    let text = content(&output);
    assert!(
        text.starts_with("ARGS: --flag --extra --review\nSTDIN:"),
        "{text}"
    );
    assert!(text.contains("asked to review code"), "{text}");
    assert_eq!(output.0["metadata"]["parser"], "text");
}

#[tokio::test]
async fn an_answer_written_to_a_file_is_read_and_removed() {
    let (_dir, engine) = engine_with(&[json!({
        "name": "filer",
        "command": fake_command(),
        "parser": "text",
        "output_to_file": {"flag_template": "--out {path}"},
        "env": {"FAKE_MODE": "tofile"},
    })]);
    let output = clink(&engine, json!({"prompt": "Hi", "cli_name": "filer"}))
        .await
        .unwrap();
    assert_eq!(
        content(&output),
        "Answer written to a file.",
        "{}",
        output.0
    );
    let command = output.0["metadata"]["command"].as_str().unwrap();
    let path = command.split("--out ").nth(1).unwrap();
    assert!(!Path::new(path).exists(), "{path} was left behind");
}

#[tokio::test]
async fn the_schema_is_small_and_model_free() {
    let engine = Engine::new(Config::from_map([("GEMINI_API_KEY", "g")]).unwrap()).unwrap();
    let info = engine
        .tools()
        .into_iter()
        .find(|t| t.name == "clink")
        .unwrap();
    let props = info.input_schema["properties"].as_object().unwrap();
    assert!(!props.contains_key("model"));
    assert_eq!(info.input_schema["required"], json!(["prompt"]));
    let size = serde_json::to_string(&info.input_schema).unwrap().len() + info.description.len();
    assert!(
        size < 1_100,
        "clink's schema and description take {size} bytes"
    );
}
