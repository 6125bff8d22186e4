//! The zen-mcp binary as a user and an MCP client meet it: a real subprocess
//! with a clean environment, talking to the stand-in provider.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use zen_testkit::StandIn;

const BIN: &str = env!("CARGO_BIN_EXE_zen-mcp");

/// A command with nothing from the developer's environment or working directory.
fn zen(settings: &[(&str, &str)], dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear().current_dir(dir).kill_on_drop(true);
    for (name, value) in settings {
        cmd.env(name, value);
    }
    cmd
}

async fn run(settings: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        zen(settings, dir.path()).args(args).output(),
    )
    .await
    .expect("zen-mcp did not finish in time")
    .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test]
async fn version_help_and_bad_usage() {
    let (code, out, _) = run(&[], &["--version"]).await;
    assert_eq!(code, 0);
    assert_eq!(out.trim(), format!("zen-mcp {}", zen_core::VERSION));

    for args in [
        &["--help"][..],
        &["models", "--help"],
        &["doctor", "--help"],
    ] {
        let (code, out, _) = run(&[], args).await;
        assert_eq!(code, 0, "{args:?}");
        assert!(out.contains("zen-mcp"), "{out}");
    }

    let (code, out, err) = run(&[], &["frobnicate"]).await;
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.contains("frobnicate") && err.contains("--help"),
        "{err}"
    );
    // A known command names the argument it did not expect.
    for (args, names) in [
        (
            &["tools", "extra"][..],
            "zen-mcp tools: unexpected argument `extra`",
        ),
        (
            &["call", "version", "{}", "extra"],
            "zen-mcp call: unexpected argument `extra`",
        ),
        (
            &["serve", "--http=127.0.0.1:1"],
            "(write `--http 127.0.0.1:1`)",
        ),
        (
            &["serve", "--http", "127.0.0.1:1", "-v"],
            "unexpected argument `-v`",
        ),
    ] {
        let (code, _, err) = run(&[], args).await;
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(names), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn a_progress_interval_over_ten_seconds_stops_the_server() {
    let settings = [
        ("OPENAI_API_KEY", "k"),
        ("ZEN_PROGRESS_INTERVAL_SECS", "100"),
    ];
    let (code, _, err) = run(&settings, &[]).await;
    assert_eq!(code, 1);
    assert!(
        err.contains("ZEN_PROGRESS_INTERVAL_SECS") && err.contains("10"),
        "{err}"
    );
    let (code, out, _) = run(&settings, &["doctor"]).await;
    assert_eq!(code, 1);
    assert!(out.contains("ZEN_PROGRESS_INTERVAL_SECS"), "{out}");
}

#[tokio::test]
async fn models_lists_catalogue_and_endpoint_models() {
    let server = StandIn::start().await.unwrap();
    server.set_models(&["my-local-model:7b", "llama3.2:latest"]);
    let base = format!("{}/v1", server.url());
    let (code, out, err) = run(&[("CUSTOM_API_URL", &base)], &["models"]).await;
    assert_eq!(code, 0, "{err}");
    let list: Vec<Value> = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = list.iter().filter_map(|m| m["name"].as_str()).collect();
    // The catalogue's models the endpoint serves, and what only it lists;
    // not the catalogue's models it doesn't serve.
    assert!(names.contains(&"llama3.2:latest"), "{names:?}");
    assert!(!names.contains(&"qwen3-coder:30b"), "{names:?}");
    assert!(
        names.contains(&"my-local-model:7b"),
        "found at the endpoint: {names:?}"
    );
    assert!(list.iter().all(|m| m["provider"] == "custom"));
}

#[tokio::test]
async fn tools_and_call_from_the_command_line() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let env = [("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", base.as_str())];

    let (code, out, _) = run(&env, &["tools"]).await;
    assert_eq!(code, 0);
    let tools: Vec<Value> = serde_json::from_str(&out).unwrap();
    assert!(
        tools
            .iter()
            .any(|t| t["name"] == "chat" && t["input_schema"].is_object())
    );

    let (code, out, _) = run(&env, &["call", "version"]).await;
    assert_eq!(code, 0);
    let output: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(output["status"], "success");

    let dir = tempfile::tempdir().unwrap();
    let args = json!({"prompt": "hi", "model": "o3",
                      "working_directory_absolute_path": dir.path()})
    .to_string();
    let (code, out, stderr) = run(&env, &["call", "chat", &args]).await;
    assert_eq!(code, 0, "{out}");
    let output: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(output["status"], "continuation_available");
    // The offer outlives no `call`: stderr says where conversations continue.
    assert!(stderr.contains("can't continue it"), "{stderr}");

    // A tool error exits 1 with the error output; bad usage exits 2.
    let (code, out, _) = run(&env, &["call", "chat", r#"{"prompt": 1}"#]).await;
    assert_eq!(code, 1);
    let output: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(output["status"], "error");
    assert!(output["content"].as_str().unwrap().contains("`prompt`"));
    for bad in [
        &["call"][..],
        &["call", "chat", "{not json"],
        &["call", "chat", "[1]"],
        &["call", "nope"],
    ] {
        let (code, _, err) = run(&env, bad).await;
        assert_eq!(code, 2, "{bad:?}: {err}");
        assert!(!err.is_empty());
    }
}

#[tokio::test]
async fn a_configuration_mistake_is_one_clear_line() {
    let (code, out, err) = run(&[("MAX_CONVERSATION_TURNS", "lots")], &["models"]).await;
    assert_eq!(code, 1);
    assert!(out.is_empty());
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("MAX_CONVERSATION_TURNS") && lines[0].contains("lots"),
        "{err}"
    );
}

#[tokio::test]
async fn doctor_reports_problems_with_their_fix() {
    let (code, out, _) = run(&[], &["doctor"]).await;
    assert_eq!(code, 1);
    assert!(
        out.contains("problem:") && out.contains("GEMINI_API_KEY"),
        "{out}"
    );

    // An endpoint that is not running is a problem; the fix names the setting.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}/v1");
    let (code, out, _) = run(&[("CUSTOM_API_URL", &dead)], &["doctor"]).await;
    assert_eq!(code, 1);
    assert!(out.contains("problem: CUSTOM_API_URL"), "{out}");

    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let (code, out, _) = run(
        &[("CUSTOM_API_URL", &base), ("GEMINI_API_KEY", "k")],
        &["doctor"],
    )
    .await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("provider gemini") && out.contains("provider custom"),
        "{out}"
    );
    assert!(out.contains("catalogue custom: built-in custom"), "{out}");
    assert!(out.contains("no problems found"), "{out}");

    let (code, out, _) = run(
        &[("GEMINI_API_KEY", "k"), ("DEFAULT_MODEL", "gpt-9")],
        &["doctor"],
    )
    .await;
    assert_eq!(code, 1);
    assert!(out.contains("problem: DEFAULT_MODEL"), "{out}");
}

