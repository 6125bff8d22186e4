//! Running a CLI client: finding its program, building its environment from an
//! allow-list, feeding it the prompt on stdin and collecting what it prints,
//! within its time limit.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

use super::registry::{Client, DIR_SETTING, Role};
use crate::error::{Error, Result};

/// At most this much of each output stream is kept (10 MiB).
const STREAM_LIMIT: usize = 10 * 1024 * 1024;

/// Variables every CLI may see: what it needs to run, find its own
/// credentials under HOME, format text and reach the network. Other
/// vendors' API keys are not among them.
const BASE_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "SHELL",
    "USER",
    "LOGNAME",
    "TMPDIR",
    "TEMP",
    "TMP",
    "TERM",
    "COLORTERM",
    "TERM_PROGRAM",
    "NO_COLOR",
    "FORCE_COLOR",
    "CI",
    "LANG",
    "LANGUAGE",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "NODE_OPTIONS",
    "NODE_PATH",
    "SYSTEMROOT",
    "WINDIR",
    "COMSPEC",
    "PATHEXT",
    "USERNAME",
    "USERPROFILE",
    "HOMEDRIVE",
    "HOMEPATH",
    "APPDATA",
    "LOCALAPPDATA",
    "PROGRAMDATA",
    "PROGRAMFILES",
    "PROGRAMFILES(X86)",
];

/// Variable prefixes every CLI may see (locale, XDG folders).
const BASE_ENV_PREFIXES: &[&str] = &["LC_", "XDG_"];

/// What a finished run produced.
#[derive(Debug)]
pub(super) struct Finished {
    pub stdout: String,
    pub stderr: String,
    /// The exit code; `None` when a signal ended it.
    pub code: Option<i32>,
    pub duration: Duration,
    /// The command line, long arguments shortened, for metadata.
    pub command: String,
}

/// How a run ended.
#[derive(Debug)]
pub(super) enum Ran {
    Finished(Finished),
    TimedOut { after: Duration },
}

/// Runs `client` in `role` with `prompt` on stdin. `system_prompt` is passed
/// with the client's system-prompt option when it has one. A program that
/// can't be found or started is an [`Error::Config`] saying how to fix it.
pub(super) async fn run(
    client: &Client,
    role: &Role,
    system_prompt: Option<&str>,
    prompt: &str,
) -> Result<Ran> {
    let env = environment(client);
    let program = find_program(client, env.get("PATH").map(String::as_str))?;
    let mut args = client.args.clone();
    if let (Some(option), Some(text)) = (
        client.known.and_then(|k| k.system_prompt_arg),
        system_prompt.filter(|s| !s.trim().is_empty()),
    ) && !args.iter().any(|a| a == option)
    {
        args.push(option.to_owned());
        args.push(text.to_owned());
    }
    args.extend(role.args.iter().cloned());

    let output_file = client.output_to_file.as_ref().map(|spec| {
        let path = std::env::temp_dir().join(format!("zen-clink-{}.out", uuid::Uuid::new_v4()));
        (path, spec.clone())
    });
    if let Some((path, spec)) = &output_file {
        let flag = spec
            .flag_template
            .replace("{path}", &path.display().to_string());
        let words = super::registry::split_command(&flag).map_err(|why| {
            Error::config(
                &client.source,
                format!("`output_to_file.flag_template` {why}"),
            )
        })?;
        args.extend(words);
    }

    let workspace = Workspace::new(client)?;
    let mut command = Command::new(&program);
    command
        .args(&args)
        .env_clear()
        .envs(&env)
        .current_dir(workspace.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let shown = show_command(&program, &args);
    tracing::debug!("clink: running {shown}");

    let started = Instant::now();
    let mut child = command.spawn().map_err(|err| {
        Error::config(
            &client.source,
            format!(
                "the `{}` CLI ({}) could not be started: {err}",
                client.name,
                program.display()
            ),
        )
    })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let feed = async move {
        if let Some(mut stdin) = stdin {
            // A CLI that does not read its input closes the pipe: not an error.
            let _ = stdin.write_all(prompt.as_bytes()).await;
            let _ = stdin.shutdown().await;
        }
    };
    let collect = async {
        let ((), out, err, status) =
            tokio::join!(feed, read_capped(stdout), read_capped(stderr), child.wait());
        (out, err, status)
    };
    let result = tokio::time::timeout(client.timeout, collect).await;
    let (out, err, status) = match result {
        Ok(done) => done,
        Err(_) => {
            let _ = child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
            remove_output_file(output_file.as_ref());
            return Ok(Ran::TimedOut {
                after: client.timeout,
            });
        }
    };
    let status = status.map_err(|err| {
        Error::config(
            &client.source,
            format!("waiting for the `{}` CLI failed: {err}", client.name),
        )
    })?;
    let mut stdout = String::from_utf8_lossy(&out).into_owned();
    if let Some((path, _)) = &output_file
        && let Ok(text) = std::fs::read_to_string(path)
        && stdout.trim().is_empty()
    {
        stdout = text;
    }
    remove_output_file(output_file.as_ref());
    Ok(Ran::Finished(Finished {
        stdout,
        stderr: String::from_utf8_lossy(&err).into_owned(),
        code: status.code(),
        duration: started.elapsed(),
        command: shown,
    }))
}

fn remove_output_file(file: Option<&(PathBuf, super::registry::OutputToFile)>) {
    if let Some((path, spec)) = file
        && spec.cleanup
    {
        let _ = std::fs::remove_file(path);
    }
}

/// Reads a stream to its end, keeping at most [`STREAM_LIMIT`] bytes.
async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>) -> Vec<u8> {
    let mut kept = Vec::new();
    let Some(mut reader) = reader else {
        return kept;
    };
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = STREAM_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
    kept
}

