//! `zen_engine`: the engine handle and its blocking functions.

use std::ffi::c_char;

use serde_json::Value;
use zen_core::{Config, Engine};

use crate::error::Failure;
use crate::status::zen_status;
use crate::{input, owned_c_string, runtime};

/// An engine: the configured model providers, the model catalogue, the tools
/// and the conversations they continue. Opaque; create it with
/// `zen_engine_new` and free it with `zen_engine_free`.
///
/// Ownership: the caller owns the handle from `zen_engine_new` until it passes
/// it to `zen_engine_free`.
/// Thread-safety: every function taking a `const zen_engine *` may be called on
/// one engine from any number of threads at once. `zen_engine_free` must not
/// race with other uses of the same handle.
#[allow(non_camel_case_types)]
#[derive(Debug)]
pub struct zen_engine {
    pub(crate) engine: Engine,
}

/// Borrows the engine behind a handle.
///
/// # Safety
///
/// `ptr` is NULL or a live handle from `zen_engine_new`, alive for `'a`.
pub(crate) unsafe fn borrow<'a>(ptr: *const zen_engine) -> Result<&'a Engine, Failure> {
    // SAFETY: the caller guarantees a non-NULL `ptr` is a live handle.
    unsafe { ptr.as_ref() }
        .map(|handle| &handle.engine)
        .ok_or_else(|| Failure::null("engine"))
}

/// Hands out a serialized answer through `out`.
///
/// # Safety
///
/// `out` is a non-NULL, writable `char **`.
unsafe fn write_json(
    out: *mut *mut c_char,
    serialized: serde_json::Result<String>,
) -> Result<(), Failure> {
    let text = serialized.map_err(|err| {
        Failure::new(
            zen_status::Internal,
            format!("zen could not write its answer as JSON: {err}"),
        )
    })?;
    let string = owned_c_string(text)?;
    // SAFETY: the caller guarantees `out` is writable.
    unsafe { out.write(string) };
    Ok(())
}

/// Creates an engine. Makes no network call.
///
/// The first engine starts zen's runtime: one set of worker threads (named
/// `zen-worker`, as many as there are CPUs, or `TOKIO_WORKER_THREADS`) shared
/// by every engine of the process and kept until it exits. A process that
/// forks after that must `exec` before using zen in the child.
///
/// - `config_json`: a JSON object of settings, with the names and meanings of
///   the environment variables zen reads (`GEMINI_API_KEY`, `OPENAI_API_KEY`,
///   `OPENAI_BASE_URL`, `DEFAULT_MODEL`, `DISABLED_TOOLS`, …; see
///   docs/CONFIGURATION.md). Values are strings, numbers or booleans; `null`
///   leaves a setting unset. Only this object is read: neither the
///   environment nor a `.env` file. When `config_json` is NULL the settings are
///   read from the environment and `.env` instead, as the MCP server does.
/// - `out`: receives the new engine on success; untouched on failure.
///
/// Returns `ZEN_STATUS_OK`; `ZEN_STATUS_NULL_ARGUMENT` (`out` is NULL);
/// `ZEN_STATUS_INVALID_UTF8`; `ZEN_STATUS_INVALID_JSON`; `ZEN_STATUS_CONFIG`
/// (not an object, or a setting is wrong: the message names it);
/// `ZEN_STATUS_CATALOGUE`; `ZEN_STATUS_INTERNAL` (zen's runtime could not
/// start).
///
/// Ownership: `config_json` is borrowed for the call. The caller owns `*out`
/// and frees it with `zen_engine_free`.
/// Thread-safety: may be called from any thread, also several at once.
///
/// # Safety
///
/// `config_json` is NULL or a NUL-terminated string; `out` is NULL or points to
/// a writable `zen_engine *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_new(
    config_json: *const c_char,
    out: *mut *mut zen_engine,
) -> zen_status {
    ffi_boundary!({
        let out = input::out(out, "out")?;
        let config = if config_json.is_null() {
            Config::from_env()?
        } else {
            // SAFETY: non-NULL and NUL-terminated, as the caller guarantees.
            let text = unsafe { input::text(config_json, "config_json")? };
            Config::from_map(input::settings(input::json(text, "config_json")?)?)?
        };
        let runtime = runtime::get()?;
        let _context = runtime.enter();
        let engine = Engine::new(config)?;
        let handle = Box::into_raw(Box::new(zen_engine { engine }));
        // SAFETY: `out` is non-NULL and writable, as the caller guarantees.
        unsafe { out.write(handle) };
        Ok(())
    })
}

