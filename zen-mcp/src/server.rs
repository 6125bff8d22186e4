//! The MCP server over stdio: a thin adapter from rmcp to [`zen_core::Engine`].

// rmcp marks MCP logging deprecated (SEP-2577, protocol 2026-07-28); clients
// on 2025-11-25 still use it, so zen serves it.
#![allow(deprecated)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, Implementation, ListPromptsResult,
    ListResourceTemplatesResult, ListResourcesResult, ListToolsResult, LoggingLevel,
    LoggingMessageNotificationParam, PaginatedRequestParams, ProgressNotificationParam, Prompt,
    PromptArgument, PromptMessage, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceContents, ResourceTemplate, ServerCapabilities,
    ServerConfig, SetLevelRequestParams, Tool, ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use zen_core::tools::ToolInfo;
use zen_core::{Engine, Error};

/// The resource listing recent conversations.
const THREADS_URI: &str = "zen://threads";

/// How many conversations the resource list shows.
const RESOURCE_THREADS: usize = 50;

/// How often a client that asked for progress hears that a call is still
/// running, unless `ZEN_PROGRESS_INTERVAL_SECS` says otherwise.
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// The MCP face of an engine.
#[derive(Debug, Clone)]
pub struct ZenServer {
    engine: Engine,
    progress_every: Duration,
    /// The session's `logging/setLevel` as a [`severity`]; 0 until the
    /// client sets one, and then nothing is sent below it.
    log_level: Arc<AtomicU8>,
}

