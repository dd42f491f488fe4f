//! Line-number and location tables of every era, decoded as CPython does.
//!
//! * ≤3.9 `co_lnotab` → [`lnotab_linestarts`] (`dis.findlinestarts` of that version).
//! * 3.10 `co_linetable` (PEP 626) → [`pep626_lines`] (`code.co_lines()`).
//! * 3.11+ location table (PEP 657) → [`pep657_entries`] (`co_positions()` and `co_lines()`).
//!
//! Malformed tables never panic: decoding stops where the bytes stop, like CPython's
//! iterators, and the caller can tell from [`Pep657::truncated`].

/// `(offset, line)` pairs; `line` is `None` where 3.13+ reports "no line".
pub type LineStarts = Vec<(u32, Option<i64>)>;

/// `dis.findlinestarts` for `co_lnotab` (2.7, 3.6-3.9).
pub fn lnotab_linestarts(
    lnotab: &[u8],
    firstlineno: i64,
    code_len: usize,
    signed: bool,
    stop_at_end: bool,
) -> LineStarts {
    let mut out = Vec::new();
    let mut lastlineno: Option<i64> = None;
    let mut lineno = firstlineno;
    let mut addr: u32 = 0;
    for pair in lnotab.chunks_exact(2) {
        let (byte_incr, line_incr) = (pair[0], pair[1]);
        if byte_incr != 0 {
            if Some(lineno) != lastlineno {
                out.push((addr, Some(lineno)));
                lastlineno = Some(lineno);
            }
            addr = addr.saturating_add(u32::from(byte_incr));
            if stop_at_end && addr as usize >= code_len {
                return out;
            }
        }
        lineno = lineno.saturating_add(if signed {
            i64::from(line_incr as i8)
        } else {
            i64::from(line_incr)
        });
    }
    if Some(lineno) != lastlineno {
        out.push((addr, Some(lineno)));
    }
    out
}

/// One `co_lines()` range: `[start, end)` in bytes and its line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRange {
    pub start: u32,
    pub end: u32,
    pub line: Option<i64>,
}

/// `co_lines()` of a 3.10 code object (PEP 626 `co_linetable`).
pub fn pep626_lines(table: &[u8], firstlineno: i64) -> Vec<LineRange> {
    let mut out = Vec::new();
    let (mut start, mut end): (u32, u32) = (0, 0);
    let mut computed = firstlineno;
    let mut line: Option<i64> = None;
    let mut pairs = table.chunks_exact(2);
    let mut advance = |p: &[u8], start: &mut u32, end: &mut u32, line: &mut Option<i64>| {
        *start = *end;
        *end = end.saturating_add(u32::from(p[0]));
        let d = p[1] as i8;
        *line = if d == -128 {
            None
        } else {
            computed = computed.saturating_add(i64::from(d));
            Some(computed)
        };
    };
    // `_PyLineTable_NextAddressRange`: advance, then skip empty ranges.
    'next: while let Some(p) = pairs.next() {
        advance(p, &mut start, &mut end, &mut line);
        while start == end {
            match pairs.next() {
                Some(p) => advance(p, &mut start, &mut end, &mut line),
                None => break 'next,
            }
        }
        out.push(LineRange { start, end, line });
    }
    out
}

/// `findlinestarts` over `co_lines()`: 3.10-3.12 skip `None` lines and repeated lines;
/// 3.13+ (`keep_none`) report every change, `None` included.
pub fn linestarts_from_ranges(ranges: &[LineRange], keep_none: bool) -> LineStarts {
    let mut out = Vec::new();
    if keep_none {
        let mut last: Option<Option<i64>> = None;
        for r in ranges {
            if last != Some(r.line) {
                last = Some(r.line);
                out.push((r.start, r.line));
            }
        }
    } else {
        let mut last: Option<i64> = None;
        for r in ranges {
            if r.line.is_some() && r.line != last {
                last = r.line;
                out.push((r.start, r.line));
            }
        }
    }
    out
}

/// A source span (`dis.Positions`): line, end line, column, end column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Positions {
    pub lineno: Option<i64>,
    pub end_lineno: Option<i64>,
    pub col_offset: Option<i64>,
    pub end_col_offset: Option<i64>,
}

/// One entry of a 3.11+ location table, covering `units` code units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocationEntry {
    pub units: u32,
    pub positions: Positions,
}

/// A decoded 3.11+ location table.
#[derive(Debug, Clone, Default)]
pub struct Pep657 {
    pub entries: Vec<LocationEntry>,
    /// The table ended inside an entry.
    pub truncated: bool,
}

