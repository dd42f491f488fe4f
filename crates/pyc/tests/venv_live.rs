//! Without `--python`, every subcommand answers for the interpreter that will run the code: the
//! venv the path is in, else the project's `.venv`. For every live interpreter with a `venv`
//! module (3.6+; 2.7 has none): a venv made by that interpreter, with a small package (a wheel
//! built here) installed by its pip with compilation on, must be all-fresh for `pyc status` on
//! the venv, on its site-packages and on a project holding it as `.venv`; `pyc compile` in that
//! project writes that version's pycs only; `pyc python` marks it as the default. The same
//! holds with `VIRTUAL_ENV` naming another venv (the path's own venv wins).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pyc_testutil::{live_pythons, report_used, LivePython};
use serde_json::Value;

fn pyc(dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pyc"));
    c.current_dir(dir)
        .env_remove("VIRTUAL_ENV")
        .env_remove("CONDA_PREFIX");
    c
}

fn python(exe: &Path) -> Command {
    let mut c = Command::new(exe);
    c.env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .env_remove("PYTHONOPTIMIZE")
        .env_remove("VIRTUAL_ENV")
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PIP_NO_INDEX", "1");
    c
}

fn ok(what: &str, out: Output) -> Output {
    assert!(
        out.status.success(),
        "{what}: {}\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A wheel of `tinypkg` (two modules), written by the interpreter's own `zipfile`.
const MAKE_WHEEL: &str = r#"
import sys, zipfile
files = {
    'tinypkg/__init__.py': 'from tinypkg.core import answer\n',
    'tinypkg/core.py': 'def answer():\n    return 42\n',
    'tinypkg-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n',
    'tinypkg-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\nGenerator: pyc-test\nRoot-Is-Purelib: true\nTag: py2.py3-none-any\n',
}
rec = [n + ',,' for n in files] + ['tinypkg-1.0.dist-info/RECORD,,']
files['tinypkg-1.0.dist-info/RECORD'] = '\n'.join(rec) + '\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for n, t in files.items():
        z.writestr(n, t)
"#;

struct Venv {
    py: LivePython,
    /// The project folder; the venv is `project/.venv`.
    project: PathBuf,
    venv: PathBuf,
    site_packages: PathBuf,
}

fn make_venv(py: &LivePython, root: &Path) -> Venv {
    let project = root.join(format!("proj{}", py.version));
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(project.join("app.py"), "import tinypkg\n").unwrap();
    let venv = project.join(".venv");
    ok(
        "venv",
        python(&py.path)
            .args(["-m", "venv"])
            .arg(&venv)
            .output()
            .unwrap(),
    );
    let wheel = root.join(format!("w{}/tinypkg-1.0-py2.py3-none-any.whl", py.version));
    std::fs::create_dir_all(wheel.parent().unwrap()).unwrap();
    ok(
        "wheel",
        python(&py.path)
            .args(["-c", MAKE_WHEEL])
            .arg(&wheel)
            .output()
            .unwrap(),
    );
    ok(
        "pip install",
        python(&venv.join("bin/python"))
            .args(["-m", "pip", "install", "--no-deps", "--compile", "-q"])
            .arg(&wheel)
            .output()
            .unwrap(),
    );
    let site_packages = venv
        .join("lib")
        .join(format!("python{}", py.version))
        .join("site-packages");
    assert!(site_packages.join("tinypkg/core.py").is_file());
    Venv {
        py: py.clone(),
        project,
        venv,
        site_packages,
    }
}

/// `pyc status --check --format json PATH` run in `cwd`: every record, and the exit code.
fn status(cwd: &Path, path: &Path, virtual_env: Option<&Path>) -> (i32, Vec<Value>, String) {
    let mut c = pyc(cwd);
    if let Some(v) = virtual_env {
        c.env("VIRTUAL_ENV", v);
    }
    let out = c
        .args(["status", "--check", "--no-git", "--format", "json"])
        .arg(path)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    let records: Vec<Value> = doc["records"].as_array().cloned().unwrap_or_default();
    let text = c_text(cwd, path, virtual_env);
    (out.status.code().unwrap_or(-1), records, text)
}

fn c_text(cwd: &Path, path: &Path, virtual_env: Option<&Path>) -> String {
    let mut c = pyc(cwd);
    if let Some(v) = virtual_env {
        c.env("VIRTUAL_ENV", v);
    }
    let out = c.args(["status", "--no-git"]).arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

fn assert_all_fresh(v: &Venv, cwd: &Path, path: &Path, virtual_env: Option<&Path>) {
    let (code, records, text) = status(cwd, path, virtual_env);
    let bad: Vec<&Value> = records
        .iter()
        .filter(|r| r["state"] != "fresh" && r["state"] != "sourceless")
        .collect();
    assert!(
        code == 0 && bad.is_empty(),
        "{}: pyc status {} (VIRTUAL_ENV={virtual_env:?}) exit {code}: {bad:?}\n{text}",
        v.py.version,
        path.display()
    );
    let fresh = records.iter().filter(|r| r["state"] == "fresh").count();
    assert!(fresh > 0, "{}: nothing judged\n{text}", v.py.version);
    // The report says which interpreter, and why.
    assert!(
        text.contains(&format!("({})", v.py.version)) && text.contains(" from "),
        "{text}"
    );
}

#[test]
fn every_subcommand_answers_for_the_venv_of_the_path() {
    let pythons: Vec<LivePython> = live_pythons()
        .into_iter()
        .filter(|p| p.version != "2.7")
        .collect();
    report_used(
        "every_subcommand_answers_for_the_venv_of_the_path",
        &pythons,
    );
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().canonicalize().unwrap();
    let venvs: Vec<Venv> = std::thread::scope(|s| {
        let handles: Vec<_> = pythons
            .iter()
            .map(|py| {
                let root = &root;
                s.spawn(move || make_venv(py, root))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (n, v) in venvs.iter().enumerate() {
        // Another venv as VIRTUAL_ENV: the path's own venv still wins.
        let other = venvs.get((n + 1) % venvs.len()).map(|o| o.venv.as_path());
        let other = other.filter(|o| *o != v.venv);
        // pyc compile in the project, no --python: that version's pycs only.
        let out = ok(
            "pyc compile",
            pyc(&v.project)
                .args(["compile", "--format", "json"])
                .output()
                .unwrap(),
        );
        let report: Value = serde_json::from_slice(&out.stdout).unwrap();
        let pythons = report["pythons"].as_array().unwrap();
        assert_eq!(pythons.len(), 1, "{report}");
        assert_eq!(pythons[0]["python"], v.py.version.as_str(), "{report}");
        let tag = pythons[0]["cache_tag"].as_str().unwrap().to_string();
        for f in report["files"].as_array().unwrap() {
            let pyc = f["cache"].as_str().unwrap_or_default();
            assert!(pyc.contains(&tag), "{}: wrote {pyc}", v.py.version);
        }
        assert!(
            v.project
                .join(format!("__pycache__/app.{tag}.pyc"))
                .is_file(),
            "{}: app.py not compiled: {report}",
            v.py.version
        );
        for ve in [None, other] {
            assert_all_fresh(v, &root, &v.venv, ve);
            assert_all_fresh(v, &root, &v.site_packages, ve);
            assert_all_fresh(v, &v.project, Path::new("."), ve);
        }
        // pyc python marks the project's venv as the default.
        let out = ok(
            "pyc python",
            pyc(&v.project).args(["python"]).output().unwrap(),
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let marked: Vec<&str> = text.lines().filter(|l| l.starts_with('*')).collect();
        assert_eq!(marked.len(), 1, "{text}");
        assert!(
            marked[0].contains(&v.venv.join("bin/python").display().to_string()),
            "{}: {text}",
            v.py.version
        );
    }
}
