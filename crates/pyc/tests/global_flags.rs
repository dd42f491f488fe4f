//! Flags every subcommand takes: `--color auto|always|never`, with `NO_COLOR` and
//! `FORCE_COLOR` honoured under `auto`.

use std::process::Command;

fn status_output(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), "").unwrap();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pyc"));
    cmd.args(args)
        .arg(dir.path())
        .args(["--python", "3.12", "--no-git"])
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn coloured(s: &str) -> bool {
    s.contains("\x1b[")
}

#[test]
fn color_flag_and_environment() {
    // A pipe: no colour by default.
    assert!(!coloured(&status_output(&["status"], &[])));
    assert!(coloured(&status_output(
        &["status", "--color", "always"],
        &[]
    )));
    // Global: before the subcommand too.
    assert!(coloured(&status_output(
        &["--color", "always", "status"],
        &[]
    )));
    assert!(coloured(&status_output(
        &["status"],
        &[("FORCE_COLOR", "1")]
    )));
    assert!(!coloured(&status_output(
        &["status"],
        &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]
    )));
    // The flag wins over the environment.
    assert!(!coloured(&status_output(
        &["status", "--color", "never"],
        &[("FORCE_COLOR", "1")]
    )));
    assert!(coloured(&status_output(
        &["status", "--color", "always"],
        &[("NO_COLOR", "1")]
    )));
    // An empty NO_COLOR is unset (no-color.org).
    assert!(coloured(&status_output(
        &["status"],
        &[("FORCE_COLOR", "1"), ("NO_COLOR", "")]
    )));
}

#[test]
fn color_is_accepted_by_every_subcommand() {
    for sub in [
        "show",
        "path",
        "dis",
        "diff",
        "status",
        "clean",
        "compile",
        "python",
        "importtime",
        "completions",
        "man",
        "hook",
    ] {
        let out = Command::new(assert_cmd::cargo::cargo_bin("pyc"))
            .args([sub, "--color", "never", "--help"])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{sub}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
