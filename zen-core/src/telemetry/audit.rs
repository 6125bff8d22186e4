//! The audit log: one JSON line per tool call and per model call, in the file
//! named by `ZEN_AUDIT_LOG`, rotated by size. It never holds an API key, and
//! holds prompts only with `ZEN_AUDIT_CONTENT=1`.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::Value;

use crate::config::Settings;
use crate::error::{Error, Result};

#[derive(Debug)]
struct Open {
    file: File,
    written: u64,
}

/// An append-only JSON-lines log with size-based rotation.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    max_bytes: u64,
    keep: u32,
    content: bool,
    open: Mutex<Option<Open>>,
}

impl AuditLog {
    /// The log `ZEN_AUDIT_LOG` asks for, if any: rotated at `ZEN_AUDIT_MAX_MB`
    /// (default 50) keeping `ZEN_AUDIT_KEEP` old files (default 5).
    pub fn from_settings(s: &Settings) -> Result<Option<Self>> {
        let Some(path) = s.get("ZEN_AUDIT_LOG") else {
            return Ok(None);
        };
        let max_mb = s.u64_at_least("ZEN_AUDIT_MAX_MB", 1, 50)?;
        let keep = u32::try_from(s.u64_at_least("ZEN_AUDIT_KEEP", 1, 5)?).unwrap_or(5);
        let content = s.flag("ZEN_AUDIT_CONTENT", false)?;
        let log = AuditLog {
            path: PathBuf::from(path),
            max_bytes: max_mb * 1024 * 1024,
            keep,
            content,
            open: Mutex::new(None),
        };
        // Open now, so a bad path is a configuration error at start-up.
        let opened = log
            .open_file()
            .map_err(|e| Error::config("ZEN_AUDIT_LOG", format!("can't write {path}: {e}")))?;
        *log.lock() = Some(opened);
        Ok(Some(log))
    }

    /// Whether prompt content may be written.
    pub fn with_content(&self) -> bool {
        self.content
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Open>> {
        self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn open_file(&self) -> std::io::Result<Open> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        let written = file.metadata().map(|m| m.len()).unwrap_or(0);
        Ok(Open { file, written })
    }

    /// Appends one record. Failures are logged, never raised: auditing must
    /// not break a call.
    pub fn write(&self, record: &Value) {
        let mut line = record.to_string();
        line.push('\n');
        let mut open = self.lock();
        let result = (|| -> std::io::Result<()> {
            let needs_rotation = open
                .as_ref()
                .is_some_and(|o| o.written > 0 && o.written + line.len() as u64 > self.max_bytes);
            if needs_rotation {
                *open = None;
                rotate(&self.path, self.keep)?;
            }
            if open.is_none() {
                *open = Some(self.open_file()?);
            }
            if let Some(o) = open.as_mut() {
                o.file.write_all(line.as_bytes())?;
                o.written += line.len() as u64;
            }
            Ok(())
        })();
        if let Err(e) = result {
            tracing::warn!("could not write the audit log {}: {e}", self.path.display());
        }
    }
}

/// `log` → `log.1` → `log.2` … keeping `keep` old files.
fn rotate(path: &Path, keep: u32) -> std::io::Result<()> {
    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
    let oldest = numbered(keep);
    if oldest.exists() {
        std::fs::remove_file(&oldest)?;
    }
    for n in (1..keep).rev() {
        let from = numbered(n);
        if from.exists() {
            std::fs::rename(&from, numbered(n + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))
}
