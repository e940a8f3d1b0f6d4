//! A trackers file from any text: an error or a tracker set (patterns compiled by ast-grep,
//! queries by tree-sitter), never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = patmine::trackers::TrackerSet::from_yaml(text, "fuzz");
    }
});
