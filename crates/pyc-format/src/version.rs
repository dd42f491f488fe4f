//! The version facts: one row per CPython minor version and one row per magic number.
//!
//! Everything the rest of pyc needs to know about a CPython version lives here, as data:
//! which magic numbers it wrote, how big its pyc header is, how it names cache files, which
//! marshal version it writes and which SipHash variant keys its hash-based pycs. Code elsewhere
//! asks these tables instead of comparing version numbers.
//!
//! Sources: the magic-number comment table in `Lib/importlib/_bootstrap_external.py` (1.5–3.13)
//! and `Include/internal/pycore_magic_number.h` (3.14+); the values of the final releases
//! (2.7, 3.6-3.15) are checked against the real interpreters: `scripts/gen_headers.py` records
//! each interpreter's MAGIC_NUMBER, cache_tag and marshal.version, and
//! `pyc-format/tests/interpreter_headers.rs` compares them with these rows.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// A CPython `major.minor` version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PyVersion {
    pub major: u8,
    pub minor: u8,
}

impl PyVersion {
    pub const fn new(major: u8, minor: u8) -> Self {
        PyVersion { major, minor }
    }
}

impl fmt::Display for PyVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Error for a version string that is not `X.Y`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Python version: {0:?} (expected X.Y, for example 3.12)")]
pub struct BadVersion(pub String);

impl FromStr for PyVersion {
    type Err = BadVersion;
    /// Accepts `3.12`, `3.12.1` (the micro part is ignored), `cpython-312` and `312`/`27`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadVersion(s.to_string());
        let t = s.trim();
        let t = t.strip_prefix("cpython-").unwrap_or(t);
        let t = t.strip_prefix("python").unwrap_or(t);
        let mut parts = t.split('.');
        let first = parts.next().ok_or_else(bad)?;
        if let Some(second) = parts.next() {
            let major = first.parse().map_err(|_| bad())?;
            let minor = second.parse().map_err(|_| bad())?;
            if let Some(micro) = parts.next() {
                // "3.12.1" or "3.12.1rc1": only check that it starts with a digit.
                if !micro.starts_with(|c: char| c.is_ascii_digit()) || parts.next().is_some() {
                    return Err(bad());
                }
            }
            Ok(PyVersion::new(major, minor))
        } else if first.len() >= 2 && first.bytes().all(|b| b.is_ascii_digit()) {
            // cache-tag style: 27, 36, 313
            let major = first[..1].parse().map_err(|_| bad())?;
            let minor = first[1..].parse().map_err(|_| bad())?;
            Ok(PyVersion::new(major, minor))
        } else {
            Err(bad())
        }
    }
}

/// Which SipHash keys a hash-based pyc (PEP 552): `_Py_KeyedHash` in `Python/pyhash.c`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SipHashVariant {
    /// SipHash-2-4: CPython 3.7–3.10.
    Sip24,
    /// SipHash-1-3: CPython 3.11+ (switched together with str hashing).
    Sip13,
}

/// How a version names its cache files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheLayout {
    /// `NAME.pyc` (or `NAME.pyo` under -O) beside the source: up to 3.1.
    Legacy,
    /// PEP 3147 `__pycache__/NAME.TAG.pyc`, `.pyo` under -O: 3.2–3.4.
    Pep3147,
    /// PEP 488 `__pycache__/NAME.TAG[.opt-N].pyc`: 3.5+ (pycache prefix from 3.8).
    Pep488,
}

/// The field layout of a marshalled code object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeLayout {
    /// 1.5–2.2: 16-bit counts and flags.
    Py15,
    /// 2.3–2.7: 32-bit counts, no kwonly.
    Py23,
    /// 3.0–3.7: adds kwonlyargcount.
    Py30,
    /// 3.8–3.9: adds posonlyargcount (from magic 3410).
    Py38,
    /// 3.10: `co_linetable` (PEP 626) replaces lnotab.
    Py310,
    /// 3.11+: localsplus names and kinds, qualname, location and exception tables.
    Py311,
}

