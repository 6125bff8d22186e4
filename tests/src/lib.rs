//! The stand-in model provider: a small HTTP server on loopback that speaks the
//! wire formats zen's providers use (OpenAI chat completions and responses,
//! Azure and DIAL deployments, OpenRouter, custom `/models`, and Gemini
//! `generateContent`), records every request, and fails on demand.
//!
//! Rust tests start it in-process with [`StandIn::start`]. Tests in other
//! languages run the `zen-standin` binary, read the base URL from its first line
//! of output, and drive it over HTTP:
//!
//! - `GET  /_standin/requests` — every request so far, as JSON.
//! - `POST /_standin/script`   — queue a [`Behaviour`] (JSON) for coming requests.
//! - `POST /_standin/models`   — set the ids listed at `…/models` (a JSON array).
//! - `POST /_standin/reset`    — forget requests and scripts.
//! - `GET  /_standin/stats`    — requests so far, in flight now, most in flight at once.
//!
//! Every provider's base URL can point at it: `{url}/v1` for OpenAI-style
//! providers, `{url}` for Gemini, Azure and DIAL.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// One request the stand-in received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, without the query.
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    /// Headers, names in lowercase.
    pub headers: BTreeMap<String, String>,
    /// The body as JSON (`null` when empty or not JSON).
    pub body: Value,
    /// Milliseconds since the stand-in started, when the request arrived.
    #[serde(default)]
    pub received_ms: u64,
}

impl RecordedRequest {
    /// A header's value, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// What the stand-in does with coming requests, instead of a normal reply.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Behaviour {
    /// Only requests whose path contains this are affected.
    pub path_contains: Option<String>,
    /// Answer with this HTTP status and an error body in the route's format.
    pub status: Option<u16>,
    /// With `status`: a `Retry-After` header, in seconds.
    pub retry_after: Option<u64>,
    /// With `status`: the error's code (e.g. `context_length_exceeded`).
    pub error_code: Option<String>,
    /// With `status`: the error's message.
    pub error_message: Option<String>,
    /// Wait this long before answering.
    pub delay_ms: Option<u64>,
    /// Reply with this text instead of the default.
    pub reply: Option<String>,
    /// Reply with empty content.
    pub empty: bool,
    /// Reply as if a safety or content filter blocked it.
    pub blocked: bool,
    /// Reply with this finish reason.
    pub finish_reason: Option<String>,
    /// Reply with exactly this JSON body (status 200).
    pub body: Option<Value>,
    /// How many requests this applies to (default 1).
    pub times: Option<u32>,
    /// Apply to every matching request until reset.
    pub always: bool,
}

#[derive(Debug)]
struct Inner {
    requests: Vec<RecordedRequest>,
    script: Vec<Behaviour>,
    models: Vec<String>,
    started: std::time::Instant,
    in_flight: usize,
    max_in_flight: usize,
}

impl Default for Inner {
    fn default() -> Self {
        Inner {
            requests: Vec::new(),
            script: Vec::new(),
            models: Vec::new(),
            started: std::time::Instant::now(),
            in_flight: 0,
            max_in_flight: 0,
        }
    }
}

/// Counts a model request in flight for as long as it lives.
struct InFlight(Shared);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut inner = self.0.lock();
        inner.in_flight = inner.in_flight.saturating_sub(1);
    }
}

#[derive(Debug, Clone, Default)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock can only come from a bug in a test;
        // the data is still usable.
        self.0.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    /// Takes the behaviour for a request to `path`, if one is scripted.
    fn next_behaviour(&self, path: &str) -> Option<Behaviour> {
        let mut inner = self.lock();
        let pos = inner.script.iter().position(|b| {
            b.path_contains
                .as_deref()
                .is_none_or(|fragment| path.contains(fragment))
        })?;
        let behaviour = inner.script[pos].clone();
        if !behaviour.always {
            let left = behaviour.times.unwrap_or(1).saturating_sub(1);
            if left == 0 {
                inner.script.remove(pos);
            } else {
                inner.script[pos].times = Some(left);
            }
        }
        Some(behaviour)
    }
}

/// A running stand-in server. It stops when dropped.
#[derive(Debug)]
pub struct StandIn {
    addr: SocketAddr,
    shared: Shared,
    stop: Option<oneshot::Sender<()>>,
}

impl StandIn {
    /// Starts a stand-in on `127.0.0.1` at a free port, on the current tokio runtime.
    pub async fn start() -> std::io::Result<StandIn> {
        Self::start_on(0).await
    }

