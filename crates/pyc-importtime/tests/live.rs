//! Live: cold and warm runs on a real package tree, with real interpreters (3.8+; 3.7 has no
//! PYTHONPYCACHEPREFIX and is refused).
//!
//! The program itself reports, from inside each run, which cache file every module of the
//! package came with (`__cached__`) and that file's inode and mtime, into a log outside the
//! tree. From that log and from the tree afterwards the test checks, independently of the
//! runner's own bookkeeping:
//! * cold runs compile: each module's pyc exists in that run's own, fresh prefix;
//! * warm runs do not: every warm run sees the same files, same inodes and mtimes;
//! * the user's `__pycache__` is neither read (a planted pyc that looks fresh but holds other
//!   code is never executed) nor changed (every file's bytes, mtime and inode as before).

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use pyc_importtime::run::{measure, Kind, Options, Program};
use pyc_testutil::{live_pythons, report_used, LivePython};

const MODULES: [&str; 5] = ["pkg", "pkg.a", "pkg.b", "pkg.sub", "pkg.sub.c"];

fn write(p: &Path, s: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, s).unwrap();
}

/// Every file under `dir`: bytes, mtime (ns) and inode.
fn tree_state(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, i64, i64, u64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.insert(p, (bytes, m.mtime(), m.mtime_nsec(), m.ino()));
            }
        }
    }
    out
}

fn options(runs: usize, timeout: Duration, cwd: &Path) -> Options {
    let mut o = Options::default();
    o.runs = runs;
    o.timeout = timeout;
    o.cwd = Some(cwd.to_path_buf());
    o
}

fn interpreter(py: &LivePython) -> pyc_python::Interpreter {
    pyc_python::Interpreter::from_flag(&py.path.to_string_lossy()).expect("probe")
}

/// The user's project: a package, and a module `m` whose own `__pycache__` holds a pyc that
/// matches m.py's mtime and size but was compiled from other code ('planted').
fn make_project(root: &Path, py: &Path) {
    write(&root.join("pkg/__init__.py"), "from . import a\n");
    write(&root.join("pkg/a.py"), "from . import b\nA = b.B + 1\n");
    write(
        &root.join("pkg/b.py"),
        "import json\nB = len(json.dumps({'k': [1, 2, 3]}))\n",
    );
    write(&root.join("pkg/sub/__init__.py"), "from .c import C\n");
    write(
        &root.join("pkg/sub/c.py"),
        "C = sum(range(10))\ndef f(x):\n    return [i * x for i in range(3)]\n",
    );
    write(&root.join("m.py"), "X = 'planted'\n");
    // A namespace package, and a module that exists only as a pyc (no source).
    write(&root.join("ns/mod.py"), "N = 1\n");
    write(&root.join("legacy_src.py"), "L = 'legacy'\n");
    let out = Command::new(py)
        .args([
            "-c",
            "import py_compile; py_compile.compile('legacy_src.py', cfile='legacy.pyc', doraise=True)",
        ])
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(root.join("legacy_src.py")).unwrap();
    // The user's own caches, made the ordinary way (no prefix).
    let out = Command::new(py)
        .args(["-c", "import pkg, pkg.sub, m"])
        .current_dir(root)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Same size, same mtime, other text: the pyc now holds code m.py no longer has.
    let mtime = std::fs::metadata(root.join("m.py"))
        .unwrap()
        .modified()
        .unwrap();
    write(&root.join("m.py"), "X = 'source!'\n");
    let f = std::fs::File::options()
        .write(true)
        .open(root.join("m.py"))
        .unwrap();
    f.set_modified(mtime).unwrap();
}

/// The measured program: imports the package and logs, per module, where its cache file is
/// and that file's identity, plus m.X and the prefix in use.
fn program(log: &Path) -> String {
    format!(
        r#"
import os, sys, json
import pkg, pkg.sub, m, legacy, ns.mod
rec = {{'prefix': sys.pycache_prefix, 'm': m.X, 'mods': {{}}}}
for name in {mods:?}:
    mod = sys.modules[name]
    st = os.stat(mod.__cached__)
    rec['mods'][name] = [mod.__cached__, st.st_ino, st.st_mtime_ns]
with open({log:?}, 'a') as f:
    f.write(json.dumps(rec) + '\n')
"#,
        mods = MODULES,
        log = log.to_str().unwrap()
    )
}

