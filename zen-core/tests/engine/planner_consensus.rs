//! `planner` and `consensus` end to end against the stand-in provider: plans
//! built, revised and branched per conversation; models consulted one per
//! step, in order, each blind to the others, with its stance.

use serde_json::{Value, json};
use zen_core::conversation::Role;
use zen_core::{Config, Engine, Error};
use zen_testkit::{Behaviour, RecordedRequest, StandIn};

fn engine(server: &StandIn) -> Engine {
    let settings = [
        ("OPENAI_API_KEY".to_owned(), "sk".to_owned()),
        ("OPENAI_BASE_URL".to_owned(), format!("{}/v1", server.url())),
        ("GEMINI_API_KEY".to_owned(), "g".to_owned()),
        ("GEMINI_BASE_URL".to_owned(), server.url()),
        ("DISABLED_TOOLS".to_owned(), "apilookup".to_owned()),
    ];
    Engine::new(Config::from_map(settings).unwrap()).unwrap()
}

/// The model a stand-in request went to.
fn model_of(request: &RecordedRequest) -> String {
    match request.body.get("model").and_then(Value::as_str) {
        Some(model) => model.to_owned(),
        None => request
            .path
            .rsplit('/')
            .next()
            .and_then(|last| last.strip_suffix(":generateContent"))
            .unwrap_or("unknown")
            .to_owned(),
    }
}

fn field_of(err: &Error) -> String {
    match err {
        Error::InvalidArguments { field, .. } => field.clone(),
        other => panic!("expected invalid arguments, got {other:?}"),
    }
}

async fn plan_step(engine: &Engine, args: Value) -> Value {
    engine
        .call_tool("planner", args)
        .await
        .unwrap()
        .into_value()
}

fn step(n: u32, total: u32, next: bool, text: &str, id: Option<&str>) -> Value {
    let mut args = json!({
        "step": text, "step_number": n, "total_steps": total, "next_step_required": next,
    });
    if let Some(id) = id {
        args["continuation_id"] = json!(id);
    }
    args
}

#[tokio::test]
async fn a_plan_is_built_revised_and_branched_then_summarised() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);

    let first = plan_step(
        &engine,
        step(1, 4, true, "Move the service to Postgres", None),
    )
    .await;
    assert_eq!(first["status"], "pause_for_planning");
    assert_eq!(first["step_content"], "Move the service to Postgres");
    assert!(first["required_actions"].as_array().unwrap().len() >= 2);
    assert!(
        first["next_steps"]
            .as_str()
            .unwrap()
            .contains("step_number 2")
    );
    let id = first["continuation_id"].as_str().unwrap().to_owned();

    let second = plan_step(&engine, step(2, 4, true, "Dump and restore", Some(&id))).await;
    assert_eq!(second["status"], "pause_for_planning");
    assert_eq!(second["continuation_id"], id.as_str());
    assert_eq!(second["planner_status"]["step_history_length"], 2);

    let mut revision = step(3, 4, true, "Replicate with logical replication", Some(&id));
    revision["is_step_revision"] = json!(true);
    revision["revises_step_number"] = json!(2);
    let third = plan_step(&engine, revision).await;
    assert_eq!(third["metadata"]["is_step_revision"], true);
    assert_eq!(third["metadata"]["revises_step_number"], 2);

    let mut branch = step(4, 5, true, "Alternative: stay on MySQL 8", Some(&id));
    branch["is_branch_point"] = json!(true);
    branch["branch_from_step"] = json!(1);
    branch["branch_id"] = json!("stay-mysql");
    let fourth = plan_step(&engine, branch).await;
    assert_eq!(fourth["metadata"]["branches"], json!(["stay-mysql"]));
    assert_eq!(fourth["metadata"]["branch_from_step"], 1);

    let last = plan_step(
        &engine,
        step(5, 5, false, "Cut over and monitor", Some(&id)),
    )
    .await;
    assert_eq!(last["status"], "planning_complete");
    assert_eq!(last["planning_complete"], true);
    assert_eq!(last["continuation_offer"]["continuation_id"], id.as_str());
    let main: Vec<(u64, &str)> = last["plan"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step_number"].as_u64().unwrap(),
                s["content"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        main,
        vec![
            (1, "Move the service to Postgres"),
            (2, "Replicate with logical replication"),
            (5, "Cut over and monitor"),
        ]
    );
    assert_eq!(last["plan"]["steps"][1]["revised_in_step"], 3);
    let branches = &last["plan"]["branches"];
    assert_eq!(branches[0]["branch_id"], "stay-mysql");
    assert_eq!(branches[0]["from_step"], 1);
    assert_eq!(
        branches[0]["steps"][0]["content"],
        "Alternative: stay on MySQL 8"
    );
    let summary = last["plan_summary"].as_str().unwrap();
    assert!(summary.contains("Replicate with logical replication [revised in step 3]"));
    assert!(!summary.contains("Dump and restore"), "{summary}");
    assert!(summary.contains("Branch stay-mysql (from step 1)"));

    // The plan lives in the conversation: one recorded turn per step.
    let chain = engine.conversation(&id).await.unwrap();
    let turns: Vec<_> = chain.iter().flat_map(|t| &t.turns).collect();
    assert_eq!(turns.len(), 5);
    assert!(turns.iter().all(|t| t.role == Role::User));
    // No model was called.
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_step_number_used_again_elsewhere_keeps_both_steps() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let first = plan_step(&engine, step(1, 4, true, "Main one", None)).await;
    let id = first["continuation_id"].as_str().unwrap().to_owned();
    plan_step(&engine, step(2, 4, true, "Main two", Some(&id))).await;
    let mut branch = step(3, 4, true, "Branch three", Some(&id));
    branch["is_branch_point"] = json!(true);
    branch["branch_from_step"] = json!(2);
    branch["branch_id"] = json!("alt");
    plan_step(&engine, branch).await;
    // The client numbers its revision 3 again; the branch's step 3 stays.
    let mut revision = step(3, 4, true, "Main two, revised", Some(&id));
    revision["is_step_revision"] = json!(true);
    revision["revises_step_number"] = json!(2);
    plan_step(&engine, revision).await;
    // And a step sent again in the same place replaces its first text.
    plan_step(&engine, step(4, 4, true, "Main four, draft", Some(&id))).await;
    let last = plan_step(&engine, step(4, 4, false, "Main four", Some(&id))).await;

    assert_eq!(last["plan"]["steps"][1]["content"], "Main two, revised");
    assert_eq!(
        last["plan"]["branches"][0]["steps"][0]["content"],
        "Branch three"
    );
    let summary = last["plan_summary"].as_str().unwrap();
    assert!(summary.starts_with("Plan (4 steps recorded)"), "{summary}");
    assert!(
        summary.contains("Branch three") && summary.contains("Main four\n"),
        "{summary}"
    );
    assert!(!summary.contains("draft"), "{summary}");
}

