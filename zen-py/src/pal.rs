//! `zen._zen.PalBridge`: what `zen.compat.pal` needs from the engine to serve
//! parts of the Python PAL server — its conversation threads in PAL's JSON
//! shape, the history text, file reading, and model calls.
//!
//! PAL keeps a thread as the JSON of its `ThreadContext` (`thread_id`,
//! `parent_thread_id`, `created_at`, `last_updated_at`, `tool_name`, `turns`,
//! `initial_context`), each turn as a `ConversationTurn` (`role`, `content`,
//! `timestamp`, `files`, `images`, `tool_name`, `model_provider`,
//! `model_name`, `model_metadata`). The bridge turns those into zen's own
//! [`Thread`] and [`Turn`] and back, without losing a field, so that zen's
//! store holds the threads and zen's tools can carry on a PAL conversation.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use zen_core::conversation::{self, ContinuationId, MAX_CHAIN_DEPTH, Role, Thread, Turn};
use zen_core::providers::{GenerateRequest, ThinkingMode};
use zen_core::{ErrorKind, files, prompt, tokens};

use crate::convert::to_python;
use crate::engine::PyEngine;
use crate::errors::to_pyerr;
use crate::runtime::block_on;

/// A turn as PAL stores it.
#[derive(Debug, Serialize, Deserialize)]
struct PalTurn {
    role: String,
    content: String,
    timestamp: String,
    #[serde(default)]
    files: Option<Vec<String>>,
    #[serde(default)]
    images: Option<Vec<String>>,
    #[serde(default)]
    tool_name: Option<String>,
    #[serde(default)]
    model_provider: Option<String>,
    #[serde(default)]
    model_name: Option<String>,
    #[serde(default)]
    model_metadata: Option<Value>,
}

/// A thread as PAL stores it.
#[derive(Debug, Serialize, Deserialize)]
struct PalThread {
    thread_id: String,
    #[serde(default)]
    parent_thread_id: Option<String>,
    created_at: String,
    last_updated_at: String,
    tool_name: String,
    #[serde(default)]
    turns: Vec<PalTurn>,
    #[serde(default)]
    initial_context: Value,
}

/// Reads an ISO-8601 time as Python's `datetime.isoformat()` writes it
/// (`2026-05-01T10:00:00.123456+00:00`), also with `Z` or no offset (UTC).
fn parse_time(field: &str, text: &str) -> PyResult<SystemTime> {
    let bad = || {
        PyValueError::new_err(format!(
            "{field} must be an ISO-8601 time such as 2026-05-01T10:00:00+00:00, not {text:?}"
        ))
    };
    let (base, offset_secs) = split_offset(text).ok_or_else(bad)?;
    let local = humantime::parse_rfc3339_weak(base).map_err(|_| bad())?;
    let shift = Duration::from_secs(offset_secs.unsigned_abs());
    let utc = if offset_secs >= 0 {
        local.checked_sub(shift)
    } else {
        local.checked_add(shift)
    };
    utc.ok_or_else(bad)
}

/// Splits `text` into the time and its UTC offset in seconds.
fn split_offset(text: &str) -> Option<(&str, i64)> {
    if let Some(base) = text.strip_suffix('Z') {
        return Some((base, 0));
    }
    let bytes = text.as_bytes();
    let n = bytes.len();
    if n > 6 && matches!(bytes[n - 6], b'+' | b'-') && bytes[n - 3] == b':' {
        let hours: i64 = text.get(n - 5..n - 3)?.parse().ok()?;
        let minutes: i64 = text.get(n - 2..)?.parse().ok()?;
        let secs = hours * 3600 + minutes * 60;
        let sign = if bytes[n - 6] == b'-' { -1 } else { 1 };
        return Some((text.get(..n - 6)?, sign * secs));
    }
    Some((text, 0))
}

/// Writes a time as `datetime.isoformat()` does for UTC.
fn format_time(time: SystemTime) -> String {
    let text = humantime::format_rfc3339_micros(time).to_string();
    match text.strip_suffix('Z') {
        Some(base) => format!("{base}+00:00"),
        None => text,
    }
}

fn parse_id(field: &str, raw: &str) -> PyResult<ContinuationId> {
    ContinuationId::parse(raw)
        .map_err(|_| PyValueError::new_err(format!("{field} must be a UUID, not {raw:?}")))
}

fn owned(items: Vec<&str>) -> Vec<String> {
    items.into_iter().map(str::to_owned).collect()
}

