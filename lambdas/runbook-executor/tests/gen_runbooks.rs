//! Every runbook `gen` accepts in `monitoring.toml` is one this executor runs as written: the
//! document `gen` writes to SSM loads here without the notify-only fallback. Random runbooks
//! around every limit (step count, lookback, Automation parameters, names) go through the
//! generator's real config loader and this crate's real `runbook::load`.

use monitoring_gen::config::load::parse_config;
use monitoring_gen::module::runbook_json;
use proptest::prelude::*;
use runbook_executor::ports::BoxFuture;
use runbook_executor::runbook::{load, RunbookSource};
use std::path::Path;

/// The one parameter the executor asks for.
struct Parameter {
    name: String,
    value: String,
}

impl RunbookSource for Parameter {
    fn get_parameter<'a>(&'a self, name: &'a str) -> BoxFuture<'a, anyhow::Result<Option<String>>> {
        let value = (name == self.name).then(|| self.value.clone());
        Box::pin(async move { Ok(value) })
    }
}

fn step() -> impl Strategy<Value = String> {
    let document = prop_oneof![
        Just("AWS-RestartEC2Instance".to_string()),
        "[A-Za-z0-9_.:/ -]{0,8}",
        Just("x".repeat(129)),
    ];
    let parameters = (0usize..53, "[A-Za-z]{0,3}").prop_map(|(n, stem)| {
        (0..n)
            .map(|i| format!("{stem}P{i} = [\"v\"]"))
            .collect::<Vec<_>>()
            .join(", ")
    });
    prop_oneof![
        Just("{ type = \"record_incident\" }".to_string()),
        Just("{ type = \"notify\" }".to_string()),
        Just("{ type = \"put_metric\" }".to_string()),
        Just("{ type = \"gather_context\" }".to_string()),
        (0u32..1500)
            .prop_map(|n| format!("{{ type = \"gather_context\", lookback_minutes = {n} }}")),
        (document, parameters).prop_map(|(d, p)| format!(
            "{{ type = \"start_automation\", document = {d:?}, parameters = {{ {p} }} }}"
        )),
    ]
}

fn runbook_toml() -> impl Strategy<Value = String> {
    let link = prop_oneof![
        Just("https://runbooks.example.com/a?b=1&c=<2>".to_string()),
        "(https?|ftp)://[a-z. ]{0,6}",
    ];
    let service = prop_oneof![Just(None), "[A-Za-z0-9._#-]{0,6}".prop_map(Some)];
    let on_failure = prop_oneof![Just("continue"), Just("stop")];
    (link, service, on_failure, prop::collection::vec(step(), 0..23)).prop_map(
        |(link, service, on_failure, steps)| {
            let service = service.map(|s| format!("service = {s:?}\n")).unwrap_or_default();
            format!(
                "[project]\nname_prefix = \"appmon\"\n\n[[alarms]]\nname = \"api-5xx-rate\"\nkind = \"api_5xx_rate\"\nthreshold = 5.0\n[alarms.runbook]\nlink = {link:?}\n{service}on_failure = \"{on_failure}\"\nsteps = [{}]\n",
                steps.join(", ")
            )
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn every_runbook_gen_accepts_runs_as_written(text in runbook_toml()) {
        let Ok(config) = parse_config(Path::new("monitoring.toml"), &text) else {
            return Ok(()); // rejected with a located error (tests/config_errors.rs in the generator)
        };
        let alarm = &config.alarms[0];
        let name = format!("{}-{}", config.project.name_prefix, alarm.name);
        let prefix = contract::runbook::parameter_prefix(&config.project.name_prefix);
        let source = Parameter {
            name: format!("{prefix}{name}"),
            value: runbook_json(alarm, &name).expect("the alarm has a runbook").to_string(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let loaded = runtime.block_on(load(&source, &prefix, &name));
        prop_assert_eq!(loaded.fallback_reason, None, "gen accepted:\n{}", text);
        prop_assert_eq!(loaded.runbook, alarm.runbook.as_ref().unwrap().document(&name));
    }
}