#[tokio::test]
async fn a_large_plan_pauses_for_deep_thinking_early_on() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let first = plan_step(&engine, step(1, 7, true, "Split the monolith", None)).await;
    assert_eq!(first["status"], "pause_for_deep_thinking");
    assert_eq!(first["thinking_required"], true);
    let id = first["continuation_id"].as_str().unwrap();
    let fourth = plan_step(&engine, step(4, 7, true, "Extract billing", Some(id))).await;
    assert_eq!(fourth["status"], "pause_for_planning");
}

#[tokio::test]
async fn interleaved_plans_keep_their_own_steps() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let a = plan_step(&engine, step(1, 3, true, "PLAN-A first", None)).await;
    let b = plan_step(&engine, step(1, 2, true, "PLAN-B first", None)).await;
    let (a, b) = (
        a["continuation_id"].as_str().unwrap().to_owned(),
        b["continuation_id"].as_str().unwrap().to_owned(),
    );
    assert_ne!(a, b);
    plan_step(&engine, step(2, 3, true, "PLAN-A second", Some(&a))).await;
    let b_done = plan_step(&engine, step(2, 2, false, "PLAN-B second", Some(&b))).await;
    let a_done = plan_step(&engine, step(3, 3, false, "PLAN-A third", Some(&a))).await;

    let b_summary = b_done["plan_summary"].as_str().unwrap();
    assert!(b_summary.contains("PLAN-B first") && b_summary.contains("PLAN-B second"));
    assert!(!b_summary.contains("PLAN-A"), "{b_summary}");
    let a_summary = a_done["plan_summary"].as_str().unwrap();
    assert_eq!(a_done["plan"]["steps"].as_array().unwrap().len(), 3);
    assert!(!a_summary.contains("PLAN-B"), "{a_summary}");
    assert_eq!(a_done["planner_status"]["step_history_length"], 3);

    // A new plan in a conversation that holds one starts afresh.
    let again = plan_step(&engine, step(1, 1, false, "PLAN-A redo", Some(&a))).await;
    assert_eq!(again["plan"]["steps"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn planner_errors_name_the_field() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let first = plan_step(&engine, step(1, 3, true, "Plan it", None)).await;
    let id = first["continuation_id"].as_str().unwrap().to_owned();

    let cases: Vec<(Value, &str)> = vec![
        (step(0, 3, true, "x", None), "step_number"),
        (step(1, 0, true, "x", None), "total_steps"),
        (step(1, 3, true, "  ", None), "step"),
        (step(2, 3, true, "x", None), "continuation_id"),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["is_step_revision"] = json!(true);
                s
            },
            "revises_step_number",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["is_step_revision"] = json!(true);
                s["revises_step_number"] = json!(2);
                s
            },
            "revises_step_number",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["revises_step_number"] = json!(1);
                s
            },
            "is_step_revision",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["is_branch_point"] = json!(true);
                s["branch_id"] = json!("b");
                s
            },
            "branch_from_step",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["is_branch_point"] = json!(true);
                s["branch_from_step"] = json!(1);
                s
            },
            "branch_id",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["branch_id"] = json!("never-started");
                s
            },
            "branch_id",
        ),
        (
            {
                let mut s = step(2, 3, true, "x", Some(&id));
                s["findings"] = json!("planner takes no findings");
                s
            },
            "findings",
        ),
    ];
    for (args, field) in cases {
        let err = engine.call_tool("planner", args.clone()).await.unwrap_err();
        assert_eq!(field_of(&err), field, "{args} gave {err}");
    }
    // Failed steps were not recorded.
    let chain = engine.conversation(&id).await.unwrap();
    assert_eq!(chain.iter().map(|t| t.turns.len()).sum::<usize>(), 1);
}