fn bad_json(what: &str, err: serde_json::Error) -> PyErr {
    PyValueError::new_err(format!("{what} is not in PAL's shape: {err}"))
}

impl PalTurn {
    fn into_zen(self) -> PyResult<Turn> {
        let role = match self.role.as_str() {
            "user" => Role::User,
            "assistant" => Role::Assistant,
            other => {
                return Err(PyValueError::new_err(format!(
                    "a turn's role must be \"user\" or \"assistant\", not {other:?}"
                )));
            }
        };
        let mut turn = Turn::user(self.content, "");
        turn.role = role;
        turn.timestamp = parse_time("a turn's timestamp", &self.timestamp)?;
        turn.files = self.files.unwrap_or_default();
        turn.images = self.images.unwrap_or_default();
        turn.tool_name = self.tool_name;
        turn.provider = self.model_provider;
        turn.model_name = self.model_name;
        turn.metadata = self.model_metadata;
        Ok(turn)
    }

    fn from_zen(turn: &Turn) -> Self {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        // A turn recorded by zen's own tools has usage but no metadata; PAL
        // keeps token counts under `model_metadata.usage`.
        let metadata = turn
            .metadata
            .clone()
            .or_else(|| turn.usage.map(|u| serde_json::json!({ "usage": u })));
        PalTurn {
            role: match turn.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            }
            .to_owned(),
            content: turn.content.clone(),
            timestamp: format_time(turn.timestamp),
            files: list(&turn.files),
            images: list(&turn.images),
            tool_name: turn.tool_name.clone(),
            model_provider: turn.provider.clone(),
            model_name: turn.model_name.clone(),
            model_metadata: metadata,
        }
    }
}

impl PalThread {
    fn parse(json: &str) -> PyResult<Self> {
        serde_json::from_str(json).map_err(|e| bad_json("the thread", e))
    }

    fn into_zen(self) -> PyResult<Thread> {
        let mut thread = Thread::new(&self.tool_name, self.initial_context, None);
        thread.id = parse_id("thread_id", &self.thread_id)?;
        thread.parent_id = match self.parent_thread_id.as_deref() {
            None | Some("") => None,
            Some(raw) => Some(parse_id("parent_thread_id", raw)?),
        };
        thread.created_at = parse_time("created_at", &self.created_at)?;
        thread.updated_at = parse_time("last_updated_at", &self.last_updated_at)?;
        thread.turns = self
            .turns
            .into_iter()
            .map(PalTurn::into_zen)
            .collect::<PyResult<_>>()?;
        Ok(thread)
    }

    fn from_zen(thread: &Thread) -> Self {
        PalThread {
            thread_id: thread.id.to_string(),
            parent_thread_id: thread.parent_id.map(|p| p.to_string()),
            created_at: format_time(thread.created_at),
            last_updated_at: format_time(thread.updated_at),
            tool_name: thread.tool_name.clone(),
            turns: thread.turns.iter().map(PalTurn::from_zen).collect(),
            initial_context: match &thread.initial_request {
                Value::Null => Value::Object(Default::default()),
                other => other.clone(),
            },
        }
    }

    fn to_json(&self) -> PyResult<String> {
        serde_json::to_string(self)
            .map_err(|e| PyRuntimeError::new_err(format!("zen could not write a thread: {e}")))
    }
}

/// What the bridge served, by kind; `zen.compat.pal` reports these with the
/// engine's metrics.
#[derive(Debug, Default)]
struct Served {
    counts: [AtomicU64; SERVED.len()],
}

const SERVED: [&str; 8] = [
    "storage_reads",
    "storage_writes",
    "threads_created",
    "turns_added",
    "histories_built",
    "files_read",
    "paths_expanded",
    "model_calls",
];