#[tokio::test]
async fn speaks_mcp_on_stdio() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let dir = tempfile::tempdir().unwrap();
    let mut child = zen(
        &[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", &base)],
        dir.path(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let workdir = dir.path().to_str().unwrap();

    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "chat",
            "arguments": {"prompt": "hello there", "model": "o3", "working_directory_absolute_path": workdir}}}),
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call", "params": {"name": "chat",
            "arguments": {"prompt": 5}}}),
        json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call", "params": {"name": "no_such_tool"}}),
    ];
    for (n, message) in messages.iter().enumerate() {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        if n == 2 {
            // Lines that are not JSON, or not even UTF-8, each get a parse
            // error; blank lines are skipped; the session goes on.
            stdin.write_all(b"garbage\n\n\xff\xfe{\n").await.unwrap();
            // A byte order mark before a message is no error.
            let ping = json!({"jsonrpc": "2.0", "id": 9, "method": "ping"});
            stdin
                .write_all(format!("\u{feff}{ping}\n").as_bytes())
                .await
                .unwrap();
        }
    }
    stdin.flush().await.unwrap();

    let mut replies = Vec::new();
    while replies.len() < 9 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("no reply in time")
            .unwrap()
            .expect("stdout closed early");
        let reply: Value = serde_json::from_str(&line).expect("stdout carries only JSON-RPC");
        replies.push(reply);
    }
    let by_id = |id: i64| replies.iter().find(|r| r["id"] == id).unwrap().clone();
    let parse_errors: Vec<&Value> = replies.iter().filter(|r| r["id"].is_null()).collect();
    assert_eq!(parse_errors.len(), 2, "{replies:?}");
    for error in parse_errors {
        assert_eq!(error["error"]["code"], -32700);
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("not JSON")
        );
    }
    let init = by_id(1);
    assert_eq!(init["result"]["serverInfo"]["name"], "zen");
    assert_eq!(init["result"]["serverInfo"]["version"], zen_core::VERSION);
    let instructions = init["result"]["instructions"].as_str().unwrap();
    assert!(
        instructions.contains("Auto mode") && instructions.contains("gpt-5.5"),
        "{instructions}"
    );
    assert_eq!(by_id(2)["result"], json!({}));
    assert_eq!(by_id(9)["result"], json!({}));

    let tools = by_id(3)["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
    for name in ["chat", "challenge", "apilookup", "listmodels", "version"] {
        assert!(names.contains(&name), "{names:?}");
    }
    let chat = tools.iter().find(|t| t["name"] == "chat").unwrap();
    assert_eq!(chat["annotations"]["readOnlyHint"], true);
    assert!(chat["inputSchema"]["properties"]["prompt"].is_object());

    let called = by_id(4)["result"].clone();
    assert_eq!(called["isError"], false);
    let output: Value =
        serde_json::from_str(called["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(output["status"], "continuation_available");
    assert_eq!(output["metadata"]["model_used"], "o3");
    assert_eq!(server.last_request().unwrap().body["model"], "o3");

    let invalid = by_id(5)["result"].clone();
    assert_eq!(invalid["isError"], true);
    assert!(
        invalid["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("`prompt`")
    );

    let unknown = by_id(6);
    assert_eq!(unknown["error"]["code"], -32602);
    assert!(
        unknown["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no_such_tool")
    );

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(
        status.success(),
        "the server exits cleanly when the client closes stdin"
    );
}

/// Reads JSON-RPC lines until `done` says enough, within a bound.
async fn read_until(
    lines: &mut tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    seen: &mut Vec<Value>,
    done: impl Fn(&[Value]) -> bool,
) {
    for _ in 0..200 {
        if done(seen) {
            return;
        }
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("no message in time")
            .unwrap()
            .expect("stdout closed early");
        seen.push(serde_json::from_str(&line).expect("stdout carries only JSON-RPC"));
    }
    panic!("gave up waiting: {seen:#?}");
}

#[tokio::test]
async fn slow_calls_report_progress_and_never_block_other_requests() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap().to_owned();
    let mut child = zen(
        &[
            ("OPENAI_API_KEY", "k"),
            ("OPENAI_BASE_URL", &base),
            ("ZEN_PROGRESS_INTERVAL_SECS", "0.2"),
        ],
        dir.path(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    // The first model call is slow; the second is cancelled while slow.
    server.script(zen_testkit::Behaviour {
        delay_ms: Some(1500),
        ..Default::default()
    });
    server.script(zen_testkit::Behaviour {
        delay_ms: Some(20_000),
        ..Default::default()
    });
    let chat = |id: i64, token: &str| {
        json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "chat", "_meta": {"progressToken": token},
            "arguments": {"prompt": "slow one", "model": "o3", "working_directory_absolute_path": workdir}}})
    };
    let messages = [
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"}}}),
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        chat(2, "slow-1"),
        json!({"jsonrpc": "2.0", "id": 3, "method": "ping"}),
    ];
    for message in &messages {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    let mut seen = Vec::new();
    read_until(&mut lines, &mut seen, |s| s.iter().any(|m| m["id"] == 2)).await;
    let position = |pred: &dyn Fn(&Value) -> bool| seen.iter().position(pred).unwrap();
    let pong = position(&|m| m["id"] == 3);
    let result = position(&|m| m["id"] == 2);
    assert!(
        pong < result,
        "the ping is answered while the model call runs"
    );
    let progress: Vec<&Value> = seen
        .iter()
        .filter(|m| {
            m["method"] == "notifications/progress" && m["params"]["progressToken"] == "slow-1"
        })
        .collect();
    assert!(progress.len() >= 2, "progress while waiting: {seen:#?}");
    assert_eq!(seen[result]["result"]["isError"], false);

    // Cancel the second slow call: no result comes, and the server carries on.
    let second = chat(4, "slow-2");
    stdin
        .write_all(format!("{second}\n").as_bytes())
        .await
        .unwrap();
    stdin.flush().await.unwrap();
    read_until(&mut lines, &mut seen, |s| {
        s.iter().any(|m| m["params"]["progressToken"] == "slow-2")
    })
    .await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": 4, "reason": "changed my mind"}});
    let ping = json!({"jsonrpc": "2.0", "id": 5, "method": "ping"});
    for message in [cancel, ping] {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }
    stdin.flush().await.unwrap();
    read_until(&mut lines, &mut seen, |s| s.iter().any(|m| m["id"] == 5)).await;
    assert!(
        !seen
            .iter()
            .any(|m| m["id"] == 4 && m.get("result").is_some()),
        "a cancelled call gives no result"
    );
    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn conversations_are_resources_and_tools_are_prompts() {
    let server = StandIn::start().await.unwrap();
    let base = format!("{}/v1", server.url());
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap().to_owned();
    let mut child = zen(
        &[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", &base)],
        dir.path(),
    )
    .stdin(Stdio::piped())
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut seen = Vec::new();
    let mut send = async |message: Value| {
        stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        stdin.flush().await.unwrap();
    };
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"}}}),
    )
    .await;
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "chat",
        "arguments": {"prompt": "Remember the number 7", "model": "o3",
                      "working_directory_absolute_path": workdir}}}),
    )
    .await;
    read_until(&mut lines, &mut seen, |s| s.iter().any(|m| m["id"] == 2)).await;
    let init = seen.iter().find(|m| m["id"] == 1).unwrap();
    assert!(init["result"]["capabilities"]["resources"].is_object());
    assert!(init["result"]["capabilities"]["prompts"].is_object());
    let output: Value = serde_json::from_str(
        seen.iter().find(|m| m["id"] == 2).unwrap()["result"]["content"][0]["text"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let id = output["continuation_offer"]["continuation_id"]
        .as_str()
        .unwrap()
        .to_owned();

    send(json!({"jsonrpc": "2.0", "id": 3, "method": "resources/list"})).await;
    send(
        json!({"jsonrpc": "2.0", "id": 4, "method": "resources/read",
                "params": {"uri": format!("zen://threads/{id}")}}),
    )
    .await;
    send(
        json!({"jsonrpc": "2.0", "id": 5, "method": "resources/read",
                "params": {"uri": "zen://threads"}}),
    )
    .await;
    send(json!({"jsonrpc": "2.0", "id": 6, "method": "prompts/list"})).await;
    send(json!({"jsonrpc": "2.0", "id": 7, "method": "prompts/get",
                "params": {"name": "continue", "arguments": {"request": "What was the number?"}}}))
    .await;
    send(
        json!({"jsonrpc": "2.0", "id": 8, "method": "resources/read",
                "params": {"uri": "zen://threads/not-a-uuid"}}),
    )
    .await;
    read_until(&mut lines, &mut seen, |s| {
        (3..=8).all(|id| s.iter().any(|m| m["id"] == id))
    })
    .await;
    let by_id = |id: i64| seen.iter().find(|m| m["id"] == id).unwrap().clone();

    let resources = by_id(3)["result"]["resources"].as_array().unwrap().clone();
    let uris: Vec<&str> = resources.iter().filter_map(|r| r["uri"].as_str()).collect();
    assert!(uris.contains(&"zen://threads"));
    assert!(
        uris.contains(&format!("zen://threads/{id}").as_str()),
        "{uris:?}"
    );

    let transcript = by_id(4)["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(transcript.contains("Remember the number 7"), "{transcript}");
    assert!(
        transcript.contains("Stand-in answer from o3"),
        "{transcript}"
    );
    let index = by_id(5)["result"]["contents"][0]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(index.contains(&id), "{index}");
    // Read back as the type the listing announced.
    for reply in [by_id(4), by_id(5)] {
        assert_eq!(reply["result"]["contents"][0]["mimeType"], "text/markdown");
    }
    assert!(resources.iter().all(|r| r["mimeType"] == "text/markdown"));

    let prompts = by_id(6)["result"]["prompts"].as_array().unwrap().clone();
    let names: Vec<&str> = prompts.iter().filter_map(|p| p["name"].as_str()).collect();
    assert!(
        names.contains(&"chat") && names.contains(&"continue"),
        "{names:?}"
    );
    let text = by_id(7)["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        text.contains(&id) && text.contains("What was the number?"),
        "{text}"
    );
    assert!(
        by_id(8)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not-a-uuid")
    );

    drop(stdin);
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn logs_can_also_go_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("zen.log");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}/v1");
    let (code, out, err) = run(
        &[
            ("CUSTOM_API_URL", &dead),
            ("ZEN_LOG_FILE", log.to_str().unwrap()),
        ],
        &["models"],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.trim_start().starts_with('['),
        "stdout holds only the result"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("custom endpoint did not list its models"),
        "{logged}"
    );
    assert!(
        err.contains("custom endpoint did not list its models"),
        "{err}"
    );
}
