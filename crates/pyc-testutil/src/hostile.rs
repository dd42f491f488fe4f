//! Generators of hostile pycs (issue 16): small files whose object graphs are deep, wide or
//! expensive, written byte by byte so the tests never commit a large file and never depend
//! on pyc's own writer. Every file is a CPython 3.12 pyc (magic 3531) that CPython 3.12's
//! `marshal.loads` accepts unless the generator says otherwise.

/// The 16-byte header of a 3.12 pyc (timestamp-based, mtime 0, size 0).
pub const HEADER_312: [u8; 16] = [0xcb, 0x0d, 0x0d, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

fn i32le(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn short_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'z');
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}

fn bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.push(b's');
    i32le(out, b.len() as i32);
    out.extend_from_slice(b);
}

/// A 3.12 code object `RESUME 0; RETURN_CONST 0` whose `co_consts` is written by `consts`
/// (which must write exactly one object, a tuple). `flag` sets `FLAG_REF` on the code.
pub fn code_312(out: &mut Vec<u8>, flag: bool, name: &str, consts: impl FnOnce(&mut Vec<u8>)) {
    out.push(if flag { b'c' | 0x80 } else { b'c' });
    for v in [0, 0, 0, 1, 0] {
        // argcount, posonlyargcount, kwonlyargcount, stacksize, flags
        i32le(out, v);
    }
    bytes(out, &[151, 0, 121, 0]); // RESUME 0, RETURN_CONST 0
    consts(out);
    out.extend_from_slice(b")\x00"); // co_names
    out.extend_from_slice(b")\x00"); // co_localsplusnames
    bytes(out, b""); // co_localspluskinds
    short_str(out, "<hostile>"); // co_filename
    short_str(out, name); // co_name
    short_str(out, name); // co_qualname
    i32le(out, 1); // co_firstlineno
    bytes(out, b""); // co_linetable
    bytes(out, b""); // co_exceptiontable
}

/// A 3.12 pyc whose module code has `co_consts` written by `consts`.
pub fn pyc_312(consts: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = HEADER_312.to_vec();
    code_312(&mut out, false, "<module>", consts);
    out
}

/// Tuples nested `depth` deep *through back-references*: the module's constants are
/// `(chain, last)` where `chain` is a flat tuple whose item `i` is the 1-tuple `(item[i-1],)`
/// (a `TYPE_REF` to the item before it), and `last` refers to the deepest one. The file is
/// about 7 bytes per level and never more than three objects deep.
pub fn nested_tuples(depth: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.push(b'(');
        i32le(out, 2);
        out.push(b'(');
        i32le(out, depth as i32);
        for i in 0..depth {
            out.extend_from_slice(b"\xa9\x01"); // flagged 1-tuple: ref index i
            if i == 0 {
                out.push(b'N');
            } else {
                out.push(b'r');
                i32le(out, i as i32 - 1);
            }
        }
        out.push(b'r');
        i32le(out, depth as i32 - 1);
    })
}

/// Code objects chained `depth` deep through back-references: code `i` has `co_consts ==
/// (code[i-1],)`. The module's constants are `(chain, last)` as in [`nested_tuples`], so
/// `dis` disassembles the whole chain, one level inside the other.
pub fn nested_code(depth: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.push(b'(');
        i32le(out, 2);
        out.push(b'(');
        i32le(out, depth as i32);
        for i in 0..depth {
            code_312(out, true, &format!("f{i}"), |out| {
                out.extend_from_slice(b")\x01");
                if i == 0 {
                    out.push(b'N');
                } else {
                    out.push(b'r');
                    i32le(out, i as i32 - 1);
                }
            });
        }
        out.push(b'r');
        i32le(out, depth as i32 - 1);
    })
}

/// Exponential amplification: `levels` tuples, each `(prev, prev)`; printed as a tree the last
/// one has 2^levels leaves. The module's constants are `(chain, last)`.
pub fn doubling_tuples(levels: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.push(b'(');
        i32le(out, 2);
        out.push(b'(');
        i32le(out, levels as i32);
        for i in 0..levels {
            if i == 0 {
                out.extend_from_slice(b"\xa9\x02NN");
            } else {
                out.extend_from_slice(b"\xa9\x02");
                for _ in 0..2 {
                    out.push(b'r');
                    i32le(out, i as i32 - 1);
                }
            }
        }
        out.push(b'r');
        i32le(out, levels as i32 - 1);
    })
}

/// Wide amplification, as in the issue: one flagged tuple of `width` distinct small ints, then
/// `copies` references to it. Printed as a tree it is `width * copies` elements from a file of
/// about `5 * (width + copies)` bytes.
pub fn wide_refs(width: usize, copies: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.push(b'(');
        i32le(out, copies as i32 + 1);
        out.push(b'(' | 0x80);
        i32le(out, width as i32);
        for i in 0..width {
            out.push(b'i');
            i32le(out, i as i32);
        }
        for _ in 0..copies {
            out.push(b'r');
            i32le(out, 0);
        }
    })
}