fn consensus_step_one(models: Value) -> Value {
    json!({
        "step": "Evaluate: PROPOSAL-XYZ, move our job queue onto SQLite.",
        "step_number": 1,
        "total_steps": 3,
        "next_step_required": true,
        "findings": "MY-OWN-ANALYSIS: it is probably fine at our scale.",
        "models": models,
    })
}

fn later_step(n: u32, id: &str, notes: &str) -> Value {
    json!({
        "step": format!("NOTES-{n}: {notes}"),
        "step_number": n,
        "total_steps": 3,
        "next_step_required": n < 3,
        "findings": format!("SUMMARY-{n}"),
        "continuation_id": id,
    })
}

#[tokio::test]
async fn consensus_consults_one_blind_model_per_step_in_order() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let models = json!([
        {"model": "gpt-5", "stance": "for"},
        {"model": "gemini-2.5-pro", "stance": "against"},
        {"model": "o3", "stance": "neutral", "stance_prompt": "CUSTOM-STANCE: answer as a cautious SRE."},
    ]);

    let one = engine
        .call_tool("consensus", consensus_step_one(models))
        .await
        .unwrap()
        .into_value();
    assert_eq!(one["status"], "analysis_and_first_model_consulted");
    assert_eq!(one["total_steps"], 3);
    assert_eq!(one["next_step_required"], true);
    assert_eq!(one["model_consulted"], "gpt-5");
    assert_eq!(one["model_stance"], "for");
    assert_eq!(one["model_response"]["status"], "success");
    assert!(
        one["model_response"]["verdict"]
            .as_str()
            .unwrap()
            .starts_with("Stand-in answer from gpt-5")
    );
    assert_eq!(
        one["agent_analysis"]["findings"],
        "MY-OWN-ANALYSIS: it is probably fine at our scale."
    );
    assert_eq!(one["next_model"]["model"], "gemini-2.5-pro");
    let id = one["continuation_id"].as_str().unwrap().to_owned();
    assert_eq!(one["continuation_offer"]["continuation_id"], id.as_str());

    let two = engine
        .call_tool("consensus", later_step(2, &id, "gpt-5 liked it"))
        .await
        .unwrap()
        .into_value();
    assert_eq!(two["status"], "model_consulted");
    assert_eq!(two["model_consulted"], "gemini-2.5-pro");
    assert_eq!(two["model_stance"], "against");

    let three = engine
        .call_tool("consensus", later_step(3, &id, "gemini pushed back"))
        .await
        .unwrap()
        .into_value();
    assert_eq!(three["status"], "consensus_workflow_complete");
    assert_eq!(three["consensus_complete"], true);
    assert_eq!(three["next_step_required"], false);
    assert_eq!(three["model_consulted"], "o3");

    // One request per step, to each model in the order given.
    let requests = server.requests();
    let order: Vec<String> = requests.iter().map(model_of).collect();
    assert_eq!(order, vec!["gpt-5", "gemini-2.5-pro", "o3"]);

    // Every model saw the proposal and its own stance, and nothing else.
    let bodies: Vec<String> = requests.iter().map(|r| r.body.to_string()).collect();
    for body in &bodies {
        assert!(body.contains("PROPOSAL-XYZ"));
        for private in [
            "MY-OWN-ANALYSIS",
            "NOTES-2",
            "NOTES-3",
            "SUMMARY-2",
            "SUMMARY-3",
        ] {
            assert!(!body.contains(private), "{private} reached a model: {body}");
        }
    }
    assert!(bodies[0].contains("YOUR STANCE: for") && bodies[0].contains("Argue for"));
    assert!(bodies[1].contains("YOUR STANCE: against") && bodies[1].contains("Argue against"));
    assert!(bodies[2].contains("CUSTOM-STANCE: answer as a cautious SRE."));
    assert!(
        !bodies[2].contains("Take no side"),
        "the stance_prompt replaces the stance text"
    );
    // Blind: no model's request holds another model's reply.
    for (i, body) in bodies.iter().enumerate() {
        for earlier in ["gpt-5", "gemini-2.5-pro", "o3"] {
            let reply = format!("Stand-in answer from {earlier}");
            assert!(
                !body.contains(&reply),
                "request {i} holds {earlier}'s reply"
            );
        }
    }

    // The summary lists every position.
    let complete = &three["complete_consensus"];
    assert_eq!(
        complete["models_consulted"],
        json!(["gpt-5:for", "gemini-2.5-pro:against", "o3:neutral"])
    );
    assert_eq!(complete["total_responses"], 3);
    assert_eq!(complete["consensus_confidence"], "high");
    assert!(
        complete["initial_prompt"]
            .as_str()
            .unwrap()
            .contains("PROPOSAL-XYZ")
    );
    let findings: Vec<&str> = complete["agent_findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["findings"].as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), 3);
    assert!(findings[0].starts_with("MY-OWN-ANALYSIS"));
    let positions = three["accumulated_responses"].as_array().unwrap();
    assert_eq!(positions.len(), 3);
    for (position, model) in positions.iter().zip(["gpt-5", "gemini-2.5-pro", "o3"]) {
        assert_eq!(position["model"], model);
        let verdict = position["verdict"].as_str().unwrap();
        assert!(verdict.starts_with(&format!("Stand-in answer from {model}")));
    }
    assert_eq!(three["continuation_offer"]["continuation_id"], id.as_str());

    // The thread holds each step and each answer, in order.
    let chain = engine.conversation(&id).await.unwrap();
    let turns: Vec<_> = chain.iter().flat_map(|t| &t.turns).collect();
    assert_eq!(turns.len(), 6);
    let answered: Vec<&str> = turns
        .iter()
        .filter(|t| t.role == Role::Assistant)
        .map(|t| t.model_name.as_deref().unwrap())
        .collect();
    assert_eq!(answered, vec!["gpt-5", "gemini-2.5-pro", "o3"]);
    assert!(turns[2].content.contains("SUMMARY-2"));

    // Past the last model there is nothing more to consult.
    let err = engine
        .call_tool("consensus", later_step(4, &id, "more?"))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "step_number");
    assert_eq!(server.requests().len(), 3);
}

