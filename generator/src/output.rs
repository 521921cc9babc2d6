//! Writing a generated tree, and comparing one with what is on disk.
//!
//! Every file is first written to a staging directory beside the target (same filesystem),
//! then renamed into place: a failure while writing leaves the target untouched and no file
//! is ever half-written. The generator owns every non-hidden file under the output root;
//! files it would no longer write are stale and are removed (or reported by `--check`).
//! Hidden entries (`.terraform/`, `.terraform.lock.hcl`) and Terraform state, variable and
//! plan files are never touched.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

/// One generated file; `path` is relative to the output root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

impl OutputFile {
    pub fn new(path: impl Into<PathBuf>, contents: impl Into<String>) -> OutputFile {
        OutputFile {
            path: path.into(),
            contents: contents.into(),
        }
    }
}

#[derive(Debug)]
pub enum OutputError {
    /// A generated path that must not be written (absolute, `..`, hidden, duplicate).
    BadPath(PathBuf, &'static str),
    Io(PathBuf, io::Error),
}

impl fmt::Display for OutputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OutputError::BadPath(p, why) => write!(f, "{}: {why}", p.display()),
            OutputError::Io(p, e) => write!(f, "{}: {e}", p.display()),
        }
    }
}

impl std::error::Error for OutputError {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |e| OutputError::Io(path.to_owned(), e)
}

/// What a write changed, relative to the output root.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct WriteSummary {
    pub written: Vec<PathBuf>,
    pub unchanged: Vec<PathBuf>,
    pub removed: Vec<PathBuf>,
}

/// Writes `files` under `root`, replacing changed files atomically and removing stale ones.
pub fn write_tree(root: &Path, files: &[OutputFile]) -> Result<WriteSummary, OutputError> {
    validate_paths(files)?;
    let staging = Staging::create(root)?;
    for file in files {
        let dest = staging.path.join(&file.path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err(&file.path))?;
        }
        fs::write(&dest, &file.contents).map_err(io_err(&file.path))?;
    }

    let mut summary = WriteSummary::default();
    if !root.exists() {
        // Nothing to merge with: the whole tree appears at once.
        fs::rename(&staging.path, root).map_err(io_err(root))?;
        summary.written = files.iter().map(|f| f.path.clone()).collect();
        return Ok(summary);
    }

    let stale = stale_files(root, files)?;
    for file in files {
        let dest = root.join(&file.path);
        if fs::read(&dest).is_ok_and(|old| old == file.contents.as_bytes()) {
            summary.unchanged.push(file.path.clone());
            continue;
        }
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        fs::rename(staging.path.join(&file.path), &dest).map_err(io_err(&dest))?;
        summary.written.push(file.path.clone());
    }
    for path in stale {
        let full = root.join(&path);
        fs::remove_file(&full).map_err(io_err(&full))?;
        remove_empty_parents(root, &full);
        summary.removed.push(path);
    }
    Ok(summary)
}

/// A staging directory beside `root`, removed when dropped (also on error or panic).
struct Staging {
    path: PathBuf,
}

impl Staging {
    fn create(root: &Path) -> Result<Staging, OutputError> {
        let parent = match root.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_err(&parent))?;
        let name = root
            .file_name()
            .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = parent.join(format!(".{name}.gen-{}-{nanos}", std::process::id()));
        fs::create_dir(&path).map_err(io_err(&path))?;
        Ok(Staging { path })
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        // Already renamed into place when the target did not exist.
        let _ = fs::remove_dir_all(&self.path);
    }
}

fn validate_paths(files: &[OutputFile]) -> Result<(), OutputError> {
    let mut seen = BTreeSet::new();
    for file in files {
        let bad = |why| Err(OutputError::BadPath(file.path.clone(), why));
        if file.path.as_os_str().is_empty() {
            return bad("empty path");
        }
        for component in file.path.components() {
            match component {
                Component::Normal(c) if c.to_string_lossy().starts_with('.') => {
                    return bad("hidden paths are not generated");
                }
                Component::Normal(_) => {}
                _ => return bad("must be a plain relative path (no /, .., or .)"),
            }
        }
        if !seen.insert(&file.path) {
            return bad("generated twice");
        }
    }
    Ok(())
}

/// Files under `root` that the generator owns but would not write now.
pub fn stale_files(root: &Path, files: &[OutputFile]) -> Result<Vec<PathBuf>, OutputError> {
    let wanted: BTreeSet<&Path> = files.iter().map(|f| f.path.as_path()).collect();
    let mut stale = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let dir = root.join(&rel);
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(OutputError::Io(dir, e)),
        };
        for entry in entries {
            let entry = entry.map_err(io_err(&dir))?;
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with('.') || is_terraform_working_file(&name) {
                continue;
            }
            let path = rel.join(&*name);
            let kind = entry.file_type().map_err(io_err(&dir))?;
            if kind.is_dir() {
                dirs.push(path);
            } else if !wanted.contains(path.as_path()) {
                stale.push(path);
            }
        }
    }
    stale.sort();
    Ok(stale)
}

/// State, variable and plan files belong to the user running Terraform, not the generator.
fn is_terraform_working_file(name: &str) -> bool {
    name.ends_with(".tfstate")
        || name.ends_with(".tfstate.backup")
        || name.ends_with(".tfvars")
        || name.ends_with(".tfvars.json")
        || name.ends_with(".tfplan")
}

fn remove_empty_parents(root: &Path, file: &Path) {
    let mut dir = file.parent();
    while let Some(d) = dir {
        if d == root || fs::remove_dir(d).is_err() {
            break;
        }
        dir = d.parent();
    }
}

/// How one file on disk differs from what would be generated.
#[derive(Debug, PartialEq, Eq)]
pub enum Difference {
    Missing { path: PathBuf, diff: String },
    Changed { path: PathBuf, diff: String },
    Stale { path: PathBuf },
}

/// Compares the tree under `root` with `files`; reads only.
pub fn check_tree(root: &Path, files: &[OutputFile]) -> Result<Vec<Difference>, OutputError> {
    validate_paths(files)?;
    let mut differences = Vec::new();
    for file in files {
        let disk = root.join(&file.path);
        let shown = disk.display().to_string();
        match fs::read(&disk) {
            Ok(bytes) if bytes == file.contents.as_bytes() => {}
            Ok(bytes) => differences.push(Difference::Changed {
                path: file.path.clone(),
                diff: unified_diff(&String::from_utf8_lossy(&bytes), &file.contents, &shown),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                differences.push(Difference::Missing {
                    path: file.path.clone(),
                    diff: unified_diff("", &file.contents, &shown),
                })
            }
            Err(e) => return Err(OutputError::Io(disk, e)),
        }
    }
    for path in stale_files(root, files)? {
        differences.push(Difference::Stale { path });
    }
    Ok(differences)
}

/// Human-readable report of `differences` (`root` prefixes the paths).
pub fn render_differences(root: &Path, differences: &[Difference]) -> String {
    let mut out = String::new();
    for d in differences {
        match d {
            Difference::Missing { diff, .. } | Difference::Changed { diff, .. } => {
                out.push_str(diff)
            }
            Difference::Stale { path } => out.push_str(&format!(
                "stale: {} (gen no longer writes it)\n",
                root.join(path).display()
            )),
        }
    }
    out
}

fn unified_diff(old: &str, new: &str, shown: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("{shown} (on disk)"), &format!("{shown} (gen)"))
        .to_string()
}
