//! Reading files into prompt blocks within a token budget, and the
//! `prompt.txt` convention.

use std::fmt::{self, Write as _};
use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::cache::FileCache;
use super::human_size;
use super::paths::check_absolute;
use crate::error::{Error, Result};
use crate::tokens::{bytes_for_tokens, estimate_tokens};

/// The largest file that is read at all: 1 MiB. Bigger files are left out
/// with a note, without being read.
pub const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The file name of an attachment that holds the prompt itself. Clients use it
/// to pass prompts too long for a tool argument.
pub const PROMPT_FILE_NAME: &str = "prompt.txt";

/// Whether a file made it into the prompt, and if not, why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum BlockStatus {
    /// The whole file is in the block.
    Embedded,
    /// Larger than [`MAX_FILE_BYTES`]; not read.
    TooLarge {
        /// The file's size.
        bytes: u64,
    },
    /// Did not fit in the token budget left; not read, or read and dropped.
    OverBudget {
        /// The file's size.
        bytes: u64,
    },
    /// Could not be read (gone, not a regular file, no permission…).
    Unreadable {
        /// What went wrong.
        reason: String,
    },
}

impl fmt::Display for BlockStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BlockStatus::Embedded => f.write_str("embedded"),
            BlockStatus::TooLarge { bytes } => write!(
                f,
                "{}, over the {} limit for one file",
                human_size(*bytes),
                human_size(MAX_FILE_BYTES)
            ),
            BlockStatus::OverBudget { bytes } => write!(
                f,
                "{}, more than the token budget left for files",
                human_size(*bytes)
            ),
            BlockStatus::Unreadable { reason } => write!(f, "can't be read: {reason}"),
        }
    }
}

/// One file, ready to go into a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileBlock {
    /// The file.
    pub path: PathBuf,
    /// The prompt text: the file between `BEGIN FILE` and `END FILE` lines
    /// when embedded, else a one-line `FILE LEFT OUT` marker saying why. It
    /// ends with a newline, so blocks can be joined as they are.
    pub text: String,
    /// Estimated tokens of `text`.
    pub tokens: u64,
    /// Whether the file is in `text`.
    pub status: BlockStatus,
}

impl FileBlock {
    /// Whether the file's content is in the block.
    pub fn is_embedded(&self) -> bool {
        self.status == BlockStatus::Embedded
    }

    /// The one-line block of a file left out, saying why.
    pub fn left_out(path: &Path, status: BlockStatus) -> Self {
        let text = format!("--- FILE LEFT OUT: {} ({status}) ---\n", path.display());
        FileBlock {
            path: path.to_path_buf(),
            tokens: estimate_tokens(&text),
            text,
            status,
        }
    }
}

/// Reads `path` into a [`FileBlock`] of at most `budget_tokens` tokens.
///
/// Never reads more than the limits allow: a file over [`MAX_FILE_BYTES`]
/// ([`BlockStatus::TooLarge`]) or bigger than the budget can hold by
/// [`bytes_for_tokens`] ([`BlockStatus::OverBudget`]) is not opened. A file
/// that is read but whose block (with header and line numbers) comes out
/// over the budget is dropped as `OverBudget` too. A file that is not valid
/// UTF-8 after its first 8 KiB gets replacement characters.
///
/// The path goes through the same checks as in [`resolve_path`](super::resolve_path) again (it
/// may come from a stored conversation), and a refused or relative path is
/// [`BlockStatus::Unreadable`].
///
/// With `line_numbers`, each line starts with its number right-aligned to
/// four digits, or as many as the last line number needs, then `│ `.
///
/// Reads from the disk every time; [`FileCache::read_file_block`] reads a
/// file again only when it changed.
pub fn read_file_block(path: &Path, budget_tokens: u64, line_numbers: bool) -> FileBlock {
    FileCache::disabled().read_file_block(path, budget_tokens, line_numbers)
}

/// Several files read in turn into one prompt section, within a budget.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSection {
    /// The blocks that fit, one after another: each file's content, or the
    /// one-line marker of a file too large or unreadable.
    pub text: String,
    /// Tokens of the budget not spent.
    pub remaining: u64,
    /// Each file whose content is not in `text`, with the reason.
    pub left_out: Vec<String>,
}

