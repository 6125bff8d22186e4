//! The `zen-standin` binary, driven over HTTP the way C, Python and MCP tests
//! drive it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a failure is a panic

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

#[tokio::test]
async fn binary_prints_its_url_and_is_scriptable_over_http() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_zen-standin"))
        .stdout(Stdio::piped())
        .stdin(Stdio::piped())
        .kill_on_drop(true)
        .arg("--exit-on-eof")
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("no URL printed")
        .unwrap()
        .unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let http = reqwest::Client::new();
    let health: Value = http
        .get(format!("{url}/_standin/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health, json!({"ok": true}));

    // A scripted failure, then a normal reply.
    let scripted = http
        .post(format!("{url}/_standin/script"))
        .body(r#"{"status": 503, "retry_after": 2, "path_contains": "/chat/completions"}"#)
        .send()
        .await
        .unwrap();
    assert!(scripted.status().is_success());
    let chat = json!({"model": "m", "messages": [{"role": "user", "content": "hello there"}]});
    let failed = http
        .post(format!("{url}/v1/chat/completions"))
        .json(&chat)
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status().as_u16(), 503);
    assert_eq!(failed.headers()["retry-after"], "2");
    let ok: Value = http
        .post(format!("{url}/v1/chat/completions"))
        .json(&chat)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        ok["choices"][0]["message"]["content"],
        "Stand-in answer from m. The prompt began: hello there"
    );

    // A bad script is refused with a reason.
    let bad = http
        .post(format!("{url}/_standin/script"))
        .body(r#"{"stauts": 500}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
    assert!(bad.text().await.unwrap().contains("stauts"));

    let recorded: Vec<Value> = http
        .get(format!("{url}/_standin/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0]["path"], "/v1/chat/completions");
    assert_eq!(recorded[0]["body"], chat);

    http.post(format!("{url}/_standin/reset"))
        .send()
        .await
        .unwrap();
    let recorded: Vec<Value> = http
        .get(format!("{url}/_standin/requests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(recorded.is_empty());

    // Closing stdin stops it.
    drop(child.stdin.take());
    let status = tokio::time::timeout(Duration::from_secs(30), child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}
