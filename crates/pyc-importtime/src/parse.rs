//! Reading the stderr of `python -X importtime` (CPython 3.7+) into a tree.
//!
//! CPython prints one row per import when the import finishes (`Python/import.c`,
//! `import_find_and_load`):
//!
//! ```text
//! import time: self [us] | cumulative | imported package
//! import time:       201 |        201 |       _json
//! import time:       422 |        622 |     json.scanner
//! import time:       440 |      12088 |   json.decoder
//! import time:       358 |      12837 | json
//! ```
//!
//! Children come before their parent (post-order) and the indentation is two spaces per level.
//! 3.14 added `-X importtime=2`, which also prints a row when an import finds the module
//! already in `sys.modules`:
//!
//! ```text
//! import time: cached    | cached     |   sys
//! ```
//!
//! Such a row has no time, and its indentation is not two spaces per level but one per import
//! in progress (less one); [`cached_depth`] places it under the module whose body made the
//! import, as a leaf with no time.
//!
//! Whatever else the program writes to stderr is kept, in order, in [`Parsed::other_lines`]:
//! lines that are not rows, and the head of a line the program left unterminated just before a
//! row was printed after it (`partial line: import time: ...`).

use serde::Serialize;

/// The fixed start of every row and of the header.
const ROW_START: &str = "import time:";
/// The header CPython prints before the first row.
const HEADER: &str = "import time: self [us] | cumulative | imported package";

/// One row as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub name: String,
    /// Spaces between the `| ` separator and the name.
    pub indent: usize,
    /// `None` for a 3.14+ `cached` row.
    pub times: Option<Times>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Times {
    /// Microseconds spent in this import minus its nested imports (rounded up by CPython).
    pub self_us: u64,
    /// Microseconds spent in this import including its nested imports (rounded up).
    pub cumulative_us: u64,
}

/// One import in the tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    pub name: String,
    /// `None`: a `cached` row (3.14+ `-X importtime=2`): the module was already imported.
    pub times: Option<Times>,
    /// Nested imports, in the order they finished.
    pub children: Vec<Node>,
}

impl Node {
    pub fn is_cached(&self) -> bool {
        self.times.is_none()
    }
    pub fn self_us(&self) -> u64 {
        self.times.map_or(0, |t| t.self_us)
    }
    pub fn cumulative_us(&self) -> u64 {
        self.times.map_or(0, |t| t.cumulative_us)
    }
    /// Pre-order walk: this node first, then each child's walk.
    pub fn walk<'a>(&'a self, out: &mut Vec<&'a Node>) {
        out.push(self);
        for c in &self.children {
            c.walk(out);
        }
    }
}

/// Everything read from one stderr.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Parsed {
    /// Top-level imports, in the order they finished.
    pub roots: Vec<Node>,
    /// Whether the header line was seen.
    pub header: bool,
    /// Stderr lines that were not import-time rows (the program's own output), in order.
    pub other_lines: Vec<String>,
    /// Rows whose nesting did not fit (a row deeper than one level below its parent, as a
    /// multi-threaded program can produce); they are still placed under the next shallower row.
    pub misnested: usize,
}

impl Parsed {
    /// Every node, pre-order.
    pub fn nodes(&self) -> Vec<&Node> {
        let mut out = Vec::new();
        for r in &self.roots {
            r.walk(&mut out);
        }
        out
    }
    /// Sum of the top-level cumulative times: the time spent importing.
    pub fn total_us(&self) -> u64 {
        self.roots.iter().map(Node::cumulative_us).sum()
    }
    /// The program's own stderr (not the rows), joined back into text.
    pub fn other_text(&self) -> String {
        let mut s = self.other_lines.join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }
}

/// Read one row from `s` (which starts with `import time:`), or `None` if it is not one.
pub fn parse_row(s: &str) -> Option<Row> {
    let rest = s.strip_prefix(ROW_START)?;
    let mut parts = rest.splitn(3, '|');
    let a = parts.next()?;
    let b = parts.next()?;
    let c = parts.next()?;
    // The name column is "| " + indent + name: the separator space is always there.
    let c = c.strip_prefix(' ')?;
    let name = c.trim_start_matches(' ');
    let indent = c.len() - name.len();
    let name = name.trim_end_matches(['\r', ' ']);
    if name.is_empty() || name.contains(char::is_whitespace) {
        return None;
    }
    let (a, b) = (a.trim(), b.trim());
    let times = if a == "cached" && b == "cached" {
        None
    } else {
        Some(Times {
            self_us: parse_us(a)?,
            cumulative_us: parse_us(b)?,
        })
    };
    Some(Row {
        name: name.to_string(),
        indent,
        times,
    })
}

