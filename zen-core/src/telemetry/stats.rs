//! Counters and latency histograms per tool and per provider/model, recorded
//! through the [`metrics`] crate into each engine's own [`Recorder`].
//!
//! The call path looks its handles up once per call (a read lock and a hash
//! lookup) and then only adds to atomics: no allocation once a tool or model
//! has been seen.

use std::collections::{BTreeMap, HashMap};
use std::sync::{PoisonError, RwLock};
use std::time::Duration;

use metrics::{Counter, Key, Label};
use serde::Serialize;

use super::registry::{AtomicHistogram, BUCKETS, Handle, Recorder};

/// Metric names.
pub(super) mod names {
    pub const TOOL_CALLS: &str = "zen_tool_calls_total";
    pub const TOOL_ERRORS: &str = "zen_tool_errors_total";
    pub const TOOL_DURATION: &str = "zen_tool_duration_seconds";
    pub const MODEL_CALLS: &str = "zen_model_calls_total";
    pub const MODEL_ERRORS: &str = "zen_model_errors_total";
    pub const MODEL_RETRIES: &str = "zen_model_retries_total";
    pub const MODEL_TOKENS_IN: &str = "zen_model_tokens_in_total";
    pub const MODEL_TOKENS_OUT: &str = "zen_model_tokens_out_total";
    pub const MODEL_DURATION: &str = "zen_model_duration_seconds";
}

/// A latency histogram with fixed buckets, as reported.
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

impl From<&AtomicHistogram> for Histogram {
    fn from(h: &AtomicHistogram) -> Self {
        let all = h.buckets();
        let mut buckets = [0; BUCKETS.len()];
        buckets.copy_from_slice(&all[..BUCKETS.len()]);
        Histogram {
            buckets,
            over: all[BUCKETS.len()],
            count: h.count(),
            sum_seconds: h.sum_seconds(),
        }
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

#[derive(Debug)]
struct ToolHandles {
    calls: Handle<Counter>,
    latency: Handle<metrics::Histogram>,
}

#[derive(Debug)]
struct ModelHandles {
    calls: Handle<Counter>,
    retries: Handle<Counter>,
    tokens_in: Handle<Counter>,
    tokens_out: Handle<Counter>,
    latency: Handle<metrics::Histogram>,
}

/// The counters of one engine.
#[derive(Debug, Default)]
pub struct Stats {
    recorder: Recorder,
    tools: RwLock<HashMap<String, ToolHandles>>,
    /// By provider, then model.
    models: RwLock<HashMap<String, HashMap<String, ModelHandles>>>,
}

fn key(name: &'static str, labels: &[(&'static str, &str)]) -> Key {
    let labels: Vec<Label> = labels
        .iter()
        .map(|(k, v)| Label::new(*k, (*v).to_owned()))
        .collect();
    Key::from_parts(name, labels)
}

fn label<'a>(key: &'a Key, name: &str) -> &'a str {
    key.labels()
        .find(|l| l.key() == name)
        .map_or("", Label::value)
}

