//! Ask one model one question through zen-core.
//!
//! ```sh
//! GEMINI_API_KEY=... cargo run -p zen-core --example ask -- "Why is the sky blue?"
//! OPENAI_API_KEY=... cargo run -p zen-core --example ask -- --model o3 "Review: fn f() {}"
//! ```
//!
//! The model is the one named with `--model`, else DEFAULT_MODEL, else the one
//! auto mode picks for quick answers.

use std::process::ExitCode;

use zen_core::models::ToolCategory;
use zen_core::providers::GenerateRequest;
use zen_core::{Config, Engine};

#[tokio::main]
async fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let model = match args.iter().position(|a| a == "--model") {
        Some(i) if i + 1 < args.len() => {
            let name = args.remove(i + 1);
            args.remove(i);
            Some(name)
        }
        Some(_) => return fail("--model needs a model name"),
        None => None,
    };
    let question = args.join(" ");
    if question.trim().is_empty() {
        return fail("usage: ask [--model NAME] QUESTION");
    }

    let engine = match Config::from_env().and_then(Engine::new) {
        Ok(engine) => engine,
        Err(err) => return fail(&err.to_string()),
    };
    let model = match engine
        .select_model(model.as_deref(), ToolCategory::FastResponse)
        .await
    {
        Ok(model) => model,
        Err(err) => return fail(&err.to_string()),
    };
    eprintln!("asking {} ({})", model.api_name, model.provider);
    match engine
        .generate(&model, &GenerateRequest::new(question))
        .await
    {
        Ok(reply) => {
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{}", reply.content);
            eprintln!(
                "tokens: {} in, {} out",
                reply.usage.input_tokens, reply.usage.output_tokens
            );
            ExitCode::SUCCESS
        }
        Err(err) => fail(&err.to_string()),
    }
}

fn fail(message: &str) -> ExitCode {
    eprintln!("ask: {message}");
    ExitCode::FAILURE
}