/// One row per CPython minor version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct VersionInfo {
    pub version: PyVersion,
    /// Magic number of the final release (for 3.15, the newest one seen).
    pub magic: u16,
    /// `sys.implementation.cache_tag`; None before 3.2, where pycs sit beside the source.
    pub cache_tag: Option<&'static str>,
    pub cache_layout: CacheLayout,
    /// `sys.pycache_prefix` / `PYTHONPYCACHEPREFIX` exist (3.8+).
    pub pycache_prefix: bool,
    /// `marshal.version`, the highest format the version writes.
    pub marshal_version: u8,
    pub code_layout: CodeLayout,
    /// Hash used by hash-based pycs; None before PEP 552 (3.7).
    pub source_hash: Option<SipHashVariant>,
}

const fn v(
    major: u8,
    minor: u8,
    magic: u16,
    cache_tag: Option<&'static str>,
    marshal_version: u8,
    code_layout: CodeLayout,
) -> VersionInfo {
    let version = PyVersion::new(major, minor);
    let cache_layout = if major < 3 || (major == 3 && minor < 2) {
        CacheLayout::Legacy
    } else if minor < 5 {
        CacheLayout::Pep3147
    } else {
        CacheLayout::Pep488
    };
    let source_hash = if major == 3 && minor >= 11 {
        Some(SipHashVariant::Sip13)
    } else if major == 3 && minor >= 7 {
        Some(SipHashVariant::Sip24)
    } else {
        None
    };
    VersionInfo {
        version,
        magic,
        cache_tag,
        cache_layout,
        pycache_prefix: major == 3 && minor >= 8,
        marshal_version,
        code_layout,
        source_hash,
    }
}

use CodeLayout::*;

/// Every CPython minor version whose pycs pyc knows, oldest first.
pub static VERSIONS: &[VersionInfo] = &[
    v(1, 5, 20121, None, 0, Py15),
    v(1, 6, 50428, None, 0, Py15),
    v(2, 0, 50823, None, 0, Py15),
    v(2, 1, 60202, None, 0, Py15),
    v(2, 2, 60717, None, 0, Py15),
    v(2, 3, 62011, None, 0, Py23),
    v(2, 4, 62061, None, 1, Py23),
    v(2, 5, 62131, None, 2, Py23),
    v(2, 6, 62161, None, 2, Py23),
    v(2, 7, 62211, None, 2, Py23),
    v(3, 0, 3131, None, 2, Py30),
    v(3, 1, 3151, None, 2, Py30),
    v(3, 2, 3180, Some("cpython-32"), 2, Py30),
    v(3, 3, 3230, Some("cpython-33"), 2, Py30),
    v(3, 4, 3310, Some("cpython-34"), 4, Py30),
    v(3, 5, 3351, Some("cpython-35"), 4, Py30),
    v(3, 6, 3379, Some("cpython-36"), 4, Py30),
    v(3, 7, 3394, Some("cpython-37"), 4, Py30),
    v(3, 8, 3413, Some("cpython-38"), 4, Py38),
    v(3, 9, 3425, Some("cpython-39"), 4, Py38),
    v(3, 10, 3439, Some("cpython-310"), 4, Py310),
    v(3, 11, 3495, Some("cpython-311"), 4, Py311),
    v(3, 12, 3531, Some("cpython-312"), 4, Py311),
    v(3, 13, 3571, Some("cpython-313"), 4, Py311),
    v(3, 14, 3627, Some("cpython-314"), 5, Py311),
    v(3, 15, 3666, Some("cpython-315"), 6, Py311),
];

/// The row of a version, if pyc knows it.
pub fn version_info(version: PyVersion) -> Option<&'static VersionInfo> {
    VERSIONS.iter().find(|v| v.version == version)
}

/// The row whose cache tag is `tag` (for example `cpython-312`).
pub fn version_for_cache_tag(tag: &str) -> Option<&'static VersionInfo> {
    VERSIONS.iter().find(|v| v.cache_tag == Some(tag))
}

/// One known CPython magic number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MagicEntry {
    pub magic: u16,
    pub version: PyVersion,
    /// The release(s) that introduced it, as CPython's table names them ("3.11a5", "3.7b5").
    pub release: &'static str,
    /// CPython's note for the change.
    pub change: &'static str,
}

const fn m(
    magic: u16,
    major: u8,
    minor: u8,
    release: &'static str,
    change: &'static str,
) -> MagicEntry {
    MagicEntry {
        magic,
        version: PyVersion::new(major, minor),
        release,
        change,
    }
}