fn parse_us(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The tree depth a `cached` row belongs at. Measured on 3.14 and 3.15 (see the `package-x2`
/// fixtures): the row's indentation is one space per import in progress, less one, so a
/// cached import inside `pkg.b` (third level: `pkg` > `pkg.a` > `pkg.b`) is indented two
/// spaces. The row is a child of the module at depth `indent`. Width 0 is also what an
/// import outside any module prints (the program's own top level): such a row is given to
/// the next top-level import to finish.
pub fn cached_depth(indent: usize) -> usize {
    indent + 1
}

/// Parse a whole stderr. Never fails: lines that are not rows are kept as the program's own.
pub fn parse(stderr: &str) -> Parsed {
    let mut parsed = Parsed::default();
    // Finished subtrees waiting for their parent, with their depth.
    let mut pending: Vec<(usize, Node)> = Vec::new();
    for line in stderr.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        // A row may follow text the program left without a newline: split there.
        let (head, row_text) = match line.find(ROW_START) {
            Some(i) => (&line[..i], &line[i..]),
            None => (line, ""),
        };
        if row_text == HEADER {
            parsed.header = true;
            if !head.is_empty() {
                parsed.other_lines.push(head.to_string());
            }
            continue;
        }
        let Some(row) = (!row_text.is_empty())
            .then(|| parse_row(row_text))
            .flatten()
        else {
            parsed.other_lines.push(line.to_string());
            continue;
        };
        if !head.is_empty() {
            parsed.other_lines.push(head.to_string());
        }
        match row.times {
            None => {
                let depth = cached_depth(row.indent);
                pending.push((
                    depth,
                    Node {
                        name: row.name,
                        times: None,
                        children: Vec::new(),
                    },
                ));
            }
            Some(times) => {
                let depth = row.indent / 2;
                if row.indent % 2 != 0 {
                    parsed.misnested += 1;
                }
                // Every pending subtree deeper than this row, after the last finished import
                // at this depth or above, is one of its imports. Cached rows are no boundary
                // (their depth is a guess); those not deeper stay where they are.
                let start = pending
                    .iter()
                    .rposition(|(d, n)| *d <= depth && n.times.is_some())
                    .map_or(0, |i| i + 1);
                let tail: Vec<(usize, Node)> = pending.drain(start..).collect();
                let mut children = Vec::new();
                for (d, n) in tail {
                    if d > depth {
                        if d > depth + 1 && n.times.is_some() {
                            parsed.misnested += 1;
                        }
                        children.push(n);
                    } else {
                        pending.push((d, n));
                    }
                }
                pending.push((
                    depth,
                    Node {
                        name: row.name,
                        times: Some(times),
                        children,
                    },
                ));
            }
        }
    }
    // What is left is the top level (deeper leftovers come from a program that stopped in the
    // middle of an import, e.g. it exited from inside a module body).
    parsed.roots = pending.into_iter().map(|(_, n)| n).collect();
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows() {
        let r = parse_row("import time:       440 |      12088 |   json.decoder").unwrap();
        assert_eq!(r.name, "json.decoder");
        assert_eq!(r.indent, 2);
        assert_eq!(
            r.times,
            Some(Times {
                self_us: 440,
                cumulative_us: 12088
            })
        );
        let c = parse_row("import time: cached    | cached     |  sys").unwrap();
        assert_eq!((c.name.as_str(), c.indent, c.times), ("sys", 1, None));
        assert!(parse_row("import time: not a row at all").is_none());
        assert!(parse_row("import time: 1 | 2 |").is_none());
        assert!(parse_row("import time: -1 | 2 | x").is_none());
        assert!(parse_row("import time: 1 | 2 |x").is_none());
    }

    #[test]
    fn tree_from_post_order() {
        let text = "import time: self [us] | cumulative | imported package\n\
            import time:         1 |          1 |     c\n\
            import time:         2 |          3 |   b\n\
            import time:         4 |          4 |   d\n\
            hello\n\
            import time:         5 |         12 | a\n\
            tail import time:         6 |          6 | e\n";
        let p = parse(text);
        assert!(p.header);
        let names: Vec<_> = p.nodes().iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        assert_eq!(p.roots.len(), 2);
        assert_eq!(p.roots[0].children.len(), 2);
        assert_eq!(p.other_lines, ["hello", "tail "]);
        assert_eq!(p.total_us(), 18);
        assert_eq!(p.misnested, 0);
    }
}
