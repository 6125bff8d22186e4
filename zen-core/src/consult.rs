//! One consultation of a model: the flow every simple tool shares.
//!
//! request → load the conversation (if continuing) → choose the model → gather
//! files and images → check the inline prompt size → build the prompt within
//! the budget (history once, each file once) → call the provider → record the
//! turns → reply with the `continuation_id` to carry on with.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::Value;

use crate::conversation::{self, ContinuationId, Thread, Turn};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::files::{self, Refusal};
use crate::models::{ResolvedModel, ToolCategory};
use crate::prompt::{self, Budget};
use crate::providers::{GenerateRequest, ThinkingMode, Usage};

/// What a tool asks of a model.
#[derive(Debug, Clone, Default)]
pub struct ConsultRequest {
    /// The tool asking (recorded on each turn).
    pub tool_name: String,
    /// The client's request.
    pub prompt: String,
    /// The tool's instructions to the model.
    pub system_prompt: Option<String>,
    /// More instructions, added for models allowed to generate code.
    pub code_generation_prompt: Option<String>,
    /// Absolute paths of files and folders to include.
    pub files: Vec<String>,
    /// Images: absolute paths or `data:` URLs.
    pub images: Vec<String>,
    /// The conversation to continue, as the client gave it.
    pub continuation_id: Option<String>,
    /// The model asked for, if any.
    pub model: Option<String>,
    /// What kind of model auto mode should pick.
    pub category: Option<ToolCategory>,
    /// Requested temperature.
    pub temperature: Option<f64>,
    /// Requested thinking mode.
    pub thinking_mode: Option<ThinkingMode>,
    /// The call's arguments, kept on a new thread.
    pub arguments: Value,
}

/// A model's answer, with what a client needs to carry on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsultReply {
    /// The model's reply.
    pub content: String,
    /// The conversation to continue with.
    pub continuation_id: ContinuationId,
    /// Turns left before the conversation is full.
    pub remaining_turns: u32,
    /// The model that answered.
    pub model: ResolvedModel,
    /// Tokens used.
    pub usage: Usage,
    /// Why the model stopped, as reported.
    pub finish_reason: Option<String>,
    /// Paths refused, each with the reason.
    pub refused_files: Vec<Refusal>,
    /// Things left out of the prompt to fit the budget, as sentences.
    pub left_out: Vec<String>,
    /// The model first chosen, when its provider failed and another answered.
    pub fallback_from: Option<String>,
}

/// The result of a consultation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum ConsultOutcome {
    /// The model answered.
    Reply(ConsultReply),
    /// The prompt is too long to send inline: the client should save it to a
    /// file named `prompt.txt` and attach that instead.
    ResendPrompt {
        /// What to do, for the client.
        message: String,
        /// Characters sent.
        prompt_chars: usize,
        /// Characters allowed inline.
        limit_chars: usize,
    },
}

