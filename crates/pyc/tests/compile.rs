//! Live tests of `pyc compile` against the real interpreters on this machine: the pycs equal
//! those of py_compile run in a fresh process (after the canonical form), compileall's paths
//! and file names, reproducibility across `--jobs` and orders, incremental runs, faults.

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use pyc_format::{canonical_pyc, header_size, version_info, PyVersion};
use pyc_testutil::{live_pythons, report_used, LivePython};

const MTIME: u64 = 1_700_000_000;

fn pyc_bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("pyc")
}

/// `pyc` with a private probe cache and none of the variables that change defaults.
fn pyc(cwd: &Path, cache: &Path, args: &[&str]) -> Output {
    Command::new(pyc_bin())
        .args(args)
        .current_dir(cwd)
        .env("PYC_CACHE_DIR", cache)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// `python -m compileall -q` in `cwd`, with `PYTHONHASHSEED=0` and without the variables that
/// change its defaults.
/// `PYTHONDONTWRITEBYTECODE` is left as it is: compileall writes what it is asked to either
/// way, and the variable keeps the interpreter from caching its own imports (into a prefix
/// the test compares, or the interpreter's standard library).
fn compileall(py: &LivePython, cwd: &Path) -> Command {
    let mut cmd = Command::new(&py.path);
    cmd.args(["-m", "compileall", "-q"])
        .current_dir(cwd)
        // Text sets before 3.11 follow the hash seed; pyc's answer is the seed-0 one.
        .env("PYTHONHASHSEED", "0")
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE");
    cmd
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn version(p: &LivePython) -> PyVersion {
    p.version.parse().unwrap()
}

/// Which of the interpreters found a test uses.
enum Which {
    All,
    Newest,
}
use Which::{All, Newest};

/// The live interpreters of version `min` or later that `test` uses (all, or the newest one),
/// printed so the run says which were found.
fn pythons_for(test: &str, min: (u8, u8), which: Which) -> Vec<LivePython> {
    let found = live_pythons()
        .into_iter()
        .filter(|p| version(p) >= PyVersion::new(min.0, min.1));
    let pythons: Vec<LivePython> = match which {
        All => found.collect(),
        Newest => found.rev().take(1).collect(),
    };
    report_used(test, &pythons);
    pythons
}

fn set_mtime(path: &Path, secs: u64) {
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
        .unwrap();
}

/// The corpus files the version's grammar accepts, copied into `dir` with a fixed mtime.
fn corpus_into(dir: &Path, v: PyVersion) -> Vec<String> {
    let corpus = pyc_testutil::fixtures("compile/corpus");
    std::fs::create_dir_all(dir).unwrap();
    let mut names = Vec::new();
    for e in std::fs::read_dir(&corpus).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        let min = match name.split('_').next().unwrap() {
            "common" => PyVersion::new(2, 7),
            "py36" => PyVersion::new(3, 6),
            "py38" => PyVersion::new(3, 8),
            "py310" => PyVersion::new(3, 10),
            "py311" => PyVersion::new(3, 11),
            "py312" => PyVersion::new(3, 12),
            other => panic!("corpus prefix {other}"),
        };
        if v >= min {
            std::fs::copy(corpus.join(&name), dir.join(&name)).unwrap();
            set_mtime(&dir.join(&name), MTIME);
            names.push(name);
        }
    }
    names.sort();
    names
}

fn levels_for(v: PyVersion) -> &'static [u8] {
    // 2.7 writes .pyo for every level above 0, so 1 and 2 would share a file.
    if v < PyVersion::new(3, 0) {
        &[0, 1]
    } else {
        &[0, 1, 2]
    }
}

fn modes_for(v: PyVersion) -> &'static [&'static str] {
    if v >= PyVersion::new(3, 7) {
        &["timestamp", "checked-hash", "unchecked-hash"]
    } else {
        &["timestamp"]
    }
}

const PY_COMPILE: &str = r#"
import sys, py_compile
src, cfile, level, mode = sys.argv[1:5]
kw = {}
if sys.version_info >= (3, 2):
    kw['optimize'] = int(level)
if sys.version_info >= (3, 7):
    kw['invalidation_mode'] = getattr(py_compile.PycInvalidationMode, mode.replace('-', '_').upper())
py_compile.compile(src, cfile=cfile, doraise=True, **kw)
"#;

/// py_compile in a fresh interpreter process, from `cwd` (so `co_filename` is the same path).
fn py_compile(py: &LivePython, cwd: &Path, src: &str, cfile: &Path, level: u8, mode: &str) {
    let mut cmd = Command::new(&py.path);
    if version(py) < PyVersion::new(3, 2) && level > 0 {
        cmd.arg(if level == 1 { "-O" } else { "-OO" });
    }
    let out = cmd
        .args(["-c", PY_COMPILE, src])
        .arg(cfile)
        .args([&level.to_string(), mode])
        .current_dir(cwd)
        .env("PYTHONHASHSEED", "0")
        .env_remove("PYTHONOPTIMIZE")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{} py_compile {src}: {}",
        py.version,
        String::from_utf8_lossy(&out.stderr)
    );
}

const SAME_CODE: &str = r#"
import sys, marshal
bad = []
pairs = sys.argv[2:]
h = int(sys.argv[1])
for i in range(0, len(pairs), 2):
    a = open(pairs[i], 'rb').read()[h:]
    b = open(pairs[i + 1], 'rb').read()[h:]
    if marshal.loads(a) != marshal.loads(b):
        bad.append(pairs[i])
print('BAD ' + ' '.join(bad) if bad else 'OK %d' % (len(pairs) // 2))
"#;

/// Every written pyc equals py_compile's from a fresh process: same header, same permission
/// bits, same bytes once py_compile's are put in canonical form (pyc's already are), and the
/// loaded code objects compare equal in the interpreter itself.
#[test]
fn pycs_equal_py_compile_in_a_fresh_process() {
    let pythons = live_pythons();
    report_used("pycs_equal_py_compile_in_a_fresh_process", &pythons);
    for py in &pythons {
        let v = version(py);
        let info = version_info(v).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        let names = corpus_into(&work.join("t"), v);
        // A read-only source: the pyc gets owner-write added, as CPython does.
        let ro = work.join("t").join(&names[0]);
        std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o444)).unwrap();
        let exe = py.path.to_str().unwrap();
        let mut pairs: Vec<PathBuf> = Vec::new();
        for &mode in modes_for(v) {
            let levels: Vec<u8> = if mode == "timestamp" {
                levels_for(v).to_vec()
            } else {
                vec![0]
            };
            let lv: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
            let out = pyc(
                &work,
                tmp.path(),
                &[
                    "compile",
                    "t",
                    "--python",
                    exe,
                    "-f",
                    "-O",
                    &lv.join(","),
                    "--invalidation-mode",
                    mode,
                    "--format",
                    "json",
                ],
            );
            assert!(
                out.status.success(),
                "{} {mode}: {}",
                py.version,
                String::from_utf8_lossy(&out.stderr)
            );
            let report = json(&out);
            let files = report["files"].as_array().unwrap();
            assert_eq!(files.len(), names.len() * levels.len(), "{}", py.version);
            let refdir = work.join("ref");
            std::fs::create_dir_all(&refdir).unwrap();
            for f in files {
                let source = f["source"].as_str().unwrap();
                let level = f["optimize"].as_u64().unwrap() as u8;
                let ours_path = work.join(f["cache"].as_str().unwrap());
                let name = Path::new(source).file_name().unwrap().to_str().unwrap();
                let keep = tmp.path().join(format!("ours.{name}.{level}.{mode}.pyc"));
                std::fs::copy(&ours_path, &keep).unwrap();
                let theirs = refdir.join(format!("{name}.{level}.{mode}.pyc"));
                py_compile(py, &work, source, &theirs, level, mode);
                let ours = std::fs::read(&ours_path).unwrap();
                let ref_bytes = std::fs::read(&theirs).unwrap();
                let h = header_size(u16::from_le_bytes([ours[0], ours[1]]));
                assert_eq!(
                    ours[..h],
                    ref_bytes[..h],
                    "{} {source} {level} {mode}: header",
                    py.version
                );
                let canon = canonical_pyc(&ref_bytes).unwrap();
                assert!(
                    ours[..] == canon[..],
                    "{} {source} opt {level} {mode}: body differs from py_compile's canonical form",
                    py.version
                );
                let mode_bits = |p: &Path| std::fs::metadata(p).unwrap().mode() & 0o777;
                assert_eq!(
                    mode_bits(&ours_path),
                    mode_bits(&theirs),
                    "{} {source}: permission bits",
                    py.version
                );
                pairs.push(keep);
                pairs.push(theirs);
            }
        }
        let h = info.cache_tag.map_or(8, |_| header_size(info.magic));
        let out = Command::new(&py.path)
            .args(["-c", SAME_CODE, &h.to_string()])
            .args(&pairs)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with("OK "),
            "{}: code objects differ: {text} {}",
            py.version,
            String::from_utf8_lossy(&out.stderr)
        );
        // `==` on code objects ignores what else a user sees: which strings load interned,
        // and the order a frozenset constant iterates in. The interpreter itself says.
        assert_observed_alike(py, &pairs);
        // `pyc normalize` makes py_compile's pycs into pyc compile's bytes, in place.
        check_normalize(py, &work.join("ref"), &pairs);
    }
}

