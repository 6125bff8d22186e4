//! The OpenAI wire format, which serves OpenAI, Azure OpenAI, xAI, DIAL,
//! OpenRouter and custom endpoints: chat completions, and the responses API
//! for models flagged `use_openai_response_api`.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::endpoints::{EndpointPool, EndpointState};
use super::http::{self, quote};
use super::{GenerateRequest, GenerateResponse, Provider, ProviderKind, ThinkingMode, Usage};
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::models::ResolvedModel;

/// How request URLs are formed from an endpoint's base.
#[derive(Debug, Clone)]
enum Routes {
    /// `{base}/chat/completions`, `{base}/responses`, `{base}/models`.
    Plain,
    /// `{base}/openai/deployments/{deployment}/chat/completions?api-version=…`
    /// (Azure and DIAL); Azure's responses API is `{base}/openai/responses`.
    Deployments { api_version: String },
}

/// A client for any provider that speaks OpenAI's wire format.
#[derive(Debug)]
pub struct OpenAiCompatProvider {
    kind: ProviderKind,
    client: reqwest::Client,
    routes: Routes,
    /// The endpoints (one, unless the settings list several).
    pool: EndpointPool,
    read_timeout: Duration,
}

impl OpenAiCompatProvider {
    /// Builds the client for `config`, keeping up to `idle_connections`
    /// connections per endpoint open between calls.
    pub fn new(config: &ProviderConfig, idle_connections: usize) -> Result<Self> {
        let kind = config.kind;
        let key = config.api_key.as_deref();
        let key_var = match kind {
            ProviderKind::OpenAi => "OPENAI_API_KEY",
            ProviderKind::Azure => "AZURE_OPENAI_API_KEY",
            ProviderKind::Xai => "XAI_API_KEY",
            ProviderKind::Dial => "DIAL_API_KEY",
            ProviderKind::OpenRouter => "OPENROUTER_API_KEY",
            _ => "CUSTOM_API_KEY",
        };
        let bearer = key.map(|k| format!("Bearer {k}"));
        let mut pairs: Vec<(&str, &str, &str)> = Vec::new();
        match (kind, key) {
            (ProviderKind::Azure, Some(k)) => pairs.push(("api-key", k, key_var)),
            (ProviderKind::Dial, Some(k)) => pairs.push(("Api-Key", k, key_var)),
            _ => {
                if let Some(b) = bearer.as_deref() {
                    pairs.push(("Authorization", b, key_var));
                }
            }
        }
        for (name, value) in &config.extra_headers {
            let setting = if name == "HTTP-Referer" {
                "OPENROUTER_REFERER"
            } else {
                "OPENROUTER_TITLE"
            };
            pairs.push((name, value, setting));
        }
        let client = http::client(config, http::headers(&pairs)?, idle_connections)?;
        let mut bases = config.bases();
        let routes = match (kind, &config.api_version) {
            (ProviderKind::Azure | ProviderKind::Dial, Some(version)) => {
                // Hosts are sometimes written with the `/openai` suffix.
                for base in &mut bases {
                    if let Some(bare) = base.strip_suffix("/openai") {
                        *base = bare.to_owned();
                    }
                }
                Routes::Deployments {
                    api_version: version.clone(),
                }
            }
            _ => Routes::Plain,
        };
        Ok(OpenAiCompatProvider {
            kind,
            client,
            routes,
            pool: EndpointPool::new(bases, config.endpoint_cooldown),
            read_timeout: config.read_timeout,
        })
    }

    fn deployment(&self, model: &ResolvedModel) -> String {
        match self.kind {
            ProviderKind::Azure => model
                .spec
                .deployment
                .clone()
                .unwrap_or_else(|| model.api_name.clone()),
            _ => model.api_name.clone(),
        }
    }

    fn post(&self, base: &str, model: &ResolvedModel, endpoint: &str) -> reqwest::RequestBuilder {
        match &self.routes {
            Routes::Plain => self.client.post(format!("{base}/{endpoint}")),
            Routes::Deployments { api_version } => {
                let url = if endpoint == "responses" {
                    format!("{base}/openai/responses")
                } else {
                    format!(
                        "{base}/openai/deployments/{}/{endpoint}",
                        encode_segment(&self.deployment(model))
                    )
                };
                self.client
                    .post(url)
                    .query(&[("api-version", api_version.as_str())])
            }
        }
    }

