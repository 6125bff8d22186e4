//! What every HTTP provider shares: the pooled client, sending JSON, and
//! turning HTTP failures into [`Error`]s a caller can act on.

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use super::{ProviderKind, Usage};
use crate::config::ProviderConfig;
use crate::error::{Error, Result};

/// Largest provider error body quoted in a message.
const MAX_QUOTED: usize = 500;

/// A pooled, keep-alive HTTP client for one provider, keeping up to
/// `idle_connections` per host open between calls.
pub(crate) fn client(
    config: &ProviderConfig,
    headers: HeaderMap,
    idle_connections: usize,
) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .user_agent(concat!("zen/", env!("CARGO_PKG_VERSION")))
        .default_headers(headers)
        .connect_timeout(config.connect_timeout)
        .read_timeout(config.read_timeout)
        .tcp_nodelay(true)
        .pool_idle_timeout(Duration::from_secs(90))
        // As many warm connections as calls may be in flight: a burst up to
        // the limit, repeated, opens no new connection (for HTTPS, no new
        // handshake), and an idle one still closes after 90 s.
        .pool_max_idle_per_host(idle_connections)
        .build()
        .map_err(|err| Error::Provider {
            provider: config.kind,
            status: None,
            message: format!("can't set up the HTTP client: {err}"),
            retryable: false,
        })
}

/// A header map from name/value pairs; a bad value names its setting.
pub(crate) fn headers(pairs: &[(&str, &str, &str)]) -> Result<HeaderMap> {
    let mut map = HeaderMap::new();
    for &(name, value, setting) in pairs {
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| Error::config(setting, format!("`{name}` is not a valid header name")))?;
        let mut value = HeaderValue::from_str(value).map_err(|_| {
            Error::config(
                setting,
                "the value holds characters that can't go in an HTTP header",
            )
        })?;
        if name.to_ascii_lowercase().contains("key") || name.eq_ignore_ascii_case("authorization") {
            value.set_sensitive(true);
        }
        map.insert(header, value);
    }
    Ok(map)
}

/// Sends a request and returns the JSON body of a successful reply.
pub(crate) async fn send_json(
    kind: ProviderKind,
    read_timeout: Duration,
    request: reqwest::RequestBuilder,
) -> Result<Value> {
    let response = request
        .send()
        .await
        .map_err(|err| transport_error(kind, read_timeout, &err))?;
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = response
        .text()
        .await
        .map_err(|err| transport_error(kind, read_timeout, &err))?;
    if !status.is_success() {
        return Err(status_error(kind, status.as_u16(), retry_after, &body));
    }
    serde_json::from_str(&body).map_err(|err| Error::Provider {
        provider: kind,
        status: Some(status.as_u16()),
        message: format!("the reply is not valid JSON ({err}): {}", quote(&body)),
        retryable: true,
    })
}

/// Sends a GET and returns the JSON body (used for model listings).
pub(crate) async fn get_json(
    kind: ProviderKind,
    read_timeout: Duration,
    request: reqwest::RequestBuilder,
) -> Result<Value> {
    send_json(kind, read_timeout, request).await
}

fn transport_error(kind: ProviderKind, read_timeout: Duration, err: &reqwest::Error) -> Error {
    if err.is_timeout() {
        return Error::Timeout {
            provider: kind,
            after: read_timeout,
        };
    }
    let what = if err.is_connect() {
        "can't connect"
    } else {
        "the connection failed"
    };
    let url = err
        .url()
        .map(|u| format!(" to {}", without_query(u)))
        .unwrap_or_default();
    Error::Provider {
        provider: kind,
        status: None,
        message: format!("{what}{url}: {}", source_chain(err)),
        retryable: true,
    }
}

fn without_query(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

fn source_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

/// `Retry-After` (seconds) or `retry-after-ms`, when present.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(ms) = text("retry-after-ms").and_then(|v| v.trim().parse::<f64>().ok()) {
        return (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0));
    }
    let secs = text("retry-after")?.trim().parse::<f64>().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The provider's own error message from an error body, when it has one.
fn error_message(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let from_json = parsed.as_ref().and_then(|v| {
        let error = v.get("error").unwrap_or(v);
        match error {
            Value::String(s) => Some(s.clone()),
            other => other
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    });
    from_json.unwrap_or_else(|| quote(body))
}

fn error_code(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| {
            let error = v.get("error")?;
            let code = error.get("code").or_else(|| error.get("type"))?;
            Some(match code {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
        })
        .unwrap_or_default()
}

fn status_error(
    kind: ProviderKind,
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Error {
    let message = error_message(body);
    let code = error_code(body).to_ascii_lowercase();
    if status == 429 {
        return Error::RateLimited {
            provider: kind,
            retry_after,
            message,
        };
    }
    let context_overflow = code.contains("context_length")
        || message.to_ascii_lowercase().contains("context length")
        || message.to_ascii_lowercase().contains("maximum context");
    let (retryable, hint) = match status {
        _ if context_overflow => (
            false,
            " — the prompt is larger than the model's context window; send less, or use a model with a larger one",
        ),
        401 => (false, " — check the API key"),
        403 => (
            false,
            " — the key is not allowed to use this model or endpoint",
        ),
        404 => (
            false,
            " — the model or endpoint does not exist at this address",
        ),
        408 | 500 | 502 | 503 | 504 => (true, ""),
        _ => (false, ""),
    };
    Error::Provider {
        provider: kind,
        status: Some(status),
        message: format!("{message}{hint}"),
        retryable,
    }
}

/// Token counts from a reply's usage block: `input` names the prompt count,
/// `outputs` the counts that add up to the reply (thinking included), `total`
/// the provider's own total (computed when absent or zero).
pub(crate) fn usage(block: Option<&Value>, input: &str, outputs: &[&str], total: &str) -> Usage {
    let count = |name: &str| {
        block
            .and_then(|b| b.get(name))
            .and_then(Value::as_u64)
            .unwrap_or(0)
    };
    let input_tokens = count(input);
    let output_tokens = outputs.iter().map(|name| count(name)).sum();
    let total_tokens = match count(total) {
        0 => input_tokens + output_tokens,
        reported => reported,
    };
    Usage {
        input_tokens,
        output_tokens,
        total_tokens,
    }
}

/// A body trimmed to a readable length.
pub(crate) fn quote(body: &str) -> String {
    let body = body.trim();
    if body.is_empty() {
        return "(empty body)".to_owned();
    }
    if body.chars().count() <= MAX_QUOTED {
        return body.to_owned();
    }
    let cut: String = body.chars().take(MAX_QUOTED).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_kinds() {
        let e = status_error(
            ProviderKind::OpenAi,
            429,
            Some(Duration::from_secs(2)),
            "{}",
        );
        assert!(matches!(e, Error::RateLimited { retry_after: Some(d), .. } if d.as_secs() == 2));
        let e = status_error(
            ProviderKind::OpenAi,
            503,
            None,
            r#"{"error":{"message":"down"}}"#,
        );
        assert!(e.is_retryable());
        assert!(e.to_string().contains("down"));
        let e = status_error(
            ProviderKind::OpenAi,
            400,
            None,
            r#"{"error":{"message":"too long","code":"context_length_exceeded"}}"#,
        );
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("context window"));
        let e = status_error(ProviderKind::Gemini, 401, None, "nope");
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("API key"), "{e}");
    }
}
