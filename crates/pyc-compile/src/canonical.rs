//! The canonical form of marshal data: `FLAG_REF` only on objects that are referenced again.
//!
//! CPython's marshal (format 3+, CPython 3.4+) sets `FLAG_REF` (0x80 on the type byte) on every
//! object whose reference count is above one when it is written, and numbers those objects in
//! the order they are written; a later `TYPE_REF` (`r`) names one by that number. Whether an
//! object's count is above one depends on what else the process holds (strings interned by an
//! earlier compilation, caches), so the same code object marshals to different bytes in a fresh
//! interpreter and in a long-lived worker (python/cpython#78274, #98819; uv#10619). The loaded
//! objects are the same: a flag nobody refers to changes nothing.
//!
//! The canonical form keeps `FLAG_REF` exactly on the objects some `TYPE_REF` points at and
//! renumbers the references accordingly (what Fedora's add-determinism does). It is computed
//! in place (same length): one pass finds the flagged objects and the references, a second
//! rewrites the flag bits and reference numbers. Marshal formats 0–2 (CPython up to 3.3) have no
//! references and are already canonical.
//!
//! This is a minimal structural walker written for `pyc compile` while the full marshal reader
//! (pyc-format) was being written; it knows every type code CPython 3.4–3.15 writes.

use pyc_format::CodeLayout;

/// Why marshal data could not be walked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarshalError {
    #[error("marshal data ends at byte {at} inside an object")]
    Truncated { at: usize },
    #[error("unknown marshal type code {code:#04x} at byte {at}")]
    UnknownType { code: u8, at: usize },
    #[error("bad length {len} at byte {at}")]
    BadLength { len: i64, at: usize },
    #[error("reference {index} at byte {at} names no earlier object")]
    BadRef { index: u32, at: usize },
    #[error("marshal data nested deeper than {MAX_DEPTH} levels at byte {at}")]
    TooDeep { at: usize },
    #[error("{extra} bytes after the end of the marshal data")]
    Trailing { extra: usize },
    #[error("code objects of layout {0:?} are not supported")]
    Layout(CodeLayout),
}

const FLAG_REF: u8 = 0x80;
/// CPython's `MAX_MARSHAL_STACK_DEPTH`.
const MAX_DEPTH: usize = 2000;

/// A code object's marshalled fields: runs of 32-bit integers and of nested objects.
#[derive(Clone, Copy)]
enum Field {
    Ints(usize),
    Objects(usize),
}

/// Field runs of `w_object`'s TYPE_CODE branch, per layout (`Python/marshal.c`).
fn code_fields(layout: CodeLayout) -> Result<&'static [Field], MarshalError> {
    use Field::*;
    Ok(match layout {
        // argcount nlocals stacksize flags | code consts names varnames freevars cellvars
        // filename name | firstlineno | lnotab
        CodeLayout::Py23 => &[Ints(4), Objects(8), Ints(1), Objects(1)],
        // + kwonlyargcount
        CodeLayout::Py30 => &[Ints(5), Objects(8), Ints(1), Objects(1)],
        // + posonlyargcount; 3.10 writes linetable where lnotab was
        CodeLayout::Py38 | CodeLayout::Py310 => &[Ints(6), Objects(8), Ints(1), Objects(1)],
        // argcount posonly kwonly stacksize flags | code consts names localsplusnames
        // localspluskinds filename name qualname | firstlineno | linetable exceptiontable
        CodeLayout::Py311 => &[Ints(5), Objects(8), Ints(1), Objects(2)],
        CodeLayout::Py15 => return Err(MarshalError::Layout(layout)),
    })
}

struct Walker<'a> {
    data: &'a [u8],
    pos: usize,
    fields: &'static [Field],
    /// Offsets of the type bytes of flagged objects, in reference-number order.
    flagged: Vec<usize>,
    /// (offset of the 4-byte index, index) of every TYPE_REF.
    refs: Vec<(usize, u32)>,
}

