//! The conformance suite's fixtures around zen's real handler: what the
//! suite's scenarios name (`test_*` tools and prompts, `test://` resources)
//! is answered here, everything else by [`ZenServer`].

// Sampling, elicitation and logging are deprecated in rmcp (SEP-2577), but
// the 2025-11-25 scenarios exercise them.
#![allow(deprecated)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ClientResult,
    CreateMessageRequestParams, ElicitRequest, ElicitRequestParams, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, ListPromptsResult, ListResourceTemplatesResult,
    ListResourcesResult, ListToolsResult, LoggingLevel, PaginatedRequestParams,
    ProgressNotificationParam, Prompt, ReadResourceRequestParams, ReadResourceResponse,
    ReadResourceResult, Resource, ResourceTemplate, ServerConfig, ServerRequest,
    SetLevelRequestParams, SubscribeRequestParams, SubscriptionFilter, Tool,
    UnsubscribeRequestParams,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::{Value, json};

use crate::mrtr;
use crate::server::ZenServer;

/// A 1×1 PNG.
pub const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGNQSFgAAAHEASFiX4r9AAAAAElFTkSuQmCC";
/// Eight samples of 16-bit silence as a WAV file.
const WAV: &str =
    "UklGRjQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YRAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// The fixture tools: name, description, input schema.
fn fixture_tools() -> Vec<(&'static str, &'static str, Value)> {
    let none = || json!({"type": "object", "properties": {}});
    let mut tools = vec![
        ("test_simple_text", "Returns one text block", none()),
        ("test_image_content", "Returns one PNG image", none()),
        ("test_audio_content", "Returns one WAV clip", none()),
        (
            "test_embedded_resource",
            "Returns an embedded text resource",
            none(),
        ),
        (
            "test_multiple_content_types",
            "Returns text, an image and a resource",
            none(),
        ),
        (
            "test_tool_with_logging",
            "Sends three log messages while it runs",
            none(),
        ),
        (
            "test_logging_tool",
            "Logs only when the request asked for a log level",
            none(),
        ),
        ("test_error_handling", "Always fails with isError", none()),
        (
            "test_tool_with_progress",
            "Reports progress 0, 50 and 100 of 100",
            none(),
        ),
        (
            "test_sampling",
            "Asks the client's model to answer a prompt",
            json!({"type": "object", "properties": {"prompt": {"type": "string"}}, "required": ["prompt"]}),
        ),
        (
            "test_elicitation",
            "Asks the user for a username and an email address",
            json!({"type": "object", "properties": {"message": {"type": "string"}}, "required": ["message"]}),
        ),
        (
            "test_elicitation_sep1034_defaults",
            "Elicits fields that all have defaults",
            none(),
        ),
        (
            "test_elicitation_sep1330_enums",
            "Elicits the five kinds of enum field",
            none(),
        ),
        (
            "test_missing_capability",
            "Needs the client's sampling capability",
            none(),
        ),
        (
            "test_streaming_elicitation",
            "Asks for input through an InputRequiredResult",
            none(),
        ),
        (
            "json_schema_2020_12_tool",
            "Tool with JSON Schema 2020-12 features",
            json_schema_2020_12(),
        ),
    ];
    tools.push((
        "test_custom_headers",
        "Echoes a value that the client also sends as the Mcp-Param-Region header",
        json!({"type": "object", "properties": {"region": {"type": "string", "x-mcp-header": "Region"}},
               "required": ["region"]}),
    ));
    tools.extend(
        mrtr::TOOLS
            .iter()
            .map(|(name, description)| (*name, *description, none())),
    );
    tools
}

fn json_schema_2020_12() -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "$defs": {"address": {"$anchor": "addressDef", "type": "object",
                              "properties": {"street": {"type": "string"}, "city": {"type": "string"}}}},
        "properties": {
            "name": {"type": "string"},
            "address": {"$ref": "#/$defs/address"},
            "contactMethod": {"type": "string", "enum": ["phone", "email"]},
            "phone": {"type": "string"},
            "email": {"type": "string"}
        },
        "allOf": [{"anyOf": [{"required": ["phone"]}, {"required": ["email"]}]}],
        "if": {"properties": {"contactMethod": {"const": "phone"}}, "required": ["contactMethod"]},
        "then": {"required": ["phone"]},
        "else": {"required": ["email"]},
        "additionalProperties": false
    })
}

/// Parses a protocol value written as JSON (the shapes the suite documents).
macro_rules! parse {
    (@$kind:ident, $value:expr $(,)?) => {
        serde_json::from_value::<$kind>($value).map_err($crate::fixtures::bad_value)
    };
    ($value:expr $(,)?) => {
        serde_json::from_value($value).map_err($crate::fixtures::bad_value)
    };
}
pub(crate) use parse;

