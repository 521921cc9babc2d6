//! `notify`: publishes the enriched, human-readable message to the notification topic (where
//! on-call's e-mail subscriptions are: one message per state change).
//!
//! The publisher marks the message with the `origin` attribute so that neither the topic's
//! subscription filter nor this function treats it as a new alarm (no self-loop). The text itself
//! is [`text`], a pure formatter under this step (it reads the step reports and the gathered
//! context; nothing outside `steps` depends on it, so the two no longer import each other).

pub mod text;

use super::gather_context::GatheredContext;
use super::{Done, Run, Settings, StepReport};
use crate::ports::BoxFuture;
use crate::runbook::Step;
use text::{render, Message};

pub trait Publisher: Send + Sync {
    /// Publishes with MessageAttribute `origin` = `runbook-executor`; returns the SNS message id.
    fn publish<'a>(
        &'a self,
        topic_arn: &'a str,
        subject: &'a str,
        body: &'a str,
    ) -> BoxFuture<'a, anyhow::Result<String>>;
}

pub struct Input<'a> {
    pub run: &'a Run<'a>,
    pub context: Option<&'a GatheredContext>,
    pub reports: &'a [StepReport],
    pub remaining: &'a [Step],
}

pub async fn run(
    publisher: &dyn Publisher,
    input: &Input<'_>,
    settings: &Settings,
) -> anyhow::Result<Done> {
    let remaining: Vec<&str> = input.remaining.iter().map(Step::kind).collect();
    let loaded = input.run.loaded;
    let service = super::gather_context::affected_service(input.run);
    let (subject, body) = render(&Message {
        alarm: input.run.alarm,
        service: service.as_deref(),
        slo: loaded.runbook.slo.as_ref(),
        link: loaded.runbook.link.as_deref(),
        fallback_reason: loaded.fallback_reason.as_deref(),
        context: input.context,
        reports: input.reports,
        own_index: input.reports.len(),
        remaining: &remaining,
        raw: input
            .reports
            .iter()
            .any(|r| r.outcome == super::Outcome::Failed)
            .then_some(input.run.raw.message),
    });
    let id = publisher
        .publish(&settings.topic_arn, &subject, &body)
        .await?;
    Ok(Done::Ok(format!(
        "published {subject:?} as SNS message {id}"
    )))
}
