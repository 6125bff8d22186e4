//! Tools: what an AI client calls. Each tool declares its arguments as a Rust
//! type (the input schema is generated from it and arguments are checked
//! against it), its annotations, and what it does; the [`ToolRegistry`] holds
//! the enabled ones.

mod args;
mod clink;
mod consensus;
mod metrics;
mod output;
mod planner;
mod simple;
mod workflow;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

pub use args::{parse_args, schema_for};
pub use output::{ContinuationOffer, ToolOutput};

use crate::config::Config;
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::models::ToolCategory;

/// Tools that are off unless `DISABLED_TOOLS` is set (PAL's shipped default).
pub const DEFAULT_DISABLED: [&str; 6] = [
    "analyze", "refactor", "testgen", "secaudit", "docgen", "tracer",
];

/// Every tool name a PAL configuration may mention in `DISABLED_TOOLS`.
pub const TOOL_NAMES: [&str; 18] = [
    "chat",
    "thinkdeep",
    "planner",
    "consensus",
    "codereview",
    "precommit",
    "debug",
    "secaudit",
    "docgen",
    "analyze",
    "refactor",
    "tracer",
    "testgen",
    "challenge",
    "apilookup",
    "clink",
    "listmodels",
    "version",
];

/// Tools that can't be disabled.
pub const ALWAYS_ON: [&str; 3] = ["listmodels", "version", "metrics"];

/// Tools of newer PAL releases that zen does not have: `DISABLED_TOOLS` may
/// name them (a PAL configuration does), and they are simply absent.
pub const PAL_ONLY: [&str; 1] = ["jules"];

/// What the audit record of a tool call names, gathered before it runs.
struct Recorded<'a> {
    call_id: String,
    name: &'a str,
    continuation_id: Option<String>,
    requested_model: Option<String>,
}

/// Hints for clients about what a tool does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Annotations {
    /// The tool changes nothing outside zen (it may still call a model).
    /// Left out when false, MCP's default.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub read_only_hint: bool,
    /// The tool talks to services outside this machine. Left out when true,
    /// MCP's default.
    #[serde(skip_serializing_if = "is_true")]
    pub open_world_hint: bool,
}

fn is_true(value: &bool) -> bool {
    *value
}

/// What a client sees of a tool.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolInfo {
    /// The tool's name.
    pub name: String,
    /// What it does, briefly.
    pub description: String,
    /// JSON Schema of its arguments.
    pub input_schema: Value,
    /// Hints.
    pub annotations: Annotations,
}

/// One tool.
#[async_trait]
pub trait Tool: Send + Sync + std::fmt::Debug {
    /// The tool's name.
    fn name(&self) -> &'static str;
    /// What it does, in a sentence or two.
    fn description(&self) -> &'static str;
    /// The JSON Schema of its arguments, generated from their Rust type.
    fn schema(&self) -> Value;
    /// Whether it calls a model (and so takes `model`).
    fn uses_model(&self) -> bool {
        true
    }
    /// Whether its `model` description lists every usable model (one tool
    /// does, to keep tools/list small).
    fn lists_models(&self) -> bool {
        false
    }
    /// What kind of model auto mode should choose for it.
    fn category(&self) -> ToolCategory {
        ToolCategory::Balanced
    }
    /// Hints for clients.
    fn annotations(&self) -> Annotations {
        Annotations {
            read_only_hint: true,
            open_world_hint: self.uses_model(),
        }
    }
    /// Runs the tool.
    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput>;
}

/// The enabled tools, by name.
#[derive(Debug, Clone, Default)]
pub struct ToolRegistry {
    tools: BTreeMap<&'static str, Arc<dyn Tool>>,
    disabled: Vec<String>,
    /// Whether `disabled` is the default set (DISABLED_TOOLS unset).
    by_default: bool,
}

impl ToolRegistry {
    /// Every tool zen has, whether enabled or not.
    pub fn all() -> Vec<Arc<dyn Tool>> {
        let mut tools = simple::tools();
        tools.extend(metrics::tools());
        tools.extend(workflow::tools());
        tools.extend(planner::tools());
        tools.extend(consensus::tools());
        tools.extend(clink::tools());
        tools
    }

    /// The tools enabled by `config` (`DISABLED_TOOLS`, or PAL's default set
    /// when unset). Unknown names in `DISABLED_TOOLS` are an error naming them.
    pub fn from_config(config: &Config) -> Result<Self> {
        let all = Self::all();
        let disabled: Vec<String> = match &config.disabled_tools {
            Some(list) => list.clone(),
            None => DEFAULT_DISABLED.iter().map(|s| (*s).to_owned()).collect(),
        };
        let known = |name: &str| {
            TOOL_NAMES.contains(&name) || ALWAYS_ON.contains(&name) || PAL_ONLY.contains(&name)
        };
        if let Some(unknown) = disabled.iter().find(|d| !known(d)) {
            return Err(Error::config(
                "DISABLED_TOOLS",
                format!(
                    "`{unknown}` is not a tool; the tools are: {}, metrics",
                    TOOL_NAMES.join(", ")
                ),
            ));
        }
        let tools = all
            .into_iter()
            .filter(|t| ALWAYS_ON.contains(&t.name()) || !disabled.iter().any(|d| d == t.name()))
            .map(|t| (t.name(), t))
            .collect();
        Ok(ToolRegistry {
            tools,
            disabled,
            by_default: config.disabled_tools.is_none(),
        })
    }

    /// A registry with every tool enabled.
    pub fn everything() -> Self {
        ToolRegistry {
            tools: Self::all().into_iter().map(|t| (t.name(), t)).collect(),
            disabled: Vec::new(),
            by_default: false,
        }
    }