impl Pep657 {
    /// `co_positions()`: one item per code unit, `None`s past the table's end.
    pub fn positions(&self, n_units: usize) -> Vec<Positions> {
        let mut out = Vec::with_capacity(n_units);
        'outer: for e in &self.entries {
            for _ in 0..e.units {
                if out.len() >= n_units {
                    break 'outer;
                }
                out.push(e.positions);
            }
        }
        out
    }

    /// `co_lines()`: ranges in bytes, consecutive equal lines merged (3.11+ `lineiter_next`).
    pub fn lines(&self) -> Vec<LineRange> {
        let mut out: Vec<LineRange> = Vec::with_capacity(self.entries.len() / 2 + 1);
        let mut pos: u32 = 0;
        for e in &self.entries {
            let start = pos;
            pos = pos.saturating_add(e.units.saturating_mul(2));
            let line = e.positions.lineno;
            match out.last_mut() {
                Some(last) if last.line == line => last.end = pos,
                _ => out.push(LineRange {
                    start,
                    end: pos,
                    line,
                }),
            }
        }
        out
    }
}

/// Decode a 3.11+ location table (`Objects/locations.md`).
pub fn pep657_entries(table: &[u8], firstlineno: i64) -> Pep657 {
    // Entries take 1-8 bytes, mostly 2-3: start with room for most tables.
    let mut out = Pep657 {
        entries: Vec::with_capacity(table.len() / 2 + 1),
        truncated: false,
    };
    let mut it = Pep657Entries::new(table, firstlineno);
    out.entries.extend(&mut it);
    out.truncated = it.truncated;
    out
}

/// `findlinestarts` straight from a 3.11+ location table, without keeping its entries
/// (what [`linestarts_from_ranges`] gives for [`Pep657::lines`]: merging equal lines
/// changes nothing there), and whether the table ended inside an entry.
pub fn pep657_linestarts(table: &[u8], firstlineno: i64, keep_none: bool) -> (LineStarts, bool) {
    let mut out = Vec::new();
    let mut it = Pep657Entries::new(table, firstlineno);
    let mut pos: u32 = 0;
    let mut last: Option<Option<i64>> = None;
    while let Some((units, line)) = it.next_line() {
        if last != Some(line) && (keep_none || line.is_some()) {
            last = Some(line);
            out.push((pos, line));
        }
        pos = pos.saturating_add(units.saturating_mul(2));
    }
    (out, it.truncated)
}

/// The entries of a 3.11+ location table, in order; stops at the end of the table or
/// inside a truncated entry (then `truncated` is set).
struct Pep657Entries<'a> {
    bytes: std::slice::Iter<'a, u8>,
    line: i64,
    truncated: bool,
}

impl<'a> Pep657Entries<'a> {
    fn new(table: &'a [u8], firstlineno: i64) -> Self {
        Pep657Entries {
            bytes: table.iter(),
            line: firstlineno,
            truncated: false,
        }
    }

    fn byte(&mut self) -> Option<u8> {
        self.bytes.next().copied()
    }

    /// varint: 6-bit groups, least significant first, 0x40 = more.
    fn varint(&mut self) -> Option<u64> {
        let mut b = self.byte()?;
        let mut val = u64::from(b & 63);
        let mut shift = 0u32;
        while b & 64 != 0 {
            b = self.byte()?;
            shift += 6;
            if shift > 60 {
                return None;
            }
            val |= u64::from(b & 63) << shift;
        }
        Some(val)
    }

    fn svarint(&mut self) -> Option<i64> {
        let v = self.varint()?;
        Some(if v & 1 != 0 {
            -((v >> 1) as i64)
        } else {
            (v >> 1) as i64
        })
    }

    /// The next entry's code units and line only (the columns are skipped, not decoded).
    fn next_line(&mut self) -> Option<(u32, Option<i64>)> {
        if self.truncated {
            return None;
        }
        let first = self.byte()?;
        let code = (first >> 3) & 15;
        let units = u32::from(first & 7) + 1;
        let line = (|| {
            Some(match code {
                15 => None,
                14 => {
                    self.line = self.line.saturating_add(self.svarint()?);
                    for _ in 0..3 {
                        self.varint()?;
                    }
                    Some(self.line)
                }
                13 => {
                    self.line = self.line.saturating_add(self.svarint()?);
                    Some(self.line)
                }
                10..=12 => {
                    self.line = self.line.saturating_add(i64::from(code - 10));
                    self.byte()?;
                    self.byte()?;
                    Some(self.line)
                }
                _ => {
                    self.byte()?;
                    Some(self.line)
                }
            })
        })();
        match line {
            Some(line) => Some((units, line)),
            None => {
                self.truncated = true;
                None
            }
        }
    }

