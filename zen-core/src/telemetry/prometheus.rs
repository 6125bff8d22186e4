//! An engine's recorder in the Prometheus text format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use metrics::Key;

use super::registry::{BUCKETS, Recorder};

/// What each of zen's metrics means; a metric a host recorded itself into the
/// engine's recorder is described by its name.
const HELP: &[(&str, &str)] = &[
    ("zen_tool_calls_total", "Tool calls made."),
    ("zen_tool_errors_total", "Failed tool calls by error kind."),
    ("zen_tool_duration_seconds", "How long tool calls took."),
    ("zen_model_calls_total", "Model calls made."),
    (
        "zen_model_errors_total",
        "Failed model calls by error kind.",
    ),
    ("zen_model_retries_total", "Retries of model calls."),
    ("zen_model_tokens_in_total", "Tokens sent to models."),
    ("zen_model_tokens_out_total", "Tokens received from models."),
    (
        "zen_model_duration_seconds",
        "How long model calls took, retries included.",
    ),
    (
        "zen_provider_concurrency_limit",
        "Current adaptive concurrency limit.",
    ),
    (
        "zen_provider_max_concurrent",
        "Configured concurrency limit of the provider.",
    ),
    ("zen_provider_in_flight", "Model calls in flight."),
    (
        "zen_provider_queue_depth",
        "Model calls waiting for a place.",
    ),
    (
        "zen_breaker_state",
        "Circuit breaker: 0 closed, 1 half-open, 2 open.",
    ),
    ("zen_tool_calls_in_flight", "Tool calls in flight."),
    ("zen_tool_calls_waiting", "Tool calls waiting for a place."),
    ("zen_conversation_threads", "Conversations held."),
    (
        "zen_conversation_bytes",
        "Approximate bytes of conversations held.",
    ),
    (
        "zen_process_resident_memory_bytes",
        "Resident memory of the process.",
    ),
    ("zen_uptime_seconds", "Seconds since the engine started."),
    (
        "zen_cache_hits_total",
        "Lookups answered from a cache (no disk read or provider call).",
    ),
    (
        "zen_cache_misses_total",
        "Lookups a cache could not answer.",
    ),
    ("zen_cache_entries", "Entries a cache holds."),
    ("zen_cache_bytes", "Bytes a cache holds."),
];

fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `{a="x",b="y"}` with `extra` appended, or nothing when there are no labels.
fn labels(key: &Key, extra: Option<(&str, &str)>) -> String {
    let mut parts: Vec<String> = key
        .labels()
        .map(|l| format!("{}=\"{}\"", l.key(), escape(l.value())))
        .collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", parts.join(","))
    }
}

fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else {
        value.to_string()
    }
}

/// A metric family: its type and its samples as (sort key, text lines).
type Family = (&'static str, Vec<(String, String)>);

/// Renders every metric of `recorder`, grouped by name, in a stable order.
pub fn render(recorder: &Recorder) -> String {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut add = |name: &str, kind: &'static str, order: String, lines: String| {
        families
            .entry(name.to_owned())
            .or_insert_with(|| (kind, Vec::new()))
            .1
            .push((order, lines));
    };
    for (key, value) in recorder.counters() {
        let name = key.name();
        add(
            name,
            "counter",
            labels(&key, None),
            format!("{name}{} {value}\n", labels(&key, None)),
        );
    }
    for (key, value) in recorder.gauges() {
        let name = key.name();
        add(
            name,
            "gauge",
            labels(&key, None),
            format!("{name}{} {}\n", labels(&key, None), number(value)),
        );
    }
    for (key, h) in recorder.histograms() {
        let name = key.name();
        let mut lines = String::new();
        let mut cumulative = 0u64;
        for (bound, n) in BUCKETS.iter().zip(h.buckets()) {
            cumulative += n;
            let le = bound.to_string();
            let _ = writeln!(
                lines,
                "{name}_bucket{} {cumulative}",
                labels(&key, Some(("le", &le)))
            );
        }
        let count = h.count();
        let plain = labels(&key, None);
        let _ = writeln!(
            lines,
            "{name}_bucket{} {count}",
            labels(&key, Some(("le", "+Inf")))
        );
        let _ = writeln!(lines, "{name}_sum{plain} {}", number(h.sum_seconds()));
        let _ = writeln!(lines, "{name}_count{plain} {count}");
        add(name, "histogram", plain, lines);
    }

    let mut out = String::new();
    for (name, (kind, mut samples)) in families {
        let help = HELP
            .iter()
            .find(|(n, _)| *n == name)
            .map_or(name.as_str(), |(_, h)| h);
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        samples.sort();
        for (_, lines) in samples {
            out.push_str(&lines);
        }
    }
    out
}