/// `pyc normalize` on the interpreter's own pycs in `dir` (`pairs`: pyc compile's copy, then
/// the interpreter's file): `--check` fails while any is not canonical (3.x pycs from
/// py_compile carry FLAG_REF noise; 2.x ones are canonical as written), normalizing makes each
/// equal to pyc compile's bytes and keeps its permission bits, and a second run and `--check`
/// find nothing to do.
fn check_normalize(py: &LivePython, dir: &Path, pairs: &[PathBuf]) {
    let run = |args: &[&str]| {
        Command::new(pyc_bin())
            .arg("normalize")
            .args(args)
            .arg(dir)
            .output()
            .unwrap()
    };
    let noisy = pairs
        .chunks(2)
        .filter(|p| std::fs::read(&p[0]).unwrap() != std::fs::read(&p[1]).unwrap())
        .count();
    let check = run(&["--check"]);
    assert_eq!(
        check.status.code(),
        Some(if noisy > 0 { 1 } else { 0 }),
        "{}: normalize --check before: {}",
        py.version,
        String::from_utf8_lossy(&check.stdout)
    );
    if py.version.starts_with('3') {
        assert!(
            noisy > 0,
            "{}: expected py_compile's pycs to differ",
            py.version
        );
    }
    let modes: Vec<u32> = pairs
        .chunks(2)
        .map(|p| std::fs::metadata(&p[1]).unwrap().mode())
        .collect();
    let out = run(&[]);
    assert!(
        out.status.success(),
        "{}: normalize: {}",
        py.version,
        String::from_utf8_lossy(&out.stderr)
    );
    for (p, mode) in pairs.chunks(2).zip(modes) {
        assert!(
            std::fs::read(&p[0]).unwrap() == std::fs::read(&p[1]).unwrap(),
            "{} {}: normalized bytes differ from pyc compile's",
            py.version,
            p[1].display()
        );
        assert_eq!(std::fs::metadata(&p[1]).unwrap().mode(), mode, "mode kept");
    }
    let again = run(&["--format", "json"]);
    assert!(again.status.success(), "{}", py.version);
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        doc["summary"]["normalized"], 0,
        "{}: second run",
        py.version
    );
    assert_eq!(
        doc["summary"]["unchanged"].as_u64().unwrap() as usize,
        pairs.len() / 2
    );
    assert_eq!(run(&["--check"]).status.code(), Some(0), "{}", py.version);
}

/// `scripts/observe_code.py --compare` in the interpreter `py`: every pair of pycs
/// (`[a1, b1, a2, b2, ...]`) loads as the same code, field by field, with the same strings
/// interned and every frozenset iterating in the same order.
fn assert_observed_alike(py: &LivePython, pairs: &[PathBuf]) {
    if let Err(diff) = pyc_testutil::observe(py, pairs) {
        panic!("{}: loaded code observably differs:\n{diff}", py.version);
    }
}

/// Whether every pair loads alike (as [`assert_observed_alike`]), without failing.
fn observed_alike(py: &LivePython, pairs: &[PathBuf]) -> bool {
    pyc_testutil::observe(py, pairs).is_ok()
}

fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap())
            .collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

