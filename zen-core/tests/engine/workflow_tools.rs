//! The workflow tools end to end against the stand-in provider: step
//! statuses, state kept per conversation, what the expert model receives,
//! the skip rules, argument errors, and the model-free tracer and docgen.

use std::path::Path;

use serde_json::{Value, json};
use zen_core::{Config, Engine, Error};
use zen_testkit::{Behaviour, StandIn};

/// The stand-in and an engine on it with every workflow tool enabled.
struct Bench {
    server: StandIn,
    engine: Engine,
}

async fn bench() -> Bench {
    let server = StandIn::start().await.unwrap();
    let engine = engine_at(&server.url());
    Bench { server, engine }
}

fn engine_at(url: &str) -> Engine {
    let openai = format!("{url}/v1");
    let settings = [
        ("OPENAI_API_KEY", "sk"),
        ("OPENAI_BASE_URL", openai.as_str()),
        ("GEMINI_API_KEY", "g"),
        ("GEMINI_BASE_URL", url),
        ("DISABLED_TOOLS", "apilookup"),
    ];
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

/// One step's arguments: the shared fields, then `extra` (which may override
/// them). `next_step_required` is true before the last step.
fn args(number: u32, total: u32, findings: &str, extra: Value) -> Value {
    let mut args = json!({
        "step": format!("Step {number} of the work"),
        "step_number": number,
        "total_steps": total,
        "next_step_required": number < total,
        "findings": findings,
    });
    for (k, v) in extra.as_object().unwrap() {
        args[k] = v.clone();
    }
    args
}

impl Bench {
    /// Calls `tool` with one step; the answer must not be an error.
    async fn step(&self, tool: &str, n: u32, total: u32, findings: &str, extra: Value) -> Value {
        let args = args(n, total, findings, extra);
        self.engine
            .call_tool(tool, args)
            .await
            .unwrap()
            .into_value()
    }

    /// The text the model received in the last request, whatever the wire format.
    fn last_prompt(&self) -> String {
        let body = self.server.last_request().unwrap().body;
        if let Some(messages) = body.get("messages") {
            let user = messages.as_array().unwrap().iter();
            return user
                .filter(|m| m["role"] == "user")
                .map(|m| m["content"].as_str().unwrap().to_owned())
                .collect();
        }
        if let Some(input) = body.get("input") {
            return input[0]["content"][0]["text"].as_str().unwrap().to_owned();
        }
        let text = &body["contents"][0]["parts"][0]["text"];
        text.as_str().unwrap().to_owned()
    }

    fn calls(&self) -> usize {
        self.server.requests().len()
    }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

fn id_of(answer: &Value) -> String {
    answer["continuation_id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn debug_pauses_then_hands_everything_to_the_expert() {
    let b = bench().await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "cache.rs", "fn evict() {}\n");

    let extra = json!({"relevant_files": [file], "confidence": "low"});
    let first = b.step("debug", 1, 2, "entries vanish early", extra).await;
    assert_eq!(first["status"], "pause_for_investigation", "{first}");
    assert_eq!(first["step_number"], 1);
    assert_eq!(first["next_step_required"], true);
    assert!(!first["required_actions"].as_array().unwrap().is_empty());
    assert!(
        first["next_steps"]
            .as_str()
            .unwrap()
            .contains("step_number 2")
    );
    assert_eq!(first["investigation_status"]["relevant_files"], 1);
    assert_eq!(first["investigation_status"]["current_confidence"], "low");
    assert_eq!(b.calls(), 0, "no model call on an intermediate step");

    let id = id_of(&first);
    let extra = json!({
        "continuation_id": id,
        "confidence": "high",
        "hypothesis": "monotonic vs wall clock",
        "issues_found": [{"severity": "high", "description": "wrong clock"}],
    });
    let last = b
        .step("debug", 2, 2, "evict uses the wrong clock", extra)
        .await;
    assert_eq!(last["status"], "investigation_complete", "{last}");
    assert_eq!(b.calls(), 1, "one expert call");
    assert_eq!(
        last["continuation_id"],
        id.as_str(),
        "the same conversation"
    );
    assert!(
        last["expert_analysis"].is_string(),
        "a text reply stays text"
    );
    let summary = &last["complete_investigation"];
    assert_eq!(summary["steps_taken"], 2);
    assert_eq!(summary["initial_request"], "Step 1 of the work");
    assert_eq!(summary["issues_found"][0]["severity"], "high");
    assert_eq!(
        summary["hypotheses"][0]["hypothesis"],
        "monotonic vs wall clock"
    );
    assert_eq!(
        last["investigation_status"]["issues_by_severity"]["high"],
        1
    );
    assert_eq!(last["metadata"]["tool_name"], "debug");
    assert!(last["metadata"]["model_used"].is_string());
    assert!(last["metadata"]["provider_used"].is_string());
    assert_eq!(last["continuation_offer"]["continuation_id"], id.as_str());

    // The system prompt is debug's own.
    let body = b.server.last_request().unwrap().body;
    assert!(body.to_string().contains("expert debugger"), "{body}");
}

#[tokio::test]
async fn each_expert_tool_pauses_then_completes() {
    let b = bench().await;
    let cases = [
        ("thinkdeep", "pause_for_thinkdeep", "thinkdeep_complete"),
        (
            "codereview",
            "pause_for_code_review",
            "code_review_complete",
        ),
        ("precommit", "pause_for_validation", "validation_complete"),
        ("analyze", "pause_for_analysis", "analysis_complete"),
        (
            "refactor",
            "pause_for_refactoring_analysis",
            "refactoring_analysis_complete",
        ),
        (
            "testgen",
            "pause_for_test_analysis",
            "test_generation_complete",
        ),
        (
            "secaudit",
            "pause_for_security_audit",
            "security_audit_complete",
        ),
    ];
    let status_keys = [
        "thinkdeep_status",
        "code_review_status",
        "validation_status",
        "analysis_status",
        "refactoring_status",
        "test_generation_status",
        "security_audit_status",
    ];
    for (n, ((tool, pause, complete), key)) in cases.into_iter().zip(status_keys).enumerate() {
        let first = b.step(tool, 1, 2, "first look", json!({})).await;
        assert_eq!(first["status"], pause, "{tool}: {first}");
        assert!(first[key].is_object(), "{tool}: {first}");
        assert_eq!(b.calls(), n, "{tool}: no call while pausing");
        let id = json!({"continuation_id": id_of(&first)});
        let last = b.step(tool, 2, 2, "done", id).await;
        assert_eq!(last["status"], complete, "{tool}: {last}");
        assert_eq!(b.calls(), n + 1, "{tool}: one expert call");
        assert!(!last["expert_analysis"].is_null(), "{tool}: {last}");
    }
}

#[tokio::test]
async fn two_interleaved_investigations_keep_their_own_steps() {
    let b = bench().await;
    let a1 = b.step("debug", 1, 2, "ALPHA-CLUE", json!({})).await;
    let b1 = b.step("debug", 1, 3, "BETA-CLUE", json!({})).await;
    let (a, beta) = (
        json!({"continuation_id": id_of(&a1)}),
        json!({"continuation_id": id_of(&b1)}),
    );
    let b2 = b.step("debug", 2, 3, "BETA-MORE", beta.clone()).await;
    assert_eq!(b2["investigation_status"]["steps_recorded"], 2);

    let a2 = b.step("debug", 2, 2, "ALPHA-END", a).await;
    assert_eq!(a2["status"], "investigation_complete");
    assert_eq!(a2["complete_investigation"]["steps_taken"], 2);
    let prompt = b.last_prompt();
    assert!(
        prompt.contains("ALPHA-CLUE") && prompt.contains("ALPHA-END"),
        "{prompt}"
    );
    assert!(
        !prompt.contains("BETA"),
        "the other investigation leaked in: {prompt}"
    );
    assert!(!a2.to_string().contains("BETA"));

    let b3 = b.step("debug", 3, 3, "BETA-END", beta).await;
    assert_eq!(b3["complete_investigation"]["steps_taken"], 3);
    let prompt = b.last_prompt();
    assert!(
        prompt.contains("BETA-CLUE") && !prompt.contains("ALPHA"),
        "{prompt}"
    );
}

#[tokio::test]
async fn the_expert_sees_each_file_and_each_step_once() {
    let b = bench().await;
    let dir = tempfile::tempdir().unwrap();
    let fa = write(dir.path(), "a.py", "def a():\n    return 'FILE-A-MARKER'\n");
    let fb = write(dir.path(), "b.py", "def b():\n    return 'FILE-B-MARKER'\n");

    let extra = json!({"relevant_files": [fa], "review_type": "security"});
    let first = b.step("codereview", 1, 3, "FIRST-FINDING", extra).await;
    let id = id_of(&first);
    let extra = json!({"continuation_id": id, "relevant_files": [fa, fb]});
    b.step("codereview", 2, 3, "SECOND-FINDING", extra).await;
    // The folder expands to the same files.
    let issue = json!({"severity": "critical", "description": "ISSUE-MARKER", "line": 2});
    let extra = json!({
        "continuation_id": id,
        "relevant_files": [dir.path().to_str().unwrap()],
        "issues_found": [issue],
    });
    let last = b.step("codereview", 3, 3, "THIRD-FINDING", extra).await;
    assert_eq!(last["status"], "code_review_complete", "{last}");
    assert_eq!(b.calls(), 1);

    let prompt = b.last_prompt();
    let markers = ["FILE-A-MARKER", "FILE-B-MARKER", "ISSUE-MARKER"];
    let findings = ["FIRST-FINDING", "SECOND-FINDING", "THIRD-FINDING"];
    for marker in markers.into_iter().chain(findings) {
        assert_eq!(prompt.matches(marker).count(), 1, "{marker} in:\n{prompt}");
    }
    assert!(prompt.contains("review_type: security"), "{prompt}");
    // Extra keys of an issue are kept.
    assert_eq!(last["complete_code_review"]["issues_found"][0]["line"], 2);
}

#[tokio::test]
async fn skip_rules_finish_without_a_model_call() {
    let b = bench().await;
    let certain = json!({"confidence": "certain"});
    let no_expert = json!({"use_assistant_model": false});
    let cases = [
        (
            "debug",
            &certain,
            "certain_confidence_proceed_with_fix",
            "skipped_due_to_certain_confidence",
        ),
        (
            "thinkdeep",
            &certain,
            "deep_thinking_complete_ready_for_implementation",
            "skipped_due_to_certain_thinking_confidence",
        ),
        (
            "refactor",
            &json!({"confidence": "complete"}),
            "refactoring_analysis_complete_ready_for_implementation",
            "skipped_due_to_complete_refactoring_confidence",
        ),
        (
            "codereview",
            &json!({"review_validation_type": "internal"}),
            "code_review_complete_ready_for_implementation",
            "skipped_due_to_internal_analysis_type",
        ),
        (
            "precommit",
            &json!({"precommit_type": "internal"}),
            "validation_complete_ready_for_commit",
            "skipped_due_to_internal_analysis_type",
        ),
        (
            "analyze",
            &no_expert,
            "local_work_complete",
            "skipped_by_request",
        ),
        (
            "thinkdeep",
            &no_expert,
            "local_work_complete",
            "skipped_by_request",
        ),
        (
            "secaudit",
            &no_expert,
            "local_work_complete",
            "skipped_by_request",
        ),
        (
            "testgen",
            &certain,
            "test_generation_complete_ready_for_implementation",
            "skipped_due_to_certain_test_confidence",
        ),
    ];
    for (tool, extra, status, skipped_as) in cases {
        let answer = b.step(tool, 1, 1, "all clear", extra.clone()).await;
        assert_eq!(answer["status"], status, "{tool}: {answer}");
        assert_eq!(answer["expert_analysis"]["status"], skipped_as, "{tool}");
        let reason = answer["expert_analysis"]["reason"].as_str().unwrap();
        assert!(reason.contains("no expert"), "{reason}");
        assert_eq!(answer["skip_expert_analysis"], true);
        assert!(answer["metadata"]["model_used"].is_null());
        assert!(answer["complete_investigation"].is_object() || tool != "debug");
        assert!(answer["continuation_offer"].is_object(), "{tool}: {answer}");
    }
    // An internal review chosen in step 1 still holds on the last step.
    let internal = json!({"review_validation_type": "internal"});
    let first = b.step("codereview", 1, 2, "look", internal).await;
    let last = b
        .step(
            "codereview",
            2,
            2,
            "done",
            json!({"continuation_id": id_of(&first)}),
        )
        .await;
    assert_eq!(
        last["status"],
        "code_review_complete_ready_for_implementation"
    );
    assert_eq!(b.calls(), 0, "{:?}", b.server.requests());
}

#[tokio::test]
async fn a_json_reply_is_parsed() {
    let b = bench().await;
    let reply = r#"```json
{"status": "analysis_complete", "summary": "off by one", "hypotheses": []}
```"#;
    b.server.script(Behaviour {
        reply: Some(reply.into()),
        ..Behaviour::default()
    });
    let answer = b.step("debug", 1, 1, "loop ends early", json!({})).await;
    assert_eq!(answer["status"], "investigation_complete");
    assert_eq!(answer["expert_analysis"]["summary"], "off by one");

    // An expert that needs files stops the workflow with that status.
    let reply = r#"{"status": "files_required_to_continue", "files_needed": ["/src/x.rs"]}"#;
    b.server.script(Behaviour {
        reply: Some(reply.into()),
        ..Behaviour::default()
    });
    let answer = b.step("secaudit", 1, 1, "auth looks odd", json!({})).await;
    assert_eq!(answer["status"], "files_required_to_continue", "{answer}");
    assert_eq!(answer["expert_analysis"]["files_needed"][0], "/src/x.rs");
}

#[tokio::test]
async fn a_failed_last_step_can_be_sent_again() {
    let b = bench().await;
    let first = b.step("analyze", 1, 2, "layers", json!({})).await;
    let failure = Behaviour {
        status: Some(400),
        ..Behaviour::default()
    };
    b.server.script(failure);
    let last = args(2, 2, "coupling", json!({"continuation_id": id_of(&first)}));
    b.engine
        .call_tool("analyze", last.clone())
        .await
        .unwrap_err();
    let answer = b
        .engine
        .call_tool("analyze", last)
        .await
        .unwrap()
        .into_value();
    assert_eq!(answer["status"], "analysis_complete", "{answer}");
    assert_eq!(
        answer["complete_analysis"]["steps_taken"], 2,
        "the retry replaced step 2"
    );
    let prompt = b.last_prompt();
    assert_eq!(
        prompt.matches("\"findings\":\"coupling\"").count(),
        1,
        "{prompt}"
    );
}

#[tokio::test]
async fn bad_arguments_name_the_field() {
    let b = bench().await;
    let cases = [
        ("debug", json!({"step_number": "2"}), "step_number"),
        ("debug", json!({"step_number": 0}), "step_number"),
        ("debug", json!({"confidence": "sure"}), "confidence"),
        ("codereview", json!({"review_type": "deep"}), "review_type"),
        ("refactor", json!({"confidence": "certain"}), "confidence"),
        (
            "debug",
            json!({"issues_found": [{"severity": "urgent", "description": "x"}]}),
            "issues_found",
        ),
        ("debug", json!({"colour": "red"}), "colour"),
        ("analyze", json!({"hypothesis": "x"}), "hypothesis"),
        (
            "debug",
            json!({"relevant_files": ["relative/path.rs"]}),
            "relevant_files",
        ),
        (
            "debug",
            json!({"continuation_id": "not-an-id"}),
            "continuation_id",
        ),
        ("debug", json!({"model": "no-such-model"}), ""),
        ("tracer", json!({"target_description": "x"}), "trace_mode"),
        (
            "tracer",
            json!({"trace_mode": "precision"}),
            "target_description",
        ),
        (
            "docgen",
            json!({"num_files_documented": -1}),
            "num_files_documented",
        ),
    ];
    for (tool, extra, field) in cases {
        let err = b
            .engine
            .call_tool(tool, args(1, 2, "f", extra.clone()))
            .await
            .unwrap_err();
        match &err {
            Error::InvalidArguments { field: named, .. } => {
                assert!(named.starts_with(field), "{tool} {extra}: {named} ({err})");
            }
            Error::ModelNotAvailable { .. } if field.is_empty() => {}
            other => panic!("{tool} {extra}: {other:?}"),
        }
    }
    let missing =
        json!({"step": "s", "step_number": 1, "total_steps": 1, "next_step_required": false});
    let err = b.engine.call_tool("debug", missing).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidArguments { ref field, .. } if field == "findings"),
        "{err:?}"
    );
    assert_eq!(b.calls(), 0);
}

#[tokio::test]
async fn tuning_fields_are_listed_and_accepted() {
    let b = bench().await;
    let schema = b
        .engine
        .tools()
        .into_iter()
        .find(|t| t.name == "codereview")
        .unwrap()
        .input_schema;
    for field in [
        "temperature",
        "thinking_mode",
        "standards",
        "severity_filter",
        "model",
    ] {
        assert!(
            schema["properties"][field].is_object(),
            "codereview lists {field}"
        );
    }
    let extra = json!({
        "temperature": 0.2,
        "thinking_mode": "low",
        "standards": "PEP 8",
        "severity_filter": "high",
        "images": [],
    });
    let answer = b.step("codereview", 1, 1, "tidy", extra).await;
    assert_eq!(answer["status"], "code_review_complete", "{answer}");
    assert_eq!(b.calls(), 1);
    // A path that can't be used is reported as in chat: its path and why.
    let refused = b
        .step(
            "thinkdeep",
            1,
            2,
            "look",
            json!({"relevant_files": ["/proc/self/environ"]}),
        )
        .await;
    assert_eq!(
        refused["refused_files"][0]["path"], "/proc/self/environ",
        "{refused}"
    );
    assert!(
        refused["refused_files"][0]["reason"].is_string(),
        "{refused}"
    );
    // `confidence` is not listed for codereview and precommit, but clients
    // that learned PAL's older schema send it: accepted, checked, not needed.
    for tool in ["codereview", "precommit"] {
        let schema = b
            .engine
            .tools()
            .into_iter()
            .find(|t| t.name == tool)
            .unwrap();
        assert!(
            schema.input_schema["properties"]
                .get("confidence")
                .is_none()
        );
        let extra = json!({"confidence": "high", "use_assistant_model": false});
        b.step(tool, 1, 2, "look", extra).await;
        let bad = args(1, 2, "look", json!({"confidence": "sure"}));
        let err = b.engine.call_tool(tool, bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidArguments { ref field, .. } if field == "confidence"));
    }
    let extra = json!({"document_flow": false, "num_files_documented": 0});
    let answer = b.step("docgen", 1, 2, "one file", extra).await;
    assert_eq!(answer["status"], "pause_for_documentation_analysis");
    let err = b
        .engine
        .call_tool("codereview", args(1, 1, "f", json!({"temperature": "hot"})));
    let err = err.await.unwrap_err();
    assert!(matches!(err, Error::InvalidArguments { ref field, .. } if field == "temperature"));
}

#[tokio::test]
async fn tracer_and_docgen_never_call_a_model() {
    let b = bench().await;
    let target = "how save() flows";
    let ask = json!({"trace_mode": "ask", "target_description": target});
    let ask = b.step("tracer", 1, 3, "target found", ask).await;
    assert_eq!(ask["status"], "mode_selection_required", "{ask}");
    let id = id_of(&ask);
    let chosen =
        json!({"continuation_id": id, "trace_mode": "precision", "target_description": target});
    let first = b.step("tracer", 1, 2, "save() entry", chosen).await;
    assert_eq!(first["status"], "pause_for_tracing", "{first}");
    assert!(first["tracer_status"].is_object());
    let extra = json!({"continuation_id": id, "confidence": "high"});
    let last = b.step("tracer", 2, 2, "save() writes twice", extra).await;
    assert_eq!(last["status"], "tracing_complete", "{last}");
    assert_eq!(last["output"]["format"], "precision_trace_analysis");
    assert_eq!(
        last["complete_tracing"]["steps_taken"], 2,
        "the new step 1 started afresh"
    );
    assert_eq!(
        last["complete_tracing"]["settings"]["trace_mode"],
        "precision"
    );

    let d1 = b
        .step("docgen", 1, 3, "two files lack docs", json!({}))
        .await;
    assert_eq!(d1["status"], "pause_for_documentation_analysis", "{d1}");
    let counters = |done: u32| {
        json!({
            "continuation_id": id_of(&d1),
            "next_step_required": false,
            "num_files_documented": done,
            "total_files_to_document": 2,
        })
    };
    let d2 = b.step("docgen", 2, 3, "a.rs documented", counters(1)).await;
    assert_eq!(d2["status"], "documentation_analysis_required", "{d2}");
    let d3 = b.step("docgen", 3, 3, "b.rs documented", counters(2)).await;
    assert_eq!(d3["status"], "documentation_analysis_complete", "{d3}");
    assert_eq!(d3["complete_documentation_analysis"]["steps_taken"], 3);
    assert_eq!(b.calls(), 0, "{:?}", b.server.requests());

    let tools = b.engine.tools();
    for name in ["tracer", "docgen"] {
        let info = tools.iter().find(|t| t.name == name).unwrap();
        assert!(
            info.input_schema["properties"].get("model").is_none(),
            "{name}"
        );
        assert!(!info.annotations.open_world_hint, "{name}");
    }
}

#[test]
fn schemas_stay_small() {
    let engine = engine_at("http://127.0.0.1:9");
    let tools = engine.tools();
    let names =
        "thinkdeep debug codereview precommit analyze refactor testgen secaudit tracer docgen";
    let mut total = 0;
    for name in names.split(' ') {
        let info = tools.iter().find(|t| t.name == name).unwrap();
        let size = serde_json::to_string(info).unwrap().len();
        // The `model` description lists the configured models; it is the same
        // for every model tool and not the workflow's to shorten.
        let mut own = info.clone();
        if let Some(props) = own.input_schema["properties"].as_object_mut() {
            props.remove("model");
        }
        let own = serde_json::to_string(&own).unwrap().len();
        eprintln!("{name}: {size} bytes ({own} without the model list)");
        total += size;
        // The whole list's budget is checked in simple_tools.rs; this keeps
        // any one workflow from taking more than its share.
        let model_free = name == "tracer" || name == "docgen";
        let limit = if model_free { 1_300 } else { 1_600 };
        assert!(own < limit, "{name} is {own} bytes");
        let required = info.input_schema["required"].as_array().unwrap();
        let shared = [
            "step",
            "step_number",
            "total_steps",
            "next_step_required",
            "findings",
        ];
        assert_eq!(required[..5], shared.map(Value::from)[..], "{name}");
        let listed = info.input_schema["properties"].as_object().unwrap();
        assert_eq!(
            listed.contains_key("temperature") && listed.contains_key("thinking_mode"),
            !model_free,
            "{name}: every field it takes is listed"
        );
    }
    eprintln!("workflow tools in all: {total} bytes");
}
