//! `pyc show --format json` against each real interpreter's own reading of its pycs
//! (`tests/fixtures/headers/<X.Y>/`, made by `scripts/gen_headers.py`: 2.7, 3.6-3.13 from
//! pyenv, 3.14 and 3.15 from pyodide).

use assert_cmd::Command;
use serde_json::Value;

const VERSIONS: &[&str] = &[
    "2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15",
];

fn readings(version: &str) -> Value {
    let p = pyc_testutil::fixtures("headers")
        .join(version)
        .join("readings.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("readings.json")).expect("json")
}

#[test]
fn show_json_equals_the_interpreters_reading() {
    let mut checked = 0;
    for &version in VERSIONS {
        let r = readings(version);
        let dir = pyc_testutil::fixtures("headers").join(version);
        let cases: Vec<&Value> = r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c.get("skipped").is_none())
            .collect();
        // All pycs of a version in one run: one JSON object per line, in argument order.
        let out = Command::cargo_bin("pyc")
            .unwrap()
            .arg("show")
            .arg("--format")
            .arg("json")
            .args(cases.iter().map(|c| dir.join(c["file"].as_str().unwrap())))
            .output()
            .unwrap();
        assert!(out.status.success(), "{version}: {:?}", out);
        assert!(out.stderr.is_empty(), "{version}: stderr");
        let lines: Vec<Value> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
            .collect();
        assert_eq!(lines.len(), cases.len(), "{version}");
        for (case, shown) in cases.iter().zip(&lines) {
            let what = format!("{version} {}", case["name"]);
            let reading = &case["reading"];
            assert_eq!(shown["magic"], r["magic"], "{what}");
            assert_eq!(shown["magic_status"], "known", "{what}");
            assert_eq!(shown["version"], version, "{what}");
            assert_eq!(
                shown["header_size"], reading["header_size_candidates"][0],
                "{what}: header size"
            );
            assert_eq!(
                shown["body_size"].as_u64().unwrap() + shown["header_size"].as_u64().unwrap(),
                case["file_size"].as_u64().unwrap(),
                "{what}: body size"
            );
            // `flags` is absent from the reading (null) before 3.7, as in the JSON.
            assert_eq!(shown["flags"], reading["flags"], "{what}: flags");
            assert_eq!(shown["invalidation"], reading["mode"], "{what}: mode");
            assert_eq!(shown["mtime"], reading["mtime"], "{what}: mtime");
            // UTC as the interpreter's time.gmtime gives it.
            assert_eq!(
                shown["mtime_utc"], reading["mtime_utc"],
                "{what}: mtime UTC"
            );
            assert_eq!(
                shown["source_size"], reading["source_size"],
                "{what}: source size"
            );
            assert_eq!(
                shown["source_hash"], reading["source_hash"],
                "{what}: source hash"
            );
            if let Some(flags) = reading["flags"].as_u64() {
                assert_eq!(shown["hash_based"], flags & 1 != 0, "{what}");
                assert_eq!(shown["check_source"], flags & 2 != 0, "{what}");
            }
            checked += 1;
        }
    }
    assert!(checked > 150, "only {checked}");
}

#[test]
fn show_text_names_version_mode_and_fields() {
    let dir = pyc_testutil::fixtures("headers");
    let out = Command::cargo_bin("pyc")
        .unwrap()
        .arg("show")
        .arg(dir.join("3.7/checked-hash-doc.pyc"))
        .arg(dir.join("2.7/ts-mtime1600000000.pyc"))
        .arg(dir.join("3.6/ts-mtime4294967295.pyc"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    // Values from readings.json: the 3.7 interpreter's source_hash of the source, the
    // mtimes the interpreters stored and their time.gmtime.
    let r37 = readings("3.7");
    let hash = r37["source_hash_of_sources"]["doc"].as_str().unwrap();
    let utc = |v: &str, case: &str| -> String {
        let r = readings(v);
        let c = r["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == case)
            .unwrap()
            .clone();
        let reading = &c["reading"];
        format!(
            "mtime        {} = {}",
            reading["mtime"],
            reading["mtime_utc"].as_str().unwrap()
        )
    };
    for want in [
        "magic        3394 (CPython 3.7; since 3.7b5)",
        "flags        0x00000003: checked-hash (hash_based, check_source)",
        &format!("source hash  {hash}"),
        "magic        62211 (CPython 2.7",
        "header       8 bytes",
        &utc("2.7", "ts-mtime1600000000"),
        "header       12 bytes",
        &utc("3.6", "ts-mtime4294967295"),
        "source size  46",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
}