/// One integer constant of `digits` 15-bit digits (`TYPE_LONG`), all digits 0x7fff, i.e.
/// `2**(15*digits) - 1`, about `4.5 * digits` decimal digits.
pub fn big_int(digits: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.extend_from_slice(b")\x01l");
        i32le(out, digits as i32);
        for _ in 0..digits {
            out.extend_from_slice(&0x7fffu16.to_le_bytes());
        }
    })
}

/// Amplification through long strings: one flagged tuple of `width` distinct strings of
/// `len` ASCII characters each, then `copies` references to it. Each copy printed as a tree
/// (and its repr) is `width * len` bytes again.
pub fn fat_refs(width: usize, len: usize, copies: usize) -> Vec<u8> {
    pyc_312(|out| {
        out.push(b'(');
        i32le(out, copies as i32 + 1);
        out.push(b'(' | 0x80);
        i32le(out, width as i32);
        for i in 0..width {
            out.push(b'a');
            i32le(out, len as i32);
            let c = b'a' + (i % 26) as u8;
            out.extend(std::iter::repeat_n(c, len));
        }
        for _ in 0..copies {
            out.push(b'r');
            i32le(out, 0);
        }
    })
}

/// A 3.12 pyc whose module constants are an object graph read from `data` (for fuzzing the
/// whole command line on graphs, not just bytes): each byte picks the next object: small and
/// big ints, floats, strings, bytes, tuples, lists, sets, dicts, code objects (with nested
/// constants), and back-references to any object flagged so far, containers still being
/// read included (which CPython refuses as cyclic). Most containers are flagged, so later
/// references can share and amplify them. Nesting stops at 40 levels of the generator (the
/// graph can still nest far deeper through references); at most 4,096 objects.
pub fn graph_from_bytes(data: &[u8]) -> Vec<u8> {
    struct G<'a> {
        data: &'a [u8],
        at: usize,
        refs: u32,
        objects: usize,
    }
    impl G<'_> {
        fn byte(&mut self) -> u8 {
            let b = self.data.get(self.at).copied().unwrap_or(0);
            self.at += 1;
            b
        }
        fn more(&self) -> bool {
            self.at < self.data.len() && self.objects < 4096
        }
        fn flagged(&mut self, out: &mut Vec<u8>, kind: u8) {
            out.push(kind | 0x80);
            self.refs += 1;
        }
        fn object(&mut self, out: &mut Vec<u8>, depth: usize) {
            self.objects += 1;
            let b = self.byte();
            let n = usize::from(self.byte() % 8);
            let leaf = depth >= 40 || !self.more();
            match if leaf { b % 6 } else { b % 12 } {
                0 => out.push(b'N'),
                1 => {
                    out.push(b'i');
                    i32le(out, i32::from(b) * 1000 - 5);
                }
                2 => short_str(out, &"x".repeat(n)),
                3 => bytes(out, &vec![b; n * 3]),
                4 if self.refs > 0 => {
                    out.push(b'r');
                    let r = u32::from(self.byte()) % self.refs;
                    i32le(out, r as i32);
                }
                4 => out.push(b'T'),
                5 => {
                    // A long of n * 300 15-bit digits (zero digits: empty or 0x7fff ones).
                    out.push(b'l');
                    let digits = n * 300;
                    i32le(
                        out,
                        if b & 0x40 != 0 {
                            -(digits as i32)
                        } else {
                            digits as i32
                        },
                    );
                    for i in 0..digits {
                        let d: u16 = if i + 1 == digits { 1 } else { 0x7fff };
                        out.extend_from_slice(&d.to_le_bytes());
                    }
                }
                6 | 7 => {
                    // A tuple (flagged unless b says not).
                    if b & 0x80 != 0 {
                        out.push(b'(');
                    } else {
                        self.flagged(out, b'(');
                    }
                    i32le(out, n as i32);
                    for _ in 0..n {
                        self.object(out, depth + 1);
                    }
                }
                8 => {
                    self.flagged(out, if b & 0x80 != 0 { b'[' } else { b'>' });
                    i32le(out, n as i32);
                    for _ in 0..n {
                        self.object(out, depth + 1);
                    }
                }
                9 => {
                    self.flagged(out, b'{');
                    for _ in 0..n {
                        self.object(out, depth + 1);
                        self.object(out, depth + 1);
                    }
                    out.push(b'0');
                }
                10 => {
                    out.push(b'g');
                    out.extend_from_slice(&(f64::from(b) / 7.0).to_le_bytes());
                }
                _ => {
                    // A code object whose constants are a tuple of n objects.
                    let mut inner = Vec::new();
                    let name = format!("f{}", self.objects);
                    let flag = b & 0x80 == 0;
                    if flag {
                        self.refs += 1;
                    }
                    code_312(&mut inner, flag, &name, |o| {
                        o.push(b'(');
                        i32le(o, n as i32);
                        for _ in 0..n {
                            self.object(o, depth + 1);
                        }
                    });
                    out.extend_from_slice(&inner);
                }
            }
        }
    }
    let mut g = G {
        data,
        at: 0,
        refs: 0,
        objects: 0,
    };
    pyc_312(|out| {
        let n = usize::from(g.byte() % 16) + 1;
        out.push(b'(');
        i32le(out, n as i32);
        for _ in 0..n {
            g.object(out, 0);
        }
    })
}
