//! Reading a CLI's answer out of what it printed: the Gemini CLI's JSON
//! object (`-o json`), the Codex CLI's JSON-lines events (`exec --json`), the
//! Claude CLI's JSON result (`--output-format json`), or plain text.

use serde_json::{Map, Value, json};

/// How a client's output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Parser {
    /// One JSON object with `response` and `stats`.
    GeminiJson,
    /// One JSON event per line; the answer is in `agent_message` items.
    CodexJsonl,
    /// One JSON object (or an array of events) with `result`.
    ClaudeJson,
    /// The output is the answer.
    Text,
}

/// What a parser found.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Parsed {
    /// The answer.
    pub content: String,
    /// The model the CLI says it used.
    pub model: Option<String>,
    /// Token counts as the CLI reports them.
    pub usage: Option<Value>,
    /// Anything else worth reporting (`is_error`, `errors`, …).
    pub extra: Map<String, Value>,
}

/// Why the output could not be read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ParseError {
    /// What was wrong, as a sentence.
    pub message: String,
    /// The CLI reported a failure that plain-text fallback must not hide.
    pub fatal: bool,
}

impl ParseError {
    fn new(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            fatal: false,
        }
    }

    fn fatal(message: impl Into<String>) -> Self {
        ParseError {
            message: message.into(),
            fatal: true,
        }
    }
}

impl Parser {
    /// The names a definition file may use.
    pub const NAMES: [&'static str; 4] = ["gemini_json", "codex_jsonl", "claude_json", "text"];

    /// The parser called `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "gemini_json" => Some(Parser::GeminiJson),
            "codex_jsonl" => Some(Parser::CodexJsonl),
            "claude_json" => Some(Parser::ClaudeJson),
            "text" | "raw" => Some(Parser::Text),
            _ => None,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Parser::GeminiJson => "gemini_json",
            Parser::CodexJsonl => "codex_jsonl",
            Parser::ClaudeJson => "claude_json",
            Parser::Text => "text",
        }
    }

    /// Reads the answer from `stdout` (and `stderr`, for diagnostics).
    pub fn parse(self, stdout: &str, stderr: &str) -> Result<Parsed, ParseError> {
        match self {
            Parser::GeminiJson => gemini(stdout, stderr),
            Parser::CodexJsonl => codex(stdout),
            Parser::ClaudeJson => claude(stdout),
            Parser::Text => {
                let content = stdout.trim();
                if content.is_empty() {
                    return Err(ParseError::new("the CLI printed nothing"));
                }
                Ok(Parsed {
                    content: content.to_owned(),
                    ..Parsed::default()
                })
            }
        }
    }
}

/// Google turns away Gemini CLI requests from account tiers it no longer serves.
const GEMINI_UNSUPPORTED: &str = "unsupported_client";

fn gemini(stdout: &str, stderr: &str) -> Result<Parsed, ParseError> {
    let unsupported = || {
        ParseError::fatal(
            "the Gemini CLI refused the request (UNSUPPORTED_CLIENT): Google no longer serves \
             this account tier through the gemini CLI. Use a paid GEMINI_API_KEY or a Gemini \
             Code Assist licence, or pick another cli_name.",
        )
    };
    if stderr.to_ascii_lowercase().contains(GEMINI_UNSUPPORTED) {
        return Err(unsupported());
    }
    let Some(payload) = json_object(stdout) else {
        if stdout.to_ascii_lowercase().contains(GEMINI_UNSUPPORTED) {
            return Err(unsupported());
        }
        return Err(ParseError::new(
            "the output is not the JSON object `gemini -o json` prints",
        ));
    };
    let mut parsed = Parsed::default();
    if let Some(models) = payload.pointer("/stats/models").and_then(Value::as_object)
        && let Some((model, stats)) = models.iter().next()
    {
        parsed.model = Some(model.clone());
        parsed.usage = stats.get("tokens").filter(|t| t.is_object()).cloned();
    }
    let response = payload
        .get("response")
        .and_then(Value::as_str)
        .map(str::trim);
    if let Some(text) = response.filter(|t| !t.is_empty()) {
        parsed.content = text.to_owned();
        return Ok(parsed);
    }
    if let Some(error) = payload.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let code = error
            .get("code")
            .or_else(|| error.get("type"))
            .map(|c| {
                format!(
                    " ({})",
                    c.as_str().map_or_else(|| c.to_string(), str::to_owned)
                )
            })
            .unwrap_or_default();
        return Err(ParseError::fatal(format!(
            "the Gemini CLI reported an error{code}: {message}"
        )));
    }
    if stdout.to_ascii_lowercase().contains(GEMINI_UNSUPPORTED) {
        return Err(unsupported());
    }
    let lower = stderr.to_ascii_lowercase();
    if lower.contains("429") || lower.contains("rate limit") {
        return Err(ParseError::fatal(
            "the Gemini CLI answered nothing because its API is rate limiting (HTTP 429); wait \
             for the quota to refill or send a smaller request",
        ));
    }
    Err(ParseError::new(
        "the Gemini CLI's JSON has no `response` text",
    ))
}

