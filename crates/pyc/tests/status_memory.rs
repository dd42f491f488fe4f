//! `pyc status` keeps only what it prints: the summary's peak memory does not grow with the
//! number of missing caches (it lists 20 per kind, plus counts), and `--format jsonl` streams
//! every record as found, with flat memory too. Peak memory is the child's `ru_maxrss`, read by
//! a live Python (`resource.getrusage(RUSAGE_CHILDREN)`), so no extra tool is needed.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `folders` folders of `per` empty sources each, with no caches: every source is `missing`.
fn missing_tree(dir: &Path, folders: usize, per: usize) {
    for f in 0..folders {
        let d = dir.join(format!("pkg{f:04}"));
        fs::create_dir_all(&d).unwrap();
        for i in 0..per {
            fs::write(d.join(format!("module_with_a_long_name_{i:05}.py")), b"").unwrap();
        }
    }
}

/// Peak RSS (KiB) of `pyc status ARGS` in `dir`, and its exit status.
fn peak_kib(py: &Path, dir: &Path, args: &[&str]) -> u64 {
    let script = "import resource, subprocess, sys\n\
                  p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL)\n\
                  assert p.returncode in (0, 1), p.returncode\n\
                  print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n";
    let out = Command::new(py)
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_pyc"))
        .arg("status")
        .args(args)
        .current_dir(dir)
        .env_remove("PYTHONPYCACHEPREFIX")
        .env("RAYON_NUM_THREADS", "2")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

#[test]
fn summary_and_jsonl_memory_is_flat_in_missing_sources() {
    let Some(py) = pyc_testutil::live_python("3.12") else {
        eprintln!("no live 3.12: skipped");
        return;
    };
    pyc_testutil::report_used("status_memory", std::slice::from_ref(&py));
    let small = tempfile::tempdir().unwrap();
    let big = tempfile::tempdir().unwrap();
    missing_tree(small.path(), 20, 100);
    missing_tree(big.path(), 600, 100);
    for args in [
        &["--python", "3.12", "--no-git", "-O", "0,1,2"][..],
        &[
            "--python", "3.12", "--no-git", "-O", "0,1,2", "--format", "jsonl",
        ][..],
    ] {
        let s = peak_kib(&py.path, small.path(), args);
        let b = peak_kib(&py.path, big.path(), args);
        eprintln!("{args:?}: peak {s} KiB at 2,000 missing, {b} KiB at 60,000 missing");
        // 180,000 missing verdicts kept whole took about 90 MiB more (main before this test);
        // what is printed is bounded. Allow 16 MiB of noise (allocator, folders in flight on
        // a loaded machine). The peak includes the launching Python's ~10 MiB (a child's
        // ru_maxrss starts from the process it was forked from).
        assert!(
            b < s + 16 * 1024,
            "{args:?}: peak memory grew from {s} KiB to {b} KiB with 30x the missing sources"
        );
    }
}

#[test]
fn summary_lists_the_first_twenty_in_path_order_with_the_count() {
    let dir = tempfile::tempdir().unwrap();
    missing_tree(dir.path(), 3, 40);
    let out = Command::new(env!("CARGO_BIN_EXE_pyc"))
        .args(["status", ".", "--python", "3.12", "--no-git"])
        .current_dir(dir.path())
        .env_remove("PYTHONPYCACHEPREFIX")
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == "missing (120):")
        .unwrap_or_else(|| panic!("{text}"));
    let listed: Vec<&str> = lines[at + 1..at + 21]
        .iter()
        .map(|l| l.trim().split("  ").next().unwrap())
        .collect();
    let expected: Vec<String> = (0..20)
        .map(|i| format!("pkg0000/module_with_a_long_name_{i:05}.py"))
        .collect();
    assert_eq!(listed, expected, "{text}");
    assert_eq!(lines[at + 21], "  ... 100 more (-v lists all)", "{text}");
}

#[test]
fn jsonl_has_the_records_of_json_one_per_line() {
    let dir = tempfile::tempdir().unwrap();
    missing_tree(dir.path(), 4, 30);
    // A fresh-enough mix: an orphan and a leftover besides the missing sources.
    fs::create_dir_all(dir.path().join("pkg0000/__pycache__")).unwrap();
    fs::write(
        dir.path().join("pkg0000/__pycache__/gone.cpython-312.pyc"),
        b"",
    )
    .unwrap();
    fs::write(dir.path().join("pkg0001/old.pyc"), b"").unwrap();
    let run = |format: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_pyc"))
            .args([
                "status", ".", "--python", "3.12", "--no-git", "--format", format,
            ])
            .current_dir(dir.path())
            .env_remove("PYTHONPYCACHEPREFIX")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        out.stdout
    };
    let json: Value = serde_json::from_slice(&run("json")).unwrap();
    let mut from_json: Vec<String> = json["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.to_string())
        .collect();
    let jsonl = String::from_utf8(run("jsonl")).unwrap();
    // The first line names the schema; the records follow.
    let (head, records) = jsonl.split_once('\n').unwrap();
    assert_eq!(head, r#"{"schema":"pyc-status/1"}"#);
    let mut from_jsonl: Vec<String> = records
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap().to_string())
        .collect();
    assert_eq!(from_jsonl.len(), 122, "{jsonl}");
    from_json.sort();
    from_jsonl.sort();
    assert_eq!(from_json, from_jsonl);
}
