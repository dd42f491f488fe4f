//! `pyc dis` end to end: many files, folders, JSON, --only, bad input, and (live) sources
//! compiled by real interpreters.

use std::path::PathBuf;

use assert_cmd::Command;

fn pyc() -> Command {
    Command::cargo_bin("pyc").unwrap()
}

fn golden(version: &str, name: &str) -> PathBuf {
    pyc_testutil::fixtures(&format!("dis/{version}/{name}"))
}

/// Code-object addresses cannot be known; compare with the same token on both sides.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(" at 0x") {
        out.push_str(&rest[..i]);
        out.push_str(" at 0xADDR");
        let tail = &rest[i + 6..];
        let n = tail
            .find(|c: char| !c.is_ascii_hexdigit())
            .unwrap_or(tail.len());
        rest = &tail[n..];
    }
    out.push_str(rest);
    out
}

fn read(p: &PathBuf) -> String {
    std::fs::read_to_string(p).unwrap()
}

#[test]
fn one_file_prints_exactly_dis() {
    let out = pyc()
        .args(["dis"])
        .arg(golden("3.12", "basic.pyc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        normalise(&String::from_utf8(out.stdout).unwrap()),
        normalise(&read(&golden("3.12", "basic.dis")))
    );
}

#[test]
fn many_files_each_under_a_header() {
    let a = golden("2.7", "basic.pyc");
    let b = golden("3.15", "py310.pyc");
    let out = pyc().arg("dis").arg(&a).arg(&b).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let expect = format!(
        "==> {} <==\n{}\n==> {} <==\n{}",
        a.display(),
        read(&golden("2.7", "basic.dis")),
        b.display(),
        read(&golden("3.15", "py310.dis"))
    );
    assert_eq!(normalise(&text), normalise(&expect));
}

#[test]
fn folders_are_searched_recursively() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/__pycache__");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::copy(golden("3.9", "py38.pyc"), sub.join("x.cpython-39.pyc")).unwrap();
    std::fs::copy(golden("3.13", "py38.pyc"), dir.path().join("y.pyc")).unwrap();
    std::fs::write(dir.path().join("ignored.txt"), "x").unwrap();
    let out = pyc().arg("dis").arg(dir.path()).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.matches("==> ").count(), 2, "{text}");
    assert!(normalise(&text).contains(&normalise(&read(&golden("3.9", "py38.dis")))));
    assert!(normalise(&text).contains(&normalise(&read(&golden("3.13", "py38.dis")))));
}

#[test]
fn options_match_the_dis_keywords() {
    for (flag, file) in [
        ("--show-caches", "basic.caches.dis"),
        ("--show-offsets", "basic.offsets.dis"),
        ("--show-positions", "basic.positions.dis"),
    ] {
        let out = pyc()
            .args(["dis", flag])
            .arg(golden("3.14", "basic.pyc"))
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(
            normalise(&String::from_utf8(out.stdout).unwrap()),
            normalise(&read(&golden("3.14", file))),
            "{flag}"
        );
    }
    let out = pyc()
        .args(["dis", "--depth", "0"])
        .arg(golden("3.8", "py3.pyc"))
        .output()
        .unwrap();
    assert_eq!(
        normalise(&String::from_utf8(out.stdout).unwrap()),
        normalise(&read(&golden("3.8", "py3.depth0.dis")))
    );
}

