//! One interpreter model: each interpreter is probed at most once per pyc run, however many
//! parts of the run ask about it (`--python` repeated, a version and a path naming the same
//! interpreter, one answer per path). The interpreter is reached through a wrapper script that
//! logs its invocations (a script is never kept in the on-disk probe cache, so every probe
//! shows), then runs the real interpreter: the test counts the probe runs in the log.

use std::path::{Path, PathBuf};
use std::process::Command;

use pyc_testutil::{live_python, report_used};

/// A `python3` wrapper in `dir/bin` that appends one line per run to `dir/log` (the probe
/// script's first statement, or the first argument).
fn wrapper(dir: &Path, real: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let exe = bin.join("python3");
    let log = dir.join("log");
    std::fs::write(
        &exe,
        format!(
            "#!/bin/sh\ncase \"$*\" in\n  *json.dumps*) echo probe >> '{log}' ;;\n  *) echo run >> '{log}' ;;\nesac\nexec '{real}' \"$@\"\n",
            log = log.display(),
            real = real.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
    exe
}

fn count(dir: &Path, what: &str) -> usize {
    std::fs::read_to_string(dir.join("log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| *l == what)
        .count()
}

fn pyc(dir: &Path, bin: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyc"));
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin.to_path_buf()];
    dirs.extend(std::env::split_paths(&path));
    c.current_dir(dir)
        .env("PATH", std::env::join_paths(dirs).unwrap())
        .env("PYC_CACHE_DIR", dir.join("cache"))
        .env_remove("VIRTUAL_ENV")
        .env_remove("CONDA_PREFIX");
    c
}

#[test]
fn each_interpreter_is_probed_once_per_run() {
    let Some(py) = live_python("3.12").or_else(|| live_python("3.11")) else {
        eprintln!("each_interpreter_is_probed_once_per_run: no live 3.11/3.12, skipped");
        return;
    };
    report_used(
        "each_interpreter_is_probed_once_per_run",
        std::slice::from_ref(&py),
    );
    let runs: &[(&str, &[&str])] = &[
        (
            "compile --dry-run, --python twice",
            &[
                "compile",
                "--dry-run",
                "--python",
                "W",
                "--python",
                "W",
                "src",
            ],
        ),
        (
            "status, --python twice",
            &[
                "status", "--no-git", "--python", "W", "--python", "W", "src",
            ],
        ),
        ("path, two sources", &["path", "src/a.py", "src/b.py"]),
        ("status, no --python", &["status", "--no-git", "src"]),
        ("python, --python named", &["python", "--python", "W"]),
    ];
    let mut failures = Vec::new();
    for (what, args) in runs {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        std::fs::create_dir(dir.join("src")).unwrap();
        std::fs::write(dir.join("src/a.py"), "x = 1\n").unwrap();
        std::fs::write(dir.join("src/b.py"), "y = 2\n").unwrap();
        let exe = wrapper(dir, &py.path);
        let bin = exe.parent().unwrap().to_path_buf();
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                if *a == "W" {
                    exe.display().to_string()
                } else {
                    a.to_string()
                }
            })
            .collect();
        let out = pyc(dir, &bin).args(&args).output().unwrap();
        let probes = count(dir, "probe");
        if probes != 1 {
            failures.push(format!(
                "{what}: {probes} probes (want 1); exit {:?}, stderr {}",
                out.status.code(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `dis` of many sources compiles them through `pyc compile`'s worker pool: one probe, and
/// at most one interpreter process per disassembly thread, not one per source.
#[test]
fn dis_of_many_sources_starts_few_interpreters() {
    let Some(py) = live_python("3.12").or_else(|| live_python("3.11")) else {
        eprintln!("dis_of_many_sources_starts_few_interpreters: no live 3.11/3.12, skipped");
        return;
    };
    report_used(
        "dis_of_many_sources_starts_few_interpreters",
        std::slice::from_ref(&py),
    );
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let n = 3 * threads + 2;
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let mut args = vec!["dis".to_string()];
    for i in 0..n {
        let name = format!("m{i}.py");
        std::fs::write(dir.join(&name), format!("x = {i}\n")).unwrap();
        args.push(name);
    }
    let exe = wrapper(dir, &py.path);
    let bin = exe.parent().unwrap().to_path_buf();
    args.extend(["--python".to_string(), exe.display().to_string()]);
    let out = pyc(dir, &bin).args(&args).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(count(dir, "probe"), 1);
    let runs = count(dir, "run");
    assert!(
        runs >= 1 && runs <= threads && runs < n,
        "{runs} interpreter runs for {n} sources on {threads} threads"
    );
}
