//! Compiles `csrc/tree_walk.c` (see `src/tree_walk.rs`) against the internal headers of the
//! tree-sitter crate in Cargo.lock, which sit beside the public ones it announces.

use std::path::PathBuf;

/// The versions of the crates that shape a count, as Cargo.lock pins them: the grammars' go
/// into the cache fingerprint (a new grammar must never be served counts of the old one) and
/// `--version`, ast-grep's into the keys of the trackers its matcher counts.
const VERSIONED_CRATES: [(&str, &str); 5] = [
    ("ast-grep-core", "PATMINE_AST_GREP_CORE_VERSION"),
    ("ast-grep-config", "PATMINE_AST_GREP_CONFIG_VERSION"),
    ("tree-sitter", "PATMINE_TREE_SITTER_VERSION"),
    (
        "tree-sitter-javascript",
        "PATMINE_TREE_SITTER_JAVASCRIPT_VERSION",
    ),
    (
        "tree-sitter-typescript",
        "PATMINE_TREE_SITTER_TYPESCRIPT_VERSION",
    ),
];

fn locked_versions() {
    println!("cargo:rerun-if-changed=Cargo.lock");
    let lock = std::fs::read_to_string("Cargo.lock").expect("Cargo.lock is readable");
    for (name, variable) in VERSIONED_CRATES {
        let versions: Vec<&str> = lock
            .split("[[package]]")
            .filter(|package| package.lines().any(|l| l == format!("name = \"{name}\"")))
            .filter_map(|package| {
                package
                    .lines()
                    .find_map(|l| l.strip_prefix("version = \""))
                    .and_then(|v| v.strip_suffix('"'))
            })
            .collect();
        // Two versions of one grammar in the build would make "the" version ambiguous.
        assert!(
            versions.len() == 1,
            "Cargo.lock should hold exactly one version of {name}, found {versions:?}"
        );
        println!("cargo:rustc-env={variable}={}", versions[0]);
    }
}

fn main() {
    locked_versions();
    // tree-sitter allocates from a mimalloc heap shared by every worker (src/main.rs): mimalloc
    // v3's first-class heaps allow that, v2's take allocations only from the thread that made them.
    // Without the `cli` feature (the fuzz targets) there is no mimalloc.
    if std::env::var_os("CARGO_FEATURE_CLI").is_some() {
        let mimalloc = std::env::var("DEP_MIMALLOC_INCLUDE_DIR")
            .expect("libmimalloc-sys announces its include directory");
        assert!(
            PathBuf::from(&mimalloc).ends_with("v3/include"),
            "patmine needs mimalloc v3 (libmimalloc-sys without its `v2` feature), not {mimalloc}"
        );
    }
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
        .warnings(true)
        .extra_warnings(true)
        .file("csrc/tree_walk.c")
        .compile("patmine_tree_walk");
}
