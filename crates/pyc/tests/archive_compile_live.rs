//! `pyc compile ARCHIVE` against the live interpreters: a zipapp (with a `#!` line, an archive
//! comment, stored and deflated entries, odd permissions, entry comments) compiled for each interpreter is imported by
//! it with every module's code coming from the new pycs (zipimport names source-compiled code
//! after the archive, `app.pyz/pkg/mod.py`; pyc's pycs carry the entry name), every original
//! entry is kept as it was and in order, and `pyc status` then says all fresh. A wheel compiled
//! for the newest interpreter installs with pip (`--no-compile`), `pip check` passes, and the
//! installed modules load from the shipped pycs.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn py3() -> String {
    std::env::var("PYC_TEST_PY3").unwrap_or_else(|_| "python3".into())
}

fn run(exe: &str, args: &[&str], dir: &Path) -> String {
    let out = Command::new(exe)
        .args(args)
        .current_dir(dir)
        .env("TZ", "EST5EDT")
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .unwrap_or_else(|e| panic!("{exe}: {e}"));
    assert!(
        out.status.success(),
        "{exe} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const MODULES: &[&str] = &["main", "pkg", "pkg.mod", "pkg.sub.deep"];

/// The entries of a zip as Python's zipfile sees them, with everything that must be kept.
const LIST: &str = "import zipfile, sys, json\n\
z = zipfile.ZipFile(sys.argv[1])\n\
print(json.dumps({'comment': z.comment.decode('latin-1'), 'prefix': open(sys.argv[1], 'rb').read(2).decode('latin-1'),\n\
 'entries': [[i.filename, i.CRC, list(i.date_time), i.external_attr, i.compress_type, i.comment.decode('latin-1')] for i in z.infolist()]}))\n";

/// The one archive record of a `pyc compile ARCHIVE --format json` document.
fn archive_doc(out: &str) -> Value {
    let doc: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["schema"], "pyc-compile/1", "{out}");
    assert_eq!(doc["failures"], Value::Array(vec![]), "{out}");
    let archives = doc["archives"].as_array().cloned().unwrap_or_default();
    assert_eq!(archives.len(), 1, "{out}");
    archives[0].clone()
}

fn status_all_fresh(py: &Path, archive: &Path, dir: &Path) {
    let out = run(
        env!("CARGO_BIN_EXE_pyc"),
        &[
            "status",
            "--format",
            "json",
            "--python",
            py.to_str().unwrap(),
            archive.to_str().unwrap(),
        ],
        dir,
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    let records: Vec<Value> = doc["records"].as_array().cloned().unwrap_or_default();
    let judged: Vec<&Value> = records.iter().filter(|r| !r["source"].is_null()).collect();
    assert_eq!(judged.len(), 5, "{out}"); // five sources
    for r in judged {
        assert_eq!(r["state"], "fresh", "{}: {r}", archive.display());
    }
}

#[test]
fn compiled_zipapp_is_used_by_every_interpreter() {
    let pythons = pyc_testutil::live_pythons();
    let mut used = Vec::new();
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        run(
            &py3(),
            &[
                "-c",
                "import zipfile, os, time\n\
                 files = {'main.py': 1, 'pkg/__init__.py': 3, 'pkg/mod.py': 5, 'pkg/sub/__init__.py': 0, 'pkg/sub/deep.py': 7, 'data.txt': 9}\n\
                 with open('app.pyz', 'wb') as f:\n\
                 \x20   f.write(b'#!/usr/bin/env python3\\n')\n\
                 \x20   with zipfile.ZipFile(f, 'w', zipfile.ZIP_DEFLATED) as z:\n\
                 \x20       import sys; z.comment = sys.argv[1].encode()\n\
                 \x20       for name, s in files.items():\n\
                 \x20           zi = zipfile.ZipInfo(name, (2024, 3, 10, 1, 59, s))\n\
                 \x20           zi.external_attr = (0o100640 if s != 5 else 0o100755) << 16\n\
                 \x20           zi.comment = name.encode()\n\
                 \x20           zi.compress_type = zipfile.ZIP_STORED if s == 3 else zipfile.ZIP_DEFLATED\n\
                 \x20           z.writestr(zi, 'def f():\\n    pass\\n' if name.endswith('.py') else 'data')\n",
                // zipimport before 3.8 finds the end record only in an archive without a comment.
                if ["2.7", "3.6", "3.7"].contains(&py.version.as_str()) {
                    ""
                } else {
                    "the archive comment"
                },
            ],
            dir,
        );
        let before: Value =
            serde_json::from_str(&run(&py3(), &["-c", LIST, "app.pyz"], dir)).unwrap();
        let mode_before = std::fs::metadata(dir.join("app.pyz"))
            .unwrap()
            .permissions();
        let pyc = env!("CARGO_BIN_EXE_pyc");
        let exe = py.path.to_str().unwrap();
        let first = archive_doc(&run(
            pyc,
            &["compile", "--format", "json", "--python", exe, "app.pyz"],
            dir,
        ));
        assert_eq!(
            (&first["added"], &first["replaced"], &first["up_to_date"]),
            (&Value::from(5), &Value::from(0), &Value::from(0)),
            "{}: {first}",
            py.version
        );
        assert_eq!(first["rewritten"], true);
        assert_eq!(first["files"].as_array().map(Vec::len), Some(5));
        let after: Value =
            serde_json::from_str(&run(&py3(), &["-c", LIST, "app.pyz"], dir)).unwrap();
        assert_eq!(before["comment"], after["comment"]);
        assert_eq!(after["prefix"], "#!");
        let kept: Vec<&Value> = after["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| {
                !e[0].as_str().unwrap().ends_with(".pyc")
                    && !e[0].as_str().unwrap().ends_with(".pyo")
            })
            .collect();
        let orig: Vec<&Value> = before["entries"].as_array().unwrap().iter().collect();
        assert_eq!(kept, orig, "{}: entries changed", py.version);
        let added = after["entries"].as_array().unwrap().len() - orig.len();
        assert_eq!(added, 5, "{}: {after}", py.version);
        assert_eq!(
            std::fs::metadata(dir.join("app.pyz"))
                .unwrap()
                .permissions(),
            mode_before
        );
        // Every module's code came from a pyc: zipimport compiles sources as `app.pyz/NAME`.
        let code = format!(
            "import sys, importlib\nsys.path.insert(0, 'app.pyz')\nfor n in {MODULES:?}:\n    m = importlib.import_module(n)\n    print(n + ' ' + m.f.__code__.co_filename)\n"
        );
        let out = run(py.path.to_str().unwrap(), &["-c", &code], dir);
        assert_eq!(out.lines().count(), MODULES.len(), "{out}");
        for line in out.lines() {
            assert!(
                !line.contains("app.pyz/"),
                "{}: source compiled: {line}",
                py.version
            );
        }
        status_all_fresh(&py.path, &dir.join("app.pyz"), dir);
        // A second run finds every pyc used: nothing is written, the file is left untouched
        // (same bytes, same mtime).
        let bytes = std::fs::read(dir.join("app.pyz")).unwrap();
        run(
            &py3(),
            &[
                "-c",
                "import os; os.utime('app.pyz', (1000000000, 1000000000))",
            ],
            dir,
        );
        let again = archive_doc(&run(
            pyc,
            &["compile", "--format", "json", "--python", exe, "app.pyz"],
            dir,
        ));
        assert_eq!(
            (&again["added"], &again["replaced"], &again["up_to_date"]),
            (&Value::from(0), &Value::from(0), &Value::from(5)),
            "{}: {again}",
            py.version
        );
        assert_eq!(again["rewritten"], false);
        assert_eq!(std::fs::read(dir.join("app.pyz")).unwrap(), bytes);
        let mtime = std::fs::metadata(dir.join("app.pyz"))
            .unwrap()
            .modified()
            .unwrap();
        assert_eq!(
            mtime,
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000),
            "{}: the archive was written again",
            py.version
        );
        // --force writes every pyc again, in place.
        let forced = archive_doc(&run(
            pyc,
            &[
                "compile", "-f", "--format", "json", "--python", exe, "app.pyz",
            ],
            dir,
        ));
        assert_eq!(
            (&forced["added"], &forced["replaced"], &forced["up_to_date"]),
            (&Value::from(0), &Value::from(5), &Value::from(0)),
            "{}: {forced}",
            py.version
        );
        status_all_fresh(&py.path, &dir.join("app.pyz"), dir);
        used.push(py.clone());
    }
    pyc_testutil::report_used("compiled_zipapp_is_used_by_every_interpreter", &used);
}

