//! Helpers shared by the generator's integration tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Command, Stdio};

const TERRAFORM_HINT: &str = "terraform is required for this test: install Terraform >= 1.5 \
     (https://developer.hashicorp.com/terraform/install) and put it on PATH";

/// `text` piped through `terraform fmt -`: what terraform would make of it.
pub fn terraform_fmt(text: &str) -> String {
    let mut child = Command::new("terraform")
        .args(["fmt", "-no-color", "-"])
        .env("TF_CLI_CONFIG_FILE", "/dev/null")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run terraform ({e}). {TERRAFORM_HINT}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = text.to_owned();
    // Write from a thread so a large document cannot deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("terraform fmt output");
    writer
        .join()
        .expect("writer thread")
        .expect("write to terraform fmt");
    assert!(
        out.status.success(),
        "terraform fmt rejected the document:\n{}\n--- input ---\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 from terraform fmt")
}

/// Fails with a readable diff when terraform fmt would change `text`.
pub fn assert_fmt_clean(text: &str) {
    assert_fmt_clean_named("the rendered document", text);
}

/// Same, naming what was checked (e.g. a file path) in the failure.
pub fn assert_fmt_clean_named(name: &str, text: &str) {
    let formatted = terraform_fmt(text);
    if formatted != text {
        let diff = similar::TextDiff::from_lines(text, &formatted)
            .unified_diff()
            .header("gen", "terraform fmt")
            .to_string();
        panic!("terraform fmt changes {name}:\n{diff}");
    }
}
