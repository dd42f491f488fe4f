//! Every `--format json` document carries its `"schema"` (`pyc-COMMAND/N`) and validates
//! against `docs/schemas/COMMAND.json`, the schemas `docs/json.md` describes. Each subcommand
//! is run on golden fixtures (and, for those that need an interpreter, on the live ones).

use std::path::{Path, PathBuf};
use std::process::Command;

use pyc_testutil::{fixtures, live_python, live_pythons, repo_root, report_used};
use serde_json::Value;

const COMMANDS: [&str; 11] = [
    "show",
    "path",
    "dis",
    "diff",
    "status",
    "normalize",
    "clean",
    "compile",
    "python",
    "importtime",
    "cache",
];

fn validator(command: &str) -> jsonschema::Validator {
    let file = repo_root().join(format!("docs/schemas/{command}.json"));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{file:?}: {e}"))
}

fn pyc(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("pyc"))
        .current_dir(dir)
        .args(args)
        .env_remove("PYTHONDONTWRITEBYTECODE")
        .env_remove("PYTHONPYCACHEPREFIX")
        .output()
        .unwrap()
}

/// Checks every JSON document in `out` (one per line when `per_line`) against COMMAND's schema;
/// returns how many were checked.
fn check(command: &str, out: &std::process::Output, per_line: bool) -> usize {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{command}: {out:?}"
    );
    let docs: Vec<Value> = if per_line {
        stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{command}: {e}: {l}")))
            .collect()
    } else {
        vec![serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{command}: {e}: {stdout}"))]
    };
    let v = validator(command);
    for d in &docs {
        assert_eq!(d["schema"], format!("pyc-{command}/1"), "{command}: {d}");
        let errors: Vec<String> = v
            .iter_errors(d)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(errors.is_empty(), "{command}: {errors:#?}\n{d}");
    }
    assert!(!docs.is_empty(), "{command}: no JSON document");
    docs.len()
}

/// A small tree: two good sources, one that does not compile, an orphan cache.
fn tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(t.path().join("a.py"), "x = 1\n").unwrap();
    std::fs::write(t.path().join("b.py"), "def f():\n    return 2\n").unwrap();
    std::fs::write(t.path().join("bad.py"), "z = (\n").unwrap();
    std::fs::create_dir(t.path().join("__pycache__")).unwrap();
    std::fs::copy(
        fixtures("dis/3.12/basic.pyc"),
        t.path().join("__pycache__/gone.cpython-312.pyc"),
    )
    .unwrap();
    t
}