impl Served {
    fn add(&self, what: &str) {
        if let Some(i) = SERVED.iter().position(|s| *s == what) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The engine as the Python PAL server's parts need it.
#[pyclass(frozen, module = "zen._zen", name = "PalBridge")]
#[derive(Debug)]
pub(crate) struct PalBridge {
    engine: zen_core::Engine,
    served: std::sync::Arc<Served>,
}

#[pymethods]
impl PalBridge {
    #[new]
    fn new(engine: &Bound<'_, PyEngine>) -> Self {
        PalBridge {
            engine: engine.get().engine.clone(),
            served: Default::default(),
        }
    }

    /// The stored thread `thread_id` as PAL's JSON, or None when it is not
    /// held (expired, never created, or not a UUID).
    fn thread_get(&self, py: Python<'_>, thread_id: &str) -> PyResult<Option<String>> {
        self.served.add("storage_reads");
        let Ok(id) = ContinuationId::parse(thread_id) else {
            return Ok(None);
        };
        let store = self.engine.store().clone();
        let found = block_on(py, async move {
            store
                .get(id)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })?;
        found.map(|t| PalThread::from_zen(&t).to_json()).transpose()
    }

    /// Stores (or replaces) a thread given as PAL's JSON.
    fn thread_put(&self, py: Python<'_>, context_json: &str) -> PyResult<()> {
        self.served.add("storage_writes");
        let thread = PalThread::parse(context_json)?.into_zen()?;
        self.insert(py, thread)
    }

    /// Starts a thread for `tool_name` and returns its id. The request's
    /// per-call settings (model, temperature, thinking_mode,
    /// continuation_id) are not kept, as in PAL.
    #[pyo3(signature = (tool_name, initial_request_json, parent_thread_id = None))]
    fn create_thread(
        &self,
        py: Python<'_>,
        tool_name: &str,
        initial_request_json: &str,
        parent_thread_id: Option<&str>,
    ) -> PyResult<String> {
        self.served.add("threads_created");
        let mut request: Value = serde_json::from_str(initial_request_json)
            .map_err(|e| bad_json("the initial request", e))?;
        if let Value::Object(map) = &mut request {
            for key in ["temperature", "thinking_mode", "model", "continuation_id"] {
                map.remove(key);
            }
        }
        let parent = parent_thread_id
            .filter(|p| !p.is_empty())
            .map(|p| parse_id("parent_thread_id", p))
            .transpose()?;
        let thread = Thread::new(tool_name, request, parent);
        let id = thread.id.to_string();
        self.insert(py, thread)?;
        Ok(id)
    }

    /// Appends one turn (PAL's JSON) to thread `thread_id` in one atomic
    /// step. False when the thread is gone or already has `max_turns` turns.
    fn add_turn(
        &self,
        py: Python<'_>,
        thread_id: &str,
        turn_json: &str,
        max_turns: u32,
    ) -> PyResult<bool> {
        self.served.add("turns_added");
        let Ok(id) = ContinuationId::parse(thread_id) else {
            return Ok(false);
        };
        let turn: PalTurn = serde_json::from_str(turn_json).map_err(|e| bad_json("the turn", e))?;
        let turn = turn.into_zen()?;
        let store = self.engine.store().clone();
        block_on(py, async move {
            match store.append(id, vec![turn], max_turns).await {
                Ok(_) => Ok(true),
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConversationNotFound | ErrorKind::ConversationFull
                    ) =>
                {
                    Ok(false)
                }
                Err(e) => Err(Python::attach(|py| to_pyerr(py, &e))),
            }
        })
    }

    /// Thread `thread_id` and its ancestors (PAL's JSON), oldest first, at
    /// most `max_depth` of them; a cycle or a missing ancestor ends the walk.
    #[pyo3(signature = (thread_id, max_depth = 20))]
    fn thread_chain(
        &self,
        py: Python<'_>,
        thread_id: &str,
        max_depth: usize,
    ) -> PyResult<Vec<String>> {
        self.served.add("storage_reads");
        let Ok(id) = ContinuationId::parse(thread_id) else {
            return Ok(Vec::new());
        };
        let chain = self.ancestors(py, Some(id), max_depth)?;
        chain
            .iter()
            .map(|t| PalThread::from_zen(t).to_json())
            .collect()
    }

    /// The files of a thread (PAL's JSON), each once, newest turn first.
    fn file_list(&self, context_json: &str) -> PyResult<Vec<String>> {
        let thread = PalThread::parse(context_json)?.into_zen()?;
        Ok(owned(conversation::newest_first(
            thread.turns.iter().map(|t| &t.files),
        )))
    }

    /// The images of a thread (PAL's JSON), each once, newest turn first.
    fn image_list(&self, context_json: &str) -> PyResult<Vec<String>> {
        let thread = PalThread::parse(context_json)?.into_zen()?;
        Ok(owned(conversation::newest_first(
            thread.turns.iter().map(|t| &t.images),
        )))
    }

    /// The conversation history of a thread (PAL's JSON) and its ancestors,
    /// with the files it used, as zen builds it within `file_tokens` and
    /// `history_tokens`, headed by `marker`. Returns the text, its estimated
    /// tokens and the files embedded.
    fn history(
        &self,
        py: Python<'_>,
        context_json: &str,
        file_tokens: u64,
        history_tokens: u64,
        marker: &str,
    ) -> PyResult<(String, u64, Vec<String>)> {
        self.served.add("histories_built");
        let thread = PalThread::parse(context_json)?.into_zen()?;
        let mut chain = self.ancestors(py, thread.parent_id, MAX_CHAIN_DEPTH - 1)?;
        chain.retain(|t| t.id != thread.id);
        chain.push(thread);
        let built = prompt::build_history(
            self.engine.file_cache(),
            &chain,
            &HashSet::new(),
            file_tokens,
            history_tokens,
        );
        if built.text.is_empty() {
            return Ok((String::new(), 0, Vec::new()));
        }
        // zen's own heading line gives way to the marker PAL's tools look for.
        let body = built.text.split_once('\n').map_or("", |(_, rest)| rest);
        let text = format!("{marker}\n{body}");
        let tokens = tokens::estimate_tokens(&text);
        Ok((text, tokens, built.files_embedded))
    }

    /// One file ready for a prompt, as zen reads it (zen's path checks,
    /// size cap, binary detection): the text and its estimated tokens. A
    /// file larger than `max_bytes` is left out, its block saying so.
    #[pyo3(signature = (path, line_numbers = false, max_bytes = None))]
    fn read_file(&self, path: &str, line_numbers: bool, max_bytes: Option<u64>) -> (String, u64) {
        self.served.add("files_read");
        let path = Path::new(path);
        let block = self
            .engine
            .file_cache()
            .read_file_block(path, u64::MAX / 4, line_numbers);
        // The size is looked up only when a smaller max_size was asked for.
        let size = match max_bytes {
            Some(_) if block.status == files::BlockStatus::Embedded => {
                std::fs::metadata(path).map_or(0, |m| m.len())
            }
            _ => 0,
        };
        match max_bytes {
            Some(max) if size > max => {
                let reason = format!("{size} bytes, over the max_size of {max} asked for");
                let text =
                    files::FileBlock::left_out(path, files::BlockStatus::Unreadable { reason })
                        .text;
                let tokens = tokens::estimate_tokens(&text);
                (text, tokens)
            }
            _ => (block.text, block.tokens),
        }
    }

    /// The files under `paths` (folders expanded, refused paths left out)
    /// read within `budget_tokens`, `code` first; files that do not fit are
    /// named in a note at the end.
    #[pyo3(signature = (paths, code = None, budget_tokens = 200_000, line_numbers = false))]
    fn read_files(
        &self,
        paths: Vec<String>,
        code: Option<String>,
        budget_tokens: u64,
        line_numbers: bool,
    ) -> PyResult<String> {
        self.served.add("files_read");
        let mut remaining = budget_tokens;
        let mut text = String::new();
        if let Some(code) = code.filter(|c| !c.is_empty()) {
            let block = format!("\n--- BEGIN CODE ---\n{code}\n--- END CODE ---\n");
            remaining = remaining.saturating_sub(tokens::estimate_tokens(&block));
            text.push_str(&block);
        }
        let expanded = self.expand_leniently(&paths)?;
        if expanded.files.is_empty() && !paths.is_empty() {
            // The marker PAL's reader writes when nothing was found.
            text.push_str(&format!(
                "\n--- NO FILES FOUND ---\nNo readable file under: {}\n--- END ---\n",
                paths.join(", ")
            ));
        }
        let files = self
            .engine
            .file_cache()
            .read_section(&expanded.files, remaining, line_numbers);
        text.push_str(&files.text);
        let mut left_out: Vec<String> = expanded.refused.iter().map(ToString::to_string).collect();
        left_out.extend(files.left_out);
        if !left_out.is_empty() {
            text.push_str(&format!("\n[Files left out: {}]\n", left_out.join("; ")));
        }
        Ok(text)
    }

    /// The readable text files under `paths` (absolute), folders expanded
    /// the way zen does (.gitignore honoured, refused paths left out).
    fn expand_paths(&self, paths: Vec<String>) -> PyResult<Vec<String>> {
        self.served.add("paths_expanded");
        Ok(self
            .expand_leniently(&paths)?
            .files
            .into_iter()
            .map(|p| p.display().to_string())
            .collect())
    }

    /// zen's token estimate of `text`.
    fn estimate_tokens(&self, text: &str) -> u64 {
        tokens::estimate_tokens(text)
    }

    /// Each file under `paths` with its estimated tokens, largest first.
    fn file_tokens(&self, paths: Vec<String>) -> PyResult<Vec<(String, u64)>> {
        let mut sized: Vec<(String, u64)> = self
            .expand_leniently(&paths)?
            .files
            .into_iter()
            .map(|p| {
                let bytes = std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                (
                    p.display().to_string(),
                    tokens::estimate_tokens_for_bytes(bytes),
                )
            })
            .collect();
        sized.sort_by_key(|s| std::cmp::Reverse(s.1));
        Ok(sized)
    }

    /// Asks `model` through zen's providers (limits, retries, breakers,
    /// metrics); await a dict with content, model_name, provider,
    /// provider_name, usage and finish_reason.
    #[pyo3(signature = (model, prompt, system_prompt = None, temperature = None,
                        thinking_mode = None, images = None, max_output_tokens = None))]
    #[allow(clippy::too_many_arguments)]
    fn generate<'py>(
        &self,
        py: Python<'py>,
        model: String,
        prompt: String,
        system_prompt: Option<String>,
        temperature: Option<f64>,
        thinking_mode: Option<String>,
        images: Option<Vec<String>>,
        max_output_tokens: Option<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.served.add("model_calls");
        let thinking = thinking_mode
            .as_deref()
            .map(ThinkingMode::from_str)
            .transpose()
            .map_err(|e| PyValueError::new_err(format!("thinking_mode: {e}")))?;
        let engine = self.engine.clone();
        pyo3_async_runtimes::tokio::future_into_py(py, async move {
            let result = async {
                let resolved = engine.resolve_model(&model).await?;
                let images = engine
                    .file_cache()
                    .load_images(&images.unwrap_or_default(), &resolved.spec)?;
                let request = GenerateRequest {
                    prompt,
                    system_prompt: system_prompt.filter(|s| !s.is_empty()),
                    temperature,
                    thinking_mode: thinking,
                    max_output_tokens,
                    images,
                };
                engine.generate(&resolved, &request).await
            }
            .await;
            Python::attach(|py| match result {
                Ok(reply) => {
                    let value = serde_json::json!({
                        "content": reply.content,
                        "model_name": reply.model_name,
                        "provider": reply.provider.id(),
                        "provider_name": reply.provider.display_name(),
                        "usage": reply.usage,
                        "finish_reason": reply.finish_reason,
                    });
                    Ok(to_python(py, &value)?.unbind())
                }
                Err(err) => Err(to_pyerr(py, &err)),
            })
        })
    }

    /// How many times each kind of request was served.
    fn counters(&self) -> HashMap<&'static str, u64> {
        SERVED
            .iter()
            .zip(&self.served.counts)
            .map(|(name, count)| (*name, count.load(Ordering::Relaxed)))
            .collect()
    }
}

