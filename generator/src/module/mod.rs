//! The AWS components of the generated Terraform module, built on the generic HCL layer.
//!
//! One file per concern; each returns a [`Component`] (main.tf, variables.tf, outputs.tf,
//! versions.tf) usable as a module on its own. `root` wires them together.

pub(crate) mod alarms;
mod alerting;
mod api;
pub mod common;
mod dashboard;
pub mod docs;
mod functions;
mod kms;
mod root;
mod runbooks;
pub mod service_alarms;
mod storage;
pub mod tftest;

pub use common::Component;
pub use runbooks::runbook_json;

use crate::output::OutputFile;
use crate::plan::{ComponentKind, Plan};

/// The whole module: the root and the sub-modules the plan deploys, built once per run.
pub struct Module {
    pub root: Component,
    /// In dependency order.
    pub children: Vec<Component>,
}

impl Module {
    pub fn build(plan: &Plan) -> Module {
        let children: Vec<Component> = plan
            .components
            .iter()
            .map(|k| component(plan, *k))
            .collect();
        let root = root::component(plan, &children);
        Module { root, children }
    }

    /// Every file of `terraform/`: the root module and one sub-module per concern.
    pub fn files(&self) -> Vec<OutputFile> {
        let mut files = self.root.files();
        for component in &self.children {
            files.extend(component.files());
        }
        files
    }
}

/// One sub-module.
fn component(plan: &Plan, kind: ComponentKind) -> Component {
    match kind {
        ComponentKind::Kms => kms::component(),
        ComponentKind::Storage => storage::component(plan),
        ComponentKind::Alerting => alerting::component(plan),
        ComponentKind::Functions => functions::component(plan),
        ComponentKind::Api => api::component(plan),
        ComponentKind::Runbooks => runbooks::component(plan),
        ComponentKind::Alarms => alarms::component(plan),
        ComponentKind::Dashboard => dashboard::component(plan),
    }
}

/// The sub-modules this plan deploys, in dependency order (builds the whole module: for tests
/// and callers that want one part; the CLI builds [`Module`] once).
pub fn components(plan: &Plan) -> Vec<Component> {
    Module::build(plan).children
}

/// The root module (its variables and outputs feed the README tables); builds the whole module.
pub fn root(plan: &Plan) -> Component {
    Module::build(plan).root
}

