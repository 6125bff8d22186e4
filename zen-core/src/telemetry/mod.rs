//! What the engine is doing: counters and latency histograms per tool and per
//! provider/model, breaker states and queues, memory held (as JSON from
//! [`crate::Engine::stats`] and as Prometheus text), and the audit log.
//!
//! The counters are kept per engine rather than in a process-wide metrics
//! recorder, because one process may run several engines (a Python program, a
//! C host, tests) and each must report its own.

mod audit;
mod stats;

use std::fmt::Write as _;
use std::time::{Instant, SystemTime};

use serde_json::{Value, json};

pub use audit::AuditLog;
pub use stats::{BUCKETS, Histogram, ModelCall, ModelStats, Stats, ToolStats, resident_bytes};

use crate::config::Settings;
use crate::error::Result;

tokio::task_local! {
    /// The tool call a model call belongs to, for metrics and the audit log.
    pub static CURRENT_CALL: CallContext;
}

/// The tool call in progress on this task.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// The tool.
    pub tool: String,
    /// The conversation, when the call continued one.
    pub continuation_id: Option<String>,
}

/// Counters, the audit log and the start time of one engine.
#[derive(Debug)]
pub struct Telemetry {
    /// The counters.
    pub stats: Stats,
    /// The audit log, when `ZEN_AUDIT_LOG` is set.
    pub audit: Option<AuditLog>,
    /// When the engine started.
    pub started: Instant,
}

impl Telemetry {
    /// Telemetry for an engine with `settings`.
    pub fn new(settings: &Settings) -> Result<Self> {
        Ok(Telemetry {
            stats: Stats::default(),
            audit: AuditLog::from_settings(settings)?,
            started: Instant::now(),
        })
    }

    /// Writes an audit record (with its time) when the audit log is on.
    pub fn audit(&self, mut record: Value) {
        if let Some(log) = &self.audit {
            if let Value::Object(map) = &mut record {
                map.insert(
                    "time".into(),
                    json!(humantime::format_rfc3339_millis(SystemTime::now()).to_string()),
                );
            }
            log.write(&record);
        }
    }

    /// Whether the audit log is on (records are only built when it is).
    pub fn auditing(&self) -> bool {
        self.audit.is_some()
    }

    /// Whether audit records may carry prompt content.
    pub fn audit_content(&self) -> bool {
        self.audit.as_ref().is_some_and(AuditLog::with_content)
    }
}

/// The current tool call's context, if this task runs one.
pub fn current_call() -> Option<CallContext> {
    CURRENT_CALL.try_with(Clone::clone).ok()
}

