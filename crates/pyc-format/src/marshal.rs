//! The marshal reader: `marshal.loads` for every CPython from 1.5 to 3.15 (marshal 0–6).
//!
//! Follows `Python/marshal.c`: every type code, `FLAG_REF` back-references with CPython's exact
//! numbering (a flagged object gets its index when its type byte is read; code objects,
//! frozensets, slices and frozendicts *reserve* the slot and fill it when complete, so a
//! reference to them from inside is "invalid reference"), Python 2's interned strings (`t`)
//! and string references (`R`), long-integer normalisation checks, text and binary floats.
//!
//! Untrusted input: the reader never panics, nests at most [`MAX_MARSHAL_STACK_DEPTH`] levels
//! as CPython does, checks every declared length against the bytes left before allocating,
//! and shares referenced objects (`Arc`) instead of copying them. Errors carry the byte offset
//! and what was expected.
//!
//! Where pyc differs from CPython, on data no compiler writes:
//! * A back-reference to a tuple, list, dict or set from *inside* itself (a cycle) is an
//!   error; CPython builds the cyclic object. Constants of code objects are never cyclic.
//! * Dict and set elements are kept in file order, duplicates included (CPython hashes them).
//! * The codes of newer marshal versions (`a`, `)`, `r`, `:`, `}`...) are accepted by every
//!   Python 3 version; Python 2 data gets Python 2's codes only (no `FLAG_REF`, no `r`: they
//!   are unknown type codes there, as in 2.7), and `t` is bytes in 2.x, str in 3.x; `R` exists
//!   only in 2.x.

use std::fmt;
use std::sync::Arc;

use num_bigint::{BigInt, BigUint, Sign};

use crate::code::{Code, CodeField, CodeFormat};
use crate::header::{Header, HeaderError};
use crate::magic::MagicKind;
use crate::object::{ObjRef, Object, PyBytes, PyStr};
use crate::version::PyVersion;

/// CPython's limit on nesting (Linux and macOS builds).
pub const MAX_MARSHAL_STACK_DEPTH: u32 = 2000;

/// Marshal type codes (`Python/marshal.c`).
pub mod type_code {
    pub const NULL: u8 = b'0';
    pub const NONE: u8 = b'N';
    pub const FALSE: u8 = b'F';
    pub const TRUE: u8 = b'T';
    pub const STOPITER: u8 = b'S';
    pub const ELLIPSIS: u8 = b'.';
    pub const INT: u8 = b'i';
    pub const INT64: u8 = b'I';
    pub const FLOAT: u8 = b'f';
    pub const BINARY_FLOAT: u8 = b'g';
    pub const COMPLEX: u8 = b'x';
    pub const BINARY_COMPLEX: u8 = b'y';
    pub const LONG: u8 = b'l';
    pub const STRING: u8 = b's';
    pub const INTERNED: u8 = b't';
    pub const STRINGREF: u8 = b'R';
    pub const REF: u8 = b'r';
    pub const TUPLE: u8 = b'(';
    pub const LIST: u8 = b'[';
    pub const DICT: u8 = b'{';
    pub const CODE: u8 = b'c';
    pub const UNICODE: u8 = b'u';
    pub const UNKNOWN: u8 = b'?';
    pub const SET: u8 = b'<';
    pub const FROZENSET: u8 = b'>';
    pub const ASCII: u8 = b'a';
    pub const ASCII_INTERNED: u8 = b'A';
    pub const SMALL_TUPLE: u8 = b')';
    pub const SHORT_ASCII: u8 = b'z';
    pub const SHORT_ASCII_INTERNED: u8 = b'Z';
    pub const SLICE: u8 = b':';
    pub const FROZENDICT: u8 = b'}';
    pub const FLAG_REF: u8 = 0x80;
}
use type_code as tc;

/// What went wrong, in CPython's words where CPython has words for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MarshalErrorKind {
    /// The data ends before `expected` (CPython: "marshal data too short").
    TooShort { expected: String },
    /// CPython: "bad marshal data (unknown type code)".
    UnknownTypeCode(u8),
    /// CPython: "bad marshal data (invalid reference)": out of range, or a slot still reserved.
    InvalidReference(i64),
    /// A reference to a container still being read (a cycle; CPython builds it, pyc does not).
    CyclicReference(i64),
    /// CPython 2: "bad marshal data (string ref out of range)".
    StringRefOutOfRange(i64),
    /// CPython: "bad marshal data (WHAT size out of range)".
    SizeOutOfRange { what: &'static str, size: i64 },
    /// CPython: "bad marshal data (digit out of range in long)".
    LongDigitOutOfRange,
    /// CPython: "bad marshal data (unnormalized long data)".
    UnnormalizedLong,
    /// CPython: "could not convert string to float".
    BadFloat(String),
    /// CPython: UnicodeDecodeError ('utf-8' with surrogatepass).
    BadUtf8,
    /// CPython: "NULL object in marshal data for WHAT".
    NullObject(&'static str),
    /// CPython: "recursion limit exceeded".
    RecursionLimit,
    /// A code object field of the wrong type (CPython rejects these when building the code).
    BadCodeField {
        field: &'static str,
        expected: &'static str,
        found: &'static str,
    },
    /// A code object the version's code constructor refuses (`PyCode_New*`,
    /// `_PyCode_Validate`): `error` is the Python exception, `message` its text.
    CodeRefused {
        error: &'static str,
        message: &'static str,
    },
    /// The code-object layout of this magic number is not modelled.
    UnsupportedCodeFormat { magic: u16 },
    /// A code object where no code layout is known (bare marshal data without a version).
    CodeWithoutFormat,
}

/// A marshal error at a byte offset (from the start of the file for [`read_pyc`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct MarshalError {
    pub offset: usize,
    pub kind: MarshalErrorKind,
}

