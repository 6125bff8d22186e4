//! The registry and the simple tools, called the way a client calls them.

use serde_json::{Value, json};
use zen_core::tools::ToolRegistry;
use zen_core::{Config, Engine, Error, ErrorKind};
use zen_testkit::{Behaviour, StandIn};

fn engine_for(server: &StandIn, extra: &[(&str, &str)]) -> Engine {
    let base = format!("{}/v1", server.url());
    let mut settings: Vec<(String, String)> = vec![
        ("OPENAI_API_KEY".into(), "sk".into()),
        ("OPENAI_BASE_URL".into(), base),
    ];
    settings.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

#[tokio::test]
async fn chat_answers_with_a_continuation_offer() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "Is this sound?", "model": "gpt-4.1",
                   "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "continuation_available");
    assert_eq!(out["content_type"], "text");
    assert!(
        out["content"]
            .as_str()
            .unwrap()
            .starts_with("Stand-in answer from gpt-4.1")
    );
    assert_eq!(out["metadata"]["tool_name"], "chat");
    assert_eq!(out["metadata"]["model_used"], "gpt-4.1");
    assert_eq!(out["metadata"]["provider_used"], "openai");
    assert!(out["metadata"]["input_tokens"].as_u64().unwrap() > 0);
    let offer = &out["continuation_offer"];
    assert_eq!(offer["remaining_turns"], 48);
    let id = offer["continuation_id"].as_str().unwrap();

    // The system prompt is chat's; the continuation carries on.
    let body = server.last_request().unwrap().body;
    assert!(
        body["messages"][0]["content"]
            .as_str()
            .unwrap()
            .contains("second opinion")
    );
    let next = engine
        .call_tool(
            "chat",
            json!({"prompt": "And now?", "continuation_id": id,
                   "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(next["continuation_offer"]["remaining_turns"], 46);
    assert_eq!(
        next["metadata"]["model_used"], "gpt-4.1",
        "the conversation's model"
    );
}

#[tokio::test]
async fn chat_saves_generated_code_for_models_allowed_to_write_it() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[]);
    let dir = tempfile::tempdir().unwrap();
    server.script(Behaviour {
        reply: Some(
            "Here is the plan.\n<GENERATED-CODE>\nFile: src/lib.rs\nfn answer() -> u32 { 42 }\n</GENERATED-CODE>\nApply it."
                .into(),
        ),
        ..Behaviour::default()
    });
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "Write it", "model": "gpt-5.2",
                   "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    let saved = dir.path().join("zen_generated.code");
    let code = std::fs::read_to_string(&saved).unwrap();
    assert_eq!(code, "File: src/lib.rs\nfn answer() -> u32 { 42 }\n");
    let content = out["content"].as_str().unwrap();
    assert!(
        content.contains("zen_generated.code") && !content.contains("<GENERATED-CODE>"),
        "{content}"
    );
    assert!(content.starts_with("Here is the plan.") && content.ends_with("Apply it."));

    // A symlink planted at the file's name is replaced, not written through.
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "keep me").unwrap();
    std::fs::remove_file(&saved).unwrap();
    std::os::unix::fs::symlink(&victim, &saved).unwrap();
    server.script(Behaviour {
        reply: Some("<GENERATED-CODE>\nfn planted() {}\n</GENERATED-CODE>".into()),
        ..Behaviour::default()
    });
    engine
        .call_tool(
            "chat",
            json!({"prompt": "Write it", "model": "gpt-5.2",
                   "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap();
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
    assert!(
        !std::fs::symlink_metadata(&saved)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read_to_string(&saved).unwrap(),
        "fn planted() {}\n"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary file left"
    );
    // Models with code generation get the extra instructions.
    let system = server.last_request().unwrap().body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(system.contains("<GENERATED-CODE>"), "{system}");

    // A model without code generation keeps its reply as is.
    server.script(Behaviour {
        reply: Some("<GENERATED-CODE>\nx\n</GENERATED-CODE>".into()),
        ..Behaviour::default()
    });
    std::fs::remove_file(&saved).unwrap();
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "Write it", "model": "gpt-4.1",
                   "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap()
        .into_value();
    assert!(!saved.exists());
    assert!(
        out["content"]
            .as_str()
            .unwrap()
            .contains("<GENERATED-CODE>")
    );
}

#[tokio::test]
async fn chat_checks_its_arguments() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[]);
    let field_of = |err: Error| match err {
        Error::InvalidArguments { field, .. } => field,
        other => panic!("expected invalid arguments, got {other:?}"),
    };
    let cases: Vec<(Value, &str)> = vec![
        (json!({"working_directory_absolute_path": "/tmp"}), "prompt"),
        (
            json!({"prompt": 3, "working_directory_absolute_path": "/tmp"}),
            "prompt",
        ),
        (json!({"prompt": "x"}), "working_directory_absolute_path"),
        (
            json!({"prompt": "x", "working_directory_absolute_path": "relative/dir"}),
            "working_directory_absolute_path",
        ),
        (
            json!({"prompt": "x", "working_directory_absolute_path": "/definitely/not/here"}),
            "working_directory_absolute_path",
        ),
        (
            json!({"prompt": "x", "working_directory_absolute_path": "/tmp", "temprature": 0.2}),
            "temprature",
        ),
        (
            json!({"prompt": "x", "working_directory_absolute_path": "/tmp", "thinking_mode": "huge"}),
            "thinking_mode",
        ),
        (
            json!({"prompt": "x", "working_directory_absolute_path": "/tmp", "absolute_file_paths": "a"}),
            "absolute_file_paths",
        ),
    ];
    for (args, field) in cases {
        let err = engine.call_tool("chat", args.clone()).await.unwrap_err();
        assert_eq!(field_of(err), field, "{args}");
    }
    let err = engine.call_tool("chat", json!([1, 2])).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidArguments);
    assert!(
        server.requests().is_empty(),
        "bad arguments never reach a model"
    );
}

