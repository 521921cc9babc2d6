//! runbook-executor: runs an alarm's runbook when CloudWatch alarm notifications arrive via SNS.
//!
//! * [`alarm`] — the notification model, parsing, and which records to act on.
//! * [`runbook`] — the runbook model, loading from SSM, validation, notify-only fallback.
//! * [`steps`] — step execution (claims, dry run, `on_failure`), one module per step kind.
//! * [`idempotency`] — per-(message, step) claims against SNS redelivery.
//! * [`steps::notify::text`] — the human-readable notification (pure).
//! * [`handler`] — one invocation, record by record; [`aws`] — the traits over the SDK clients.

pub mod alarm;
pub mod aws;
pub mod config;
pub mod handler;
pub mod idempotency;
pub mod ports;
pub mod runbook;
pub mod steps;
#[cfg(test)]
mod testing;