#[tokio::test]
async fn a_consensus_conversation_carries_on_in_chat() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let dir = tempfile::tempdir().unwrap();
    let models = json!([{"model": "gpt-5", "stance": "for"}, {"model": "o3", "stance": "against"}]);
    let one = engine
        .call_tool("consensus", consensus_step_one(models))
        .await
        .unwrap()
        .into_value();
    let id = one["continuation_id"].as_str().unwrap().to_owned();
    engine
        .call_tool("consensus", later_step(2, &id, "done"))
        .await
        .unwrap();
    engine
        .call_tool(
            "chat",
            json!({
                "prompt": "Which view convinced you?",
                "continuation_id": id,
                "working_directory_absolute_path": dir.path().to_str().unwrap(),
            }),
        )
        .await
        .unwrap();
    let body = server.last_request().unwrap().body.to_string();
    assert!(body.contains("Stand-in answer from gpt-5"));
    assert!(body.contains("Stand-in answer from o3"));
    assert!(body.contains("PROPOSAL-XYZ"));
}

#[tokio::test]
async fn consensus_files_reach_every_model_and_failures_degrade_the_summary() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("queue.rs");
    std::fs::write(&file, "fn enqueue() { QUEUE-CODE }\n").unwrap();
    server.script(Behaviour {
        path_contains: Some("gemini-2.5-pro".into()),
        status: Some(400),
        error_message: Some("model retired".into()),
        always: true,
        ..Behaviour::default()
    });
    let mut args = consensus_step_one(json!([
        {"model": "gemini-2.5-pro", "stance": "for"},
        {"model": "gpt-5", "stance": "against"},
    ]));
    args["relevant_files"] = json!([file.to_str().unwrap()]);
    let one = engine
        .call_tool("consensus", args)
        .await
        .unwrap()
        .into_value();
    assert_eq!(one["model_response"]["status"], "error");
    assert!(
        one["model_response"]["error"]
            .as_str()
            .unwrap()
            .contains("model retired")
    );
    let id = one["continuation_id"].as_str().unwrap().to_owned();
    let two = engine
        .call_tool("consensus", later_step(2, &id, "gemini failed"))
        .await
        .unwrap()
        .into_value();
    assert_eq!(two["status"], "consensus_workflow_complete");
    let complete = &two["complete_consensus"];
    assert_eq!(complete["consensus_confidence"], "degraded");
    assert_eq!(complete["total_responses"], 1);
    assert_eq!(complete["models_failed"][0]["model"], "gemini-2.5-pro");
    assert!(two["next_steps"].as_str().unwrap().contains("DEGRADED"));
    // The step-1 file reached both models, even though step 2 did not repeat it.
    let requests = server.requests();
    assert!(requests.iter().any(|r| model_of(r) == "gemini-2.5-pro"));
    let gpt: Vec<_> = requests.iter().filter(|r| model_of(r) == "gpt-5").collect();
    assert_eq!(gpt.len(), 1);
    for request in &requests {
        assert!(request.body.to_string().contains("QUEUE-CODE"));
    }
}