impl fmt::Display for MarshalErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use MarshalErrorKind::*;
        match self {
            TooShort { expected } => write!(f, "marshal data too short: expected {expected}"),
            UnknownTypeCode(c) => write!(
                f,
                "bad marshal data (unknown type code {c:#04x}{})",
                if c.is_ascii_graphic() {
                    format!(" {:?}", *c as char)
                } else {
                    String::new()
                }
            ),
            InvalidReference(i) => write!(f, "bad marshal data (invalid reference {i})"),
            CyclicReference(i) => write!(
                f,
                "reference {i} to a container still being read (a cyclic object; not supported)"
            ),
            StringRefOutOfRange(i) => {
                write!(f, "bad marshal data (string ref {i} out of range)")
            }
            SizeOutOfRange { what, size } => {
                write!(f, "bad marshal data ({what} size {size} out of range)")
            }
            LongDigitOutOfRange => f.write_str("bad marshal data (digit out of range in long)"),
            UnnormalizedLong => f.write_str("bad marshal data (unnormalized long data)"),
            BadFloat(s) => write!(f, "could not convert string to float: {s:?}"),
            BadUtf8 => f.write_str("bad marshal data (str is not UTF-8, even with surrogates)"),
            NullObject(what) => write!(f, "NULL object in marshal data for {what}"),
            RecursionLimit => write!(
                f,
                "recursion limit exceeded (more than {MAX_MARSHAL_STACK_DEPTH} nested objects)"
            ),
            BadCodeField {
                field,
                expected,
                found,
            } => write!(
                f,
                "bad code object: {field} should be {expected}, found {found}"
            ),
            CodeRefused { error, message } => write!(f, "{error}: {message}"),
            UnsupportedCodeFormat { magic } => write!(
                f,
                "code objects of magic {magic} (a 3.11 alpha) are not supported"
            ),
            CodeWithoutFormat => f.write_str("code object, but no Python version given"),
        }
    }
}

impl fmt::Display for MarshalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "byte {}: {}", self.offset, self.kind)
    }
}

/// How to read: which Python major version's meaning of `t`/`R`, which code layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    pub python2: bool,
    /// `None`: a code object is an error (unless `unsupported_magic` says why).
    pub code: Option<CodeFormat>,
    /// The magic whose code layout is unknown, for the error message.
    pub unsupported_magic: Option<u16>,
    /// The Python version the data comes from, recorded in each [`Code::version`].
    pub version: Option<PyVersion>,
}

impl ReadOptions {
    pub fn for_format(format: CodeFormat) -> ReadOptions {
        ReadOptions {
            python2: format.python2(),
            code: Some(format),
            unsupported_magic: None,
            version: None,
        }
    }
}

/// `marshal.loads(data)` for a Python whose code objects have `format`. Trailing bytes
/// after the object are ignored, as CPython does.
pub fn loads(data: &[u8], format: CodeFormat) -> Result<ObjRef, MarshalError> {
    read_object(data, ReadOptions::for_format(format), 0).map(|(o, _)| o)
}

/// Read one object from `data`; returns it and the number of bytes it took. `base` is added
/// to error offsets (the header size, when `data` is a pyc body).
pub fn read_object(
    data: &[u8],
    options: ReadOptions,
    base: usize,
) -> Result<(ObjRef, usize), MarshalError> {
    let mut r = Reader {
        data,
        pos: 0,
        base,
        refs: Vec::new(),
        strings: Vec::new(),
        options,
    };
    match r.object()? {
        Some(o) => Ok((o, r.pos)),
        None => Err(r.err_at(0, MarshalErrorKind::NullObject("object"))),
    }
}

/// A whole pyc: header and the module's code object.
#[derive(Debug, Clone)]
pub struct Pyc {
    pub header: Header,
    /// The body as read (always a code object).
    pub body: ObjRef,
    /// The module code object (the same object as `body`).
    pub code: Arc<Code>,
    /// Bytes of the body the marshal object took (CPython ignores the rest).
    pub body_len: usize,
    pub format: CodeFormat,
}

