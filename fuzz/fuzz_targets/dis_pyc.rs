//! Fuzz `pyc dis` and `pyc show`'s code view from the bytes of a pyc: whatever loads is
//! disassembled with the opcode table of its version (the nearest known one for an unknown
//! magic, as `pyc dis` does), in text with and without caches, offsets and positions, and as
//! JSON. No panic, no hang, bounded output.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pyc_dis::{Disassembler, Options};
use pyc_format::read_pyc;

fuzz_target!(|data: &[u8]| {
    let Ok(pyc) = read_pyc(data) else { return };
    let Some(version) = pyc.header.magic.version() else {
        return;
    };
    let Some(d) = Disassembler::new(version) else {
        return;
    };
    let code = pyc_dis::from_marshal::from_marshal(&pyc.code, version);
    for opts in [
        Options::default(),
        Options::everything(),
    ] {
        let mut out = String::new();
        d.dis(&code, &opts, &mut out);
        // Output grows with the input, never beyond (a few hundred bytes per input byte is
        // generous for nested code objects and their listings).
        assert!(out.len() <= 64 * 1024 + data.len() * 512, "output blew up");
    }
    let _ = serde_json::to_string(&d.to_json(&code, None));
});
