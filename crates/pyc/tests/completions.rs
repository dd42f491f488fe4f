//! `pyc completions SHELL` and `pyc man`: generated from the one clap definition, accepted by
//! the shells and by man's formatter, and they complete what `--help` lists.

use std::path::Path;
use std::process::Command;

fn pyc(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(args: &[&str]) -> String {
    let out = pyc(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "pyc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn bash(script: &str) -> std::process::Output {
    Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .output()
        .unwrap()
}

fn write_bash_completions(dir: &Path) -> String {
    let file = dir.join("pyc.bash");
    std::fs::write(&file, stdout_of(&["completions", "bash"])).unwrap();
    file.to_string_lossy().into_owned()
}

/// What the bash completion offers for the words typed so far (the last one being completed).
fn complete(file: &str, words: &[&str]) -> Vec<String> {
    let script = format!(
        r#"source '{file}'
spec=$(complete -p pyc) || exit 3
func=$(printf '%s\n' "$spec" | sed -n 's/.*-F \([^ ]*\).*/\1/p')
COMP_WORDS=({words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$func" pyc "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        words = words
            .iter()
            .map(|w| format!("'{w}'"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let out = bash(&script);
    assert!(
        out.status.success(),
        "bash: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn bash_accepts_the_script_and_registers_pyc() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_bash_completions(dir.path());
    let syntax = Command::new("bash").args(["-n", &file]).output().unwrap();
    assert!(
        syntax.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&syntax.stderr)
    );
    let out = bash(&format!("source '{file}' && complete -p pyc"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let spec = String::from_utf8_lossy(&out.stdout);
    assert!(
        spec.starts_with("complete ") && spec.trim_end().ends_with(" pyc"),
        "{spec}"
    );
}

#[test]
fn bash_completes_subcommands_and_flags() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_bash_completions(dir.path());
    let subcommands = complete(&file, &["pyc", ""]);
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
    ] {
        assert!(
            subcommands.iter().any(|s| s == sub),
            "{sub} not in {subcommands:?}"
        );
    }
    assert_eq!(complete(&file, &["pyc", "sta"]), ["status"]);
    let flags = complete(&file, &["pyc", "status", "--ch"]);
    assert!(flags.iter().any(|f| f == "--check"), "{flags:?}");
    assert!(
        flags.iter().any(|f| f == "--check-hash-based-pycs"),
        "{flags:?}"
    );
    let shells = complete(&file, &["pyc", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        assert!(
            shells.iter().any(|s| s == shell),
            "{shell} not in {shells:?}"
        );
    }
}

/// Every shell gets a script that names every subcommand.
#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let script = stdout_of(&["completions", shell]);
        for sub in ["status", "clean", "compile", "completions"] {
            assert!(script.contains(sub), "{shell}: no {sub}");
        }
    }
    let bad = pyc(&["completions", "tcsh"]);
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn man_page_renders_and_lists_the_subcommands() {
    let page = stdout_of(&["man"]);
    assert!(
        page.starts_with(".ie \\n(.g") || page.contains(".TH pyc 1"),
        "{page}"
    );
    for sub in ["status", "clean", "compile", "completions"] {
        assert!(page.contains(sub), "no {sub} in the man page");
    }
    // groff, when present, formats it without warnings.
    if let Ok(out) = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(page.as_bytes())?;
            child.wait_with_output()
        })
    {
        assert!(out.status.success());
        assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("man1");
    stdout_of(&["man", "--dir", target.to_str().unwrap()]);
    for page in ["pyc.1", "pyc-status.1", "pyc-clean.1", "pyc-completions.1"] {
        let text = std::fs::read_to_string(target.join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
}
