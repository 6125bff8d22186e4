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
        let progress_every = progress_interval(&engine).unwrap_or(PROGRESS_EVERY);
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
        // The type the listing announced.
        let contents = ResourceContents::text(text, uri).with_mime_type("text/markdown");
        Ok(ReadResourceResult::new(vec![contents]).into())
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
    progress_interval(&engine)?;
    learn_custom_models(&engine);
    let (input, output, pump) = stdio_lines(tokio::io::stdin(), tokio::io::stdout());
    let pump = tokio::spawn(pump);
    let service = match ZenServer::new(engine).serve((input, output)).await {
        Ok(service) => service,
        Err(err) => {
            // Parse errors already queued still reach the client.
            let _ = pump.await;
            return Err(format!("the MCP session could not start: {err}"));
        }
    };
    let ended = service
        .waiting()
        .await
        .map_err(|err| format!("the MCP session ended with an error: {err}"));
    let _ = pump.await;
    ended.map(|_| ())
}

/// `ZEN_PROGRESS_INTERVAL_SECS`: more than 0 and at most 10 seconds, since
/// clients give up on a call that is silent for longer.
pub fn progress_interval(engine: &Engine) -> Result<Duration, String> {
    let settings = &engine.config().settings;
    let every = settings
        .seconds("ZEN_PROGRESS_INTERVAL_SECS", PROGRESS_EVERY)
        .map_err(|e| e.to_string())?;
    if every > Duration::from_secs(10) {
        return Err(format!(
            "configuration error in ZEN_PROGRESS_INTERVAL_SECS: {} s is too long; clients \
             want progress at least every 10 s, so use 10 or less",
            every.as_secs_f64()
        ));
    }
    Ok(every)
}

/// The longest line read from stdin: longer ones get a parse error.
const MAX_LINE_BYTES: usize = 16 * 1024 * 1024;

/// Sits between the process's stdio and rmcp: lines that are JSON go to
/// rmcp; a line that isn't (bad JSON, not UTF-8, over [`MAX_LINE_BYTES`]) is
/// answered with a JSON-RPC parse error (`id` null) instead of silence, as
/// JSON-RPC 2.0 asks. rmcp's output and these errors reach stdout as whole
/// lines. Returns rmcp's input, rmcp's output and the task moving lines.
fn stdio_lines<R, W>(
    input: R,
    output: W,
) -> (
    tokio::io::DuplexStream,
    tokio::io::DuplexStream,
    impl std::future::Future<Output = ()> + Send + 'static,
)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    // What the reader writes into `rmcp_input`, rmcp reads from
    // `rmcp_reads`; what rmcp writes to `rmcp_writes` comes out of
    // `rmcp_output`.
    let (rmcp_reads, mut rmcp_input) = tokio::io::duplex(64 * 1024);
    let (rmcp_output, rmcp_writes) = tokio::io::duplex(64 * 1024);
    let (lines_out, mut lines) = tokio::sync::mpsc::channel::<Vec<u8>>(64);

    let errors = lines_out.clone();
    let reader = async move {
        let mut input = BufReader::new(input);
        let mut line = Vec::new();
        loop {
            line.clear();
            let complete = match read_line_within(&mut input, &mut line, MAX_LINE_BYTES).await {
                Ok(Some(complete)) => complete,
                Ok(None) | Err(_) => break,
            };
            let problem = if !complete {
                Some(format!("the message is over {MAX_LINE_BYTES} bytes"))
            } else if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            } else {
                // A UTF-8 byte order mark (PowerShell pipes send one) is
                // not an error; rmcp skips it too.
                let body = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&line);
                match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                    Ok(_) => None,
                    Err(err) => Some(format!("the line is not JSON ({err})")),
                }
            };
            match problem {
                Some(why) => {
                    let reply = json!({"jsonrpc": "2.0", "id": null,
                        "error": {"code": -32700, "message": format!("Parse error: {why}")}});
                    let mut bytes = reply.to_string().into_bytes();
                    bytes.push(b'\n');
                    if errors.send(bytes).await.is_err() {
                        break;
                    }
                }
                None => {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    if rmcp_input.write_all(&line).await.is_err() {
                        break;
                    }
                }
            }
        }
        // End of input: rmcp sees it and ends the session.
        let _ = rmcp_input.shutdown().await;
    };
    let relay = async move {
        let mut replies = BufReader::new(rmcp_output);
        let mut line = Vec::new();
        while let Ok(read) = replies.read_until(b'\n', &mut line).await {
            if read == 0 || lines_out.send(std::mem::take(&mut line)).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        let mut output = output;
        while let Some(line) = lines.recv().await {
            if output.write_all(&line).await.is_err() || output.flush().await.is_err() {
                break;
            }
        }
    };
    let pump = async move {
        let reading = tokio::spawn(reader);
        let writing = tokio::spawn(writer);
        // rmcp's output ends with the session; the reader may still be
        // waiting on stdin, and holds a sender the writer waits on.
        relay.await;
        reading.abort();
        let _ = reading.await;
        let _ = writing.await;
    };
    (rmcp_reads, rmcp_writes, pump)
}

/// Reads one line (up to and including `\n`) into `line`, keeping at most
/// `limit` bytes and skipping the rest of a longer one. `Ok(None)` at the
/// end of input; `Ok(Some(false))` when the line was too long.
async fn read_line_within<R: tokio::io::AsyncBufRead + Unpin>(
    input: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<Option<bool>> {
    use tokio::io::AsyncBufReadExt;
    let mut too_long = false;
    let mut any = false;
    loop {
        let buffer = input.fill_buf().await?;
        if buffer.is_empty() {
            return Ok(any.then_some(!too_long));
        }
        any = true;
        let (chunk, done) = match buffer.iter().position(|&b| b == b'\n') {
            Some(at) => (&buffer[..=at], true),
            None => (buffer, false),
        };
        let taken = chunk.len();
        if !too_long && line.len() + taken <= limit {
            line.extend_from_slice(chunk);
        } else {
            too_long = true;
            line.clear();
        }
        input.consume(taken);
        if done {
            return Ok(Some(!too_long));
        }
    }
}

/// Starts asking the custom endpoint (if any) for its models, so that the
/// tool listing and auto mode offer what it serves; the server does not wait.
pub fn learn_custom_models(engine: &Engine) {
    let engine = engine.clone();
    tokio::spawn(async move { engine.refresh_custom_models().await });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn lines_are_read_within_a_limit() {
        let input = b"short\n0123456789abcdef\nlast".to_vec();
        let mut reader = tokio::io::BufReader::with_capacity(4, input.as_slice());
        let mut line = Vec::new();
        let mut seen = Vec::new();
        while let Some(complete) = read_line_within(&mut reader, &mut line, 8).await.unwrap() {
            seen.push((complete, String::from_utf8(line.clone()).unwrap()));
            line.clear();
        }
        assert_eq!(
            seen,
            [
                (true, "short\n".to_owned()),
                (false, String::new()),
                (true, "last".to_owned())
            ]
        );
    }
}
