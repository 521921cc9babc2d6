//! Writing generated trees: atomic, no partial output on error, stale files, `--check` diffs.

use monitoring_gen::output::{check_tree, write_tree, Difference, OutputError, OutputFile};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

fn files(list: &[(&str, &str)]) -> Vec<OutputFile> {
    list.iter().map(|(p, c)| OutputFile::new(*p, *c)).collect()
}

/// Every entry under `dir` (relative paths with contents), sorted: a snapshot of the tree.
fn snapshot(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            let rel = path.strip_prefix(dir).unwrap().display().to_string();
            if path.is_dir() {
                out.push((rel + "/", String::new()));
                stack.push(path);
            } else {
                out.push((rel, fs::read_to_string(&path).expect("read")));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_new_tree_is_written_whole() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("terraform");
    let summary = write_tree(
        &root,
        &files(&[("main.tf", "a\n"), ("modules/api/main.tf", "b\n")]),
    )
    .unwrap();
    assert_eq!(summary.written.len(), 2);
    assert_eq!(fs::read_to_string(root.join("main.tf")).unwrap(), "a\n");
    assert_eq!(
        fs::read_to_string(root.join("modules/api/main.tf")).unwrap(),
        "b\n"
    );
    // No staging directory is left beside the target.
    let siblings: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1);
}

#[test]
fn rewriting_keeps_unchanged_files_replaces_changed_ones_and_removes_stale_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("terraform");
    write_tree(
        &root,
        &files(&[
            ("main.tf", "same\n"),
            ("outputs.tf", "old\n"),
            ("modules/gone/main.tf", "x\n"),
        ]),
    )
    .unwrap();
    // Terraform's own files beside the module are not the generator's to remove.
    fs::create_dir_all(root.join(".terraform/providers")).unwrap();
    fs::write(root.join(".terraform.lock.hcl"), "lock").unwrap();
    fs::write(root.join("terraform.tfstate"), "{}").unwrap();
    let inode_before = fs::metadata(root.join("main.tf")).unwrap().ino();

    let summary = write_tree(
        &root,
        &files(&[("main.tf", "same\n"), ("outputs.tf", "new\n")]),
    )
    .unwrap();

    assert_eq!(summary.unchanged, vec![Path::new("main.tf")]);
    assert_eq!(summary.written, vec![Path::new("outputs.tf")]);
    assert_eq!(summary.removed, vec![Path::new("modules/gone/main.tf")]);
    assert_eq!(
        fs::metadata(root.join("main.tf")).unwrap().ino(),
        inode_before,
        "an unchanged file is not rewritten"
    );
    assert_eq!(snapshot(&root), {
        let mut v = vec![
            (".terraform/".to_owned(), String::new()),
            (".terraform/providers/".to_owned(), String::new()),
            (".terraform.lock.hcl".to_owned(), "lock".to_owned()),
            ("main.tf".to_owned(), "same\n".to_owned()),
            ("outputs.tf".to_owned(), "new\n".to_owned()),
            ("terraform.tfstate".to_owned(), "{}".to_owned()),
        ];
        v.sort();
        v
    });
}

#[test]
fn a_failure_while_writing_leaves_the_existing_tree_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("terraform");
    write_tree(&root, &files(&[("main.tf", "v1\n"), ("vars.tf", "v1\n")])).unwrap();
    let before = snapshot(&root);

    // `main.tf` is a file, so `main.tf/inner.tf` cannot be created: a real I/O error,
    // hit after other files were already staged.
    let err = write_tree(
        &root,
        &files(&[
            ("vars.tf", "v2\n"),
            ("main.tf", "v2\n"),
            ("main.tf/inner.tf", "v2\n"),
        ]),
    )
    .expect_err("must fail");
    assert!(matches!(err, OutputError::Io(..)), "{err}");
    assert_eq!(snapshot(&root), before, "nothing was written");
    let siblings: Vec<_> = fs::read_dir(tmp.path()).unwrap().collect();
    assert_eq!(siblings.len(), 1, "the staging directory was cleaned up");
}

#[test]
fn unsafe_paths_are_refused_before_anything_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("terraform");
    for bad in ["../escape.tf", "/abs.tf", ".hidden.tf", ""] {
        let err = write_tree(&root, &files(&[("ok.tf", "x"), (bad, "x")])).expect_err(bad);
        assert!(matches!(err, OutputError::BadPath(..)), "{bad}: {err}");
    }
    let dup = write_tree(&root, &files(&[("a.tf", "x"), ("a.tf", "y")])).expect_err("dup");
    assert!(dup.to_string().contains("generated twice"));
    assert!(!root.exists());
    assert_eq!(fs::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn check_reports_changed_missing_and_stale_files_with_unified_diffs() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("terraform");
    let wanted = files(&[("main.tf", "a\nb\nc\n"), ("outputs.tf", "o\n")]);
    write_tree(&root, &wanted).unwrap();
    assert_eq!(check_tree(&root, &wanted).unwrap(), vec![]);

    fs::write(root.join("main.tf"), "a\nB\nc\n").unwrap();
    fs::remove_file(root.join("outputs.tf")).unwrap();
    fs::write(root.join("extra.tf"), "hand-written\n").unwrap();
    let differences = check_tree(&root, &wanted).unwrap();
    assert_eq!(differences.len(), 3, "{differences:?}");
    match &differences[0] {
        Difference::Changed { path, diff } => {
            assert_eq!(path, Path::new("main.tf"));
            assert!(diff.contains("-B\n+b\n"), "{diff}");
            assert!(diff.contains("@@ -1,3 +1,3 @@"), "{diff}");
        }
        other => panic!("expected a change, got {other:?}"),
    }
    assert!(matches!(&differences[1], Difference::Missing { path, diff }
        if path == Path::new("outputs.tf") && diff.contains("+o\n")));
    assert_eq!(
        differences[2],
        Difference::Stale {
            path: "extra.tf".into()
        }
    );
}