/// The rank of an MCP log level, from 1 (debug) to 8 (emergency).
fn severity(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 1,
        LoggingLevel::Info => 2,
        LoggingLevel::Notice => 3,
        LoggingLevel::Warning => 4,
        LoggingLevel::Error => 5,
        LoggingLevel::Critical => 6,
        LoggingLevel::Alert => 7,
        LoggingLevel::Emergency => 8,
    }
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
            log_level: Arc::new(AtomicU8::new(0)),
        }
    }

    /// Sends `message` to the client as an MCP log message when the client
    /// asked for messages of `level`: per request (`_meta` logLevel, protocol
    /// 2026-07-28) or for the session (`logging/setLevel`). Clients that asked
    /// for nothing get nothing.
    pub async fn log_to_client(
        &self,
        context: &RequestContext<RoleServer>,
        level: LoggingLevel,
        message: &str,
    ) {
        let wanted = match context.meta.log_level() {
            Some(asked) => severity(asked),
            None => self.log_level.load(Ordering::Relaxed),
        };
        if wanted == 0 || severity(level) < wanted {
            return;
        }
        let params =
            LoggingMessageNotificationParam::new(level, Value::from(message)).with_logger("zen");
        if let Err(err) = context.peer.notify_logging_message(params).await {
            tracing::debug!("could not send a log message to the client: {err}");
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
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.log_level
            .store(severity(request.level), Ordering::Relaxed);
        Ok(())
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(
            ServerCapabilities::builder()
                .enable_tools()
                .enable_resources()
                .enable_prompts()
                .enable_logging()
                .build(),
        )
        .with_server_info(Implementation::new("zen", zen_core::VERSION))
        .with_instructions(self.instructions())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let threads = self
            .engine
            .store()
            .recent(RESOURCE_THREADS)
            .await
            .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
        let mut resources = vec![
            Resource::new(THREADS_URI, "threads")
                .with_description("Recent conversations, with the continuation_id of each")
                .with_mime_type("text/markdown"),
        ];
        resources.extend(threads.iter().map(|t| {
            Resource::new(format!("{THREADS_URI}/{}", t.id), t.title())
                .with_description(format!("{} turns", t.turns.len()))
                .with_mime_type("text/markdown")
        }));
        Ok(ListResourcesResult {
            resources,
            ..ListResourcesResult::default()
        })
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(ListResourceTemplatesResult {
            resource_templates: vec![ResourceTemplate::new(
                format!("{THREADS_URI}/{{continuation_id}}"),
                "thread",
            )],
            ..ListResourceTemplatesResult::default()
        })
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let text = if uri == THREADS_URI {
            let threads = self
                .engine
                .store()
                .recent(RESOURCE_THREADS)
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            let mut text = String::from(
                "# Recent conversations\n\nPass a continuation_id to any tool to carry a conversation on.\n\n",
            );
            if threads.is_empty() {
                text.push_str("(none yet)\n");
            }
            for t in &threads {
                text.push_str(&format!(
                    "- `{}` — {} ({} turns)\n",
                    t.id,
                    t.title(),
                    t.turns.len()
                ));
            }
            text
        } else if let Some(id) = uri.strip_prefix(&format!("{THREADS_URI}/")) {
            let chain = self.engine.conversation(id).await.map_err(|e| {
                ErrorData::resource_not_found(e.to_string(), Some(json!({"uri": uri})))
            })?;
            chain
                .iter()
                .map(zen_core::conversation::Thread::transcript)
                .collect::<Vec<_>>()
                .join("\n---\n\n")
        } else {
            return Err(ErrorData::resource_not_found(
                format!(
                    "no resource {uri}; zen serves {THREADS_URI} and {THREADS_URI}/<continuation_id>"
                ),
                Some(json!({"uri": uri})),
            ));
        };
        Ok(ReadResourceResult::new(vec![ResourceContents::text(text, uri)]).into())
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let request_arg = || {
            vec![
                PromptArgument::new("request")
                    .with_description("What you want done")
                    .with_required(false),
            ]
        };
        let mut prompts: Vec<Prompt> = self
            .engine
            .tools()
            .into_iter()
            .map(|t| Prompt::new(t.name, Some(t.description), Some(request_arg())))
            .collect();
        prompts.push(Prompt::new(
            "continue",
            Some("Carry on the last zen conversation with its continuation_id"),
            Some(request_arg()),
        ));
        Ok(ListPromptsResult {
            prompts,
            ..ListPromptsResult::default()
        })
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let asked = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("request"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .trim()
            .to_owned();
        let text = if request.name == "continue" {
            let last = self
                .engine
                .store()
                .recent(1)
                .await
                .map_err(|e| ErrorData::internal_error(e.to_string(), None))?;
            match last.first() {
                Some(t) => format!(
                    "Continue the zen conversation \"{}\" by calling a zen tool with continuation_id {}. {asked}",
                    t.title(),
                    t.id
                ),
                None => format!(
                    "There is no zen conversation to continue yet; start one with the chat tool. {asked}"
                ),
            }
        } else if self.engine.tool_registry().get(&request.name).is_ok() {
            format!("Use zen's {} tool. {asked}", request.name)
        } else {
            return Err(ErrorData::invalid_params(
                format!("there is no prompt `{}`", request.name),
                None,
            ));
        };
        Ok(GetPromptResult::new(vec![PromptMessage::new_text(
            rmcp::model::Role::User,
            text.trim_end(),
        )])
        .into())
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
        let took = started.elapsed().as_secs_f64();
        let (level, note) = match &outcome {
            Ok(output) if !output.is_error() => (LoggingLevel::Info, "finished"),
            Ok(_) => (LoggingLevel::Warning, "reported an error"),
            Err(_) => (LoggingLevel::Error, "failed"),
        };
        self.log_to_client(
            &context,
            level,
            &format!("{} {note} after {took:.1}s", request.name),
        )
        .await;
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
    // Only hints that differ from MCP's defaults are sent: every byte of
    // tools/list sits in the client's context.
    let mut annotations = ToolAnnotations::new();
    if info.annotations.read_only_hint {
        annotations = annotations.read_only(true);
    }
    if !info.annotations.open_world_hint {
        annotations = annotations.open_world(false);
    }
    Tool::new(info.name, info.description, Arc::new(schema)).with_annotations(annotations)
}

/// Serves MCP on standard input and output until the client disconnects.
pub async fn serve_stdio(engine: Engine) -> Result<(), String> {
    learn_custom_models(&engine);
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

/// Starts asking the custom endpoint (if any) for its models, so that the
/// tool listing and auto mode offer what it serves; the server does not wait.
pub fn learn_custom_models(engine: &Engine) {
    let engine = engine.clone();
    tokio::spawn(async move { engine.refresh_custom_models().await });
}