    /// The positions of an entry whose first byte has code `code`.
    fn positions(&mut self, code: u8) -> Option<Positions> {
        Some(match code {
            15 => Positions::default(),
            14 => {
                self.line = self.line.saturating_add(self.svarint()?);
                let line = self.line;
                let end_line = line.saturating_add(self.varint()? as i64);
                let col = self.varint()? as i64 - 1;
                let end_col = self.varint()? as i64 - 1;
                Positions {
                    lineno: Some(line),
                    end_lineno: Some(end_line),
                    col_offset: (col >= 0).then_some(col),
                    end_col_offset: (end_col >= 0).then_some(end_col),
                }
            }
            13 => {
                self.line = self.line.saturating_add(self.svarint()?);
                Positions {
                    lineno: Some(self.line),
                    end_lineno: Some(self.line),
                    col_offset: None,
                    end_col_offset: None,
                }
            }
            10..=12 => {
                self.line = self.line.saturating_add(i64::from(code - 10));
                let col = i64::from(self.byte()?);
                let end_col = i64::from(self.byte()?);
                Positions {
                    lineno: Some(self.line),
                    end_lineno: Some(self.line),
                    col_offset: Some(col),
                    end_col_offset: Some(end_col),
                }
            }
            _ => {
                let b2 = self.byte()?;
                let col = i64::from(code) * 8 + i64::from((b2 >> 4) & 7);
                Positions {
                    lineno: Some(self.line),
                    end_lineno: Some(self.line),
                    col_offset: Some(col),
                    end_col_offset: Some(col + i64::from(b2 & 15)),
                }
            }
        })
    }
}

impl Iterator for Pep657Entries<'_> {
    type Item = LocationEntry;
    fn next(&mut self) -> Option<LocationEntry> {
        if self.truncated {
            return None;
        }
        let first = self.byte()?;
        let code = (first >> 3) & 15;
        let units = u32::from(first & 7) + 1;
        match self.positions(code) {
            Some(positions) => Some(LocationEntry { units, positions }),
            None => {
                self.truncated = true;
                None
            }
        }
    }
}

/// One entry of a 3.11+ exception table (offsets in bytes, `end` exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct ExceptionEntry {
    pub start: u64,
    pub end: u64,
    pub target: u64,
    pub depth: u64,
    pub lasti: bool,
}

/// `dis._parse_exception_table`: varints most-significant group first; a partial entry at
/// the end is dropped, as `dis` does.
pub fn parse_exception_table(table: &[u8]) -> Vec<ExceptionEntry> {
    let mut it = table.iter().copied();
    fn varint(it: &mut impl Iterator<Item = u8>) -> Option<u64> {
        let mut b = it.next()?;
        let mut val = u64::from(b & 63);
        while b & 64 != 0 {
            b = it.next()?;
            val = val.checked_shl(6)? | u64::from(b & 63);
            if val > (1 << 40) {
                return None;
            }
        }
        Some(val)
    }
    let mut out = Vec::new();
    loop {
        let entry = (|| {
            let start = varint(&mut it)? * 2;
            let length = varint(&mut it)? * 2;
            let target = varint(&mut it)? * 2;
            let dl = varint(&mut it)?;
            Some(ExceptionEntry {
                start,
                end: start + length,
                target,
                depth: dl >> 1,
                lasti: dl & 1 != 0,
            })
        })();
        match entry {
            Some(e) => out.push(e),
            None => return out,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lnotab_signed_and_unsigned() {
        // addr +2 line +1, addr +4 line -1 (0xff)
        let t = [2, 1, 4, 0xff];
        assert_eq!(
            lnotab_linestarts(&t, 10, 100, true, true),
            vec![(0, Some(10)), (2, Some(11)), (6, Some(10))]
        );
        assert_eq!(
            lnotab_linestarts(&t, 10, 100, false, false),
            vec![(0, Some(10)), (2, Some(11)), (6, Some(266))]
        );
    }

    #[test]
    fn location_table_long_form_and_truncation() {
        // long form (14), 1 unit: line +3 (svarint 6), end line +0, col 5 (6), end col 9 (10)
        let t = [0x80 | (14 << 3), 6, 0, 6, 10];
        let p = pep657_entries(&t, 1);
        assert!(!p.truncated);
        assert_eq!(
            p.entries[0].positions,
            Positions {
                lineno: Some(4),
                end_lineno: Some(4),
                col_offset: Some(5),
                end_col_offset: Some(9)
            }
        );
        assert!(pep657_entries(&t[..3], 1).truncated);
    }

    proptest::proptest! {
        /// The one-pass line starts are those of the decoded entries' `co_lines()`, on any
        /// bytes (valid tables, truncated ones, garbage).
        #[test]
        fn one_pass_linestarts_match_entries(
            table in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            firstlineno in -5i64..5000,
        ) {
            let t = pep657_entries(&table, firstlineno);
            for keep_none in [false, true] {
                let (starts, truncated) = pep657_linestarts(&table, firstlineno, keep_none);
                proptest::prop_assert_eq!(truncated, t.truncated);
                proptest::prop_assert_eq!(starts, linestarts_from_ranges(&t.lines(), keep_none));
            }
        }
    }

    #[test]
    fn exception_table_partial_entry_dropped() {
        let t = [0x80 | 1, 2, 3, 4, 0x80];
        let e = parse_exception_table(&t);
        assert_eq!(
            e,
            vec![ExceptionEntry {
                start: 2,
                end: 6,
                target: 6,
                depth: 2,
                lasti: false
            }]
        );
    }
}
