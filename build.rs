//! Compiles `csrc/tree_walk.c` (see `src/tree_walk.rs`) against the internal headers of the
//! tree-sitter crate in Cargo.lock, which sit beside the public ones it announces.

use std::path::PathBuf;

fn main() {
    // tree-sitter allocates from a mimalloc heap shared by every worker (src/main.rs): mimalloc
    // v3's first-class heaps allow that, v2's take allocations only from the thread that made them.
    let mimalloc = std::env::var("DEP_MIMALLOC_INCLUDE_DIR")
        .expect("libmimalloc-sys announces its include directory");
    assert!(
        PathBuf::from(&mimalloc).ends_with("v3/include"),
        "patmine needs mimalloc v3 (libmimalloc-sys without its `v2` feature), not {mimalloc}"
    );
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
