//! Compiles `csrc/tree_walk.c` (see `src/tree_walk.rs`) against the internal headers of the
//! tree-sitter crate in Cargo.lock, which sit beside the public ones it announces.

use std::path::PathBuf;

fn main() {
    let include = PathBuf::from(
        std::env::var("DEP_TREE_SITTER_INCLUDE")
            .expect("the tree-sitter crate announces its include directory"),
    );
    let internal = include
        .parent()
        .expect("tree-sitter's include directory has a parent")
        .join("src");
    println!("cargo:rerun-if-changed=csrc/tree_walk.c");
    cc::Build::new()
        .std("c11")
        .include(&include)
        .include(&internal)
        .warnings(false)
        .file("csrc/tree_walk.c")
        .compile("patmine_tree_walk");
}
