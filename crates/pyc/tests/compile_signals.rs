//! A second Ctrl-C during `pyc compile` ends pyc at once and leaves no `*.pyc-tmp` file
//! (issue 16: one run in 12 left a 0-byte one). The pycs come from a warm `--code-cache`, so
//! pyc itself writes thousands of files a second and the two signals land while writes are
//! in flight.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

fn pyc(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyc"));
    c.current_dir(dir)
        .env("PYC_CACHE_DIR", dir.join("probe-cache"))
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYC_CODE_CACHE");
    c
}

/// Every `*.pyc-tmp` file under `dir`.
fn temp_files(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if e.file_type().unwrap().is_dir() {
            temp_files(&p, out);
        } else if p.to_string_lossy().ends_with(".pyc-tmp") {
            out.push(p.display().to_string());
        }
    }
}

fn remove_caches(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        if e.file_type().unwrap().is_dir() {
            if e.file_name() == "__pycache__" {
                std::fs::remove_dir_all(e.path()).unwrap();
            } else {
                remove_caches(&e.path());
            }
        }
    }
}

fn kill_int(pid: u32) {
    // Signals to pyc alone (as a terminal's Ctrl-C reaches only pyc: its workers run in their
    // own process groups).
    let ok = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

#[test]
fn a_second_ctrl_c_leaves_no_temporary_file() {
    let Some(py) = pyc_testutil::live_python("3.12") else {
        eprintln!("no live 3.12: skipped");
        return;
    };
    pyc_testutil::report_used(
        "a_second_ctrl_c_leaves_no_temporary_file",
        std::slice::from_ref(&py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t");
    for f in 0..40 {
        let d = t.join(format!("pkg{f:02}"));
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..100 {
            std::fs::write(d.join(format!("m{i:03}.py")), format!("x = {i}\n")).unwrap();
        }
    }
    let py_arg = py.path.to_str().unwrap().to_string();
    let args = [
        "compile",
        "t",
        "--python",
        &py_arg,
        "--code-cache",
        "store",
        "-q",
    ];
    // Warm the code cache: later runs only write.
    let warm = pyc(tmp.path()).args(args).output().unwrap();
    assert_eq!(
        warm.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&warm.stderr)
    );
    // How long a whole run of writes takes, to aim the signals inside it.
    remove_caches(&t);
    let started = std::time::Instant::now();
    let full = pyc(tmp.path()).args(args).output().unwrap();
    assert_eq!(full.status.code(), Some(0));
    let span = started.elapsed().as_micros().max(1000) as u64;
    let runs = 40;
    let mut interrupted = 0;
    for run in 0..runs {
        remove_caches(&t);
        let mut child = pyc(tmp.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Spread the first signal over the run; the second follows within a millisecond.
        std::thread::sleep(Duration::from_micros(span * run / runs));
        kill_int(child.id());
        std::thread::sleep(Duration::from_micros(run % 4 * 300));
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let status = child.wait().unwrap();
        if status.code() == Some(130) {
            interrupted += 1;
        }
        let mut left = Vec::new();
        temp_files(tmp.path(), &mut left);
        assert!(
            left.is_empty(),
            "run {run} (exit {status:?}) left temporary files: {left:?}"
        );
    }
    eprintln!(
        "{interrupted} of {runs} runs were interrupted (exit 130), none left a temporary file"
    );
    assert!(
        interrupted >= runs / 2,
        "only {interrupted} of {runs} runs were interrupted"
    );
}
