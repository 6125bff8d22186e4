//! Turning the paths a client named into the text files to read.

use std::collections::HashSet;
use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use ignore::WalkBuilder;
use serde::Serialize;

use super::cache::FileCache;
use super::paths::{Refusal, check_absolute, require_absolute};
use super::read_at_most;
use crate::error::Result;

/// Folders left out when a folder is expanded: version control, dependencies,
/// virtual environments, caches and build output. Hidden folders (`.git`,
/// `.venv`, `.idea`, …) are left out anyway; they are listed for clarity.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    "node_modules",
    "bower_components",
    "vendor",
    "target",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "dist",
    "build",
    ".next",
    ".nuxt",
    ".idea",
    ".vscode",
    ".gradle",
    ".terraform",
    ".cache",
];

/// Extensions of files that are never text: images, archives and packages,
/// compiled code, documents, audio and video, fonts and data stores.
const BINARY_EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "gif", "bmp", "ico", "icns", "webp", "tif", "tiff", "psd", "heic",
    "avif", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar", "jar", "war", "ear", "whl",
    "egg", "deb", "rpm", "msi", "apk", "ipa", "dmg", "iso", "img", "crate", "exe", "dll", "so",
    "dylib", "a", "lib", "o", "obj", "bin", "class", "pyc", "pyo", "pyd", "wasm", "rlib", "rmeta",
    "pdb", "node", "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "mp3",
    "mp4", "m4a", "wav", "flac", "ogg", "opus", "avi", "mov", "mkv", "webm", "ttf", "otf", "woff",
    "woff2", "eot", "sqlite", "sqlite3", "db", "parquet", "npy", "npz", "pkl", "pickle",
];

/// How much of a file is looked at to tell text from binary.
const SNIFF_BYTES: u64 = 8 * 1024;

/// What the paths of a request expanded to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Expanded {
    /// Text files to read, resolved, without duplicates: files named
    /// explicitly in the order given, each folder's files sorted by path at
    /// the folder's place.
    pub files: Vec<PathBuf>,
    /// Paths that were left out, with the reason, to report to the client.
    pub refused: Vec<Refusal>,
}

/// Checks every path in `raw` and expands folders into the text files inside
/// them (see the [module documentation](super) for what is left out).
///
/// A relative path fails the whole call with
/// [`Error::InvalidArguments`](crate::Error::InvalidArguments) naming `field`;
/// anything else wrong with a path becomes a [`Refusal`] in the result.
///
/// Reads the first 8 KiB of every file found; [`FileCache::expand_paths`]
/// tells text from binary by the cached content of unchanged files.
pub fn expand_paths(raw: &[String], field: &str) -> Result<Expanded> {
    FileCache::disabled().expand_paths(raw, field)
}

impl FileCache {
    /// [`expand_paths`], telling text from binary by this cache's copy of
    /// an unchanged file instead of reading its start again.
    pub fn expand_paths(&self, raw: &[String], field: &str) -> Result<Expanded> {
        expand(self, raw, field)
    }
}

fn expand(cache: &FileCache, raw: &[String], field: &str) -> Result<Expanded> {
    // A relative path anywhere fails the call before any file is touched.
    for path in raw {
        require_absolute(path, field)?;
    }
    let mut out = Expanded::default();
    let mut seen = HashSet::new();
    let mut add = |out: &mut Expanded, file: PathBuf| {
        if seen.insert(file.clone()) {
            out.files.push(file);
        }
    };
    for given in raw {
        let path = match check_absolute(given) {
            Ok(path) => path,
            Err(refusal) => {
                out.refused.push(refusal);
                continue;
            }
        };
        let meta = match fs::metadata(&path) {
            Ok(meta) => meta,
            Err(err) => {
                out.refused
                    .push(Refusal::new(given, format!("can't be read ({err})")));
                continue;
            }
        };
        if meta.is_dir() {
            let (files, refused) = walk_dir(cache, &path);
            for file in files {
                add(&mut out, file);
            }
            out.refused.extend(refused);
        } else if meta.is_file() {
            match sniff(cache, &path) {
                Ok(false) => add(&mut out, path),
                Ok(true) => out.refused.push(Refusal::new(
                    given,
                    "binary file; only text files can be attached (images go in `images`)",
                )),
                Err(err) => out
                    .refused
                    .push(Refusal::new(given, format!("can't be read ({err})"))),
            }
        } else {
            out.refused.push(Refusal::new(
                given,
                "neither a regular file nor a folder (a device, pipe or socket)",
            ));
        }
    }
    Ok(out)
}