impl Engine {
    /// Runs one consultation (see the module documentation).
    pub async fn consult(&self, request: ConsultRequest) -> Result<ConsultOutcome> {
        let config = self.config();
        let idle_hours = config.conversation_timeout.as_secs_f64() / 3600.0;
        let max_turns = config.max_conversation_turns;

        // The conversation, when continuing.
        let (chain, continuing) = match request.continuation_id.as_deref().map(str::trim) {
            Some(raw) if !raw.is_empty() => {
                let id = ContinuationId::parse(raw)?;
                let chain = conversation::load_chain(self.store(), id, idle_hours).await?;
                if let Some(current) = chain.last()
                    && current.turns.len() + 2 > max_turns as usize
                {
                    return Err(Error::ConversationFull {
                        id: id.to_string(),
                        max_turns,
                    });
                }
                (chain, Some(id))
            }
            _ => (Vec::new(), None),
        };

        // A prompt too long to send inline is sent back before anything else.
        let limit_chars = prompt::inline_prompt_limit(config.max_mcp_output_tokens);
        let prompt_chars = request.prompt.chars().count();
        if prompt_chars > limit_chars {
            return Ok(ConsultOutcome::ResendPrompt {
                message: format!(
                    "The prompt is {prompt_chars} characters, more than the {limit_chars} an MCP \
                     request may carry here. Save it to a file named prompt.txt, attach that \
                     file's absolute path, and send the request again with a short prompt."
                ),
                prompt_chars,
                limit_chars,
            });
        }

        let (model, how) = self.model_for(&request, &chain).await?;

        // Files: checked and expanded; `prompt.txt` is the prompt itself.
        let expanded = self
            .file_cache()
            .expand_paths(&request.files, "absolute_file_paths")?;
        let mut file_paths = expanded.files;
        let refused_files = expanded.refused;
        let mut prompt_text = request.prompt.clone();
        if let Some(prompt_file) = files::take_prompt_file(&mut file_paths) {
            let from_file = self.file_cache().read_prompt_file(&prompt_file)?;
            prompt_text = if prompt_text.trim().is_empty() {
                from_file
            } else {
                format!("{from_file}\n\n{prompt_text}")
            };
        }
        if prompt_text.trim().is_empty() {
            return Err(Error::invalid(
                "prompt",
                "the prompt is empty; say what you want the model to do",
            ));
        }

        let mut images = self
            .file_cache()
            .load_images(&request.images, &model.spec)?;
        let budget = Budget::for_context(model.spec.context_window.max(4_096));

        // Newly attached files first: they are the newest, and get line numbers.
        let current: HashSet<String> = file_paths.iter().map(|p| p.display().to_string()).collect();
        let files::FileSection {
            text: file_section,
            remaining: file_budget,
            mut left_out,
        } = self
            .file_cache()
            .read_section(&file_paths, budget.files, true);

        let history = prompt::build_history(
            self.file_cache(),
            &chain,
            &current,
            file_budget,
            budget.history,
        );

        // Images from earlier turns come along (newest first, each once) for a
        // model that can see them, within the per-request limit; one that can
        // no longer be loaded is noted, not fatal.
        if model.spec.supports_images {
            let earlier: Vec<String> = history
                .images
                .iter()
                .filter(|image| !request.images.contains(image))
                .take(files::MAX_IMAGES.saturating_sub(images.len()))
                .cloned()
                .collect();
            for image in earlier {
                match self
                    .file_cache()
                    .load_images(std::slice::from_ref(&image), &model.spec)
                {
                    Ok(loaded) => images.extend(loaded),
                    Err(err) => left_out.push(format!("an earlier image ({err})")),
                }
            }
        }

        let mut user_prompt = history.text.clone();
        if !file_section.is_empty() {
            user_prompt.push_str("\n=== FILES ===\n");
            user_prompt.push_str(&file_section);
        }
        if !left_out.is_empty() {
            user_prompt.push_str(&format!(
                "\nNote: these attached files are not included in full: {}.\n",
                left_out.join("; ")
            ));
        }
        // The history's own note is already in its text; the reply lists both.
        left_out.extend(prompt::left_out_note(&history));
        if user_prompt.is_empty() {
            user_prompt = prompt_text.clone();
        } else {
            user_prompt.push_str("\n=== REQUEST ===\n");
            user_prompt.push_str(&prompt_text);
        }

        let mut system_prompt = request.system_prompt.clone();
        if model.spec.allow_code_generation
            && let Some(extra) = &request.code_generation_prompt
        {
            system_prompt = Some(match system_prompt {
                Some(text) => format!("{text}\n\n{extra}"),
                None => extra.clone(),
            });
        }
        if let Some(locale) = &config.locale {
            let line = format!("Always respond in {locale}.");
            system_prompt = Some(match system_prompt {
                Some(text) => format!("{line}\n\n{text}"),
                None => line,
            });
        }

        let generate = GenerateRequest {
            prompt: user_prompt,
            system_prompt,
            temperature: request.temperature,
            thinking_mode: request.thinking_mode,
            max_output_tokens: None,
            images,
        };
        let (reply, model, fallback_from) = self
            .generate_with_fallback(model, how, &request, &generate)
            .await?;

        // Record the exchange: the client's own words, not the expanded prompt.
        let mut user_turn = Turn::user(prompt_text, &request.tool_name);
        user_turn.files = file_paths.iter().map(|p| p.display().to_string()).collect();
        user_turn.images = request.images.clone();
        let mut model_turn = Turn::assistant(reply.content.clone(), &request.tool_name);
        model_turn.provider = Some(model.provider.id().to_owned());
        model_turn.model_name = Some(model.api_name.clone());
        model_turn.usage = Some(reply.usage);
        let turns = vec![user_turn, model_turn];

        let (continuation_id, remaining_turns) = match continuing {
            Some(id) => match self.store().append(id, turns, max_turns).await {
                Ok(thread) => (id, remaining(max_turns, &thread)),
                Err(err) => {
                    // The answer is never lost: the conversation just ends here.
                    tracing::warn!("could not record the turn in {id}: {err}");
                    (id, 0)
                }
            },
            None => {
                let mut thread = Thread::new(&request.tool_name, request.arguments.clone(), None);
                thread.turns = turns;
                let id = thread.id;
                let left = remaining(max_turns, &thread);
                self.store().insert(thread).await?;
                (id, left)
            }
        };

        Ok(ConsultOutcome::Reply(ConsultReply {
            content: reply.content,
            continuation_id,
            remaining_turns,
            model,
            usage: reply.usage,
            finish_reason: reply.finish_reason,
            refused_files,
            left_out,
            fallback_from,
        }))
    }

