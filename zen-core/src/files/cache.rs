//! A bounded cache of file contents, keyed by (resolved path, modification
//! time, size): a file attached again — in a continuation, by another tool, or
//! embedded from the conversation history — is not read from disk again while
//! it is unchanged, and is read afresh as soon as its modification time or
//! size differ. Each read still resolves the path and reads its metadata.

use std::fs::Metadata;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::read_at_most;
use crate::cache::{CacheStats, Counted};
use crate::config::Settings;
use crate::error::Result;

/// Default bound of the file cache: 64 MiB (`ZEN_FILE_CACHE_MB`).
pub const DEFAULT_FILE_CACHE_MB: u64 = 64;

/// Bytes counted per entry on top of the content (key and bookkeeping).
const ENTRY_OVERHEAD: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct FileKey {
    path: PathBuf,
    modified: SystemTime,
    size: u64,
}

/// The file-content cache an [`Engine`](crate::Engine) owns. Cheap to clone;
/// clones share the cache. A disabled cache reads every time.
#[derive(Debug, Clone, Default)]
pub struct FileCache {
    inner: Option<Arc<Counted<FileKey, Arc<[u8]>>>>,
}

impl FileCache {
    /// A cache holding at most `max_bytes`; `0` gives a disabled cache.
    pub fn new(max_bytes: u64) -> Self {
        if max_bytes == 0 {
            return Self::disabled();
        }
        let weigh = |key: &FileKey, bytes: &Arc<[u8]>| {
            bytes.len() + key.path.as_os_str().len() + ENTRY_OVERHEAD
        };
        FileCache {
            inner: Some(Arc::new(Counted::new(max_bytes, None, weigh))),
        }
    }

    /// A cache that holds nothing: every read goes to the disk.
    pub fn disabled() -> Self {
        FileCache { inner: None }
    }

    /// The cache `ZEN_FILE_CACHE_MB` asks for (default
    /// [`DEFAULT_FILE_CACHE_MB`]; `0` turns it off).
    pub fn from_settings(settings: &Settings) -> Result<Self> {
        let mb = settings.u64_at_least("ZEN_FILE_CACHE_MB", 0, DEFAULT_FILE_CACHE_MB)?;
        Ok(Self::new(mb.saturating_mul(1024 * 1024)))
    }

    /// Whether the cache is on.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// The content of the regular file `resolved` (already checked and
    /// resolved; `meta` is its metadata, whose size is at most `limit`), read
    /// only when it is not cached at this modification time and size. Reads
    /// at most `limit` bytes plus one, like [`read_at_most`]; only a read
    /// that matches `meta`'s size is kept.
    pub(crate) fn read(
        &self,
        resolved: &Path,
        meta: &Metadata,
        limit: u64,
    ) -> io::Result<Arc<[u8]>> {
        let Some(inner) = &self.inner else {
            return read_at_most(resolved, limit).map(Arc::from);
        };
        let key = meta.modified().ok().map(|modified| FileKey {
            path: resolved.to_path_buf(),
            modified,
            size: meta.len(),
        });
        match &key {
            Some(key) => {
                if let Some(bytes) = inner.get(key) {
                    return Ok(bytes);
                }
            }
            None => inner.miss(),
        }
        let bytes: Arc<[u8]> = read_at_most(resolved, limit)?.into();
        // A file that changed while it was read is not kept: its next read
        // sees a new modification time or size anyway.
        if let Some(key) = key
            && bytes.len() as u64 == key.size
        {
            inner.insert(key, Arc::clone(&bytes));
        }
        Ok(bytes)
    }

    /// The cached content of `path`, when the cache holds it at the file's
    /// current modification time and size (not counted as a hit or a miss).
    pub(crate) fn peek(&self, path: &Path) -> io::Result<Option<Arc<[u8]>>> {
        let Some(inner) = &self.inner else {
            return Ok(None);
        };
        let meta = std::fs::metadata(path)?;
        let Ok(modified) = meta.modified() else {
            return Ok(None);
        };
        Ok(inner.peek(&FileKey {
            path: path.to_path_buf(),
            modified,
            size: meta.len(),
        }))
    }

    /// Hits, misses and what is held now.
    pub fn stats(&self) -> CacheStats {
        self.inner.as_ref().map(|c| c.stats()).unwrap_or_default()
    }

    /// Forgets every cached file.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_disables_and_bad_values_name_the_variable() {
        let off: Settings = [("ZEN_FILE_CACHE_MB", "0")].into_iter().collect();
        assert!(!FileCache::from_settings(&off).unwrap().is_enabled());
        assert!(
            FileCache::from_settings(&Settings::new())
                .unwrap()
                .is_enabled()
        );
        let bad: Settings = [("ZEN_FILE_CACHE_MB", "lots")].into_iter().collect();
        let err = FileCache::from_settings(&bad).unwrap_err().to_string();
        assert!(err.contains("ZEN_FILE_CACHE_MB"), "{err}");
    }
}