/// The child's environment: the allow-listed variables of this process, the
/// client vendor's own variables, then the definition's `env`.
fn environment(client: &Client) -> BTreeMap<String, String> {
    let prefixes: Vec<&str> = BASE_ENV_PREFIXES
        .iter()
        .chain(client.known.map_or(&[][..], |k| k.env_prefixes))
        .copied()
        .collect();
    let mut env: BTreeMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| {
            BASE_ENV.contains(&k.as_str()) || prefixes.iter().any(|p| k.starts_with(p))
        })
        .collect();
    env.extend(client.env.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

/// The program to start: a path as given (relative to the definition's
/// folder), or a bare name found on `path` (the child's PATH).
fn find_program(client: &Client, path: Option<&str>) -> Result<PathBuf> {
    let program = Path::new(&client.program);
    let not_found = |detail: String| {
        let hint = match client.known {
            Some(known) => format!(
                "install it (`{}`) and make sure it is on PATH, or set `command` in a `{}.json` \
                 definition in {DIR_SETTING}",
                known.install, client.name
            ),
            None => format!("install it or fix `command` in {}", client.source),
        };
        // A built-in definition is not the user's configuration: name the
        // tool instead of a file they never wrote.
        let origin = if client.source.starts_with("built-in") {
            "clink"
        } else {
            client.source.as_str()
        };
        Error::config(
            origin,
            format!(
                "the `{}` CLI's command `{}` {detail}; {hint}",
                client.name, client.program
            ),
        )
    };
    if program.components().count() > 1 || program.is_absolute() {
        let full = match (&client.base_dir, program.is_relative()) {
            (Some(base), true) => base.join(program),
            _ => program.to_path_buf(),
        };
        return if is_executable(&full) {
            Ok(full)
        } else {
            Err(not_found(format!(
                "({}) is not an executable file",
                full.display()
            )))
        };
    }
    let dirs: Vec<PathBuf> = path
        .map(|p| std::env::split_paths(&OsString::from(p)).collect())
        .unwrap_or_default();
    for dir in &dirs {
        for name in candidate_names(&client.program) {
            let full = dir.join(&name);
            if is_executable(&full) {
                return Ok(full);
            }
        }
    }
    Err(not_found("was not found on PATH".into()))
}

fn candidate_names(program: &str) -> Vec<String> {
    let mut names = vec![program.to_owned()];
    if cfg!(windows) && Path::new(program).extension().is_none() {
        names.extend(
            [".exe", ".cmd", ".bat"]
                .iter()
                .map(|ext| format!("{program}{ext}")),
        );
    }
    names
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

/// The command for metadata, with long arguments (a system prompt) shortened.
fn show_command(program: &Path, args: &[String]) -> String {
    let mut words = vec![program.display().to_string()];
    words.extend(args.iter().map(|a| {
        if a.chars().count() > 80 {
            format!("<{} chars>", a.chars().count())
        } else if a.is_empty() || a.contains(char::is_whitespace) {
            format!("'{a}'")
        } else {
            a.clone()
        }
    }));
    words.join(" ")
}

/// The folder the CLI runs in: the definition's `working_dir`, or a fresh
/// empty folder removed afterwards, so that the CLI does not silently work on
/// whatever folder zen was started in.
#[derive(Debug)]
struct Workspace {
    path: PathBuf,
    scratch: bool,
}

impl Workspace {
    fn new(client: &Client) -> Result<Self> {
        if let Some(dir) = &client.working_dir {
            if !dir.is_dir() {
                return Err(Error::config(
                    &client.source,
                    format!("`working_dir` {} is not an existing folder", dir.display()),
                ));
            }
            return Ok(Workspace {
                path: dir.clone(),
                scratch: false,
            });
        }
        let path = std::env::temp_dir().join(format!("zen-clink-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir(&path).map_err(|err| {
            Error::config(
                &client.source,
                format!(
                    "can't create a scratch folder {} for the CLI: {err}",
                    path.display()
                ),
            )
        })?;
        Ok(Workspace {
            path,
            scratch: true,
        })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if self.scratch {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