fn codex(stdout: &str) -> Result<Parsed, ParseError> {
    let mut messages = Vec::new();
    let mut errors = Vec::new();
    let mut parsed = Parsed::default();
    for line in stdout.lines().map(str::trim).filter(|l| l.starts_with('{')) {
        let Ok(event) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        match event.get("type").and_then(Value::as_str) {
            Some("item.completed") => {
                let item = event.get("item");
                let is_message = item.and_then(|i| i.get("type")).and_then(Value::as_str)
                    == Some("agent_message");
                if is_message
                    && let Some(text) = item.and_then(|i| i.get("text")).and_then(Value::as_str)
                    && !text.trim().is_empty()
                {
                    messages.push(text.trim().to_owned());
                }
            }
            Some("error") => {
                if let Some(message) = event.get("message").and_then(Value::as_str)
                    && !message.trim().is_empty()
                {
                    errors.push(message.trim().to_owned());
                }
            }
            Some("turn.completed") => {
                if let Some(usage) = event.get("usage").filter(|u| u.is_object()) {
                    parsed.usage = Some(usage.clone());
                }
            }
            _ => {}
        }
    }
    if !errors.is_empty() {
        parsed.extra.insert("errors".into(), json!(errors));
    }
    if messages.is_empty() {
        return Err(match errors.is_empty() {
            true => ParseError::new("the Codex CLI's events hold no agent_message"),
            false => ParseError::fatal(format!("the Codex CLI reported: {}", errors.join("; "))),
        });
    }
    parsed.content = messages.join("\n\n");
    Ok(parsed)
}

fn claude(stdout: &str) -> Result<Parsed, ParseError> {
    let loaded: Value = serde_json::from_str(stdout.trim()).map_err(|_| {
        ParseError::new("the output is not the JSON `claude --output-format json` prints")
    })?;
    let (payload, assistant) = match &loaded {
        Value::Object(_) => (loaded.clone(), None),
        Value::Array(events) => {
            let objects: Vec<&Value> = events.iter().filter(|e| e.is_object()).collect();
            let result = objects.iter().find(|e| {
                e.get("type").and_then(Value::as_str) == Some("result") || e.get("result").is_some()
            });
            let assistant = objects
                .iter()
                .rev()
                .find(|e| e.get("type").and_then(Value::as_str) == Some("assistant"))
                .map(|e| (*e).clone());
            let payload = result
                .map(|e| (*e).clone())
                .or_else(|| assistant.clone())
                .or_else(|| objects.last().map(|e| (*e).clone()))
                .ok_or_else(|| ParseError::new("the Claude CLI's JSON array holds no objects"))?;
            (payload, assistant)
        }
        _ => {
            return Err(ParseError::new(
                "the Claude CLI printed JSON of an unexpected shape",
            ));
        }
    };
    let mut parsed = Parsed::default();
    if let Some(is_error) = payload.get("is_error").and_then(Value::as_bool) {
        parsed.extra.insert("is_error".into(), json!(is_error));
    }
    parsed.usage = payload.get("usage").filter(|u| u.is_object()).cloned();
    parsed.model = payload
        .get("modelUsage")
        .and_then(Value::as_object)
        .and_then(|m| m.keys().next().cloned());
    let result = match payload.get("result") {
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(Value::as_str)
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    };
    let content = Some(result)
        .filter(|r| !r.is_empty())
        .or_else(|| claude_message(&payload))
        .or_else(|| assistant.as_ref().and_then(claude_message));
    match content {
        Some(content) => {
            parsed.content = content;
            Ok(parsed)
        }
        None => Err(ParseError::new(
            "the Claude CLI's JSON has no `result` text",
        )),
    }
}

