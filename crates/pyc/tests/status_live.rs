//! `pyc status` against the live interpreters: each one compiles a package, files are touched,
//! resized and edited, then the interpreter imports every module (`-v` says which came from
//! the cache) and `pyc status --python <that interpreter>` must give the same verdicts.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

use serde_json::Value;

fn set_mtime(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn python(exe: &Path, dir: &Path) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(dir)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env("PYTHONHASHSEED", "0");
    c
}

#[test]
fn verdicts_equal_what_each_interpreter_does() {
    let pythons = pyc_testutil::live_pythons();
    let mut used = Vec::new();
    for py in &pythons {
        let major_minor: Vec<u32> = py.version.split('.').map(|x| x.parse().unwrap()).collect();
        let pep552 = major_minor >= vec![3, 7];
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let pkg = dir.join("pkg");
        fs::create_dir_all(&pkg).unwrap();
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        for m in ["__init__", "a", "b", "c", "d", "e"] {
            let p = pkg.join(format!("{m}.py"));
            fs::write(&p, format!("name = {m:?}\n")).unwrap();
            set_mtime(&p, base);
        }
        let st = python(&py.path, dir)
            .args(["-m", "compileall", "-q", "pkg"])
            .status()
            .unwrap();
        assert!(st.success(), "{}: compileall failed", py.version);
        if pep552 {
            let code = "import py_compile as p; p.compile('pkg/d.py', \
                        invalidation_mode=p.PycInvalidationMode.CHECKED_HASH); \
                        p.compile('pkg/e.py', invalidation_mode=p.PycInvalidationMode.UNCHECKED_HASH)";
            let st = python(&py.path, dir).args(["-c", code]).status().unwrap();
            assert!(st.success());
        }
        // b: touched, same content. c: other size, same mtime. d, e: edited (same size).
        set_mtime(&pkg.join("b.py"), base + Duration::from_secs(100));
        fs::write(pkg.join("c.py"), "name = 'cc'\n").unwrap();
        set_mtime(&pkg.join("c.py"), base);
        for m in ["d", "e"] {
            fs::write(
                pkg.join(format!("{m}.py")),
                format!("name = {:?}\n", m.to_uppercase()),
            )
            .unwrap();
            set_mtime(&pkg.join(format!("{m}.py")), base + Duration::from_secs(5));
        }
        // What pyc says, before the interpreter runs (it must not write: -B).
        let out = Command::new(env!("CARGO_BIN_EXE_pyc"))
            .current_dir(dir)
            .args(["status", "pkg", "--format", "json", "--python"])
            .arg(&py.path)
            .env_remove("PYTHONPYCACHEPREFIX")
            .output()
            .unwrap();
        assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
        let records: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut pyc_fresh = BTreeMap::new();
        for r in records["records"].as_array().unwrap() {
            if r["target"].is_null() || r["state"] == "unwritable" {
                continue;
            }
            let src = r["source"].as_str().unwrap();
            let m = Path::new(src)
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            pyc_fresh.insert(m, r["state"] == "fresh");
        }
        // What the interpreter does.
        let out = python(&py.path, dir)
            .args(["-B", "-v", "-c", "import pkg.a, pkg.b, pkg.c, pkg.d, pkg.e"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let log = String::from_utf8_lossy(&out.stderr);
        let mut from_cache = BTreeMap::new();
        for m in ["__init__", "a", "b", "c", "d", "e"] {
            let hit = log.lines().any(|l| {
                (l.contains("code object from")
                    && l.contains(&format!("/{m}."))
                    && l.contains(".pyc"))
                    || (l.contains("precompiled from") && l.contains(&format!("/{m}.pyc")))
            });
            from_cache.insert(m.to_string(), hit);
        }
        assert_eq!(
            pyc_fresh, from_cache,
            "{}: pyc (left) vs the interpreter (right)",
            py.version
        );
        // Sanity: the scenario has both kinds of verdict.
        assert!(from_cache.values().any(|&v| v) && from_cache.values().any(|&v| !v));
        used.push(py.clone());
    }
    pyc_testutil::report_used("status live", &used);
}