#[test]
fn cold_compiles_warm_does_not_and_the_users_cache_is_untouched() {
    let pythons: Vec<LivePython> = live_pythons()
        .into_iter()
        .filter(|p| {
            let mut it = p.version.split('.').map(|x| x.parse::<u32>().unwrap_or(0));
            (it.next().unwrap_or(0), it.next().unwrap_or(0)) >= (3, 8)
        })
        .collect();
    report_used("importtime live", &pythons);
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        make_project(&root, &py.path);
        let user_before = tree_state(&root);
        assert!(
            user_before
                .keys()
                .any(|p| p.to_string_lossy().contains("__pycache__")),
            "{}: the user's __pycache__ was not made",
            py.version
        );
        let log = tmp.path().join("log.jsonl");
        let runs = 3;
        let opts = options(runs, Duration::from_secs(120), &root);
        let interp = interpreter(py);
        let m = measure(
            &interp,
            &Program::Code(program(&log)),
            &opts,
            &AtomicBool::new(false),
        )
        .unwrap_or_else(|e| panic!("{}: {e}", py.version));

        // The user's tree: same files, same bytes, mtimes and inodes.
        assert_eq!(
            tree_state(&root),
            user_before,
            "{}: user tree changed",
            py.version
        );

        // The log: the fill run, the loader-listing run (warm, -v), then cold and warm
        // alternating.
        let recs: Vec<serde_json::Value> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(recs.len(), 2 + 2 * runs, "{}", py.version);
        let user_root = root.canonicalize().unwrap();
        for r in &recs {
            // The planted pyc in the user's __pycache__ was never executed.
            assert_eq!(r["m"], "source!", "{}: the user's pyc was read", py.version);
            let prefix = r["prefix"].as_str().expect("a pycache prefix");
            assert!(!Path::new(prefix).starts_with(&user_root), "{}", py.version);
            for (_, v) in r["mods"].as_object().unwrap() {
                let cached = v[0].as_str().unwrap();
                assert!(cached.starts_with(prefix), "{}: {cached}", py.version);
            }
        }
        let fill = &recs[0];
        let warm_prefix = fill["prefix"].as_str().unwrap();
        assert_eq!(
            recs[1]["mods"], fill["mods"],
            "{}: listing run rewrote",
            py.version
        );
        let mut cold_prefixes = Vec::new();
        for i in 0..runs {
            let cold = &recs[2 + 2 * i];
            let warm = &recs[3 + 2 * i];
            // Warm: the same prefix as the fill run, and every module's pyc is the very file
            // the fill run wrote (same inode, same mtime): nothing compiled or rewritten.
            assert_eq!(warm["prefix"], warm_prefix, "{}", py.version);
            assert_eq!(
                warm["mods"], fill["mods"],
                "{}: warm pyc rewritten",
                py.version
            );
            // Cold: a prefix of its own each time, in which every module had to be compiled.
            let cp = cold["prefix"].as_str().unwrap().to_string();
            assert_ne!(cp, warm_prefix);
            assert!(
                !cold_prefixes.contains(&cp),
                "{}: cold prefix reused",
                py.version
            );
            cold_prefixes.push(cp);
        }
        // And every prefix is gone.
        assert!(!Path::new(warm_prefix).exists(), "{}", py.version);
        for cp in &cold_prefixes {
            assert!(!Path::new(cp).exists(), "{}: {cp} left behind", py.version);
        }

        // The runner's own view agrees: the package's pycs appeared in the first cold prefix,
        // with this interpreter's cache tag, and nothing in the warm prefix changed.
        let tag = pyc_python::probe(&py.path).unwrap().cache_tag.unwrap();
        for (module, file) in [
            ("pkg", "pkg/__init__"),
            ("pkg.a", "pkg/a"),
            ("pkg.b", "pkg/b"),
            ("pkg.sub", "pkg/sub/__init__"),
            ("pkg.sub.c", "pkg/sub/c"),
        ] {
            let want = format!("{file}.{tag}.pyc");
            assert!(
                m.cold_cache_files.iter().any(|f| f.ends_with(&want)),
                "{}: {want} not compiled cold: {:?}",
                py.version,
                m.cold_cache_files
            );
            assert_eq!(m.kinds.get(module), Some(&Kind::Source), "{}", py.version);
        }
        assert!(
            m.warm_rewritten.is_empty(),
            "{}: {:?}",
            py.version,
            m.warm_rewritten
        );
        assert_eq!(m.cold.len(), runs);
        assert!(m
            .cold
            .iter()
            .all(|r| r.cache_files == m.cold_cache_files.len()));
        // Every other kind is marked as such, not counted as compiled.
        assert_eq!(m.kinds.get("posix"), Some(&Kind::BuiltIn), "{}", py.version);
        assert_eq!(
            m.kinds.get("legacy"),
            Some(&Kind::Sourceless),
            "{}",
            py.version
        );
        assert_eq!(m.kinds.get("ns"), Some(&Kind::Other), "{}", py.version);
        assert_eq!(m.kinds.get("ns.mod"), Some(&Kind::Source), "{}", py.version);
        let json_builtin = Command::new(&py.path)
            .args([
                "-c",
                "import sys; print('_json' in sys.builtin_module_names)",
            ])
            .output()
            .unwrap();
        let want = if String::from_utf8_lossy(&json_builtin.stdout).trim() == "True" {
            Kind::BuiltIn
        } else {
            Kind::Extension
        };
        assert_eq!(m.kinds.get("_json"), Some(&want), "{}", py.version);
        assert!(
            !m.cold_cache_files
                .iter()
                .any(|f| f.contains("/legacy.cpython-")),
            "{}: a pyc-only module was compiled",
            py.version
        );
        let kinds: HashMap<Kind, usize> = m.kinds.values().fold(HashMap::new(), |mut h, k| {
            *h.entry(*k).or_default() += 1;
            h
        });
        eprintln!("{}: module kinds {kinds:?}", py.version);
        if interp.version() >= pyc_format::PyVersion::new(3, 11) {
            // 3.11+ freezes the start-up modules (os, site, codecs, ...).
            assert_eq!(m.kinds.get("os"), Some(&Kind::Frozen), "{}", py.version);
        } else {
            assert_eq!(m.kinds.get("os"), Some(&Kind::Source), "{}", py.version);
        }
    }
}

