//! The `gen` binary end to end: init, terraform, --check, exit codes, and the generated
//! module passing `terraform fmt -check` (needs terraform on PATH).

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

fn gen(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gen"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run gen")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn init_writes_the_starter_and_refuses_to_overwrite_without_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out = gen(tmp.path(), &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let written = fs::read_to_string(tmp.path().join("monitoring.toml")).unwrap();
    assert_eq!(written, monitoring_gen::config::STARTER);

    fs::write(tmp.path().join("monitoring.toml"), "# mine\n").unwrap();
    let again = gen(tmp.path(), &["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("--force"));
    assert_eq!(
        fs::read_to_string(tmp.path().join("monitoring.toml")).unwrap(),
        "# mine\n"
    );

    let forced = gen(tmp.path(), &["init", "--force", "other.toml"]);
    assert_eq!(forced.status.code(), Some(0));
    assert!(tmp.path().join("other.toml").exists());
}

#[test]
fn terraform_writes_the_module_and_check_detects_every_kind_of_drift() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(gen(tmp.path(), &["init"]).status.code(), Some(0));

    let before = gen(tmp.path(), &["terraform", "--check"]);
    assert_eq!(before.status.code(), Some(1), "nothing generated yet");

    let write = gen(tmp.path(), &["terraform"]);
    assert_eq!(write.status.code(), Some(0), "{}", text(&write.stderr));
    let clean = gen(tmp.path(), &["terraform", "--check"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean.stdout));

    // A hand-added file is stale.
    let root = tmp.path().join("terraform");
    fs::write(root.join("extra.tf"), "# mine\n").unwrap();
    let stale = gen(tmp.path(), &["terraform", "--check"]);
    assert_eq!(stale.status.code(), Some(1));
    assert!(text(&stale.stdout).contains("stale: terraform/extra.tf"));
    fs::remove_file(root.join("extra.tf")).unwrap();

    // An edited generated file shows as a diff.
    if let Some(main) = ["main.tf", "versions.tf", "variables.tf"]
        .iter()
        .map(|f| root.join(f))
        .find(|p| p.exists())
    {
        let original = fs::read_to_string(&main).unwrap();
        fs::write(&main, format!("{original}# edited\n")).unwrap();
        let changed = gen(tmp.path(), &["terraform", "--check"]);
        assert_eq!(changed.status.code(), Some(1));
        assert!(
            text(&changed.stdout).contains("-# edited"),
            "{}",
            text(&changed.stdout)
        );
        // Writing again restores it.
        assert_eq!(gen(tmp.path(), &["terraform"]).status.code(), Some(0));
        assert_eq!(fs::read_to_string(&main).unwrap(), original);
    }
}

#[test]
fn a_bad_config_exits_2_with_a_positioned_message_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let config = monitoring_gen::config::STARTER
        .replace("architecture = \"arm64\"", "architecture = \"sparc\"");
    fs::write(tmp.path().join("bad.toml"), &config).unwrap();
    let line = config
        .lines()
        .position(|l| l.contains("\"sparc\""))
        .unwrap()
        + 1;
    let out = gen(
        tmp.path(),
        &["terraform", "--config", "bad.toml", "--out", "tf"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!(
            "bad.toml:{line}:16: project.architecture: unknown value \"sparc\" (allowed: arm64, x86_64)"
        )),
        "{stderr}"
    );
    assert!(!tmp.path().join("tf").exists());
    assert_eq!(
        fs::read_dir(tmp.path()).unwrap().count(),
        1,
        "no staging left"
    );
}

#[test]
fn usage_errors_exit_2_and_a_missing_config_says_how_to_create_one() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = gen(tmp.path(), &["terraform"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("gen init"));
    assert_eq!(
        gen(tmp.path(), &["terraform", "--bogus"]).status.code(),
        Some(2)
    );
    let help = gen(tmp.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for word in ["init", "terraform", "package", "Exit codes"] {
        assert!(help.contains(word), "{word} missing from --help:\n{help}");
    }
}

#[test]
fn the_generated_module_is_terraform_fmt_clean() {
    let tmp = tempfile::tempdir().unwrap();
    assert_eq!(gen(tmp.path(), &["init"]).status.code(), Some(0));
    assert_eq!(gen(tmp.path(), &["terraform"]).status.code(), Some(0));
    let mut stack = vec![tmp.path().join("terraform")];
    let mut checked = 0;
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "tf") {
                let contents = fs::read_to_string(&path).unwrap();
                common::assert_fmt_clean_named(&path.display().to_string(), &contents);
                checked += 1;
            }
        }
    }
    assert!(checked > 0, "gen terraform wrote no .tf files");
}