    /// Calls `model`; when its provider fails (breaker open, busy, or a
    /// transient error after retries) and falling back is allowed — the model
    /// was auto mode's choice, or `ZEN_FALLBACK=on` — tries the next provider
    /// with a suitable model: the same model elsewhere, else auto mode's next
    /// choice. Returns the reply, the model that gave it, and the first
    /// model's name when another answered.
    async fn generate_with_fallback(
        &self,
        model: ResolvedModel,
        how: Chosen,
        request: &ConsultRequest,
        generate: &GenerateRequest,
    ) -> Result<(
        crate::providers::GenerateResponse,
        ResolvedModel,
        Option<String>,
    )> {
        let allowed = how == Chosen::Auto || self.resilience().policy().fallback_named;
        let category = request.category.unwrap_or(ToolCategory::Balanced);
        let mut failed = Vec::new();
        let mut current = model.clone();
        // Bounded: each round leaves out one more provider.
        for _ in 0..=crate::providers::ProviderKind::PRIORITY.len() {
            let err = match self.generate(&current, generate).await {
                Ok(reply) => {
                    let from = (current != model).then(|| model.api_name.clone());
                    return Ok((reply, current, from));
                }
                Err(err) => err,
            };
            // Another provider may answer what this one can't now.
            if !allowed || !err.is_retryable() {
                return Err(err);
            }
            failed.push(current.provider);
            let registry = self.registry();
            let next = match how {
                Chosen::Auto => registry.auto_select_excluding(category, &failed).ok(),
                _ => registry
                    .same_model_elsewhere(&model, &failed)
                    .or_else(|| registry.auto_select_excluding(category, &failed).ok()),
            };
            let Some(next) = next else {
                return Err(err);
            };
            tracing::warn!(
                "{} failed ({err}); falling back to {} ({})",
                current.api_name,
                next.api_name,
                next.provider
            );
            current = next;
        }
        Err(Error::NoProvider)
    }

    /// Records `turns` without calling a model (a workflow step, say): appends
    /// them to the conversation `continuation_id` names, or starts a new one
    /// for `tool_name` with `arguments` when it is `None`. Returns the id to
    /// continue with and the turns left.
    pub async fn record_turns(
        &self,
        continuation_id: Option<&str>,
        tool_name: &str,
        arguments: &Value,
        turns: Vec<Turn>,
    ) -> Result<(ContinuationId, u32)> {
        let max_turns = self.config().max_conversation_turns;
        match continuation_id.map(str::trim).filter(|c| !c.is_empty()) {
            Some(raw) => {
                let id = ContinuationId::parse(raw)?;
                let thread = self.store().append(id, turns, max_turns).await?;
                Ok((id, remaining(max_turns, &thread)))
            }
            None => {
                let mut thread = Thread::new(tool_name, arguments.clone(), None);
                if turns.len() > max_turns as usize {
                    return Err(Error::ConversationFull {
                        id: thread.id.to_string(),
                        max_turns,
                    });
                }
                thread.turns = turns;
                let id = thread.id;
                let left = remaining(max_turns, &thread);
                self.store().insert(thread).await?;
                Ok((id, left))
            }
        }
    }

    /// The conversation `continuation_id` names, with its ancestors, oldest first.
    pub async fn conversation(&self, continuation_id: &str) -> Result<Vec<Thread>> {
        let id = ContinuationId::parse(continuation_id)?;
        let idle_hours = self.config().conversation_timeout.as_secs_f64() / 3600.0;
        conversation::load_chain(self.store(), id, idle_hours).await
    }

    /// The model for a consultation: the one named, else the model of the
    /// conversation's last reply, else `DEFAULT_MODEL` or auto mode's choice.
    async fn model_for(
        &self,
        request: &ConsultRequest,
        chain: &[Thread],
    ) -> Result<(ResolvedModel, Chosen)> {
        let named = request
            .model
            .as_deref()
            .map(str::trim)
            .filter(|m| !m.is_empty() && !m.eq_ignore_ascii_case("auto"));
        let category = request.category.unwrap_or(ToolCategory::Balanced);
        if named.is_none()
            && let Some(last) = chain
                .iter()
                .rev()
                .find_map(|t| t.last_assistant_turn())
                .and_then(|t| t.model_name.clone())
            && let Ok(model) = self.resolve_model(&last).await
        {
            return Ok((model, Chosen::Conversation));
        }
        let how = match named {
            Some(_) => Chosen::Named,
            None if !self.config().is_auto_mode() => Chosen::Named,
            None => Chosen::Auto,
        };
        Ok((self.select_model(named, category).await?, how))
    }
}

/// How a consultation's model was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chosen {
    /// Named by the client, or `DEFAULT_MODEL`.
    Named,
    /// The model of the conversation's last answer.
    Conversation,
    /// Auto mode's choice.
    Auto,
}

fn remaining(max_turns: u32, thread: &Thread) -> u32 {
    max_turns.saturating_sub(u32::try_from(thread.turns.len()).unwrap_or(u32::MAX))
}
