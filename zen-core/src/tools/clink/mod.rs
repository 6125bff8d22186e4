//! `clink`: hands a request to another AI command-line client (the Gemini,
//! Codex or Claude CLI, or one the user defines) run as a subprocess, and
//! returns its answer as a turn of the conversation.
//!
//! The CLI gets one prompt on stdin: its role's instructions (or, for a CLI
//! that takes a system prompt option, those go there), the conversation so
//! far when continuing, the request, and the absolute paths of the files and
//! images to look at, which the CLI reads itself. Its output is read by the
//! client's parser, capped at [`MAX_OUTPUT_CHARS`] (keeping the CLI's own
//! `<SUMMARY>` block when the answer is longer), and recorded in the thread.

mod parsers;
mod registry;
mod runner;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use self::parsers::{Parsed, Parser};
use self::registry::{Client, Registry, Role};
use self::runner::{Finished, Ran};
use super::args::{parse_args, schema_for};
use super::{Annotations, ContinuationOffer, Tool, ToolOutput};
use crate::conversation::{Role as Speaker, Thread, Turn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files::{self, Refusal};
use crate::models::ToolCategory;

/// The longest answer passed back, in characters.
pub const MAX_OUTPUT_CHARS: usize = 20_000;
/// How much of an over-long answer without a summary is shown.
const EXCERPT_CHARS: usize = 4_000;
/// How much conversation history the CLI is given, in characters.
const HISTORY_CHARS: usize = 60_000;
/// How much of stderr an error shows, in characters.
const TAIL_CHARS: usize = 2_000;
/// The client used when the call names none.
const DEFAULT_CLI: &str = "gemini";
const TOOL: &str = "clink";

/// The tools of this module.
pub(super) fn tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(Clink)]
}

#[derive(Debug)]
struct Clink;

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ClinkArgs {
    /// The request for the CLI.
    prompt: String,
    /// CLI to run: gemini (default), codex, claude, or one defined in ZEN_CLI_CLIENTS_DIR.
    #[serde(default)]
    cli_name: Option<String>,
    /// default, planner or codereviewer.
    #[serde(default)]
    role: Option<String>,
    /// Files or folders the CLI should read (absolute paths).
    #[serde(default)]
    absolute_file_paths: Vec<String>,
    /// Images for the CLI to look at (absolute paths).
    #[serde(default)]
    images: Vec<String>,
    /// Id from an earlier answer, to carry on that conversation.
    #[serde(default)]
    continuation_id: Option<String>,
}

