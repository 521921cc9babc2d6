//! The resolved plan: `monitoring.toml` as the program uses it, computed once.
//!
//! [`Config`] is what the user wrote (validated by the loader); [`Plan`] is what every writer
//! reads: the functions deployed, the alarms generated (each with its kind's descriptor), the
//! dashboard sections, the automation documents and roles of the runbooks, the sub-modules.
//! The CLI resolves it once and hands `&Plan` to every writer.

pub mod alarm_kind;

pub use alarm_kind::{AlarmKind, Field, Input, KindDescriptor, Needs, Render};

use crate::config::model::{
    Alarm, Components, Config, DashboardSection, Function, Step, AUTOMATION_ASSUME_ROLE,
};
use std::ops::Deref;

/// An alarm that is generated, with what its kind resolves to.
#[derive(Debug, Clone)]
pub struct ActiveAlarm {
    pub alarm: Alarm,
    pub descriptor: &'static KindDescriptor,
    /// The config's description, or the kind's default.
    pub description: String,
}

impl Deref for ActiveAlarm {
    type Target = Alarm;
    fn deref(&self) -> &Alarm {
        &self.alarm
    }
}

impl std::fmt::Debug for KindDescriptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// The sub-modules, in dependency order (the order they are rendered and listed in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentKind {
    Kms,
    Storage,
    Alerting,
    Functions,
    Api,
    Runbooks,
    Alarms,
    Dashboard,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub config: Config,
    /// The functions deployed, in [`Function::ALL`] order.
    pub functions: Vec<Function>,
    /// The alarms generated, in config order.
    pub alarms: Vec<ActiveAlarm>,
    /// The dashboard sections shown (none without the dashboard component).
    pub sections: Vec<DashboardSection>,
    /// Documents named by `start_automation` steps, sorted and deduplicated.
    pub automation_documents: Vec<String>,
    /// The `AutomationAssumeRole` of `start_automation` steps, sorted and deduplicated: SSM runs
    /// such a document as that role, so starting it passes the role
    /// (https://docs.aws.amazon.com/systems-manager/latest/userguide/automation-setup.html).
    pub automation_assume_roles: Vec<String>,
    /// The sub-modules deployed.
    pub components: Vec<ComponentKind>,
}

/// Whether a function is deployed: the one place that says which component enables it.
pub fn deployed(function: Function, components: &Components) -> bool {
    match function {
        Function::LogProcessor => true,
        Function::MetricsApi => components.api,
        Function::RunbookExecutor => components.runbooks,
    }
}

impl Plan {
    /// Resolves a (validated) configuration.
    pub fn resolve(config: &Config) -> Plan {
        let c = &config.components;
        let functions: Vec<Function> = Function::ALL
            .into_iter()
            .filter(|f| deployed(*f, c))
            .collect();
        let alarms: Vec<ActiveAlarm> = if c.alarms {
            config
                .alarms
                .iter()
                .filter(|a| match a.kind.descriptor().needs {
                    Needs::Nothing => true,
                    Needs::Api => c.api,
                    Needs::ItsFunction => a.function.is_some_and(|f| functions.contains(&f)),
                })
                .map(|a| {
                    let kind = a.kind.descriptor();
                    ActiveAlarm {
                        alarm: a.clone(),
                        descriptor: kind,
                        description: a
                            .description
                            .clone()
                            .unwrap_or_else(|| (kind.default_description)(a)),
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        let sections = if c.dashboard {
            config
                .dashboard
                .sections
                .iter()
                .copied()
                .filter(|s| *s != DashboardSection::Api || c.api)
                .collect()
        } else {
            Vec::new()
        };
        let steps = || {
            alarms
                .iter()
                .filter_map(|a| a.runbook.as_ref())
                .flat_map(|r| r.steps.iter())
        };
        let mut automation_documents: Vec<String> = steps()
            .filter_map(|s| match s {
                Step::StartAutomation { document, .. } => Some(document.clone()),
                _ => None,
            })
            .collect();
        automation_documents.sort();
        automation_documents.dedup();
        let mut automation_assume_roles: Vec<String> = steps()
            .filter_map(|s| match s {
                Step::StartAutomation { parameters, .. } => parameters.get(AUTOMATION_ASSUME_ROLE),
                _ => None,
            })
            .flatten()
            .cloned()
            .collect();
        automation_assume_roles.sort();
        automation_assume_roles.dedup();
        let mut components = vec![
            ComponentKind::Kms,
            ComponentKind::Storage,
            ComponentKind::Alerting,
            ComponentKind::Functions,
        ];
        if c.api {
            components.push(ComponentKind::Api);
        }
        if c.runbooks {
            components.push(ComponentKind::Runbooks);
        }
        if !alarms.is_empty() {
            components.push(ComponentKind::Alarms);
        }
        if c.dashboard {
            components.push(ComponentKind::Dashboard);
        }
        Plan {
            config: config.clone(),
            functions,
            alarms,
            sections,
            automation_documents,
            automation_assume_roles,
            components,
        }
    }

    pub fn deploys(&self, function: Function) -> bool {
        self.functions.contains(&function)
    }

    pub fn has(&self, component: ComponentKind) -> bool {
        self.components.contains(&component)
    }

    /// The inputs the active alarms read, sorted and deduplicated.
    pub fn alarm_inputs(&self) -> Vec<Input> {
        let mut inputs: Vec<Input> = self
            .alarms
            .iter()
            .flat_map(|a| a.descriptor.inputs.iter().copied())
            .collect();
        inputs.sort();
        inputs.dedup();
        inputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starter() -> Config {
        toml::from_str(crate::config::STARTER).expect("starter parses")
    }

    #[test]
    fn empty_config_deploys_every_function() {
        assert_eq!(Plan::resolve(&Config::default()).functions.len(), 3);
    }

    #[test]
    fn components_off_drop_their_alarms_and_functions() {
        let mut config = starter();
        config.components.api = false;
        config.components.runbooks = false;
        let plan = Plan::resolve(&config);
        assert_eq!(plan.functions, [Function::LogProcessor]);
        assert!(!plan.alarms.is_empty());
        assert!(plan.alarms.iter().all(|a| match a.descriptor.needs {
            Needs::Nothing => true,
            Needs::Api => false,
            Needs::ItsFunction => a.function == Some(Function::LogProcessor),
        }));
        config.components.alarms = false;
        let plan = Plan::resolve(&config);
        assert!(plan.alarms.is_empty());
        assert!(!plan.has(ComponentKind::Alarms));
    }
}
