//! `pyc compile` into tars, against the live interpreters. For each interpreter a tar of a small
//! package (pax format for some, GNU for others, with a name over 100 bytes, a symlink, a hard
//! link, owners, a pax comment and a fractional mtime; compressed in turn as `.tar`, `.tar.gz`,
//! `.tgz`, `.tar.bz2`, `.tar.xz` and `.tar.zst`) is compiled in each mode the interpreter has;
//! then every original member must be byte for byte what it was (in the decompressed stream,
//! with its extension headers) and in order, GNU `tar` extracts it, and the interpreter imports
//! every module from the new pycs: `-v` shows each cache file loaded, nothing is written
//! back, and (timestamp and unchecked-hash pycs) a decoy edit of the extracted sources, same
//! size and mtime, goes unseen, while a checked-hash pyc sees it. `pyc status` on the result says
//! all fresh; a second run writes nothing, `-f` replaces every pyc. 2.7 and 3.6 have no
//! hash-based pycs: the default mode is refused there (one line, the archive untouched) and
//! timestamp pycs with the member's mtime are what they import after `tar -x`.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn py3() -> String {
    std::env::var("PYC_TEST_PY3").unwrap_or_else(|_| "python3".into())
}

fn output(exe: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(exe)
        .args(args)
        .current_dir(dir)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .unwrap_or_else(|e| panic!("{exe}: {e}"))
}

fn run(exe: &str, args: &[&str], dir: &Path) -> String {
    let out = output(exe, args, dir);
    assert!(
        out.status.success(),
        "{exe} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const LONG: &str =
    "a_package_folder_whose_name_is_long_enough_that_its_members_need_an_extension_header_in_tar";

/// Writes `pkg.tar` (then compressed to argv[2] by the caller): argv[1] is `pax` or `gnu`.
const MAKE: &str = r#"
import tarfile, io, sys, os
fmt = tarfile.PAX_FORMAT if sys.argv[1] == 'pax' else tarfile.GNU_FORMAT
LONG = sys.argv[2]
body = b'X = "one"\ndef f():\n    pass\n'
members = [
    ('pkg', tarfile.DIRTYPE, None, 0o750),
    ('pkg/__init__.py', tarfile.REGTYPE, body, 0o640),
    ('pkg/mod.py', tarfile.REGTYPE, body, 0o755),
    ('pkg/' + LONG, tarfile.DIRTYPE, None, 0o755),
    ('pkg/' + LONG + '/__init__.py', tarfile.REGTYPE, body, 0o644),
    ('pkg/' + LONG + '/deep.py', tarfile.REGTYPE, body, 0o644),
    ('main.py', tarfile.REGTYPE, body, 0o644),
    ('data.txt', tarfile.REGTYPE, b'data\n', 0o600),
    ('pkg/alias.txt', tarfile.SYMTYPE, '../data.txt', 0o777),
    ('pkg/hard.txt', tarfile.LNKTYPE, 'data.txt', 0o600),
]
with tarfile.open('pkg.tar', 'w', format=fmt) as t:
    for i, (name, kind, data, mode) in enumerate(members):
        ti = tarfile.TarInfo(('./' if i % 2 else '') + name)
        ti.type = kind
        ti.mode = mode
        ti.uid, ti.gid, ti.uname, ti.gname = 1234, 5678, 'alice', 'staff'
        ti.mtime = 1700000000 + 7 * i
        if fmt == tarfile.PAX_FORMAT and name == 'pkg/mod.py':
            ti.mtime = 1700000000.75
            ti.pax_headers = {'comment': 'kept'}
        if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
            ti.linkname = data
            t.addfile(ti)
        elif data is None:
            t.addfile(ti)
        else:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
"#;

/// The members of a (compressed) tar as `[name, type, sha256 of the raw member bytes:
/// extension headers, header, data, padding]`, in order, from the decompressed stream.
const MEMBERS: &str = r#"
import tarfile, io, sys, json, hashlib, subprocess, gzip, bz2, lzma
p = sys.argv[1]
raw = open(p, 'rb').read()
if raw[:2] == b'\x1f\x8b': raw = gzip.decompress(raw)
elif raw[:3] == b'BZh': raw = bz2.decompress(raw)
elif raw[:6] == b'\xfd7zXZ\x00': raw = lzma.decompress(raw)
elif raw[:4] == b'\x28\xb5\x2f\xfd': raw = subprocess.run(['zstd', '-dc', p], stdout=subprocess.PIPE, check=True).stdout
out = []
with tarfile.open(fileobj=io.BytesIO(raw)) as t:
    for m in t.getmembers():
        end = m.offset_data + (m.size + 511) // 512 * 512 if m.isreg() else m.offset_data
        out.append([m.name, m.type.decode(), hashlib.sha256(raw[m.offset:end]).hexdigest()])
print(json.dumps(out))
"#;

/// Imports every module from `sys.argv[1]` and prints `NAME X` for each.
const IMPORT: &str = r#"
import sys
sys.path.insert(0, sys.argv[1])
import importlib
for n in ['main', 'pkg', 'pkg.mod', 'pkg.LONG', 'pkg.LONG.deep']:
    n = n.replace('LONG', sys.argv[2])
    m = importlib.import_module(n)
    print(n + ' ' + m.X)
"#;

/// Replaces `one` by `two` in every extracted source, same size, same mtime.
const DECOY: &str = r#"
import os, sys
for root, dirs, files in os.walk(sys.argv[1]):
    for f in files:
        if f.endswith('.py'):
            p = os.path.join(root, f)
            st = os.stat(p)
            data = open(p, 'rb').read().replace(b'"one"', b'"two"')
            open(p, 'wb').write(data)
            os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))
