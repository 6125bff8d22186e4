//! The command line: parse arguments, build the engine, run one command.
//!
//! Standard output carries only the protocol (server mode) or a command's
//! result; logs and errors go to standard error.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use zen_core::{Config, Engine, Error};

const HELP: &str = "\
zen-mcp — consult other AI models (Gemini, OpenAI, xAI, OpenRouter, Azure, DIAL,
local models) from an MCP client such as Claude Code, Codex CLI or Cursor.

Usage:
  zen-mcp              serve MCP on standard input/output (what an MCP client runs)
  zen-mcp serve --http HOST:PORT
                       serve MCP over streamable HTTP at http://HOST:PORT/mcp
                       (with GET /health; see `zen-mcp serve --help`)
  zen-mcp tools        print the enabled tools (name, description, input schema) as JSON
  zen-mcp call TOOL 'JSON-ARGS'
                       run one tool and print its output JSON
                       (exit 0 on success, 1 on a tool error, 2 on bad usage)
  zen-mcp models       print the usable models as JSON
  zen-mcp doctor       check the configuration and say how to fix each problem
  zen-mcp --version    print the version
  zen-mcp --help       print this help (also: zen-mcp COMMAND --help)

Configuration comes from the environment and a .env file (see README.md):
GEMINI_API_KEY, OPENAI_API_KEY, XAI_API_KEY, OPENROUTER_API_KEY, DIAL_API_KEY,
AZURE_OPENAI_API_KEY + AZURE_OPENAI_ENDPOINT, CUSTOM_API_URL, DEFAULT_MODEL, …
";

const MODELS_HELP: &str = "\
zen-mcp models — print the models usable with the current configuration as a
JSON array: name, provider, aliases, context window, output limit, thinking and
image support. A custom endpoint (CUSTOM_API_URL) is asked for its models first.
";

const SERVE_HELP: &str = "\
zen-mcp serve [--http HOST:PORT] — serve MCP. Without --http, on standard
input/output. With --http, over streamable HTTP at http://HOST:PORT/mcp, many
clients at once, plus GET /health (JSON: version, providers, uptime). Only
requests naming a local host are served (add others with
ZEN_HTTP_ALLOWED_HOSTS, origins with ZEN_HTTP_ALLOWED_ORIGINS); with
ZEN_HTTP_TOKEN set, /mcp also wants `Authorization: Bearer <token>`.
Port 0 picks a free port; the address is printed on standard error.
";

const TOOLS_HELP: &str = "\
zen-mcp tools — print the enabled tools as a JSON array of {name, description,
input_schema, annotations}, exactly as MCP clients see them. DISABLED_TOOLS
decides which are enabled.
";

const CALL_HELP: &str = "\
zen-mcp call TOOL 'JSON-ARGS' — run one tool once and print its output JSON.
JSON-ARGS is a JSON object of the tool's arguments (default {}). Exit status:
0 when the tool succeeded, 1 when it reported an error, 2 on bad usage.
Example: zen-mcp call chat '{\"prompt\": \"Review my plan\", \"working_directory_absolute_path\": \"/tmp\"}'
";

const DOCTOR_HELP: &str = "\
zen-mcp doctor — check the configuration: which providers are configured, which
catalogue files were loaded, whether a custom endpoint answers, and any problem
found, each with its fix. Exits 1 when a problem was found.
";

