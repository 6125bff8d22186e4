//! Counters and latency histograms per tool and per provider/model, kept per
//! engine (a process may hold several engines: tests, Python, C hosts).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Histogram {
    /// Observations at or under each bound of [`BUCKETS`] (not cumulative).
    pub buckets: [u64; BUCKETS.len()],
    /// Observations over the last bound.
    pub over: u64,
    /// How many observations.
    pub count: u64,
    /// Their sum, in seconds.
    pub sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, took: Duration) {
        let secs = took.as_secs_f64();
        match BUCKETS.iter().position(|bound| secs <= *bound) {
            Some(i) => self.buckets[i] += 1,
            None => self.over += 1,
        }
        self.count += 1;
        self.sum_seconds += secs;
    }
}

/// Counts for one tool.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ToolStats {
    /// Calls made.
    pub calls: u64,
    /// Failed calls by error kind (`tool_error` for an output with status `error`).
    pub errors: BTreeMap<String, u64>,
    /// How long calls took.
    pub latency: Histogram,
}

/// Counts for one provider and model.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ModelStats {
    /// Calls made (retries of one call count once).
    pub calls: u64,
    /// Failed calls by error kind.
    pub errors: BTreeMap<String, u64>,
    /// Tokens sent.
    pub tokens_in: u64,
    /// Tokens received.
    pub tokens_out: u64,
    /// Retries made.
    pub retries: u64,
    /// How long calls took, retries included.
    pub latency: Histogram,
}

#[derive(Debug, Default)]
struct Inner {
    tools: BTreeMap<String, ToolStats>,
    models: BTreeMap<(String, String), ModelStats>,
}

/// The counters of one engine.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Inner>,
}

impl Stats {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records a tool call; `error` is the error kind when it failed.
    pub fn tool_call(&self, tool: &str, took: Duration, error: Option<&str>) {
        let mut inner = self.lock();
        let entry = inner.tools.entry(tool.to_owned()).or_default();
        entry.calls += 1;
        entry.latency.observe(took);
        if let Some(kind) = error {
            *entry.errors.entry(kind.to_owned()).or_default() += 1;
        }
    }

    /// Records a model call.
    pub fn model_call(&self, call: &ModelCall<'_>) {
        let mut inner = self.lock();
        let entry = inner
            .models
            .entry((call.provider.to_owned(), call.model.to_owned()))
            .or_default();
        entry.calls += 1;
        entry.latency.observe(call.took);
        entry.retries += u64::from(call.retries);
        entry.tokens_in += call.tokens_in;
        entry.tokens_out += call.tokens_out;
        if let Some(kind) = call.error {
            *entry.errors.entry(kind.to_owned()).or_default() += 1;
        }
    }

    /// A copy of the tool counters.
    pub fn tools(&self) -> BTreeMap<String, ToolStats> {
        self.lock().tools.clone()
    }

    /// A copy of the model counters, keyed by (provider, model).
    pub fn models(&self) -> BTreeMap<(String, String), ModelStats> {
        self.lock().models.clone()
    }
}

/// One model call, as recorded.
#[derive(Debug, Clone, Copy)]
pub struct ModelCall<'a> {
    /// The provider's id.
    pub provider: &'a str,
    /// The model's name.
    pub model: &'a str,
    /// How long it took, retries included.
    pub took: Duration,
    /// Retries made.
    pub retries: u32,
    /// Tokens sent.
    pub tokens_in: u64,
    /// Tokens received.
    pub tokens_out: u64,
    /// The error kind, when it failed.
    pub error: Option<&'a str>,
}

/// This process's resident memory, in bytes, where the system says.
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
