//! Path checks: absolute, resolved, and outside what zen must never read.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

/// A path that can't be used and why; reported back to the client instead of
/// failing the whole call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The path as the client gave it, or as found inside a folder it gave.
    pub path: String,
    /// Why it was left out, as a phrase to follow the path.
    pub reason: String,
}

impl Refusal {
    /// A refusal of `path` because of `reason`.
    pub fn new(path: impl Into<String>, reason: impl Into<String>) -> Self {
        Refusal {
            path: path.into(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

/// Unix and macOS system locations, refused with everything below them.
const UNIX_SYSTEM_DIRS: &[&str] = &[
    "/etc",
    "/usr",
    "/bin",
    "/sbin",
    "/var",
    "/root",
    "/boot",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/proc",
    "/sys",
    "/dev",
    "/run",
    // macOS
    "/System",
    "/Library",
    "/Applications",
    "/private/etc",
    "/private/var",
];

/// Places inside [`UNIX_SYSTEM_DIRS`] that hold users' own files: macOS
/// per-user temporary folders.
const UNIX_ALLOWED_DIRS: &[&str] = &["/private/var/folders", "/var/folders"];

/// Folders holding every user's home directory.
const UNIX_HOMES: &[&str] = &["/home", "/Users"];

/// Windows system locations on any drive, lowercase with `/` separators.
const WINDOWS_SYSTEM_DIRS: &[&str] = &[
    "/windows",
    "/program files",
    "/program files (x86)",
    "/programdata",
];

/// The folder holding home directories on a Windows drive.
const WINDOWS_HOMES: &str = "/users";

/// Checks one path named by the client and resolves it.
///
/// A path that is not absolute fails the whole call with
/// [`Error::InvalidArguments`] for `field`, because zen can't know which
/// directory it was relative to. Otherwise the outer result is `Ok` and the
/// inner one holds either the resolved (canonical, symlink-free) path or the
/// [`Refusal`] to report: the path is missing, lies in a system location, or
/// is the filesystem root, the folder of home directories, or a home
/// directory itself. Symlinks are resolved before the checks, so a link to a
/// system file is refused. See the [module documentation](super) for the
/// full list.
pub fn resolve_path(raw: &str, field: &str) -> Result<Result<PathBuf, Refusal>> {
    require_absolute(raw, field)?;
    Ok(check_absolute(raw))
}

/// Fails with [`Error::InvalidArguments`] for `field` when `raw` is not an
/// absolute path.
pub(crate) fn require_absolute(raw: &str, field: &str) -> Result<()> {
    if Path::new(raw).is_absolute() {
        return Ok(());
    }
    Err(Error::invalid(
        field,
        format!(
            "`{raw}` is not an absolute path; pass the full path \
             (such as /home/me/project/src/main.rs), not one relative to a working directory"
        ),
    ))
}

/// [`resolve_path`] for a path already known to be absolute.
pub(crate) fn check_absolute(raw: &str) -> Result<PathBuf, Refusal> {
    let resolved = match std::fs::canonicalize(raw) {
        Ok(path) => path,
        Err(err) => {
            // A missing path in a system location is refused for where it is.
            if let Some(why) = refusal_reason(Path::new(raw), None) {
                return Err(Refusal::new(raw, why));
            }
            let why = if err.kind() == io::ErrorKind::NotFound {
                "does not exist".to_owned()
            } else {
                format!("can't be resolved ({err})")
            };
            return Err(Refusal::new(raw, why));
        }
    };
    let resolved = without_verbatim_prefix(resolved);
    let home = home_dir();
    match refusal_reason(&resolved, home.as_deref()) {
        None => Ok(resolved),
        Some(why) if Path::new(raw) == resolved => Err(Refusal::new(raw, why)),
        Some(why) => Err(Refusal::new(
            raw,
            format!("resolves to {}, {why}", resolved.display()),
        )),
    }
}

/// The user's home directory, resolved when possible.
fn home_dir() -> Option<PathBuf> {
    let home = std::env::home_dir().filter(|h| h.is_absolute())?;
    Some(std::fs::canonicalize(&home).map_or(home, without_verbatim_prefix))
}

/// Windows' `canonicalize` answers `\\?\C:\dir`; people and models know
/// `C:\dir`. Other paths are returned unchanged.
fn without_verbatim_prefix(path: PathBuf) -> PathBuf {
    let Some(text) = path.to_str() else {
        return path;
    };
    match text.strip_prefix(r"\\?\") {
        Some(rest) if drive_split(rest).is_some() => PathBuf::from(rest),
        _ => path,
    }
}

/// Splits `C:\dir\file` into the drive-relative part with `/` separators
/// (`/dir/file`), or `None` for a path without a drive letter.
fn drive_split(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let is_drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
    if !is_drive {
        return None;
    }
    let rest = text.get(2..).unwrap_or("").replace('\\', "/");
    Some(if rest.is_empty() {
        "/".to_owned()
    } else {
        rest
    })
}

/// Why the resolved path `path` must not be read, if it must not; `home` is
/// the user's home directory.
pub(crate) fn refusal_reason(path: &Path, home: Option<&Path>) -> Option<String> {
    const ROOT: &str = "the filesystem root; name the project's folder or files instead";
    const HOME: &str = "a home directory itself (or the folder holding them); \
                        name a project folder or files inside it instead";

    if home.is_some_and(|home| home == path) {
        return Some(HOME.to_owned());
    }
    let text = path.to_string_lossy();
    let text = text.strip_prefix(r"\\?\").unwrap_or(&text);
    if let Some(rest) = drive_split(text) {
        if rest == "/" {
            return Some(ROOT.to_owned());
        }
        if let Some(dir) = WINDOWS_SYSTEM_DIRS.iter().find(|d| under(&rest, d, true)) {
            let shown = dir.trim_start_matches('/');
            return Some(format!(
                "inside the system location {}\\{shown}, which zen never reads",
                text.get(..2).unwrap_or("")
            ));
        }
        if is_home_root(&rest, WINDOWS_HOMES, true) {
            return Some(HOME.to_owned());
        }
        return None;
    }

    // macOS file systems usually ignore case; Linux ones do not.
    let fold = cfg!(target_os = "macos");
    if text == "/" {
        return Some(ROOT.to_owned());
    }
    let allowed = UNIX_ALLOWED_DIRS.iter().any(|d| under(text, d, fold));
    let system = UNIX_SYSTEM_DIRS.iter().find(|d| under(text, d, fold));
    if let (false, Some(dir)) = (allowed, system) {
        return Some(format!(
            "inside the system location {dir}, which zen never reads"
        ));
    }
    if UNIX_HOMES
        .iter()
        .any(|homes| is_home_root(text, homes, fold))
    {
        return Some(HOME.to_owned());
    }
    None
}

/// Whether `path` is `dir` or below it.
fn under(path: &str, dir: &str, fold: bool) -> bool {
    let Some(head) = path.get(..dir.len()) else {
        return false;
    };
    let same = if fold {
        head.eq_ignore_ascii_case(dir)
    } else {
        head == dir
    };
    same && matches!(path.as_bytes().get(dir.len()), None | Some(b'/'))
}

/// Whether `path` is `homes` itself or one folder directly inside it.
fn is_home_root(path: &str, homes: &str, fold: bool) -> bool {
    under(path, homes, fold)
        && path
            .get(homes.len()..)
            .is_some_and(|rest| !rest.trim_start_matches('/').contains('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(path: &str) -> Option<String> {
        refusal_reason(Path::new(path), Some(Path::new("/srv/me")))
    }

    #[test]
    fn system_locations_roots_and_homes_are_refused() {
        let refused = [
            ("/etc/passwd", "/etc"),
            ("/etc", "/etc"),
            ("/proc/1/environ", "/proc"),
            ("/usr/local/src/x.c", "/usr"),
            ("/var/log/syslog", "/var"),
            ("/private/var/db/x", "/private/var"),
            ("/System/Library/x", "/System"),
            (r"C:\Windows\System32\drivers\etc\hosts", r"C:\windows"),
            (r"\\?\C:\Program Files\App\a.txt", r"C:\program files"),
            (r"d:\ProgramData\x", r"d:\programdata"),
            ("/", "filesystem root"),
            (r"C:\", "filesystem root"),
            ("/home", "home directory"),
            ("/home/alice", "home directory"),
            ("/Users/bob", "home directory"),
            (r"C:\Users\carol", "home directory"),
            ("/srv/me", "home directory"),
        ];
        for (path, expected) in refused {
            let why = reason(path).unwrap_or_else(|| panic!("{path} should be refused"));
            assert!(why.contains(expected), "{path}: {why}");
        }
    }

    #[test]
    fn user_locations_are_allowed() {
        for path in [
            "/tmp/x",
            "/tmp",
            "/opt/project/a.rs",
            "/home/alice/project",
            "/home/alice/.config/x.toml",
            "/Users/bob/src/lib.rs",
            "/private/var/folders/ab/T/tmp1/a.txt",
            "/etc2/x",
            "/variable/x",
            "/srv/me/project",
            r"C:\Users\carol\code\main.rs",
            r"C:\Windows2\x",
        ] {
            assert_eq!(reason(path), None, "{path}");
        }
    }

    #[test]
    fn verbatim_windows_paths_are_simplified() {
        assert_eq!(
            without_verbatim_prefix(PathBuf::from(r"\\?\C:\code\a.rs")),
            PathBuf::from(r"C:\code\a.rs")
        );
        assert_eq!(
            without_verbatim_prefix(PathBuf::from("/tmp/a")),
            PathBuf::from("/tmp/a")
        );
    }
}