/// Runs the command line; returns the process exit code.
pub fn run(args: Vec<String>) -> ExitCode {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] | ["serve"] => with_engine(|engine| async move {
            crate::server::serve_stdio(engine)
                .await
                .map(|()| ExitCode::SUCCESS)
        }),
        ["serve", "-h" | "--help"] => {
            out(SERVE_HELP);
            ExitCode::SUCCESS
        }
        ["serve", "--http", addr] => {
            if crate::http::listen_address(addr).is_none() {
                err(&format!(
                    "zen-mcp serve --http: `{addr}` is not an address to listen on; use \
                     HOST:PORT, e.g. 127.0.0.1:8765 or localhost:8765"
                ));
                return ExitCode::from(2);
            }
            let addr = (*addr).to_owned();
            with_engine(|engine| async move {
                crate::http::serve(engine, &addr)
                    .await
                    .map(|()| ExitCode::SUCCESS)
            })
        }
        ["serve", "--http"] => {
            err("zen-mcp serve --http: give the address to listen on, e.g. 127.0.0.1:8765");
            ExitCode::from(2)
        }
        ["-V" | "--version"] => {
            out(&format!("zen-mcp {}", zen_core::VERSION));
            ExitCode::SUCCESS
        }
        ["-h" | "--help" | "help"] => {
            out(HELP);
            ExitCode::SUCCESS
        }
        ["models", "-h" | "--help"] => {
            out(MODELS_HELP);
            ExitCode::SUCCESS
        }
        ["doctor", "-h" | "--help"] => {
            out(DOCTOR_HELP);
            ExitCode::SUCCESS
        }
        ["tools", "-h" | "--help"] => {
            out(TOOLS_HELP);
            ExitCode::SUCCESS
        }
        ["call", "-h" | "--help", ..] => {
            out(CALL_HELP);
            ExitCode::SUCCESS
        }
        ["models"] => with_engine(|engine| async move { models(&engine).await }),
        ["tools"] => with_engine(|engine| async move {
            let tools = serde_json::to_string_pretty(&engine.tools()).map_err(|e| e.to_string())?;
            out(&tools);
            Ok(ExitCode::SUCCESS)
        }),
        ["call"] => {
            err(
                "zen-mcp call: name the tool, e.g. `zen-mcp call version`; see `zen-mcp call --help`",
            );
            ExitCode::from(2)
        }
        ["call", tool] => call(tool, "{}"),
        ["call", tool, args] => call(tool, args),
        ["doctor"] => doctor(),
        [
            command @ ("serve" | "models" | "tools" | "call" | "doctor"),
            rest @ ..,
        ] => {
            // The command is known: name the argument it did not expect.
            let extra = match (*command, rest) {
                ("serve", ["--http", _, extra, ..]) | ("call", [_, _, extra, ..]) => *extra,
                (_, [first, ..]) => *first,
                (_, []) => command,
            };
            let hint = match extra.strip_prefix("--http=") {
                Some(addr) => format!(" (write `--http {addr}`)"),
                None => String::new(),
            };
            err(&format!(
                "zen-mcp {command}: unexpected argument `{extra}`{hint}; see `zen-mcp {command} --help`"
            ));
            ExitCode::from(2)
        }
        [other, ..] => {
            err(&format!(
                "zen-mcp: unknown command or argument `{other}`; run `zen-mcp --help`"
            ));
            ExitCode::from(2)
        }
    }
}

fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", text.trim_end());
    let _ = stdout.flush();
}

fn err(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}

