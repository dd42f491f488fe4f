//! Malformed code objects never panic: every version, random code, line and exception
//! tables; specific defects are reported and visibly marked.

use proptest::prelude::*;
use pyc_dis::model::{Code, Const};
use pyc_dis::{Disassembler, Options};
use pyc_format::PyVersion;

const VERSIONS: &[(u8, u8)] = &[
    (2, 7),
    (3, 6),
    (3, 7),
    (3, 8),
    (3, 9),
    (3, 10),
    (3, 11),
    (3, 12),
    (3, 13),
    (3, 14),
    (3, 15),
];

fn code(bytes: Vec<u8>, linetable: Vec<u8>, exc: Vec<u8>) -> Code {
    Code {
        code: bytes.into(),
        firstlineno: 1,
        linetable: linetable.into(),
        exceptiontable: exc.into(),
        consts: vec![Const {
            repr: "None".into(),
            code: None,
        }],
        names: vec!["x".into()],
        varnames: vec!["a".into()],
        cellfree: vec![],
        name: "f".into(),
        qualname: "f".into(),
        filename: "m.py".into(),
        repr: "<code object f at 0x0, file \"m.py\", line 1>".into(),
    }
}

fn run_all(c: &Code) {
    for &(ma, mi) in VERSIONS {
        let d = Disassembler::new(PyVersion::new(ma, mi)).unwrap();
        for opts in [Options::default(), Options::everything()] {
            let mut out = String::new();
            d.dis(c, &opts, &mut out);
        }
        let _ = serde_json::to_string(&d.to_json(c, None)).unwrap();
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_bodies_never_panic(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        lt in proptest::collection::vec(any::<u8>(), 0..60),
        exc in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        run_all(&code(bytes, lt, exc));
    }

    #[test]
    fn extended_arg_chains_never_panic(n in 0usize..12, op in any::<u8>(), arg in any::<u8>()) {
        for &(ma, mi) in VERSIONS {
            let ext = pyc_dis::tables::opcodes(PyVersion::new(ma, mi)).unwrap().table.extended_arg;
            let mut bytes = Vec::new();
            for _ in 0..n {
                bytes.extend([ext, 0xff]);
                if ma == 2 { bytes.push(0xff); }
            }
            bytes.extend([op, arg]);
            if ma == 2 { bytes.push(arg); }
            run_all(&code(bytes, vec![], vec![]));
        }
    }
}

fn dis(ma: u8, mi: u8, c: &Code) -> (String, Vec<String>) {
    let d = Disassembler::new(PyVersion::new(ma, mi)).unwrap();
    let mut out = String::new();
    let problems = d.dis(c, &Options::default(), &mut out);
    (out, problems)
}

#[test]
fn truncated_instruction_is_marked() {
    let t = pyc_dis::tables::opcodes(PyVersion::new(3, 12)).unwrap();
    let load_const = t.op("LOAD_CONST").unwrap();
    // An odd-length code string: the last instruction has no argument byte.
    let (out, problems) = dis(
        3,
        12,
        &code(vec![load_const, 0, load_const], vec![], vec![]),
    );
    assert!(
        out.contains("!! code ends inside the instruction at offset 2"),
        "{out}"
    );
    assert_eq!(problems.len(), 1);
    // 2.7: a 3-byte instruction cut after its opcode.
    let t = pyc_dis::tables::opcodes(PyVersion::new(2, 7)).unwrap();
    let lc = t.op("LOAD_CONST").unwrap();
    let (out, problems) = dis(2, 7, &code(vec![lc, 0, 0, lc, 0], vec![], vec![]));
    assert!(out.contains("!! code ends inside"), "{out}");
    assert!(!problems.is_empty());
}

#[test]
fn bad_indexes_are_marked_not_panics() {
    let t = pyc_dis::tables::opcodes(PyVersion::new(3, 10)).unwrap();
    let (lc, ln) = (t.op("LOAD_CONST").unwrap(), t.op("LOAD_NAME").unwrap());
    let (out, problems) = dis(3, 10, &code(vec![lc, 7, ln, 9], vec![], vec![]));
    assert!(
        out.contains("(!! constant index 7 out of range (1 constants))"),
        "{out}"
    );
    assert!(
        out.contains("(!! name index 9 out of range (1 entries))"),
        "{out}"
    );
    assert_eq!(problems.len(), 2);
}

#[test]
fn unknown_opcode_is_shown_as_dis_names_it() {
    // A number 3.12 does not use: dis prints `<N>` (`opcode.opname`).
    let t = pyc_dis::tables::opcodes(PyVersion::new(3, 12)).unwrap();
    let op = (0..=255u8).find(|&o| !t.is_defined(o)).unwrap();
    let (out, _) = dis(3, 12, &code(vec![op, 0], vec![], vec![]));
    assert!(out.contains(&format!("<{op}>")), "{out}");
}

#[test]
fn jump_out_of_range_is_reported() {
    let t = pyc_dis::tables::opcodes(PyVersion::new(3, 9)).unwrap();
    let jf = t.op("JUMP_FORWARD").unwrap();
    let (out, problems) = dis(3, 9, &code(vec![jf, 200], vec![], vec![]));
    assert!(out.contains("JUMP_FORWARD           200 (to 202)"), "{out}");
    assert!(
        problems.iter().any(|p| p.contains("jump target 202")),
        "{problems:?}"
    );
}

#[test]
fn truncated_location_table_is_reported() {
    let t = pyc_dis::tables::opcodes(PyVersion::new(3, 11)).unwrap();
    let nop = t.op("NOP").unwrap();
    // A long-form entry (code 14) cut after its first byte.
    let (_, problems) = dis(3, 11, &code(vec![nop, 0], vec![0x80 | (14 << 3)], vec![]));
    assert!(
        problems.iter().any(|p| p.contains("location table")),
        "{problems:?}"
    );
}