"#;

const SOURCES: usize = 5;

fn pycs_in(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pyc") {
                out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn archive_doc(out: &str) -> Value {
    let doc: Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(doc["schema"], "pyc-compile/1", "{out}");
    assert_eq!(doc["failures"], Value::Array(vec![]), "{out}");
    doc["archives"][0].clone()
}

#[test]
fn compiled_tars_are_used_after_extraction_by_every_interpreter() {
    let pythons = pyc_testutil::live_pythons();
    let pyc = env!("CARGO_BIN_EXE_pyc");
    let kinds = ["tar", "tar.gz", "tgz", "tar.bz2", "tar.xz", "tar.zst"];
    let mut used = Vec::new();
    for (k, py) in pythons.iter().enumerate() {
        let exe = py.path.to_str().unwrap();
        let has_hash = !["2.7", "3.6"].contains(&py.version.as_str());
        let kind = kinds[k % kinds.len()];
        let fmt = if k % 2 == 0 { "pax" } else { "gnu" };
        let mut modes = vec![None, Some("unchecked-hash"), Some("timestamp")];
        if !has_hash {
            modes = vec![None, Some("timestamp")];
        }
        for (round, mode) in modes.iter().enumerate() {
            let what = format!("{} {kind} {fmt} {mode:?}", py.version);
            let tmp = tempfile::tempdir().unwrap();
            let dir = tmp.path();
            run(&py3(), &["-c", MAKE, fmt, LONG], dir);
            let name = format!("pkg.{kind}");
            match kind {
                "tar" => std::fs::rename(dir.join("pkg.tar"), dir.join(&name)).unwrap(),
                "tar.gz" | "tgz" => {
                    run("gzip", &["-9", "-n", "pkg.tar"], dir);
                    std::fs::rename(dir.join("pkg.tar.gz"), dir.join(&name)).unwrap();
                }
                "tar.bz2" => drop(run("bzip2", &["pkg.tar"], dir)),
                "tar.xz" => drop(run("xz", &["pkg.tar"], dir)),
                _ => drop(run("zstd", &["-q", "--rm", "pkg.tar"], dir)),
            }
            let before: Vec<Value> =
                serde_json::from_str(&run(&py3(), &["-c", MEMBERS, &name], dir)).unwrap();
            let perms = std::fs::metadata(dir.join(&name)).unwrap().permissions();
            let mut args = vec!["compile", "--format", "json", "--python", exe];
            if let Some(m) = mode {
                args.extend(["--invalidation-mode", m]);
            }
            args.push(&name);
            if mode.is_none() && !has_hash {
                // No hash-based pycs: refused in one line, nothing written.
                let bytes = std::fs::read(dir.join(&name)).unwrap();
                let out = output(pyc, &args, dir);
                let err = String::from_utf8_lossy(&out.stderr);
                assert_eq!(out.status.code(), Some(1), "{what}: {err}");
                assert_eq!(err.lines().count(), 1, "{what}: {err}");
                assert!(
                    err.starts_with("pyc: ") && err.contains("hash-based"),
                    "{what}: {err}"
                );
                assert_eq!(std::fs::read(dir.join(&name)).unwrap(), bytes, "{what}");
                let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
                assert_eq!(left.len(), 1, "{what}: {left:?}");
                continue;
            }
            let first = archive_doc(&run(pyc, &args, dir));
            assert_eq!(
                (&first["added"], &first["replaced"], &first["rewritten"]),
                (&Value::from(SOURCES), &Value::from(0), &Value::from(true)),
                "{what}: {first}"
            );
            assert_eq!(
                std::fs::metadata(dir.join(&name)).unwrap().permissions(),
                perms
            );
            // Only the archive is left in the folder (no temporary file).
            let left: Vec<_> = std::fs::read_dir(dir).unwrap().collect();
            assert_eq!(left.len(), 1, "{what}: {left:?}");
            // Every original member, byte for byte and in order; the new ones are pycs and
            // `__pycache__` folders.
            let after: Vec<Value> =
                serde_json::from_str(&run(&py3(), &["-c", MEMBERS, &name], dir)).unwrap();
            let (kept, new): (Vec<&Value>, Vec<&Value>) = after.iter().partition(|m| {
                let n = m[0].as_str().unwrap();
                !(n.ends_with(".pyc") || n.ends_with("__pycache__"))
            });
            assert_eq!(kept, before.iter().collect::<Vec<_>>(), "{what}");
            assert_eq!(
                new.iter()
                    .filter(|m| m[0].as_str().unwrap().ends_with(".pyc"))
                    .count(),
                SOURCES,
                "{what}: {after:?}"
            );
            // Extracted by GNU tar, imported: every module from its pyc.
            let x = dir.join("x");
            std::fs::create_dir(&x).unwrap();
            run("tar", &["-xf", &name, "-C", "x"], dir);
            let pycs = pycs_in(&x);
            assert_eq!(pycs.len(), SOURCES, "{what}: {pycs:?}");
            let out = output(exe, &["-v", "-c", IMPORT, "x", LONG], dir);
            let log = String::from_utf8_lossy(&out.stderr);
            assert!(out.status.success(), "{what}: {log}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert_eq!(stdout.lines().count(), SOURCES, "{what}: {stdout}");
            assert!(
                stdout.lines().all(|l| l.ends_with(" one")),
                "{what}: {stdout}"
            );
            for (p, _) in &pycs {
                // Relative to `dir`, as the import names it (`x` on sys.path).
                let p = &p[dir.display().to_string().len() + 1..];
                assert!(
                    log.lines().any(|l| (l.contains("code object from")
                        || l.contains("precompiled from"))
                        && l.contains(p)),
                    "{what}: {p} was not loaded: {log}"
                );
            }
            assert_eq!(pycs_in(&x), pycs, "{what}: a pyc was written again");
            // The decoy: sources edited after extraction, same size and mtime.
            run(&py3(), &["-c", DECOY, "x"], dir);
            let stdout = run(exe, &["-c", IMPORT, "x", LONG], dir);
            let seen = if *mode == Some("timestamp") || *mode == Some("unchecked-hash") {
                " one" // the pyc ran
            } else {
                " two" // a checked hash sees the edit
            };
            assert!(
                stdout.lines().all(|l| l.ends_with(seen)),
                "{what}: {stdout}"
            );
            // pyc status agrees.
            let out = run(
                pyc,
                &["status", "--format", "json", "--python", exe, &name],
                dir,
            );
            let doc: Value = serde_json::from_str(&out).unwrap();
            let judged: Vec<&Value> = doc["records"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| !r["source"].is_null())
                .collect();
            assert_eq!(judged.len(), SOURCES, "{what}: {out}");
            assert!(
                judged.iter().all(|r| r["state"] == "fresh"),
                "{what}: {out}"
            );
            if round > 1 {
                continue;
            }
            // Incremental: nothing to write, the file untouched; -f replaces every pyc.
            let bytes = std::fs::read(dir.join(&name)).unwrap();
            let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
            std::fs::File::options()
                .write(true)
                .open(dir.join(&name))
                .unwrap()
                .set_modified(old)
                .unwrap();
            let again = archive_doc(&run(pyc, &args, dir));
            assert_eq!(again["rewritten"], false, "{what}: {again}");
            assert_eq!(again["up_to_date"], SOURCES, "{what}: {again}");
            assert_eq!(std::fs::read(dir.join(&name)).unwrap(), bytes);
            let meta = std::fs::metadata(dir.join(&name)).unwrap();
            assert_eq!(meta.modified().unwrap(), old, "{what}: written again");
            let mut forced = args.clone();
            forced.insert(1, "-f");
            let forced = archive_doc(&run(pyc, &forced, dir));
            assert_eq!(
                (&forced["added"], &forced["replaced"]),
                (&Value::from(0), &Value::from(SOURCES)),
                "{what}: {forced}"
            );
            let again: Vec<Value> =
                serde_json::from_str(&run(&py3(), &["-c", MEMBERS, &name], dir)).unwrap();
            assert_eq!(again.len(), after.len(), "{what}: {again:?}");
        }
        used.push(py.clone());
    }
    pyc_testutil::report_used(
        "compiled_tars_are_used_after_extraction_by_every_interpreter",
        &used,
    );
}

/// Ctrl-C while the new archive is being written: exit 130, the temporary file is gone and the
/// old archive is as it was (bytes). Without a handler SIGINT killed pyc and left the
/// temporary `.pyc-archive-*` file behind.
#[test]
fn ctrl_c_during_a_tar_write_leaves_nothing_behind() {
    let Some(py) = pyc_testutil::live_pythons()
        .into_iter()
        .rev()
        .find(|p| p.version.starts_with("3.") && p.version != "3.6")
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // Incompressible data: xz at preset 6 takes seconds over it, time to send the signal.
    run(
        &py3(),
        &[
            "-c",
            "import tarfile, io, os\n\
             with tarfile.open('big.tar.xz', 'w:xz', preset=0) as t:\n\
             \x20   for name, data in [('a.py', b'x = 1\\n'), ('blob', os.urandom(12 << 20))]:\n\
             \x20       ti = tarfile.TarInfo(name); ti.size = len(data)\n\
             \x20       t.addfile(ti, io.BytesIO(data))\n",
        ],
        dir,
    );
    let bytes = std::fs::read(dir.join("big.tar.xz")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pyc"))
        .args([
            "compile",
            "-q",
            "--python",
            py.path.to_str().unwrap(),
            "big.tar.xz",
        ])
        .current_dir(dir)
        .spawn()
        .unwrap();
    let temp = |dir: &Path| {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with(".pyc-archive-"))
            .count()
    };
    let start = std::time::Instant::now();
    while temp(dir) == 0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "pyc ended before writing"
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "no temporary file appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{status:?}");
    assert_eq!(temp(dir), 0, "a temporary file was left behind");
    assert_eq!(std::fs::read(dir.join("big.tar.xz")).unwrap(), bytes);
    pyc_testutil::report_used("ctrl_c_during_a_tar_write_leaves_nothing_behind", &[py]);
}
