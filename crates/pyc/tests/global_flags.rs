//! Flags every subcommand takes: `--color auto|always|never`, with `NO_COLOR` and
//! `FORCE_COLOR` honoured under `auto`; `-q`/`-qq`/`-v`; and progress bars, on a terminal
//! only (a pseudo-terminal made by util-linux's `script`).

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
        "normalize",
        "clean",
        "compile",
        "python",
        "importtime",
        "cache",
        "completions",
        "man",
        "hook",
    ] {
        for flags in [
            &["--color", "never"][..],
            &["-q"],
            &["-qq"],
            &["-v"],
            &["--quiet"],
            &["--verbose"],
        ] {
            for before in [true, false] {
                let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("pyc"));
                if before {
                    cmd.args(flags).arg(sub);
                } else {
                    cmd.arg(sub).args(flags);
                }
                let out = cmd.arg("--help").output().unwrap();
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "{sub} {flags:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
    // -q and -v say opposite things: a usage error.
    let out = Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(["status", "-q", "-v", "."])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A tree with one fresh-less source per state worth reporting: `n` sources without caches.
fn tree_missing(n: usize) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        std::fs::write(dir.path().join(format!("m{i:02}.py")), "").unwrap();
    }
    dir
}

fn pyc_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .current_dir(dir)
        .args(args)
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .output()
        .unwrap()
}

#[test]
fn quiet_and_verbose_shape_the_status_report() {
    let dir = tree_missing(25);
    let d = dir.path();
    let base = ["status", "--python", "3.12", "--no-git", "--check", "."];
    let text = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend(base);
        let out = pyc_in(d, &args);
        // --check: the missing caches are a finding, whatever is printed.
        assert_eq!(out.status.code(), Some(1), "{extra:?}: {out:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let normal = text(&[]);
    assert!(normal.contains("25 source files"), "{normal}");
    assert!(normal.contains("missing (25):"), "{normal}");
    assert!(normal.contains("5 more (-v lists all)"), "{normal}");
    let quiet = text(&["-q"]);
    assert!(!quiet.contains("source files"), "{quiet}");
    assert!(quiet.contains("missing (25):"), "{quiet}");
    assert_eq!(text(&["-qq"]), "");
    let verbose = text(&["-v"]);
    assert!(verbose.contains("m24.py"), "{verbose}");
    assert!(!verbose.contains("more (-v lists all)"), "{verbose}");
}

/// `script -qec CMD /dev/null`: CMD on a pseudo-terminal; what it wrote to the terminal.
fn on_a_terminal(dir: &std::path::Path, cmd: &str) -> Option<String> {
    let out = Command::new("script")
        .current_dir(dir)
        .args(["-qec", cmd, "/dev/null"])
        .env_remove("NO_COLOR")
        .env_remove("FORCE_COLOR")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn progress_bars_on_a_terminal_only() {
    let dir = tree_missing(3);
    let d = dir.path();
    for name in ["basic", "py3"] {
        std::fs::copy(
            pyc_testutil::fixtures(&format!("dis/3.12/{name}.pyc")),
            d.join(format!("{name}.pyc")),
        )
        .unwrap();
    }
    let bin = assert_cmd::cargo::cargo_bin("pyc");
    let bin = bin.to_string_lossy();
    let Some(shown) = on_a_terminal(d, &format!("{bin} normalize .")) else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "util-linux's script is needed for this test"
        );
        eprintln!("progress_bars_on_a_terminal_only: no `script`: not run");
        return;
    };
    assert!(shown.contains("normalizing ["), "{shown:?}");
    let status = on_a_terminal(d, &format!("{bin} status --python 3.12 .")).unwrap();
    assert!(status.contains("checking "), "{status:?}");
    let clean = on_a_terminal(d, &format!("{bin} clean --dry-run --python 3.12 .")).unwrap();
    assert!(clean.contains("checking "), "{clean:?}");
    // Not with -q, not for JSON, not in a pipe.
    let quiet = on_a_terminal(d, &format!("{bin} -q status --python 3.12 .")).unwrap();
    assert!(!quiet.contains("checking "), "{quiet:?}");
    let json = on_a_terminal(d, &format!("{bin} status --python 3.12 --format json .")).unwrap();
    assert!(!json.contains("checking "), "{json:?}");
    let piped = pyc_in(d, &["normalize", "."]);
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("normalizing"));
}