    /// Starts a stand-in on `127.0.0.1:port` (0 picks a free port).
    pub async fn start_on(port: u16) -> std::io::Result<StandIn> {
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Shared::default();
        shared.lock().models = vec!["llama3.2:latest".into(), "qwen3-coder:30b".into()];
        let app = router(shared.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let serve = axum::serve(listener, app).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(err) = serve.await {
                eprintln!("zen-standin: server error: {err}");
            }
        });
        Ok(StandIn {
            addr,
            shared,
            stop: Some(stop),
        })
    }

    /// The base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request received so far (control requests excluded).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// The last request received.
    pub fn last_request(&self) -> Option<RecordedRequest> {
        self.shared.lock().requests.last().cloned()
    }

    /// Queues a behaviour for coming requests.
    pub fn script(&self, behaviour: Behaviour) {
        self.shared.lock().script.push(behaviour);
    }

    /// Sets the model ids listed at `…/models`.
    pub fn set_models(&self, ids: &[&str]) {
        self.shared.lock().models = ids.iter().map(|s| (*s).to_owned()).collect();
    }

    /// Forgets recorded requests and queued behaviours.
    pub fn reset(&self) {
        let mut inner = self.shared.lock();
        inner.requests.clear();
        inner.script.clear();
        inner.max_in_flight = inner.in_flight;
    }

    /// The most model requests that were in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.shared.lock().max_in_flight
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/_standin/requests", get(list_requests))
        .route("/_standin/script", post(add_script))
        .route("/_standin/models", post(set_models))
        .route("/_standin/reset", post(reset))
        .route("/_standin/stats", get(stats))
        .route(
            "/_standin/health",
            get(|| async { Json(json!({"ok": true})) }),
        )
        .fallback(provider_route)
        .with_state(shared)
}

async fn list_requests(State(shared): State<Shared>) -> Json<Vec<RecordedRequest>> {
    Json(shared.lock().requests.clone())
}

async fn add_script(State(shared): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Behaviour>(&body) {
        Ok(behaviour) => {
            shared.lock().script.push(behaviour);
            Json(json!({"ok": true})).into_response()
        }
        Err(err) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("not a behaviour: {err}")})),
        )
            .into_response(),
    }
}

async fn set_models(State(shared): State<Shared>, body: Bytes) -> Response {
    match serde_json::from_slice::<Vec<String>>(&body) {
        Ok(ids) => {
            shared.lock().models = ids;
            Json(json!({"ok": true})).into_response()
        }
        Err(err) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": format!("expected a JSON array of ids: {err}")})),
        )
            .into_response(),
    }
}

async fn reset(State(shared): State<Shared>) -> Json<Value> {
    let mut inner = shared.lock();
    inner.requests.clear();
    inner.script.clear();
    inner.max_in_flight = inner.in_flight;
    Json(json!({"ok": true}))
}

async fn stats(State(shared): State<Shared>) -> Json<Value> {
    let inner = shared.lock();
    Json(json!({
        "requests": inner.requests.len(),
        "in_flight": inner.in_flight,
        "max_in_flight": inner.max_in_flight,
    }))
}

/// Which wire format a path belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Chat,
    Responses,
    Gemini,
    Models,
}

fn wire_of(method: &Method, path: &str) -> Option<Wire> {
    if path.ends_with("/chat/completions") && method == Method::POST {
        Some(Wire::Chat)
    } else if path.ends_with("/responses") && method == Method::POST {
        Some(Wire::Responses)
    } else if path.ends_with(":generateContent") && method == Method::POST {
        Some(Wire::Gemini)
    } else if path.ends_with("/models") && method == Method::GET {
        Some(Wire::Models)
    } else {
        None
    }
}

async fn provider_route(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let body_json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let received_ms =
        u64::try_from(shared.lock().started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let recorded = RecordedRequest {
        received_ms,
        method: method.to_string(),
        path: path.clone(),
        query: uri.query().map(str::to_owned),
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body_json.clone(),
    };
    shared.lock().requests.push(recorded);

    let Some(wire) = wire_of(&method, &path) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"error": {"message": format!("the stand-in has no route {method} {path}"), "type": "not_found"}})),
        )
            .into_response();
    };
    let _in_flight = {
        let mut inner = shared.lock();
        inner.in_flight += 1;
        inner.max_in_flight = inner.max_in_flight.max(inner.in_flight);
        InFlight(shared.clone())
    };
    let behaviour = shared.next_behaviour(&path).unwrap_or_default();
    if let Some(ms) = behaviour.delay_ms {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(status) = behaviour.status {
        return error_reply(wire, status, &behaviour);
    }
    if let Some(body) = behaviour.body {
        return Json(body).into_response();
    }
    match wire {
        Wire::Models => {
            let ids = shared.lock().models.clone();
            let data: Vec<Value> = ids
                .iter()
                .map(|id| json!({"id": id, "object": "model", "owned_by": "stand-in"}))
                .collect();
            Json(json!({"object": "list", "data": data})).into_response()
        }
        Wire::Chat => Json(chat_reply(&body_json, &behaviour)).into_response(),
        Wire::Responses => Json(responses_reply(&body_json, &behaviour)).into_response(),
        Wire::Gemini => Json(gemini_reply(&path, &body_json, &behaviour)).into_response(),
    }
}

