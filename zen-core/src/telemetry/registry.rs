//! Each engine's own [`metrics`] recorder: a `metrics-util` [`Registry`] with
//! atomic counters and gauges and fixed-bucket histograms.
//!
//! One process may hold several engines (a Python program, a C host, tests),
//! so an engine records into its own recorder rather than only the process's
//! global one; what it records can also go to a global recorder a host
//! installed (see [`Handle`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{
    Counter, Gauge, HistogramFn, Key, KeyName, Level, Metadata, Recorder as _, SharedString, Unit,
};
use metrics_util::registry::{Registry, Storage};

/// Upper bounds of the latency buckets, in seconds.
pub const BUCKETS: [f64; 14] = [
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// Where zen's metrics say they come from.
pub(super) static METADATA: Metadata<'static> =
    Metadata::new("zen_core", Level::INFO, Some(module_path!()));

/// A latency histogram with the fixed [`BUCKETS`], updated with atomics: its
/// memory stays the same however many values it records.
#[derive(Debug, Default)]
pub struct AtomicHistogram {
    /// Values at or under each bound (not cumulative), then over the last.
    buckets: [AtomicU64; BUCKETS.len() + 1],
    count: AtomicU64,
    /// The sum, in nanoseconds (seconds × 1e9), so it can be added atomically.
    sum_nanos: AtomicU64,
}

impl HistogramFn for AtomicHistogram {
    fn record(&self, value: f64) {
        let index = BUCKETS
            .iter()
            .position(|bound| value <= *bound)
            .unwrap_or(BUCKETS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let nanos = (value.max(0.0) * 1e9) as u64;
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl AtomicHistogram {
    /// Values per bucket (not cumulative): one per bound of [`BUCKETS`], then
    /// those over the last bound.
    pub fn buckets(&self) -> [u64; BUCKETS.len() + 1] {
        std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed))
    }

    /// How many values were recorded.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Their sum, in seconds.
    pub fn sum_seconds(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let nanos = self.sum_nanos.load(Ordering::Relaxed) as f64;
        nanos / 1e9
    }
}

/// Storage for the registry: atomic counters and gauges (as `metrics` keeps
/// them), fixed-bucket histograms.
#[derive(Debug, Default, Clone, Copy)]
pub struct ZenStorage;

impl Storage<Key> for ZenStorage {
    type Counter = Arc<AtomicU64>;
    type Gauge = Arc<AtomicU64>;
    type Histogram = Arc<AtomicHistogram>;

    fn counter(&self, _: &Key) -> Self::Counter {
        Arc::default()
    }

    fn gauge(&self, _: &Key) -> Self::Gauge {
        Arc::default()
    }

    fn histogram(&self, _: &Key) -> Self::Histogram {
        Arc::default()
    }
}

/// One engine's metrics recorder. It implements [`metrics::Recorder`], so a
/// host may also record its own metrics into it (for example with
/// [`metrics::with_local_recorder`]); they then show in the engine's
/// Prometheus text too.
#[derive(Debug)]
pub struct Recorder {
    registry: Registry<Key, ZenStorage>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            registry: Registry::new(ZenStorage),
        }
    }
}

impl Recorder {
    /// The registry holding every metric.
    pub fn registry(&self) -> &Registry<Key, ZenStorage> {
        &self.registry
    }

    /// Every counter, as (key, value).
    pub fn counters(&self) -> Vec<(Key, u64)> {
        let mut out = Vec::new();
        self.registry
            .visit_counters(|key, c| out.push((key.clone(), c.load(Ordering::Relaxed))));
        out
    }

    /// Every gauge, as (key, value).
    pub fn gauges(&self) -> Vec<(Key, f64)> {
        let mut out = Vec::new();
        self.registry.visit_gauges(|key, g| {
            out.push((key.clone(), f64::from_bits(g.load(Ordering::Relaxed))));
        });
        out
    }

    /// Every histogram, as (key, histogram).
    pub fn histograms(&self) -> Vec<(Key, Arc<AtomicHistogram>)> {
        let mut out = Vec::new();
        self.registry
            .visit_histograms(|key, h| out.push((key.clone(), Arc::clone(h))));
        out
    }
}

impl metrics::Recorder for Recorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        self.registry
            .get_or_create_counter(key, |c| Counter::from_arc(Arc::clone(c)))
    }

    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        self.registry
            .get_or_create_gauge(key, |g| Gauge::from_arc(Arc::clone(g)))
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> metrics::Histogram {
        self.registry
            .get_or_create_histogram(key, |h| metrics::Histogram::from_arc(Arc::clone(h)))
    }
}

/// A metric registered on an engine's recorder and, when the host installed
/// one, on the process's global recorder too (a no-op handle otherwise).
#[derive(Debug, Clone)]
pub struct Handle<T> {
    local: T,
    global: T,
}

impl Handle<Counter> {
    /// Registers counter `key` on `recorder` and the global recorder.
    pub fn counter(recorder: &Recorder, key: &Key) -> Self {
        Handle {
            local: recorder.register_counter(key, &METADATA),
            global: metrics::with_recorder(|r| r.register_counter(key, &METADATA)),
        }
    }

    /// Adds `n`.
    pub fn increment(&self, n: u64) {
        if n > 0 {
            self.local.increment(n);
            self.global.increment(n);
        }
    }

    /// Raises the count to `value`, for a count kept elsewhere (it never
    /// goes down).
    pub fn absolute(&self, value: u64) {
        self.local.absolute(value);
        self.global.absolute(value);
    }
}

impl Handle<Gauge> {
    /// Registers gauge `key` on `recorder` and the global recorder.
    pub fn gauge(recorder: &Recorder, key: &Key) -> Self {
        Handle {
            local: recorder.register_gauge(key, &METADATA),
            global: metrics::with_recorder(|r| r.register_gauge(key, &METADATA)),
        }
    }

    /// Sets the value.
    pub fn set(&self, value: f64) {
        self.local.set(value);
        self.global.set(value);
    }
}

impl Handle<metrics::Histogram> {
    /// Registers histogram `key` on `recorder` and the global recorder.
    pub fn histogram(recorder: &Recorder, key: &Key) -> Self {
        Handle {
            local: recorder.register_histogram(key, &METADATA),
            global: metrics::with_recorder(|r| r.register_histogram(key, &METADATA)),
        }
    }

    /// Records a value.
    pub fn record(&self, value: f64) {
        self.local.record(value);
        self.global.record(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_count_into_fixed_buckets() {
        let h = AtomicHistogram::default();
        for v in [0.0005, 0.001, 0.2, 1000.0] {
            h.record(v);
        }
        let b = h.buckets();
        assert_eq!((b[0], b[5], b[BUCKETS.len()]), (2, 1, 1));
        assert_eq!(h.count(), 4);
        assert!((h.sum_seconds() - 1000.2015).abs() < 1e-6);
    }

    #[test]
    fn handles_record_on_the_engine_recorder() {
        let recorder = Recorder::default();
        let key = Key::from_parts("zen_test_total", vec![metrics::Label::new("tool", "chat")]);
        let c = Handle::counter(&recorder, &key);
        c.increment(2);
        Handle::counter(&recorder, &key).increment(1);
        assert_eq!(recorder.counters(), vec![(key, 3)]);
    }
}
