//! zen's benchmark: prints a Markdown table of figures (not a test; nothing
//! here asserts a time). Run with
//!
//! ```sh
//! cargo bench -p zen-mcp --bench zen -- [--soak-secs N] [--only SECTION,…]
//! ```
//!
//! (sections: `latency`, `concurrent`, `startup`, `memory`, `soak`; all by
//! default). It measures, against a lean OpenAI-compatible provider on
//! loopback (`support/provider.rs`: it neither parses nor records requests, so
//! the figures are zen's rather than the harness's):
//! - the latency zen adds to a `chat` call at concurrency 1 (p50, p99), next
//!   to calling the stand-in directly in the same run;
//! - 100 and 1,000 concurrent `chat` calls with a 200 ms provider (limits
//!   raised to 1,000 for the run), then 1,000 again over the pooled
//!   connections: success rate, wall time, p99;
//! - start-up of `zen-mcp` to an answered `tools/list`;
//! - resident memory of `zen-mcp`: idle, and after 10,000 calls across
//!   1,000 conversations;
//! - a soak at steady load: memory growth over `--soak-secs` (default 300).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)] // a benchmark program

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use zen_core::{Config, Engine};

#[path = "support/provider.rs"]
mod provider;
use provider::FastProvider;

/// The allocator the zen-mcp binary uses, so that the in-process rows measure
/// zen as it ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BIN: &str = env!("CARGO_BIN_EXE_zen-mcp");

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[index]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn engine_for(server: &FastProvider, extra: &[(&str, &str)]) -> Engine {
    let base = server.base();
    let mut settings: Vec<(String, String)> = vec![
        ("OPENAI_API_KEY".into(), "k".into()),
        ("OPENAI_BASE_URL".into(), base),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

async fn added_latency(server: &FastProvider, rows: &mut Vec<[String; 3]>) {
    let engine = engine_for(server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let args = json!({"prompt": "ping", "model": "gpt-4.1",
                      "working_directory_absolute_path": dir.path()});
    let http = reqwest::Client::new();
    let body = json!({"model": "gpt-4.1", "messages": [{"role": "user", "content": "ping"}]});
    let url = format!("{}/chat/completions", server.base());
    let rounds = 2_000;
    // Warm both paths.
    for _ in 0..100 {
        engine.call_tool("chat", args.clone()).await.unwrap();
        http.post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let (mut direct, mut through) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let t = Instant::now();
        http.post(&url)
            .json(&body)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        direct.push(t.elapsed());
        let t = Instant::now();
        engine.call_tool("chat", args.clone()).await.unwrap();
        through.push(t.elapsed());
    }
    direct.sort();
    through.sort();
    let (d50, d99) = (percentile(&direct, 0.5), percentile(&direct, 0.99));
    let (z50, z99) = (percentile(&through, 0.5), percentile(&through, 0.99));
    rows.push([
        format!("chat at concurrency 1 ({rounds} calls): stand-in direct p50 / p99"),
        format!("{} / {}", us(d50), us(d99)),
        String::new(),
    ]);
    rows.push([
        "chat at concurrency 1: through zen p50 / p99".into(),
        format!("{} / {}", us(z50), us(z99)),
        String::new(),
    ]);
    rows.push([
        "latency zen adds, p50 / p99".into(),
        format!(
            "{} / {}",
            us(z50.saturating_sub(d50)),
            us(z99.saturating_sub(d99))
        ),
        "≤ 150 µs / ≤ 500 µs".into(),
    ]);
}

async fn concurrent(server: &FastProvider, rows: &mut Vec<[String; 3]>) {
    let engine = engine_for(
        server,
        &[
            ("MAX_CONCURRENT_REQUESTS", "1000"),
            ("ZEN_MAX_CONCURRENT_OPENAI", "1000"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    // The second burst of 1,000 finds the connections the first opened
    // still in the pool, as a server under steady load does.
    for (n, label) in [
        (100usize, ""),
        (1_000, ", new connections"),
        (1_000, ", pooled connections"),
    ] {
        server.set_delay_ms(200);
        let started = Instant::now();
        let calls: Vec<_> = (0..n)
            .map(|i| {
                let engine = engine.clone();
                let args = json!({"prompt": format!("call {i}"), "model": "gpt-4.1",
                                  "working_directory_absolute_path": dir.path()});
                tokio::spawn(async move {
                    let t = Instant::now();
                    let ok = engine.call_tool("chat", args).await.is_ok();
                    (ok, t.elapsed())
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut ok = 0;
        for call in calls {
            let (success, took) = call.await.unwrap();
            ok += usize::from(success);
            latencies.push(took);
        }
        let wall = started.elapsed();
        latencies.sort();
        #[allow(clippy::cast_precision_loss)]
        let rate = ok as f64 * 100.0 / n as f64;
        rows.push([
            format!("{n} concurrent chat calls{label}, 200 ms provider: success / wall / p99"),
            format!(
                "{rate:.1}% / {:.0} ms / {:.0} ms",
                wall.as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3
            ),
            "100% / close to 200 ms".into(),
        ]);
    }
    server.set_delay_ms(0);
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS:")
}

/// A figure of `/proc/PID/status`, in KiB: `VmRSS:`, `RssAnon:` (heap and
/// stacks), `RssFile:` (the mapped binary and libraries).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

struct Client {
    child: Child,
    stdin: ChildStdin,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
    next_id: u64,
}

impl Client {
    async fn start(base: &str) -> Client {
        Self::start_with(base, &[]).await
    }

    async fn start_with(base: &str, extra: &[(&str, &str)]) -> Client {
        // ZEN_BENCH_BIN measures another build; allocator settings
        // (MIMALLOC_*, MALLOC_*) pass through to the server.
        let bin = std::env::var("ZEN_BENCH_BIN").unwrap_or_else(|_| BIN.to_owned());
        let mut command = Command::new(bin);
        let allocator = std::env::vars()
            .filter(|(k, _)| k.starts_with("MIMALLOC_") || k.starts_with("MALLOC_"));
        let mut child = command
            .env_clear()
            .envs(allocator)
            .envs(extra.iter().copied())
            .env("OPENAI_API_KEY", "k")
            .env("OPENAI_BASE_URL", base)
            .env("MAX_CONCURRENT_REQUESTS", "1000")
            .env("ZEN_MAX_CONCURRENT_OPENAI", "1000")
            .env("LOG_LEVEL", "ERROR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let lines = BufReader::new(child.stdout.take().unwrap()).lines();
        Client {
            child,
            stdin,
            lines,
            next_id: 1,
        }
    }

    async fn send(&mut self, method: &str, params: Value) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
        id
    }

    async fn notify(&mut self, method: &str) {
        let message = json!({"jsonrpc": "2.0", "method": method});
        self.stdin
            .write_all(format!("{message}\n").as_bytes())
            .await
            .unwrap();
    }

    async fn reply(&mut self) -> Value {
        loop {
            let line = self.lines.next_line().await.unwrap().unwrap();
            let value: Value = serde_json::from_str(&line).unwrap();
            if value.get("id").is_some() {
                return value;
            }
        }
    }

    async fn initialize(&mut self) {
        self.send(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {},
                                       "clientInfo": {"name": "bench", "version": "1"}}),
        )
        .await;
        self.reply().await;
        self.notify("notifications/initialized").await;
    }
}

async fn startup(server: &FastProvider, rows: &mut Vec<[String; 3]>) {
    let base = server.base();
    let mut startups = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        let mut client = Client::start(&base).await;
        client.initialize().await;
        client.send("tools/list", json!({})).await;
        client.reply().await;
        startups.push(started.elapsed());
    }
    startups.sort();
    rows.push([
        "start-up to answered tools/list (median of 20)".into(),
        format!("{:.1} ms", percentile(&startups, 0.5).as_secs_f64() * 1e3),
        "< 25 ms".into(),
    ]);
}

async fn memory(server: &FastProvider, rows: &mut Vec<[String; 3]>) {
    let base = server.base();
    let mut client = Client::start(&base).await;
    client.initialize().await;
    client.send("tools/list", json!({})).await;
    client.reply().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let pid = client.child.id().unwrap();
    let idle = rss_kib(pid);
    rows.push([
        "zen-mcp resident memory, idle".into(),
        format!(
            "{:.1} MB (binary mapped {:.1} MB)",
            idle as f64 / 1024.0,
            status_kib(pid, "RssFile:") as f64 / 1024.0
        ),
        "< 15 MB".into(),
    ]);

    // 10,000 calls across 1,000 conversations, in waves of 500 in flight.
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap().to_owned();
    let mut threads: Vec<Option<String>> = vec![None; 1_000];
    let mut done = 0;
    while done < 10_000 {
        let wave = 500.min(10_000 - done);
        let mut ids = Vec::new();
        for i in 0..wave {
            let slot = (done + i) % threads.len();
            let mut arguments = json!({"prompt": format!("turn {done}+{i}: a modest question about the code"),
                                       "model": "gpt-4.1", "working_directory_absolute_path": workdir});
            if let Some(id) = &threads[slot] {
                arguments["continuation_id"] = json!(id);
            }
            let id = client
                .send(
                    "tools/call",
                    json!({"name": "chat", "arguments": arguments}),
                )
                .await;
            ids.push((id, slot));
        }
        for _ in 0..wave {
            let reply = client.reply().await;
            let text = reply["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or("{}");
            let output: Value = serde_json::from_str(text).unwrap_or(Value::Null);
            if let Some(cid) = output["continuation_offer"]["continuation_id"].as_str()
                && let Some((_, slot)) = ids.iter().find(|(id, _)| reply["id"] == *id)
            {
                threads[*slot] = Some(cid.to_owned());
            }
        }
        done += wave;
    }
    let after = rss_kib(pid);
    rows.push([
        "zen-mcp resident memory after 10,000 calls in 1,000 conversations".into(),
        format!(
            "{:.1} MB (heap and stacks {:.1} MB)",
            after as f64 / 1024.0,
            status_kib(pid, "RssAnon:") as f64 / 1024.0
        ),
        "< 40 MB".into(),
    ]);
    client
        .send("tools/call", json!({"name": "metrics", "arguments": {}}))
        .await;
    let reply = client.reply().await;
    let text = reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or("{}");
    let output: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    let stats: Value = output["content"]
        .as_str()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let held = &stats["conversations"];
    rows.push([
        "… of which conversations held, by the store's own estimate".into(),
        format!(
            "{} threads, {:.1} MB",
            held["threads"],
            held["bytes"].as_f64().unwrap_or(0.0) / 1_048_576.0
        ),
        String::new(),
    ]);
}

async fn soak(server: &FastProvider, soak: Duration, rows: &mut Vec<[String; 3]>) {
    let base = server.base();
    let dir = tempfile::tempdir().unwrap();
    let workdir = dir.path().to_str().unwrap().to_owned();

    // Soak: a fresh server whose conversation store is small (16 MB), filled
    // first, so that what is measured is growth beyond the store's bound.
    let mut client = Client::start_with(&base, &[("CONVERSATION_MEMORY_LIMIT_MB", "16")]).await;
    client.initialize().await;
    let pid = client.child.id().unwrap();
    let mut calls = 0u64;
    while calls < 40_000 {
        soak_batch(&mut client, &workdir, calls).await;
        calls += 20;
    }
    let start_rss = rss_kib(pid);
    let soak_started = Instant::now();
    let mut soak_calls = 0u64;
    while soak_started.elapsed() < soak {
        soak_batch(&mut client, &workdir, calls + soak_calls).await;
        soak_calls += 20;
    }
    let end_rss = rss_kib(pid);
    rows.push([
        format!(
            "soak: {} s at steady load ({soak_calls} calls, store bounded at 16 MB and full), memory growth",
            soak.as_secs()
        ),
        format!("{:+.1} MB ({:.1} → {:.1} MB)", (end_rss as f64 - start_rss as f64) / 1024.0,
                start_rss as f64 / 1024.0, end_rss as f64 / 1024.0),
        "< 5 MB".into(),
    ]);
}

/// Twenty new conversations at once, answered before the next twenty.
async fn soak_batch(client: &mut Client, workdir: &str, calls: u64) {
    for i in 0..20 {
        let arguments = json!({"prompt": format!("soak {calls}+{i}"), "model": "gpt-4.1",
                               "working_directory_absolute_path": workdir});
        client
            .send(
                "tools/call",
                json!({"name": "chat", "arguments": arguments}),
            )
            .await;
    }
    for _ in 0..20 {
        client.reply().await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let mut soak_secs = Duration::from_secs(300);
    let mut only: Option<Vec<String>> = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--soak-secs" => {
                soak_secs =
                    Duration::from_secs(args.next().and_then(|v| v.parse().ok()).unwrap_or(300));
            }
            "--only" => {
                only = args
                    .next()
                    .map(|v| v.split(',').map(str::to_owned).collect());
            }
            _ => {}
        }
    }
    let wanted = |section: &str| only.as_ref().is_none_or(|o| o.iter().any(|s| s == section));
    let server = FastProvider::start().await;
    let mut rows: Vec<[String; 3]> = Vec::new();
    if wanted("latency") {
        added_latency(&server, &mut rows).await;
    }
    if wanted("concurrent") {
        concurrent(&server, &mut rows).await;
    }
    if wanted("startup") {
        startup(&server, &mut rows).await;
    }
    if wanted("memory") {
        memory(&server, &mut rows).await;
    }
    if wanted("soak") {
        soak(&server, soak_secs, &mut rows).await;
    }
    println!("| measure | result | goal |");
    println!("|---|---|---|");
    for [what, result, goal] in rows {
        println!("| {what} | {result} | {goal} |");
    }
}
