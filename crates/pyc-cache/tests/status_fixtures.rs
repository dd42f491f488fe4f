//! pyc's verdict equals the real interpreter's, scenario by scenario.
//!
//! `scripts/gen_status.py` built each scenario (a source and a cache file with a chosen header
//! and mtime) and recorded what CPython 2.7 and 3.6–3.13 did on `import m`: loaded the cache
//! file, compiled the source, or found no module (`tests/fixtures/status/X.Y.json`). Here every
//! scenario is rebuilt in a temporary folder and classified; the verdicts must agree.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use pyc_cache::classify::{
    CheckHashBasedPycs, Classifier, ClassifyOptions, Reason, Record, State, Target,
};
use serde_json::Value;

fn b64(s: &str) -> Vec<u8> {
    pyc_testutil::b64decode(s).unwrap_or_else(|| panic!("bad base64 {s:?}"))
}

fn set_mtime_ns(path: &Path, ns: i64) {
    let t = if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    };
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_modified(t).unwrap();
}

fn stat_mtime_ns(path: &Path) -> i64 {
    use std::os::unix::fs::MetadataExt;
    let m = fs::metadata(path).unwrap();
    m.mtime() * 1_000_000_000 + m.mtime_nsec()
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = pyc_testutil::fixtures("status");
    let mut v: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        // X.Y.json (pyclean.json is the clean fixture)
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        })
        .collect();
    v.sort();
    v
}

struct Checked {
    scenarios: usize,
    broken: usize,
}