#[tokio::test]
async fn consensus_errors_name_the_field() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    let cases = [
        json!([{"model": "gpt-5", "stance": "for"}]),
        json!([{"model": "gpt-5", "stance": "for"}, {"model": "gpt-5", "stance": "for"}]),
        // An alias of the same model with the same stance is the same pair.
        json!([{"model": "gpt-5"}, {"model": "gpt5", "stance": "neutral"}]),
        json!([{"model": "gpt-5", "stance": "maybe"}, {"model": "o3"}]),
        json!([{"model": "gpt-5"}, {"model": "no-such-model-anywhere"}]),
        json!([{"model": "gpt-5"}, {"model": "o3", "temperature": 0.1}]),
    ];
    for models in cases {
        let err = engine
            .call_tool("consensus", consensus_step_one(models.clone()))
            .await
            .unwrap_err();
        let field = field_of(&err);
        assert!(field.starts_with("models"), "{models}: {field}: {err}");
    }
    let mut missing = consensus_step_one(json!(null));
    missing.as_object_mut().unwrap().remove("models");
    let err = engine.call_tool("consensus", missing).await.unwrap_err();
    assert_eq!(field_of(&err), "models");
    // The same model with two stances is fine; it is not called by a failed step.
    assert!(server.requests().is_empty());

    let err = engine
        .call_tool("consensus", later_step(2, "", "no id"))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "continuation_id");

    let mut relative = consensus_step_one(json!([{"model": "gpt-5"}, {"model": "o3"}]));
    relative["relevant_files"] = json!(["src/main.rs"]);
    let err = engine.call_tool("consensus", relative).await.unwrap_err();
    assert_eq!(field_of(&err), "relevant_files");

    let one = engine
        .call_tool(
            "consensus",
            consensus_step_one(json!([
                {"model": "gpt-5", "stance": "for"},
                {"model": "gpt-5", "stance": "against"},
                {"model": "o3"},
            ])),
        )
        .await
        .unwrap()
        .into_value();
    let id = one["continuation_id"].as_str().unwrap().to_owned();
    let err = engine
        .call_tool("consensus", later_step(3, &id, "skipped one"))
        .await
        .unwrap_err();
    assert_eq!(field_of(&err), "step_number");
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn schemas_stay_small() {
    let server = StandIn::start().await.unwrap();
    let engine = engine(&server);
    for tool in engine.tools() {
        if tool.name == "planner" || tool.name == "consensus" {
            let size = serde_json::to_string(&tool).unwrap().len();
            eprintln!("{}: {size} bytes", tool.name);
            assert!(size < 1_400, "{} is {size} bytes", tool.name);
        }
    }
    let planner = engine.tools().into_iter().find(|t| t.name == "planner");
    let schema = planner.unwrap().input_schema;
    assert!(schema["properties"].get("model").is_none());
}
