//! The simple tools: `chat` (one model call) and the model-free `challenge`,
//! `apilookup`, `listmodels` and `version`.

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::args::{NoArgs, parse_args, schema_for, with_model_fields};
use super::{Tool, ToolOutput};
use crate::consult::{ConsultOutcome, ConsultRequest};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files;
use crate::models::ToolCategory;
use crate::providers::ProviderKind;

/// Where `chat` saves a model's generated code, in the working directory.
pub const GENERATED_CODE_FILE: &str = "zen_generated.code";

/// Every simple tool.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![
        Arc::new(Chat),
        Arc::new(Challenge),
        Arc::new(ApiLookup),
        Arc::new(ListModels),
        Arc::new(Version),
    ]
}

/// The outcome of a consultation as a tool's output.
pub(crate) fn consult_output(
    tool: &str,
    outcome: ConsultOutcome,
    shape: impl FnOnce(&crate::consult::ConsultReply) -> String,
) -> ToolOutput {
    match outcome {
        ConsultOutcome::Reply(reply) => {
            let content = shape(&reply);
            ToolOutput::from_reply(tool, &reply, content)
        }
        ConsultOutcome::ResendPrompt {
            message,
            prompt_chars,
            limit_chars,
        } => {
            let mut output = ToolOutput::new("resend_prompt", message, "text");
            output.set_metadata("tool_name", json!(tool));
            output.set_metadata("prompt_size", json!(prompt_chars));
            output.set_metadata("limit", json!(limit_chars));
            output
        }
    }
}

#[derive(Debug)]
struct Chat;

with_model_fields! {
    struct ChatArgs {
        /// Your question or idea, with the context the model needs.
        prompt: String,
        /// Files or folders to include (absolute paths).
        #[serde(default)]
        absolute_file_paths: Vec<String>,
        /// Images: absolute paths or data URLs.
        #[serde(default)]
        images: Vec<String>,
        /// Absolute path of an existing folder; generated code is saved there.
        working_directory_absolute_path: String,
    }
}

#[async_trait]
impl Tool for Chat {
    fn name(&self) -> &'static str {
        "chat"
    }
    fn description(&self) -> &'static str {
        "Ask another model: second opinions, brainstorming, explanations, code ideas. Attach files and images; continue any conversation with continuation_id."
    }
    fn schema(&self) -> Value {
        schema_for::<ChatArgs>()
    }
    fn category(&self) -> ToolCategory {
        ToolCategory::FastResponse
    }
    fn lists_models(&self) -> bool {
        true
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let raw = args.clone();
        let args: ChatArgs = parse_args(args)?;
        let field = "working_directory_absolute_path";
        let working_dir = match files::resolve_path(&args.working_directory_absolute_path, field)? {
            Ok(path) if path.is_dir() => path,
            Ok(path) => {
                return Err(Error::invalid(
                    field,
                    format!(
                        "{} is not a folder; pass the folder to work in",
                        path.display()
                    ),
                ));
            }
            Err(refusal) => return Err(Error::invalid(field, refusal.to_string())),
        };
        let request = ConsultRequest {
            tool_name: self.name().into(),
            prompt: args.prompt,
            system_prompt: Some(include_str!("../../prompts/chat.txt").into()),
            code_generation_prompt: Some(
                include_str!("../../prompts/chat_code_generation.txt").into(),
            ),
            files: args.absolute_file_paths,
            images: args.images,
            continuation_id: args.continuation_id,
            model: args.model,
            category: Some(self.category()),
            temperature: args.temperature,
            thinking_mode: args.thinking_mode,
            arguments: raw,
        };
        let outcome = engine.consult(request).await?;
        let mut saved = None;
        let output = consult_output(self.name(), outcome, |reply| {
            if !reply.model.spec.allow_code_generation {
                return reply.content.clone();
            }
            match save_generated_code(&reply.content, &working_dir) {
                Ok(Some((content, path))) => {
                    saved = Some(path);
                    content
                }
                Ok(None) => reply.content.clone(),
                Err(err) => format!(
                    "{}\n\n[zen could not save the generated code to {}: {err}]",
                    reply.content,
                    working_dir.join(GENERATED_CODE_FILE).display()
                ),
            }
        });
        let mut output = output;
        if let Some(path) = saved {
            output.set_metadata("generated_code_file", json!(path.display().to_string()));
        }
        Ok(output)
    }
}

