//! Discovery in a made-up world: a pyenv root, a uv python dir, a virtualenv and a PATH of
//! stand-in executables (never run: discovery reads names only). One test function, because
//! it sets process-wide environment variables.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pyc_format::PyVersion;
use pyc_python::{discover, resolve, Origin, ResolveError};

fn exe(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, "#!/bin/sh\nexit 1\n").unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn discovery_and_resolution() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let pyenv = t.join("pyenv");
    exe(&pyenv.join("versions/3.12.1/bin/python"));
    exe(&pyenv.join("versions/3.12.1/bin/python3.12"));
    exe(&pyenv.join("versions/3.9.18/bin/python"));
    exe(&pyenv.join("versions/3.9.18/bin/python3.9"));
    exe(&pyenv.join("shims/python3.9"));
    exe(&pyenv.join("shims/python3"));
    let uv = t.join("uv");
    exe(&uv.join("cpython-3.13.0-linux-x86_64-gnu/bin/python3"));
    exe(&uv.join("pypy-3.10.14-linux-x86_64-gnu/bin/python3"));
    let venv = t.join("venv");
    exe(&venv.join("bin/python"));
    let bin = t.join("bin");
    exe(&bin.join("python3.11"));
    let path = std::env::join_paths([pyenv.join("shims"), bin.clone()]).unwrap();

    std::env::set_var("PYENV_ROOT", &pyenv);
    std::env::set_var("PYENV_VERSION", "3.9");
    std::env::set_var("UV_PYTHON_INSTALL_DIR", &uv);
    std::env::set_var("VIRTUAL_ENV", &venv);
    std::env::set_var("PATH", &path);
    std::env::set_var("PYC_NO_PROBE_CACHE", "1");

    let found = discover();
    let rows: Vec<(Origin, Option<PyVersion>, PathBuf)> = found
        .iter()
        .map(|f| (f.origin, f.version_hint, f.path.clone()))
        .collect();
    let v = |a, b| Some(PyVersion::new(a, b));
    assert_eq!(
        rows,
        vec![
            (Origin::Venv, None, venv.join("bin/python")),
            // The shims resolve, as pyenv would with PYENV_VERSION=3.9 (a prefix of 3.9.18).
            (
                Origin::Path,
                None,
                pyenv.join("versions/3.9.18/bin/python3")
            ),
            (
                Origin::Path,
                v(3, 9),
                pyenv.join("versions/3.9.18/bin/python3.9")
            ),
            (Origin::Path, v(3, 11), bin.join("python3.11")),
            (
                Origin::Pyenv,
                v(3, 12),
                pyenv.join("versions/3.12.1/bin/python")
            ),
            (
                Origin::Pyenv,
                v(3, 9),
                pyenv.join("versions/3.9.18/bin/python")
            ),
            (
                Origin::Uv,
                v(3, 13),
                uv.join("cpython-3.13.0-linux-x86_64-gnu/bin/python3")
            ),
        ]
        .into_iter()
        // python3 shim -> versions/3.9.18/bin/python3 does not exist in this world.
        .filter(|r| r.2.exists())
        .collect::<Vec<_>>()
    );
    // The shim entry for python3.9 carries the shim as `via`.
    assert!(found
        .iter()
        .any(|f| f.via.as_deref() == Some(&pyenv.join("shims/python3.9"))));

    assert_eq!(
        resolve("3.12").unwrap(),
        pyenv.join("versions/3.12.1/bin/python")
    );
    assert_eq!(
        resolve("3.13").unwrap(),
        uv.join("cpython-3.13.0-linux-x86_64-gnu/bin/python3")
    );
    assert_eq!(resolve("3.11").unwrap(), bin.join("python3.11"));
    assert_eq!(
        resolve("python3.9").unwrap(),
        pyenv.join("versions/3.9.18/bin/python3.9")
    );
    let explicit = pyenv.join("versions/3.12.1/bin/python3.12");
    assert_eq!(resolve(explicit.to_str().unwrap()).unwrap(), explicit);

    // Not installed: the error names every place pyc looked.
    match resolve("3.7") {
        Err(e @ ResolveError::NotInstalled { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("no CPython 3.7 found; looked in: "),
                "{msg}"
            );
            for needle in [
                venv.to_str().unwrap(),
                "python3.7 and python3 on PATH",
                &format!("pyenv versions in {}", pyenv.join("versions").display()),
                "3.12.1, 3.9.18",
                &format!("uv managed pythons in {}", uv.display()),
            ] {
                assert!(msg.contains(needle), "{needle:?} not in {msg}");
            }
        }
        other => panic!("expected NotInstalled, got {other:?}"),
    }
    assert!(matches!(
        resolve("/nonexistent/python"),
        Err(ResolveError::NoSuchFile(_))
    ));
    assert!(matches!(
        resolve("python9"),
        Err(ResolveError::NotOnPath { .. })
    ));
    // A shim whose selected version lacks the command is an error that says so.
    std::env::set_var("PYENV_VERSION", "3.12.1");
    assert!(matches!(
        resolve("python3.9"),
        Err(ResolveError::Shim { .. })
    ));
}
