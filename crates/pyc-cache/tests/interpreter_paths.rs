//! `cache_from_source` / `source_from_cache` against every real interpreter's own answers
//! (`tests/fixtures/paths/<X.Y>.json`, made by `scripts/gen_paths.py`: 3.6-3.13 from pyenv,
//! 3.14/3.15 from pyodide, `importlib.util`; 2.7 from `py_compile` and `inspect`).

use pyc_cache::paths::{cache_from_source, source_from_cache, CacheOptions};
use pyc_format::{version_info, PyVersion};
use serde_json::Value;

const VERSIONS: &[&str] = &[
    "2.7", "3.6", "3.7", "3.8", "3.9", "3.10", "3.11", "3.12", "3.13", "3.14", "3.15",
];

/// Python's `str()` of the optimization argument.
fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        other => panic!("optimization {other}"),
    }
}

#[test]
fn paths_equal_importlib_util_for_every_version() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for &version in VERSIONS {
        let p = pyc_testutil::fixtures("paths").join(format!("{version}.json"));
        let data: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let info = version_info(version.parse::<PyVersion>().unwrap()).unwrap();
        assert_eq!(info.cache_tag, data["cache_tag"].as_str(), "{version}");
        for a in data["answers"].as_array().unwrap() {
            let path = a["path"].as_str().unwrap().as_bytes();
            let prefix = a["prefix"].as_str().map(str::as_bytes);
            let got = match a["op"].as_str().unwrap() {
                "cache_from_source" => {
                    let optimization = py_str(&a["optimization"]);
                    cache_from_source(
                        info,
                        path,
                        CacheOptions {
                            optimization: &optimization,
                            prefix,
                            cwd: a["cwd"].as_str().unwrap_or("/").as_bytes(),
                        },
                    )
                }
                _ => source_from_cache(info, path, prefix),
            };
            let got = match got {
                Ok(p) => Value::String(String::from_utf8(p).unwrap()),
                Err(e) => Value::String(e.to_string()),
            };
            let want = a.get("result").or(a.get("error")).unwrap();
            if &got != want {
                failures.push(format!("{version} {a}\n    got {got}"));
            }
            checked += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 6000, "only {checked}");
}
