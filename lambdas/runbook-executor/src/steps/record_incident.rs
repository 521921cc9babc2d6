//! `record_incident`: ALARM opens an incident item, OK closes the open one.
//!
//! Items live in the reserved key space: partition `#incident#<alarm name>`, sort key the
//! incident's start (RFC 3339 UTC), so the partition is the alarm's incident history. Writes are
//! conditional, so a second ALARM while one is open, or an OK with none open, changes nothing.

use chrono::{DateTime, Utc};
use metrics_core::codec::time_value;
use metrics_core::service::reserved_key;

use super::{Done, Run, Settings};
use crate::alarm::AlarmState;
use crate::ports::BoxFuture;

/// An incident to open.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub pk: String,
    /// Start of the incident: the alarm's state-change time.
    pub started_at: String,
    pub alarm: String,
    pub state: String,
    pub reason: String,
    pub link: Option<String>,
    pub message_id: String,
    pub expires_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    Opened,
    AlreadyOpen { since: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Closed {
    Closed { started_at: String },
    NoneOpen,
}

pub trait IncidentStore: Send + Sync {
    /// Opens `incident` unless the alarm already has an open one.
    fn open<'a>(&'a self, incident: &'a NewIncident) -> BoxFuture<'a, anyhow::Result<Opened>>;
    /// Closes the alarm's open incident, if any; `expires_at` restarts the TTL from the close.
    fn close<'a>(
        &'a self,
        pk: &'a str,
        closed_at: &'a str,
        reason: &'a str,
        expires_at: i64,
    ) -> BoxFuture<'a, anyhow::Result<Closed>>;
}

/// Partition key of an alarm's incidents.
pub fn incident_key(alarm_name: &str) -> String {
    reserved_key("incident", alarm_name)
}

/// The state-change time as RFC 3339 UTC (falls back to `now` if CloudWatch's is unreadable).
fn state_change(run: &Run<'_>) -> DateTime<Utc> {
    run.alarm.state_change_time().unwrap_or(run.now)
}

pub async fn run(
    store: &dyn IncidentStore,
    run: &Run<'_>,
    settings: &Settings,
) -> anyhow::Result<Done> {
    let alarm = run.alarm;
    let pk = incident_key(&alarm.alarm_name);
    let at = time_value(state_change(run));
    let reason = alarm.new_state_reason.clone().unwrap_or_default();
    match alarm.new_state_value {
        AlarmState::Alarm => {
            let incident = NewIncident {
                pk,
                started_at: at.clone(),
                alarm: alarm.alarm_name.clone(),
                state: alarm.new_state_value.as_str().to_string(),
                reason,
                link: run.loaded.runbook.link.clone(),
                message_id: run.message_id.to_string(),
                expires_at: settings.expires_at(run.now),
            };
            Ok(match store.open(&incident).await? {
                Opened::Opened => Done::Ok(format!("opened incident {} / {at}", incident.pk)),
                Opened::AlreadyOpen { since } => {
                    Done::Ok(format!("incident already open since {since}"))
                }
            })
        }
        AlarmState::Ok => Ok(
            match store
                .close(&pk, &at, &reason, settings.expires_at(run.now))
                .await?
            {
                Closed::Closed { started_at } => {
                    Done::Ok(format!("closed incident opened at {started_at}"))
                }
                Closed::NoneOpen => Done::Ok("no open incident to close".into()),
            },
        ),
        AlarmState::InsufficientData => Ok(Done::Skipped(
            "INSUFFICIENT_DATA does not change incidents".into(),
        )),
    }
}

pub fn plan(run: &Run<'_>) -> String {
    let pk = incident_key(&run.alarm.alarm_name);
    match run.alarm.new_state_value {
        AlarmState::Ok => format!("would close the open incident under {pk}"),
        _ => format!(
            "would open incident {pk} / {}",
            time_value(state_change(run))
        ),
    }
}
