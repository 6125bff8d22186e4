//! Metrics through the `metrics` crate: each engine records into its own
//! recorder (two engines in one process keep their own counts), a global or
//! local recorder the host set up receives the same metrics, and the
//! Prometheus text holds counters, histograms and gauges.

use serde_json::json;
use zen_core::telemetry::Recorder;
use zen_core::{Config, Engine};
use zen_testkit::{Behaviour, StandIn};

fn engine(server: &StandIn) -> Engine {
    let settings = vec![
        ("OPENAI_API_KEY".to_owned(), "sk-test".to_owned()),
        ("OPENAI_BASE_URL".to_owned(), format!("{}/v1", server.url())),
        ("ZEN_RETRY_BASE_MS".to_owned(), "5".to_owned()),
    ];
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

fn counter(recorder: &Recorder, name: &str, label: (&str, &str)) -> Option<u64> {
    recorder
        .counters()
        .into_iter()
        .find(|(k, _)| {
            k.name() == name
                && k.labels()
                    .any(|l| l.key() == label.0 && l.value() == label.1)
        })
        .map(|(_, v)| v)
}

// A current-thread runtime: the host's local recorder is per thread.
#[tokio::test(flavor = "current_thread")]
async fn engines_keep_their_own_counts_and_the_host_recorder_sees_them_all() {
    let server = StandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let host = Recorder::default();
    let _guard = metrics::set_default_local_recorder(&host);
    let (a, b) = (engine(&server), engine(&server));
    let args =
        json!({"prompt": "hi", "model": "o3", "working_directory_absolute_path": dir.path()});
    a.call_tool("chat", args.clone()).await.unwrap();
    a.call_tool("chat", args.clone()).await.unwrap();
    b.call_tool("chat", args).await.unwrap();
    server.script(Behaviour {
        status: Some(400),
        times: Some(1),
        ..Behaviour::default()
    });
    let failed =
        json!({"prompt": "bad", "model": "o3", "working_directory_absolute_path": dir.path()});
    b.call_tool("chat", failed).await.unwrap_err();

    let (sa, sb) = (a.stats().await, b.stats().await);
    assert_eq!(sa["tools"]["chat"]["calls"], 2);
    assert_eq!(sb["tools"]["chat"]["calls"], 2);
    assert_eq!(sb["tools"]["chat"]["errors"]["provider"], 1);
    assert_eq!(sb["models"][0]["errors"]["provider"], 1);
    assert!(
        sa["tools"]["chat"]["errors"]
            .as_object()
            .unwrap()
            .is_empty()
    );
    assert_eq!(sa["tools"]["chat"]["latency"]["count"], 2);
    assert_eq!(sa["models"][0]["calls"], 2);

    // The host's recorder got every engine's metrics.
    let a_recorder = a.telemetry().stats.recorder();
    assert_eq!(
        counter(a_recorder, "zen_tool_calls_total", ("tool", "chat")),
        Some(2)
    );
    assert_eq!(
        counter(&host, "zen_tool_calls_total", ("tool", "chat")),
        Some(4)
    );
    assert_eq!(
        counter(&host, "zen_model_calls_total", ("model", "o3")),
        Some(4)
    );
    assert_eq!(
        counter(&host, "zen_model_errors_total", ("kind", "provider")),
        Some(1)
    );
    assert!(counter(&host, "zen_model_tokens_in_total", ("model", "o3")).unwrap() > 0);
}

#[tokio::test]
async fn prometheus_text_holds_histograms_and_gauges() {
    let server = StandIn::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let engine = engine(&server);
    let args =
        json!({"prompt": "hi", "model": "o3", "working_directory_absolute_path": dir.path()});
    engine.call_tool("chat", args).await.unwrap();
    let text = engine.prometheus().await;
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|l| Ok(l.to_owned()))).unwrap();
    let find = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .unwrap_or_else(|| panic!("no {name} in\n{text}"))
    };
    match &find("zen_model_duration_seconds").value {
        prometheus_parse::Value::Histogram(buckets) => {
            assert_eq!(buckets.last().unwrap().count, 1.0);
        }
        other => panic!("not a histogram: {other:?}"),
    }
    for gauge in [
        "zen_conversation_threads",
        "zen_conversation_bytes",
        "zen_provider_queue_depth",
        "zen_tool_calls_in_flight",
        "zen_process_resident_memory_bytes",
    ] {
        assert!(
            matches!(find(gauge).value, prometheus_parse::Value::Gauge(_)),
            "{gauge}"
        );
    }
    assert!(matches!(
        find("zen_conversation_threads").value,
        prometheus_parse::Value::Gauge(v) if v == 1.0
    ));
}