/// Saves the `<GENERATED-CODE>` block of a reply to `zen_generated.code` in
/// `dir`; returns the reply with the block replaced by a note, and the path.
fn save_generated_code(
    reply: &str,
    dir: &std::path::Path,
) -> std::io::Result<Option<(String, PathBuf)>> {
    const OPEN: &str = "<GENERATED-CODE>";
    const CLOSE: &str = "</GENERATED-CODE>";
    let Some(start) = reply.find(OPEN) else {
        return Ok(None);
    };
    let Some(end) = reply[start..].find(CLOSE).map(|i| start + i) else {
        return Ok(None);
    };
    let code = reply[start + OPEN.len()..end].trim_matches('\n');
    let path = dir.join(GENERATED_CODE_FILE);
    replace_file(&path, format!("{code}\n").as_bytes())?;
    let note = format!(
        "[The generated code was saved to {}. Review it, then apply it to the project.]",
        path.display()
    );
    let content = format!("{}{note}{}", &reply[..start], &reply[end + CLOSE.len()..]);
    Ok(Some((content, path)))
}

/// Puts `bytes` at `path` as a new file: written beside it under a fresh
/// name, then renamed over it. Whatever was at `path` is replaced, never
/// written through: a symlink planted there (by a repository, or a model's
/// earlier reply) can't redirect the write to another file.
fn replace_file(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = path.with_file_name(format!(".{name}.{}.{serial}.tmp", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .and_then(|()| std::fs::rename(&temp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[derive(Debug)]
struct Challenge;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct StatementArgs {
    /// The statement or claim to reassess.
    prompt: String,
}

#[async_trait]
impl Tool for Challenge {
    fn name(&self) -> &'static str {
        "challenge"
    }
    fn description(&self) -> &'static str {
        "Make yourself reassess a statement critically instead of agreeing by reflex. No model call."
    }
    fn schema(&self) -> Value {
        schema_for::<StatementArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }

    async fn run(&self, _engine: &Engine, args: Value) -> Result<ToolOutput> {
        let args: StatementArgs = parse_args(args)?;
        Ok(ToolOutput::object(json!({
            "status": "challenge_accepted",
            "original_statement": args.prompt,
            "challenge_prompt": format!("{}\n{}", include_str!("../../prompts/challenge.txt").trim_end(), args.prompt),
            "instructions": "Follow challenge_prompt yourself: test the statement against the evidence, then say whether it holds and why, or where it fails.",
        })))
    }
}

#[derive(Debug)]
struct ApiLookup;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct LookupArgs {
    /// What to look up: the library, API or SDK and the question about it.
    prompt: String,
}

#[async_trait]
impl Tool for ApiLookup {
    fn name(&self) -> &'static str {
        "apilookup"
    }
    fn description(&self) -> &'static str {
        "Instructions to look up current API/SDK documentation on the web before answering. No model call."
    }
    fn schema(&self) -> Value {
        schema_for::<LookupArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }

    async fn run(&self, _engine: &Engine, args: Value) -> Result<ToolOutput> {
        let args: LookupArgs = parse_args(args)?;
        Ok(ToolOutput::object(json!({
            "status": "web_lookup_needed",
            "instructions": include_str!("../../prompts/apilookup.txt"),
            "user_prompt": args.prompt,
        })))
    }
}

#[derive(Debug)]
struct ListModels;

#[async_trait]
impl Tool for ListModels {
    fn name(&self) -> &'static str {
        "listmodels"
    }
    fn description(&self) -> &'static str {
        "List providers and models: which are usable now, their aliases and limits, and why others are not."
    }
    fn schema(&self) -> Value {
        schema_for::<NoArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let _: NoArgs = parse_args(args)?;
        engine.refresh_custom_models().await;
        let config = engine.config();
        let available = engine.models();
        let mut text = String::from("# Models\n");
        text.push_str(&if config.is_auto_mode() {
            "\nMode: auto — the model is chosen per tool unless named.\n".to_owned()
        } else {
            format!("\nDefault model: {}\n", config.default_model)
        });
        let mut configured = 0;
        for kind in ProviderKind::PRIORITY {
            let Some(provider) = config.provider(kind) else {
                text.push_str(&format!(
                    "\n## {} — not configured\nSet {} to use it.\n",
                    kind.display_name(),
                    setup_hint(kind)
                ));
                continue;
            };
            configured += 1;
            let models: Vec<_> = available.iter().filter(|m| m.provider == kind).collect();
            text.push_str(&format!(
                "\n## {} — {} model(s) usable ({})\n",
                kind.display_name(),
                models.len(),
                provider.base_url
            ));
            if let Some(allowed) = &provider.allowed_models {
                text.push_str(&format!(
                    "Restricted by {} to: {}\n",
                    kind.allowed_models_var(),
                    allowed.join(", ")
                ));
            }
            for model in models {
                let spec = &model.spec;
                let aliases = if spec.aliases.is_empty() {
                    String::new()
                } else {
                    format!(" (aliases: {})", spec.aliases.join(", "))
                };
                let mut traits = vec![format!("{}K context", spec.context_window / 1000)];
                if spec.supports_extended_thinking {
                    traits.push("thinking".into());
                }
                if spec.supports_images {
                    traits.push("images".into());
                }
                if let Some(score) = spec.intelligence_score {
                    traits.push(format!("score {score}"));
                }
                text.push_str(&format!(
                    "- {}{aliases} — {}\n",
                    model.api_name,
                    traits.join(", ")
                ));
            }
        }
        if !config.disabled_models.is_empty() {
            text.push_str(&format!(
                "\nDisabled by DISABLED_MODELS: {}\n",
                config.disabled_models.join(", ")
            ));
        }
        let mut output = ToolOutput::new("success", text, "markdown");
        output.set_metadata("tool_name", json!(self.name()));
        output.set_metadata("configured_providers", json!(configured));
        output.set_metadata("available_models", json!(available.len()));
        Ok(output)
    }
}

