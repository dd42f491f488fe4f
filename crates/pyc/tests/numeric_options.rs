//! Every numeric option refuses values it cannot use with a usage error (exit 2) that names
//! the option, never a panic (issue 16: `--timeout 1e20` panicked converting to a Duration).

use assert_cmd::Command;

#[test]
fn out_of_range_numbers_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().to_str().unwrap();
    let big = "99999999999999999999999";
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["compile", "--timeout", "1e20", d], "--timeout"),
        (vec!["compile", "--timeout", "inf", d], "--timeout"),
        (vec!["compile", "--timeout", "nan", d], "--timeout"),
        (vec!["compile", "--timeout", "0", d], "--timeout"),
        (vec!["compile", "--timeout=-5", d], "--timeout"),
        (vec!["compile", "--timeout", "1e-300", d], "--timeout"),
        (vec!["compile", "--timeout", "ten", d], "--timeout"),
        (
            vec!["importtime", "--timeout", "1e20", "-c", "pass"],
            "--timeout",
        ),
        (
            vec!["importtime", "--timeout", "1e308", "-c", "pass"],
            "--timeout",
        ),
        (vec!["compile", "-j", big, d], "--jobs"),
        (vec!["compile", "-r", big, d], "--max-depth"),
        (vec!["compile", "-O", "3", d], "--optimize"),
        (vec!["status", "-O", "7", d], "--optimize"),
        (vec!["status", "-O", big, d], "--optimize"),
        (vec!["clean", "-n", "-O", "9", d], "--optimize"),
        (vec!["dis", "--depth", big, d], "--depth"),
        (vec!["importtime", "--depth", big, "-c", "pass"], "--depth"),
        (vec!["importtime", "-n", "0", "-c", "pass"], "--runs"),
    ];
    for (args, option) in cases {
        let out = Command::cargo_bin("pyc")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(stderr.contains(option), "{args:?}: {stderr}");
    }
}