/// Frees an engine. Does nothing when `engine` is NULL.
///
/// Asynchronous calls still running on this engine are not cancelled: they
/// hold their own reference to it, finish, and invoke their callbacks as usual.
///
/// Ownership: takes ownership of `engine`, which must not be used afterwards.
/// Thread-safety: may be called from any thread, but not while another thread
/// is still using the same handle.
///
/// # Safety
///
/// `engine` is NULL or a handle from `zen_engine_new` not freed yet.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_free(engine: *mut zen_engine) {
    ffi_boundary!(default = (); {
        if !engine.is_null() {
            // SAFETY: the caller gives back a handle from `Box::into_raw`.
            let handle = unsafe { Box::from_raw(engine) };
            // Drop inside the runtime, for parts that may tidy up with it.
            match runtime::get() {
                Ok(runtime) => {
                    let _context = runtime.enter();
                    drop(handle);
                }
                Err(_) => drop(handle),
            }
        }
    })
}

/// The enabled tools, as a JSON array of objects with `name`, `description`,
/// `input_schema` (a JSON Schema of the arguments) and `annotations`.
///
/// `out_json` receives the JSON on success; untouched on failure.
/// Returns `ZEN_STATUS_OK` or `ZEN_STATUS_NULL_ARGUMENT`.
///
/// Ownership: the caller owns `*out_json` and frees it with `zen_string_free`.
/// Thread-safety: may be called on one engine from any number of threads at
/// once.
///
/// # Safety
///
/// `engine` is NULL or a live handle; `out_json` is NULL or points to a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_list_tools(
    engine: *const zen_engine,
    out_json: *mut *mut c_char,
) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let engine = unsafe { borrow(engine)? };
        let out = input::out(out_json, "out_json")?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { write_json(out, serde_json::to_string(&engine.tools())) }
    })
}

/// The models usable now, in provider priority order, as a JSON array of
/// objects with `provider`, `api_name` and `spec` (the catalogue entry:
/// `model_name`, `aliases`, `context_window`, `max_output_tokens`,
/// `intelligence_score`, capabilities…).
///
/// `out_json` receives the JSON on success; untouched on failure.
/// Returns `ZEN_STATUS_OK` or `ZEN_STATUS_NULL_ARGUMENT`.
///
/// Ownership: the caller owns `*out_json` and frees it with `zen_string_free`.
/// Thread-safety: may be called on one engine from any number of threads at
/// once.
///
/// # Safety
///
/// `engine` is NULL or a live handle; `out_json` is NULL or points to a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_list_models(
    engine: *const zen_engine,
    out_json: *mut *mut c_char,
) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let engine = unsafe { borrow(engine)? };
        let out = input::out(out_json, "out_json")?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { write_json(out, serde_json::to_string(&engine.models())) }
    })
}

/// A snapshot of the engine's figures, as a JSON object (the same as the
/// `metrics` tool): `version`, `uptime_seconds`, `tools` (per tool: calls,
/// errors by kind, latency histogram), `models` (per provider and model:
/// calls, errors, tokens in and out, retries, latency), `providers` (breaker
/// state, concurrency limit, in flight, waiting), `queue`, `conversations`
/// (`threads`, `bytes`) and `process` (`resident_bytes`). More fields may be
/// added.
///
/// `out_json` receives the JSON on success; untouched on failure.
/// Returns `ZEN_STATUS_OK` or `ZEN_STATUS_NULL_ARGUMENT`.
///
/// Ownership: the caller owns `*out_json` and frees it with `zen_string_free`.
/// Thread-safety: may be called on one engine from any number of threads at
/// once. Blocks the calling thread briefly.
///
/// # Safety
///
/// `engine` is NULL or a live handle; `out_json` is NULL or points to a
/// writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_metrics(
    engine: *const zen_engine,
    out_json: *mut *mut c_char,
) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let engine = unsafe { borrow(engine)? };
        let out = input::out(out_json, "out_json")?;
        let metrics = runtime::get()?.block_on(engine.stats());
        // SAFETY: `out` is non-NULL and writable.
        unsafe { write_json(out, serde_json::to_string(&metrics)) }
    })
}