/// Every CPython magic number from 1.5 on, in the order CPython lists them.
pub static MAGICS: &[MagicEntry] = &[
    m(20121, 1, 5, "1.5, 1.5.1, 1.5.2", ""),
    m(50428, 1, 6, "1.6", ""),
    m(50823, 2, 0, "2.0, 2.0.1", ""),
    m(60202, 2, 1, "2.1, 2.1.1, 2.1.2", ""),
    m(60717, 2, 2, "2.2", ""),
    m(62011, 2, 3, "2.3a0", ""),
    m(62021, 2, 3, "2.3a0", ""),
    m(62041, 2, 4, "2.4a0", ""),
    m(62051, 2, 4, "2.4a3", ""),
    m(62061, 2, 4, "2.4b1", ""),
    m(62071, 2, 5, "2.5a0", ""),
    m(62081, 2, 5, "2.5a0", "ast-branch"),
    m(62091, 2, 5, "2.5a0", "with"),
    m(62092, 2, 5, "2.5a0", "changed WITH_CLEANUP opcode"),
    m(62101, 2, 5, "2.5b3", "fix wrong code: for x, in ..."),
    m(62111, 2, 5, "2.5b3", "fix wrong code: x += yield"),
    m(62121, 2, 5, "2.5c1", "fix wrong lnotab with for loops and storing constants that should have been removed"),
    m(62131, 2, 5, "2.5c2", "fix wrong code: for x, in ... in listcomp/genexp"),
    m(62151, 2, 6, "2.6a0", "peephole optimizations and STORE_MAP opcode"),
    m(62161, 2, 6, "2.6a1", "WITH_CLEANUP optimization"),
    m(62171, 2, 7, "2.7a0", "optimize list comprehensions/change LIST_APPEND"),
    m(62181, 2, 7, "2.7a0", "optimize conditional branches: introduce POP_JUMP_IF_FALSE and POP_JUMP_IF_TRUE"),
    m(62191, 2, 7, "2.7a0", "introduce SETUP_WITH"),
    m(62201, 2, 7, "2.7a0", "introduce BUILD_SET"),
    m(62211, 2, 7, "2.7a0", "introduce MAP_ADD and SET_ADD"),
    m(3000, 3, 0, "3000 (3.0 dev)", ""),
    m(3010, 3, 0, "3000 (3.0 dev)", "removed UNARY_CONVERT"),
    m(3020, 3, 0, "3000 (3.0 dev)", "added BUILD_SET"),
    m(3030, 3, 0, "3000 (3.0 dev)", "added keyword-only parameters"),
    m(3040, 3, 0, "3000 (3.0 dev)", "added signature annotations"),
    m(3050, 3, 0, "3000 (3.0 dev)", "print becomes a function"),
    m(3060, 3, 0, "3000 (3.0 dev)", "PEP 3115 metaclass syntax"),
    m(3061, 3, 0, "3000 (3.0 dev)", "string literals become unicode"),
    m(3071, 3, 0, "3000 (3.0 dev)", "PEP 3109 raise changes"),
    m(3081, 3, 0, "3000 (3.0 dev)", "PEP 3137 make __file__ and __name__ unicode"),
    m(3091, 3, 0, "3000 (3.0 dev)", "kill str8 interning"),
    m(3101, 3, 0, "3000 (3.0 dev)", "merge from 2.6a0, see 62151"),
    m(3103, 3, 0, "3000 (3.0 dev)", "__file__ points to source file"),
    m(3111, 3, 0, "3.0a4", "WITH_CLEANUP optimization)."),
    m(3131, 3, 0, "3.0b1", "lexical exception stacking, including POP_EXCEPT #3021"),
    m(3141, 3, 1, "3.1a1", "optimize list, set and dict comprehensions: change LIST_APPEND and SET_ADD, add MAP_ADD #2183"),
    m(3151, 3, 1, "3.1a1", "optimize conditional branches: introduce POP_JUMP_IF_FALSE and POP_JUMP_IF_TRUE #4715"),
    m(3160, 3, 2, "3.2a1", "add SETUP_WITH #6101"),
    m(3170, 3, 2, "3.2a2", "add DUP_TOP_TWO, remove DUP_TOPX and ROT_FOUR #9225"),
    m(3180, 3, 2, "3.2a3", "add DELETE_DEREF #4617"),
    m(3190, 3, 3, "3.3a1", "__class__ super closure changed"),
    m(3200, 3, 3, "3.3a1", "PEP 3155 __qualname__ added #13448"),
    m(3210, 3, 3, "3.3a1", "added size modulo 2**32 to the pyc header #13645"),
    m(3220, 3, 3, "3.3a2", "changed PEP 380 implementation #14230"),
    m(3230, 3, 3, "3.3a4", "revert changes to implicit __class__ closure #14857"),
    m(3250, 3, 4, "3.4a1", "evaluate positional default arguments before keyword-only defaults #16967"),
    m(3260, 3, 4, "3.4a1", "add LOAD_CLASSDEREF; allow locals of class to override free vars #17853"),
    m(3270, 3, 4, "3.4a1", "various tweaks to the __class__ closure #12370"),
    m(3280, 3, 4, "3.4a1", "remove implicit class argument"),
    m(3290, 3, 4, "3.4a4", "changes to __qualname__ computation #19301"),
    m(3300, 3, 4, "3.4a4", "more changes to __qualname__ computation #19301"),
    m(3310, 3, 4, "3.4rc2", "alter __qualname__ computation #20625"),
    m(3320, 3, 5, "3.5a1", "PEP 465: Matrix multiplication operator #21176"),
    m(3330, 3, 5, "3.5b1", "PEP 448: Additional Unpacking Generalizations #2292"),
    m(3340, 3, 5, "3.5b2", "fix dictionary display evaluation order #11205"),
    m(3350, 3, 5, "3.5b3", "add GET_YIELD_FROM_ITER opcode #24400"),
    m(3351, 3, 5, "3.5.2", "fix BUILD_MAP_UNPACK_WITH_CALL opcode #27286"),
    m(3360, 3, 6, "3.6a0", "add FORMAT_VALUE opcode #25483"),
    m(3361, 3, 6, "3.6a1", "lineno delta of code.co_lnotab becomes signed #26107"),
    m(3370, 3, 6, "3.6a2", "16 bit wordcode #26647"),
    m(3371, 3, 6, "3.6a2", "add BUILD_CONST_KEY_MAP opcode #27140"),
    m(3372, 3, 6, "3.6a2", "MAKE_FUNCTION simplification, remove MAKE_CLOSURE #27095"),
    m(3373, 3, 6, "3.6b1", "add BUILD_STRING opcode #27078"),
    m(3375, 3, 6, "3.6b1", "add SETUP_ANNOTATIONS and STORE_ANNOTATION opcodes #27985"),
    m(3376, 3, 6, "3.6b1", "simplify CALL_FUNCTIONs & BUILD_MAP_UNPACK_WITH_CALL #27213"),
    m(3377, 3, 6, "3.6b1", "set __class__ cell from type.__new__ #23722"),
    m(3378, 3, 6, "3.6b2", "add BUILD_TUPLE_UNPACK_WITH_CALL #28257"),
    m(3379, 3, 6, "3.6rc1", "more thorough __class__ validation #23722"),
    m(3390, 3, 7, "3.7a1", "add LOAD_METHOD and CALL_METHOD opcodes #26110"),
    m(3391, 3, 7, "3.7a2", "update GET_AITER #31709"),
    m(3392, 3, 7, "3.7a4", "PEP 552: Deterministic pycs #31650"),
    m(3393, 3, 7, "3.7b1", "remove STORE_ANNOTATION opcode #32550"),
    m(3394, 3, 7, "3.7b5", "restored docstring as the first stmt in the body; this might affected the first line number #32911"),
    m(3400, 3, 8, "3.8a1", "move frame block handling to compiler #17611"),
    m(3401, 3, 8, "3.8a1", "add END_ASYNC_FOR #33041"),
    m(3410, 3, 8, "3.8a1", "PEP570 Python Positional-Only Parameters #36540"),
    m(3411, 3, 8, "3.8b2", "Reverse evaluation order of key: value in dict comprehensions #35224"),
    m(3412, 3, 8, "3.8b2", "Swap the position of positional args and positional only args in ast.arguments #37593"),
    m(3413, 3, 8, "3.8b4", "Fix \"break\" and \"continue\" in \"finally\" #37830"),
    m(3420, 3, 9, "3.9a0", "add LOAD_ASSERTION_ERROR #34880"),
    m(3421, 3, 9, "3.9a0", "simplified bytecode for with blocks #32949"),
    m(3422, 3, 9, "3.9a0", "remove BEGIN_FINALLY, END_FINALLY, CALL_FINALLY, POP_FINALLY bytecodes #33387"),
    m(3423, 3, 9, "3.9a2", "add IS_OP, CONTAINS_OP and JUMP_IF_NOT_EXC_MATCH bytecodes #39156"),
    m(3424, 3, 9, "3.9a2", "simplify bytecodes for *value unpacking"),
    m(3425, 3, 9, "3.9a2", "simplify bytecodes for **value unpacking"),
    m(3430, 3, 10, "3.10a1", "Make 'annotations' future by default"),
    m(3431, 3, 10, "3.10a1", "New line number table format -- PEP 626"),
    m(3432, 3, 10, "3.10a2", "Function annotation for MAKE_FUNCTION is changed from dict to tuple bpo-42202"),
    m(3433, 3, 10, "3.10a2", "RERAISE restores f_lasti if oparg != 0"),
    m(3434, 3, 10, "3.10a6", "PEP 634: Structural Pattern Matching"),
    m(3435, 3, 10, "3.10a7", "Use instruction offsets (as opposed to byte offsets)."),
    m(3436, 3, 10, "3.10b1", "Add GEN_START bytecode #43683"),
    m(3437, 3, 10, "3.10b1", "Undo making 'annotations' future by default - We like to dance among core devs!"),
    m(3438, 3, 10, "3.10b1", "Safer line number table handling."),
    m(3439, 3, 10, "3.10b1", "Add ROT_N"),
    m(3450, 3, 11, "3.11a1", "Use exception table for unwinding (\"zero cost\" exception handling"),
    m(3451, 3, 11, "3.11a1", "Add CALL_METHOD_KW"),
    m(3452, 3, 11, "3.11a1", "drop nlocals from marshaled code objects"),
    m(3453, 3, 11, "3.11a1", "add co_fastlocalnames and co_fastlocalkinds"),
    m(3454, 3, 11, "3.11a1", "compute cell offsets relative to locals bpo-43693"),
    m(3455, 3, 11, "3.11a1", "add MAKE_CELL bpo-43693"),
    m(3456, 3, 11, "3.11a1", "interleave cell args bpo-43693"),
    m(3457, 3, 11, "3.11a1", "Change localsplus to a bytes object bpo-43693"),
    m(3458, 3, 11, "3.11a1", "imported objects now don't use LOAD_METHOD/CALL_METHOD"),
    m(3459, 3, 11, "3.11a1", "PEP 657: add end line numbers and column offsets for instructions"),
    m(3460, 3, 11, "3.11a1", "Add co_qualname field to PyCodeObject bpo-44530"),
    m(3461, 3, 11, "3.11a1", "JUMP_ABSOLUTE must jump backwards"),
    m(3462, 3, 11, "3.11a2", "bpo-44511: remove COPY_DICT_WITHOUT_KEYS, change MATCH_CLASS and MATCH_KEYS, and add COPY"),
    m(3463, 3, 11, "3.11a3", "bpo-45711: JUMP_IF_NOT_EXC_MATCH no longer pops the active exception"),
    m(3464, 3, 11, "3.11a3", "bpo-45636: Merge numeric BINARY_*/INPLACE_* into BINARY_OP"),
    m(3465, 3, 11, "3.11a3", "Add COPY_FREE_VARS opcode"),
    m(3466, 3, 11, "3.11a4", "bpo-45292: PEP-654 except*"),
    m(3467, 3, 11, "3.11a4", "Change CALL_xxx opcodes"),
    m(3468, 3, 11, "3.11a4", "Add SEND opcode"),
    m(3469, 3, 11, "3.11a4", "bpo-45711: remove type, traceback from exc_info"),
    m(3470, 3, 11, "3.11a4", "bpo-46221: PREP_RERAISE_STAR no longer pushes lasti"),
    m(3471, 3, 11, "3.11a4", "bpo-46202: remove pop POP_EXCEPT_AND_RERAISE"),
    m(3472, 3, 11, "3.11a4", "bpo-46009: replace GEN_START with POP_TOP"),
    m(3473, 3, 11, "3.11a4", "Add POP_JUMP_IF_NOT_NONE/POP_JUMP_IF_NONE opcodes"),
    m(3474, 3, 11, "3.11a4", "Add RESUME opcode"),
    m(3475, 3, 11, "3.11a5", "Add RETURN_GENERATOR opcode"),
    m(3476, 3, 11, "3.11a5", "Add ASYNC_GEN_WRAP opcode"),
    m(3477, 3, 11, "3.11a5", "Replace DUP_TOP/DUP_TOP_TWO with COPY and ROT_TWO/ROT_THREE/ROT_FOUR/ROT_N with SWAP"),
    m(3478, 3, 11, "3.11a5", "New CALL opcodes"),
    m(3479, 3, 11, "3.11a5", "Add PUSH_NULL opcode"),
    m(3480, 3, 11, "3.11a5", "New CALL opcodes, second iteration"),
    m(3481, 3, 11, "3.11a5", "Use inline cache for BINARY_OP"),
    m(3482, 3, 11, "3.11a5", "Use inline caching for UNPACK_SEQUENCE and LOAD_GLOBAL"),
    m(3483, 3, 11, "3.11a5", "Use inline caching for COMPARE_OP and BINARY_SUBSCR"),
    m(3484, 3, 11, "3.11a5", "Use inline caching for LOAD_ATTR, LOAD_METHOD, and STORE_ATTR"),
    m(3485, 3, 11, "3.11a5", "Add an oparg to GET_AWAITABLE"),
    m(3486, 3, 11, "3.11a6", "Use inline caching for PRECALL and CALL"),
    m(3487, 3, 11, "3.11a6", "Remove the adaptive \"oparg counter\" mechanism"),
    m(3488, 3, 11, "3.11a6", "LOAD_GLOBAL can push additional NULL"),
    m(3489, 3, 11, "3.11a6", "Add JUMP_BACKWARD, remove JUMP_ABSOLUTE"),
    m(3490, 3, 11, "3.11a6", "remove JUMP_IF_NOT_EXC_MATCH, add CHECK_EXC_MATCH"),
    m(3491, 3, 11, "3.11a6", "remove JUMP_IF_NOT_EG_MATCH, add CHECK_EG_MATCH, add JUMP_BACKWARD_NO_INTERRUPT, make JUMP_NO_INTERRUPT virtual"),
    m(3492, 3, 11, "3.11a7", "make POP_JUMP_IF_NONE/NOT_NONE/TRUE/FALSE relative"),
    m(3493, 3, 11, "3.11a7", "Make JUMP_IF_TRUE_OR_POP/JUMP_IF_FALSE_OR_POP relative"),
    m(3494, 3, 11, "3.11a7", "New location info table"),
    m(3495, 3, 11, "3.11b4", "Set line number of module's RESUME instr to 0 per PEP 626"),
    m(3500, 3, 12, "3.12a1", "Remove PRECALL opcode"),
    m(3501, 3, 12, "3.12a1", "YIELD_VALUE oparg == stack_depth"),
    m(3502, 3, 12, "3.12a1", "LOAD_FAST_CHECK, no NULL-check in LOAD_FAST"),
    m(3503, 3, 12, "3.12a1", "Shrink LOAD_METHOD cache"),
    m(3504, 3, 12, "3.12a1", "Merge LOAD_METHOD back into LOAD_ATTR"),
    m(3505, 3, 12, "3.12a1", "Specialization/Cache for FOR_ITER"),
    m(3506, 3, 12, "3.12a1", "Add BINARY_SLICE and STORE_SLICE instructions"),
    m(3507, 3, 12, "3.12a1", "Set lineno of module's RESUME to 0"),
    m(3508, 3, 12, "3.12a1", "Add CLEANUP_THROW"),
    m(3509, 3, 12, "3.12a1", "Conditional jumps only jump forward"),
    m(3510, 3, 12, "3.12a2", "FOR_ITER leaves iterator on the stack"),
    m(3511, 3, 12, "3.12a2", "Add STOPITERATION_ERROR instruction"),
    m(3512, 3, 12, "3.12a2", "Remove all unused consts from code objects"),
    m(3513, 3, 12, "3.12a4", "Add CALL_INTRINSIC_1 instruction, removed STOPITERATION_ERROR, PRINT_EXPR, IMPORT_STAR"),
    m(3514, 3, 12, "3.12a4", "Remove ASYNC_GEN_WRAP, LIST_TO_TUPLE, and UNARY_POSITIVE"),
    m(3515, 3, 12, "3.12a5", "Embed jump mask in COMPARE_OP oparg"),
    m(3516, 3, 12, "3.12a5", "Add COMPARE_AND_BRANCH instruction"),
    m(3517, 3, 12, "3.12a5", "Change YIELD_VALUE oparg to exception block depth"),
    m(3518, 3, 12, "3.12a6", "Add RETURN_CONST instruction"),
    m(3519, 3, 12, "3.12a6", "Modify SEND instruction"),
    m(3520, 3, 12, "3.12a6", "Remove PREP_RERAISE_STAR, add CALL_INTRINSIC_2"),
    m(3521, 3, 12, "3.12a7", "Shrink the LOAD_GLOBAL caches"),
    m(3522, 3, 12, "3.12a7", "Removed JUMP_IF_FALSE_OR_POP/JUMP_IF_TRUE_OR_POP"),
    m(3523, 3, 12, "3.12a7", "Convert COMPARE_AND_BRANCH back to COMPARE_OP"),
    m(3524, 3, 12, "3.12a7", "Shrink the BINARY_SUBSCR caches"),
    m(3525, 3, 12, "3.12b1", "Shrink the CALL caches"),
    m(3526, 3, 12, "3.12b1", "Add instrumentation support"),
    m(3527, 3, 12, "3.12b1", "Add LOAD_SUPER_ATTR"),
    m(3528, 3, 12, "3.12b1", "Add LOAD_SUPER_ATTR_METHOD specialization"),
    m(3529, 3, 12, "3.12b1", "Inline list/dict/set comprehensions"),
    m(3530, 3, 12, "3.12b1", "Shrink the LOAD_SUPER_ATTR caches"),
    m(3531, 3, 12, "3.12b1", "Add PEP 695 changes"),
    m(3550, 3, 13, "3.13a1", "Plugin optimizer support"),
    m(3551, 3, 13, "3.13a1", "Compact superinstructions"),
    m(3552, 3, 13, "3.13a1", "Remove LOAD_FAST__LOAD_CONST and LOAD_CONST__LOAD_FAST"),
    m(3553, 3, 13, "3.13a1", "Add SET_FUNCTION_ATTRIBUTE"),
    m(3554, 3, 13, "3.13a1", "more efficient bytecodes for f-strings"),
    m(3555, 3, 13, "3.13a1", "generate specialized opcodes metadata from bytecodes.c"),
    m(3556, 3, 13, "3.13a1", "Convert LOAD_CLOSURE to a pseudo-op"),
    m(3557, 3, 13, "3.13a1", "Make the conversion to boolean in jumps explicit"),
    m(3558, 3, 13, "3.13a1", "Reorder the stack items for CALL"),
    m(3559, 3, 13, "3.13a1", "Generate opcode IDs from bytecodes.c"),
    m(3560, 3, 13, "3.13a1", "Add RESUME_CHECK instruction"),
    m(3561, 3, 13, "3.13a1", "Add cache entry to branch instructions"),
    m(3562, 3, 13, "3.13a1", "Assign opcode IDs for internal ops in separate range"),
    m(3563, 3, 13, "3.13a1", "Add CALL_KW and remove KW_NAMES"),
    m(3564, 3, 13, "3.13a1", "Removed oparg from YIELD_VALUE, changed oparg values of RESUME"),
    m(3565, 3, 13, "3.13a1", "Oparg of YIELD_VALUE indicates whether it is in a yield-from"),
    m(3566, 3, 13, "3.13a1", "Emit JUMP_NO_INTERRUPT instead of JUMP for non-loop no-lineno cases"),
    m(3567, 3, 13, "3.13a1", "Reimplement line number propagation by the compiler"),
    m(3568, 3, 13, "3.13a1", "Change semantics of END_FOR"),
    m(3569, 3, 13, "3.13a5", "Specialize CONTAINS_OP"),
    m(3570, 3, 13, "3.13a6", "Add __firstlineno__ class attribute"),
    m(3571, 3, 13, "3.13b1", "Fix miscompilation of private names in generic classes"),
    m(3600, 3, 14, "3.14a1", "Add LOAD_COMMON_CONSTANT"),
    m(3601, 3, 14, "3.14a1", "Fix miscompilation of private names in generic classes"),
    m(3602, 3, 14, "3.14a1", "Add LOAD_SPECIAL. Remove BEFORE_WITH and BEFORE_ASYNC_WITH"),
    m(3603, 3, 14, "3.14a1", "Remove BUILD_CONST_KEY_MAP"),
    m(3604, 3, 14, "3.14a1", "Do not duplicate test at end of while statements"),
    m(3605, 3, 14, "3.14a1", "Move ENTER_EXECUTOR to opcode 255"),
    m(3606, 3, 14, "3.14a1", "Specialize CALL_KW"),
    m(3607, 3, 14, "3.14a1", "Add pseudo instructions JUMP_IF_TRUE/FALSE"),
    m(3608, 3, 14, "3.14a1", "Add support for slices"),
    m(3609, 3, 14, "3.14a2", "Add LOAD_SMALL_INT and LOAD_CONST_IMMORTAL instructions, remove RETURN_CONST"),
    m(3610, 3, 14, "3.14a4", "Add VALUE_WITH_FAKE_GLOBALS format to annotationlib"),
    m(3611, 3, 14, "3.14a4", "Add NOT_TAKEN instruction"),
    m(3612, 3, 14, "3.14a4", "Add POP_ITER and INSTRUMENTED_POP_ITER"),
    m(3613, 3, 14, "3.14a4", "Add LOAD_CONST_MORTAL instruction"),
    m(3614, 3, 14, "3.14a5", "Add BINARY_OP_EXTEND"),
    m(3615, 3, 14, "3.14a5", "CALL_FUNCTION_EX always take a kwargs argument"),
    m(3616, 3, 14, "3.14a5", "Remove BINARY_SUBSCR and family. Make them BINARY_OPs"),
    m(3617, 3, 14, "3.14a6", "Branch monitoring for async for loops"),
    m(3618, 3, 14, "3.14a6", "Add oparg to END_ASYNC_FOR"),
    m(3619, 3, 14, "3.14a6", "Renumber RESUME opcode from 149 to 128"),
    m(3620, 3, 14, "3.14a6", "Optimize bytecode for all/any/tuple called on a genexp"),
    m(3621, 3, 14, "3.14a7", "Optimize LOAD_FAST opcodes into LOAD_FAST_BORROW"),
    m(3622, 3, 14, "3.14a7", "Store annotations in different class dict keys"),
    m(3623, 3, 14, "3.14a7", "Add BUILD_INTERPOLATION & BUILD_TEMPLATE opcodes"),
    m(3624, 3, 14, "3.14b1", "Don't optimize LOAD_FAST when local is killed by DELETE_FAST"),
    m(3625, 3, 14, "3.14b3", "Fix handling of opcodes that may leave operands on the stack when optimizing LOAD_FAST"),
    m(3626, 3, 14, "3.14rc2", "Fix missing exception handlers in logical expression"),
    m(3627, 3, 14, "3.14rc3", "Fix miscompilation of some module-level annotations) = 3.14.0 final"),
    m(3650, 3, 15, "3.15a0", "Initial version"),
    m(3651, 3, 15, "3.15a1", "Simplify LOAD_CONST"),
    m(3652, 3, 15, "3.15a1", "Virtual iterators"),
    m(3653, 3, 15, "3.15a1", "Fix handling of opcodes that may leave operands on the stack when optimizing LOAD_FAST"),
    m(3654, 3, 15, "3.15a1", "Fix missing exception handlers in logical expression"),
    m(3655, 3, 15, "3.15a1", "Fix miscompilation of some module-level annotations"),
    m(3656, 3, 15, "3.15a1", "Lazy imports IMPORT_NAME opcode changes"),
    m(3657, 3, 15, "3.15a?", "PYC_MAGIC_NUMBER in a CPython main snapshot"),
    m(3666, 3, 15, "3.15rc1", "MAGIC_NUMBER of 3.15.0rc1 as the interpreter reports it (pyodide 315.0.0-alpha.2); 3658-3665 unseen"),
];