/// The setting that turns a provider on.
fn setup_hint(kind: ProviderKind) -> &'static str {
    match kind {
        ProviderKind::Gemini => "GEMINI_API_KEY",
        ProviderKind::OpenAi => "OPENAI_API_KEY",
        ProviderKind::Azure => "AZURE_OPENAI_API_KEY and AZURE_OPENAI_ENDPOINT",
        ProviderKind::Xai => "XAI_API_KEY",
        ProviderKind::Dial => "DIAL_API_KEY",
        ProviderKind::Custom => "CUSTOM_API_URL (e.g. http://localhost:11434/v1 for Ollama)",
        ProviderKind::OpenRouter => "OPENROUTER_API_KEY",
    }
}

#[derive(Debug)]
struct Version;

#[async_trait]
impl Tool for Version {
    fn name(&self) -> &'static str {
        "version"
    }
    fn description(&self) -> &'static str {
        "Show zen's version and a summary of its configuration. No network call."
    }
    fn schema(&self) -> Value {
        schema_for::<NoArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let _: NoArgs = parse_args(args)?;
        let config = engine.config();
        let providers: Vec<&str> = config.providers.iter().map(|p| p.kind.id()).collect();
        let tools = engine.tool_registry().names();
        let text = format!(
            "zen {}\nProviders: {}\nDefault model: {}\nModels usable: {}\nTools enabled: {}\nConversations: kept in memory, {} turns, {} hours idle",
            crate::VERSION,
            if providers.is_empty() {
                "none configured".to_owned()
            } else {
                providers.join(", ")
            },
            config.default_model,
            engine.models().len(),
            tools.join(", "),
            config.max_conversation_turns,
            config.conversation_timeout.as_secs_f64() / 3600.0,
        );
        let mut output = ToolOutput::new("success", text, "text");
        output.set_metadata("tool_name", json!(self.name()));
        output.set_metadata("version", json!(crate::VERSION));
        output.set_metadata("providers", json!(providers));
        Ok(output)
    }
}