/// A message in a Claude CLI event: `message` as text, an assistant message's
/// text blocks, or `error.message`.
fn claude_message(payload: &Value) -> Option<String> {
    let text = match payload.get("message") {
        Some(Value::String(text)) => text.trim().to_owned(),
        Some(message) => message
            .get("content")
            .and_then(Value::as_array)
            .map(|blocks| {
                blocks
                    .iter()
                    .filter_map(|b| b.get("text").and_then(Value::as_str))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .trim()
                    .to_owned()
            })
            .unwrap_or_default(),
        None => String::new(),
    };
    if !text.is_empty() {
        return Some(text);
    }
    payload
        .pointer("/error/message")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_owned)
}

/// The JSON object in `text`: all of it, or from its first `{` (CLIs sometimes
/// print a warning line before their JSON).
fn json_object(text: &str) -> Option<Value> {
    let text = text.trim();
    if let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(text) {
        return Some(value);
    }
    let start = text.find('{')?;
    match serde_json::from_str::<Value>(&text[start..]) {
        Ok(value @ Value::Object(_)) => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gemini_reads_response_model_and_tokens() {
        let out = r#"Loaded cached credentials.
{"response": " Hello ", "stats": {"models": {"gemini-2.5-pro": {"tokens": {"total": 9}}}}}"#;
        let parsed = Parser::GeminiJson.parse(out, "").unwrap();
        assert_eq!(parsed.content, "Hello");
        assert_eq!(parsed.model.as_deref(), Some("gemini-2.5-pro"));
        assert_eq!(parsed.usage, Some(json!({"total": 9})));
        let err = Parser::GeminiJson
            .parse(r#"{"error": {"code": 403, "message": "nope"}}"#, "")
            .unwrap_err();
        assert!(err.fatal && err.message.contains("(403): nope"), "{err:?}");
        assert!(
            Parser::GeminiJson
                .parse("{}", "Error: UNSUPPORTED_CLIENT")
                .unwrap_err()
                .fatal
        );
    }

    #[test]
    fn codex_joins_agent_messages() {
        let out = "\
{\"type\":\"thread.started\"}
not json
{\"type\":\"item.completed\",\"item\":{\"type\":\"reasoning\",\"text\":\"hmm\"}}
{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"one\"}}
{\"type\":\"item.completed\",\"item\":{\"type\":\"agent_message\",\"text\":\"two\"}}
{\"type\":\"turn.completed\",\"usage\":{\"input_tokens\":5}}";
        let parsed = Parser::CodexJsonl.parse(out, "").unwrap();
        assert_eq!(parsed.content, "one\n\ntwo");
        assert_eq!(parsed.usage, Some(json!({"input_tokens": 5})));
        let err = Parser::CodexJsonl
            .parse("{\"type\":\"error\",\"message\":\"quota\"}", "")
            .unwrap_err();
        assert!(err.fatal && err.message.contains("quota"));
    }

    #[test]
    fn claude_reads_result_or_events() {
        let out = r#"{"type":"result","result":"Done.","is_error":false,"modelUsage":{"claude-sonnet":{}}}"#;
        let parsed = Parser::ClaudeJson.parse(out, "").unwrap();
        assert_eq!(parsed.content, "Done.");
        assert_eq!(parsed.model.as_deref(), Some("claude-sonnet"));
        let events = r#"[{"type":"system"},{"type":"assistant","message":{"content":[{"type":"text","text":"Hi"}]}}]"#;
        assert_eq!(Parser::ClaudeJson.parse(events, "").unwrap().content, "Hi");
        assert!(Parser::ClaudeJson.parse("plain words", "").is_err());
    }
}
