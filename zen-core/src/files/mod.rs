//! Files and images from a client's request, made ready for a model prompt.
//!
//! The flow is: [`expand_paths`] checks every path the client named and turns
//! folders into the text files inside them; [`take_prompt_file`] pulls out an
//! attached `prompt.txt`, which holds the prompt itself; [`read_file_block`]
//! turns each remaining file into a block of prompt text within a token
//! budget; [`load_images`] checks and loads images for vision models.
//! The [`FileCache`] an engine owns offers the same reads, taking a file's
//! content from memory while its modification time and size are unchanged.
//!
//! # Which paths may be read
//!
//! Paths must be absolute; a relative path fails the whole call with
//! [`Error::InvalidArguments`](crate::Error::InvalidArguments), because zen
//! can't know which directory the client meant. A path is resolved (symlinks
//! followed) before it is checked, and is then refused, one path at a time as
//! a [`Refusal`], when it:
//!
//! - lies in a system location (`/etc`, `/usr`, `/proc`, `/dev`, `/var`, …;
//!   macOS's `/System`, `/Library`, `/private/etc`, `/private/var`, …;
//!   Windows' `C:\Windows`, `C:\Program Files`, `C:\ProgramData`, …), at any
//!   depth. macOS per-user temporary folders (`/private/var/folders`) are the
//!   one exception;
//! - is the filesystem root, the folder that holds home directories (`/home`,
//!   `/Users`), or a home directory itself (`/home/alice`, `$HOME`); files and
//!   folders *inside* a home directory are fine;
//! - does not exist, or is neither a regular file nor a folder.
//!
//! # What a folder expands to
//!
//! Every text file below it, sorted by path, except:
//!
//! - what `.gitignore`, `.ignore` and `.git/info/exclude` files (and the
//!   user's global git excludes) rule out, whether or not the folder is in a
//!   git repository;
//! - hidden files and folders (names starting with `.`), so that `.env`
//!   files, `.git` and editor state stay out; a hidden file named explicitly
//!   is used;
//! - version-control, dependency and build folders ([`SKIPPED_DIRS`]), unless
//!   the client names one of them explicitly;
//! - binary files, silently (a binary file named explicitly is refused);
//! - symlinked folders, which are not followed; symlinked files are used if
//!   their target passes the same checks.
//!
//! A file is binary when its extension says so (`png`, `zip`, `so`, `pdf`, …)
//! or when its first 8 KiB hold a NUL byte or are not UTF-8.
//!
//! # File blocks
//!
//! An embedded file reads, with `line_numbers`:
//!
//! ```text
//! --- BEGIN FILE: /abs/path.rs (modified 2026-11-21T15:04:05Z) ---
//!    1│ fn main() {
//!    2│ }
//! --- END FILE: /abs/path.rs ---
//! ```
//!
//! Line numbers are right-aligned to four digits, or to as many as the last
//! line number needs. A file that is not embedded becomes one line:
//!
//! ```text
//! --- FILE LEFT OUT: /abs/big.log (3.0 MiB, over the 1.0 MiB limit for one file) ---
//! ```
//!
//! These markers are stable; models and tests may rely on them.

mod cache;
mod expand;
mod images;
mod paths;
mod read;

pub use cache::{DEFAULT_FILE_CACHE_MB, FileCache};
pub use expand::{Expanded, SKIPPED_DIRS, expand_paths, is_binary_file};
pub use images::{DEFAULT_MAX_IMAGE_MB, MAX_IMAGES, load_images};
pub use paths::{Refusal, resolve_path};
pub use read::{
    BlockStatus, FileBlock, FileSection, MAX_FILE_BYTES, PROMPT_FILE_NAME, omitted_note,
    read_file_block, read_prompt_file, take_prompt_file,
};

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

/// Reads at most `limit` bytes of `path` (one more, to tell a file that
/// grew past the limit from one that fits).
fn read_at_most(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    let file = File::open(path)?;
    let mut bytes = Vec::new();
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// A byte count for people: `512 bytes`, `12.5 KiB`, `3.0 MiB`.
fn human_size(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    // Precision loss above 2^53 bytes does not matter for a readable size.
    let b = bytes as f64;
    if bytes < 1024 {
        format!("{bytes} bytes")
    } else if b < KIB * KIB {
        format!("{:.1} KiB", b / KIB)
    } else if b < KIB * KIB * KIB {
        format!("{:.1} MiB", b / (KIB * KIB))
    } else {
        format!("{:.1} GiB", b / (KIB * KIB * KIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes() {
        assert_eq!(human_size(0), "0 bytes");
        assert_eq!(human_size(1023), "1023 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(human_size(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