/// The text files below `root`, sorted by path, and what was refused there.
fn walk_dir(cache: &FileCache, root: &Path) -> (Vec<PathBuf>, Vec<Refusal>) {
    let mut files = Vec::new();
    let mut refused = Vec::new();
    let walker = WalkBuilder::new(root)
        .hidden(true)
        .ignore(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .parents(true)
        .require_git(false)
        .follow_links(false)
        // The walker never filters the folder it starts from, so a folder
        // named explicitly is expanded even when it is in this list.
        .filter_entry(|entry| {
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            !(is_dir && is_skipped_dir(entry.file_name()))
        })
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                // An unreadable sub-folder or a malformed ignore file: the
                // rest of the folder is still useful.
                tracing::debug!(folder = %root.display(), error = %err, "skipping part of a folder");
                continue;
            }
        };
        let Some(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_file() {
            match sniff(cache, path) {
                Ok(false) => files.push(path.to_path_buf()),
                Ok(true) => {}
                Err(err) => refused.push(Refusal::new(
                    path.display().to_string(),
                    format!("can't be read ({err})"),
                )),
            }
        } else if kind.is_symlink() {
            let shown = path.display().to_string();
            match linked_text_file(cache, &shown) {
                Ok(Some(target)) => files.push(target),
                Ok(None) => {}
                Err(refusal) => refused.push(refusal),
            }
        }
    }
    files.sort();
    files.dedup();
    (files, refused)
}

/// The target of a symlink found in a folder, when it is an allowed text
/// file; `None` for links to folders (not followed), broken links and binary
/// files.
fn linked_text_file(cache: &FileCache, link: &str) -> Result<Option<PathBuf>, Refusal> {
    match fs::metadata(link) {
        Ok(meta) if meta.is_file() => {}
        Ok(_) => return Ok(None),
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(Refusal::new(link, format!("can't be read ({err})"))),
    }
    let target = check_absolute(link)?;
    match sniff(cache, &target) {
        Ok(false) => Ok(Some(target)),
        Ok(true) => Ok(None),
        Err(err) => Err(Refusal::new(link, format!("can't be read ({err})"))),
    }
}

fn is_skipped_dir(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| SKIPPED_DIRS.contains(&name))
}

/// Whether the file at `path` is binary: its extension says so, or its first
/// 8 KiB hold a NUL byte or are not UTF-8. Reads at most those 8 KiB.
pub fn is_binary_file(path: &Path) -> io::Result<bool> {
    sniff(&FileCache::disabled(), path)
}

/// [`is_binary_file`], looking at `cache`'s copy of the file when it holds
/// one for its current modification time and size.
fn sniff(cache: &FileCache, path: &Path) -> io::Result<bool> {
    let binary_extension = path.extension().and_then(OsStr::to_str).is_some_and(|ext| {
        BINARY_EXTENSIONS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(ext))
    });
    if binary_extension {
        return Ok(true);
    }
    let sample = SNIFF_BYTES as usize;
    if let Some(content) = cache.peek(path)? {
        let head = &content[..content.len().min(sample)];
        return Ok(looks_binary(head, head.len() == sample));
    }
    let mut head = read_at_most(path, SNIFF_BYTES)?;
    head.truncate(sample);
    Ok(looks_binary(&head, head.len() == sample))
}

/// Whether `head`, the start of a file, is binary; `truncated` says the file
/// goes on, so a character cut at the end is not an error.
fn looks_binary(head: &[u8], truncated: bool) -> bool {
    if head.contains(&0) {
        return true;
    }
    match std::str::from_utf8(head) {
        Ok(_) => false,
        // `error_len() == None`: the bytes end inside a character.
        Err(err) => !(truncated && err.error_len().is_none()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_and_binary_heads() {
        assert!(!looks_binary(b"fn main() {}\n", false));
        assert!(!looks_binary("héllo wörld".as_bytes(), false));
        assert!(!looks_binary(b"", false));
        assert!(looks_binary(b"ab\0cd", false));
        assert!(looks_binary(&[0xff, 0xfe, 0x41], false));
        // "é" cut in half at the end of the sample: text if the file goes on.
        let cut = &"abcé".as_bytes()[..4];
        assert!(!looks_binary(cut, true));
        assert!(looks_binary(cut, false));
    }

    #[test]
    fn skipped_dirs() {
        assert!(is_skipped_dir(OsStr::new("node_modules")));
        assert!(is_skipped_dir(OsStr::new("target")));
        assert!(!is_skipped_dir(OsStr::new("src")));
    }
}
