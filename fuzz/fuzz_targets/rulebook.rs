//! A rulebook from any text: an error or a rulebook, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = patmine::rules::Rulebook::from_yaml(text, "fuzz");
    }
});