#[test]
fn compiled_wheel_installs_and_its_pycs_are_used() {
    let Some(py) = pyc_testutil::live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version.starts_with("3.") && p.version[2..].parse::<u32>().unwrap_or(0) >= 7)
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(
        &py3(),
        &[
            "-c",
            "import zipfile, hashlib, base64\n\
             files = {'demo/__init__.py': 'def f():\\n    pass\\n', 'demo/mod.py': 'def f():\\n    pass\\n',\n\
             'demo-1.0.dist-info/METADATA': 'Metadata-Version: 2.1\\nName: demo\\nVersion: 1.0\\n',\n\
             'demo-1.0.dist-info/WHEEL': 'Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}\n\
             rec = ''\n\
             with zipfile.ZipFile('demo-1.0-py3-none-any.whl', 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   for n, d in files.items():\n\
             \x20       z.writestr(n, d)\n\
             \x20       h = base64.urlsafe_b64encode(hashlib.sha256(d.encode()).digest()).rstrip(b'=').decode()\n\
             \x20       rec += '%s,sha256=%s,%d\\n' % (n, h, len(d))\n\
             \x20   z.writestr('demo-1.0.dist-info/RECORD', rec + 'demo-1.0.dist-info/RECORD,,\\n')\n",
        ],
        dir,
    );
    let exe = py.path.to_str().unwrap();
    run(
        env!("CARGO_BIN_EXE_pyc"),
        &[
            "compile",
            "-q",
            "--python",
            exe,
            "demo-1.0-py3-none-any.whl",
        ],
        dir,
    );
    let out = run(
        env!("CARGO_BIN_EXE_pyc"),
        &[
            "status",
            "--format",
            "json",
            "--python",
            exe,
            "demo-1.0-py3-none-any.whl",
        ],
        dir,
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    let records: Vec<Value> = doc["records"].as_array().cloned().unwrap_or_default();
    assert_eq!(records.len(), 2, "{out}");
    assert!(records.iter().all(|r| r["state"] == "fresh"), "{out}");
    // RECORD lists the new pycs with their hashes.
    let rec = run(
        &py3(),
        &["-c", "import zipfile; print(zipfile.ZipFile('demo-1.0-py3-none-any.whl').read('demo-1.0-dist-info/RECORD'.replace('-dist', '.dist')).decode())"],
        dir,
    );
    assert!(rec.contains("demo/__pycache__/mod."), "{rec}");
    let has_pip = Command::new(exe)
        .args(["-m", "ensurepip", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_pip {
        eprintln!("{}: no ensurepip, install not tested", py.version);
        return;
    }
    run(exe, &["-m", "venv", "v"], dir);
    let vpy = dir.join("v/bin/python");
    let vpy = vpy.to_str().unwrap();
    // Offline, and without pip's own compile step (which would overwrite the shipped pycs).
    run(
        vpy,
        &[
            "-m",
            "pip",
            "install",
            "-q",
            "--no-index",
            "--no-deps",
            "--no-compile",
            "demo-1.0-py3-none-any.whl",
        ],
        dir,
    );
    run(vpy, &["-m", "pip", "check"], dir);
    // `-v` says which cache files were loaded (importlib sets co_filename either way).
    let out = Command::new(vpy)
        .args(["-v", "-c", "import demo, demo.mod"])
        .current_dir(dir)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    for m in ["__init__", "mod"] {
        assert!(
            log.lines().any(|l| l.starts_with("# code object from")
                && l.contains(&format!("demo/__pycache__/{m}."))),
            "{}: demo/{m}.py was compiled, not loaded: {log}",
            py.version
        );
    }
    pyc_testutil::report_used("compiled_wheel_installs_and_its_pycs_are_used", &[py]);
}

/// `--dry-run` on archives (a zipapp with a stale pyc, a tar.gz): each cache file that would be
/// added or replaced is listed, in text and in JSON, and the archive keeps its bytes and mtime.
#[test]
fn dry_run_lists_what_would_be_written_and_writes_nothing() {
    let Some(py) = pyc_testutil::live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version.starts_with("3."))
    else {
        return;
    };
    let exe = py.path.to_str().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    run(
        &py3(),
        &[
            "-c",
            "import zipfile, tarfile, io\n\
             with zipfile.ZipFile('app.pyz', 'w') as z:\n\
             \x20   z.writestr('main.py', 'x = 1\\n')\n\
             \x20   z.writestr('main.pyc', b'\\0\\0\\0\\0' + b'\\0' * 12)\n\
             \x20   z.writestr('pkg/__init__.py', '')\n\
             with tarfile.open('app.tar.gz', 'w:gz') as t:\n\
             \x20   for n in ['a.py', 'pkg/b.py']:\n\
             \x20       ti = tarfile.TarInfo(n); ti.size = 6; ti.mtime = 1700000000\n\
             \x20       t.addfile(ti, io.BytesIO(b'x = 1\\n'))\n",
        ],
        dir,
    );
    let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    let mut before = Vec::new();
    for name in ["app.pyz", "app.tar.gz"] {
        let f = std::fs::File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        f.set_modified(old).unwrap();
        before.push(std::fs::read(dir.join(name)).unwrap());
    }
    let pyc = env!("CARGO_BIN_EXE_pyc");
    let tag = format!("cpython-{}", py.version.replace('.', ""));
    let text = run(
        pyc,
        &[
            "compile",
            "--dry-run",
            "--python",
            exe,
            "app.pyz",
            "app.tar.gz",
        ],
        dir,
    );
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort();
    let v = &py.version;
    assert_eq!(
        lines,
        [
            format!("app.pyz: would add pkg/__init__.pyc [{v}]"),
            format!("app.pyz: would replace main.pyc [{v}]"),
            format!("app.tar.gz: would add __pycache__/a.{tag}.pyc [{v}]"),
            format!("app.tar.gz: would add pkg/__pycache__/b.{tag}.pyc [{v}]"),
        ],
        "{text}"
    );
    let out = run(
        pyc,
        &[
            "compile",
            "--dry-run",
            "--format",
            "json",
            "--python",
            exe,
            "app.pyz",
        ],
        dir,
    );
    let doc: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["dry_run"], true, "{out}");
    let a = archive_doc(&out);
    assert_eq!(
        (&a["added"], &a["replaced"], &a["rewritten"]),
        (&Value::from(1), &Value::from(1), &Value::from(false)),
        "{out}"
    );
    let files: Vec<(&str, &str)> = a["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["cache"].as_str().unwrap(), f["action"].as_str().unwrap()))
        .collect();
    assert_eq!(
        files,
        [("main.pyc", "replaced"), ("pkg/__init__.pyc", "added")],
        "{out}"
    );
    for (name, bytes) in ["app.pyz", "app.tar.gz"].iter().zip(&before) {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), bytes, "{name}");
        let m = std::fs::metadata(dir.join(name)).unwrap();
        assert_eq!(m.modified().unwrap(), old, "{name}: written");
    }
    assert_eq!(std::fs::read_dir(dir).unwrap().count(), 2);
    pyc_testutil::report_used(
        "dry_run_lists_what_would_be_written_and_writes_nothing",
        &[py],
    );
}