#[test]
fn only_selects_a_code_object_by_qualname() {
    let out = pyc()
        .args(["dis", "--only", "C.m"])
        .arg(golden("3.12", "basic.pyc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // C.m and its nested `inner`, nothing of the module.
    let full = read(&golden("3.12", "basic.dis"));
    let start = full.find("Disassembly of <code object m ").unwrap();
    let body = &full[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    let end = body
        .find("Disassembly of <code object s ")
        .unwrap_or(body.len());
    assert_eq!(
        normalise(&text),
        normalise(body[..end].trim_end_matches('\n')) + "\n"
    );
    // 2.7 has no co_qualname: the dotted path is built.
    let out = pyc()
        .args(["dis", "--only", "C.m"])
        .arg(golden("2.7", "basic.pyc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = pyc()
        .args(["dis", "--only", "nope"])
        .arg(golden("2.7", "basic.pyc"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn json_has_the_instruction_fields() {
    let out = pyc()
        .args(["dis", "--format", "json"])
        .arg(golden("3.13", "basic.pyc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["version"], "3.13");
    let ins = &v["code"]["instructions"];
    let first = &ins[0];
    assert_eq!(first["opname"], "RESUME");
    for k in [
        "offset",
        "opcode",
        "arg",
        "argval",
        "argrepr",
        "line",
        "positions",
        "jump_target",
    ] {
        assert!(first.get(k).is_some(), "missing {k}");
    }
    assert!(!v["code"]["children"].as_array().unwrap().is_empty());
    // A function with a try block has an exception table.
    let f = &v["code"]["children"][0];
    assert_eq!(f["name"], "f");
    assert!(!f["exception_table"].as_array().unwrap().is_empty());
}

#[test]
fn bad_files_are_named_and_the_rest_still_printed() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.pyc");
    let mut data = std::fs::read(golden("3.11", "basic.pyc")).unwrap();
    data.truncate(40);
    std::fs::write(&bad, data).unwrap();
    let good = golden("3.10", "basic.pyc");
    let out = pyc().arg("dis").arg(&bad).arg(&good).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("bad.pyc"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(normalise(&text).contains(&normalise(&read(&golden("3.10", "basic.dis")))));
    // Unsupported versions are refused by name.
    let old = dir.path().join("old.pyc");
    let mut h = vec![0xee, 0x0c, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0]; // 3.4 (3310)
    h.extend([b'N']);
    std::fs::write(&old, h).unwrap();
    let out = pyc().arg("dis").arg(&old).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("old.pyc") && err.contains("3.4"), "{err}");
}

/// `pyc dis FILE.py --python X.Y` against the interpreter's own dis of the same source.
#[test]
fn sources_compiled_by_live_interpreters() {
    let pythons = pyc_testutil::live_pythons();
    pyc_testutil::report_used("sources_compiled_by_live_interpreters", &pythons);
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("m.py");
    std::fs::write(
        &src,
        "import sys\ndef f(a, b=1):\n    for i in a:\n        if i: return i * b\n    return None\n",
    )
    .unwrap();
    for py in &pythons {
        let (major, minor) = py.version.split_once('.').unwrap();
        let (major, minor): (u8, u8) = (major.parse().unwrap(), minor.parse().unwrap());
        if major == 2 && minor < 7 || major == 3 && minor < 6 {
            continue;
        }
        let script = if major == 2 {
            "import dis, sys\nco = compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')\n\
             def rec(c):\n    dis.disassemble(c)\n    for x in c.co_consts:\n        \
             if hasattr(x, 'co_code'):\n            sys.stdout.write('\\nDisassembly of %r:\\n' % (x,))\n            rec(x)\nrec(co)\n"
        } else if minor == 6 {
            "import dis, sys\nco = compile(open(sys.argv[1]).read(), sys.argv[1], 'exec')\n\
             def rec(c):\n    dis.disassemble(c)\n    for x in c.co_consts:\n        \
             if hasattr(x, 'co_code'):\n            print()\n            print('Disassembly of %r:' % (x,))\n            rec(x)\nrec(co)\n"
        } else {
            "import dis, sys\ndis.dis(compile(open(sys.argv[1]).read(), sys.argv[1], 'exec'))\n"
        };
        let want = std::process::Command::new(&py.path)
            .arg("-c")
            .arg(script)
            .arg(&src)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(
            want.status.success(),
            "{}",
            String::from_utf8_lossy(&want.stderr)
        );
        let out = pyc()
            .arg("dis")
            .arg(&src)
            .arg("--python")
            .arg(&py.path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}: {}",
            py.version,
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            normalise(&String::from_utf8_lossy(&out.stdout)),
            normalise(&String::from_utf8(want.stdout).unwrap()),
            "{}",
            py.version
        );
        // A version finds an interpreter as `pyc compile` does: the same listing.
        let by_version = pyc()
            .arg("dis")
            .arg(&src)
            .arg("--python")
            .arg(&py.version)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&by_version.stdout),
            String::from_utf8_lossy(&out.stdout),
            "--python {}: {}",
            py.version,
            String::from_utf8_lossy(&by_version.stderr)
        );
        // Nothing written next to the source.
        assert!(!dir.path().join("__pycache__").exists());
    }
    // A version that is not installed: one line saying where pyc looked, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("m.py");
    std::fs::write(&src, "x = 1\n").unwrap();
    let out = pyc()
        .arg("dis")
        .arg(&src)
        .args(["--python", "3.99"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no CPython 3.99 found; looked in:"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// `dis FILE.py` uses the interpreter's cache file only when the interpreter would load it:
/// the verdict is pyc-cache's, as for `status`. CPython 3.3-3.6 compare `int(st_mtime)`
/// unmasked, so a source dated after 2106 never matches a (32-bit) header and is recompiled;
/// 3.6 itself says so here (it imports the source's value, not the stale pyc's).
#[test]
fn dis_of_a_source_uses_the_cache_only_when_the_interpreter_would() {
    let Some(py) = pyc_testutil::live_python("3.6") else {
        pyc_testutil::report_used(
            "dis_of_a_source_uses_the_cache_only_when_the_interpreter_would",
            &[],
        );
        return;
    };
    pyc_testutil::report_used(
        "dis_of_a_source_uses_the_cache_only_when_the_interpreter_would",
        std::slice::from_ref(&py),
    );
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let src = d.join("m.py");
    std::fs::write(&src, "x = 1\n").unwrap();
    let mtime: u64 = (1 << 32) + 100;
    std::fs::File::options()
        .write(true)
        .open(&src)
        .unwrap()
        .set_modified(std::time::UNIX_EPOCH + std::time::Duration::from_secs(mtime))
        .unwrap();
    // A pyc of other code whose header matches the source's masked mtime and its size.
    let st = std::process::Command::new(&py.path)
        .current_dir(d)
        .args([
            "-c",
            "import importlib._bootstrap_external as b, os\n\
             data = b._code_to_bytecode(compile('x = 2\\n', 'm.py', 'exec'), 100, 6)\n\
             os.mkdir('__pycache__')\n\
             open('__pycache__/m.cpython-36.pyc', 'wb').write(data)\n",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    let seen = std::process::Command::new(&py.path)
        .current_dir(d)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .args(["-c", "import m; print(m.x)"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&seen.stdout).trim(),
        "1",
        "3.6 recompiles"
    );
    let out = pyc()
        .current_dir(d)
        .args(["dis", "--python"])
        .arg(&py.path)
        .arg("m.py")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(text.contains("(1)") && !text.contains("(2)"), "{text}");
}

/// `dis FILE.py` compiles through `pyc compile`'s worker pool, so it shows exactly the code
/// `pyc compile` writes: for every live interpreter, the disassembly of a source with no
/// cache file equals the disassembly of the pyc `pyc compile` writes for it (moved out of
/// `__pycache__` first, so that dis cannot take it). The source has what an exact compile
/// depends on: frozenset constants (element order follows string hashes), nested classes
/// (3.13+ interning of qualnames), docstrings and an `assert` (the level).
#[test]
fn dis_of_a_source_is_what_compile_writes() {
    let pythons = pyc_testutil::live_pythons();
    pyc_testutil::report_used("dis_of_a_source_is_what_compile_writes", &pythons);
    let source = "\"\"\"doc\"\"\"\n\
        def f(x):\n    \"\"\"f doc\"\"\"\n    assert x\n    \
        return x in {'alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta'}\n\
        class A:\n    class B:\n        def m(self):\n            return 'A.B.m', {1.5, 'q', 7}\n\
        S = frozenset(['k%d' % i for i in range(3)])\n";
    let mut checked = 0;
    for py in &pythons {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        std::fs::write(d.join("m.py"), source).unwrap();
        let compiled = pyc()
            .current_dir(d)
            .env_remove("PYTHONOPTIMIZE")
            .args(["compile", "--python"])
            .arg(&py.path)
            .arg("m.py")
            .output()
            .unwrap();
        assert!(compiled.status.success(), "{}: {compiled:?}", py.version);
        let pyc_file = if py.version.starts_with("2.") {
            d.join("m.pyc")
        } else {
            let cache = d.join("__pycache__");
            let name = std::fs::read_dir(&cache)
                .unwrap()
                .next()
                .unwrap()
                .unwrap()
                .file_name();
            cache.join(name)
        };
        let moved = d.join("written.pyc");
        std::fs::rename(&pyc_file, &moved).unwrap();
        let of_source = pyc()
            .current_dir(d)
            .env_remove("PYTHONOPTIMIZE")
            .args(["dis", "--python"])
            .arg(&py.path)
            .arg("m.py")
            .output()
            .unwrap();
        let of_pyc = pyc()
            .current_dir(d)
            .args(["dis", "written.pyc"])
            .output()
            .unwrap();
        assert!(of_source.status.success(), "{}: {of_source:?}", py.version);
        assert!(of_pyc.status.success(), "{}: {of_pyc:?}", py.version);
        assert_eq!(
            normalise(&String::from_utf8_lossy(&of_source.stdout)),
            normalise(&String::from_utf8_lossy(&of_pyc.stdout)),
            "{}",
            py.version
        );
        checked += 1;
    }
    eprintln!("dis_of_a_source_is_what_compile_writes: {checked} interpreters");
}