impl Stats {
    /// The engine's metrics recorder.
    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }

    /// Records a tool call; `error` is the error kind when it failed.
    pub fn tool_call(&self, tool: &str, took: Duration, error: Option<&str>) {
        let record = |h: &ToolHandles| {
            h.calls.increment(1);
            h.latency.record(took.as_secs_f64());
        };
        let known = {
            let tools = self.tools.read().unwrap_or_else(PoisonError::into_inner);
            tools.get(tool).map(record).is_some()
        };
        if !known {
            let labels = [("tool", tool)];
            let handles = ToolHandles {
                calls: Handle::counter(&self.recorder, &key(names::TOOL_CALLS, &labels)),
                latency: Handle::histogram(&self.recorder, &key(names::TOOL_DURATION, &labels)),
            };
            record(&handles);
            self.tools
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(tool.to_owned())
                .or_insert(handles);
        }
        if let Some(kind) = error {
            let key = key(names::TOOL_ERRORS, &[("tool", tool), ("kind", kind)]);
            Handle::counter(&self.recorder, &key).increment(1);
        }
    }

    /// Records a model call.
    pub fn model_call(&self, call: &ModelCall<'_>) {
        let record = |h: &ModelHandles| {
            h.calls.increment(1);
            h.retries.increment(u64::from(call.retries));
            h.tokens_in.increment(call.tokens_in);
            h.tokens_out.increment(call.tokens_out);
            h.latency.record(call.took.as_secs_f64());
        };
        let known = {
            let models = self.models.read().unwrap_or_else(PoisonError::into_inner);
            models
                .get(call.provider)
                .and_then(|m| m.get(call.model))
                .map(record)
                .is_some()
        };
        let labels = [("provider", call.provider), ("model", call.model)];
        if !known {
            let counter = |name| Handle::counter(&self.recorder, &key(name, &labels));
            let handles = ModelHandles {
                calls: counter(names::MODEL_CALLS),
                retries: counter(names::MODEL_RETRIES),
                tokens_in: counter(names::MODEL_TOKENS_IN),
                tokens_out: counter(names::MODEL_TOKENS_OUT),
                latency: Handle::histogram(&self.recorder, &key(names::MODEL_DURATION, &labels)),
            };
            record(&handles);
            self.models
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(call.provider.to_owned())
                .or_default()
                .entry(call.model.to_owned())
                .or_insert(handles);
        }
        if let Some(kind) = call.error {
            let key = key(names::MODEL_ERRORS, &[labels[0], labels[1], ("kind", kind)]);
            Handle::counter(&self.recorder, &key).increment(1);
        }
    }

    /// The tool counters, read from the recorder.
    pub fn tools(&self) -> BTreeMap<String, ToolStats> {
        let mut tools: BTreeMap<String, ToolStats> = BTreeMap::new();
        for (key, value) in self.recorder.counters() {
            let tool = || label(&key, "tool").to_owned();
            match key.name() {
                names::TOOL_CALLS => tools.entry(tool()).or_default().calls = value,
                names::TOOL_ERRORS => {
                    let kind = label(&key, "kind").to_owned();
                    tools.entry(tool()).or_default().errors.insert(kind, value);
                }
                _ => {}
            }
        }
        for (key, h) in self.recorder.histograms() {
            if key.name() == names::TOOL_DURATION {
                let tool = label(&key, "tool").to_owned();
                tools.entry(tool).or_default().latency = Histogram::from(&*h);
            }
        }
        tools
    }

    /// The model counters, keyed by (provider, model), read from the recorder.
    pub fn models(&self) -> BTreeMap<(String, String), ModelStats> {
        let mut models: BTreeMap<(String, String), ModelStats> = BTreeMap::new();
        let id = |key: &Key| {
            (
                label(key, "provider").to_owned(),
                label(key, "model").to_owned(),
            )
        };
        for (key, value) in self.recorder.counters() {
            let field: fn(&mut ModelStats) -> &mut u64 = match key.name() {
                names::MODEL_CALLS => |m: &mut ModelStats| &mut m.calls,
                names::MODEL_RETRIES => |m: &mut ModelStats| &mut m.retries,
                names::MODEL_TOKENS_IN => |m: &mut ModelStats| &mut m.tokens_in,
                names::MODEL_TOKENS_OUT => |m: &mut ModelStats| &mut m.tokens_out,
                names::MODEL_ERRORS => {
                    let kind = label(&key, "kind").to_owned();
                    models
                        .entry(id(&key))
                        .or_default()
                        .errors
                        .insert(kind, value);
                    continue;
                }
                _ => continue,
            };
            *field(models.entry(id(&key)).or_default()) = value;
        }
        for (key, h) in self.recorder.histograms() {
            if key.name() == names::MODEL_DURATION {
                models.entry(id(&key)).or_default().latency = Histogram::from(&*h);
            }
        }
        models
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