#[tokio::test]
async fn challenge_and_apilookup_need_no_model() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[]);
    let out = engine
        .call_tool(
            "challenge",
            json!({"prompt": "The cache is always faster."}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "challenge_accepted");
    assert_eq!(out["original_statement"], "The cache is always faster.");
    let wrapped = out["challenge_prompt"].as_str().unwrap();
    assert!(
        wrapped.contains("do not simply agree") && wrapped.ends_with("The cache is always faster.")
    );

    let out = engine
        .call_tool("apilookup", json!({"prompt": "tokio 1.x JoinSet API"}))
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "web_lookup_needed");
    assert_eq!(out["user_prompt"], "tokio 1.x JoinSet API");
    assert!(out["instructions"].as_str().unwrap().contains("web search"));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn listmodels_and_version_describe_the_setup() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[("OPENAI_ALLOWED_MODELS", "o3,gpt-4.1")]);
    let out = engine
        .call_tool("listmodels", json!({}))
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "success");
    let text = out["content"].as_str().unwrap();
    assert!(text.contains("## OpenAI — 2 model(s) usable"), "{text}");
    assert!(text.contains("- o3"), "{text}");
    assert!(
        text.contains("Restricted by OPENAI_ALLOWED_MODELS"),
        "{text}"
    );
    assert!(text.contains("## Google Gemini — not configured") && text.contains("GEMINI_API_KEY"));
    assert_eq!(out["metadata"]["configured_providers"], 1);

    let out = engine
        .call_tool("version", json!({}))
        .await
        .unwrap()
        .into_value();
    let text = out["content"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("zen {}", zen_core::VERSION)),
        "{text}"
    );
    assert!(text.contains("Providers: openai"));
    assert!(server.requests().is_empty(), "no network call");
}

#[tokio::test]
async fn disabled_tools_follow_pal_defaults_and_settings() {
    let server = StandIn::start().await.unwrap();
    let default = engine_for(&server, &[]);
    let names = default.tool_registry().names();
    for off in [
        "analyze", "refactor", "testgen", "secaudit", "docgen", "tracer",
    ] {
        assert!(!names.contains(&off), "{off} is off by default");
    }
    let engine = engine_for(&server, &[("DISABLED_TOOLS", "chat,version,listmodels")]);
    let names = engine.tool_registry().names();
    assert!(!names.contains(&"chat"));
    assert!(
        names.contains(&"version") && names.contains(&"listmodels"),
        "can't be disabled"
    );
    let err = engine.call_tool("chat", json!({})).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::UnknownTool);
    assert!(err.to_string().contains("DISABLED_TOOLS"), "{err}");
    let err = engine.call_tool("nonesuch", json!({})).await.unwrap_err();
    assert!(
        err.to_string().contains("there is no tool `nonesuch`"),
        "{err}"
    );

    // Off by default says so, and how to turn it on.
    let err = default.call_tool("analyze", json!({})).await.unwrap_err();
    assert!(err.to_string().contains("off by default"), "{err}");
    // An empty DISABLED_TOOLS turns every tool on; names zen lacks (PAL 11's
    // `jules`) or can't disable (`metrics`) are accepted.
    let all_on = engine_for(&server, &[("DISABLED_TOOLS", "")]);
    assert!(all_on.tool_registry().names().contains(&"analyze"));
    let pal = engine_for(&server, &[("DISABLED_TOOLS", "jules, metrics, tracer")]);
    let names = pal.tool_registry().names();
    assert!(names.contains(&"metrics") && names.contains(&"analyze") && !names.contains(&"tracer"));

    let bad = Config::from_map([("DISABLED_TOOLS", "chat,frobnicate")]).unwrap();
    let err = Engine::new(bad).unwrap_err().to_string();
    assert!(
        err.contains("DISABLED_TOOLS") && err.contains("frobnicate"),
        "{err}"
    );
}

