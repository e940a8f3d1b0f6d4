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

fn main() -> ExitCode {
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