#[async_trait]
impl Tool for Clink {
    fn name(&self) -> &'static str {
        TOOL
    }
    fn description(&self) -> &'static str {
        "Run a request through another AI CLI (gemini, codex, claude) and return its answer: for an independent review, plan or second opinion from that CLI."
    }
    fn schema(&self) -> Value {
        schema_for::<ClinkArgs>()
    }
    fn uses_model(&self) -> bool {
        false
    }
    fn category(&self) -> ToolCategory {
        ToolCategory::Balanced
    }
    fn annotations(&self) -> Annotations {
        // The CLIs run with their own tools enabled (codex without a sandbox)
        // and call their vendors' services.
        Annotations {
            read_only_hint: false,
            open_world_hint: true,
        }
    }

    async fn run(&self, engine: &Engine, args: Value) -> Result<ToolOutput> {
        let raw = args.clone();
        let args: ClinkArgs = parse_args(args)?;
        let registry = Registry::load(&engine.config().settings)?;
        let cli_name = args
            .cli_name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or(DEFAULT_CLI);
        let client = registry.get(cli_name)?;
        let role = client.role(args.role.as_deref())?;

        // The conversation, when continuing: checked before the CLI runs.
        let continuation_id = args
            .continuation_id
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let chain = match continuation_id {
            Some(id) => {
                let chain = engine.conversation(id).await?;
                let max_turns = engine.config().max_conversation_turns;
                if chain
                    .last()
                    .is_some_and(|t| t.turns.len() + 2 > max_turns as usize)
                {
                    return Err(Error::ConversationFull {
                        id: id.to_owned(),
                        max_turns,
                    });
                }
                chain
            }
            None => Vec::new(),
        };

        let (mut file_paths, mut refused) =
            references(&args.absolute_file_paths, "absolute_file_paths")?;
        if let Some(bad) = args
            .images
            .iter()
            .find(|i| i.trim_start().starts_with("data:"))
        {
            return Err(Error::invalid(
                "images",
                format!(
                    "clink hands images to the CLI as files, so `{}…` can't be passed; save the \
                     image and give its absolute path",
                    bad.chars().take(24).collect::<String>()
                ),
            ));
        }
        let (image_paths, refused_images) = references(&args.images, "images")?;
        refused.extend(refused_images);

        let mut request = args.prompt.clone();
        if let Some(prompt_file) = files::take_prompt_file(&mut file_paths) {
            let from_file = engine.file_cache().read_prompt_file(&prompt_file)?;
            request = if request.trim().is_empty() {
                from_file
            } else {
                format!("{from_file}\n\n{request}")
            };
        }
        if request.trim().is_empty() {
            return Err(Error::invalid(
                "prompt",
                "the prompt is empty; say what the CLI should do",
            ));
        }

        let takes_system_prompt = client.known.and_then(|k| k.system_prompt_arg).is_some();
        let prompt = cli_prompt(&PromptParts {
            role_prompt: (!takes_system_prompt).then_some(role.prompt.as_str()),
            locale: engine.config().locale.as_deref(),
            chain: &chain,
            request: &request,
            files: &file_paths,
            images: &image_paths,
        });
        let system_prompt = takes_system_prompt.then_some(role.prompt.as_str());

        let finished = match runner::run(client, role, system_prompt, &prompt).await? {
            Ran::TimedOut { after } => {
                let mut output = failure(
                    client,
                    role,
                    format!(
                        "The `{}` CLI did not finish within {} s and was stopped. Ask for less, \
                         or raise `timeout_seconds` in its definition.",
                        client.name,
                        after.as_secs()
                    ),
                );
                output.set_metadata("timed_out", json!(true));
                output.set_metadata("timeout_seconds", json!(after.as_secs()));
                return Ok(output);
            }
            Ran::Finished(finished) => finished,
        };

        let mut metadata = Map::new();
        let parsed = match interpret(client, &finished, &mut metadata) {
            Ok(parsed) => parsed,
            Err(message) => {
                let mut output = failure(client, role, message);
                output.set_metadata("return_code", json!(finished.code));
                output.set_metadata("command", json!(finished.command));
                return Ok(output);
            }
        };
        let content = cap_output(&client.name, parsed.content.clone(), &mut metadata);

        // Record the exchange: the caller's words, and the CLI's answer.
        let mut user_turn = Turn::user(request, TOOL);
        user_turn.files = file_paths.iter().map(|p| p.display().to_string()).collect();
        user_turn.images = image_paths
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut cli_turn = Turn::assistant(content.clone(), TOOL);
        cli_turn.model_name = Some(client.name.clone());
        let recorded = engine
            .record_turns(continuation_id, TOOL, &raw, vec![user_turn, cli_turn])
            .await;
        let (thread, remaining) = match recorded {
            Ok((id, remaining)) => (Some(id), remaining),
            Err(err) => {
                // The answer is never lost: the conversation just ends here.
                tracing::warn!("clink could not record the exchange: {err}");
                (None, 0)
            }
        };

        let status = if remaining > 0 {
            "continuation_available"
        } else {
            "success"
        };
        let mut output = ToolOutput::new(status, content, "text");
        output.set_metadata("tool_name", json!(TOOL));
        output.set_metadata("cli_name", json!(client.name));
        output.set_metadata("role", json!(role.name));
        output.set_metadata("command", json!(finished.command));
        output.set_metadata("parser", json!(client.parser.name()));
        output.set_metadata("return_code", json!(finished.code));
        output.set_metadata("duration_seconds", json!(seconds(finished.duration)));
        if let Some(model) = &parsed.model {
            output.set_metadata("model_used", json!(model));
        }
        if let Some(usage) = &parsed.usage {
            output.set_metadata("usage", usage.clone());
        }
        if !refused.is_empty() {
            output.set_metadata("refused_files", json!(refused));
        }
        for (key, value) in parsed.extra.into_iter().chain(metadata) {
            output.set_metadata(&key, value);
        }
        if let (Some(id), true) = (thread, ContinuationOffer::fits(remaining)) {
            let note = format!(
                "To carry on with this CLI or any other tool and model, pass continuation_id \
                 {id} ({remaining} turns left)."
            );
            output.set(
                "continuation_offer",
                ContinuationOffer::value(id, remaining, note),
            );
        }
        Ok(output)
    }
}

/// Checks the paths of `field`: a relative path fails the call; a missing or
/// forbidden one is left out and reported.
fn references(raw: &[String], field: &str) -> Result<(Vec<PathBuf>, Vec<Refusal>)> {
    let mut paths = Vec::new();
    let mut refused = Vec::new();
    for entry in raw {
        match files::resolve_path(entry, field)? {
            Ok(path) if !paths.contains(&path) => paths.push(path),
            Ok(_) => {}
            Err(refusal) => refused.push(refusal),
        }
    }
    Ok((paths, refused))
}

