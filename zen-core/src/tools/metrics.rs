//! `metrics`: what zen is doing, as JSON (the same as `Engine::stats`).

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use super::args::{NoArgs, parse_args, schema_for};
use super::{Tool, ToolOutput};
use crate::engine::Engine;
use crate::error::Result;

/// The metrics tool.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Metrics)]
}

#[derive(Debug)]
struct Metrics;

#[async_trait]
impl Tool for Metrics {
    fn name(&self) -> &'static str {
        "metrics"
    }
    fn description(&self) -> &'static str {
        "zen's own counters: calls, errors, latency, tokens, breakers, queues, memory."
    }
    fn schema(&self) -> Value {
        schema_for::<NoArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let _: NoArgs = parse_args(args)?;
        let stats = engine.stats().await;
        let mut output = ToolOutput::new("success", stats.to_string(), "json");
        output.set_metadata("tool_name", json!(self.name()));
        Ok(output)
    }
}