impl Walker<'_> {
    fn take(&mut self, n: usize) -> Result<usize, MarshalError> {
        let at = self.pos;
        match at.checked_add(n) {
            Some(end) if end <= self.data.len() => {
                self.pos = end;
                Ok(at)
            }
            _ => Err(MarshalError::Truncated {
                at: self.data.len(),
            }),
        }
    }

    fn u8(&mut self) -> Result<u8, MarshalError> {
        let at = self.take(1)?;
        Ok(self.data[at])
    }

    fn i32(&mut self) -> Result<i32, MarshalError> {
        let at = self.take(4)?;
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.data[at..at + 4]);
        Ok(i32::from_le_bytes(b))
    }

    /// A non-negative 32-bit count that must fit in what is left (each item takes at least
    /// `min_item` bytes), so a corrupt length cannot make us loop or allocate.
    fn count(&mut self, min_item: usize) -> Result<usize, MarshalError> {
        let at = self.pos;
        let n = self.i32()?;
        let left = self.data.len() - self.pos;
        if n < 0 || (n as usize).saturating_mul(min_item) > left {
            return Err(MarshalError::BadLength {
                len: i64::from(n),
                at,
            });
        }
        Ok(n as usize)
    }

    /// Walk one complete object. Iterative (an explicit stack), so nesting costs heap, not
    /// thread stack.
    fn object(&mut self) -> Result<(), MarshalError> {
        let mut stack: Vec<Frame> = Vec::new();
        self.one(&mut stack)?;
        while let Some(top) = stack.last_mut() {
            match top {
                Frame::Objects(0) => {
                    stack.pop();
                }
                Frame::Objects(n) => {
                    *n -= 1;
                    self.one(&mut stack)?;
                }
                Frame::Dict { value_next } => {
                    if *value_next {
                        *value_next = false;
                    } else if self.data.get(self.pos) == Some(&b'0') {
                        self.pos += 1;
                        stack.pop();
                        continue;
                    } else {
                        *value_next = true;
                    }
                    self.one(&mut stack)?;
                }
                Frame::Code(i) => match self.fields.get(*i) {
                    None => {
                        stack.pop();
                    }
                    Some(&field) => {
                        *i += 1;
                        match field {
                            Field::Ints(n) => {
                                self.take(4 * n)?;
                            }
                            Field::Objects(n) => stack.push(Frame::Objects(n)),
                        }
                    }
                },
            }
        }
        Ok(())
    }

    /// Read one type byte and its own payload; a container pushes what it still contains.
    fn one(&mut self, stack: &mut Vec<Frame>) -> Result<(), MarshalError> {
        // Code objects take two frames (the field runs and the current run).
        if stack.len() > 2 * MAX_DEPTH {
            return Err(MarshalError::TooDeep { at: self.pos });
        }
        let at = self.take(1)?;
        let byte = self.data[at];
        if byte & FLAG_REF != 0 {
            self.flagged.push(at);
        }
        match byte & !FLAG_REF {
            // NULL None False True StopIteration Ellipsis
            b'0' | b'N' | b'F' | b'T' | b'S' | b'.' => {}
            b'i' => {
                self.take(4)?;
            }
            // 64-bit int (2.x), binary float
            b'I' | b'g' => {
                self.take(8)?;
            }
            b'y' => {
                self.take(16)?;
            }
            b'l' => {
                let at = self.pos;
                let n = self.i32()?;
                let digits = n.unsigned_abs() as usize;
                if digits.saturating_mul(2) > self.data.len() - self.pos {
                    return Err(MarshalError::BadLength {
                        len: i64::from(n),
                        at,
                    });
                }
                self.take(digits * 2)?;
            }
            b'f' => {
                let n = self.u8()?;
                self.take(usize::from(n))?;
            }
            b'x' => {
                for _ in 0..2 {
                    let n = self.u8()?;
                    self.take(usize::from(n))?;
                }
            }
            // bytes, interned str (2.x), unicode, ascii, interned ascii
            b's' | b't' | b'u' | b'a' | b'A' => {
                let n = self.count(1)?;
                self.take(n)?;
            }
            b'z' | b'Z' => {
                let n = self.u8()?;
                self.take(usize::from(n))?;
            }
            // 2.x string reference (into the interned list)
            b'R' => {
                self.take(4)?;
            }
            b'r' => {
                let at = self.pos;
                let index = self.i32()? as u32;
                if index as usize >= self.flagged.len() {
                    return Err(MarshalError::BadRef { index, at });
                }
                self.refs.push((at, index));
            }
            b'(' | b'[' | b'<' | b'>' => {
                let n = self.count(1)?;
                stack.push(Frame::Objects(n));
            }
            b')' => {
                let n = self.u8()?;
                stack.push(Frame::Objects(usize::from(n)));
            }
            b'{' => stack.push(Frame::Dict { value_next: false }),
            // slice (3.14+): start, stop, step
            b':' => stack.push(Frame::Objects(3)),
            b'c' => stack.push(Frame::Code(0)),
            code => return Err(MarshalError::UnknownType { code, at }),
        }
        Ok(())
    }
}