    /// The reasoning effort to send, for providers and models that take one.
    fn reasoning_effort(
        &self,
        model: &ResolvedModel,
        mode: Option<ThinkingMode>,
    ) -> Option<String> {
        if !matches!(self.kind, ProviderKind::OpenAi | ProviderKind::Azure)
            || !model.spec.supports_extended_thinking && !model.spec.use_openai_response_api
        {
            return None;
        }
        match mode {
            Some(ThinkingMode::Minimal | ThinkingMode::Low) => Some("low".into()),
            Some(ThinkingMode::Medium) => Some("medium".into()),
            Some(ThinkingMode::High | ThinkingMode::Max) => Some("high".into()),
            None => model.spec.default_reasoning_effort.clone(),
        }
    }

    fn max_tokens(model: &ResolvedModel, request: &GenerateRequest) -> Option<u64> {
        request.max_output_tokens.or(model.spec.max_output_tokens)
    }

    fn chat_body(&self, model: &ResolvedModel, request: &GenerateRequest) -> Value {
        let spec = &model.spec;
        let mut messages = Vec::new();
        let mut prompt = request.prompt.clone();
        if let Some(system) = &request.system_prompt {
            if spec.supports_system_prompts {
                messages.push(json!({"role": "system", "content": system}));
            } else {
                prompt = format!("{system}\n\n{prompt}");
            }
        }
        let user_content = if request.images.is_empty() {
            Value::String(prompt)
        } else {
            let mut parts = vec![json!({"type": "text", "text": prompt})];
            parts.extend(request.images.iter().map(
                |image| json!({"type": "image_url", "image_url": {"url": image.to_data_url()}}),
            ));
            Value::Array(parts)
        };
        messages.push(json!({"role": "user", "content": user_content}));

        let mut body = Map::new();
        body.insert("model".into(), json!(self.deployment(model)));
        body.insert("messages".into(), Value::Array(messages));
        body.insert("stream".into(), json!(false));
        if let Some(t) = request
            .temperature
            .and_then(|t| spec.effective_temperature(t))
        {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(max) = Self::max_tokens(model, request) {
            // OpenAI's own API (and Azure's) want the newer name; the rest of
            // the OpenAI-compatible world reads `max_tokens`.
            let field = match self.kind {
                ProviderKind::OpenAi | ProviderKind::Azure => "max_completion_tokens",
                _ => "max_tokens",
            };
            body.insert(field.into(), json!(max));
        }
        if let Some(effort) = self.reasoning_effort(model, request.thinking_mode) {
            body.insert("reasoning_effort".into(), json!(effort));
        }
        Value::Object(body)
    }

    fn responses_body(&self, model: &ResolvedModel, request: &GenerateRequest) -> Value {
        let mut content = vec![json!({"type": "input_text", "text": request.prompt})];
        content.extend(
            request
                .images
                .iter()
                .map(|image| json!({"type": "input_image", "image_url": image.to_data_url()})),
        );
        let mut body = Map::new();
        body.insert("model".into(), json!(self.deployment(model)));
        body.insert(
            "input".into(),
            json!([{"role": "user", "content": content}]),
        );
        if let Some(system) = &request.system_prompt {
            body.insert("instructions".into(), json!(system));
        }
        // Models on the responses API reason; they take an effort, not a temperature.
        body.insert("store".into(), json!(false));
        if let Some(max) = Self::max_tokens(model, request) {
            body.insert("max_output_tokens".into(), json!(max));
        }
        let effort = self
            .reasoning_effort(model, request.thinking_mode)
            .unwrap_or_else(|| "medium".to_owned());
        body.insert("reasoning".into(), json!({"effort": effort}));
        Value::Object(body)
    }

    fn bad_reply(&self, message: String, retryable: bool) -> Error {
        Error::Provider {
            provider: self.kind,
            status: None,
            message,
            retryable,
        }
    }

    fn parse_chat(&self, model: &ResolvedModel, reply: &Value) -> Result<GenerateResponse> {
        let choice = reply.get("choices").and_then(|c| c.get(0)).ok_or_else(|| {
            self.bad_reply(
                format!("the reply has no choices: {}", quote(&reply.to_string())),
                true,
            )
        })?;
        let finish_reason = choice
            .get("finish_reason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let message = choice.get("message");
        let content = match message.and_then(|m| m.get("content")) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Array(parts)) => parts
                .iter()
                .filter_map(|p| p.get("text").and_then(Value::as_str))
                .collect::<Vec<_>>()
                .join(""),
            _ => String::new(),
        };
        let refusal = message
            .and_then(|m| m.get("refusal"))
            .and_then(Value::as_str);
        self.check_content(&content, finish_reason.as_deref(), refusal)?;
        let usage = http::usage(
            reply.get("usage"),
            "prompt_tokens",
            &["completion_tokens"],
            "total_tokens",
        );
        Ok(self.response(model, reply, content, usage, finish_reason))
    }

