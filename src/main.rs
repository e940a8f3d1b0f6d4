//! The `patmine` binary: parses arguments and wires the library's stages. Nothing else.

mod cli;

use std::ffi::c_void;
use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

// tree-sitter's C code never checks for NULL, and its own allocator aborts when memory runs
// out; these do the same around mimalloc.
extern "C" fn ts_malloc(size: usize) -> *mut c_void {
    non_null(unsafe { libmimalloc_sys::mi_malloc(size) }, size)
}

extern "C" fn ts_calloc(count: usize, size: usize) -> *mut c_void {
    non_null(
        unsafe { libmimalloc_sys::mi_calloc(count, size) },
        count.saturating_mul(size),
    )
}

extern "C" fn ts_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    non_null(unsafe { libmimalloc_sys::mi_realloc(ptr, size) }, size)
}

fn non_null(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() && size > 0 {
        std::process::abort();
    }
    ptr
}

/// Keeps the kernel from backing this process's memory with transparent huge pages. Every huge
/// page is zeroed whole when first touched, 2 MiB at once, and the allocators here (mimalloc for
/// Rust and tree-sitter, DuckDB's) keep releasing and touching fresh memory: on 20,000 npm files
/// that zeroing was 5-8% of a scan's CPU time, and the parse-only floor was no faster with huge
/// pages either (7 alternating runs each). A kernel that refuses leaves things as they were.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    // SAFETY: set once, before any thread exists or tree-sitter allocates anything; the
    // functions never return NULL for a non-zero size (they abort, as tree-sitter's own do),
    // and `mi_free` frees what they return.
    unsafe {
        tree_sitter::set_allocator(Some(tree_sitter::Allocator {
            malloc: ts_malloc,
            calloc: ts_calloc,
            realloc: ts_realloc,
            free: libmimalloc_sys::mi_free,
        }));
    }
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("patmine: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
