//! Fixtures for multi round-trip requests (SEP-2322, protocol 2026-07-28):
//! a tool or prompt answers with an `InputRequiredResult` naming what it
//! needs, and the client calls again with `inputResponses` and the echoed
//! `requestState`.
//!
//! `requestState` is sealed with a keyed hash whose key is drawn at random
//! when the process starts, so a state the client changed is refused.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::sync::OnceLock;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, GetPromptRequestParams,
    GetPromptResponse, GetPromptResult, InputRequiredResult, InputResponses,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use serde_json::{Map, Value, json};

use crate::fixtures::parse;

/// The input-required tools: name and description.
pub const TOOLS: &[(&str, &str)] = &[
    (
        "test_input_required_result_elicitation",
        "Asks the user's name, then greets them",
    ),
    (
        "test_input_required_result_sampling",
        "Asks the client's model a question",
    ),
    (
        "test_input_required_result_list_roots",
        "Asks for the client's roots",
    ),
    (
        "test_input_required_result_request_state",
        "Round-trips a sealed requestState",
    ),
    (
        "test_input_required_result_multiple_inputs",
        "Asks for three inputs at once",
    ),
    (
        "test_input_required_result_multi_round",
        "Asks in two rounds",
    ),
    (
        "test_input_required_result_tampered_state",
        "Refuses a requestState that was changed",
    ),
    (
        "test_input_required_result_capabilities",
        "Asks only through declared capabilities",
    ),
];

/// Whether the request's client declared `capability` (`sampling`,
/// `elicitation` or `roots`), per request or for the session.
pub fn declared(context: &RequestContext<RoleServer>, capability: &str) -> bool {
    context
        .client_capabilities()
        .and_then(|caps| serde_json::to_value(caps).ok())
        .is_some_and(|caps| caps.get(capability).is_some_and(|c| !c.is_null()))
}

fn key() -> &'static RandomState {
    static KEY: OnceLock<RandomState> = OnceLock::new();
    KEY.get_or_init(RandomState::new)
}

/// `payload` with its seal appended.
fn seal(payload: &str) -> String {
    format!("{payload}.{:016x}", key().hash_one(payload))
}

/// The payload of a sealed state, or an error when the seal does not match.
fn open(state: &str) -> Result<&str, ErrorData> {
    state
        .rsplit_once('.')
        .filter(|(payload, tag)| *tag == format!("{:016x}", key().hash_one(*payload)))
        .map(|(payload, _)| payload)
        .ok_or_else(|| {
            ErrorData::invalid_params(
                "requestState failed its integrity check; call again without it to start over",
                None,
            )
        })
}

fn elicit(message: &str, field: &str, kind: &str) -> Value {
    json!({"method": "elicitation/create", "params": {"mode": "form", "message": message,
        "requestedSchema": {"type": "object", "properties": {field: {"type": kind}}, "required": [field]}}})
}

fn sample(text: &str, max_tokens: u32) -> Value {
    json!({"method": "sampling/createMessage", "params": {
        "messages": [{"role": "user", "content": {"type": "text", "text": text}}],
        "maxTokens": max_tokens}})
}

fn roots() -> Value {
    json!({"method": "roots/list", "params": {}})
}

fn input_required(
    requests: Value,
    state: Option<String>,
) -> Result<InputRequiredResult, ErrorData> {
    let mut body = json!({"resultType": "input_required", "inputRequests": requests});
    if let Some(state) = state {
        body["requestState"] = Value::String(state);
    }
    parse!(body)
}

fn done(text: String) -> Result<CallToolResponse, ErrorData> {
    parse!(@CallToolResult, json!({"resultType": "complete", "content": [{"type": "text", "text": text}]})).map(Into::into)
}

/// The content of an accepted elicitation answer under `key`.
fn accepted<'a>(
    responses: Option<&'a InputResponses>,
    key: &str,
) -> Option<&'a Map<String, Value>> {
    let answer = responses?.get(key)?.as_object()?;
    if answer.get("action").and_then(Value::as_str) != Some("accept") {
        return None;
    }
    answer.get("content")?.as_object()
}

/// A field of an accepted elicitation answer, as text.
fn field(responses: Option<&InputResponses>, key: &str, name: &str) -> Option<String> {
    let value = accepted(responses, key)?.get(name)?;
    Some(
        value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned),
    )
}

/// Whether an answer (any JSON object) came back under `key`.
fn answered(responses: Option<&InputResponses>, key: &str) -> bool {
    responses
        .and_then(|r| r.get(key))
        .is_some_and(Value::is_object)
}