/// Why a pyc could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PycError {
    #[error("{0}")]
    Header(#[from] HeaderError),
    #[error("{0}")]
    Marshal(#[from] MarshalError),
    #[error("the body is a {0}, not a code object")]
    NotCode(&'static str),
}

/// Read a whole pyc file: the header, then the marshalled module code object, with the code
/// layout of the header's magic number. Error offsets count from the start of the file.
pub fn read_pyc(data: &[u8]) -> Result<Pyc, PycError> {
    let header = Header::parse(data)?;
    let (magic, version) = match header.magic {
        MagicKind::Known(e) => (e.magic, e.version),
        MagicKind::Unknown { magic, nearest } => (magic, nearest.version),
        // Header::parse refuses foreign magics already.
        MagicKind::Foreign {
            magic,
            implementation,
        } => {
            return Err(PycError::Header(HeaderError::Foreign {
                magic,
                implementation,
            }))
        }
    };
    let format = CodeFormat::for_magic(magic, version);
    let options = ReadOptions {
        python2: version.major < 3,
        code: format,
        unsupported_magic: Some(magic),
        version: Some(version),
    };
    let body = data.get(header.size..).unwrap_or(&[]);
    let (obj, body_len) = read_object(body, options, header.size)?;
    let code = match &*obj {
        Object::Code(c) => c.clone(),
        other => return Err(PycError::NotCode(other.type_name(options.python2))),
    };
    Ok(Pyc {
        header,
        body: obj,
        code,
        body_len,
        format: format.unwrap_or(CodeFormat::Py311),
    })
}

enum Slot {
    Filled(ObjRef),
    /// Reserved by a code object, frozenset, slice or frozendict (CPython: placeholder).
    Reserved,
    /// A tuple, list, dict or set being read (CPython: the partial object itself).
    Building,
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    base: usize,
    refs: Vec<Slot>,
    /// Python 2 interned strings, for `R`.
    strings: Vec<ObjRef>,
    options: ReadOptions,
}

type R<T> = Result<T, MarshalError>;

impl<'a> Reader<'a> {
    fn err_at(&self, pos: usize, kind: MarshalErrorKind) -> MarshalError {
        MarshalError {
            offset: self.base + pos,
            kind,
        }
    }

    fn too_short(&self, expected: impl Into<String>) -> MarshalError {
        self.err_at(
            self.pos,
            MarshalErrorKind::TooShort {
                expected: expected.into(),
            },
        )
    }

    fn take(&mut self, n: usize, what: &str) -> R<&'a [u8]> {
        let data: &'a [u8] = self.data;
        match data.get(self.pos..).and_then(|rest| rest.get(..n)) {
            Some(s) => {
                self.pos += n;
                Ok(s)
            }
            None => Err(self.too_short(format!(
                "{what} ({n} bytes, {} left)",
                data.len().saturating_sub(self.pos)
            ))),
        }
    }

    fn byte(&mut self, what: &str) -> R<u8> {
        Ok(self.take(1, what)?[0])
    }

    fn i32(&mut self, what: &str) -> R<i32> {
        let b = self.take(4, what)?;
        Ok(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i16(&mut self, what: &str) -> R<i16> {
        let b = self.take(2, what)?;
        Ok(i16::from_le_bytes([b[0], b[1]]))
    }

    fn f64(&mut self, what: &str) -> R<f64> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(f64::from_le_bytes(a))
    }

    fn left(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// A 32-bit length, checked: not negative, and at most `left / min_item_size` items.
    fn size(&mut self, what: &'static str, min_item_size: usize) -> R<usize> {
        let at = self.pos;
        let n = self.i32(what)?;
        if n < 0 {
            return Err(self.err_at(
                at,
                MarshalErrorKind::SizeOutOfRange {
                    what,
                    size: i64::from(n),
                },
            ));
        }
        let n = n as usize;
        self.check_room(n, min_item_size, what)?;
        Ok(n)
    }

    fn check_room(&self, n: usize, min_item_size: usize, what: &str) -> R<()> {
        if n.saturating_mul(min_item_size) > self.left() {
            return Err(self.too_short(format!(
                "{what} of {n} items/bytes, only {} bytes left",
                self.left()
            )));
        }
        Ok(())
    }

    fn text_float(&mut self) -> R<f64> {
        let at = self.pos;
        let n = self.byte("float text length")? as usize;
        let s = self.take(n, "float text")?;
        let text = String::from_utf8_lossy(s);
        text.parse::<f64>()
            .ok()
            .filter(|_| !text.is_empty())
            .ok_or_else(|| self.err_at(at, MarshalErrorKind::BadFloat(text.into_owned())))
    }

    fn long(&mut self) -> R<BigInt> {
        let at = self.pos;
        let n = self.i32("long digit count")?;
        if n == 0 {
            return Ok(BigInt::from(0));
        }
        if n == i32::MIN {
            return Err(self.err_at(
                at,
                MarshalErrorKind::SizeOutOfRange {
                    what: "long",
                    size: i64::from(n),
                },
            ));
        }
        let count = n.unsigned_abs() as usize;
        self.check_room(count, 2, "long digits")?;
        let mut words: Vec<u32> = Vec::with_capacity(count * 15 / 32 + 1);
        let (mut acc, mut bits) = (0u64, 0u32);
        let mut last = 0i16;
        for _ in 0..count {
            let d = self.i16("long digit")?;
            if d < 0 {
                return Err(self.err_at(self.pos - 2, MarshalErrorKind::LongDigitOutOfRange));
            }
            last = d;
            acc |= (d as u64) << bits;
            bits += 15;
            if bits >= 32 {
                words.push(acc as u32);
                acc >>= 32;
                bits -= 32;
            }
        }
        if last == 0 {
            return Err(self.err_at(self.pos - 2, MarshalErrorKind::UnnormalizedLong));
        }
        if bits > 0 {
            words.push(acc as u32);
        }
        let sign = if n < 0 { Sign::Minus } else { Sign::Plus };
        Ok(BigInt::from_biguint(sign, BigUint::new(words)))
    }

    fn reserve(&mut self, flag: bool, slot: Slot) -> Option<usize> {
        if flag {
            self.refs.push(slot);
            Some(self.refs.len() - 1)
        } else {
            None
        }
    }

    fn fill(&mut self, idx: Option<usize>, obj: &ObjRef) {
        if let Some(slot) = idx.and_then(|i| self.refs.get_mut(i)) {
            *slot = Slot::Filled(obj.clone());
        }
    }

    /// Reads one object iteratively (an explicit stack of containers being filled, so deep
    /// nesting costs heap, not call stack). `None` for a top-level TYPE_NULL.
    fn object(&mut self) -> R<Option<ObjRef>> {
        let mut stack: Vec<Frame> = Vec::new();
        loop {
            // CPython's depth: one per r_object call in progress.
            // `ready`: a finished value (itself maybe TYPE_NULL) to hand to the frame on top.
            let mut ready = match self.start(stack.len() + 1)? {
                Start::Value(v) => Some(v),
                Start::Frame(f) => {
                    stack.push(f);
                    None
                }
            };
            loop {
                let Some(top) = stack.last_mut() else {
                    return Ok(ready.flatten());
                };
                if let Some(v) = ready.take() {
                    top.accept(v, self)?;
                }
                match top.next(self)? {
                    Next::Child => break,
                    Next::Done(o) => {
                        stack.pop();
                        ready = Some(Some(o));
                    }
                }
            }
        }
    }

    /// Reads a type byte and, for a scalar, the whole value; for a container, its header.
    fn start(&mut self, depth: usize) -> R<Start> {
        let at = self.pos;
        let code = match self.data.get(self.pos) {
            Some(&c) => c,
            None => return Err(self.too_short("an object (EOF read where object expected)")),
        };
        self.pos += 1;
        if depth > MAX_MARSHAL_STACK_DEPTH as usize {
            return Err(self.err_at(at, MarshalErrorKind::RecursionLimit));
        }
        let flag = code & tc::FLAG_REF != 0;
        let ty = code & !tc::FLAG_REF;
        let py2 = self.options.python2;
        if py2 && (flag || ty == tc::REF) {
            // Python 2 has no FLAG_REF and no `r` (marshal 3 came with 3.4).
            return Err(self.err_at(at, MarshalErrorKind::UnknownTypeCode(code)));
        }
        let simple = match ty {
            tc::NULL => return Ok(Start::Value(None)),
            // Singletons are shared (never flagged, so sharing them changes nothing).
            tc::NONE | tc::FALSE | tc::TRUE | tc::ELLIPSIS | tc::STOPITER => {
                return Ok(Start::Value(Some(singleton(ty))))
            }
            tc::INT => Object::Int(i64::from(self.i32("int")?)),
            tc::INT64 => {
                let b = self.take(8, "int64")?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Object::Int(i64::from_le_bytes(a))
            }
            tc::LONG => Object::Long(self.long()?),
            tc::FLOAT => Object::Float(self.text_float()?),
            tc::BINARY_FLOAT => Object::Float(self.f64("float")?),
            tc::COMPLEX => {
                let re = self.text_float()?;
                Object::Complex(re, self.text_float()?)
            }
            tc::BINARY_COMPLEX => {
                let re = self.f64("complex real part")?;
                Object::Complex(re, self.f64("complex imaginary part")?)
            }
            tc::STRING => {
                let n = self.size("bytes object", 1)?;
                Object::Bytes(PyBytes {
                    data: self.take(n, "bytes")?.into(),
                    interned: false,
                })
            }
            tc::INTERNED if py2 => {
                let n = self.size("interned string", 1)?;
                let o = Arc::new(Object::Bytes(PyBytes {
                    data: self.take(n, "string")?.into(),
                    interned: true,
                }));
                self.strings.push(o.clone());
                return Ok(Start::Value(Some(o)));
            }
            tc::STRINGREF if py2 => {
                let n = self.i32("string ref")?;
                return match usize::try_from(n).ok().and_then(|i| self.strings.get(i)) {
                    Some(o) => Ok(Start::Value(Some(o.clone()))),
                    None => {
                        Err(self.err_at(at, MarshalErrorKind::StringRefOutOfRange(i64::from(n))))
                    }
                };
            }
            tc::UNICODE | tc::INTERNED => {
                let n = self.size("unicode", 1)?;
                let b = self.take(n, "str")?;
                let s = PyStr::from_utf8_surrogatepass(b, ty == tc::INTERNED)
                    .ok_or_else(|| self.err_at(at, MarshalErrorKind::BadUtf8))?;
                Object::Str(s)
            }
            tc::ASCII | tc::ASCII_INTERNED => {
                let n = self.size("str", 1)?;
                let b = self.take(n, "str")?;
                Object::Str(PyStr::from_latin1(b, ty == tc::ASCII_INTERNED))
            }
            tc::SHORT_ASCII | tc::SHORT_ASCII_INTERNED => {
                let n = self.byte("short str size")? as usize;
                let b = self.take(n, "str")?;
                Object::Str(PyStr::from_latin1(b, ty == tc::SHORT_ASCII_INTERNED))
            }
            tc::REF => {
                let n = self.i32("ref index")?;
                let i = i64::from(n);
                return match usize::try_from(n).ok().and_then(|i| self.refs.get(i)) {
                    Some(Slot::Filled(o)) => Ok(Start::Value(Some(o.clone()))),
                    Some(Slot::Building) => {
                        Err(self.err_at(at, MarshalErrorKind::CyclicReference(i)))
                    }
                    _ => Err(self.err_at(at, MarshalErrorKind::InvalidReference(i))),
                };
            }
            tc::TUPLE | tc::SMALL_TUPLE | tc::LIST | tc::SET | tc::FROZENSET => {
                let (what, n) = match ty {
                    tc::SMALL_TUPLE => {
                        let n = self.byte("small tuple size")? as usize;
                        self.check_room(n, 1, "tuple")?;
                        ("tuple", n)
                    }
                    tc::TUPLE => ("tuple", self.size("tuple", 1)?),
                    tc::LIST => ("list", self.size("list", 1)?),
                    _ => ("set", self.size("set", 1)?),
                };
                // Tuples, lists and sets are registered before their items; a non-empty
                // frozenset reserves its slot and fills it when complete (r_ref_reserve).
                let slot = if ty == tc::FROZENSET && n > 0 {
                    Slot::Reserved
                } else {
                    Slot::Building
                };
                let idx = self.reserve(flag, slot);
                return Ok(Start::Frame(Frame::Seq {
                    at,
                    ty,
                    what,
                    n,
                    items: Vec::with_capacity(n),
                    idx,
                }));
            }
            tc::DICT | tc::FROZENDICT => {
                let slot = if ty == tc::DICT {
                    Slot::Building
                } else {
                    Slot::Reserved
                };
                let idx = self.reserve(flag, slot);
                return Ok(Start::Frame(Frame::Dict {
                    ty,
                    items: Vec::new(),
                    key: None,
                    done: false,
                    idx,
                }));
            }
            tc::SLICE => {
                let idx = self.reserve(flag, Slot::Reserved);
                return Ok(Start::Frame(Frame::Slice {
                    at,
                    parts: Vec::with_capacity(3),
                    idx,
                }));
            }
            tc::CODE => {
                let format = match self.options.code {
                    Some(f) => f,
                    None => {
                        let kind = match self.options.unsupported_magic {
                            Some(magic) => MarshalErrorKind::UnsupportedCodeFormat { magic },
                            None => MarshalErrorKind::CodeWithoutFormat,
                        };
                        return Err(self.err_at(at, kind));
                    }
                };
                let idx = self.reserve(flag, Slot::Reserved);
                return Ok(Start::Frame(Frame::Code(Box::new(CodeBuilder {
                    at,
                    version: self.options.version,
                    idx,
                    format,
                    step: 0,
                    ints: [0; 7],
                    objs: Default::default(),
                }))));
            }
            _ => return Err(self.err_at(at, MarshalErrorKind::UnknownTypeCode(code))),
        };
        let o = Arc::new(simple);
        if flag && !o.is_singleton() {
            self.refs.push(Slot::Filled(o.clone()));
        }
        Ok(Start::Value(Some(o)))
    }
}

/// The shared `None`, `False`, `True`, `Ellipsis` or `StopIteration`.
fn singleton(ty: u8) -> ObjRef {
    static S: std::sync::OnceLock<[ObjRef; 5]> = std::sync::OnceLock::new();
    let all = S.get_or_init(|| {
        [
            Arc::new(Object::None),
            Arc::new(Object::False),
            Arc::new(Object::True),
            Arc::new(Object::Ellipsis),
            Arc::new(Object::StopIteration),
        ]
    });
    let i = match ty {
        tc::NONE => 0,
        tc::FALSE => 1,
        tc::TRUE => 2,
        tc::ELLIPSIS => 3,
        _ => 4,
    };
    all[i].clone()
}

enum Start {
    Value(Option<ObjRef>),
    Frame(Frame),
}

enum Next {
    Child,
    Done(ObjRef),
}

/// A container being read.
enum Frame {
    Seq {
        at: usize,
        ty: u8,
        what: &'static str,
        n: usize,
        items: Vec<ObjRef>,
        idx: Option<usize>,
    },
    Dict {
        ty: u8,
        items: Vec<(ObjRef, ObjRef)>,
        key: Option<ObjRef>,
        done: bool,
        idx: Option<usize>,
    },
    Slice {
        at: usize,
        parts: Vec<ObjRef>,
        idx: Option<usize>,
    },
    Code(Box<CodeBuilder>),
}

struct CodeBuilder {
    at: usize,
    version: Option<PyVersion>,
    idx: Option<usize>,
    format: CodeFormat,
    /// Index into `format.fields()`.
    step: usize,
    ints: [i32; 7],
    objs: [Option<ObjRef>; 13],
}

fn int_slot(f: CodeField) -> usize {
    use CodeField::*;
    match f {
        ArgCount => 0,
        PosOnlyArgCount => 1,
        KwOnlyArgCount => 2,
        NLocals => 3,
        StackSize => 4,
        Flags => 5,
        _ => 6, // FirstLineNo
    }
}

fn obj_slot(f: CodeField) -> usize {
    use CodeField::*;
    match f {
        Code => 0,
        Consts => 1,
        Names => 2,
        VarNames => 3,
        FreeVars => 4,
        CellVars => 5,
        LocalsPlusNames => 6,
        LocalsPlusKinds => 7,
        Filename => 8,
        Name => 9,
        QualName => 10,
        LineTable => 11,
        _ => 12, // ExceptionTable
    }
}

impl Frame {
    /// Takes a finished child (`None`: TYPE_NULL).
    fn accept(&mut self, child: Option<ObjRef>, r: &Reader) -> R<()> {
        match self {
            Frame::Seq {
                at, what, items, ..
            } => match child {
                Some(o) => items.push(o),
                None => return Err(r.err_at(*at, MarshalErrorKind::NullObject(what))),
            },
            Frame::Dict {
                items, key, done, ..
            } => match (child, key.take()) {
                // A NULL key ends the dict; a NULL value too (CPython drops that key).
                (None, _) => *done = true,
                (Some(v), Some(k)) => items.push((k, v)),
                (Some(k), None) => *key = Some(k),
            },
            Frame::Slice { at, parts, .. } => match child {
                Some(o) => parts.push(o),
                None => return Err(r.err_at(*at, MarshalErrorKind::NullObject("slice"))),
            },
            Frame::Code(b) => match child {
                Some(o) => {
                    let field = b.format.fields()[b.step];
                    b.objs[obj_slot(field)] = Some(o);
                    b.step += 1;
                }
                None => return Err(r.err_at(b.at, MarshalErrorKind::NullObject("code object"))),
            },
        }
        Ok(())
    }

    /// What the frame needs next: another child, or it is complete.
    fn next(&mut self, r: &mut Reader) -> R<Next> {
        let (obj, idx) = match self {
            Frame::Seq {
                ty, n, items, idx, ..
            } => {
                if items.len() < *n {
                    return Ok(Next::Child);
                }
                let items = std::mem::take(items);
                let o = match *ty {
                    tc::TUPLE | tc::SMALL_TUPLE => Object::Tuple(items),
                    tc::LIST => Object::List(items),
                    tc::SET => Object::Set(items),
                    _ => Object::FrozenSet(items),
                };
                (o, *idx)
            }
            Frame::Dict {
                ty,
                items,
                done,
                idx,
                ..
            } => {
                if !*done {
                    return Ok(Next::Child);
                }
                let items = std::mem::take(items);
                let o = if *ty == tc::DICT {
                    Object::Dict(items)
                } else {
                    Object::FrozenDict(items)
                };
                (o, *idx)
            }
            Frame::Slice { at, parts, idx } => {
                if parts.len() < 3 {
                    return Ok(Next::Child);
                }
                let arr: [ObjRef; 3] = match std::mem::take(parts).try_into() {
                    Ok(a) => a,
                    Err(_) => return Err(r.err_at(*at, MarshalErrorKind::NullObject("slice"))),
                };
                (Object::Slice(Box::new(arr)), *idx)
            }
            Frame::Code(b) => {
                let fields = b.format.fields();
                while let Some(&field) = fields.get(b.step) {
                    if !field.is_int() {
                        return Ok(Next::Child);
                    }
                    let v = if b.format.int_width() == 4 {
                        r.i32(field.attr())?
                    } else {
                        i32::from(r.i16(field.attr())?)
                    };
                    b.ints[int_slot(field)] = v;
                    b.step += 1;
                }
                let code = b.build().map_err(|k| r.err_at(b.at, k))?;
                (Object::Code(Arc::new(code)), b.idx)
            }
        };
        let o = Arc::new(obj);
        r.fill(idx, &o);
        Ok(Next::Done(o))
    }
}

impl CodeBuilder {
    fn build(&mut self) -> Result<Code, MarshalErrorKind> {
        let f = self.format;
        let mut take = |field: CodeField| self.objs[obj_slot(field)].take();
        let missing = || MarshalErrorKind::NullObject("code object");
        let code = take(CodeField::Code).ok_or_else(missing)?;
        let consts = take(CodeField::Consts).ok_or_else(missing)?;
        let names = take(CodeField::Names).ok_or_else(missing)?;
        let varnames = take(CodeField::VarNames);
        let freevars = take(CodeField::FreeVars);
        let cellvars = take(CodeField::CellVars);
        let localsplusnames = take(CodeField::LocalsPlusNames);
        let localspluskinds = take(CodeField::LocalsPlusKinds);
        let filename = take(CodeField::Filename).ok_or_else(missing)?;
        let name = take(CodeField::Name).ok_or_else(missing)?;
        let qualname = take(CodeField::QualName);
        let linetable = take(CodeField::LineTable).ok_or_else(missing)?;
        let exceptiontable = take(CodeField::ExceptionTable);
        let int = |field| self.ints[int_slot(field)];
        let nlocals = if f.has_localsplus() {
            localspluskinds
                .as_ref()
                .and_then(|k| k.as_bytes())
                .map_or(0, |k| {
                    k.iter()
                        .filter(|&&b| b & crate::code::CO_FAST_LOCAL != 0)
                        .count() as i32
                })
        } else {
            int(CodeField::NLocals)
        };
        let c = Code {
            format: f,
            version: self.version,
            argcount: int(CodeField::ArgCount),
            posonlyargcount: int(CodeField::PosOnlyArgCount),
            kwonlyargcount: int(CodeField::KwOnlyArgCount),
            nlocals,
            stacksize: int(CodeField::StackSize),
            flags: int(CodeField::Flags) as u32,
            code,
            consts,
            names,
            varnames,
            freevars,
            cellvars,
            localsplusnames,
            localspluskinds,
            filename,
            name,
            qualname,
            firstlineno: int(CodeField::FirstLineNo),
            linetable,
            exceptiontable,
        };
        validate(&c, f.python2())?;
        Ok(c)
    }
}

/// Type checks CPython makes when it builds a code object (`PyCode_New*`,
/// `_PyCode_Validate`), so that users of [`Code`] can rely on the field types.
fn validate(c: &Code, python2: bool) -> Result<(), MarshalErrorKind> {
    let found = |o: &ObjRef| o.type_name(python2);
    let bad = |field, expected, o: &ObjRef| {
        Err(MarshalErrorKind::BadCodeField {
            field,
            expected,
            found: found(o),
        })
    };
    let is_text = |o: &ObjRef| matches!(**o, Object::Str(_) | Object::Bytes(_));
    let bytes_fields = [
        ("co_code", Some(&c.code)),
        ("co_lnotab/co_linetable", Some(&c.linetable)),
        ("co_exceptiontable", c.exceptiontable.as_ref()),
        ("co_localspluskinds", c.localspluskinds.as_ref()),
    ];
    for (field, o) in bytes_fields {
        if let Some(o) = o {
            if !matches!(**o, Object::Bytes(_)) {
                return bad(field, "bytes", o);
            }
        }
    }
    if !matches!(*c.consts, Object::Tuple(_)) {
        return bad("co_consts", "a tuple", &c.consts);
    }
    let name_tuples = [
        ("co_names", Some(&c.names)),
        ("co_varnames", c.varnames.as_ref()),
        ("co_freevars", c.freevars.as_ref()),
        ("co_cellvars", c.cellvars.as_ref()),
        ("co_localsplusnames", c.localsplusnames.as_ref()),
    ];
    for (field, o) in name_tuples {
        if let Some(o) = o {
            match o.as_tuple() {
                Some(items) => {
                    if let Some(bad_item) = items.iter().find(|i| !is_text(i)) {
                        return bad(field, "a tuple of str", bad_item);
                    }
                }
                None => return bad(field, "a tuple of str", o),
            }
        }
    }
    for (field, o) in [
        ("co_filename", Some(&c.filename)),
        ("co_name", Some(&c.name)),
        ("co_qualname", c.qualname.as_ref()),
    ] {
        if let Some(o) = o {
            if !is_text(o) {
                return bad(field, "a str", o);
            }
        }
    }
    refused_by_constructor(c, python2)?;
    if let (Some(names), Some(kinds)) = (&c.localsplusnames, &c.localspluskinds) {
        let n = names.as_tuple().map_or(0, |t| t.len());
        let k = kinds.as_bytes().map_or(0, |b| b.len());
        if n != k {
            return Err(MarshalErrorKind::BadCodeField {
                field: "co_localspluskinds",
                expected: "as long as co_localsplusnames",
                found: "another length",
            });
        }
    }
    Ok(())
}

/// The checks on counts that CPython's code constructor makes, with its errors (checked
/// against `marshal.loads` of 2.7 and 3.6-3.13): negative counts or flags, or fewer
/// positional arguments than positional-only ones, are a `SystemError` ("bad argument to
/// internal function") in every version; from 3.0, fewer local names than the arguments
/// need is a `ValueError`, "code: varnames is too small" (3.11+: "code: co_varnames ...").
fn refused_by_constructor(c: &Code, python2: bool) -> Result<(), MarshalErrorKind> {
    // 3.11+: the number of CO_FAST_LOCAL names (`nlocals`, derived when read); before: the
    // length of co_varnames.
    let names = if c.format.has_localsplus() {
        i64::from(c.nlocals)
    } else {
        c.varnames
            .as_ref()
            .and_then(|v| v.as_tuple())
            .map_or(0, |t| t.len() as i64)
    };
    let counts = CodeCounts {
        argcount: c.argcount,
        posonlyargcount: c.posonlyargcount,
        kwonlyargcount: c.kwonlyargcount,
        nlocals: (!c.format.has_localsplus()).then_some(c.nlocals),
        stacksize: c.stacksize,
        flags: c.flags as i32,
        names,
    };
    match counts.refused(c.format.has_localsplus(), python2) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The counts of a code object that its constructor checks.
pub(crate) struct CodeCounts {
    pub argcount: i32,
    pub posonlyargcount: i32,
    pub kwonlyargcount: i32,
    /// Stored up to 3.10.
    pub nlocals: Option<i32>,
    pub stacksize: i32,
    pub flags: i32,
    /// Local variable names: `len(co_varnames)`, or (3.11+) the `CO_FAST_LOCAL` kinds.
    pub names: i64,
}

impl CodeCounts {
    /// Why the constructor refuses these counts, if it does.
    pub(crate) fn refused(&self, localsplus: bool, python2: bool) -> Option<MarshalErrorKind> {
        if self.argcount < 0
            || self.posonlyargcount < 0
            || self.kwonlyargcount < 0
            || self.argcount < self.posonlyargcount
            || self.stacksize < 0
            || self.flags < 0
            || self.nlocals.is_some_and(|n| n < 0)
        {
            return Some(MarshalErrorKind::CodeRefused {
                error: "SystemError",
                message: "bad argument to internal function",
            });
        }
        if python2 {
            return None;
        }
        let star = |flag: u32| i64::from(self.flags as u32 & flag != 0);
        let needed = i64::from(self.argcount)
            + i64::from(self.kwonlyargcount)
            + star(crate::code::CO_VARARGS)
            + star(crate::code::CO_VARKEYWORDS);
        (needed > self.names).then_some(MarshalErrorKind::CodeRefused {
            error: "ValueError",
            message: if localsplus {
                "code: co_varnames is too small"
            } else {
                "code: varnames is too small"
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load3(b: &[u8]) -> Result<ObjRef, MarshalError> {
        loads(b, CodeFormat::Py311)
    }

    #[test]
    fn scalars() {
        assert_eq!(*load3(b"N").unwrap(), Object::None);
        assert_eq!(*load3(b"i\xff\xff\xff\xff").unwrap(), Object::Int(-1));
        assert_eq!(
            *load3(b"l\xfe\xff\xff\xff\x00\x00\x01\x00").unwrap(),
            Object::Long(BigInt::from(-(1i64 << 15)))
        );
        assert_eq!(*load3(b"f\x03nan").unwrap(), Object::Float(f64::NAN));
        assert_eq!(
            *load3(b"a\x01\x00\x00\x00\xe9").unwrap(),
            Object::Str(PyStr::new("é", false))
        );
    }

    #[test]
    fn errors_like_cpython() {
        let k = |b: &[u8]| load3(b).unwrap_err().kind;
        assert_eq!(
            k(b"l\x01\x00\x00\x00\x00\x00"),
            MarshalErrorKind::UnnormalizedLong
        );
        assert_eq!(
            k(b"l\x01\x00\x00\x00\x00\x80"),
            MarshalErrorKind::LongDigitOutOfRange
        );
        assert_eq!(k(b"0"), MarshalErrorKind::NullObject("object"));
        assert_eq!(k(b"\x01"), MarshalErrorKind::UnknownTypeCode(1));
        assert_eq!(
            k(b"(\x01\x00\x00\x00(\x01\x00\x00\x00r\x00\x00\x00\x00"),
            MarshalErrorKind::InvalidReference(0)
        );
        assert_eq!(
            k(b"\xa9\x01r\x00\x00\x00\x00"),
            MarshalErrorKind::CyclicReference(0)
        );
        assert_eq!(k(b"u\x02\x00\x00\x00\xc3("), MarshalErrorKind::BadUtf8);
        assert_eq!(
            loads(b"R\x00\x00\x00\x00", CodeFormat::Py23)
                .unwrap_err()
                .kind,
            MarshalErrorKind::StringRefOutOfRange(0)
        );
        assert!(matches!(
            k(b"(\xff\xff\xff\x7f"),
            MarshalErrorKind::TooShort { .. }
        ));
        assert!(matches!(k(b""), MarshalErrorKind::TooShort { .. }));
    }

    #[test]
    fn depth_limit() {
        let mut deep = [b')', 1].repeat(1999);
        deep.push(b'N');
        assert!(load3(&deep).is_ok());
        let mut deeper = [b')', 1].repeat(2000);
        deeper.push(b'N');
        assert_eq!(
            load3(&deeper).unwrap_err().kind,
            MarshalErrorKind::RecursionLimit
        );
    }

    #[test]
    fn refs_share() {
        // [x, x] where x = ('a',) flagged: one allocation, two uses.
        let b = b"[\x02\x00\x00\x00\xa9\x01\xfa\x01ar\x00\x00\x00\x00";
        let o = load3(b).unwrap();
        let Object::List(items) = &*o else { panic!() };
        assert!(Arc::ptr_eq(&items[0], &items[1]));
    }
}
