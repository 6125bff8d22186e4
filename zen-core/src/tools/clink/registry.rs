//! The CLI clients clink can run: built-in definitions for gemini, codex and
//! claude, replaced or extended by JSON files (one client per file) in the
//! folder named by `ZEN_CLI_CLIENTS_DIR` or the file or folder named by PAL's
//! `CLI_CLIENTS_CONFIG_PATH`.
//!
//! A definition file holds `name`, `command` (split like a shell would),
//! `additional_args`, `env`, `timeout_seconds`, `parser`, `working_dir`,
//! `output_to_file` and `roles` (each with `prompt_path`, `role_args` and
//! `description`); anything else is refused. A file whose `name` matches an
//! earlier definition (case-insensitively) replaces it. A definition without
//! `roles` gets `default`, `planner` and `codereviewer` with the built-in
//! prompts; one with roles always has a `default` too.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::parsers::Parser;
use crate::config::Settings;
use crate::error::{Error, Result};

/// The setting naming a folder of client definitions (zen's own).
pub(super) const DIR_SETTING: &str = "ZEN_CLI_CLIENTS_DIR";
/// PAL's setting: a definition file or a folder of them.
pub(super) const PAL_SETTING: &str = "CLI_CLIENTS_CONFIG_PATH";

/// How long a CLI may run when its definition does not say (30 minutes).
const DEFAULT_TIMEOUT_SECS: u64 = 1_800;

const BUILTIN_CLIENTS: [(&str, &str); 3] = [
    (
        "gemini.json",
        include_str!("../../../conf/cli_clients/gemini.json"),
    ),
    (
        "codex.json",
        include_str!("../../../conf/cli_clients/codex.json"),
    ),
    (
        "claude.json",
        include_str!("../../../conf/cli_clients/claude.json"),
    ),
];

const PROMPT_DEFAULT: &str = include_str!("../../../prompts/clink/default.txt");
const PROMPT_PLANNER: &str = include_str!("../../../prompts/clink/planner.txt");
const PROMPT_REVIEWER: &str = include_str!("../../../prompts/clink/codereviewer.txt");

/// Built-in role prompts by file name, PAL's names included so that PAL
/// definition files work unchanged.
fn builtin_prompt(file_name: &str) -> Option<&'static str> {
    match file_name {
        "default.txt" => Some(PROMPT_DEFAULT),
        "planner.txt" | "default_planner.txt" => Some(PROMPT_PLANNER),
        "codereviewer.txt" | "default_codereviewer.txt" | "codex_codereviewer.txt" => {
            Some(PROMPT_REVIEWER)
        }
        _ => None,
    }
}

/// The roles a definition without `roles` gets.
const STANDARD_ROLES: [&str; 3] = ["default", "planner", "codereviewer"];

/// What zen knows about a CLI it ships a definition for.
#[derive(Debug, Clone, Copy)]
pub(super) struct Known {
    /// Output parser used when the definition names none.
    parser: Parser,
    /// Arguments that make the CLI answer once, non-interactively, in its
    /// machine-readable format; they come right after the command.
    internal_args: &'static [&'static str],
    /// Prefixes of the vendor's own environment variables, passed through.
    pub env_prefixes: &'static [&'static str],
    /// The option taking the role prompt as a system prompt, when the CLI has one.
    pub system_prompt_arg: Option<&'static str>,
    /// How to install it.
    pub install: &'static str,
}

fn known(name: &str) -> Option<Known> {
    match name {
        "gemini" => Some(Known {
            parser: Parser::GeminiJson,
            internal_args: &["-o", "json"],
            env_prefixes: &["GEMINI_", "GOOGLE_"],
            system_prompt_arg: None,
            install: "npm install -g @google/gemini-cli",
        }),
        "codex" => Some(Known {
            parser: Parser::CodexJsonl,
            internal_args: &["exec"],
            env_prefixes: &["OPENAI_", "CODEX_"],
            system_prompt_arg: None,
            install: "npm install -g @openai/codex",
        }),
        "claude" => Some(Known {
            parser: Parser::ClaudeJson,
            internal_args: &["--print", "--output-format", "json"],
            env_prefixes: &["ANTHROPIC_", "CLAUDE_"],
            system_prompt_arg: Some("--append-system-prompt"),
            install: "npm install -g @anthropic-ai/claude-code",
        }),
        _ => None,
    }
}