/// Runs the input-required tool the request names.
pub async fn call(
    request: &CallToolRequestParams,
    context: &RequestContext<RoleServer>,
) -> Result<CallToolResponse, ErrorData> {
    let responses = request.input_responses.as_ref();
    let state = request.request_state.as_deref().map(open).transpose()?;
    let ask = |requests: Value, state: Option<&str>| {
        input_required(requests, state.map(seal)).map(CallToolResponse::from)
    };
    match request.name.as_ref() {
        "test_input_required_result_elicitation" | "test_streaming_elicitation" => {
            match field(responses, "user_name", "name") {
                Some(name) => done(format!("Hello, {name}!")),
                None => ask(
                    json!({"user_name": elicit("What is your name?", "name", "string")}),
                    None,
                ),
            }
        }
        "test_input_required_result_sampling" => {
            if answered(responses, "capital_question") {
                let said = responses
                    .and_then(|r| r.get("capital_question"))
                    .and_then(|a| a.pointer("/content/text"))
                    .and_then(Value::as_str)
                    .unwrap_or("(no text)");
                done(format!("The model answered: {said}"))
            } else {
                ask(
                    json!({"capital_question": sample("What is the capital of France?", 100)}),
                    None,
                )
            }
        }
        "test_input_required_result_list_roots" => {
            let listed = responses
                .and_then(|r| r.get("client_roots"))
                .and_then(|a| a.get("roots"))
                .and_then(Value::as_array);
            match listed {
                Some(roots) => {
                    let uris: Vec<&str> = roots
                        .iter()
                        .filter_map(|r| r.get("uri").and_then(Value::as_str))
                        .collect();
                    done(format!("Client roots: {}", uris.join(", ")))
                }
                None => ask(json!({"client_roots": roots()}), None),
            }
        }
        "test_input_required_result_request_state"
        | "test_input_required_result_tampered_state" => {
            let confirmed = accepted(responses, "confirm").is_some();
            match state {
                Some(payload) if confirmed => done(format!("state-ok: {payload}")),
                _ => ask(
                    json!({"confirm": elicit("Please confirm", "ok", "boolean")}),
                    Some("confirm"),
                ),
            }
        }
        "test_input_required_result_multiple_inputs" => {
            let all = ["user_name", "greeting", "client_roots"]
                .iter()
                .all(|key| answered(responses, key));
            if all && state == Some("all") {
                done("Every input answered.".to_owned())
            } else {
                ask(
                    json!({"user_name": elicit("What is your name?", "name", "string"),
                           "greeting": sample("Generate a greeting", 50),
                           "client_roots": roots()}),
                    Some("all"),
                )
            }
        }
        "test_input_required_result_multi_round" => {
            let step1 = || json!({"step1": elicit("Step 1: What is your name?", "name", "string")});
            match state {
                Some("round-1") => match field(responses, "step1", "name") {
                    Some(name) => ask(
                        json!({"step2": elicit("Step 2: What is your favorite color?", "color", "string")}),
                        Some(&format!("round-2:{name}")),
                    ),
                    None => ask(step1(), Some("round-1")),
                },
                Some(round2) if round2.starts_with("round-2:") => {
                    match field(responses, "step2", "color") {
                        Some(color) => {
                            done(format!("{} likes {color}.", &round2["round-2:".len()..]))
                        }
                        None => ask(
                            json!({"step2": elicit("Step 2: What is your favorite color?", "color", "string")}),
                            Some(round2),
                        ),
                    }
                }
                _ => ask(step1(), Some("round-1")),
            }
        }
        "test_input_required_result_capabilities" => {
            let mut requests = Map::new();
            if declared(context, "sampling") {
                requests.insert("question".into(), sample("Say hello", 20));
            }
            if declared(context, "elicitation") {
                requests.insert("confirm".into(), elicit("Please confirm", "ok", "boolean"));
            }
            if declared(context, "roots") {
                requests.insert("client_roots".into(), roots());
            }
            if requests.is_empty() {
                done("The client declared no capability to ask through.".to_owned())
            } else if requests.keys().any(|key| answered(responses, key)) {
                done("Declared-capability input answered.".to_owned())
            } else {
                ask(Value::Object(requests), None)
            }
        }
        other => Err(ErrorData::invalid_params(
            format!("there is no fixture tool `{other}`"),
            None,
        )),
    }
}

/// The `test_input_required_result_prompt` prompt.
pub fn prompt(request: &GetPromptRequestParams) -> Result<GetPromptResponse, ErrorData> {
    match field(request.input_responses.as_ref(), "user_context", "context") {
        Some(context) => parse!(@GetPromptResult, json!({"resultType": "complete", "messages": [{"role": "user",
            "content": {"type": "text", "text": format!("Work with this context: {context}")}}]}))
        .map(Into::into),
        None => input_required(
            json!({"user_context": elicit("What context should the prompt use?", "context", "string")}),
            None,
        )
        .map(Into::into),
    }
}
