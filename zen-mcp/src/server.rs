//! The MCP server over stdio: a thin adapter from rmcp to [`zen_core::Engine`].

use rmcp::ServerHandler;
use rmcp::ServiceExt;
use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use zen_core::Engine;

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