/// A list of strings, or one string.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Args {
    Many(Vec<String>),
    One(String),
}

impl Args {
    fn into_vec(self) -> Vec<String> {
        match self {
            Args::Many(list) => list,
            Args::One(one) => vec![one],
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientFile {
    name: Option<String>,
    command: Option<String>,
    additional_args: Option<Args>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    timeout_seconds: Option<u64>,
    parser: Option<String>,
    working_dir: Option<String>,
    output_to_file: Option<OutputToFile>,
    #[serde(default)]
    roles: BTreeMap<String, RoleFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleFile {
    prompt_path: Option<String>,
    role_args: Option<Args>,
    #[allow(dead_code)] // accepted for PAL's files; shown nowhere yet
    description: Option<String>,
}

/// For CLIs that write their answer to a file: the option that names it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OutputToFile {
    /// The option(s) to add, with `{path}` where the file's path goes.
    pub flag_template: String,
    /// Whether to delete the file after reading it.
    #[serde(default = "yes")]
    pub cleanup: bool,
}

fn yes() -> bool {
    true
}

/// One role of a client: its prompt and extra arguments.
#[derive(Debug, Clone)]
pub(super) struct Role {
    pub name: String,
    pub prompt: String,
    pub args: Vec<String>,
}

/// A client ready to run.
#[derive(Debug, Clone)]
pub(super) struct Client {
    pub name: String,
    /// The program: a bare name looked up on PATH, or a path.
    pub program: String,
    /// Every argument: the command's own words, then the internal, configured
    /// and (at run time) role arguments.
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    pub parser: Parser,
    pub known: Option<Known>,
    pub working_dir: Option<PathBuf>,
    pub output_to_file: Option<OutputToFile>,
    pub roles: BTreeMap<String, Role>,
    /// Where the definition came from, for messages.
    pub source: String,
    /// The definition file's folder, for relative program paths.
    pub base_dir: Option<PathBuf>,
}

impl Client {
    /// The role called `name` (`default` when `None`), or an error listing the roles.
    pub fn role(&self, name: Option<&str>) -> Result<&Role> {
        let wanted = name
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .unwrap_or("default");
        self.roles.get(wanted).ok_or_else(|| {
            let roles: Vec<&str> = self.roles.keys().map(String::as_str).collect();
            Error::invalid(
                "role",
                format!(
                    "`{wanted}` is not a role of the `{}` CLI; its roles are: {}",
                    self.name,
                    roles.join(", ")
                ),
            )
        })
    }
}

/// The configured clients, by lowercase name.
#[derive(Debug, Clone)]
pub(super) struct Registry {
    clients: BTreeMap<String, Client>,
}

impl Registry {
    /// The built-in clients with the user's definitions layered on top.
    pub fn load(settings: &Settings) -> Result<Self> {
        let mut registry = Registry {
            clients: BTreeMap::new(),
        };
        for (file, text) in BUILTIN_CLIENTS {
            registry.add(text, &format!("built-in {file}"), None)?;
        }
        if let Some(raw) = settings.get(PAL_SETTING) {
            for path in definition_files(PAL_SETTING, Path::new(raw), true)? {
                registry.add_file(&path)?;
            }
        }
        if let Some(raw) = settings.get(DIR_SETTING) {
            for path in definition_files(DIR_SETTING, Path::new(raw), false)? {
                registry.add_file(&path)?;
            }
        }
        Ok(registry)
    }

    /// Names of the clients, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.clients.values().map(|c| c.name.as_str()).collect()
    }

    /// The client called `name` (case-insensitive), or an error listing them.
    pub fn get(&self, name: &str) -> Result<&Client> {
        self.clients
            .get(&name.trim().to_lowercase())
            .ok_or_else(|| {
                Error::invalid(
                    "cli_name",
                    format!(
                        "no CLI client is called `{name}`; the configured ones are: {} \
                         (add one with a JSON file in {DIR_SETTING})",
                        self.names().join(", ")
                    ),
                )
            })
    }

    fn add_file(&mut self, path: &Path) -> Result<()> {
        let text = std::fs::read_to_string(path).map_err(|err| {
            Error::config(path.display().to_string(), format!("can't be read: {err}"))
        })?;
        self.add(&text, &path.display().to_string(), path.parent())
    }

    fn add(&mut self, text: &str, source: &str, base_dir: Option<&Path>) -> Result<()> {
        if text.trim().is_empty() {
            return Ok(());
        }
        let fail = |message: String| Error::config(source, message);
        let mut deserializer = serde_json::Deserializer::from_str(text);
        let file: ClientFile =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|err| {
                let at = err.path().to_string();
                let inner = err.into_inner();
                let place = if at == "." {
                    String::new()
                } else {
                    format!(" at `{at}`")
                };
                fail(format!("not a valid CLI client definition{place}: {inner}"))
            })?;
        let stem = base_dir
            .and(Path::new(source).file_stem())
            .and_then(|s| s.to_str());
        let name = match file.name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => match stem {
                Some(stem) => stem.to_owned(),
                None => return Err(fail("`name` is missing".into())),
            },
        };
        let key = name.to_lowercase();
        let known = known(&key);
        let command = file
            .command
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty());
        let command = match (command, known) {
            (Some(command), _) => command.to_owned(),
            (None, Some(_)) => key.clone(),
            (None, None) => return Err(fail(format!("`command` is missing for `{name}`"))),
        };
        let mut words = split_command(&command)
            .map_err(|why| fail(format!("`command` {why}")))?
            .into_iter();
        let program = words
            .next()
            .ok_or_else(|| fail("`command` is empty".into()))?;
        let mut args: Vec<String> = words.collect();
        if let Some(known) = known {
            args.extend(known.internal_args.iter().map(|a| (*a).to_owned()));
        }
        args.extend(file.additional_args.map(Args::into_vec).unwrap_or_default());
        let parser = match file.parser.as_deref() {
            Some(raw) => Parser::from_name(raw).ok_or_else(|| {
                fail(format!(
                    "`parser` `{raw}` is unknown; use one of: {}",
                    Parser::NAMES.join(", ")
                ))
            })?,
            None => known.map_or(Parser::Text, |k| k.parser),
        };
        let timeout = match file.timeout_seconds {
            Some(0) => return Err(fail("`timeout_seconds` must be at least 1".into())),
            Some(secs) => Duration::from_secs(secs),
            None => Duration::from_secs(DEFAULT_TIMEOUT_SECS),
        };
        let working_dir = file.working_dir.as_deref().map(|dir| match base_dir {
            Some(base) if Path::new(dir).is_relative() => base.join(dir),
            _ => PathBuf::from(dir),
        });
        let mut roles = BTreeMap::new();
        // No roles: the standard three with the built-in prompts. Always a `default`.
        let mut role_files = file.roles;
        if role_files.is_empty() {
            for standard in STANDARD_ROLES {
                role_files.insert(standard.into(), RoleFile::default());
            }
        }
        role_files.entry("default".into()).or_default();
        for (role_name, role) in role_files {
            let prompt = role_prompt(&role_name, role.prompt_path.as_deref(), base_dir)
                .map_err(|why| fail(format!("role `{role_name}`: {why}")))?;
            let role_args = role.role_args.map(Args::into_vec).unwrap_or_default();
            roles.insert(
                role_name.clone(),
                Role {
                    name: role_name,
                    prompt,
                    args: role_args,
                },
            );
        }
        let client = Client {
            name,
            program,
            args,
            env: file.env,
            timeout,
            parser,
            known,
            working_dir,
            output_to_file: file.output_to_file,
            roles,
            source: source.to_owned(),
            base_dir: base_dir.map(Path::to_path_buf),
        };
        if let Some(previous) = self.clients.insert(key, client) {
            tracing::debug!(
                "clink: {source} replaces the definition from {}",
                previous.source
            );
        }
        Ok(())
    }
}

