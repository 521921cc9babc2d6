//! `monitoring.toml`: the model (what it may say) and the loader (file, errors with positions).

pub mod load;
pub mod model;

pub use load::{load_config, LoadError};
pub use model::{Config, ConfigIssue};

/// The commented starter that `gen init` writes.
pub const STARTER: &str = include_str!("starter.toml");
