//! The MCP server over stdio: a thin adapter from rmcp to [`zen_core::Engine`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ProgressNotificationParam, ServerCapabilities,
    ServerConfig, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use zen_core::tools::ToolInfo;
use zen_core::{Engine, Error};

/// How often a client that asked for progress hears that a call is still
/// running, unless `ZEN_PROGRESS_INTERVAL_SECS` says otherwise.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The MCP face of an engine.
#[derive(Debug, Clone)]
pub struct ZenServer {
    engine: Engine,
    progress_every: Duration,
}

impl ZenServer {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        let progress_every = engine
            .config()
            .settings
            .get("ZEN_PROGRESS_INTERVAL_SECS")
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs <= 10.0)
            .map_or(PROGRESS_EVERY, Duration::from_secs_f64);
        ZenServer {
            engine,
            progress_every,
        }
    }

    fn instructions(&self) -> String {
        let config = self.engine.config();
        let models: Vec<String> = self
            .engine
            .models()
            .into_iter()
            .map(|m| m.api_name)
            .take(20)
            .collect();
        let mode = if config.is_auto_mode() {
            "Auto mode: zen picks a suitable model for each call unless you name one.".to_owned()
        } else {
            format!(
                "Default model: {}; name another model to override it.",
                config.default_model
            )
        };
        if models.is_empty() {
            format!(
                "zen consults other AI models. No provider is configured yet: set an API key \
                 such as GEMINI_API_KEY or OPENAI_API_KEY, or CUSTOM_API_URL for a local model. {mode}"
            )
        } else {
            format!(
                "zen consults other AI models. {mode} Models available now: {}.",
                models.join(", ")
            )
        }
    }
}

impl ServerHandler for ZenServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("zen", zen_core::VERSION))
            .with_instructions(self.instructions())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult {
            tools: self.engine.tools().into_iter().map(mcp_tool).collect(),
            ..ListToolsResult::default()
        })
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.map_or(Value::Null, Value::Object);
        let token = request
            .meta
            .as_ref()
            .and_then(|m| m.get_progress_token())
            .or_else(|| context.meta.get_progress_token());
        let call = self.engine.call_tool(&request.name, args);
        tokio::pin!(call);
        let started = Instant::now();
        let mut ticks = tokio::time::interval(self.progress_every);
        ticks.tick().await;
        let mut sent = 0u32;
        let outcome = loop {
            tokio::select! {
                outcome = &mut call => break outcome,
                // Dropping the call aborts the request to the provider.
                () = context.ct.cancelled() => {
                    tracing::info!("call to {} cancelled by the client", request.name);
                    return Err(ErrorData::internal_error("the client cancelled the call", None));
                }
                _ = ticks.tick(), if token.is_some() => {
                    sent += 1;
                    if let Some(token) = token.clone() {
                        let progress = ProgressNotificationParam::new(token, f64::from(sent))
                            .with_message(format!(
                                "{} is still working ({}s)",
                                request.name,
                                started.elapsed().as_secs()
                            ));
                        if let Err(err) = context.peer.notify_progress(progress).await {
                            tracing::debug!("could not send progress: {err}");
                        }
                    }
                }
            }
        };
        let result = match outcome {
            Ok(output) => {
                let is_error = output.is_error();
                let text = output.into_value().to_string();
                let mut result = CallToolResult::success(vec![ContentBlock::text(text)]);
                result.is_error = Some(is_error);
                result
            }
            // An unknown tool is the client's protocol mistake.
            Err(Error::UnknownTool { message, .. }) => {
                return Err(ErrorData::invalid_params(message, None));
            }
            Err(err) => {
                let body = json!({
                    "status": "error",
                    "content": err.to_string(),
                    "content_type": "text",
                    "metadata": {"tool_name": request.name, "error_kind": format!("{:?}", err.kind())},
                });
                CallToolResult::error(vec![ContentBlock::text(body.to_string())])
            }
        };
        Ok(result.into())
    }
}

/// A zen tool as MCP describes it.
fn mcp_tool(info: ToolInfo) -> Tool {
    let schema = match info.input_schema {
        Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    Tool::new(info.name, info.description, Arc::new(schema)).with_annotations(
        ToolAnnotations::new()
            .read_only(info.annotations.read_only_hint)
            .open_world(info.annotations.open_world_hint),
    )
}

/// Serves MCP on standard input and output until the client disconnects.
pub async fn serve_stdio(engine: Engine) -> Result<(), String> {
    let service = ZenServer::new(engine)
        .serve(rmcp::transport::stdio())
        .await
        .map_err(|err| format!("the MCP session could not start: {err}"))?;
    service
        .waiting()
        .await
        .map_err(|err| format!("the MCP session ended with an error: {err}"))?;
    Ok(())
}