/// The definition files a setting names: every `*.json` in a folder (sorted),
/// or the file itself when `file_ok`.
fn definition_files(setting: &str, path: &Path, file_ok: bool) -> Result<Vec<PathBuf>> {
    if file_ok && path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    if !path.is_dir() {
        let what = if file_ok {
            "a JSON file or a folder"
        } else {
            "a folder"
        };
        return Err(Error::config(
            setting,
            format!(
                "{} does not exist or is not {what} of CLI client definitions",
                path.display()
            ),
        ));
    }
    let entries = std::fs::read_dir(path)
        .map_err(|err| Error::config(setting, format!("can't list {}: {err}", path.display())))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && p.extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        })
        .collect();
    files.sort();
    Ok(files)
}

/// A role's prompt text: from `prompt_path` (absolute, or relative to the
/// definition's folder, or naming a built-in prompt), or the built-in prompt
/// for the role's name, else the default prompt.
fn role_prompt(
    role: &str,
    prompt_path: Option<&str>,
    base_dir: Option<&Path>,
) -> Result<String, String> {
    let Some(raw) = prompt_path.map(str::trim).filter(|p| !p.is_empty()) else {
        let prompt = builtin_prompt(&format!("{role}.txt")).unwrap_or(PROMPT_DEFAULT);
        return Ok(prompt.to_owned());
    };
    let path = Path::new(raw);
    let local = if path.is_absolute() {
        Some(path.to_path_buf())
    } else {
        base_dir.map(|base| base.join(path))
    };
    if let Some(local) = local.filter(|p| p.exists() || path.is_absolute()) {
        return std::fs::read_to_string(&local)
            .map_err(|err| format!("prompt file {} can't be read: {err}", local.display()));
    }
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(builtin_prompt)
        .map(str::to_owned)
        .ok_or_else(|| {
            format!(
                "prompt file `{raw}` was not found next to the definition and is not a built-in \
                 prompt (default.txt, planner.txt, codereviewer.txt)"
            )
        })
}

