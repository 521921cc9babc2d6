//! Writing generated trees: staged in a temp dir beside the target, then renamed into place.

use std::path::PathBuf;

/// One generated file; `path` is relative to the output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}