/// The error for a fixture value that does not parse (a bug in the fixture).
pub fn bad_value(e: serde_json::Error) -> ErrorData {
    ErrorData::internal_error(format!("fixture built a bad value: {e}"), None)
}

fn text_result(text: impl Into<String>) -> Result<CallToolResponse, ErrorData> {
    parse!(@CallToolResult, json!({"resultType": "complete", "content": [{"type": "text", "text": text.into()}]}))
        .map(Into::into)
}

/// zen's server with the suite's fixtures around it.
#[derive(Debug, Clone)]
pub struct Conformance {
    zen: ZenServer,
    subscriptions: Arc<Mutex<HashSet<String>>>,
}

impl Conformance {
    pub fn new(zen: ZenServer) -> Self {
        Conformance {
            zen,
            subscriptions: Arc::new(Mutex::new(HashSet::new())),
        }
    }

    async fn call_fixture(
        &self,
        request: &CallToolRequestParams,
        context: &RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let arg = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let pause = || tokio::time::sleep(Duration::from_millis(50));
        match request.name.as_ref() {
            "test_simple_text" => text_result("This is a simple text response for testing."),
            "test_image_content" => {
                parse!(@CallToolResult, json!({"resultType": "complete", "content": [{"type": "image", "data": PNG, "mimeType": "image/png"}]}))
                    .map(Into::into)
            }
            "test_audio_content" => {
                parse!(@CallToolResult, json!({"resultType": "complete", "content": [{"type": "audio", "data": WAV, "mimeType": "audio/wav"}]}))
                    .map(Into::into)
            }
            "test_embedded_resource" => parse!(@CallToolResult, json!({"resultType": "complete", "content": [{"type": "resource", "resource": {
                "uri": "test://embedded-resource", "mimeType": "text/plain",
                "text": "This is an embedded resource content."}}]}))
            .map(Into::into),
            "test_multiple_content_types" => parse!(@CallToolResult, json!({"resultType": "complete", "content": [
                {"type": "text", "text": "Multiple content types test:"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
                {"type": "resource", "resource": {"uri": "test://mixed-content-resource",
                    "mimeType": "application/json", "text": "{\"test\":\"data\",\"value\":123}"}}]}))
            .map(Into::into),
            "test_tool_with_logging" | "test_logging_tool" => {
                for (i, message) in ["Tool execution started", "Tool processing data", "Tool execution completed"]
                    .into_iter()
                    .enumerate()
                {
                    if i > 0 {
                        pause().await;
                    }
                    self.zen.log_to_client(context, LoggingLevel::Info, message).await;
                }
                text_result("Logging test completed")
            }
            "test_error_handling" => parse!(@CallToolResult, json!({"resultType": "complete", "isError": true, "content": [
                {"type": "text", "text": "This tool intentionally returns an error for testing"}]}))
            .map(Into::into),
            "test_tool_with_progress" => {
                let token = request
                    .meta
                    .as_ref()
                    .and_then(|m| m.get_progress_token())
                    .or_else(|| context.meta.get_progress_token());
                for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
                    if i > 0 {
                        pause().await;
                    }
                    if let Some(token) = token.clone() {
                        let note = ProgressNotificationParam::new(token, progress).with_total(100.0);
                        let _ = context.peer.notify_progress(note).await;
                    }
                }
                text_result("Progress test completed")
            }
            "test_sampling" => {
                let prompt = arg("prompt").unwrap_or_else(|| "Hello".to_owned());
                let params: CreateMessageRequestParams = parse!(json!({
                    "messages": [{"role": "user", "content": {"type": "text", "text": prompt}}],
                    "maxTokens": 100}))?;
                match context.peer.create_message(params).await {
                    Ok(answer) => {
                        let said = serde_json::to_value(&answer.message.content).unwrap_or_default();
                        let text = said
                            .get("text")
                            .or_else(|| said.get(0).and_then(|c| c.get("text")))
                            .and_then(Value::as_str)
                            .unwrap_or("(no text)")
                            .to_owned();
                        text_result(format!("LLM response: {text}"))
                    }
                    Err(e) => Err(ErrorData::internal_error(format!("sampling failed: {e}"), None)),
                }
            }
            "test_elicitation" => {
                let message = arg("message").unwrap_or_else(|| "Please provide your information".to_owned());
                self.elicit(context, "User response", json!({"message": message, "requestedSchema": {
                    "type": "object",
                    "properties": {
                        "username": {"type": "string", "description": "User's response"},
                        "email": {"type": "string", "description": "User's email address"}},
                    "required": ["username", "email"]}}))
                .await
            }
            "test_elicitation_sep1034_defaults" => {
                self.elicit(context, "Elicitation completed", json!({
                    "message": "Please review these values (each has a default)",
                    "requestedSchema": {"type": "object", "properties": {
                        "name": {"type": "string", "description": "User's name", "default": "John Doe"},
                        "age": {"type": "integer", "description": "User's age", "default": 30},
                        "score": {"type": "number", "description": "User's score", "default": 95.5},
                        "status": {"type": "string", "description": "User's status",
                                   "enum": ["active", "inactive", "pending"], "default": "active"},
                        "verified": {"type": "boolean", "description": "Whether the user is verified",
                                     "default": true}}}}))
                .await
            }
            "test_elicitation_sep1330_enums" => {
                let choices = |titles: [&str; 3]| {
                    titles
                        .iter()
                        .enumerate()
                        .map(|(i, t)| json!({"const": format!("value{}", i + 1), "title": t}))
                        .collect::<Vec<_>>()
                };
                self.elicit(context, "Elicitation completed", json!({
                    "message": "Pick from each kind of list",
                    "requestedSchema": {"type": "object", "properties": {
                        "untitledSingle": {"type": "string", "enum": ["option1", "option2", "option3"]},
                        "titledSingle": {"type": "string",
                                         "oneOf": choices(["First Option", "Second Option", "Third Option"])},
                        "legacyEnum": {"type": "string", "enum": ["opt1", "opt2", "opt3"],
                                       "enumNames": ["Option One", "Option Two", "Option Three"]},
                        "untitledMulti": {"type": "array",
                                          "items": {"type": "string", "enum": ["option1", "option2", "option3"]}},
                        "titledMulti": {"type": "array",
                                        "items": {"anyOf": choices(["First Choice", "Second Choice", "Third Choice"])}}}}}))
                .await
            }
            "test_missing_capability" => {
                if !mrtr::declared(context, "sampling") {
                    return Err(ErrorData::missing_required_client_capability(parse!(
                        json!({"sampling": {}}),
                    )?));
                }
                text_result("The client declared sampling; this tool ran.")
            }
            "test_streaming_elicitation" => {
                if !mrtr::declared(context, "elicitation") {
                    return Err(ErrorData::missing_required_client_capability(parse!(
                        json!({"elicitation": {}}),
                    )?));
                }
                mrtr::call(request, context).await
            }
            "test_custom_headers" => text_result(format!(
                "region: {}",
                arg("region").unwrap_or_default()
            )),
            _ => mrtr::call(request, context).await,
        }
    }

