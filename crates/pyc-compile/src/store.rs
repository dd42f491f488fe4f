//! The code cache (`--code-cache DIR`): compiled code kept by content, so that a source an
//! interpreter has compiled once is not compiled again, whatever its path's `__pycache__`
//! holds: after a fresh checkout or a `git switch` (new mtimes), in a new venv or container
//! layer, or on another CI runner that shares the folder.
//!
//! What a compile gives depends on the interpreter build, the optimization level, the file
//! name stored in the code (`co_filename`: the dfile after `-d`/`-s`/`-p`) and the source
//! bytes, and on nothing else pyc lets vary (its workers run with `PYTHONHASHSEED=0`, no
//! inherited `__future__` flags). The key is the SHA-256 of exactly these, with the
//! interpreter given by its `sys.version` line (version, build date and compiler) and magic
//! number, so a rebuilt or upgraded interpreter never reuses another's code.
//!
//! The value is the canonical marshal body pyc would write after the header (the header is
//! made from the source's stat or hash on each run, as always). An entry is a file
//! `DIR/v1/ab/cdef...` holding a tag, the SHA-256 of the body, then the body; it is written
//! as a temporary file renamed into place, and read back only if tag, length and checksum
//! agree: a damaged entry is a miss (and is replaced), never a wrong pyc. An intact entry is
//! what pyc itself wrote, already in canonical form, so it is written out as it is. Entries
//! are never removed by pyc; deleting the folder (or any part of it) at any time is safe.

use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// The first bytes of every entry; a change of format changes it (and the `v1` folder).
const TAG: &[u8; 8] = b"pycode1\n";

/// Entries larger than this are neither read nor written (a pyc is far smaller).
const MAX_ENTRY: u64 = 1 << 30;

/// A key: the SHA-256 of what the compiled code depends on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The keys of compiling `source` as `dfile` at each of `levels`, with the interpreter
    /// whose `sys.version` first line (`3.12.1 (main, Jan 10 2024, 12:00:00) [GCC 12.2.0]`)
    /// and magic number are given. The source is hashed once for all levels.
    pub fn for_levels(
        sys_version: &str,
        magic: u16,
        dfile: &[u8],
        source: &[u8],
        levels: impl IntoIterator<Item = u8>,
    ) -> Vec<Key> {
        // Every part with its length first: no two different inputs give the same stream.
        fn part(h: &mut Sha256, b: &[u8]) {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        }
        let mut h = Sha256::new();
        part(&mut h, TAG);
        part(&mut h, sys_version.as_bytes());
        part(&mut h, &magic.to_le_bytes());
        part(&mut h, dfile);
        part(&mut h, source);
        levels
            .into_iter()
            .map(|level| {
                let mut h = h.clone();
                part(&mut h, &[level]);
                Key(h.finalize().into())
            })
            .collect()
    }

    fn hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A code cache folder.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Why an entry could not be stored.
pub type PutError = crate::write::WriteError;

impl Store {
    /// The store in `dir` (created with its first entry).
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    fn path(&self, key: &Key) -> PathBuf {
        let hex = key.hex();
        self.dir.join("v1").join(&hex[..2]).join(&hex[2..])
    }

    /// The body stored under `key`, if there is one and it is intact.
    pub fn get(&self, key: &Key) -> Option<Vec<u8>> {
        use std::io::Read;
        let file = std::fs::File::open(self.path(key)).ok()?;
        let len = file.metadata().ok()?.len();
        if !(40..=MAX_ENTRY).contains(&len) {
            return None;
        }
        let mut data = Vec::with_capacity(len as usize);
        file.take(MAX_ENTRY).read_to_end(&mut data).ok()?;
        decode(&data).map(<[u8]>::to_vec)
    }

    /// Store `body` under `key` (atomically: a reader sees the whole entry or none).
    pub fn put(&self, key: &Key, body: &[u8]) -> Result<(), PutError> {
        if body.len() as u64 > MAX_ENTRY - 40 {
            return Ok(());
        }
        crate::write::write_atomic(&self.path(key), &encode(body), 0o644)
    }
}

fn encode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(40 + body.len());
    out.extend_from_slice(TAG);
    out.extend_from_slice(&Sha256::digest(body));
    out.extend_from_slice(body);
    out
}

/// The body of an entry whose tag and checksum are right.
fn decode(data: &[u8]) -> Option<&[u8]> {
    let rest = data.strip_prefix(TAG.as_slice())?;
    let (sum, body) = rest.split_at_checked(32)?;
    (Sha256::digest(body).as_slice() == sum).then_some(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUILD: &str = "3.12.1 (main, Jan 10 2024) [GCC 12.2.0]";

    fn key(sys_version: &str, magic: u16, level: u8, dfile: &[u8], source: &[u8]) -> Key {
        Key::for_levels(sys_version, magic, dfile, source, [level])[0]
    }

    #[test]
    fn keys_change_with_every_part() {
        let k = key(BUILD, 3531, 0, b"m.py", b"x = 1\n");
        assert_eq!(k, key(BUILD, 3531, 0, b"m.py", b"x = 1\n"));
        let others = [
            key(
                "3.12.2 (main, Feb  6 2024) [GCC 12.2.0]",
                3531,
                0,
                b"m.py",
                b"x = 1\n",
            ),
            key(BUILD, 3532, 0, b"m.py", b"x = 1\n"),
            key(BUILD, 3531, 1, b"m.py", b"x = 1\n"),
            key(BUILD, 3531, 0, b"n.py", b"x = 1\n"),
            key(BUILD, 3531, 0, b"m.py", b"x = 2\n"),
            // The same bytes split differently between dfile and source.
            key(BUILD, 3531, 0, b"m.pyx", b" = 1\n"),
        ];
        for other in others {
            assert_ne!(k, other);
        }
        // Several levels at once: each level's own key.
        let all = Key::for_levels(BUILD, 3531, b"m.py", b"x = 1\n", [0, 1, 2]);
        assert_eq!(all[0], k);
        assert_eq!(all[1], others[2]);
        assert_ne!(all[1], all[2]);
    }

    #[test]
    fn entries_round_trip_and_damage_is_a_miss() {
        let tmp = tempfile::tempdir().unwrap();
        let store = Store::new(tmp.path().join("store"));
        let key = key(BUILD, 3531, 0, b"m.py", b"pass\n");
        assert_eq!(store.get(&key), None);
        store.put(&key, b"body bytes").unwrap();
        assert_eq!(store.get(&key).as_deref(), Some(&b"body bytes"[..]));
        let path = store.path(&key);
        let good = std::fs::read(&path).unwrap();
        // Any flipped byte (tag, checksum or body), a cut or an empty file: a miss.
        for i in 0..good.len() {
            let mut bad = good.clone();
            bad[i] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(store.get(&key), None, "byte {i}");
        }
        for cut in [0, 8, 39, good.len() - 1] {
            std::fs::write(&path, &good[..cut]).unwrap();
            assert_eq!(store.get(&key), None, "cut {cut}");
        }
        // A new put replaces a damaged entry.
        store.put(&key, b"body bytes").unwrap();
        assert_eq!(store.get(&key).as_deref(), Some(&b"body bytes"[..]));
        // Nothing but the entry is left in its folder (no temporary files).
        let folder = path.parent().unwrap();
        assert_eq!(std::fs::read_dir(folder).unwrap().count(), 1);
    }
}