impl FileCache {
    /// Reads `paths` in order within `budget_tokens`. A file the remaining
    /// budget can't hold is left out entirely; a file too large or unreadable
    /// leaves its marker in the text. Both are listed in `left_out`.
    pub fn read_section(
        &self,
        paths: &[PathBuf],
        budget_tokens: u64,
        line_numbers: bool,
    ) -> FileSection {
        let mut section = FileSection {
            remaining: budget_tokens,
            ..FileSection::default()
        };
        for path in paths {
            let block = self.read_file_block(path, section.remaining, line_numbers);
            if !block.is_embedded() {
                section
                    .left_out
                    .push(format!("{} ({})", path.display(), block.status));
            }
            if matches!(block.status, BlockStatus::OverBudget { .. }) {
                continue;
            }
            section.remaining = section.remaining.saturating_sub(block.tokens);
            section.text.push_str(&block.text);
        }
        section
    }

    /// [`read_file_block`], with the content taken from this cache while the
    /// file's modification time and size are unchanged.
    pub fn read_file_block(
        &self,
        path: &Path,
        budget_tokens: u64,
        line_numbers: bool,
    ) -> FileBlock {
        block(self, path, budget_tokens, line_numbers)
    }

    /// [`read_prompt_file`], with the content taken from this cache while the
    /// file's modification time and size are unchanged.
    pub fn read_prompt_file(&self, path: &Path) -> Result<String> {
        prompt_file(self, path)
    }
}

fn block(cache: &FileCache, path: &Path, budget_tokens: u64, line_numbers: bool) -> FileBlock {
    let unreadable = |reason: String| FileBlock::left_out(path, BlockStatus::Unreadable { reason });
    if !path.is_absolute() {
        return unreadable("not an absolute path".to_owned());
    }
    let path_text = path.display().to_string();
    let resolved = match check_absolute(&path_text) {
        Ok(resolved) => resolved,
        Err(refusal) => return unreadable(refusal.reason),
    };
    let meta = match fs::metadata(&resolved) {
        Ok(meta) => meta,
        Err(err) => return unreadable(err.to_string()),
    };
    if !meta.is_file() {
        return unreadable("not a regular file".to_owned());
    }
    let size = meta.len();
    let fits = bytes_for_tokens(budget_tokens);
    if size > MAX_FILE_BYTES {
        return FileBlock::left_out(path, BlockStatus::TooLarge { bytes: size });
    }
    if size > fits {
        return FileBlock::left_out(path, BlockStatus::OverBudget { bytes: size });
    }
    let limit = MAX_FILE_BYTES.min(fits);
    let bytes = match cache.read(&resolved, &meta, limit) {
        Ok(bytes) => bytes,
        Err(err) => return unreadable(err.to_string()),
    };
    // The file grew between the size check and the read.
    let read = bytes.len() as u64;
    if read > limit {
        let status = if read > MAX_FILE_BYTES {
            BlockStatus::TooLarge { bytes: read }
        } else {
            BlockStatus::OverBudget { bytes: read }
        };
        return FileBlock::left_out(path, status);
    }
    let content = String::from_utf8_lossy(&bytes);
    let modified = meta.modified().map_or_else(
        |_| "unknown".to_owned(),
        |time| humantime::format_rfc3339_seconds(time).to_string(),
    );
    let text = format_block(path, &modified, &content, line_numbers);
    let tokens = estimate_tokens(&text);
    if tokens > budget_tokens {
        return FileBlock::left_out(path, BlockStatus::OverBudget { bytes: size });
    }
    FileBlock {
        path: path.to_path_buf(),
        text,
        tokens,
        status: BlockStatus::Embedded,
    }
}

fn format_block(path: &Path, modified: &str, content: &str, line_numbers: bool) -> String {
    let shown = path.display();
    let mut text = String::with_capacity(content.len() + content.len() / 4 + 200);
    let _ = writeln!(text, "--- BEGIN FILE: {shown} (modified {modified}) ---");
    if line_numbers {
        number_lines(&mut text, content);
    } else {
        text.push_str(content);
        if !content.is_empty() && !content.ends_with('\n') {
            text.push('\n');
        }
    }
    let _ = writeln!(text, "--- END FILE: {shown} ---");
    text
}

/// Appends `content` to `out` with each line numbered.
fn number_lines(out: &mut String, content: &str) {
    let count = content.lines().count();
    let width = count.to_string().len().max(4);
    for (index, line) in content.lines().enumerate() {
        let _ = writeln!(out, "{:>width$}│ {line}", index + 1);
    }
}