/// Renders an engine's stats (as returned by `Engine::stats`) as Prometheus text.
pub fn prometheus_text(stats: &Value) -> String {
    let mut out = String::new();
    let label = |s: &str| {
        s.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    };
    let family = |out: &mut String, name: &str, kind: &str, help: &str| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
    };

    family(
        &mut out,
        "zen_tool_calls_total",
        "counter",
        "Tool calls made.",
    );
    for (tool, s) in stats["tools"].as_object().into_iter().flatten() {
        let _ = writeln!(
            out,
            "zen_tool_calls_total{{tool=\"{}\"}} {}",
            label(tool),
            s["calls"]
        );
    }
    family(
        &mut out,
        "zen_tool_errors_total",
        "counter",
        "Failed tool calls by error kind.",
    );
    for (tool, s) in stats["tools"].as_object().into_iter().flatten() {
        for (kind, n) in s["errors"].as_object().into_iter().flatten() {
            let _ = writeln!(
                out,
                "zen_tool_errors_total{{tool=\"{}\",kind=\"{}\"}} {n}",
                label(tool),
                label(kind)
            );
        }
    }
    family(
        &mut out,
        "zen_tool_duration_seconds",
        "histogram",
        "How long tool calls took.",
    );
    for (tool, s) in stats["tools"].as_object().into_iter().flatten() {
        histogram(
            &mut out,
            "zen_tool_duration_seconds",
            &format!("tool=\"{}\"", label(tool)),
            &s["latency"],
        );
    }

    let models: Vec<&Value> = stats["models"].as_array().into_iter().flatten().collect();
    let model_label = |m: &Value| {
        format!(
            "provider=\"{}\",model=\"{}\"",
            label(m["provider"].as_str().unwrap_or_default()),
            label(m["model"].as_str().unwrap_or_default())
        )
    };
    for (name, field, help) in [
        ("zen_model_calls_total", "calls", "Model calls made."),
        (
            "zen_model_retries_total",
            "retries",
            "Retries of model calls.",
        ),
        (
            "zen_model_tokens_in_total",
            "tokens_in",
            "Tokens sent to models.",
        ),
        (
            "zen_model_tokens_out_total",
            "tokens_out",
            "Tokens received from models.",
        ),
    ] {
        family(&mut out, name, "counter", help);
        for m in &models {
            let _ = writeln!(out, "{name}{{{}}} {}", model_label(m), m[field]);
        }
    }
    family(
        &mut out,
        "zen_model_errors_total",
        "counter",
        "Failed model calls by error kind.",
    );
    for m in &models {
        for (kind, n) in m["errors"].as_object().into_iter().flatten() {
            let _ = writeln!(
                out,
                "zen_model_errors_total{{{},kind=\"{}\"}} {n}",
                model_label(m),
                label(kind)
            );
        }
    }
    family(
        &mut out,
        "zen_model_duration_seconds",
        "histogram",
        "How long model calls took, retries included.",
    );
    for m in &models {
        histogram(
            &mut out,
            "zen_model_duration_seconds",
            &model_label(m),
            &m["latency"],
        );
    }

    let providers: Vec<&Value> = stats["providers"]
        .as_array()
        .into_iter()
        .flatten()
        .collect();
    for (name, field, help) in [
        (
            "zen_provider_concurrency_limit",
            "limit",
            "Current adaptive concurrency limit.",
        ),
        (
            "zen_provider_in_flight",
            "in_flight",
            "Model calls in flight.",
        ),
        (
            "zen_provider_queue_depth",
            "waiting",
            "Model calls waiting for a place.",
        ),
    ] {
        family(&mut out, name, "gauge", help);
        for p in &providers {
            let _ = writeln!(
                out,
                "{name}{{provider=\"{}\"}} {}",
                label(p["provider"].as_str().unwrap_or_default()),
                p[field]
            );
        }
    }
    family(
        &mut out,
        "zen_breaker_state",
        "gauge",
        "Circuit breaker: 0 closed, 1 half-open, 2 open.",
    );
    for p in &providers {
        let state = match p["breaker"].as_str() {
            Some("open") => 2,
            Some("half_open") => 1,
            _ => 0,
        };
        let _ = writeln!(
            out,
            "zen_breaker_state{{provider=\"{}\"}} {state}",
            label(p["provider"].as_str().unwrap_or_default())
        );
    }
    for (name, value, help) in [
        (
            "zen_tool_calls_in_flight",
            &stats["queue"]["in_flight"],
            "Tool calls in flight.",
        ),
        (
            "zen_tool_calls_waiting",
            &stats["queue"]["waiting"],
            "Tool calls waiting for a place.",
        ),
        (
            "zen_conversation_threads",
            &stats["conversations"]["threads"],
            "Conversations held.",
        ),
        (
            "zen_conversation_bytes",
            &stats["conversations"]["bytes"],
            "Approximate bytes of conversations held.",
        ),
        (
            "zen_process_resident_memory_bytes",
            &stats["process"]["resident_bytes"],
            "Resident memory of the process.",
        ),
        (
            "zen_uptime_seconds",
            &stats["uptime_seconds"],
            "Seconds since the engine started.",
        ),
    ] {
        if !value.is_null() {
            family(&mut out, name, "gauge", help);
            let _ = writeln!(out, "{name} {value}");
        }
    }
    out
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Value) {
    let mut cumulative = 0u64;
    for (bound, n) in BUCKETS
        .iter()
        .zip(h["buckets"].as_array().into_iter().flatten())
    {
        cumulative += n.as_u64().unwrap_or(0);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
    }
    let count = h["count"].as_u64().unwrap_or(0);
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
    let _ = writeln!(
        out,
        "{name}_sum{{{labels}}} {}",
        h["sum_seconds"].as_f64().unwrap_or(0.0)
    );
    let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
}
