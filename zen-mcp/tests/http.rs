//! `zen-mcp serve --http`: streamable HTTP at /mcp, /health, and the Host,
//! Origin and token checks, against a real subprocess.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use zen_testkit::StandIn;

/// Starts the HTTP server on a free port; returns it and its base URL.
async fn start(settings: &[(&str, &str)]) -> (Child, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_zen-mcp"));
    cmd.env_clear()
        .current_dir(dir.path())
        .args(["serve", "--http", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in settings {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let url = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("no address printed")
            .unwrap()
            .expect("stderr closed before the address");
        if let Some(rest) = line.strip_prefix("zen-mcp listening on ") {
            break rest.trim_end_matches("/mcp").to_owned();
        }
    };
    // Keep draining stderr so the server never blocks on it.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url, dir)
}

/// The JSON-RPC messages in a response body (plain JSON or server-sent events).
fn messages(body: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return vec![value];
    }
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

struct Session {
    http: reqwest::Client,
    url: String,
    id: Option<String>,
    token: Option<String>,
}

impl Session {
    async fn post(&mut self, message: Value) -> (u16, Vec<Value>) {
        let mut request = self
            .http
            .post(format!("{}/mcp", self.url))
            .header("Accept", "application/json, text/event-stream")
            .json(&message);
        if let Some(id) = &self.id {
            request = request.header("Mcp-Session-Id", id);
        }
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        if let Some(id) = response.headers().get("mcp-session-id") {
            self.id = Some(id.to_str().unwrap().to_owned());
        }
        let status = response.status().as_u16();
        (status, messages(&response.text().await.unwrap()))
    }

    async fn initialize(&mut self) {
        let (status, replies) = self
            .post(
                json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "http-test", "version": "1"}}}),
            )
            .await;
        assert_eq!(status, 200);
        assert_eq!(replies[0]["result"]["serverInfo"]["name"], "zen");
        let (status, _) = self
            .post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
            .await;
        assert!(status == 202 || status == 200, "{status}");
    }
}

#[tokio::test]
async fn serves_mcp_and_health_over_http() {
    let provider = StandIn::start().await.unwrap();
    let base = format!("{}/v1", provider.url());
    let (_child, url, dir) = start(&[("OPENAI_API_KEY", "k"), ("OPENAI_BASE_URL", &base)]).await;
    let http = reqwest::Client::new();

    let health: Value = http
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], zen_core::VERSION);
    assert_eq!(health["providers"], json!(["openai"]));
    assert!(health["uptime_seconds"].is_u64());

    let mut session = Session {
        http: http.clone(),
        url: url.clone(),
        id: None,
        token: None,
    };
    session.initialize().await;
    let (_, replies) = session
        .post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}))
        .await;
    let tools = replies[0]["result"]["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t["name"] == "chat"));

    let (_, replies) = session
        .post(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
            "name": "chat", "arguments": {"prompt": "over http", "model": "o3",
            "working_directory_absolute_path": dir.path()}}}),
        )
        .await;
    let reply = replies.iter().find(|m| m["id"] == 3).unwrap();
    let output: Value =
        serde_json::from_str(reply["result"]["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(output["status"], "continuation_available");
    assert_eq!(provider.last_request().unwrap().body["model"], "o3");

    // /metrics speaks Prometheus text, and counts the call.
    let metrics = http.get(format!("{url}/metrics")).send().await.unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains("zen_tool_calls_total{tool=\"chat\"} 1"),
        "{text}"
    );
    let health: Value = http
        .get(format!("{url}/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["conversations"]["threads"], 1);
    assert_eq!(health["breakers"][0]["breaker"], "closed");

    // Two clients at once each get their own session.
    let mut other = Session {
        http,
        url,
        id: None,
        token: None,
    };
    other.initialize().await;
    assert_ne!(other.id, session.id);

    // A body that is not JSON is a JSON-RPC parse error; JSON that is no
    // JSON-RPC message is an invalid request; both say 400, not 415.
    for (body, code) in [("{not json", -32700), (r#"{"hello": 1}"#, -32600)] {
        let refused = session
            .http
            .post(format!("{}/mcp", session.url))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .header("Mcp-Session-Id", session.id.clone().unwrap())
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status().as_u16(), 400, "{body}");
        let error: Value = refused.json().await.unwrap();
        assert_eq!(error["error"]["code"], code, "{body}: {error}");
        assert!(error["id"].is_null());
    }

    // Ending a session answers 204, which every client SDK takes as success,
    // and the ended session is gone.
    let ended = session
        .http
        .delete(format!("{}/mcp", session.url))
        .header("Mcp-Session-Id", session.id.clone().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(ended.status().as_u16(), 204);
    let (status, _) = session
        .post(json!({"jsonrpc": "2.0", "id": 4, "method": "tools/list"}))
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn foreign_hosts_and_origins_are_refused() {
    let (_child, url, _dir) = start(&[]).await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("{url}/health"))
        .header("Host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("ZEN_HTTP_ALLOWED_HOSTS")
    );

    let response = http
        .post(format!("{url}/mcp"))
        .header("Origin", "https://attacker.example")
        .header("Accept", "application/json, text/event-stream")
        .json(&json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);

    let response = http
        .get(format!("{url}/health"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200, "local pages are fine");
}

#[tokio::test]
async fn a_token_guards_mcp() {
    let (_child, url, _dir) = start(&[("ZEN_HTTP_TOKEN", "s3cret")]).await;
    let http = reqwest::Client::new();
    let mut anonymous = Session {
        http: http.clone(),
        url: url.clone(),
        id: None,
        token: None,
    };
    let (status, _) = anonymous
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(status, 401);
    let mut wrong = Session {
        http: http.clone(),
        url: url.clone(),
        id: None,
        token: Some("nope".into()),
    };
    let (status, _) = wrong
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}))
        .await;
    assert_eq!(status, 401);
    // A refusal says which scheme it wants; the scheme's name is not case-sensitive.
    let refused = http.post(format!("{url}/mcp")).send().await.unwrap();
    assert_eq!(
        refused.headers()["www-authenticate"],
        "Bearer realm=\"zen-mcp\""
    );
    let lowercase = http
        .post(format!("{url}/mcp"))
        .header("Authorization", "bearer s3cret")
        .header("Accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "http-test", "version": "1"}}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(lowercase.status().as_u16(), 200);
    let mut right = Session {
        http,
        url,
        id: None,
        token: Some("s3cret".into()),
    };
    right.initialize().await;
}

#[tokio::test]
async fn a_bad_address_is_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_zen-mcp"))
        .env_clear()
        .args(["serve", "--http", "not-an-address"])
        .output()
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "bad usage");
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        err.contains("not-an-address") && err.contains("HOST:PORT"),
        "{err}"
    );
}

#[tokio::test]
async fn a_host_name_is_an_address_to_listen_on() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zen-mcp"))
        .env_clear()
        .env("OPENAI_API_KEY", "k")
        .args(["serve", "--http", "localhost:0"])
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let said = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if line.contains("listening on") {
                return line;
            }
        }
        String::new()
    })
    .await
    .unwrap();
    assert!(
        said.contains("http://127.0.0.1:") || said.contains("http://[::1]:"),
        "{said}"
    );
}
