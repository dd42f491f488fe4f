//! `pyc status ARCHIVE`: hostile and broken archives give one line and exit 1 (the archives
//! are generated here, nothing big is committed); the default use is chosen by kind and shown.

use std::path::Path;
use std::process::{Command, Output};

fn py3(code: &str, dir: &Path) {
    let py = std::env::var("PYC_TEST_PY3").unwrap_or_else(|_| "python3".into());
    let out = Command::new(py)
        .args(["-c", code])
        .current_dir(dir)
        .output()
        .expect("python3 builds the archives");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn status(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pyc"))
        .arg("status")
        .args(["--python", "3.12"])
        .args(args)
        .current_dir(dir)
        .env("TZ", "UTC")
        .output()
        .unwrap()
}

fn one_line_error(out: &Output, path: &str, what: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{path}: {err}");
    assert_eq!(err.lines().count(), 1, "{path}: {err}");
    assert!(err.starts_with(&format!("pyc: {path}: ")), "{err}");
    assert!(err.contains(what), "{path}: expected {what:?} in {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn zip_bomb_is_refused_from_what_the_directory_claims() {
    let tmp = tempfile::tempdir().unwrap();
    // 256 MiB of zeros deflate to about 250 KiB: a ratio over 1000:1.
    py3(
        "import zipfile\n\
         with zipfile.ZipFile('bomb.zip', 'w', zipfile.ZIP_DEFLATED, compresslevel=9) as z:\n\
         \x20   with z.open('m.py', 'w', force_zip64=True) as f:\n\
         \x20       for _ in range(256): f.write(bytes(1 << 20))\n",
        tmp.path(),
    );
    let out = status(tmp.path(), &["bomb.zip"]);
    one_line_error(&out, "bomb.zip", "zip bomb");
}

#[test]
fn overlapping_entries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // Two central-directory records pointing at the same data (the overlapping-file bomb).
    py3(
        "import zipfile, struct\n\
         with zipfile.ZipFile('o.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   z.writestr('a.py', 'x = 1\\n' * 20000)\n\
         d = open('o.zip', 'rb').read()\n\
         eocd = d.rindex(b'PK\\x05\\x06')\n\
         cd_off = struct.unpack('<I', d[eocd+16:eocd+20])[0]\n\
         cd = d[cd_off:eocd]\n\
         cd2 = cd.replace(b'a.py', b'b.py')\n\
         e = bytearray(d[eocd:])\n\
         struct.pack_into('<HHI', e, 8, 2, 2, len(cd) * 2)\n\
         open('o.zip', 'wb').write(d[:cd_off] + cd + cd2 + bytes(e))\n",
        tmp.path(),
    );
    let out = status(tmp.path(), &["o.zip"]);
    one_line_error(&out, "o.zip", "overlap");
}

#[test]
fn tar_decompression_bomb_is_cut_off() {
    let tmp = tempfile::tempdir().unwrap();
    // 64 MiB of zeros in bzip2: a few hundred bytes.
    py3(
        "import tarfile, io\n\
         with tarfile.open('bomb.tar.bz2', 'w:bz2') as t:\n\
         \x20   ti = tarfile.TarInfo('big.py'); ti.size = 64 << 20\n\
         \x20   t.addfile(ti, io.BytesIO(bytes(64 << 20)))\n",
        tmp.path(),
    );
    let out = status(tmp.path(), &["bomb.tar.bz2"]);
    one_line_error(&out, "bomb.tar.bz2", "decompression bomb");
}

#[test]
fn truncated_archives_give_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    py3(
        "import zipfile, tarfile, io, os\n\
         with zipfile.ZipFile('t.zip', 'w', zipfile.ZIP_DEFLATED) as z:\n\
         \x20   z.writestr('m.py', os.urandom(50000))\n\
         d = open('t.zip', 'rb').read(); open('t.zip', 'wb').write(d[:len(d) // 2])\n\
         with tarfile.open('t.tar.gz', 'w:gz') as t:\n\
         \x20   ti = tarfile.TarInfo('m.py'); ti.size = 50000\n\
         \x20   t.addfile(ti, io.BytesIO(os.urandom(50000)))\n\
         d = open('t.tar.gz', 'rb').read(); open('t.tar.gz', 'wb').write(d[:len(d) // 2])\n",
        tmp.path(),
    );
    one_line_error(&status(tmp.path(), &["t.zip"]), "t.zip", "zip");
    one_line_error(&status(tmp.path(), &["t.tar.gz"]), "t.tar.gz", "");
}

#[test]
fn default_use_is_chosen_by_kind_and_shown() {
    let tmp = tempfile::tempdir().unwrap();
    py3(
        "import zipfile, tarfile, io\n\
         for n in ('a.whl', 'a.pyz', 'a.egg', 'a.zip'):\n\
         \x20   with zipfile.ZipFile(n, 'w') as z: z.writestr('m.py', 'x = 1\\n')\n\
         with tarfile.open('a.tar.xz', 'w:xz') as t:\n\
         \x20   ti = tarfile.TarInfo('m.py'); ti.size = 6; t.addfile(ti, io.BytesIO(b'x = 1\\n'))\n",
        tmp.path(),
    );
    for (name, shown) in [
        ("a.whl", "used as extract=zipfile (a wheel"),
        ("a.pyz", "used as zipimport (a zipapp"),
        ("a.egg", "used as zipimport (an egg"),
        ("a.zip", "used as zipimport (a zip on sys.path"),
        ("a.tar.xz", "used as extract=tar (a tar archive"),
    ] {
        let out = status(tmp.path(), &[name]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains(shown), "{name}: {text}");
        assert!(text.contains("1 missing"), "{name}: {text}");
    }
    // A use that does not fit the archive: one line, exit 1.
    let out = status(tmp.path(), &["--as", "zipimport", "a.tar.xz"]);
    one_line_error(&out, "a.tar.xz", "--as zipimport: not how a tar is used");
    let out = status(tmp.path(), &["--as", "extract=unzip", "--check", "a.pyz"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("used as extract=unzip (--as)"));
}

#[test]
fn python_all_takes_the_versions_of_the_pycs_in_the_archive() {
    let tmp = tempfile::tempdir().unwrap();
    // A 3.12 and a 3.9 header (magic 3531 and 3425) on empty bodies.
    py3(
        "import zipfile, struct\n\
         with zipfile.ZipFile('a.zip', 'w') as z:\n\
         \x20   z.writestr('m.py', 'x = 1\\n')\n\
         \x20   z.writestr('m.pyc', struct.pack('<HBBIII', 3531, 13, 10, 0, 0, 6))\n\
         \x20   z.writestr('n.pyc', struct.pack('<HBBIII', 3425, 13, 10, 0, 0, 6))\n",
        tmp.path(),
    );
    let out = Command::new(env!("CARGO_BIN_EXE_pyc"))
        .args(["status", "--python", "all", "a.zip"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("  3.9 [cpython-39]"), "{text}");
    assert!(text.contains("  3.12 [cpython-312]"), "{text}");
}