/// A zip of more than 65,535 entries (zip64 end records) with a comment on every entry is
/// rewritten by `pyc compile`: Python's zipfile reads the result with every comment kept and
/// every CRC right, and Info-ZIP's `unzip -t` passes.
#[test]
fn zip64_archive_is_rewritten_with_its_entry_comments() {
    let Some(py) = pyc_testutil::live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version.starts_with("3."))
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    const N: usize = 65_540;
    run(
        &py3(),
        &[
            "-c",
            &format!(
                "import zipfile\n\
                 with zipfile.ZipFile('big.zip', 'w') as z:\n\
                 \x20   z.comment = b'archive comment'\n\
                 \x20   for name in ['main.py', 'pkg/__init__.py']:\n\
                 \x20       zi = zipfile.ZipInfo(name, (2024, 3, 10, 1, 59, 4)); zi.comment = b'src ' + name.encode()\n\
                 \x20       z.writestr(zi, 'x = 1\\n')\n\
                 \x20   for i in range({N}):\n\
                 \x20       zi = zipfile.ZipInfo('d/%05d.txt' % i, (2024, 3, 10, 1, 59, 4)); zi.comment = b'c%d' % i\n\
                 \x20       z.writestr(zi, b'%d' % i)\n"
            ),
        ],
        dir,
    );
    let check = "import zipfile, sys, json\n\
        z = zipfile.ZipFile('big.zip')\n\
        assert z.testzip() is None\n\
        assert b'PK\\x06\\x06' in open('big.zip', 'rb').read()[-200:], 'no zip64 end record'\n\
        print(json.dumps({'comment': z.comment.decode(), 'n': len(z.infolist()),\n\
        'comments': {i.filename: i.comment.decode() for i in z.infolist()}}))\n";
    let before: Value = serde_json::from_str(&run(&py3(), &["-c", check], dir)).unwrap();
    let exe = py.path.to_str().unwrap();
    let doc = archive_doc(&run(
        env!("CARGO_BIN_EXE_pyc"),
        &["compile", "--format", "json", "--python", exe, "big.zip"],
        dir,
    ));
    assert_eq!(doc["added"], 2, "{doc}");
    let after: Value = serde_json::from_str(&run(&py3(), &["-c", check], dir)).unwrap();
    assert_eq!(after["n"], N + 4);
    assert_eq!(after["comment"], "archive comment");
    for (name, c) in before["comments"].as_object().unwrap() {
        assert_eq!(&after["comments"][name], c, "{name}");
    }
    let t = Command::new("unzip")
        .args(["-tqq", "big.zip"])
        .current_dir(dir)
        .output();
    match t {
        Ok(o) => assert!(o.status.success(), "unzip -t: {o:?}"),
        Err(e) if std::env::var_os("CI").is_none() => eprintln!("no unzip ({e}): not tested"),
        Err(e) => panic!("unzip: {e}"),
    }
    pyc_testutil::report_used("zip64_archive_is_rewritten_with_its_entry_comments", &[py]);
}