/// A note for the model listing the blocks that were left out, e.g.
/// `2 files were left out: /a.log (3.0 MiB, over the 1.0 MiB limit for one
/// file); /b.rs (…)`; `None` when every file is embedded.
pub fn omitted_note(blocks: &[FileBlock]) -> Option<String> {
    let left_out: Vec<String> = blocks
        .iter()
        .filter(|block| !block.is_embedded())
        .map(|block| format!("{} ({})", block.path.display(), block.status))
        .collect();
    match left_out.len() {
        0 => None,
        1 => Some(format!("1 file was left out: {}", left_out.join("; "))),
        n => Some(format!("{n} files were left out: {}", left_out.join("; "))),
    }
}

/// Takes the first attachment named exactly [`PROMPT_FILE_NAME`] out of
/// `files` and returns it; its content is the prompt. Other attachments,
/// including any further `prompt.txt`, stay where they are.
pub fn take_prompt_file(files: &mut Vec<PathBuf>) -> Option<PathBuf> {
    let position = files.iter().position(|file| {
        file.file_name()
            .is_some_and(|name| name == PROMPT_FILE_NAME)
    })?;
    Some(files.remove(position))
}

/// Reads a prompt file (see [`take_prompt_file`]) to a string.
///
/// The path goes through the same checks as any attachment. Fails with
/// [`Error::FileRefused`] when the file is refused, can't be read, is larger
/// than [`MAX_FILE_BYTES`] or is not UTF-8 text.
pub fn read_prompt_file(path: &Path) -> Result<String> {
    prompt_file(&FileCache::disabled(), path)
}

fn prompt_file(cache: &FileCache, path: &Path) -> Result<String> {
    let shown = path.display().to_string();
    let refuse = |reason: String| Error::FileRefused {
        path: shown.clone(),
        reason,
    };
    if !path.is_absolute() {
        return Err(refuse(
            "the prompt file must be named by an absolute path".to_owned(),
        ));
    }
    let resolved = check_absolute(&shown).map_err(|refusal| refuse(refusal.reason))?;
    let meta = fs::metadata(&resolved).map_err(|err| refuse(format!("can't be read ({err})")))?;
    if !meta.is_file() {
        return Err(refuse("not a regular file".to_owned()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(refuse(format!(
            "the prompt file is {}, over the {} limit; shorten it",
            human_size(meta.len()),
            human_size(MAX_FILE_BYTES)
        )));
    }
    let bytes = cache
        .read(&resolved, &meta, MAX_FILE_BYTES)
        .map_err(|err| refuse(format!("can't be read ({err})")))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(refuse(format!(
            "the prompt file grew past the {} limit while being read",
            human_size(MAX_FILE_BYTES)
        )));
    }
    String::from_utf8(bytes.to_vec())
        .map_err(|_| refuse("the prompt file is not UTF-8 text; save it as UTF-8".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_widths() {
        let mut out = String::new();
        number_lines(&mut out, "a\n\nc");
        assert_eq!(out, "   1│ a\n   2│ \n   3│ c\n");

        let mut out = String::new();
        number_lines(&mut out, "x\r\ny\r\n");
        assert_eq!(out, "   1│ x\n   2│ y\n");

        let ten_thousand: String = (1..=10_000).map(|n| format!("{n}\n")).collect();
        let mut out = String::new();
        number_lines(&mut out, &ten_thousand);
        assert!(out.starts_with("    1│ 1\n"));
        assert!(out.ends_with("10000│ 10000\n"));
    }

    #[test]
    fn block_without_numbers_keeps_content_and_ends_with_newline() {
        let text = format_block(Path::new("/p/a.txt"), "T", "one\ntwo", false);
        assert_eq!(
            text,
            "--- BEGIN FILE: /p/a.txt (modified T) ---\none\ntwo\n--- END FILE: /p/a.txt ---\n"
        );
        let empty = format_block(Path::new("/p/e"), "T", "", true);
        assert_eq!(
            empty,
            "--- BEGIN FILE: /p/e (modified T) ---\n--- END FILE: /p/e ---\n"
        );
    }

    #[test]
    fn note_lists_left_out_files() {
        let kept = FileBlock {
            path: "/a".into(),
            text: String::new(),
            tokens: 0,
            status: BlockStatus::Embedded,
        };
        assert_eq!(omitted_note(std::slice::from_ref(&kept)), None);
        let big = FileBlock::left_out(Path::new("/big"), BlockStatus::TooLarge { bytes: 3 << 20 });
        let note = omitted_note(&[kept, big.clone()]);
        assert_eq!(
            note.as_deref(),
            Some("1 file was left out: /big (3.0 MiB, over the 1.0 MiB limit for one file)")
        );
        assert_eq!(
            big.text,
            "--- FILE LEFT OUT: /big (3.0 MiB, over the 1.0 MiB limit for one file) ---\n"
        );
    }
}