/// What a container still has to read.
enum Frame {
    /// This many more objects.
    Objects(usize),
    /// Key/value pairs up to a NULL; `value_next` after a key.
    Dict { value_next: bool },
    /// The next field run of a code object.
    Code(usize),
}

/// Is a marshal stream of this format able to carry references at all?
fn has_refs(marshal_version: u8) -> bool {
    marshal_version >= 3
}

/// The canonical form of one marshalled object (a pyc body): `FLAG_REF` kept only where a
/// `TYPE_REF` refers back, references renumbered. Errors name the byte offset.
pub fn canonicalize(
    data: &[u8],
    marshal_version: u8,
    layout: CodeLayout,
) -> Result<Vec<u8>, MarshalError> {
    let mut w = Walker {
        data,
        pos: 0,
        fields: code_fields(layout)?,
        flagged: Vec::new(),
        refs: Vec::new(),
    };
    w.object()?;
    if w.pos != data.len() {
        return Err(MarshalError::Trailing {
            extra: data.len() - w.pos,
        });
    }
    let mut out = data.to_vec();
    if !has_refs(marshal_version) {
        return Ok(out);
    }
    let mut used = vec![false; w.flagged.len()];
    for &(_, index) in &w.refs {
        used[index as usize] = true;
    }
    // New number of each kept object: its rank among the kept ones.
    let mut renumber = vec![u32::MAX; w.flagged.len()];
    let mut next = 0u32;
    for (i, &offset) in w.flagged.iter().enumerate() {
        if used[i] {
            renumber[i] = next;
            next += 1;
        } else {
            out[offset] &= !FLAG_REF;
        }
    }
    for &(offset, index) in &w.refs {
        out[offset..offset + 4].copy_from_slice(&renumber[index as usize].to_le_bytes());
    }
    Ok(out)
}

/// Is `data` already in canonical form?
pub fn is_canonical(
    data: &[u8],
    marshal_version: u8,
    layout: CodeLayout,
) -> Result<bool, MarshalError> {
    Ok(canonicalize(data, marshal_version, layout)? == data)
}

#[cfg(test)]
mod tests {
    use super::*;

    const V4: u8 = 4;

    #[test]
    fn unused_flag_is_cleared_and_refs_renumbered() {
        // A tuple of 3: 'a' flagged (unused), 'b' flagged (used), ref to 'b' (index 2 since the
        // tuple itself is flagged as 0).
        let data = b"\xa9\x03\xfa\x01a\xfa\x01br\x02\x00\x00\x00";
        let out = canonicalize(data, V4, CodeLayout::Py311).unwrap();
        // Tuple unflagged, 'a' unflagged, 'b' keeps its flag and becomes ref 0.
        assert_eq!(out, b")\x03z\x01a\xfa\x01br\x00\x00\x00\x00");
        assert!(is_canonical(&out, V4, CodeLayout::Py311).unwrap());
        assert!(!is_canonical(data, V4, CodeLayout::Py311).unwrap());
    }

    #[test]
    fn corrupt_input_is_an_error_not_a_panic() {
        assert_eq!(
            canonicalize(b"", V4, CodeLayout::Py311),
            Err(MarshalError::Truncated { at: 0 })
        );
        assert!(matches!(
            canonicalize(b"(\xff\xff\xff\x7f", V4, CodeLayout::Py311),
            Err(MarshalError::BadLength { .. })
        ));
        assert!(matches!(
            canonicalize(b"r\x05\x00\x00\x00", V4, CodeLayout::Py311),
            Err(MarshalError::BadRef { index: 5, .. })
        ));
        assert!(matches!(
            canonicalize(b"N!", V4, CodeLayout::Py311),
            Err(MarshalError::Trailing { extra: 1 })
        ));
        assert!(matches!(
            canonicalize(b"?", V4, CodeLayout::Py311),
            Err(MarshalError::UnknownType { code: b'?', .. })
        ));
        let deep = vec![b'['; 5000];
        let mut deep = deep
            .iter()
            .flat_map(|_| *b"[\x01\x00\x00\x00")
            .collect::<Vec<u8>>();
        deep.push(b'N');
        assert!(matches!(
            canonicalize(&deep, V4, CodeLayout::Py311),
            Err(MarshalError::TooDeep { .. })
        ));
    }

    #[test]
    fn formats_without_refs_are_unchanged() {
        let data = b"(\x02\x00\x00\x00t\x01\x00\x00\x00aR\x00\x00\x00\x00";
        assert_eq!(canonicalize(data, 2, CodeLayout::Py23).unwrap(), data);
    }
}