fn check_version(doc: &Value, c: &mut Checked) {
    let version: pyc_format::PyVersion = doc["version"].as_str().unwrap().parse().unwrap();
    let Some(magic_b64) = doc["magic"].as_str() else {
        return; // pyodide: hashes only
    };
    let magic_bytes = b64(magic_b64);
    let magic = u16::from_le_bytes([magic_bytes[0], magic_bytes[1]]);
    let tag = doc["tag"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| format!("cpython-{}{}", version.major, version.minor));
    for sc in doc["scenarios"].as_array().unwrap() {
        let name = sc["name"].as_str().unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let work = root.join("work");
        let prefix = root.join("prefix");
        fs::create_dir_all(&work).unwrap();
        let source = sc["source"].as_str().map(b64);
        let legacy = version.major == 2;
        if let Some(pyc) = sc["pyc"].as_str().map(b64) {
            let place = sc["place"].as_str().unwrap();
            let cache_name = format!("m.{tag}.pyc");
            let path = match place {
                "beside" => work.join("m.pyc"),
                "default" if legacy => work.join("m.pyc"),
                "prefix" => prefix
                    .join(work.strip_prefix("/").unwrap())
                    .join(&cache_name),
                _ => work.join("__pycache__").join(&cache_name),
            };
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, pyc).unwrap();
        }
        if let Some(src) = &source {
            let p = work.join("m.py");
            fs::write(&p, src).unwrap();
            let want = sc["source_mtime_ns"].as_i64().unwrap();
            set_mtime_ns(&p, want);
            assert_eq!(
                stat_mtime_ns(&p),
                want,
                "{version} {name}: cannot set mtime"
            );
        }
        let mut target = Target::for_version(version).unwrap();
        target.magic = magic;
        target.tag = tag.clone();
        if let Some(m) = sc["check_hash_based_pycs"].as_str() {
            target.check_hash_based_pycs = m.parse::<CheckHashBasedPycs>().unwrap();
        }
        if sc["pycache_prefix"].as_bool().unwrap_or(false) {
            target.prefix = Some(prefix.to_str().unwrap().as_bytes().to_vec());
        }
        // Twice: the header check alone (the interpreter's freshness decision), and with
        // --verify (which also predicts whether loading the body succeeds).
        for verify in [false, true] {
            let classifier = Classifier::new(
                vec![target.clone()],
                ClassifyOptions {
                    cwd: work.to_str().unwrap().as_bytes().to_vec(),
                    verify,
                    ..Default::default()
                },
            );
            let records = classifier.classify_tree(&[work.as_path()]).records;
            let show = |rs: &[Record]| {
                rs.iter()
                    .map(|r| {
                        format!(
                            "{} {} {:?} {:?} {:?}",
                            r.source_display(),
                            r.cache_display(),
                            r.state,
                            r.reason,
                            r.detail
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n    ")
            };
            let ctx = format!(
                "{version} {name} (verify {verify}): interpreter {} ({:?}, {}), pyc said:\n    {}",
                sc["interpreter_outcome"],
                sc["interpreter_reason"],
                sc["interpreter_log"],
                show(&records)
            );
            let outcome = sc["interpreter_outcome"].as_str().unwrap();
            if source.is_some() {
                let verdict = records
                    .iter()
                    .find(|r| {
                        r.target_index == Some(0)
                            && r.state != State::Unwritable
                            && r.source.as_deref().is_some_and(|s| s.ends_with(b"/m.py"))
                    })
                    .unwrap_or_else(|| panic!("no verdict: {ctx}"));
                match outcome {
                    "cache" => assert_eq!(verdict.state, State::Fresh, "{ctx}"),
                    // The header passes, the body does not load: the import fails.
                    "error" if !verify => assert_eq!(verdict.state, State::Fresh, "{ctx}"),
                    "error" => {
                        assert_eq!(verdict.state, State::Broken, "{ctx}");
                        let non_code = sc["interpreter_log"]
                            .as_array()
                            .unwrap()
                            .iter()
                            .any(|l| l.as_str().unwrap().contains("Non-code object"));
                        let want = if non_code {
                            Reason::NotCode
                        } else {
                            Reason::BadMarshal
                        };
                        assert_eq!(verdict.reason, Some(want), "{ctx}");
                        c.broken += 1;
                    }
                    "compiled" => assert!(
                        matches!(verdict.state, State::Stale | State::Missing),
                        "{ctx}"
                    ),
                    other => panic!("unexpected outcome {other}: {ctx}"),
                }
                let allowed: &[Reason] = match sc["interpreter_reason"].as_str() {
                    _ if outcome == "error" => &[],
                    Some("magic") => &[Reason::Magic, Reason::Truncated],
                    Some("eof") => &[Reason::Truncated],
                    Some("stale") if legacy => &[Reason::Mtime, Reason::Truncated],
                    Some("stale") => &[Reason::Mtime, Reason::Size],
                    Some("hash") => &[Reason::Hash],
                    Some("flags") => &[Reason::Flags],
                    _ => &[],
                };
                if !allowed.is_empty() {
                    assert!(
                        verdict.reason.is_some_and(|r| allowed.contains(&r)),
                        "reason: {ctx}"
                    );
                }
            } else {
                let want = match outcome {
                    "cache" => State::Sourceless,
                    "not-found" => State::Orphan,
                    other => panic!("unexpected outcome {other}: {ctx}"),
                };
                assert!(records.iter().any(|r| r.state == want), "{ctx}");
            }
        }
        c.scenarios += 1;
    }
}

#[test]
fn verdicts_equal_the_interpreters() {
    let mut c = Checked {
        scenarios: 0,
        broken: 0,
    };
    let mut versions = Vec::new();
    for f in fixture_files() {
        let doc: Value = serde_json::from_str(&fs::read_to_string(&f).unwrap()).unwrap();
        versions.push(doc["version"].as_str().unwrap().to_string());
        check_version(&doc, &mut c);
    }
    eprintln!(
        "checked {} scenarios from fixtures of {}",
        c.scenarios,
        versions.join(", ")
    );
    assert!(c.scenarios > 200, "too few scenarios: {}", c.scenarios);
    // truncated, garbage and non-code bodies for each of 11 versions
    assert!(
        c.broken >= 33,
        "too few broken bodies checked: {}",
        c.broken
    );
}

#[test]
fn source_hash_equals_importlib_util_source_hash() {
    let mut n = 0;
    for f in fixture_files() {
        let doc: Value = serde_json::from_str(&fs::read_to_string(&f).unwrap()).unwrap();
        let version: pyc_format::PyVersion = doc["version"].as_str().unwrap().parse().unwrap();
        let info = pyc_format::version_info(version).unwrap();
        for h in doc["source_hashes"].as_array().unwrap() {
            let src = b64(h["source"].as_str().unwrap());
            let want = b64(h["hash"].as_str().unwrap());
            let got = pyc_format::source_hash(info.source_hash.unwrap(), info.magic, &src);
            assert_eq!(got.to_vec(), want, "{version}: source_hash of {src:?}");
            n += 1;
        }
    }
    assert!(n >= 9 * 6, "only {n} hashes checked");
}

#[test]
fn leftover_and_sourceless_and_orphan_names() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    fs::create_dir_all(d.join("pkg/__pycache__")).unwrap();
    fs::write(d.join("pkg/a.py"), "x = 1\n").unwrap();
    fs::write(d.join("pkg/__pycache__/a.cpython-312.pyc.140234"), "").unwrap();
    // pyc compile's own temporary name (write.rs), and names that only look like it.
    fs::write(
        d.join("pkg/__pycache__/a.cpython-312.opt-1.pyc.4242.7.pyc-tmp"),
        "",
    )
    .unwrap();
    fs::write(d.join("pkg/__pycache__/a.cpython-312.pyc.x.7.pyc-tmp"), "").unwrap();
    fs::write(d.join("pkg/__pycache__/a.txt.1.2.pyc-tmp"), "").unwrap();
    fs::write(d.join("pkg/__pycache__/gone.cpython-312.opt-1.pyc"), "").unwrap();
    fs::write(d.join("pkg/__pycache__/a.cpython-311.pyc"), "").unwrap();
    fs::write(d.join("pkg/__pycache__/notes.txt"), "").unwrap();
    fs::write(d.join("pkg/deployed.pyc"), "").unwrap();
    let c = Classifier::new(
        vec![Target::for_version("3.12".parse().unwrap()).unwrap()],
        ClassifyOptions::default(),
    );
    let recs = c.classify_tree(&[d]).records;
    let state_of = |suffix: &str| {
        recs.iter()
            .find(|r| {
                r.cache
                    .as_deref()
                    .is_some_and(|c| c.ends_with(suffix.as_bytes()))
            })
            .map(|r| (r.state, r.reason))
    };
    assert_eq!(
        state_of("a.cpython-312.pyc.140234"),
        Some((State::Leftover, None))
    );
    assert_eq!(
        state_of("a.cpython-312.opt-1.pyc.4242.7.pyc-tmp"),
        Some((State::Leftover, None))
    );
    assert_eq!(state_of("a.cpython-312.pyc.x.7.pyc-tmp"), None);
    assert_eq!(state_of("a.txt.1.2.pyc-tmp"), None);
    assert_eq!(
        state_of("gone.cpython-312.opt-1.pyc"),
        Some((State::Orphan, Some(Reason::SourceGone)))
    );
    assert_eq!(
        state_of("a.cpython-311.pyc"),
        Some((State::Foreign, Some(Reason::OtherTag)))
    );
    assert_eq!(state_of("deployed.pyc"), Some((State::Sourceless, None)));
    assert_eq!(state_of("notes.txt"), None);
    assert_eq!(state_of("a.cpython-312.pyc"), Some((State::Missing, None)));
}