    fn parse_responses(&self, model: &ResolvedModel, reply: &Value) -> Result<GenerateResponse> {
        let mut content = reply
            .get("output_text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let mut refusal = None;
        if content.is_empty() {
            for item in reply
                .get("output")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|item| item.get("type").and_then(Value::as_str) == Some("message"))
            {
                for part in item
                    .get("content")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    match part.get("type").and_then(Value::as_str) {
                        Some("output_text") => {
                            content
                                .push_str(part.get("text").and_then(Value::as_str).unwrap_or(""));
                        }
                        Some("refusal") => {
                            refusal = part.get("refusal").and_then(Value::as_str);
                        }
                        _ => {}
                    }
                }
            }
        }
        let status = reply.get("status").and_then(Value::as_str);
        let finish_reason = match status {
            Some("incomplete") => reply
                .pointer("/incomplete_details/reason")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| Some("incomplete".into())),
            other => other.map(str::to_owned),
        };
        if status == Some("failed") {
            let detail = reply
                .pointer("/error/message")
                .and_then(Value::as_str)
                .unwrap_or("no detail given");
            return Err(self.bad_reply(format!("the response failed: {detail}"), true));
        }
        self.check_content(&content, finish_reason.as_deref(), refusal)?;
        let usage = http::usage(
            reply.get("usage"),
            "input_tokens",
            &["output_tokens"],
            "total_tokens",
        );
        Ok(self.response(model, reply, content, usage, finish_reason))
    }

    fn response(
        &self,
        model: &ResolvedModel,
        reply: &Value,
        content: String,
        usage: Usage,
        finish_reason: Option<String>,
    ) -> GenerateResponse {
        GenerateResponse {
            content,
            model_name: reply
                .get("model")
                .and_then(Value::as_str)
                .unwrap_or(&model.api_name)
                .to_owned(),
            provider: self.kind,
            usage,
            finish_reason,
        }
    }

    /// Refuses an empty, filtered or refused reply with a message saying which.
    fn check_content(
        &self,
        content: &str,
        finish: Option<&str>,
        refusal: Option<&str>,
    ) -> Result<()> {
        if let Some(refusal) = refusal.filter(|r| !r.is_empty())
            && content.trim().is_empty()
        {
            return Err(self.bad_reply(format!("the model refused: {refusal}"), false));
        }
        if finish == Some("content_filter") {
            return Err(self.bad_reply(
                "the reply was blocked by the provider's content filter; rephrase the request"
                    .into(),
                false,
            ));
        }
        if content.trim().is_empty() {
            let (why, retryable) = match finish {
                Some("length" | "max_output_tokens") => (
                    "the model used all its output tokens before writing an answer; \
                     lower the thinking mode or raise the output limit",
                    false,
                ),
                _ => ("the model returned an empty reply", true),
            };
            return Err(self.bad_reply(why.into(), retryable));
        }
        Ok(())
    }
}

#[async_trait]
impl Provider for OpenAiCompatProvider {
    fn kind(&self) -> ProviderKind {
        self.kind
    }

    async fn generate(
        &self,
        model: &ResolvedModel,
        request: &GenerateRequest,
    ) -> Result<GenerateResponse> {
        super::check_request(model, request)?;
        let responses_api = model.spec.use_openai_response_api
            && matches!(self.kind, ProviderKind::OpenAi | ProviderKind::Azure);
        let lease = self.pool.pick();
        let result = if responses_api {
            let body = self.responses_body(model, request);
            http::send_json(
                self.kind,
                self.read_timeout,
                self.post(lease.base(), model, "responses").json(&body),
            )
            .await
            .and_then(|reply| self.parse_responses(model, &reply))
        } else {
            let body = self.chat_body(model, request);
            http::send_json(
                self.kind,
                self.read_timeout,
                self.post(lease.base(), model, "chat/completions")
                    .json(&body),
            )
            .await
            .and_then(|reply| self.parse_chat(model, &reply))
        };
        lease.settle(result)
    }

    async fn list_models(&self) -> Result<Vec<String>> {
        let Routes::Plain = &self.routes else {
            return Ok(Vec::new());
        };
        let lease = self.pool.pick();
        let reply = http::get_json(
            self.kind,
            self.read_timeout,
            self.client.get(format!("{}/models", lease.base())),
        )
        .await;
        let reply = lease.settle(reply)?;
        let ids = reply
            .get("data")
            .or_else(|| reply.get("models"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|m| {
                m.get("id")
                    .or_else(|| m.get("name"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .collect();
        Ok(ids)
    }

    fn can_fail_over(&self) -> bool {
        self.pool.any_healthy()
    }

    fn endpoints(&self) -> Vec<EndpointState> {
        self.pool.balanced_states()
    }
}

/// Percent-encodes a URL path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~:".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
