//! Whether two values read from pycs load as the same thing, as far as a program can tell.
//!
//! [`Object`]'s `==` compares values, as Python's `==` does. Code loaded from a pyc shows more
//! than its values: a string written as interned loads interned (`sys.intern(s) is s`), and a
//! set or frozenset iterates in the order its elements were written. [`identical`] compares
//! those too: two values it calls identical load as code no program can tell apart, apart from
//! object identity between constants. It is what `pyc normalize` checks before it replaces a
//! file, and what the tests use to compare the canonical form with the interpreter's output.

use std::collections::HashSet;

use crate::code::FieldValue;
use crate::object::Object;

/// `a` and `b` are equal values, every string (and Python 2 byte string) agrees on being
/// interned, every set, frozenset and dict holds its elements in the same order, and every
/// code object has equal fields. Iterative (no recursion the input controls); each pair of
/// shared objects is compared once.
pub fn identical(a: &Object, b: &Object) -> bool {
    let mut seen: HashSet<(*const Object, *const Object)> = HashSet::new();
    let mut stack: Vec<(&Object, &Object)> = vec![(a, b)];
    while let Some((x, y)) = stack.pop() {
        if std::ptr::eq(x, y) || !seen.insert((x as *const Object, y as *const Object)) {
            continue;
        }
        let same = match (x, y) {
            (Object::Str(p), Object::Str(q)) => p == q && p.interned == q.interned,
            (Object::Bytes(p), Object::Bytes(q)) => p == q && p.interned == q.interned,
            (Object::Tuple(p), Object::Tuple(q))
            | (Object::List(p), Object::List(q))
            | (Object::Set(p), Object::Set(q))
            | (Object::FrozenSet(p), Object::FrozenSet(q)) => {
                stack.extend(p.iter().zip(q).map(|(i, j)| (&**i, &**j)));
                p.len() == q.len()
            }
            (Object::Dict(p), Object::Dict(q)) | (Object::FrozenDict(p), Object::FrozenDict(q)) => {
                for ((k1, v1), (k2, v2)) in p.iter().zip(q) {
                    stack.push((k1, k2));
                    stack.push((v1, v2));
                }
                p.len() == q.len()
            }
            (Object::Slice(p), Object::Slice(q)) => {
                stack.extend(p.iter().zip(q.iter()).map(|(i, j)| (&**i, &**j)));
                true
            }
            (Object::Code(p), Object::Code(q)) => {
                p.format == q.format
                    && p.format
                        .fields()
                        .iter()
                        .all(|&f| match (p.field(f), q.field(f)) {
                            (Some(FieldValue::Int(i)), Some(FieldValue::Int(j))) => i == j,
                            (Some(FieldValue::Obj(i)), Some(FieldValue::Obj(j))) => {
                                stack.push((i, j));
                                true
                            }
                            (None, None) => true,
                            _ => false,
                        })
            }
            // Leaves: numbers, singletons; containers of different kinds are unequal.
            _ => x == y,
        };
        if !same {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::object::PyStr;

    fn s(text: &str, interned: bool) -> Arc<Object> {
        Arc::new(Object::Str(
            PyStr::from_code_points(&text.chars().map(u32::from).collect::<Vec<_>>(), interned)
                .unwrap(),
        ))
    }

    #[test]
    fn interning_and_order_count() {
        let a = Object::FrozenSet(vec![s("x", true), s("yz", false)]);
        assert!(identical(&a, &a.clone()));
        // Equal as values, but not observably the same.
        let flipped = Object::FrozenSet(vec![s("yz", false), s("x", true)]);
        assert!(a != flipped && !identical(&a, &flipped));
        let uninterned = Object::FrozenSet(vec![s("x", false), s("yz", false)]);
        assert!(a == uninterned && !identical(&a, &uninterned));
        let tuple = Object::Tuple(vec![s("x", true), s("yz", false)]);
        assert!(!identical(&a, &tuple));
    }
}