/// Reads the CLI's answer from a finished run, or says why there is none.
/// Extra facts (stderr, a fallback to raw text) go into `metadata`.
fn interpret(
    client: &Client,
    run: &Finished,
    metadata: &mut Map<String, Value>,
) -> Result<Parsed, String> {
    let stderr = run.stderr.trim();
    if !stderr.is_empty() {
        metadata.insert("stderr".into(), json!(tail(stderr)));
    }
    let parsed = client.parser.parse(&run.stdout, &run.stderr);
    let failed_because = |why: &str| {
        let output = if stderr.is_empty() {
            run.stdout.trim()
        } else {
            stderr
        };
        let end = if output.is_empty() {
            "It printed nothing.".to_owned()
        } else {
            format!("The end of its output:\n{}", tail(output))
        };
        format!("The `{}` CLI failed ({why}). {end}", client.name)
    };
    let exit = match run.code {
        Some(0) => None,
        Some(code) => Some(format!("exit status {code}")),
        None => Some("ended by a signal".to_owned()),
    };
    match (exit, parsed) {
        (None, Ok(parsed)) => Ok(parsed),
        // Some CLIs exit non-zero after a usable structured answer; keep it.
        (Some(_), Ok(parsed)) if run.code.is_some() && client.parser != Parser::Text => Ok(parsed),
        (None, Err(err)) if !err.fatal && !run.stdout.trim().is_empty() => {
            metadata.insert("parser_fallback".into(), json!(err.message));
            Ok(Parsed {
                content: run.stdout.trim().to_owned(),
                ..Parsed::default()
            })
        }
        (None, Err(err)) => Err(failed_because(&err.message)),
        (Some(exit), Err(err)) if err.fatal => {
            Err(failed_because(&format!("{exit}; {}", err.message)))
        }
        (Some(exit), _) => Err(failed_because(&exit)),
    }
}

/// An error answer naming the CLI and role.
fn failure(client: &Client, role: &Role, message: String) -> ToolOutput {
    let mut output = ToolOutput::new("error", message, "text");
    output.set_metadata("tool_name", json!(TOOL));
    output.set_metadata("cli_name", json!(client.name));
    output.set_metadata("role", json!(role.name));
    output
}

/// Keeps an answer within [`MAX_OUTPUT_CHARS`]: a longer one is replaced by
/// its `<SUMMARY>` block, or else by its beginning with a note.
fn cap_output(cli: &str, content: String, metadata: &mut Map<String, Value>) -> String {
    let total = content.chars().count();
    if total <= MAX_OUTPUT_CHARS {
        return content;
    }
    metadata.insert("output_original_length".into(), json!(total));
    metadata.insert("output_limit".into(), json!(MAX_OUTPUT_CHARS));
    if let Some(summary) = summary_block(&content) {
        let summary = take_chars(summary, MAX_OUTPUT_CHARS - 200);
        metadata.insert("output_summarized".into(), json!(true));
        metadata.insert(
            "output_summary_length".into(),
            json!(summary.chars().count()),
        );
        return format!(
            "(The `{cli}` CLI's answer ran to {total} characters, over the {MAX_OUTPUT_CHARS} \
             clink passes on; this is the summary it gave.)\n\n{summary}"
        );
    }
    let excerpt = take_chars(&content, EXCERPT_CHARS);
    metadata.insert("output_truncated".into(), json!(true));
    metadata.insert(
        "output_excerpt_length".into(),
        json!(excerpt.chars().count()),
    );
    format!(
        "The `{cli}` CLI's answer ran to {total} characters, over the {MAX_OUTPUT_CHARS} clink \
         passes on, and had no <SUMMARY> block. Its first {EXCERPT_CHARS} characters follow; ask \
         for a narrower answer, or run the CLI directly for all of it.\n\n--- excerpt ---\n\
         {excerpt}\n--- end of excerpt ---"
    )
}

/// The text of the first `<SUMMARY>…</SUMMARY>` block (any case), if not empty.
fn summary_block(text: &str) -> Option<&str> {
    // ASCII lowercasing keeps byte offsets, so they index `text` too.
    let lower = text.to_ascii_lowercase();
    let start = lower.find("<summary>")? + "<summary>".len();
    let end = start + lower[start..].find("</summary>")?;
    Some(text[start..end].trim()).filter(|s| !s.is_empty())
}

fn take_chars(text: &str, n: usize) -> &str {
    match text.char_indices().nth(n) {
        Some((at, _)) => &text[..at],
        None => text,
    }
}

/// The last [`TAIL_CHARS`] characters of `text`.
fn tail(text: &str) -> String {
    let count = text.chars().count();
    if count <= TAIL_CHARS {
        return text.to_owned();
    }
    let skip = count - TAIL_CHARS;
    let start = text.char_indices().nth(skip).map_or(0, |(at, _)| at);
    format!("…{}", &text[start..])
}

fn seconds(duration: std::time::Duration) -> f64 {
    (duration.as_secs_f64() * 1000.0).round() / 1000.0
}