fn error_reply(wire: Wire, status: u16, behaviour: &Behaviour) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let message = behaviour
        .error_message
        .clone()
        .unwrap_or_else(|| format!("stand-in error {status}"));
    let body = match wire {
        Wire::Gemini => json!({"error": {
            "code": status,
            "message": message,
            "status": behaviour.error_code.clone().unwrap_or_else(|| "UNAVAILABLE".into()),
        }}),
        _ => json!({"error": {
            "message": message,
            "type": "stand_in_error",
            "code": behaviour.error_code,
        }}),
    };
    let mut response = (code, Json(body)).into_response();
    if let Some(secs) = behaviour.retry_after
        && let Ok(value) = secs.to_string().parse()
    {
        response.headers_mut().insert("retry-after", value);
    }
    response
}

/// All text in a request body, for counting and echoing.
fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(map) => {
            for (key, v) in map {
                if matches!(
                    key.as_str(),
                    "text"
                        | "content"
                        | "instructions"
                        | "parts"
                        | "messages"
                        | "input"
                        | "contents"
                        | "systemInstruction"
                ) {
                    texts(v, out);
                }
            }
        }
        _ => {}
    }
}

fn default_text(model: &str, body: &Value, behaviour: &Behaviour) -> String {
    if behaviour.empty || behaviour.blocked {
        return String::new();
    }
    if let Some(reply) = &behaviour.reply {
        return reply.clone();
    }
    let mut all = Vec::new();
    texts(body, &mut all);
    let last = all.last().cloned().unwrap_or_default();
    let opening: String = last.chars().take(60).collect();
    format!("Stand-in answer from {model}. The prompt began: {opening}")
}

fn count_tokens(body: &Value) -> u64 {
    let mut all = Vec::new();
    texts(body, &mut all);
    let chars: usize = all.iter().map(|t| t.chars().count()).sum();
    (chars as u64).div_ceil(4)
}

fn chat_reply(body: &Value, behaviour: &Behaviour) -> Value {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let text = default_text(model, body, behaviour);
    let finish = behaviour.finish_reason.clone().unwrap_or_else(|| {
        if behaviour.blocked {
            "content_filter"
        } else {
            "stop"
        }
        .to_owned()
    });
    let input = count_tokens(body);
    let output = (text.chars().count() as u64).div_ceil(4);
    json!({
        "id": "chatcmpl-standin",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}],
        "usage": {"prompt_tokens": input, "completion_tokens": output, "total_tokens": input + output},
    })
}

fn responses_reply(body: &Value, behaviour: &Behaviour) -> Value {
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("unknown");
    let text = default_text(model, body, behaviour);
    let input = count_tokens(body);
    let output = (text.chars().count() as u64).div_ceil(4);
    let (status, incomplete) = match behaviour.finish_reason.as_deref() {
        Some(reason) => ("incomplete", json!({"reason": reason})),
        None => ("completed", Value::Null),
    };
    json!({
        "id": "resp-standin",
        "object": "response",
        "model": model,
        "status": status,
        "incomplete_details": incomplete,
        "output": [
            {"type": "reasoning", "id": "rs-standin", "summary": []},
            {"type": "message", "id": "msg-standin", "role": "assistant",
             "content": [{"type": "output_text", "text": text, "annotations": []}]}
        ],
        "usage": {"input_tokens": input, "output_tokens": output, "total_tokens": input + output},
    })
}

fn gemini_reply(path: &str, body: &Value, behaviour: &Behaviour) -> Value {
    let model = path
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_suffix(":generateContent"))
        .unwrap_or("unknown");
    let input = count_tokens(body);
    if behaviour.blocked {
        return json!({
            "promptFeedback": {"blockReason": "SAFETY"},
            "usageMetadata": {"promptTokenCount": input, "totalTokenCount": input},
        });
    }
    let text = default_text(model, body, behaviour);
    let output = (text.chars().count() as u64).div_ceil(4);
    let parts = if text.is_empty() {
        json!([])
    } else {
        json!([{"text": text}])
    };
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": parts},
            "finishReason": behaviour.finish_reason.clone().unwrap_or_else(|| "STOP".into()),
            "index": 0,
        }],
        "usageMetadata": {"promptTokenCount": input, "candidatesTokenCount": output, "totalTokenCount": input + output},
        "modelVersion": model,
    })
}
