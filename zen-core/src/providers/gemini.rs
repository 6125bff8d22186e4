//! Google Gemini's `generateContent` API.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Map, Value, json};

use super::endpoints::{EndpointPool, EndpointState};
use super::http::{self, quote};
use super::{GenerateRequest, GenerateResponse, Provider, ProviderKind, ThinkingMode};
use crate::config::ProviderConfig;
use crate::error::{Error, Result};
use crate::models::{ModelSpec, ResolvedModel};

/// Thinking levels in increasing order, for models that take levels.
const LEVELS: [&str; 4] = ["minimal", "low", "medium", "high"];

/// A client for the Gemini API.
#[derive(Debug)]
pub struct GeminiProvider {
    client: reqwest::Client,
    /// The endpoints (one, unless `GEMINI_BASE_URL` lists several).
    pool: EndpointPool,
    read_timeout: Duration,
}

impl GeminiProvider {
    /// Builds the client for `config`, keeping up to `idle_connections`
    /// connections per endpoint open between calls.
    pub fn new(config: &ProviderConfig, idle_connections: usize) -> Result<Self> {
        let key = config.api_key.as_deref().unwrap_or_default();
        let headers = http::headers(&[("x-goog-api-key", key, "GEMINI_API_KEY")])?;
        Ok(GeminiProvider {
            client: http::client(config, headers, idle_connections)?,
            pool: EndpointPool::new(config.bases(), config.endpoint_cooldown),
            read_timeout: config.read_timeout,
        })
    }

    fn body(model: &ResolvedModel, request: &GenerateRequest) -> Value {
        let spec = &model.spec;
        let mut parts = vec![json!({"text": request.prompt})];
        parts.extend(request.images.iter().map(
            |image| json!({"inlineData": {"mimeType": image.mime_type, "data": image.base64}}),
        ));
        let mut body = Map::new();
        body.insert("contents".into(), json!([{"role": "user", "parts": parts}]));
        if let Some(system) = &request.system_prompt {
            body.insert(
                "systemInstruction".into(),
                json!({"parts": [{"text": system}]}),
            );
        }
        let mut generation = Map::new();
        generation.insert("candidateCount".into(), json!(1));
        if let Some(t) = request
            .temperature
            .and_then(|t| spec.effective_temperature(t))
        {
            generation.insert("temperature".into(), json!(t));
        }
        if let Some(max) = request.max_output_tokens.or(spec.max_output_tokens) {
            generation.insert("maxOutputTokens".into(), json!(max));
        }
        if let Some(thinking) = request
            .thinking_mode
            .and_then(|mode| thinking_config(spec, mode))
        {
            generation.insert("thinkingConfig".into(), thinking);
        }
        body.insert("generationConfig".into(), Value::Object(generation));
        Value::Object(body)
    }

    fn fail(message: String, retryable: bool) -> Error {
        Error::Provider {
            provider: ProviderKind::Gemini,
            status: None,
            message,
            retryable,
        }
    }

    fn parse(model: &ResolvedModel, reply: &Value) -> Result<GenerateResponse> {
        if let Some(reason) = reply
            .pointer("/promptFeedback/blockReason")
            .and_then(Value::as_str)
        {
            return Err(Self::fail(
                format!(
                    "the prompt was blocked by Gemini's safety filters ({reason}); rephrase it"
                ),
                false,
            ));
        }
        let candidate = reply.pointer("/candidates/0").ok_or_else(|| {
            Self::fail(
                format!("the reply has no candidates: {}", quote(&reply.to_string())),
                true,
            )
        })?;
        let finish = candidate
            .get("finishReason")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let content: String = candidate
            .pointer("/content/parts")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|part| part.get("thought").and_then(Value::as_bool) != Some(true))
            .filter_map(|part| part.get("text").and_then(Value::as_str))
            .collect();
        if content.trim().is_empty() {
            let (why, retryable) = match finish.as_deref() {
                Some("SAFETY" | "PROHIBITED_CONTENT" | "BLOCKLIST" | "SPII") => (
                    "the reply was blocked by Gemini's safety filters; rephrase the request"
                        .to_owned(),
                    false,
                ),
                Some("RECITATION") => (
                    "the reply was withheld because it recited protected material".to_owned(),
                    false,
                ),
                Some("MAX_TOKENS") => (
                    "the model used all its output tokens before writing an answer; lower \
                     the thinking mode or raise the output limit"
                        .to_owned(),
                    false,
                ),
                Some(other) => (format!("the model returned an empty reply ({other})"), true),
                None => ("the model returned an empty reply".to_owned(), true),
            };
            return Err(Self::fail(why, retryable));
        }
        let usage = http::usage(
            reply.get("usageMetadata"),
            "promptTokenCount",
            &["candidatesTokenCount", "thoughtsTokenCount"],
            "totalTokenCount",
        );
        Ok(GenerateResponse {
            content,
            model_name: reply
                .get("modelVersion")
                .and_then(Value::as_str)
                .unwrap_or(&model.api_name)
                .to_owned(),
            provider: ProviderKind::Gemini,
            usage,
            finish_reason: finish,
        })
    }
}