/// Splits a command line into words as a POSIX shell would for plain words,
/// single and double quotes and backslash escapes (no expansions).
pub(super) fn split_command(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(ch) => word.push(ch),
                        None => return Err("has an unclosed single quote".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(ch @ ('"' | '\\' | '$' | '`')) => word.push(ch),
                            Some(ch) => {
                                word.push('\\');
                                word.push(ch);
                            }
                            None => return Err("ends inside double quotes".into()),
                        },
                        Some(ch) => word.push(ch),
                        None => return Err("has an unclosed double quote".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(ch) => word.push(ch),
                    None => return Err("ends with a lone backslash".into()),
                }
            }
            ch => {
                in_word = true;
                word.push(ch);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_split_like_a_shell() {
        assert_eq!(
            split_command(r#"npx -y "@scope/my cli" 'a b' c\ d"#).unwrap(),
            vec!["npx", "-y", "@scope/my cli", "a b", "c d"]
        );
        assert!(split_command("oops 'open").is_err());
        assert!(split_command("   ").unwrap().is_empty());
    }

    #[test]
    fn builtins_load_with_their_roles() {
        let registry = Registry::load(&Settings::new()).unwrap();
        assert_eq!(registry.names(), vec!["claude", "codex", "gemini"]);
        let codex = registry.get("Codex").unwrap();
        assert_eq!(codex.program, "codex");
        assert_eq!(codex.args[0], "exec");
        assert_eq!(codex.parser, Parser::CodexJsonl);
        let roles: Vec<&str> = codex.roles.keys().map(String::as_str).collect();
        assert_eq!(roles, vec!["codereviewer", "default", "planner"]);
        assert!(
            codex
                .role(Some("planner"))
                .unwrap()
                .prompt
                .contains("phases")
        );
    }
}
