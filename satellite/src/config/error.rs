//! Config errors that point at the file and line and say how to fix the problem.

use std::fmt;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based; `None` when the problem is not on one line (e.g. a missing section).
    pub line: Option<usize>,
    pub message: String,
    pub hint: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file.display(), line, self.message)?,
            None => write!(f, "{}: {}", self.file.display(), self.message)?,
        }
        if !self.hint.is_empty() {
            write!(f, "\n  hint: {}", self.hint)?;
        }
        Ok(())
    }
}

/// Every problem found in one load; a config with any error is never applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        write!(f, "\n{} error(s); nothing was applied", self.0.len())
    }
}

impl std::error::Error for ConfigErrors {}

/// Source text of one loaded file, for turning byte offsets and names into line numbers.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

impl SourceFile {
    pub fn line_of_offset(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// The line where `key = "value"` appears (after line `from`), to point at the object an error is about.
    pub fn line_of_assignment(&self, key: &str, value: &str) -> Option<usize> {
        self.text
            .lines()
            .position(|l| {
                let l = l.trim_start();
                l.strip_prefix(key).map(|r| r.trim_start()).and_then(|r| r.strip_prefix('=')).is_some_and(|r| {
                    let r = r.trim();
                    r.trim_matches(|c| c == '"' || c == '\'') == value || r.contains(&format!("\"{value}\""))
                })
            })
            .map(|i| i + 1)
    }

    /// The first line containing `needle`.
    pub fn line_containing(&self, needle: &str) -> Option<usize> {
        self.text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
    }

    pub fn error(&self, line: Option<usize>, message: impl Into<String>, hint: impl Into<String>) -> ConfigError {
        ConfigError { file: self.path.clone(), line, message: message.into(), hint: hint.into() }
    }
}

pub fn file_error(path: &Path, message: impl Into<String>, hint: impl Into<String>) -> ConfigError {
    ConfigError { file: path.to_path_buf(), line: None, message: message.into(), hint: hint.into() }
}