struct PromptParts<'a> {
    role_prompt: Option<&'a str>,
    locale: Option<&'a str>,
    chain: &'a [Thread],
    request: &'a str,
    files: &'a [PathBuf],
    images: &'a [PathBuf],
}

/// The prompt the CLI reads on stdin.
fn cli_prompt(parts: &PromptParts<'_>) -> String {
    let mut sections: Vec<String> = Vec::new();
    if let Some(role) = parts.role_prompt.map(str::trim).filter(|r| !r.is_empty()) {
        sections.push(role.to_owned());
    }
    let mut guidance = "Another AI assistant started you through zen to handle the request \
        below. Use your own tools (reading files, searching, running commands, looking things \
        up) to gather what you need, and answer directly; don't ask the caller to fetch anything \
        for you."
        .to_owned();
    if let Some(locale) = parts.locale {
        guidance.push_str(&format!(" Always respond in {locale}."));
    }
    sections.push(guidance);
    if let Some(history) = history(parts.chain) {
        sections.push(history);
    }
    sections.push(format!("=== REQUEST ===\n{}", parts.request.trim()));
    if !parts.files.is_empty() {
        let list: Vec<String> = parts.files.iter().map(|p| describe(p)).collect();
        sections.push(format!(
            "=== FILES TO READ ===\nRead these yourself as you need them:\n{}",
            list.join("\n")
        ));
    }
    if !parts.images.is_empty() {
        let list: Vec<String> = parts
            .images
            .iter()
            .map(|p| format!("- {}", p.display()))
            .collect();
        sections.push(format!("=== IMAGES TO VIEW ===\n{}", list.join("\n")));
    }
    sections.push("Write your answer below.".into());
    sections.join("\n\n")
}

/// One line about a file or folder: its path, size and last change.
fn describe(path: &std::path::Path) -> String {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => format!("- {} (folder)", path.display()),
        Ok(meta) => {
            let changed = meta
                .modified()
                .map(|t| format!(", changed {}", humantime::format_rfc3339_seconds(t)))
                .unwrap_or_default();
            format!("- {} ({} bytes{changed})", path.display(), meta.len())
        }
        Err(_) => format!("- {} (can't be read now)", path.display()),
    }
}

/// The earlier turns of the conversation, newest kept within [`HISTORY_CHARS`].
fn history(chain: &[Thread]) -> Option<String> {
    let first = chain.first()?;
    let turns: Vec<&Turn> = chain.iter().flat_map(|t| t.turns.iter()).collect();
    if turns.is_empty() {
        return None;
    }
    let mut kept = Vec::new();
    let mut used = 0;
    for (index, turn) in turns.iter().enumerate().rev() {
        let tool = turn.tool_name.as_deref().unwrap_or("a tool");
        let speaker = match turn.role {
            Speaker::User => format!("the requesting assistant, via {tool}"),
            Speaker::Assistant => {
                format!(
                    "{}, via {tool}",
                    turn.model_name.as_deref().unwrap_or("a model")
                )
            }
        };
        let mut text = format!(
            "--- Turn {}: {speaker} ---\n{}\n",
            index + 1,
            turn.content.trim()
        );
        if !turn.files.is_empty() {
            text.push_str(&format!("(files: {})\n", turn.files.join(", ")));
        }
        used += text.len();
        if used > HISTORY_CHARS && !kept.is_empty() {
            break;
        }
        kept.push(text);
    }
    let left_out = turns.len() - kept.len();
    kept.reverse();
    let mut text = format!(
        "=== CONVERSATION SO FAR ===\nThis request continues a conversation that began with the \
         `{}` tool; its earlier turns follow, oldest first. Build on them rather than repeating them.\n",
        first.tool_name
    );
    if left_out > 0 {
        text.push_str(&format!(
            "(The {left_out} oldest turns are left out for length.)\n"
        ));
    }
    for turn in kept {
        text.push_str(&turn);
    }
    text.push_str("=== END OF CONVERSATION ===");
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_keep_their_summary_or_an_excerpt() {
        let mut meta = Map::new();
        let long = format!(
            "{}<Summary> the gist </SUMMARY>",
            "é".repeat(MAX_OUTPUT_CHARS)
        );
        let capped = cap_output("gemini", long, &mut meta);
        assert!(capped.ends_with("the gist"), "{capped}");
        assert_eq!(meta["output_summarized"], json!(true));

        let mut meta = Map::new();
        let capped = cap_output("codex", "x".repeat(MAX_OUTPUT_CHARS + 1), &mut meta);
        assert!(capped.contains(&"x".repeat(EXCERPT_CHARS)));
        assert!(!capped.contains(&"x".repeat(EXCERPT_CHARS + 1)));
        assert_eq!(meta["output_truncated"], json!(true));

        assert_eq!(
            tail(&"ab".repeat(TAIL_CHARS)).chars().count(),
            TAIL_CHARS + 1
        );
    }
}