fn pycs_only(s: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    s.iter()
        .filter(|(k, _)| k.ends_with(".pyc") || k.ends_with(".pyo"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// A varied tree: the corpus plus the interpreter's own `json` and `email` packages.
fn varied_tree(py: &LivePython, dir: &Path) {
    corpus_into(dir, version(py));
    let out = Command::new(&py.path)
        .args([
            "-c",
            "import os, json, email; print(os.path.dirname(json.__file__)); print(os.path.dirname(email.__file__))",
        ])
        .output()
        .unwrap();
    for pkg in String::from_utf8_lossy(&out.stdout).lines() {
        let src = Path::new(pkg);
        let dst = dir.join(src.file_name().unwrap());
        std::fs::create_dir_all(&dst).unwrap();
        for e in std::fs::read_dir(src).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "py") {
                let to = dst.join(p.file_name().unwrap());
                std::fs::copy(&p, &to).unwrap();
                set_mtime(&to, MTIME);
            }
        }
    }
}

/// Same bytes whatever `--jobs`, whatever order the files come in, whatever a worker compiled
/// before. 3.10 is preferred: its marshal output depends on process history the most.
#[test]
fn same_bytes_whatever_jobs_and_order() {
    let pythons = live_pythons();
    let Some(py) = pythons
        .iter()
        .find(|p| p.version == "3.10")
        .or(pythons.last())
    else {
        report_used("same_bytes_whatever_jobs_and_order", &[]);
        return;
    };
    report_used(
        "same_bytes_whatever_jobs_and_order",
        std::slice::from_ref(py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    varied_tree(py, &work.join("t"));
    let exe = py.path.to_str().unwrap();
    let base = ["compile", "--python", exe, "-f", "-q", "-O", "0,1,2"];
    let mut list: Vec<String> = snapshot(&work.join("t"))
        .keys()
        .filter(|k| k.ends_with(".py"))
        .map(|k| format!("t/{k}"))
        .collect();

    let run = |extra: &[&str]| {
        let mut args: Vec<&str> = base.to_vec();
        args.extend_from_slice(extra);
        let out = pyc(&work, tmp.path(), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        pycs_only(&snapshot(&work.join("t")))
    };
    let one = run(&["--jobs", "1", "t"]);
    assert!(one.len() > 60, "only {} pycs", one.len());
    list.reverse();
    let listfile = tmp.path().join("list");
    std::fs::write(&listfile, list.join("\n")).unwrap();
    let four_reversed = run(&["--jobs", "4", "-i", listfile.to_str().unwrap()]);
    assert!(
        one == four_reversed,
        "--jobs 1 and --jobs 4 (reversed) differ"
    );
    // Half the files first, then all: the workers' history differs again.
    let half: Vec<&str> = list.iter().step_by(2).map(String::as_str).collect();
    let mut args = vec!["--jobs", "2"];
    args.extend(half);
    run(&args);
    let after_half = run(&["--jobs", "3", "t"]);
    assert!(
        one == after_half,
        "bytes depend on what the workers compiled before"
    );
}

/// A second run with nothing changed starts no interpreter; touching one source recompiles
/// exactly that source, once per interpreter and level.
#[test]
fn incremental_runs() {
    let pythons = live_pythons();
    let used: Vec<LivePython> = pythons.iter().rev().take(2).cloned().collect();
    report_used("incremental_runs", &used);
    if used.is_empty() {
        return;
    }
    for mode in ["timestamp", "checked-hash"] {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("w");
        varied_tree(&used[0], &work.join("t"));
        let mut args: Vec<String> = ["compile", "t", "-O", "0,1", "--format", "json"]
            .map(String::from)
            .to_vec();
        args.extend(["--invalidation-mode".into(), mode.into()]);
        for p in &used {
            args.extend(["--python".into(), p.path.to_string_lossy().into_owned()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let first = json(&pyc(&work, tmp.path(), &args));
        let written = first["written"].as_u64().unwrap();
        assert!(written > 20);
        assert_eq!(first["failed"], 0, "{first}");

        let second = json(&pyc(&work, tmp.path(), &args));
        assert_eq!(second["written"], 0, "{mode}: {second}");
        assert_eq!(second["up_to_date"].as_u64().unwrap(), written);
        assert_eq!(
            second["interpreters_started"], 0,
            "{mode}: a run with nothing to do started an interpreter"
        );

        let touched = work.join("t/common_strings.py");
        let mut text = std::fs::read(&touched).unwrap();
        text.extend(b"EXTRA = 1\n");
        std::fs::write(&touched, text).unwrap();
        set_mtime(&touched, MTIME + 10);
        let third = json(&pyc(&work, tmp.path(), &args));
        let files = third["files"].as_array().unwrap();
        assert_eq!(files.len(), 2 * used.len(), "{mode}: {third}");
        assert!(files.iter().all(|f| f["source"] == "t/common_strings.py"));
    }
}

/// With `--sys-path` (and no files or directories), pyc compiles the folders on the interpreter's `sys.path`
/// as compileall's `compile_path` does: top level only, the current directory skipped, entries
/// that are not folders noted and skipped; the same files and bytes as `compile_path` run by
/// the interpreter with the same `sys.path`. A stand-in interpreter answers the `sys.path`
/// query with folders of the test (so nothing outside it is written); its workers are real.
#[test]
fn no_arguments_compile_the_folders_on_sys_path() {
    let pythons: Vec<LivePython> = live_pythons().into_iter().rev().take(1).collect();
    report_used("no_arguments_compile_the_folders_on_sys_path", &pythons);
    let Some(py) = pythons.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let (d1, d2, cwd) = (
        tmp.path().join("d1"),
        tmp.path().join("d2"),
        tmp.path().join("cwd"),
    );
    for d in [&d1, &d2, &cwd, &d1.join("sub")] {
        std::fs::create_dir_all(d).unwrap();
    }
    std::fs::write(d1.join("a.py"), "A = 1\n").unwrap();
    std::fs::write(d1.join("sub/b.py"), "B = 1\n").unwrap();
    std::fs::write(d2.join("c.py"), "C = 1\n").unwrap();
    std::fs::write(cwd.join("x.py"), "X = 1\n").unwrap();
    let fake_path = format!(
        "['', {:?}, {:?}, {:?}]",
        d1.to_str().unwrap(),
        tmp.path().join("python3.zip").to_str().unwrap(),
        d2.to_str().unwrap()
    );
    let real = py.path.display().to_string();
    let script = format!(
        r#"#!{real}
import os, sys
args = sys.argv[1:]
if '-c' in args and 'sys.path' in args[args.index('-c') + 1]:
    out = getattr(sys.stdout, 'buffer', sys.stdout)
    out.write(b'\0'.join(p.encode() for p in {fake_path}))
    sys.exit(0)
os.execv({real:?}, [{real:?}] + args)
"#
    );
    let fake = tmp.path().join("fake-python");
    std::fs::write(&fake, script).unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    // What compileall's own compile_path writes with that sys.path (then cleared again).
    let st = Command::new(&py.path)
        .args([
            "-c",
            &format!(
                "import sys, compileall; sys.path[:] = {fake_path}; \
                 sys.exit(not compileall.compile_path(quiet=2))"
            ),
        ])
        .current_dir(&cwd)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .status()
        .unwrap();
    assert!(st.success());
    let pycs = |root: &Path| -> BTreeMap<String, Vec<u8>> {
        pycs_only(&snapshot(root))
            .into_iter()
            .map(|(k, v)| (k, canonical_pyc(&v).unwrap()))
            .collect()
    };
    let theirs = pycs(tmp.path());
    for d in [&d1, &d2, &cwd, &d1.join("sub")] {
        let _ = std::fs::remove_dir_all(d.join("__pycache__"));
    }
    let out = pyc(
        &cwd,
        tmp.path(),
        &[
            "compile",
            "--sys-path",
            "--python",
            fake.to_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = json(&out);
    let mut sources: Vec<String> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap().to_string())
        .collect();
    sources.sort();
    let want = vec![
        d1.join("a.py").display().to_string(),
        d2.join("c.py").display().to_string(),
    ];
    assert_eq!(sources, want, "{report}");
    assert_eq!(
        pycs(tmp.path()),
        theirs,
        "the same files and bytes as compile_path"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("python3.zip: not a folder"), "{stderr}");
    // Several interpreters and no paths: which sys.path is meant is unclear, so it is an error.
    let out = pyc(
        &cwd,
        tmp.path(),
        &[
            "compile",
            "--sys-path",
            "--python",
            fake.to_str().unwrap(),
            "--python",
            &real,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A pyc with a fresh header and a truncated or corrupt body is up to date for a plain run
/// (as for compileall and the interpreter's check); `--verify` compiles it again, to the same
/// bytes as before, and leaves the good ones alone.
#[test]
fn verify_recompiles_pycs_whose_body_does_not_load() {
    let pythons = live_pythons();
    let used: Vec<LivePython> = pythons.iter().rev().take(1).cloned().collect();
    report_used("verify_recompiles_pycs_whose_body_does_not_load", &used);
    let Some(py) = used.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("w");
    varied_tree(py, &work.join("t"));
    let exe = py.path.to_string_lossy().into_owned();
    let args = ["compile", "t", "--format", "json", "--python", exe.as_str()];
    let first = json(&pyc(&work, tmp.path(), &args));
    assert_eq!(first["failed"], 0, "{first}");
    let good = pycs_only(&snapshot(&work));
    // Break two pycs behind their headers: one truncated, one with a garbage body.
    let mut broken: Vec<String> = good.keys().take(2).cloned().collect();
    broken.sort();
    let (a, b) = (work.join(&broken[0]), work.join(&broken[1]));
    let data = std::fs::read(&a).unwrap();
    std::fs::write(&a, &data[..data.len() / 2]).unwrap();
    let mut data = std::fs::read(&b).unwrap();
    let head = if version(py) >= PyVersion::new(3, 7) {
        16
    } else {
        12
    };
    data.truncate(head);
    data.extend(b"this is not marshal data");
    std::fs::write(&b, &data).unwrap();

    let plain = json(&pyc(&work, tmp.path(), &args));
    assert_eq!(plain["written"], 0, "the header check alone: {plain}");
    let mut vargs = args.to_vec();
    vargs.push("--verify");
    let verified = json(&pyc(&work, tmp.path(), &vargs));
    let mut files: Vec<String> = verified["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cache"].as_str().unwrap().to_string())
        .collect();
    files.sort();
    assert_eq!(files, broken, "{verified}");
    assert_eq!(pycs_only(&snapshot(&work)), good);
    let again = json(&pyc(&work, tmp.path(), &vargs));
    assert_eq!(again["written"], 0, "{again}");
    assert_eq!(again["interpreters_started"], 0, "{again}");
}

/// A syntax error is reported as `file:line: message`, the other files are compiled, exit 1.
#[test]
fn syntax_errors_are_reported_and_the_rest_compiled() {
    let pythons = live_pythons();
    report_used("syntax_errors_are_reported_and_the_rest_compiled", &pythons);
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("a_good.py"), "x = 1\n").unwrap();
        std::fs::write(t.join("bad.py"), "x = 1\ny = (\n").unwrap();
        std::fs::write(t.join("z_good.py"), "y = 2\n").unwrap();
        let out = pyc(
            tmp.path(),
            tmp.path(),
            &["compile", "t", "--python", py.path.to_str().unwrap()],
        );
        assert_eq!(out.status.code(), Some(1), "{}", py.version);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.lines()
                .any(|l| l.starts_with("t/bad.py:") && l.contains(": SyntaxError: ")),
            "{}: {err}",
            py.version
        );
        let snap = pycs_only(&snapshot(&t));
        assert_eq!(snap.len(), 2, "{}: {snap:?}", py.version);
        assert!(!snap.keys().any(|k| k.contains("bad")));
    }
}

/// A stand-in interpreter: the real one, whose worker hangs on sources starting with `#HANG`,
/// dies on `#CRASH` (closing its input first, so that pyc's next request meets a closed pipe),
/// and closes its output but lives on with `#CLOSE`.
fn faulty_python(dir: &Path, real: &Path) -> PathBuf {
    let script = format!(
        r#"#!{real}
import os, sys
args = sys.argv[1:]
if '-c' in args:
    i = args.index('-c')
    if 'READY' in args[i + 1]:
        args[i + 1] = args[i + 1].replace(
            "code = compile(source",
            "source.startswith(b'#HANG') and __import__('time').sleep(120); "
            "source.startswith(b'#CRASH') and (os.close(0), __import__('time').sleep(0.3), os._exit(3)); "
            "source.startswith(b'#CLOSE') and (os.close(1), __import__('time').sleep(120)); "
            "code = compile(source")
        # The second worker started closes its input before READY and dies soon after it:
        # every request pyc sends it meets a closed pipe.
        starts = os.path.join(os.path.dirname(sys.argv[0]), 'starts')
        n = len(open(starts).read()) if os.path.exists(starts) else 0
        open(starts, 'a').write('x')
        if n == 1 and os.path.exists(os.path.join(os.path.dirname(sys.argv[0]), 'die-second')):
            args[i + 1] = args[i + 1].replace(
                "    stdout.write(b'READY '",
                "    os.close(0)\n    stdout.write(b'READY '").replace(
                "stdout.flush()\n    while True:",
                "stdout.flush()\n    __import__('time').sleep(0.3); os._exit(4)\n    while True:")
os.execv({real:?}, [{real:?}] + args)
"#,
        real = real.display()
    );
    let p = dir.join("faulty-python");
    std::fs::write(&p, script).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

/// `pyc compile t` in `cwd` with the stand-in interpreter: one worker thread, a 2 s timeout,
/// JSON out.
fn compile_with_stand_in(cwd: &Path, cache: &Path, fake: &Path) -> Output {
    let fake = fake.to_str().unwrap();
    let args = [
        "compile",
        "t",
        "--python",
        fake,
        "--jobs",
        "1",
        "--timeout",
        "2",
    ];
    let mut args = args.to_vec();
    args.extend(["--format", "json"]);
    pyc(cwd, cache, &args)
}

/// A worker that hangs past `--timeout`, crashes, or closes its output and lingers is killed,
/// the file reported, and a new worker takes the remaining files.
#[test]
fn hung_or_crashed_workers_are_replaced() {
    let pythons = pythons_for("hung_or_crashed_workers_are_replaced", (3, 6), Newest);
    let Some(py) = pythons.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let fake = faulty_python(tmp.path(), &py.path);
    let t = tmp.path().join("t");
    std::fs::create_dir_all(&t).unwrap();
    for i in 0..6 {
        std::fs::write(t.join(format!("ok{i}.py")), format!("x = {i}\n")).unwrap();
    }
    std::fs::write(
        t.join("hang.py"),
        "#HANG\nx = 1\n# padding to sort first by size\n",
    )
    .unwrap();
    // Second by size: the worker started after the hang answers it, then dies on crash.py
    // with its input closed, so pyc's next request may meet a closed pipe; no answer may then
    // go to the wrong file (see a_worker_dead_at_start_never_hands_its_files_to_another).
    std::fs::write(
        t.join("first.py"),
        "x = 1\n# padding to sort after hang.py!!\n",
    )
    .unwrap();
    std::fs::write(t.join("crash.py"), "#CRASH\nx = 1\n# padding, padding\n").unwrap();
    std::fs::write(t.join("close.py"), "#CLOSE\nx = 1\n# padding, pad\n").unwrap();
    let out = compile_with_stand_in(tmp.path(), tmp.path(), &fake);
    assert_eq!(out.status.code(), Some(1));
    let report = json(&out);
    assert_eq!(report["written"], 7, "{report}");
    let mut written: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["source"].as_str().unwrap())
        .collect();
    written.sort_unstable();
    let want = [
        "t/first.py",
        "t/ok0.py",
        "t/ok1.py",
        "t/ok2.py",
        "t/ok3.py",
        "t/ok4.py",
        "t/ok5.py",
    ];
    assert_eq!(written, want, "{report}");
    let failures = report["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 3, "{report}");
    let msg = |name: &str| {
        failures
            .iter()
            .find(|f| f["source"] == format!("t/{name}"))
            .map(|f| f["message"].as_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(msg("hang.py").contains("did not answer"), "{report}");
    assert!(msg("crash.py").contains("worker exited"), "{report}");
    // Not waited on for its 120 s: killed once its output is gone. From 3.13 the worker
    // compiles in a fork: the fork closes its own copy of the output, the worker still holds
    // the pipe, and the timeout ends it (the whole process group).
    let close = if version(py) >= PyVersion::new(3, 13) {
        "did not answer"
    } else {
        "closed its output"
    };
    assert!(msg("close.py").contains(close), "{report}");
}

/// A worker that dies right after starting, before it reads a request: pyc's requests to it
/// meet a closed pipe. One file is reported (the oldest request, as for any death), the rest
/// go to a new worker, and every pyc written holds its own source's code: the same bytes as
/// a clean run's.
#[test]
fn a_worker_dead_at_start_never_hands_its_files_to_another() {
    let pythons = pythons_for(
        "a_worker_dead_at_start_never_hands_its_files_to_another",
        (3, 6),
        Newest,
    );
    let Some(py) = pythons.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let fake = faulty_python(tmp.path(), &py.path);
    std::fs::write(tmp.path().join("die-second"), "").unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for root in [&a, &b] {
        let t = root.join("t");
        std::fs::create_dir_all(&t).unwrap();
        // Sizes differ, so the order is the same in both runs; the first is a hang.
        std::fs::write(t.join("hang.py"), format!("#HANG\n{}\n", "#".repeat(40))).unwrap();
        for i in 0..8 {
            let pad = "#".repeat(30 - i);
            std::fs::write(t.join(format!("m{i}.py")), format!("x = {i}\n{pad}\n")).unwrap();
        }
    }
    std::fs::remove_file(b.join("t/hang.py")).unwrap();
    let exe = py.path.to_string_lossy().into_owned();
    let clean = pyc(
        &b,
        tmp.path(),
        &["compile", "t", "--python", &exe, "--jobs", "1"],
    );
    assert!(clean.status.success());
    let out = compile_with_stand_in(&a, tmp.path(), &fake);
    let report = json(&out);
    let failures = report["failures"].as_array().unwrap();
    // The hang, and one file blamed for the worker that died at start.
    assert_eq!(failures.len(), 2, "{report}");
    assert!(
        failures
            .iter()
            .any(|f| f["message"].as_str().unwrap().contains("worker exited")),
        "{report}"
    );
    let ours = pycs_only(&snapshot(&a));
    let theirs = pycs_only(&snapshot(&b));
    assert_eq!(ours.len(), 7, "{report}");
    for (path, bytes) in &ours {
        assert_eq!(
            Some(bytes),
            theirs.get(path),
            "{path} holds another file's code"
        );
    }
}

/// Ctrl-C while a worker is busy: pyc stops at once, exit 130, no temporary or partial file.
#[test]
fn ctrl_c_stops_cleanly() {
    let pythons = pythons_for("ctrl_c_stops_cleanly", (3, 6), Newest);
    let Some(py) = pythons.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let fake = faulty_python(tmp.path(), &py.path);
    let t = tmp.path().join("t");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("hang.py"), "#HANG\nx = 1\n").unwrap();
    let mut child = Command::new(pyc_bin())
        .args([
            "compile",
            "t",
            "--python",
            fake.to_str().unwrap(),
            "--jobs",
            "1",
        ])
        .current_dir(tmp.path())
        .env("PYC_CACHE_DIR", tmp.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let started = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(status.code(), Some(130));
    let left: Vec<String> = snapshot(&t).into_keys().collect();
    assert_eq!(
        left,
        vec!["hang.py".to_string()],
        "files left behind: {left:?}"
    );
}

/// A cache path that is a symlink is refused with py_compile's message and left alone.
#[test]
fn a_symlinked_pyc_is_refused() {
    let pythons = pythons_for("a_symlinked_pyc_is_refused", (3, 6), Newest);
    let Some(py) = pythons.first() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("t");
    std::fs::create_dir_all(t.join("__pycache__")).unwrap();
    std::fs::write(t.join("m.py"), "x = 1\n").unwrap();
    std::fs::write(tmp.path().join("elsewhere"), "keep").unwrap();
    let tag = version_info(version(py)).unwrap().cache_tag.unwrap();
    let link = t.join(format!("__pycache__/m.{tag}.pyc"));
    std::os::unix::fs::symlink(tmp.path().join("elsewhere"), &link).unwrap();
    let out = pyc(
        tmp.path(),
        tmp.path(),
        &["compile", "t", "--python", py.path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is a symlink"));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(tmp.path().join("elsewhere")).unwrap(),
        b"keep"
    );
}

/// compileall's options give the same files at the same paths, with the same file names
/// inside (`-d`, `-s`/`-p`, `-b`, `-x`, `-r`, a pycache prefix, several levels with
/// `--hardlink-dupes`): every pyc equal to compileall's after the canonical form, and the same
/// files hard-linked.
#[test]
fn options_match_compileall() {
    let pythons = pythons_for("options_match_compileall", (3, 9), All);
    let cases: &[(&[&str], &[&str])] = &[
        (&[], &[]),
        (&["-b"], &["-b"]),
        (&["-d", "/x/y"], &["-d", "/x/y"]),
        (&["-s", "t", "-p", "/opt"], &["-s", "t", "-p", "/opt"]),
        (&["-x", "strings|sub"], &["-x", "strings|sub"]),
        // Python's `re` features that Rust's regex lacks: look-ahead, back-references, \Z.
        (&["-x", "common_(?!strings)"], &["-x", "common_(?!strings)"]),
        (&["-x", r"(m)\1o"], &["-x", r"(m)\1o"]),
        (
            &["-x", r"(?<!common_)basic\.py\Z"],
            &["-x", r"(?<!common_)basic\.py\Z"],
        ),
        (&["-x", r"walrus\.py\Z"], &["-x", r"walrus\.py\Z"]),
        (&["-r", "0"], &["-r", "0"]),
        (&["-l"], &["-l"]),
        (
            &["-o", "0", "-o", "1", "-o", "2", "--hardlink-dupes"],
            &["-O", "0,1,2", "--hardlink-dupes"],
        ),
        (&["PREFIX"], &["--prefix", "PREFIX"]),
    ];
    let mut history_dependent = 0;
    for py in &pythons {
        let v = version(py);
        let info = version_info(v).unwrap();
        for (theirs_args, ours_args) in cases {
            let tmp = tempfile::tempdir().unwrap();
            let mut snaps = Vec::new();
            for side in ["a", "b"] {
                let root = tmp.path().join(side);
                corpus_into(&root.join("t"), v);
                corpus_into(&root.join("t/sub"), v);
                let prefix = root.join("pfx");
                let fix = |a: &&str| -> String {
                    if *a == "PREFIX" {
                        prefix.to_string_lossy().into_owned()
                    } else {
                        a.to_string()
                    }
                };
                let out = if side == "a" {
                    let mut cmd = compileall(py, &root);
                    if theirs_args.first() == Some(&"PREFIX") {
                        cmd.env("PYTHONPYCACHEPREFIX", &prefix);
                    } else {
                        cmd.args(theirs_args.iter().map(fix));
                    }
                    cmd.arg("t").env("PYTHONHASHSEED", "0").output().unwrap()
                } else {
                    let mut args: Vec<String> =
                        vec!["compile".into(), "-q".into(), "--python".into()];
                    args.push(py.path.to_string_lossy().into_owned());
                    args.extend(ours_args.iter().map(fix));
                    args.push("t".into());
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    pyc(&root, tmp.path(), &args)
                };
                assert!(
                    out.status.success(),
                    "{} {side} {theirs_args:?}: {}",
                    py.version,
                    String::from_utf8_lossy(&out.stderr)
                );
                // Paths relative to the side, with the side's own root replaced.
                let root_s = root.to_string_lossy().into_owned();
                let snap: BTreeMap<String, (Vec<u8>, u64)> = walk_with_inodes(&root)
                    .into_iter()
                    .filter(|(k, _)| k.ends_with(".pyc"))
                    .map(|(k, v)| (k.replace(&root_s[1..], "ROOT"), v))
                    .collect();
                snaps.push(snap);
            }
            let (theirs, ours) = (&snaps[0], &snaps[1]);
            let mut observably_different = Vec::new();
            assert_eq!(
                theirs.keys().collect::<Vec<_>>(),
                ours.keys().collect::<Vec<_>>(),
                "{} {theirs_args:?}: different files",
                py.version
            );
            assert!(!ours.is_empty());
            for (k, (their_bytes, their_ino)) in theirs {
                let (our_bytes, our_ino) = &ours[k];
                let h = header_size(info.magic);
                let canon = canonical_pyc(their_bytes).unwrap();
                assert!(
                    their_bytes[..h] == our_bytes[..h],
                    "{} {theirs_args:?} {k}: header differs from compileall's",
                    py.version
                );
                if canon[..] != our_bytes[..] {
                    // compileall's one process compiles a file up to three times (`-o 0 -o 1
                    // -o 2`); from 3.13 a process that compiled a module before writes some
                    // qualname constants non-interned. Then compileall's answer is not the
                    // interpreter's fresh answer, which is what pyc writes: the interpreter
                    // must say so itself.
                    let fresh_answer = |k: &str| -> Option<(String, u8)> {
                        let (dir, file) = k.rsplit_once("/__pycache__/")?;
                        let (stem, rest) = file.split_once('.')?;
                        let level = match rest.split('.').nth(1) {
                            Some("opt-1") => 1,
                            Some("opt-2") => 2,
                            _ => 0,
                        };
                        Some((format!("{dir}/{stem}.py"), level))
                    };
                    let (src, level) = fresh_answer(k)
                        .unwrap_or_else(|| panic!("{} {k}: differs from compileall's", py.version));
                    let fresh = tmp.path().join("fresh.pyc");
                    py_compile(py, &tmp.path().join("a"), &src, &fresh, level, "timestamp");
                    let fresh_bytes = std::fs::read(&fresh).unwrap();
                    assert!(
                        canonical_pyc(&fresh_bytes).unwrap()[h..] == our_bytes[h..],
                        "{} {theirs_args:?} {k}: differs from compileall's and from a fresh \
                         py_compile's",
                        py.version
                    );
                    let their_path = tmp.path().join("a").join(k);
                    assert!(
                        !observed_alike(py, &[their_path, fresh]),
                        "{} {theirs_args:?} {k}: compileall's pyc differs only in bytes",
                        py.version
                    );
                    history_dependent += 1;
                    observably_different.push(k.clone());
                }
                // Hard links: the same files share an inode on both sides.
                let shared = |snap: &BTreeMap<String, (Vec<u8>, u64)>, ino: u64| {
                    snap.iter()
                        .filter(|(_, (_, i))| *i == ino)
                        .map(|(k, _)| k.clone())
                        .collect::<Vec<_>>()
                };
                assert_eq!(
                    shared(theirs, *their_ino),
                    shared(ours, *our_ino),
                    "{} {theirs_args:?} {k}: hard links differ",
                    py.version
                );
            }
            // `pyc normalize` makes compileall's pycs (one long process) into pyc's bytes,
            // except where compileall's code itself differs (kept: normalize never changes
            // what loads).
            let a = tmp.path().join("a");
            let out = pyc(&a, tmp.path(), &["normalize", "."]);
            assert!(out.status.success(), "{}: {out:?}", py.version);
            for k in ours.keys() {
                // Keys name the side's root `ROOT` (inside a pycache prefix).
                let rel = k.replace("ROOT", &a.to_string_lossy()[1..]);
                let (now, (our_bytes, _)) = (std::fs::read(a.join(rel)).unwrap(), &ours[k]);
                assert_eq!(
                    now == *our_bytes,
                    !observably_different.contains(k),
                    "{} {theirs_args:?} {k}: normalized compileall pyc vs pyc compile's",
                    py.version
                );
            }
        }
    }
    eprintln!("pycs where compileall's one process differs from a fresh one: {history_dependent}");
}

fn walk_with_inodes(root: &Path) -> BTreeMap<String, (Vec<u8>, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                let ino = std::fs::metadata(&p).unwrap().ino();
                out.insert(rel, (std::fs::read(&p).unwrap(), ino));
            }
        }
    }
    out
}

/// `-x` on file names that are not UTF-8: Python matches the pattern against the name decoded
/// with `surrogateescape` (one lone surrogate per undecodable byte), and decodes a pattern
/// given as raw bytes the same way. pyc excludes the same files as compileall for patterns
/// that count, name or class those characters. Python runs in UTF-8 mode (`PYTHONUTF8=1`),
/// the file system encoding pyc assumes.
#[test]
fn exclude_matches_compileall_on_undecodable_names() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let pythons = pythons_for(
        "exclude_matches_compileall_on_undecodable_names",
        (3, 9),
        All,
    );
    let names: &[&[u8]] = &[
        b"a\xff.py",
        b"x\xe2\x82A.py",
        b"b\xc3\xa9.py",
        b"c\xed\xa0\x80.py",
        b"d\xf0\x9f\x98.py",
        b"plain.py",
    ];
    let patterns: &[&[u8]] = &[
        br"\udcff",
        br"\U0000DCFF",
        br"[\udc80-\udcff]\.py\Z",
        br"/x..A",
        br"/x.A\.py",
        br"/c...\.py",
        br"/c.\.py",
        br"/d...\.py",
        br"/\w\w\.py\Z",
        br"/\w\W\.py\Z",
        b"\xff",
        b"\xed\xa0",
        br"\\udcff",
        br"[^\x00-\x7f]\.py",
    ];
    for py in &pythons {
        for pat in patterns {
            let tmp = tempfile::tempdir().unwrap();
            let mut written = Vec::new();
            for side in ["compileall", "pyc"] {
                let root = tmp.path().join(side);
                let t = root.join("t");
                std::fs::create_dir_all(&t).unwrap();
                for n in names {
                    std::fs::write(t.join(OsStr::from_bytes(n)), "x = 1\n").unwrap();
                }
                let mut cmd = if side == "compileall" {
                    let mut c = compileall(py, &root);
                    c.env("PYTHONUTF8", "1");
                    c
                } else {
                    let mut c = Command::new(pyc_bin());
                    c.args(["compile", "-q", "--python"])
                        .arg(&py.path)
                        .env("PYC_CACHE_DIR", tmp.path().join("cache"));
                    c
                };
                let out = cmd
                    .arg("-x")
                    .arg(OsStr::from_bytes(pat))
                    .arg("t")
                    .current_dir(&root)
                    .env_remove("PYTHONDONTWRITEBYTECODE")
                    .env_remove("PYTHONPYCACHEPREFIX")
                    .output()
                    .unwrap();
                assert!(
                    out.status.success(),
                    "{} {side} -x {:?}: {}",
                    py.version,
                    String::from_utf8_lossy(pat),
                    String::from_utf8_lossy(&out.stderr)
                );
                let mut pycs: Vec<Vec<u8>> = std::fs::read_dir(t.join("__pycache__"))
                    .map(|d| {
                        d.map(|e| e.unwrap().file_name().as_bytes().to_vec())
                            .collect()
                    })
                    .unwrap_or_default();
                pycs.sort();
                written.push(pycs);
            }
            assert_eq!(
                written[0],
                written[1],
                "{}: -x {:?} excludes other files than compileall",
                py.version,
                String::from_utf8_lossy(pat)
            );
        }
    }
}

/// `pyc diff` on what real interpreters wrote: compileall's pycs (one long-lived process) and
/// pyc compile's (canonical) hold the same code, so every pair is "the same bytes" or differs
/// only in marshal's references; a pyc of an edited source differs in its code; exit status 0
/// only for the same bytes.
#[test]
fn diff_tells_references_from_code() {
    let pythons = pythons_for("diff_tells_references_from_code", (3, 6), All);
    let mut references = 0;
    for py in &pythons {
        let v = version(py);
        let tmp = tempfile::tempdir().unwrap();
        let mut pycs = Vec::new();
        for side in ["compileall", "pyc"] {
            let root = tmp.path().join(side);
            corpus_into(&root.join("t"), v);
            let out = if side == "compileall" {
                compileall(py, &root).arg("t").output().unwrap()
            } else {
                let exe = py.path.to_string_lossy().into_owned();
                pyc(&root, tmp.path(), &["compile", "-q", "--python", &exe, "t"])
            };
            assert!(out.status.success(), "{} {side}: {out:?}", py.version);
            let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("t/__pycache__"))
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            files.sort();
            pycs.push(files);
        }
        assert_eq!(pycs[0].len(), pycs[1].len());
        assert!(!pycs[0].is_empty());
        for (a, b) in pycs[0].iter().zip(&pycs[1]) {
            let out = Command::new(pyc_bin())
                .args(["diff", "--format", "json"])
                .args([a, b])
                .output()
                .unwrap();
            let d = json(&out);
            let verdict = d["body"]["verdict"].as_str().unwrap().to_string();
            assert!(
                d["header"].as_array().unwrap().is_empty()
                    && (verdict == "identical" || verdict == "references"),
                "{} {}: {d}",
                py.version,
                a.display()
            );
            let same = std::fs::read(a).unwrap() == std::fs::read(b).unwrap();
            assert_eq!(out.status.code(), Some(if same { 0 } else { 1 }), "{d}");
            assert_eq!(d["identical"], same);
            references += usize::from(verdict == "references");
        }
        // An edited source: every code object that differs is listed with its fields, the
        // nested ones paired by name (a function added before `g` makes `g` differ in its
        // first line only; the unchanged `C.n` is not listed).
        let root = tmp.path().join("edit");
        std::fs::create_dir_all(&root).unwrap();
        let texts = [
            "def f(x):\n    return x + 'a'\nclass C:\n    def m(self):\n        return lambda: 1\n    def n(self):\n        return 2\ndef g():\n    pass\n",
            "def f(x):\n    return x + 'bb'\nclass C:\n    def m(self):\n        return lambda: 2\n    def n(self):\n        return 2\ndef h():\n    return 3\ndef g():\n    pass\n",
        ];
        for (i, text) in texts.iter().enumerate() {
            std::fs::write(root.join("m.py"), text).unwrap();
            let cfile = root.join(format!("{i}.pyc"));
            let out = Command::new(&py.path)
                .args([
                    "-c",
                    "import py_compile, sys; py_compile.compile('m.py', sys.argv[1], doraise=True)",
                ])
                .arg(&cfile)
                .current_dir(&root)
                .output()
                .unwrap();
            assert!(out.status.success(), "{out:?}");
        }
        let out = Command::new(pyc_bin())
            .args(["diff", "--format", "json"])
            .args([root.join("0.pyc"), root.join("1.pyc")])
            .output()
            .unwrap();
        let d = json(&out);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(d["body"]["verdict"], "code", "{} {d}", py.version);
        assert_eq!(d["body"]["truncated"], false, "{d}");
        let objects = d["body"]["objects"].as_array().unwrap();
        // A code object's own name, whatever the version calls its place.
        let name = |o: &serde_json::Value| {
            let place = o["code"].as_str().unwrap().split(" (line ").next().unwrap();
            match place.rfind('<').filter(|_| place.ends_with('>')) {
                Some(i) => place[i..].to_string(),
                None => place.rsplit('.').next().unwrap().to_string(),
            }
        };
        let find = |n: &str| {
            objects
                .iter()
                .find(|o| name(o) == n)
                .unwrap_or_else(|| panic!("{n}: {d}"))
        };
        let fields = |n: &str| -> Vec<String> {
            let fs = find(n)["fields"].as_array().unwrap();
            fs.iter()
                .map(|f| f["field"].as_str().unwrap().to_string())
                .collect()
        };
        let mut names: Vec<String> = objects.iter().map(name).collect();
        names.sort();
        assert_eq!(
            names,
            ["<lambda>", "<module>", "f", "g", "h"],
            "{} {d}",
            py.version
        );
        let c1 = find("f")["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["field"] == "co_consts[1]")
            .unwrap_or_else(|| panic!("{d}"));
        assert_eq!(
            (c1["a"].as_str(), c1["b"].as_str()),
            (Some("'a'"), Some("'bb'"))
        );
        assert_eq!(fields("<lambda>"), ["co_consts[1]"], "{} {d}", py.version);
        assert_eq!(fields("g"), ["co_firstlineno"], "{} {d}", py.version);
        assert_eq!(find("h")["only_in"], "b", "{d}");
        assert!(fields("h").is_empty(), "{d}");
        // The module's constants are aligned: before 3.11 the one added constant is h's
        // qualified name, not a change of every constant after it.
        let consts: Vec<&serde_json::Value> = find("<module>")["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["field"].as_str().unwrap().starts_with("co_consts"))
            .collect();
        if v < PyVersion::new(3, 11) {
            assert_eq!(consts.len(), 1, "{} {d}", py.version);
            assert!(
                consts[0]["field"].as_str().unwrap().ends_with(" (b)"),
                "{d}"
            );
            assert_eq!(consts[0]["b"], "'h'", "{d}");
        } else {
            assert!(consts.is_empty(), "{} {d}", py.version);
        }
    }
    assert!(references > 0, "no pair differed in references only");
}

/// Remove every pyc under `dir` (`__pycache__` folders, and 2.7's pycs beside the sources).
fn clear_pycs(dir: &Path) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().is_some_and(|n| n == "__pycache__") {
            std::fs::remove_dir_all(&p).unwrap();
        } else if p.extension().is_some_and(|x| x == "pyc" || x == "pyo") {
            std::fs::remove_file(&p).unwrap();
        } else if p.is_dir() {
            clear_pycs(&p);
        }
    }
}

/// `--code-cache`: a tree whose pycs are gone (a fresh checkout at the same path) is written
/// from the cache without starting an interpreter, with the same bytes; a changed source, a
/// damaged entry or another level is compiled again (and a damaged entry repaired); the
/// pycs equal those of a run without the cache. For every interpreter found.
#[test]
fn code_cache_reuses_code_by_content() {
    let pythons = live_pythons();
    report_used("code_cache_reuses_code_by_content", &pythons);
    for py in &pythons {
        let v = version(py);
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("w");
        let names = corpus_into(&work.join("t"), v);
        let exe = py.path.to_string_lossy().into_owned();
        let run = |extra: &[&str]| {
            let mut args = vec!["compile", "t", "--python", &exe, "--format", "json"];
            args.extend(extra);
            let d = json(&pyc(&work, tmp.path(), &args));
            assert_eq!(d["failed"], 0, "{} {d}", py.version);
            d
        };
        let with_cache = ["--code-cache", "../codes"];
        let entries = || -> Vec<PathBuf> {
            let mut out = Vec::new();
            let v1 = tmp.path().join("codes/v3");
            for d in std::fs::read_dir(v1).unwrap() {
                for e in std::fs::read_dir(d.unwrap().path()).unwrap() {
                    out.push(e.unwrap().path());
                }
            }
            out.sort();
            out
        };
        // Without the cache: the reference bytes.
        run(&[]);
        let reference = pycs_only(&snapshot(&work));
        assert_eq!(reference.len(), names.len());
        clear_pycs(&work.join("t"));

        let first = run(&with_cache);
        assert_eq!(first["from_code_cache"], 0, "{first}");
        assert_eq!(pycs_only(&snapshot(&work)), reference, "{}", py.version);
        assert_eq!(entries().len(), names.len());

        // The pycs gone: every source from the cache, no interpreter, the same bytes.
        clear_pycs(&work.join("t"));
        let second = run(&with_cache);
        assert_eq!(second["written"].as_u64(), Some(names.len() as u64));
        assert_eq!(second["from_code_cache"].as_u64(), Some(names.len() as u64));
        assert_eq!(second["interpreters_started"], 0, "{second}");
        assert_eq!(pycs_only(&snapshot(&work)), reference, "{}", py.version);

        // A damaged entry is compiled again, gives the same bytes, and is repaired.
        let entry = entries()[0].clone();
        let good = std::fs::read(&entry).unwrap();
        let mut bad = good.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        std::fs::write(&entry, &bad).unwrap();
        clear_pycs(&work.join("t"));
        let third = run(&with_cache);
        assert_eq!(
            third["from_code_cache"].as_u64(),
            Some(names.len() as u64 - 1),
            "{third}"
        );
        assert_eq!(pycs_only(&snapshot(&work)), reference, "{}", py.version);
        assert_eq!(std::fs::read(&entry).unwrap(), good);

        // A changed source is compiled (its new code kept too); another level is not taken
        // from level 0's entries.
        let changed = work.join("t").join(&names[0]);
        let mut text = std::fs::read(&changed).unwrap();
        text.extend(b"\nEXTRA = 1\n");
        std::fs::write(&changed, text).unwrap();
        set_mtime(&changed, MTIME + 10);
        let fourth = run(&with_cache);
        assert_eq!(fourth["written"], 1, "{fourth}");
        assert_eq!(fourth["from_code_cache"], 0, "{fourth}");
        assert_eq!(entries().len(), names.len() + 1);
        let level = if v.major == 2 { "1" } else { "2" };
        let fifth = run(&["--code-cache", "../codes", "-O", level]);
        assert_eq!(fifth["from_code_cache"], 0, "{fifth}");
        assert_eq!(fifth["written"].as_u64(), Some(names.len() as u64));

        // Level 0 in the cache, a new level not: the sources are compiled, only the new
        // level's code is stored (level 0's entries are left as they are, same inodes).
        use std::os::unix::fs::MetadataExt;
        let inodes = |paths: &[PathBuf]| -> Vec<u64> {
            paths
                .iter()
                .map(|p| std::fs::metadata(p).unwrap().ino())
                .collect()
        };
        let before = entries();
        let before_inodes = inodes(&before);
        clear_pycs(&work.join("t"));
        let other = if v.major == 2 { "2" } else { "1" };
        let sixth = run(&["--code-cache", "../codes", "-O", "0", "-O", other]);
        // (2.7 compiles each level in its own job, `-O` being a process flag there: its level
        // 0 jobs are all found.)
        let whole = if v.major == 2 { names.len() as u64 } else { 0 };
        assert_eq!(sixth["from_code_cache"].as_u64(), Some(whole), "{sixth}");
        assert_eq!(sixth["written"].as_u64(), Some(2 * names.len() as u64));
        assert_eq!(entries().len(), before.len() + names.len());
        assert_eq!(inodes(&before), before_inodes, "entries stored again");
    }
}

/// `--code-cache` entries are relocatable: a tree compiled at path A fills the cache; the same
/// sources at path B (an empty `__pycache__`, the same cache) are written without starting an
/// interpreter, byte for byte what `pyc compile` writes at B without the cache, and the
/// source that does not compile is reported from the cache. Sources whose constants hold
/// their own file name at A, at B, or both (also built by `+`) move exactly too. `-s`/`-p`
/// move as well. For every interpreter found.
#[test]
fn code_cache_entries_move_to_another_path() {
    let pythons = live_pythons();
    report_used("code_cache_entries_move_to_another_path", &pythons);
    for py in &pythons {
        let v = version(py);
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let (a, b) = (root.join("a/t"), root.join("b/t"));
        let exe = py.path.to_string_lossy().into_owned();
        let (a_s, b_s) = (a.to_str().unwrap(), b.to_str().unwrap());
        // Sources naming files by their paths at A and B, and one that does not compile.
        let apath = format!(
            "X = {:?}\ndef f():\n    return {:?}, X\n",
            format!("{a_s}/apath.py"),
            format!("{a_s}/apath.py")
        );
        let paths = format!(
            "A = {:?}\nB = {:?}\nC = {:?} + {:?}\ndef f():\n    return A, {:?}\n",
            format!("{a_s}/paths.py"),
            format!("{b_s}/paths.py"),
            b_s,
            "/paths.py",
            format!("{b_s}/paths.py"),
        );
        let fill = |dir: &Path, with_paths: bool| {
            let mut names = corpus_into(dir, v);
            let mut files = vec![("apath.py", apath.clone()), ("bad.py", "x = (\n".into())];
            if with_paths {
                files.push(("paths.py", paths.clone()));
            }
            for (name, text) in files {
                std::fs::write(dir.join(name), text).unwrap();
                set_mtime(&dir.join(name), MTIME);
                names.push(name.to_string());
            }
            names
        };
        let run = |cwd: &Path, tree: &Path, extra: &[&str]| {
            let mut args = vec![
                "compile",
                tree.to_str().unwrap(),
                "--python",
                &exe,
                "--format",
                "json",
            ];
            args.extend(extra);
            let d = json(&pyc(cwd, &root, &args));
            assert_eq!(d["failed"], 1, "{} {d}", py.version);
            assert_eq!(
                d["failures"][0]["source"],
                format!("{}/bad.py", tree.display())
            );
            d
        };
        let cache = root.join("codes");
        let with_cache = ["--code-cache", cache.to_str().unwrap()];
        fill(&a, true);
        let first = run(&root, &a, &with_cache);
        assert_eq!(first["code_cache"]["hits"], 0, "{first}");

        // B: everything but paths.py.
        let names = fill(&b, false);
        run(&root, &b, &[]);
        let reference = pycs_only(&snapshot(&b));
        assert_eq!(reference.len(), names.len() - 1, "{}", py.version);
        clear_pycs(&b);
        let second = run(&root, &b, &with_cache);
        assert_eq!(second["interpreters_started"], 0, "{} {second}", py.version);
        assert_eq!(
            second["code_cache"]["hits"].as_u64(),
            Some(names.len() as u64)
        );
        assert_eq!(second["code_cache"]["misses"], 0, "{second}");
        assert_eq!(pycs_only(&snapshot(&b)), reference, "{}", py.version);
        // The failure as the interpreter reported it at A, now for B's file.
        let mut expected = first["failures"].clone();
        expected[0]["source"] = format!("{b_s}/bad.py").into();
        assert_eq!(second["failures"], expected, "{}", py.version);

        // paths.py holds its file names at A and at B: identical to a compile without cache.
        fill(&b, true);
        clear_pycs(&b);
        run(&root, &b, &[]);
        let reference = pycs_only(&snapshot(&b));
        clear_pycs(&b);
        let third = run(&root, &b, &with_cache);
        assert_eq!(
            third["code_cache"]["not_movable"], 0,
            "{} {third}",
            py.version
        );
        assert_eq!(third["interpreters_started"], 0, "{} {third}", py.version);
        assert_eq!(pycs_only(&snapshot(&b)), reference, "{}", py.version);

        // -s/-p: the name in the code is /lib/...; the entries compiled at A move there too.
        let sp = ["-s", b_s, "-p", "/lib/t"];
        clear_pycs(&b);
        run(&root, &b, &sp);
        let reference = pycs_only(&snapshot(&b));
        clear_pycs(&b);
        let mut args = sp.to_vec();
        args.extend(with_cache);
        let fourth = run(&root, &b, &args);
        assert_eq!(pycs_only(&snapshot(&b)), reference, "{}", py.version);
        assert!(fourth["code_cache"]["hits"].as_u64() >= Some(names.len() as u64 - 1));
    }
}

/// A source that does not compile is kept in the code cache with its message: a run whose
/// only work is known-bad files starts no interpreter, and reports them as before.
#[test]
fn code_cache_keeps_failures() {
    let pythons = live_pythons();
    report_used("code_cache_keeps_failures", &pythons);
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("bad.py"), "def f(:\n    pass\n").unwrap();
        std::fs::write(t.join("good.py"), "x = 1\n").unwrap();
        let exe = py.path.to_string_lossy().into_owned();
        let run = || {
            let out = pyc(
                tmp.path(),
                tmp.path(),
                &[
                    "compile",
                    "t",
                    "--python",
                    &exe,
                    "--format",
                    "json",
                    "--code-cache",
                    "c",
                ],
            );
            assert_eq!(out.status.code(), Some(1), "{}", py.version);
            json(&out)
        };
        let first = run();
        let second = run();
        assert!(first["interpreters_started"].as_u64() > Some(0), "{first}");
        assert_eq!(second["interpreters_started"], 0, "{} {second}", py.version);
        assert_eq!(second["code_cache"]["hits"], 1, "{second}");
        assert_eq!(second["failures"], first["failures"], "{}", py.version);
        assert_eq!(second["up_to_date"], 1, "{second}");
    }
}

/// The environment variables that change what a worker compiles are part of the code cache's
/// key: with `PYTHONNODEBUGRANGES` (3.11+: no column positions) or `PYTHONWARNINGS=error`
/// (an invalid escape becomes a SyntaxError) set, entries stored without them are not used,
/// and the pycs equal a compile in that environment without the cache. For every interpreter
/// found (3.6+, whose compilers warn about invalid escapes).
#[test]
fn code_cache_keys_the_environment_that_changes_code() {
    let pythons = pythons_for(
        "code_cache_keys_the_environment_that_changes_code",
        (3, 6),
        All,
    );
    for py in &pythons {
        let v = version(py);
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(
            t.join("esc.py"),
            "def f(a):\n    return '\\d', a.b + a[1:2]\n",
        )
        .unwrap();
        let exe = py.path.to_string_lossy().into_owned();
        let run = |env: Option<(&str, &str)>, cache: bool| {
            let mut args = vec!["compile", "t", "--python", &exe, "--format", "json"];
            if cache {
                args.extend(["--code-cache", "c"]);
            }
            let mut cmd = Command::new(pyc_bin());
            cmd.args(&args)
                .current_dir(tmp.path())
                .env("PYC_CACHE_DIR", tmp.path())
                .env_remove("SOURCE_DATE_EPOCH")
                .env_remove("PYTHONPYCACHEPREFIX")
                .env_remove("PYTHONOPTIMIZE")
                .env_remove("PYTHONNODEBUGRANGES")
                .env_remove("PYTHONWARNINGS");
            if let Some((k, val)) = env {
                cmd.env(k, val);
            }
            let d = json(&cmd.stdin(Stdio::null()).output().unwrap());
            let pycs = pycs_only(&snapshot(&t));
            clear_pycs(&t);
            (d, pycs)
        };
        let (_, plain) = run(None, true);
        assert_eq!(plain.len(), 1, "{}", py.version);
        let mut envs = vec![("PYTHONWARNINGS", "error")];
        if v >= PyVersion::new(3, 11) {
            envs.push(("PYTHONNODEBUGRANGES", "1"));
        }
        for env in envs {
            let (reference, ref_pycs) = run(Some(env), false);
            let (d, pycs) = run(Some(env), true);
            assert_eq!(d["code_cache"]["hits"], 0, "{} {env:?} {d}", py.version);
            assert_eq!(pycs, ref_pycs, "{} {env:?}", py.version);
            assert_eq!(
                d["failures"], reference["failures"],
                "{} {env:?}",
                py.version
            );
            assert_ne!(
                (&ref_pycs, &reference["failed"]),
                (&plain, &serde_json::json!(0)),
                "{} {env:?} changes nothing",
                py.version
            );
            // And the entry stored in that environment is used in it.
            let (again, pycs) = run(Some(env), true);
            assert_eq!(again["code_cache"]["hits"], 1, "{} {env:?}", py.version);
            assert_eq!(pycs, ref_pycs, "{} {env:?}", py.version);
        }
    }
}

/// `--code-cache-mode read-only`: entries are used, none is stored (not even for a source
/// compiled because its entry was missing). With the newest interpreter found.
#[test]
fn code_cache_read_only_uses_and_never_stores() {
    for py in pythons_for("code_cache_read_only_uses_and_never_stores", (2, 7), Newest) {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("a.py"), "x = 1\n").unwrap();
        let exe = py.path.to_string_lossy().into_owned();
        let run = |mode: &str| {
            let args = [
                "compile",
                "t",
                "--python",
                &exe,
                "--format",
                "json",
                "--code-cache",
                "c",
                "--code-cache-mode",
                mode,
            ];
            let d = json(&pyc(tmp.path(), tmp.path(), &args));
            clear_pycs(&t);
            d
        };
        let first = run("read-only");
        assert_eq!(first["code_cache"]["stored"], 0, "{first}");
        assert!(
            !tmp.path().join("c").exists(),
            "read-only created the cache"
        );
        run("read-write");
        std::fs::write(t.join("b.py"), "y = 2\n").unwrap();
        let third = run("read-only");
        assert_eq!(third["code_cache"]["hits"], 1, "{third}");
        assert_eq!(third["code_cache"]["misses"], 1, "{third}");
        assert_eq!(third["code_cache"]["stored"], 0, "{third}");
        let fourth = run("read-only");
        assert_eq!(fourth["code_cache"]["misses"], 1, "b.py stored: {fourth}");
    }
}

/// A poisoned code cache entry (intact checksum, a body that is not this version's marshal
/// data) is a miss, counted as damaged; the source is compiled and the pyc is what a compile
/// without the cache writes; the entry is replaced. For every interpreter found.
#[test]
fn code_cache_poisoned_entries_are_misses() {
    let pythons = live_pythons();
    report_used("code_cache_poisoned_entries_are_misses", &pythons);
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        std::fs::write(t.join("a.py"), "def f():\n    return 1\n").unwrap();
        let exe = py.path.to_string_lossy().into_owned();
        let run = |cache: bool| {
            let mut args = vec!["compile", "t", "--python", &exe, "--format", "json"];
            if cache {
                args.extend(["--code-cache", "c"]);
            }
            let d = json(&pyc(tmp.path(), tmp.path(), &args));
            let pycs = pycs_only(&snapshot(&t));
            clear_pycs(&t);
            (d, pycs)
        };
        let (_, reference) = run(false);
        run(true);
        let entries: Vec<PathBuf> = walk_with_inodes(&tmp.path().join("c"))
            .into_keys()
            .map(|k| tmp.path().join("c").join(k))
            .collect();
        assert_eq!(entries.len(), 1, "{}", py.version);
        let poison = [
            b"not marshal".to_vec(),
            // A code object cut short, and one of another marshal format.
            std::fs::read(&entries[0]).unwrap()[41..60].to_vec(),
            b"\xe3\0\0\0\0".to_vec(),
        ];
        for body in poison {
            let bad = pyc_compile::store::Entry::Code(body).to_bytes();
            std::fs::write(&entries[0], &bad).unwrap();
            let (d, pycs) = run(true);
            assert_eq!(d["code_cache"]["damaged"], 1, "{} {d}", py.version);
            assert_eq!(d["from_code_cache"], 0, "{d}");
            assert_eq!(pycs, reference, "{}", py.version);
            assert_ne!(std::fs::read(&entries[0]).unwrap(), bad, "not replaced");
        }
    }
}

/// `--code-cache-size` bounds the folder after a run (least recently used entries go first;
/// a hit renews an entry), and `pyc cache stats|prune|clear` report and shrink it. With the newest interpreter found.
#[test]
fn code_cache_is_bounded_and_observable() {
    for py in pythons_for("code_cache_is_bounded_and_observable", (2, 7), Newest) {
        let tmp = tempfile::tempdir().unwrap();
        let t = tmp.path().join("t");
        std::fs::create_dir_all(&t).unwrap();
        let exe = py.path.to_string_lossy().into_owned();
        let cache = |args: &[&str]| {
            let mut all = vec!["cache"];
            all.extend(args);
            all.extend(["--dir", "c", "--format", "json"]);
            let out = pyc(tmp.path(), tmp.path(), &all);
            assert!(out.status.success(), "{out:?}");
            json(&out)
        };
        let compile = |size: &str| {
            let args = [
                "compile",
                "t",
                "--python",
                &exe,
                "--format",
                "json",
                "--code-cache",
                "c",
                "--code-cache-size",
                size,
            ];
            let d = json(&pyc(tmp.path(), tmp.path(), &args));
            clear_pycs(&t);
            d
        };
        for i in 0..6 {
            std::fs::write(t.join(format!("m{i}.py")), format!("X = {i}\n")).unwrap();
        }
        let unbounded = compile("1G");
        assert_eq!(unbounded["code_cache"]["evicted"], 0, "{unbounded}");
        let stats = cache(&["stats"]);
        assert_eq!(stats["entries"], 6, "{stats}");
        let one = stats["bytes"].as_u64().unwrap() / 6;
        // A new source and a limit of three entries: the new one is kept, the oldest go.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(t.join("new.py"), "Y = 'new'\n").unwrap();
        let bounded = compile(&format!("{}", 3 * one + one / 2));
        assert!(
            bounded["code_cache"]["evicted"].as_u64() >= Some(3),
            "{bounded}"
        );
        let stats = cache(&["stats"]);
        assert!(
            stats["bytes"].as_u64() <= Some(3 * one + one / 2),
            "{stats}"
        );
        // The sources whose entries went are compiled again; the rest are hits.
        std::fs::remove_file(t.join("new.py")).unwrap();
        let again = compile("1G");
        assert_eq!(
            again["code_cache"]["hits"].as_u64().unwrap()
                + again["code_cache"]["misses"].as_u64().unwrap(),
            6,
            "{again}"
        );
        let pruned = cache(&["prune", "--max-size", "0"]);
        assert_eq!(pruned["entries"], 0, "{pruned}");
        compile("1G");
        let cleared = cache(&["clear"]);
        assert_eq!(cleared["removed"], 6, "{cleared}");
        assert_eq!(cache(&["stats"])["entries"], 0);
        // No folder given: one line, exit 2.
        let out = Command::new(pyc_bin())
            .args(["cache", "stats"])
            .env_remove("PYC_CODE_CACHE")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).lines().count(),
            1,
            "{out:?}"
        );
    }
}