/// Every file of `terraform/`: the root module and one sub-module per concern.
pub fn render(plan: &Plan) -> Vec<OutputFile> {
    Module::build(plan).files()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::model::Config;
    use crate::hcl::Expr;

    // The tests state configurations; each resolves its plan here.
    fn render(config: &Config) -> Vec<OutputFile> {
        super::render(&Plan::resolve(config))
    }
    fn root(config: &Config) -> Component {
        super::root(&Plan::resolve(config))
    }
    fn components(config: &Config) -> Vec<Component> {
        super::components(&Plan::resolve(config))
    }

    fn starter() -> Config {
        toml::from_str(crate::config::STARTER).expect("starter parses")
    }

    #[test]
    fn render_is_byte_stable_and_complete() {
        let first = render(&starter());
        assert_eq!(first, render(&starter()));
        let paths: Vec<String> = first.iter().map(|f| f.path.display().to_string()).collect();
        for dir in [
            "",
            "modules/kms/",
            "modules/storage/",
            "modules/functions/",
            "modules/api/",
            "modules/alerting/",
            "modules/alarms/",
            "modules/dashboard/",
            "modules/runbooks/",
        ] {
            for file in ["main.tf", "variables.tf", "outputs.tf", "versions.tf"] {
                assert!(
                    paths.contains(&format!("{dir}{file}")),
                    "{dir}{file} missing"
                );
            }
        }
    }

    #[test]
    fn no_provider_blocks_and_every_skip_has_a_reason() {
        for file in render(&starter()) {
            for line in file.contents.lines() {
                assert!(
                    !line.starts_with("provider "),
                    "{}: provider block",
                    file.path.display()
                );
                if let Some((_, skip)) = line.split_once("checkov:skip=") {
                    let reason = skip.split_once(':').map(|(_, r)| r.trim()).unwrap_or("");
                    assert!(reason.len() > 20, "{}: {line}", file.path.display());
                }
            }
        }
    }

    #[test]
    fn switched_off_components_leave_no_files_or_references() {
        let mut config = starter();
        config.components.api = false;
        config.components.dashboard = false;
        config.components.runbooks = false;
        let files = render(&config);
        let all: String = files.iter().map(|f| f.contents.as_str()).collect();
        assert!(!all.contains("module.api."));
        assert!(!all.contains("aws_api_gateway"));
        assert!(!all.contains("runbook_executor"));
        assert!(files
            .iter()
            .all(|f| !f.path.starts_with("modules/dashboard")));
    }

    /// The string values of `variable "<name>" { default = [...] }` in parsed variables.tf text.
    fn list_default(variables_tf: &str, name: &str) -> Vec<String> {
        use hcl_edit::expr::Expression;
        let body = hcl_edit::parser::parse_body(variables_tf).expect("variables.tf parses");
        let var = body
            .get_blocks("variable")
            .find(|b| b.labels.first().map(|l| l.as_str()) == Some(name))
            .unwrap_or_else(|| panic!("no variable {name}"));
        let default = var.body.get_attribute("default").expect("a default");
        let Expression::Array(items) = &default.value else {
            panic!("{name} default is not a list: {}", default.value)
        };
        items
            .iter()
            .map(|e| match e {
                Expression::String(s) => s.value().clone(),
                other => panic!("{name}: {other} is not a literal string"),
            })
            .collect()
    }

    #[test]
    fn template_sequences_in_config_strings_reach_terraform_as_text() {
        // Both pass the config validators, and both used to become interpolations.
        let email = "a${b}@example.com";
        let origin = "https://%{x}.example.com";
        let mut config = starter();
        config.notifications.emails = vec![email.to_owned()];
        config.components.api = true;
        config.api.cors_allowed_origins = vec![origin.to_owned()];
        assert!(config.validate().is_empty(), "{:?}", config.validate());
        let vars = root(&config).file("variables.tf");
        assert!(
            vars.contains("\"a$${b}@example.com\""),
            "escaped in the text"
        );
        assert_eq!(list_default(&vars, "alarm_emails"), [email]);
        assert_eq!(list_default(&vars, "cors_allowed_origins"), [origin]);
    }

    /// Every file of the tree parses (hcl-edit), and each attribute reads back as the model
    /// that wrote it (parentheses and raw text aside: those are compared as parsed).
    fn assert_tree_reads_back(config: &Config) {
        use crate::hcl::{parse, Block, BodyItem, Expr, Op, Part};
        fn norm(e: &Expr) -> Expr {
            let n = |e: &Expr| Box::new(norm(e));
            match e {
                Expr::Parens(inner) => norm(inner),
                Expr::Raw(text) => norm(&parse::expr(text).expect("raw text parses")),
                Expr::Template(parts) => Expr::Template(
                    parts
                        .iter()
                        .map(|p| match p {
                            Part::Interp(e) => Part::Interp(norm(e)),
                            lit => lit.clone(),
                        })
                        .collect(),
                ),
                Expr::Traversal(root, ops) => {
                    let ops = ops
                        .iter()
                        .map(|op| match op {
                            Op::Index(i) => Op::Index(norm(i)),
                            other => other.clone(),
                        })
                        .collect();
                    match norm(root) {
                        Expr::Traversal(r, mut first) => {
                            first.extend::<Vec<Op>>(ops);
                            Expr::Traversal(r, first)
                        }
                        root => Expr::Traversal(Box::new(root), ops),
                    }
                }
                Expr::List(items) => Expr::List(items.iter().map(norm).collect()),
                Expr::Call(f, args) => Expr::Call(f.clone(), args.iter().map(norm).collect()),
                Expr::Object(pairs) => {
                    Expr::Object(pairs.iter().map(|(k, v)| (k.clone(), norm(v))).collect())
                }
                Expr::Unary(op, e) => Expr::Unary(*op, n(e)),
                Expr::Binary(l, op, r) => Expr::Binary(n(l), *op, n(r)),
                Expr::Conditional(c, t, f) => Expr::Conditional(n(c), n(t), n(f)),
                Expr::For(f) => {
                    let mut f = (**f).clone();
                    f.collection = norm(&f.collection);
                    f.key = f.key.as_ref().map(norm);
                    f.value = norm(&f.value);
                    f.cond = f.cond.as_ref().map(norm);
                    Expr::For(Box::new(f))
                }
                other => other.clone(),
            }
        }
        /// What the renderer writes for an attribute: `"${x}"` as `x`.
        fn attr_norm(e: &Expr) -> Expr {
            match e {
                Expr::Template(parts) if matches!(parts.as_slice(), [Part::Interp(_)]) => {
                    let [Part::Interp(inner)] = parts.as_slice() else {
                        unreachable!()
                    };
                    norm(inner)
                }
                other => norm(other),
            }
        }
        fn compare(model: &Block, parsed: &hcl_edit::structure::Body, at: &str) {
            for item in &model.body.items {
                match item {
                    BodyItem::Attr(key, value) => {
                        let got = parsed
                            .get_attribute(key)
                            .unwrap_or_else(|| panic!("{at}: {key} missing"));
                        let got = parse::from_edit(&got.value)
                            .unwrap_or_else(|e| panic!("{at}.{key}: {e}"));
                        assert_eq!(norm(&got), attr_norm(value), "{at}.{key}");
                    }
                    BodyItem::Block(_) | BodyItem::Comment(_) | BodyItem::Blank => {}
                }
            }
            // Nested blocks, in order, kind by kind.
            let mut seen: Vec<&str> = Vec::new();
            for item in &model.body.items {
                if let BodyItem::Block(b) = item {
                    if seen.contains(&b.kind.as_str()) {
                        continue;
                    }
                    seen.push(&b.kind);
                    let models: Vec<&Block> = model.body.blocks(&b.kind).collect();
                    let parsed: Vec<_> = parsed.get_blocks(&b.kind).collect();
                    assert_eq!(models.len(), parsed.len(), "{at}: {} blocks", b.kind);
                    for (m, p) in models.iter().zip(parsed) {
                        compare(m, &p.body, &format!("{at}.{}", m.kind));
                    }
                }
            }
        }
        let mut components = components(config);
        components.push(root(config));
        for c in &components {
            for (file, blocks) in [
                ("main.tf", &c.main),
                ("variables.tf", &c.variables),
                ("outputs.tf", &c.outputs),
            ] {
                let text = c.file(file);
                let at = format!("{}/{file}", c.dir);
                let body = hcl_edit::parser::parse_body(&text)
                    .unwrap_or_else(|e| panic!("{at} does not parse: {e}"));
                let top: Vec<_> = body.blocks().collect();
                assert_eq!(top.len(), blocks.len(), "{at}: top-level blocks");
                for (m, p) in blocks.iter().zip(top) {
                    assert_eq!(p.ident.as_str(), m.kind, "{at}");
                    let labels: Vec<&str> = p.labels.iter().map(|l| l.as_str()).collect();
                    assert_eq!(labels, m.labels, "{at}");
                    compare(m, &p.body, &format!("{at}: {} {:?}", m.kind, m.labels));
                }
            }
            hcl_edit::parser::parse_body(&c.file("versions.tf")).expect("versions.tf parses");
        }
    }

    #[test]
    fn generated_files_parse_and_read_back_as_the_model() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let default: Config = toml::from_str(
            &std::fs::read_to_string(repo.join("monitoring.toml")).expect("monitoring.toml"),
        )
        .expect("monitoring.toml parses");
        let mut minimal = starter();
        minimal.components.api = false;
        minimal.components.runbooks = false;
        minimal.components.dashboard = false;
        for config in [starter(), default, minimal] {
            assert_tree_reads_back(&config);
        }
    }

    /// The committed tree and the examples parse too (hcl-edit), whatever wrote them.
    #[test]
    fn committed_terraform_and_examples_parse() {
        fn tf_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).expect("readable dir").flatten() {
                let path = entry.path();
                if path.is_dir() && !path.ends_with(".terraform") {
                    tf_files(&path, out);
                } else if path.extension().is_some_and(|e| e == "tf") {
                    out.push(path);
                }
            }
        }
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        tf_files(&repo.join("terraform"), &mut files);
        tf_files(&repo.join("examples"), &mut files);
        assert!(files.len() > 40, "{files:?}");
        for f in files {
            let text = std::fs::read_to_string(&f).expect("readable");
            if let Err(e) = hcl_edit::parser::parse_body(&text) {
                panic!("{} does not parse: {e}", f.display());
            }
        }
    }

    #[test]
    fn interpolation_in_config_text_stays_literal() {
        let mut config = starter();
        if let Some(runbook) = config.alarms[0].runbook.as_mut() {
            runbook.link = "https://r.example.com/${var.secret}".into();
        }
        let all: String = render(&config).into_iter().map(|f| f.contents).collect();
        assert!(all.contains("https://r.example.com/$${var.secret}"));
        assert!(!all.contains("https://r.example.com/${var.secret}"));
    }

    /// Variables without a `validation` block, reviewed: any value of their type is acceptable.
    const FREE_VARIABLES: &[&str] = &[
        "force_destroy",
        "table_deletion_protection",
        "manage_account_logging_role",
        "manage_api_gateway_account_role",
        "runbook_dry_run",
        "lambda_package_dir",
        // A bool: either value is valid.
        "composite_alarms",
    ];

    #[test]
    fn every_variable_is_typed_described_and_validated_unless_reviewed() {
        let config = starter();
        let mut all = vec![root(&config)];
        all.extend(components(&config));
        for component in &all {
            for var in component.variables.iter().filter(|b| b.kind == "variable") {
                let name = var.labels[0].as_str();
                let at = format!("{}/{name}", component.dir);
                assert!(var.body.attr("type").is_some(), "{at}: no type");
                assert!(
                    matches!(var.body.attr("description"), Some(Expr::Str(d)) if d.len() > 10),
                    "{at}: no description"
                );
                let validated = var.body.blocks("validation").next().is_some();
                assert!(
                    validated || FREE_VARIABLES.contains(&name),
                    "{at}: add a validation or review it into FREE_VARIABLES"
                );
            }
        }
    }

    #[test]
    fn alarm_descriptions_name_the_ssm_parameter_only_when_it_is_written() {
        let alarms_tf = |config: &Config| -> String {
            render(config)
                .into_iter()
                .find(|f| f.path.as_os_str() == "modules/alarms/main.tf")
                .map(|f| f.contents)
                .unwrap_or_default()
        };
        let mut config = starter();
        let with = alarms_tf(&config);
        assert!(
            with.contains("Runbook: https://")
                && with.contains(
                    "Procedure: SSM parameter /${var.name_prefix}/runbooks/${var.name_prefix}-"
                )
        );
        config.components.runbooks = false;
        let without = alarms_tf(&config);
        assert!(without.contains("Runbook: https://"));
        assert!(
            !without.contains("SSM parameter"),
            "no runbooks component, no parameter to name"
        );
    }

    #[test]
    fn created_topic_admits_cloudwatch_alarms_of_its_account() {
        let all: String = render(&starter()).into_iter().map(|f| f.contents).collect();
        let policy = &all[all
            .find("data \"aws_iam_policy_document\" \"topic\"")
            .expect("topic policy")..];
        let policy = &policy[..policy.find("\n}\n").unwrap_or(policy.len())];
        let flat = policy.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            flat.contains(r#"identifiers = ["cloudwatch.amazonaws.com"]"#),
            "{flat}"
        );
        assert!(flat.contains(r#"actions = ["sns:Publish"]"#));
        assert!(flat.contains(r#"variable = "aws:SourceAccount""#));
        assert!(all.contains("resource \"aws_sns_topic_policy\" \"alarms\""));
    }

    #[test]
    fn readme_prose_names_what_is_deployed() {
        let text = docs::what_it_creates(&Plan::resolve(&starter()));
        assert!(text.contains("REST API") && text.contains("`api-5xx-rate`"));
        let mut config = starter();
        config.components.api = false;
        assert!(!docs::what_it_creates(&Plan::resolve(&config)).contains("REST API"));
    }
}
