//! Reads `monitoring.toml` and reports problems as `path:line:col: key: message`.

use super::model::Config;
use std::fmt;
use std::path::{Path, PathBuf};

/// One problem, positioned in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub column: usize,
    pub key: String,
    pub message: String,
}

#[derive(Debug)]
pub enum LoadError {
    Io(PathBuf, std::io::Error),
    Invalid(PathBuf, Vec<Problem>),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Io(path, e) => write!(f, "{}: cannot read: {e}", path.display()),
            LoadError::Invalid(path, problems) => {
                for (i, p) in problems.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{}:{}:{}: ", path.display(), p.line, p.column)?;
                    if !p.key.is_empty() {
                        write!(f, "{}: ", p.key)?;
                    }
                    write!(f, "{}", p.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

pub fn load_config(path: &Path) -> Result<Config, LoadError> {
    let text = std::fs::read_to_string(path).map_err(|e| LoadError::Io(path.to_owned(), e))?;
    let config: Config = toml::from_str(&text).map_err(|e| {
        LoadError::Invalid(
            path.to_owned(),
            vec![Problem {
                line: 1,
                column: 1,
                key: String::new(),
                message: e.message().to_owned(),
            }],
        )
    })?;
    Ok(config)
}