#[tokio::test]
async fn a_default_model_that_cannot_be_used_names_default_model() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[("DEFAULT_MODEL", "gtp-5")]);
    let dir = tempfile::tempdir().unwrap();
    let err = engine
        .call_tool(
            "chat",
            json!({"prompt": "hi", "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::ModelNotAvailable);
    let message = err.to_string();
    assert!(
        message.contains("DEFAULT_MODEL names `gtp-5`") && message.contains("Fix DEFAULT_MODEL"),
        "{message}"
    );
}

#[tokio::test]
async fn model_is_required_only_in_auto_mode() {
    let server = StandIn::start().await.unwrap();
    let auto = engine_for(&server, &[]);
    let chat = auto.tools().into_iter().find(|t| t.name == "chat").unwrap();
    let required = chat.input_schema["required"].as_array().unwrap();
    assert!(required.contains(&json!("model")));
    let description = chat.input_schema["properties"]["model"]["description"]
        .as_str()
        .unwrap();
    assert!(
        description.contains("gpt-6.1-sol") && description.contains("o4-mini"),
        "{description}"
    );

    let pinned = engine_for(&server, &[("DEFAULT_MODEL", "o3")]);
    let chat = pinned
        .tools()
        .into_iter()
        .find(|t| t.name == "chat")
        .unwrap();
    assert!(
        !chat.input_schema["required"]
            .as_array()
            .unwrap()
            .contains(&json!("model"))
    );
    assert!(
        chat.input_schema["properties"]["model"]["description"]
            .as_str()
            .unwrap()
            .contains("Default o3")
    );
}

#[tokio::test]
async fn tools_list_with_everything_enabled_stays_small() {
    let server = StandIn::start().await.unwrap();
    // All eighteen tools on (DISABLED_TOOLS may only name tools that can't be
    // disabled), with two providers' models listed in `model`.
    let base = server.url();
    let engine = engine_for(
        &server,
        &[
            ("DISABLED_TOOLS", "version"),
            ("GEMINI_API_KEY", "g"),
            ("GEMINI_BASE_URL", &base),
        ],
    );
    let tools = engine.tools();
    // PAL's eighteen, plus zen's metrics.
    assert_eq!(
        tools.len(),
        19,
        "{:?}",
        tools.iter().map(|t| &t.name).collect::<Vec<_>>()
    );
    assert_eq!(ToolRegistry::everything().names().len(), 19);
    let listed: Vec<Value> = tools
        .iter()
        .map(|t| {
            json!({"name": t.name, "description": t.description,
                        "inputSchema": t.input_schema, "annotations": t.annotations})
        })
        .collect();
    let size = serde_json::to_string(&json!({"tools": listed}))
        .unwrap()
        .len();
    for t in &listed {
        eprintln!("{:>6} {}", t.to_string().len(), t["name"]);
    }
    eprintln!("{size:>6} total");
    assert!(size <= 19 * 1024, "tools/list is {size} bytes");
}

#[tokio::test]
async fn long_outputs_are_cut_to_the_clients_limit() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[("MAX_MCP_OUTPUT_TOKENS", "2000")]);
    server.script(Behaviour {
        reply: Some("word ".repeat(5000)),
        ..Behaviour::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let out = engine
        .call_tool(
            "chat",
            json!({"prompt": "talk a lot", "model": "o3", "working_directory_absolute_path": dir.path()}),
        )
        .await
        .unwrap();
    let text = out.0.to_string();
    assert!(
        zen_core::tokens::estimate_tokens(&text) <= 2000,
        "{} tokens",
        zen_core::tokens::estimate_tokens(&text)
    );
    assert_eq!(out.0["metadata"]["truncated"], true);
    assert!(
        out.0["content"]
            .as_str()
            .unwrap()
            .contains("MAX_MCP_OUTPUT_TOKENS")
    );
    assert!(
        out.0["continuation_offer"].is_object(),
        "the rest of the output survives"
    );
}

#[tokio::test]
async fn model_free_tools_ignore_the_model_fields_pal_clients_send() {
    let server = StandIn::start().await.unwrap();
    let engine = engine_for(&server, &[]);
    let out = engine
        .call_tool(
            "challenge",
            json!({"prompt": "x", "model": "o3", "temperature": 0.2, "thinking_mode": "low"}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "challenge_accepted");
    let out = engine
        .call_tool(
            "planner",
            json!({"step": "plan it", "step_number": 1, "total_steps": 1,
                   "next_step_required": false, "model": "o3"}),
        )
        .await
        .unwrap()
        .into_value();
    assert_eq!(out["status"], "planning_complete", "{out}");
    // Other unknown fields are still refused.
    let err = engine
        .call_tool("challenge", json!({"prompt": "x", "colour": 1}))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidArguments { ref field, .. } if field == "colour"));
    assert!(server.requests().is_empty());
}
