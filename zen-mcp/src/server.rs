//! The MCP server over stdio: a thin adapter from rmcp to [`zen_core::Engine`].

use std::sync::Arc;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use serde_json::{Value, json};
use zen_core::tools::ToolInfo;
use zen_core::{Engine, Error};

/// The MCP face of an engine.
#[derive(Debug, Clone)]
pub struct ZenServer {
    engine: Engine,
}

impl ZenServer {
    /// Wraps an engine.
    pub fn new(engine: Engine) -> Self {
        ZenServer { engine }
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
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let args = request.arguments.map_or(Value::Null, Value::Object);
        let result = match self.engine.call_tool(&request.name, args).await {
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