impl PalBridge {
    /// Stores `thread`, replacing one with the same id.
    fn insert(&self, py: Python<'_>, thread: Thread) -> PyResult<()> {
        let store = self.engine.store().clone();
        block_on(py, async move {
            store
                .insert(thread)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })
    }

    /// Thread `start` and its ancestors from the store, oldest first.
    fn ancestors(
        &self,
        py: Python<'_>,
        start: Option<ContinuationId>,
        max_depth: usize,
    ) -> PyResult<Vec<Thread>> {
        let Some(start) = start else {
            return Ok(Vec::new());
        };
        let store = self.engine.store().clone();
        block_on(py, async move {
            conversation::load_ancestors(&store, start, max_depth)
                .await
                .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))
        })
    }

    /// The files under `paths`, expanded as zen does, taking paths as PAL's
    /// reader does: a relative one is skipped (and reported among the
    /// refused) rather than failing the call.
    fn expand_leniently(&self, paths: &[String]) -> PyResult<files::Expanded> {
        let (absolute, relative): (Vec<String>, Vec<String>) = paths
            .iter()
            .cloned()
            .partition(|p| Path::new(p).is_absolute());
        let mut expanded = files::expand_paths(&absolute, "paths")
            .map_err(|e| Python::attach(|py| to_pyerr(py, &e)))?;
        expanded.refused.extend(
            relative
                .into_iter()
                .map(|path| files::Refusal::new(path, "not an absolute path")),
        );
        Ok(expanded)
    }
}