fn init_logging(config: &Config) {
    use tracing_subscriber::fmt::writer::MakeWriterExt;
    // LOG_LEVEL sets zen's own verbosity; libraries only report warnings.
    let level = config.log_level.as_filter();
    let filter = || {
        tracing_subscriber::EnvFilter::try_new(format!("warn,zen_core={level},zen_mcp={level}"))
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"))
    };
    // Logs go to standard error (stdout carries the protocol), and also to
    // ZEN_LOG_FILE when it is set.
    let file =
        config.settings.get("ZEN_LOG_FILE").and_then(|path| {
            match std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
            {
                Ok(file) => Some(file),
                Err(e) => {
                    err(&format!(
                        "zen-mcp: can't open ZEN_LOG_FILE {path}: {e}; logging to stderr only"
                    ));
                    None
                }
            }
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter())
        .with_ansi(false);
    let _ = match file {
        Some(file) => builder
            .with_writer(std::io::stderr.and(std::sync::Mutex::new(file)))
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("can't start the async runtime: {e}"))
}

/// Loads the configuration, builds the engine and runs `body` on a runtime.
fn with_engine<F, Fut>(body: F) -> ExitCode
where
    F: FnOnce(Engine) -> Fut,
    Fut: std::future::Future<Output = Result<ExitCode, String>>,
{
    let result = Config::from_env()
        .and_then(|config| {
            init_logging(&config);
            Engine::new(config)
        })
        .map_err(|e| e.to_string())
        .and_then(|engine| runtime().map(|rt| (rt, engine)))
        .and_then(|(rt, engine)| rt.block_on(body(engine)));
    match result {
        Ok(code) => code,
        Err(message) => {
            err(&format!("zen-mcp: {message}"));
            ExitCode::FAILURE
        }
    }
}

fn call(tool: &str, raw_args: &str) -> ExitCode {
    let args: Value = match serde_json::from_str(raw_args) {
        Ok(value @ Value::Object(_)) => value,
        Ok(_) => {
            err("zen-mcp call: JSON-ARGS must be a JSON object, like '{\"prompt\": \"...\"}'");
            return ExitCode::from(2);
        }
        Err(e) => {
            err(&format!("zen-mcp call: JSON-ARGS is not valid JSON ({e})"));
            return ExitCode::from(2);
        }
    };
    let tool = tool.to_owned();
    with_engine(|engine| async move {
        match engine.call_tool(&tool, args).await {
            Ok(output) => {
                let failed = output.is_error();
                let value = serde_json::to_value(&output).map_err(|e| e.to_string())?;
                out(&serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?);
                if value.get("continuation_offer").is_some() {
                    err(
                        "note: `zen-mcp call` keeps the conversation only while it runs, so a \
                         later `zen-mcp call` can't continue it; continue conversations through \
                         the MCP server (`zen-mcp`, or `zen-mcp serve --http`)",
                    );
                }
                Ok(if failed {
                    ExitCode::FAILURE
                } else {
                    ExitCode::SUCCESS
                })
            }
            Err(zen_core::Error::UnknownTool { message, .. }) => {
                err(&format!("zen-mcp call: {message}"));
                Ok(ExitCode::from(2))
            }
            Err(e) => {
                let body = json!({"status": "error", "content": e.to_string(), "content_type": "text",
                                  "metadata": {"tool_name": tool, "error_kind": format!("{:?}", e.kind())}});
                out(&serde_json::to_string_pretty(&body).map_err(|e| e.to_string())?);
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

fn model_json(model: &zen_core::models::ResolvedModel) -> Value {
    let spec = &model.spec;
    json!({
        "name": model.api_name,
        "provider": model.provider,
        "aliases": spec.aliases,
        "intelligence_score": spec.intelligence_score,
        "context_window": spec.context_window,
        "max_output_tokens": spec.max_output_tokens,
        "supports_extended_thinking": spec.supports_extended_thinking,
        "supports_images": spec.supports_images,
        "description": spec.description,
    })
}

async fn models(engine: &Engine) -> Result<ExitCode, String> {
    if engine
        .provider(zen_core::providers::ProviderKind::Custom)
        .is_some()
    {
        let discovery =
            tokio::time::timeout(Duration::from_secs(10), engine.discover_custom_models());
        match discovery.await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!("the custom endpoint did not list its models: {e}"),
            Err(_) => tracing::warn!("the custom endpoint did not list its models within 10s"),
        }
    }
    let list: Vec<Value> = engine.models().iter().map(model_json).collect();
    out(&serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

fn doctor() -> ExitCode {
    let mut problems: Vec<String> = Vec::new();
    let mut report: Vec<String> = Vec::new();
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            out(&format!("problem: {e}"));
            return ExitCode::FAILURE;
        }
    };
    if config.providers.is_empty() {
        problems.push(Error::NoProvider.to_string());
    }
    for provider in &config.providers {
        report.push(format!(
            "provider {}: {} (read timeout {}s)",
            provider.kind.id(),
            provider.base_url,
            provider.read_timeout.as_secs()
        ));
    }
    let engine = match Engine::new(config) {
        Ok(engine) => Some(engine),
        Err(e) => {
            problems.push(format!("{e}"));
            None
        }
    };
    if let Some(engine) = &engine {
        for (kind, source) in engine.registry().catalogue_sources() {
            report.push(format!("catalogue {}: {source}", kind.id()));
        }
        let config = engine.config();
        if let Err(problem) = crate::server::progress_interval(engine) {
            problems.push(problem);
        }
        if engine.registry().has_providers() && engine.models().is_empty() {
            let filters: Vec<&str> = config
                .settings
                .names()
                .filter(|n| n.ends_with("_ALLOWED_MODELS") || *n == "DISABLED_MODELS")
                .collect();
            problems.push(if filters.is_empty() {
                "no model is usable: the model catalogues of the configured providers list no \
                 model; check the files named by *_MODELS_CONFIG_PATH"
                    .into()
            } else {
                format!(
                    "no model is usable: {} exclude every model; loosen them",
                    filters.join(", ")
                )
            });
        }
        if !config.is_auto_mode()
            && engine.registry().has_providers()
            && let Err(e) = engine.registry().resolve(&config.default_model)
        {
            problems.push(format!("DEFAULT_MODEL: {e}"));
        }
        if engine
            .provider(zen_core::providers::ProviderKind::Custom)
            .is_some()
        {
            match runtime().and_then(|rt| {
                rt.block_on(async {
                    tokio::time::timeout(Duration::from_secs(10), engine.discover_custom_models())
                        .await
                        .map_err(|_| "did not answer within 10s".to_owned())?
                        .map_err(|e| e.to_string())
                })
            }) {
                Ok(ids) => report.push(format!(
                    "custom endpoint lists {} model(s): {}",
                    ids.len(),
                    ids.join(", ")
                )),
                Err(e) => problems.push(format!(
                    "CUSTOM_API_URL: the endpoint could not list its models ({e}); check that the \
                     server is running and the URL ends with its OpenAI-compatible prefix (often /v1)"
                )),
            }
        }
        report.push(format!(
            "default model: {}; usable models: {}",
            config.default_model,
            engine.models().len()
        ));
    }
    for line in &report {
        out(line);
    }
    if problems.is_empty() {
        out("no problems found");
        ExitCode::SUCCESS
    } else {
        for problem in &problems {
            out(&format!("problem: {problem}"));
        }
        ExitCode::FAILURE
    }
}
