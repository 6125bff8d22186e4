//! Raw settings: where values come from, and typed reading with errors that
//! name the variable.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, Result};

/// The merged name → value map that a [`super::Config`] is read from.
///
/// Placeholder values left over from an example file (`your_gemini_api_key_here`,
/// `your-key-here`, an empty string) count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    values: BTreeMap<String, String>,
}

impl Settings {
    /// An empty set of settings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `name` to `value`, replacing an earlier value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.values.insert(name.into(), value.into());
    }

    /// Layers `other` on top of `self`: its values win.
    pub fn extend(&mut self, other: Settings) {
        self.values.extend(other.values);
    }

    /// The value of `name`, or `None` when it is unset, blank or a placeholder.
    pub fn get(&self, name: &str) -> Option<&str> {
        let value = self.values.get(name)?.trim();
        (!is_placeholder(value)).then_some(value)
    }

    /// Whether `name` is present with a blank value (`NAME=`), which some
    /// settings read as "none" rather than "unset".
    pub fn is_blank(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| v.trim().is_empty())
    }

    /// Whether `name` has a real (non-placeholder) value.
    pub fn is_set(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Every name that has a real value, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values
            .iter()
            .filter(|(_, value)| !is_placeholder(value.trim()))
            .map(|(name, _)| name.as_str())
    }

    /// Parses `name` with [`FromStr`]; `what` describes the expected value for the error.
    pub fn parse<T: FromStr>(&self, name: &str, what: &str) -> Result<Option<T>> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => raw.parse::<T>().map(Some).map_err(|_| {
                Error::config(name, format!("`{raw}` is not {what}; fix or unset {name}"))
            }),
        }
    }

    /// A whole number at least `min`, or `default` when unset.
    pub fn u64_at_least(&self, name: &str, min: u64, default: u64) -> Result<u64> {
        let value = self
            .parse::<u64>(name, "a whole number")?
            .unwrap_or(default);
        if value < min {
            return Err(Error::config(
                name,
                format!("{value} is too small; use {min} or more"),
            ));
        }
        Ok(value)
    }

    /// A whole number from `min` to `max`, or `default` when unset.
    pub fn u64_within(&self, name: &str, min: u64, max: u64, default: u64) -> Result<u64> {
        let value = self.u64_at_least(name, min, default)?;
        if value > max {
            return Err(Error::config(
                name,
                format!("{value} is too large; use {min} to {max}"),
            ));
        }
        Ok(value)
    }

    /// A positive number of seconds, or `default` when unset.
    pub fn seconds(&self, name: &str, default: Duration) -> Result<Duration> {
        match self.parse::<f64>(name, "a number of seconds")? {
            None => Ok(default),
            Some(secs) if secs > 0.0 && Duration::try_from_secs_f64(secs).is_ok() => {
                Ok(Duration::from_secs_f64(secs))
            }
            Some(secs) if secs > 0.0 && secs.is_finite() => Err(Error::config(
                name,
                format!("{secs} seconds is more than zen can wait; use a smaller number"),
            )),
            Some(secs) => Err(Error::config(
                name,
                format!("{secs} is not a positive number of seconds"),
            )),
        }
    }

    /// A comma-separated list, trimmed, empty items dropped; `None` when unset.
    pub fn list(&self, name: &str) -> Option<Vec<String>> {
        self.get(name).map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|item| !item.is_empty())
                .map(str::to_owned)
                .collect()
        })
    }

    /// A URL that must start with `http://` or `https://`; trailing `/` removed.
    pub fn url(&self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) if raw.starts_with("http://") || raw.starts_with("https://") => {
                Ok(Some(raw.trim_end_matches('/').to_owned()))
            }
            Some(raw) => Err(Error::config(
                name,
                format!("`{raw}` is not an http:// or https:// URL"),
            )),
        }
    }

    /// A comma-separated list of one or more `http://` or `https://` URLs,
    /// each with a host, trailing `/` removed. An empty item, a bad URL or
    /// one listed twice is an error naming `name`.
    pub fn urls(&self, name: &str) -> Result<Option<Vec<String>>> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let items: Vec<&str> = raw.split(',').map(str::trim).collect();
        let several = items.len() > 1;
        let mut urls: Vec<String> = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            let which = if several {
                format!("item {} of the list", index + 1)
            } else {
                "the value".to_owned()
            };
            if item.is_empty() {
                return Err(Error::config(
                    name,
                    format!(
                        "{which} is empty; separate URLs with single commas, e.g. http://a:8000/v1,http://b:8000/v1"
                    ),
                ));
            }
            let scheme_ok = item.starts_with("http://") || item.starts_with("https://");
            let parsed = reqwest::Url::parse(item);
            if !scheme_ok || !parsed.as_ref().is_ok_and(|url| url.host().is_some()) {
                let why = match parsed {
                    Err(err) if scheme_ok => format!(" ({err})"),
                    _ => String::new(),
                };
                return Err(Error::config(
                    name,
                    format!("`{item}` ({which}) is not an http:// or https:// URL{why}"),
                ));
            }
            let url = item.trim_end_matches('/').to_owned();
            if urls.contains(&url) {
                return Err(Error::config(
                    name,
                    format!("`{item}` is listed twice; list each endpoint once"),
                ));
            }
            urls.push(url);
        }
        Ok(Some(urls))
    }

    /// One of `options` (case-insensitive), returned in lowercase.
    pub fn choice(&self, name: &str, options: &[&str]) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(raw) => {
                let lower = raw.to_ascii_lowercase();
                if options.contains(&lower.as_str()) {
                    Ok(Some(lower))
                } else {
                    Err(Error::config(
                        name,
                        format!("`{raw}` is not one of: {}", options.join(", ")),
                    ))
                }
            }
        }
    }

    /// An on/off setting: `1`, `on`, `true`, `yes` or `0`, `off`, `false`,
    /// `no` (any case); `default` when unset, an error naming it otherwise.
    pub fn flag(&self, name: &str, default: bool) -> Result<bool> {
        Ok(self
            .choice(name, &["1", "0", "on", "off", "true", "false", "yes", "no"])?
            .map_or(default, |v| {
                matches!(v.as_str(), "1" | "on" | "true" | "yes")
            }))
    }

    /// The process environment.
    pub fn from_process_env() -> Self {
        Settings {
            values: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// The entries of a `.env` file. `origin` names the setting that pointed to it,
    /// for the error message.
    pub fn from_dotenv_file(path: &Path, origin: &str) -> Result<Self> {
        let iter = dotenvy::from_path_iter(path).map_err(|err| {
            Error::config(origin, format!("can't read {}: {err}", path.display()))
        })?;
        let mut settings = Settings::new();
        for item in iter {
            let (name, value) = item.map_err(|err| {
                let what = match err {
                    // Its number, never its text: the value may be a key.
                    dotenvy::Error::LineParse(line, at) => {
                        let number = std::fs::read_to_string(path).ok().and_then(|text| {
                            text.lines().position(|l| l.trim_end() == line.trim_end())
                        });
                        match number {
                            Some(n) => {
                                format!("line {} can't be read (at character {})", n + 1, at + 1)
                            }
                            None => format!("a line can't be read (at character {})", at + 1),
                        }
                    }
                    // dotenvy's other messages may quote the line too.
                    _ => "a line can't be read".to_owned(),
                };
                Error::config(
                    path.display().to_string(),
                    format!("not a valid .env file: {what}; each line must be NAME=value"),
                )
            })?;
            settings.insert(name, value);
        }
        Ok(settings)
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Settings {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Settings {
            values: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

/// Where settings are read from. Later sources win:
/// `.env` file < process environment < host map.
#[derive(Debug, Clone)]
pub struct Sources {
    /// Read the process environment.
    pub process_env: bool,
    /// Read a `.env` file: the path in `ZEN_ENV_FILE` if set, else `./.env` if present.
    pub dotenv: bool,
    /// Values handed in by a host (C, Python), applied last.
    pub overrides: Settings,
}

impl Sources {
    /// `.env` and the process environment, as a server started from a shell wants.
    pub fn environment() -> Self {
        Sources {
            process_env: true,
            dotenv: true,
            overrides: Settings::new(),
        }
    }

    /// Only the given map: nothing from the process or the file system.
    pub fn only(overrides: Settings) -> Self {
        Sources {
            process_env: false,
            dotenv: false,
            overrides,
        }
    }

    /// Merges the sources into one [`Settings`].
    pub fn collect(&self) -> Result<Settings> {
        let env = if self.process_env {
            Settings::from_process_env()
        } else {
            Settings::new()
        };
        let mut dotenv = Settings::new();
        if self.dotenv {
            // ZEN_ENV_FILE may itself come from the environment or the host map.
            let explicit = self
                .overrides
                .get("ZEN_ENV_FILE")
                .or_else(|| env.get("ZEN_ENV_FILE"))
                .map(PathBuf::from);
            match explicit {
                Some(path) if !path.is_file() => {
                    return Err(Error::config(
                        "ZEN_ENV_FILE",
                        format!("{} does not exist or is not a file", path.display()),
                    ));
                }
                Some(path) => dotenv = Settings::from_dotenv_file(&path, "ZEN_ENV_FILE")?,
                None => {
                    let local = Path::new(".env");
                    if local.is_file() {
                        dotenv = Settings::from_dotenv_file(local, ".env")?;
                    }
                }
            }
        }
        Ok(Self::layer(dotenv, env, self.overrides.clone()))
    }

    /// Layers the three sources: `.env` < environment < host map. A `.env`
    /// that sets `PAL_MCP_FORCE_ENV_OVERRIDE=true` (or the older
    /// `ZEN_MCP_FORCE_ENV_OVERRIDE`) wins over the environment, as in PAL.
    pub fn layer(dotenv: Settings, env: Settings, overrides: Settings) -> Settings {
        let forced = ["PAL_MCP_FORCE_ENV_OVERRIDE", "ZEN_MCP_FORCE_ENV_OVERRIDE"]
            .iter()
            .any(|name| {
                dotenv.get(name).is_some_and(|v| {
                    matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
                })
            });
        let (mut merged, top) = if forced { (env, dotenv) } else { (dotenv, env) };
        merged.extend(top);
        merged.extend(overrides);
        merged
    }
}

/// Whether a value is a leftover from an example file rather than a real value.
pub fn is_placeholder(value: &str) -> bool {
    let lower = value.trim().to_ascii_lowercase();
    if lower.is_empty() {
        return true;
    }
    let templated = (lower.starts_with("your_") && lower.ends_with("_here"))
        || (lower.starts_with("your-") && lower.ends_with("-here"))
        || (lower.starts_with('<') && lower.ends_with('>'));
    templated || matches!(lower.as_str(), "changeme" | "change_me" | "xxx" | "...")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_count_as_unset() {
        let s: Settings = [
            ("GEMINI_API_KEY", "your_gemini_api_key_here"),
            ("OPENAI_API_KEY", "  "),
            ("XAI_API_KEY", "<your key>"),
            ("DIAL_API_KEY", "real-key"),
        ]
        .into_iter()
        .collect();
        assert_eq!(s.get("GEMINI_API_KEY"), None);
        assert_eq!(s.get("OPENAI_API_KEY"), None);
        assert_eq!(s.get("XAI_API_KEY"), None);
        assert_eq!(s.get("DIAL_API_KEY"), Some("real-key"));
        assert_eq!(s.names().collect::<Vec<_>>(), vec!["DIAL_API_KEY"]);
    }

    #[test]
    fn typed_errors_name_the_variable() {
        let s: Settings = [("MAX_CONVERSATION_TURNS", "lots"), ("X_URL", "ftp://a")]
            .into_iter()
            .collect();
        let err = s.u64_at_least("MAX_CONVERSATION_TURNS", 1, 50).unwrap_err();
        assert!(err.to_string().contains("MAX_CONVERSATION_TURNS"), "{err}");
        assert!(err.to_string().contains("lots"), "{err}");
        let err = s.url("X_URL").unwrap_err();
        assert!(err.to_string().contains("X_URL"), "{err}");
    }

    #[test]
    fn huge_seconds_are_an_error_not_a_panic() {
        for value in ["1e20", "inf", "NaN", "-1"] {
            let s: Settings = [("T", value)].into_iter().collect();
            let err = s
                .seconds("T", Duration::from_secs(1))
                .unwrap_err()
                .to_string();
            assert!(err.contains('T'), "{value}: {err}");
        }
    }

    #[test]
    fn a_bad_env_line_is_named_by_number_never_quoted() {
        let dir = std::env::temp_dir().join(format!("zen-env-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".env");
        std::fs::write(&path, "A=1\nOPENAI_API_KEY=\"sk-secret-123\n").unwrap();
        let err = Settings::from_dotenv_file(&path, "ZEN_ENV_FILE")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("sk-secret"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn lists_are_trimmed() {
        let s: Settings = [("L", " a, b ,,c ")].into_iter().collect();
        assert_eq!(s.list("L"), Some(vec!["a".into(), "b".into(), "c".into()]));
        assert_eq!(s.list("MISSING"), None);
    }
}