fn s(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

#[test]
fn every_schema_file_is_a_valid_schema_of_a_command() {
    let dir = repo_root().join("docs/schemas");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = COMMANDS.iter().map(|c| format!("{c}.json")).collect();
    expected.sort();
    assert_eq!(names, expected);
    let doc = std::fs::read_to_string(repo_root().join("docs/json.md")).unwrap();
    for c in COMMANDS {
        validator(c);
        assert!(
            doc.contains(&format!("`pyc-{c}/1`")),
            "docs/json.md lacks pyc-{c}/1"
        );
    }
}

#[test]
fn documents_without_an_interpreter_match_their_schemas() {
    let pycs: Vec<PathBuf> = [
        "dis/3.12/basic.pyc",
        "dis/2.7/basic.pyc",
        "dis/3.6/basic.pyc",
    ]
    .iter()
    .map(|p| fixtures(p))
    .collect();
    let t = tree();
    let d = t.path();
    let p: Vec<String> = pycs.iter().map(|p| s(p)).collect();
    let mut n = 0;
    n += check(
        "show",
        &pyc(d, &["show", "--format", "json", &p[0], &p[1], &p[2]]),
        true,
    );
    n += check(
        "show",
        &pyc(d, &["show", "--code", "--format", "json", &p[0], &p[1]]),
        true,
    );
    n += check(
        "path",
        &pyc(
            d,
            &[
                "path",
                "--format",
                "json",
                "--python",
                "3.12",
                "a.py",
                "__pycache__/a.cpython-312.pyc",
            ],
        ),
        true,
    );
    n += check(
        "dis",
        &pyc(d, &["dis", "--format", "json", &p[0], &p[2]]),
        true,
    );
    n += check("dis", &pyc(d, &["dis", "--format", "json", &p[1]]), true);
    n += check(
        "diff",
        &pyc(d, &["diff", "--format", "json", &p[0], &p[2]]),
        false,
    );
    n += check(
        "status",
        &pyc(d, &["status", "--python", "3.12", "--format", "json", "."]),
        false,
    );
    // The code cache folder's upkeep (an empty folder is enough for the shapes).
    let cc = d.join("cc");
    std::fs::create_dir(&cc).unwrap();
    let cc = s(&cc);
    for action in [&["stats"][..], &["prune", "--max-size", "1M"], &["clear"]] {
        let mut args = vec!["cache", "--format", "json", "--dir", cc.as_str()];
        args.extend(action);
        n += check("cache", &pyc(d, &args), false);
    }
    // An archive: records of zipimport's verdict.
    let app = d.join("app.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&app).unwrap());
        z.start_file("m.py", zip::write::SimpleFileOptions::default())
            .unwrap();
        std::io::Write::write_all(&mut z, b"x = 1\n").unwrap();
        z.finish().unwrap();
    }
    n += check(
        "status",
        &pyc(
            d,
            &["status", "--python", "3.12", "--format", "json", "app.zip"],
        ),
        false,
    );
    // JSON lines: a first line naming the schema, then records as in `records`.
    let out = pyc(d, &["status", "--python", "3.12", "--format", "jsonl", "."]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(r#"{"schema":"pyc-status/1"}"#), "{text}");
    let records: Vec<Value> = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    assert!(records.len() >= 4, "{text}");
    let doc = serde_json::json!({"schema": "pyc-status/1", "records": records});
    assert!(validator("status").is_valid(&doc), "{text}");
    n += check(
        "normalize",
        &pyc(d, &["normalize", "--dry-run", "--format", "json", "."]),
        false,
    );
    n += check(
        "clean",
        &pyc(d, &["clean", "--dry-run", "--format", "json", "."]),
        false,
    );
    assert!(n >= 10);
}

#[test]
fn documents_of_live_runs_match_their_schemas() {
    let Some(py) = live_python("3.12").or_else(|| live_pythons().into_iter().last()) else {
        report_used("documents_of_live_runs_match_their_schemas", &[]);
        return;
    };
    report_used(
        "documents_of_live_runs_match_their_schemas",
        std::slice::from_ref(&py),
    );
    let exe = s(&py.path);
    let t = tree();
    let d = t.path();
    check(
        "compile",
        &pyc(
            d,
            &[
                "compile",
                "--dry-run",
                "--python",
                &exe,
                "--format",
                "json",
                ".",
            ],
        ),
        false,
    );
    // bad.py fails to compile: the document carries a failure (exit 1).
    check(
        "compile",
        &pyc(d, &["compile", "--python", &exe, "--format", "json", "."]),
        false,
    );
    check(
        "status",
        &pyc(d, &["status", "--python", &exe, "--format", "json", "."]),
        false,
    );
    // `pyc compile ARCHIVE`: a zip with a good and a bad source (a failure, exit 1), then a
    // second run with nothing to write.
    let z = tempfile::tempdir().unwrap();
    {
        use std::io::Write;
        let f = std::fs::File::create(z.path().join("app.zip")).unwrap();
        let mut w = zip::ZipWriter::new(f);
        for (name, body) in [("a.py", "x = 1\n"), ("bad.py", "z = (\n")] {
            w.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(body.as_bytes()).unwrap();
        }
        w.finish().unwrap();
    }
    // --dry-run first (what would be written), then the writes.
    check(
        "compile",
        &pyc(
            z.path(),
            &[
                "compile",
                "--dry-run",
                "--python",
                &exe,
                "--format",
                "json",
                "app.zip",
            ],
        ),
        false,
    );
    for _ in 0..2 {
        check(
            "compile",
            &pyc(
                z.path(),
                &["compile", "--python", &exe, "--format", "json", "app.zip"],
            ),
            false,
        );
    }
    check(
        "python",
        &pyc(d, &["python", "--python", &exe, "--format", "json"]),
        false,
    );
    check(
        "importtime",
        &pyc(
            d,
            &[
                "importtime",
                "--python",
                &exe,
                "-n",
                "1",
                "--format",
                "json",
                "-c",
                "import a",
            ],
        ),
        false,
    );
}
