//! Earlier turns rebuilt into the prompt: once, newest kept first, files
//! embedded once at their current content, within budget.

use std::collections::HashSet;
use std::path::Path;

use crate::conversation::{Role, Thread, Turn, newest_first};
use crate::files::{BlockStatus, FileCache};
use crate::tokens::estimate_tokens;

/// The history section of a prompt, and what had to be left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// The section's text (empty when there are no earlier turns).
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u64,
    /// Files embedded, newest first.
    pub files_embedded: Vec<String>,
    /// Files left out (budget, size or unreadable), with the reason.
    pub files_left_out: Vec<(String, String)>,
    /// Turns in the chain.
    pub turns_total: usize,
    /// Oldest turns left out to fit the budget.
    pub turns_left_out: usize,
    /// Images from earlier turns, newest first, each once.
    pub images: Vec<String>,
}

/// Builds the history of `chain` (threads oldest first). Files also attached to
/// the current request (`current_files`) are left to the request, so each file
/// appears once. `file_budget` and `history_budget` are in tokens. Files
/// are read through `files`, so an unchanged one is not read again.
pub fn build_history(
    files: &FileCache,
    chain: &[Thread],
    current_files: &HashSet<String>,
    file_budget: u64,
    history_budget: u64,
) -> History {
    let turns: Vec<&Turn> = chain.iter().flat_map(|t| t.turns.iter()).collect();
    let mut history = History {
        turns_total: turns.len(),
        ..History::default()
    };
    let Some(first) = chain.first() else {
        return history;
    };
    if turns.is_empty() {
        return history;
    }

    // Files newest first, each once; the current request's files are skipped.
    let ordered: Vec<&str> = newest_first(turns.iter().map(|t| &t.files))
        .into_iter()
        .filter(|file| !current_files.contains(*file))
        .collect();
    history.images = newest_first(turns.iter().map(|t| &t.images))
        .into_iter()
        .map(str::to_owned)
        .collect();

    // Embed newest first; once one does not fit, the older ones go too.
    let mut file_blocks = Vec::new();
    let mut remaining = file_budget;
    let mut out_of_room = false;
    for path in ordered {
        if out_of_room {
            history
                .files_left_out
                .push((path.to_owned(), "left out to fit the context window".into()));
            continue;
        }
        let block = files.read_file_block(Path::new(path), remaining, false);
        match &block.status {
            BlockStatus::Embedded => {
                remaining = remaining.saturating_sub(block.tokens);
                history.files_embedded.push(path.to_owned());
                file_blocks.push(block.text);
            }
            BlockStatus::OverBudget { .. } => {
                out_of_room = true;
                history
                    .files_left_out
                    .push((path.to_owned(), "left out to fit the context window".into()));
            }
            other => history
                .files_left_out
                .push((path.to_owned(), other.to_string())),
        }
    }

    // Turns newest first, until the history budget is spent; shown oldest first.
    let mut kept: Vec<String> = Vec::new();
    let mut used = 0u64;
    for (index, turn) in turns.iter().enumerate().rev() {
        let text = format_turn(index + 1, turn);
        let tokens = estimate_tokens(&text);
        if used + tokens > history_budget {
            history.turns_left_out = index + 1;
            break;
        }
        used += tokens;
        kept.push(text);
    }
    kept.reverse();

    let mut text = format!(
        "=== CONVERSATION HISTORY ===\nThis continues a conversation (continuation_id {}) that \
         began with the `{}` tool. Earlier turns follow, oldest first. Files the conversation \
         used are shown once, as they are now; build on what was said rather than repeating it.\n",
        chain.last().map_or(first.id, |t| t.id),
        first.tool_name
    );
    if let Some(note) = left_out_note(&history) {
        text.push_str(&note);
        text.push('\n');
    }
    if !file_blocks.is_empty() {
        text.push_str("\n=== FILES FROM EARLIER TURNS ===\n");
        for block in &file_blocks {
            text.push_str(block);
        }
    }
    for turn in &kept {
        text.push('\n');
        text.push_str(turn);
    }
    text.push_str("\n=== END OF CONVERSATION HISTORY ===\n");
    history.tokens = estimate_tokens(&text);
    history.text = text;
    history
}

fn format_turn(number: usize, turn: &Turn) -> String {
    let tool = turn.tool_name.as_deref().unwrap_or("unknown tool");
    let speaker = match turn.role {
        Role::User => format!("the agent, via {tool}"),
        Role::Assistant => {
            let model = turn.model_name.as_deref().unwrap_or("a model");
            match &turn.provider {
                Some(provider) => format!("{model} ({provider}), via {tool}"),
                None => format!("{model}, via {tool}"),
            }
        }
    };
    let mut text = format!("--- Turn {number}: {speaker} ---\n{}\n", turn.content);
    if !turn.files.is_empty() {
        text.push_str(&format!("(files: {})\n", turn.files.join(", ")));
    }
    text
}

/// A sentence saying what was left out, if anything was.
pub fn left_out_note(history: &History) -> Option<String> {
    let mut parts = Vec::new();
    if history.turns_left_out > 0 {
        parts.push(format!(
            "the {} oldest of {} turns",
            history.turns_left_out, history.turns_total
        ));
    }
    if !history.files_left_out.is_empty() {
        let names: Vec<String> = history
            .files_left_out
            .iter()
            .map(|(path, why)| format!("{path} ({why})"))
            .collect();
        parts.push(format!("files {}", names.join(", ")));
    }
    (!parts.is_empty()).then(|| {
        format!(
            "Note: to fit the model's context window, this history leaves out {}.",
            parts.join(" and ")
        )
    })
}