/// The `thinkingConfig` for a mode: a level for models that take levels, a
/// token budget (a share of `max_thinking_tokens`) for the others.
fn thinking_config(spec: &ModelSpec, mode: ThinkingMode) -> Option<Value> {
    if !spec.supports_extended_thinking {
        return None;
    }
    let implied;
    let levels = match spec
        .supported_thinking_levels
        .as_ref()
        .filter(|l| !l.is_empty())
    {
        Some(levels) => Some(levels),
        None if gemini_major(&spec.model_name).is_some_and(|major| major >= 3) => {
            // Gemini 3 and later think in levels, not budgets.
            implied = vec!["low".to_owned(), "medium".to_owned(), "high".to_owned()];
            Some(&implied)
        }
        None => None,
    };
    if let Some(levels) = levels {
        let wanted = match mode {
            ThinkingMode::Minimal => 0,
            ThinkingMode::Low => 1,
            ThinkingMode::Medium => 2,
            ThinkingMode::High | ThinkingMode::Max => 3,
        };
        let supported = |i: usize| levels.iter().any(|l| l.eq_ignore_ascii_case(LEVELS[i]));
        // The wanted level, else the nearest one below it, else above it.
        let pick = (0..=wanted)
            .rev()
            .chain(wanted + 1..LEVELS.len())
            .find(|&i| supported(i))?;
        return Some(json!({"thinkingLevel": LEVELS[pick].to_ascii_uppercase()}));
    }
    if spec.max_thinking_tokens == 0 {
        return None;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let budget = (spec.max_thinking_tokens as f64 * mode.budget_fraction()) as u64;
    Some(json!({"thinkingBudget": budget}))
}

/// The major version in a `gemini-N…` model name.
fn gemini_major(name: &str) -> Option<u32> {
    let rest = name.to_ascii_lowercase();
    let rest = rest.strip_prefix("gemini-")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

#[async_trait]
impl Provider for GeminiProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Gemini
    }

    async fn generate(
        &self,
        model: &ResolvedModel,
        request: &GenerateRequest,
    ) -> Result<GenerateResponse> {
        super::check_request(model, request)?;
        let lease = self.pool.pick();
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            lease.base(),
            model.api_name
        );
        let body = Self::body(model, request);
        let reply = http::send_json(
            ProviderKind::Gemini,
            self.read_timeout,
            self.client.post(url).json(&body),
        )
        .await;
        lease.settle(reply.and_then(|reply| Self::parse(model, &reply)))
    }

    fn can_fail_over(&self) -> bool {
        self.pool.any_healthy()
    }

    fn endpoints(&self) -> Vec<EndpointState> {
        self.pool.balanced_states()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_budget_is_a_share_of_the_maximum() {
        let mut spec = ModelSpec::generic("g", "");
        spec.supports_extended_thinking = true;
        spec.max_thinking_tokens = 32_768;
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Max),
            Some(json!({"thinkingBudget": 32_768}))
        );
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Medium),
            Some(json!({"thinkingBudget": 10_813}))
        );
    }

    #[test]
    fn thinking_levels_pick_the_nearest_supported() {
        let mut spec = ModelSpec::generic("g", "");
        spec.supports_extended_thinking = true;
        spec.supported_thinking_levels = Some(vec!["low".into(), "high".into()]);
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Minimal),
            Some(json!({"thinkingLevel": "LOW"}))
        );
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Medium),
            Some(json!({"thinkingLevel": "LOW"}))
        );
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Max),
            Some(json!({"thinkingLevel": "HIGH"}))
        );
        spec.supports_extended_thinking = false;
        assert_eq!(thinking_config(&spec, ThinkingMode::High), None);
    }

    #[test]
    fn gemini_three_and_later_use_levels() {
        let mut spec = ModelSpec::generic("gemini-3.7-flash", "");
        spec.supports_extended_thinking = true;
        spec.max_thinking_tokens = 24_576;
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Minimal),
            Some(json!({"thinkingLevel": "LOW"}))
        );
        spec.model_name = "gemini-2.5-flash".into();
        assert_eq!(
            thinking_config(&spec, ThinkingMode::Minimal),
            Some(json!({"thinkingBudget": 122}))
        );
    }
}
