//! What the engine is doing: counters and latency histograms per tool and per
//! provider/model, breaker states and queues, memory held (as JSON from
//! [`crate::Engine::stats`] and as Prometheus text), and the audit log.
//!
//! Metrics are recorded with the [`metrics`] crate into a recorder each engine
//! owns ([`Recorder`]), because one process may run several engines (a Python
//! program, a C host, tests) and each must report its own. When the host has
//! installed a global `metrics` recorder (say, a Prometheus exporter), every
//! metric goes there too.

mod audit;
mod prometheus;
mod registry;
mod stats;

use std::time::{Instant, SystemTime};

use metrics::{Gauge, Key, Label};
use serde_json::{Value, json};

pub use audit::AuditLog;
pub use registry::{AtomicHistogram, BUCKETS, Handle, Recorder, ZenStorage};
pub use stats::{Histogram, ModelCall, ModelStats, Stats, ToolStats, resident_bytes};

use crate::config::Settings;
use crate::conversation::StoreUsage;
use crate::error::Result;
use crate::resilience::{BreakerState, ProviderGuardState};

tokio::task_local! {
    /// The tool call a model call belongs to, for metrics and the audit log.
    pub static CURRENT_CALL: CallContext;
}

/// The tool call in progress on this task.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    /// This tool call's id, unique in the process: its audit record and
    /// those of its model calls share it.
    pub call_id: String,
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

/// What the engine's parts report when its stats are taken.
#[derive(Debug, Clone, Copy)]
pub struct Sample<'a> {
    /// Each configured provider's guards.
    pub providers: &'a [ProviderGuardState],
    /// Tool calls in flight and waiting.
    pub tool_calls: (usize, usize),
    /// What the conversation store holds.
    pub conversations: StoreUsage,
}

impl Telemetry {
    fn gauge(&self, name: &'static str, labels: Vec<Label>) -> Handle<Gauge> {
        Handle::gauge(self.stats.recorder(), &Key::from_parts(name, labels))
    }

    /// Publishes the figures of cache `cache` (`files`, `responses`): its
    /// hits and misses as counters, the entries and bytes it holds as gauges.
    pub fn cache(&self, cache: &'static str, hits: u64, misses: u64, entries: u64, bytes: u64) {
        let labels = || vec![Label::new("cache", cache)];
        let counter =
            |name| Handle::counter(self.stats.recorder(), &Key::from_parts(name, labels()));
        counter("zen_cache_hits_total").absolute(hits);
        counter("zen_cache_misses_total").absolute(misses);
        self.gauge("zen_cache_entries", labels())
            .set(entries as f64);
        self.gauge("zen_cache_bytes", labels()).set(bytes as f64);
    }

    /// Sets the gauges from `sample` (and the process's memory and uptime)
    /// and returns the engine's stats as JSON: `version`, `uptime_seconds`,
    /// `tools`, `models`, `providers`, `queue`, `conversations`, `process`.
    #[allow(clippy::cast_precision_loss)]
    pub fn snapshot(&self, sample: &Sample<'_>) -> Value {
        let uptime = self.started.elapsed().as_secs();
        let resident = resident_bytes();
        let (in_flight, waiting) = sample.tool_calls;
        for p in sample.providers {
            let labels = || vec![Label::new("provider", p.provider.id())];
            self.gauge("zen_provider_concurrency_limit", labels())
                .set(p.limit);
            self.gauge("zen_provider_max_concurrent", labels())
                .set(p.ceiling as f64);
            self.gauge("zen_provider_in_flight", labels())
                .set(p.in_flight as f64);
            self.gauge("zen_provider_queue_depth", labels())
                .set(p.waiting as f64);
            let state = match p.breaker {
                BreakerState::Closed => 0.0,
                BreakerState::HalfOpen => 1.0,
                BreakerState::Open => 2.0,
            };
            self.gauge("zen_breaker_state", labels()).set(state);
        }
        for (name, value) in [
            ("zen_tool_calls_in_flight", Some(in_flight as f64)),
            ("zen_tool_calls_waiting", Some(waiting as f64)),
            (
                "zen_conversation_threads",
                Some(sample.conversations.threads as f64),
            ),
            (
                "zen_conversation_bytes",
                Some(sample.conversations.bytes as f64),
            ),
            (
                "zen_process_resident_memory_bytes",
                resident.map(|b| b as f64),
            ),
            ("zen_uptime_seconds", Some(uptime as f64)),
        ] {
            if let Some(value) = value {
                self.gauge(name, Vec::new()).set(value);
            }
        }

        let models: Vec<Value> = self
            .stats
            .models()
            .into_iter()
            .map(|((provider, model), s)| {
                let mut value = json!(s);
                if let Value::Object(map) = &mut value {
                    map.insert("provider".into(), provider.into());
                    map.insert("model".into(), model.into());
                }
                value
            })
            .collect();
        let providers: Vec<Value> = sample
            .providers
            .iter()
            .map(|p| {
                json!({
                    "provider": p.provider.id(),
                    "breaker": p.breaker.as_str(),
                    "limit": p.limit,
                    "max_concurrent": p.ceiling,
                    "in_flight": p.in_flight,
                    "waiting": p.waiting,
                })
            })
            .collect();
        json!({
            "version": crate::VERSION,
            "uptime_seconds": uptime,
            "tools": self.stats.tools(),
            "models": models,
            "providers": providers,
            "queue": {"in_flight": in_flight, "waiting": waiting},
            "conversations": sample.conversations,
            "process": {"resident_bytes": resident},
        })
    }

    /// Every metric in the engine's recorder, in the Prometheus text format
    /// (gauges as of the last [`Telemetry::snapshot`]).
    pub fn prometheus(&self) -> String {
        prometheus::render(self.stats.recorder())
    }
}