    /// Sends `elicitation/create` with `params` and reports what came back.
    async fn elicit(
        &self,
        context: &RequestContext<RoleServer>,
        label: &str,
        params: Value,
    ) -> Result<CallToolResponse, ErrorData> {
        let params: ElicitRequestParams = parse!(params)?;
        let asked = ServerRequest::ElicitRequest(ElicitRequest::new(params));
        match context.peer.send_request(asked).await {
            Ok(ClientResult::ElicitResult(answer)) => {
                let action = serde_json::to_value(&answer.action).unwrap_or_default();
                let content = answer.content.unwrap_or_default();
                text_result(format!(
                    "{label}: action={}, content={content}",
                    action.as_str().unwrap_or("unknown")
                ))
            }
            Ok(other) => Err(ErrorData::internal_error(
                format!("the client answered elicitation/create with {other:?}"),
                None,
            )),
            Err(e) => Err(ErrorData::internal_error(
                format!("elicitation failed: {e}"),
                None,
            )),
        }
    }

    /// Starts or stops watching `uri` (legacy `resources/subscribe`).
    fn watch(&self, uri: &str, on: bool) {
        if let Ok(mut subscriptions) = self.subscriptions.lock() {
            if on {
                subscriptions.insert(uri.to_owned());
            } else {
                subscriptions.remove(uri);
            }
        }
    }

    fn is_fixture_tool(name: &str) -> bool {
        fixture_tools().iter().any(|(n, _, _)| *n == name)
    }

    fn fixture_tool(name: &str) -> Option<Tool> {
        fixture_tools()
            .into_iter()
            .find(|(n, _, _)| *n == name)
            .and_then(|(name, description, schema)| match schema {
                Value::Object(schema) => Some(Tool::new(name, description, Arc::new(schema))),
                _ => None,
            })
    }
}

impl ServerHandler for Conformance {
    fn get_info(&self) -> ServerConfig {
        let mut info = self.zen.get_info();
        info.capabilities
            .resources
            .get_or_insert_with(Default::default)
            .subscribe = Some(true);
        info
    }