/// A tool call's inputs, checked: the tool name and the arguments object.
pub(crate) struct Request<'a> {
    pub(crate) tool: &'a str,
    pub(crate) args: Value,
}

/// Reads and checks `tool_name` and `args_json` (NULL means no arguments).
///
/// # Safety
///
/// Both are NULL or NUL-terminated strings alive for `'a`.
pub(crate) unsafe fn request<'a>(
    tool_name: *const c_char,
    args_json: *const c_char,
) -> Result<Request<'a>, Failure> {
    // SAFETY: as the caller guarantees.
    let tool = unsafe { input::text(tool_name, "tool_name")? };
    let args = if args_json.is_null() {
        Value::Object(serde_json::Map::new())
    } else {
        // SAFETY: as the caller guarantees.
        input::json(unsafe { input::text(args_json, "args_json")? }, "args_json")?
    };
    Ok(Request { tool, args })
}

/// Calls a tool and waits for its answer: `chat`, `thinkdeep`, `consensus`,
/// `listmodels`… (see `zen_engine_list_tools`).
///
/// - `tool_name`: the tool's name.
/// - `args_json`: the arguments, a JSON object as described by the tool's
///   `input_schema` (e.g. `{"prompt": "…", "model": "o3",
///   "working_directory_absolute_path": "/tmp"}` for `chat`); NULL means `{}`.
///   To carry on a conversation, pass the `continuation_id` from a previous
///   answer's `continuation_offer`.
/// - `out_json`: receives the tool's answer, a JSON object with `status`
///   (`"success"`, `"continuation_available"`, …), `content`, `content_type`,
///   `metadata` and, when the conversation may continue, `continuation_offer`.
///   Untouched on failure.
///
/// Returns `ZEN_STATUS_OK` when the tool answered. An answer whose own
/// `status` is `"error"` (a tool reporting a problem in its reply, as PAL's
/// tools do) is still `ZEN_STATUS_OK`: read the JSON. Otherwise
/// `ZEN_STATUS_NULL_ARGUMENT`, `ZEN_STATUS_INVALID_UTF8`,
/// `ZEN_STATUS_INVALID_JSON` (for the caller's inputs), or the 2xx status of
/// the engine's error (`ZEN_STATUS_UNKNOWN_TOOL`,
/// `ZEN_STATUS_INVALID_ARGUMENTS`, `ZEN_STATUS_PROVIDER`, …), with the detail in
/// `zen_last_error_message()`.
///
/// Ownership: `tool_name` and `args_json` are borrowed for the call. The caller
/// owns `*out_json` and frees it with `zen_string_free`.
/// Thread-safety: blocks the calling thread until the answer arrives (a model
/// call can take minutes). May be called on one engine from any number of
/// threads at once, and from inside a `zen_call_callback`.
///
/// # Safety
///
/// `engine` is NULL or a live handle; `tool_name` and `args_json` are NULL or
/// NUL-terminated strings; `out_json` is NULL or points to a writable `char *`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zen_engine_call_tool(
    engine: *const zen_engine,
    tool_name: *const c_char,
    args_json: *const c_char,
    out_json: *mut *mut c_char,
) -> zen_status {
    ffi_boundary!({
        // SAFETY: as the caller guarantees.
        let engine = unsafe { borrow(engine)? };
        let out = input::out(out_json, "out_json")?;
        // SAFETY: as the caller guarantees.
        let request = unsafe { request(tool_name, args_json)? };
        let output = runtime::get()?.block_on(engine.call_tool(request.tool, request.args))?;
        let string = owned_c_string(output.into_value().to_string())?;
        // SAFETY: `out` is non-NULL and writable.
        unsafe { out.write(string) };
        Ok(())
    })
}