#[test]
fn a_failing_program_reports_its_stderr_and_leaves_no_prefix() {
    let Some(py) = live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version != "2.7" && p.version != "3.6" && p.version != "3.7")
    else {
        return;
    };
    report_used("importtime failure", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let opts = options(2, Duration::from_secs(60), tmp.path());
    let err = measure(
        &interpreter(&py),
        &Program::Code("import json\nraise SystemExit('boom: the program failed')".into()),
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("boom: the program failed"), "{err}");
    assert!(!err.contains("import time:"), "rows leaked into: {err}");

    let err = measure(
        &interpreter(&py),
        &Program::Code("import time\ntime.sleep(30)".into()),
        &options(2, Duration::from_millis(1500), tmp.path()),
        &AtomicBool::new(false),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("took longer than 1.5 s"), "{err}");
}

/// `warm_stdlib`: cold runs compile the project but not the standard library, whose pycs are
/// linked in from the warm prefix (and stay unchanged there).
#[test]
fn warm_stdlib_compiles_only_the_project() {
    let Some(py) = live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version != "2.7" && p.version != "3.6" && p.version != "3.7")
    else {
        return;
    };
    report_used("importtime warm stdlib", std::slice::from_ref(&py));
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("project");
    make_project(&root, &py.path);
    let log = tmp.path().join("log.jsonl");
    let mut opts = options(2, Duration::from_secs(120), &root);
    opts.warm_stdlib = true;
    let m = measure(
        &interpreter(&py),
        &Program::Code(program(&log)),
        &opts,
        &AtomicBool::new(false),
    )
    .unwrap();
    let tag = pyc_python::probe(&py.path).unwrap().cache_tag.unwrap();
    // The project was compiled cold ...
    assert!(m
        .cold_cache_files
        .iter()
        .any(|f| f.ends_with(&format!("pkg/a.{tag}.pyc"))));
    // ... the standard library was not (json is imported by pkg.b).
    assert!(
        !m.cold_cache_files
            .iter()
            .any(|f| f.ends_with(&format!("json/decoder.{tag}.pyc"))),
        "{:?}",
        m.cold_cache_files
    );
    assert!(m
        .warm_cache_files
        .iter()
        .any(|f| f.ends_with(&format!("json/decoder.{tag}.pyc"))));
    assert!(m.warm_rewritten.is_empty(), "{:?}", m.warm_rewritten);
    assert!(m.warm_stdlib);
}