    /// Subscriptions (protocol 2026-07-28) get whatever they asked for that
    /// the capabilities allow; rmcp holds them open until the client leaves.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        Some(requested.clone())
    }

    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.zen.set_level(request, context).await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let mut result = self.zen.list_tools(request, context).await?;
        result.tools.extend(
            fixture_tools()
                .into_iter()
                .filter_map(|(name, _, _)| Self::fixture_tool(name)),
        );
        Ok(result)
    }

    /// What rmcp checks `Mcp-Param-*` headers against (SEP-2243).
    fn get_tool(&self, name: &str) -> Option<Tool> {
        Self::fixture_tool(name)
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if Self::is_fixture_tool(&request.name) {
            self.call_fixture(&request, &context).await
        } else {
            self.zen.call_tool(request, context).await
        }
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let mut result = self.zen.list_resources(request, context).await?;
        result.resources.push(
            Resource::new("test://static-text", "Static text")
                .with_description("A fixed text resource")
                .with_mime_type("text/plain"),
        );
        result.resources.push(
            Resource::new("test://static-binary", "Static binary")
                .with_description("A fixed PNG resource")
                .with_mime_type("image/png"),
        );
        Ok(result)
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let mut result = self.zen.list_resource_templates(request, context).await?;
        result.resource_templates.push(
            ResourceTemplate::new("test://template/{id}/data", "Template data")
                .with_description("JSON naming the id in the URI")
                .with_mime_type("application/json"),
        );
        Ok(result)
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let uri = request.uri.as_str();
        let contents = if uri == "test://static-text" {
            json!({"uri": uri, "mimeType": "text/plain", "text": "This is the content of the static text resource."})
        } else if uri == "test://static-binary" {
            json!({"uri": uri, "mimeType": "image/png", "blob": PNG})
        } else if let Some(id) = uri
            .strip_prefix("test://template/")
            .and_then(|rest| rest.strip_suffix("/data"))
        {
            let text =
                json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
            json!({"uri": uri, "mimeType": "application/json", "text": text.to_string()})
        } else {
            return self.zen.read_resource(request, context).await;
        };
        parse!(@ReadResourceResult, json!({"resultType": "complete", "contents": [contents]}))
            .map(Into::into)
    }

    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.watch(&request.uri, true);
        Ok(())
    }

    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.watch(&request.uri, false);
        Ok(())
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let mut result = self.zen.list_prompts(request, context).await?;
        let extra: Vec<Prompt> = parse!(json!([
            {"name": "test_simple_prompt", "description": "A prompt without arguments"},
            {"name": "test_prompt_with_arguments", "description": "A prompt with two arguments",
             "arguments": [{"name": "arg1", "description": "First argument", "required": true},
                           {"name": "arg2", "description": "Second argument", "required": true}]},
            {"name": "test_prompt_with_embedded_resource", "description": "A prompt embedding a resource",
             "arguments": [{"name": "resourceUri", "description": "The resource to embed", "required": true}]},
            {"name": "test_prompt_with_image", "description": "A prompt with an image"},
            {"name": "test_input_required_result_prompt",
             "description": "A prompt that first asks the client for context"}
        ]))?;
        result.prompts.extend(extra);
        Ok(result)
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let arg = |name: &str| {
            request
                .arguments
                .as_ref()
                .and_then(|a| a.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let user = |content: Value| json!({"role": "user", "content": content});
        let messages = match request.name.as_str() {
            "test_simple_prompt" => vec![user(
                json!({"type": "text", "text": "This is a simple prompt for testing."}),
            )],
            "test_prompt_with_arguments" => vec![user(json!({"type": "text",
                "text": format!("Prompt with arguments: arg1='{}', arg2='{}'", arg("arg1"), arg("arg2"))}))],
            "test_prompt_with_embedded_resource" => vec![
                user(
                    json!({"type": "resource", "resource": {"uri": arg("resourceUri"),
                    "mimeType": "text/plain", "text": "Embedded resource content for testing."}}),
                ),
                user(
                    json!({"type": "text", "text": "Please process the embedded resource above."}),
                ),
            ],
            "test_prompt_with_image" => vec![
                user(json!({"type": "image", "data": PNG, "mimeType": "image/png"})),
                user(json!({"type": "text", "text": "Please analyze the image above."})),
            ],
            "test_input_required_result_prompt" => return mrtr::prompt(&request),
            _ => return self.zen.get_prompt(request, context).await,
        };
        parse!(@GetPromptResult, json!({"resultType": "complete", "messages": messages}))
            .map(Into::into)
    }
}