    /// The enabled tool called `name`, or an error saying why there is none.
    pub fn get(&self, name: &str) -> Result<&Arc<dyn Tool>> {
        self.tools.get(name).ok_or_else(|| {
            let why = if self.disabled.iter().any(|d| d == name) {
                if self.by_default {
                    format!(
                        "tool `{name}` is off by default (as in PAL: {}); set DISABLED_TOOLS to \
                         the tools you want off, or to nothing (`DISABLED_TOOLS=`) for all on",
                        DEFAULT_DISABLED.join(", ")
                    )
                } else {
                    format!(
                        "tool `{name}` is disabled by DISABLED_TOOLS; remove it from that list \
                         to use it"
                    )
                }
            } else {
                format!(
                    "there is no tool `{name}`; the tools are: {}",
                    self.names().join(", ")
                )
            };
            Error::UnknownTool {
                name: name.to_owned(),
                message: why,
            }
        })
    }

    /// Names of the enabled tools, sorted.
    pub fn names(&self) -> Vec<&'static str> {
        self.tools.keys().copied().collect()
    }

    /// The enabled tools.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Tool>> {
        self.tools.values()
    }
}

impl Engine {
    /// What clients see of the enabled tools: name, description, input schema
    /// (with `model` described for the current configuration) and annotations.
    pub fn tools(&self) -> Vec<ToolInfo> {
        let model_field = args::ModelField::for_engine(self);
        self.tool_registry()
            .iter()
            .map(|tool| ToolInfo {
                name: tool.name().to_owned(),
                description: tool.description().to_owned(),
                input_schema: model_field.apply(
                    tool.schema(),
                    tool.uses_model(),
                    tool.lists_models(),
                ),
                annotations: tool.annotations(),
            })
            .collect()
    }

    /// Calls tool `name` with `args` (a JSON object). A tool's own failure (a
    /// provider error, say) is an `Err`; surfaces turn it into their error form.
    pub async fn call_tool(&self, name: &str, args: Value) -> Result<ToolOutput> {
        let tool = Arc::clone(self.tool_registry().get(name)?);
        let args = match args {
            Value::Null => Value::Object(serde_json::Map::new()),
            Value::Object(map) => Value::Object(map),
            other => {
                return Err(Error::invalid(
                    "arguments",
                    format!("tool arguments must be a JSON object, not {other}"),
                ));
            }
        };
        // PAL's clients may send the model fields to every tool; a tool that
        // calls no model has no use for them, and PAL ignores them there too.
        let args = if tool.uses_model() {
            args
        } else {
            let mut args = args;
            if let Value::Object(map) = &mut args {
                for field in ["model", "temperature", "thinking_mode"] {
                    map.remove(field);
                }
            }
            args
        };
        let started = std::time::Instant::now();
        let continuation_id = args
            .get("continuation_id")
            .and_then(Value::as_str)
            .map(str::to_owned);
        // Only the audit log reads these: no id or copy per call without it.
        let auditing = self.telemetry().auditing();
        let requested_model = auditing
            .then(|| args.get("model").and_then(Value::as_str).map(str::to_owned))
            .flatten();
        let context = crate::telemetry::CallContext {
            call_id: if auditing {
                uuid::Uuid::new_v4().simple().to_string()
            } else {
                String::new()
            },
            tool: name.to_owned(),
            continuation_id: continuation_id.clone(),
        };
        let call_id = context.call_id.clone();
        let content = self.telemetry().audit_content().then(|| args.clone());
        let max_tokens = u64::from(self.config().max_mcp_output_tokens);
        let result = crate::telemetry::CURRENT_CALL
            .scope(context, async {
                let _permit = self.resilience().tool_permit().await?;
                let output = tool.run(self, args).await?;
                Ok(output.capped(max_tokens))
            })
            .await;
        let call = Recorded {
            call_id,
            name,
            continuation_id,
            requested_model,
        };
        self.record_tool_call(&call, started.elapsed(), &result, content);
        result
    }

    fn record_tool_call(
        &self,
        call: &Recorded<'_>,
        took: std::time::Duration,
        result: &Result<ToolOutput>,
        arguments: Option<Value>,
    ) {
        let name = call.name;
        let error = match result {
            Err(err) => Some(err.kind().as_str()),
            Ok(output) if output.is_error() => Some("tool_error"),
            Ok(_) => None,
        };
        let telemetry = self.telemetry();
        telemetry.stats.tool_call(name, took, error);
        if !telemetry.auditing() {
            return;
        }
        let (status, metadata) = match result {
            Ok(output) => (
                output.status().to_owned(),
                output.0.get("metadata").cloned().unwrap_or(Value::Null),
            ),
            Err(_) => ("error".to_owned(), Value::Null),
        };
        // A new conversation's id is in the answer: in the offer, or at the
        // top of a workflow's answer.
        let offered = result.as_ref().ok().and_then(|o| {
            ["/continuation_offer/continuation_id", "/continuation_id"]
                .iter()
                .find_map(|at| o.0.pointer(at).and_then(Value::as_str))
                .map(str::to_owned)
        });
        let model = metadata
            .get("model_used")
            .cloned()
            .or_else(|| call.requested_model.clone().map(Value::String));
        let mut record = serde_json::json!({
            "event": "tool_call",
            "call_id": call.call_id,
            "tool": name,
            "continuation_id": call.continuation_id.clone().or(offered),
            "status": status,
            "model": model,
            "provider": metadata.get("provider_used"),
            "duration_ms": u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
            "tokens_in": metadata.get("input_tokens"),
            "tokens_out": metadata.get("output_tokens"),
            "error_kind": error,
        });
        if let (Some(arguments), Value::Object(map)) = (arguments, &mut record) {
            map.insert("arguments".into(), arguments);
        }
        telemetry.audit(record);
    }
}
