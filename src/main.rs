//! The `patmine` binary: parses arguments and wires the library's stages. Nothing else.

mod cli;

use std::ffi::c_void;
use std::process::ExitCode;
use std::sync::atomic::{AtomicPtr, Ordering};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The mimalloc heap that tree-sitter allocates from (set once in `main`, before any parse). A
/// heap of its own keeps the parser's and trees' many small blocks in pages apart from the file
/// buffers and analysis results around them, which makes parsing faster (measured effect in
/// docs/performance.md). (mimalloc's first-class heaps take allocations from any thread and
/// blocks are freed with `mi_free`.)
static TS_HEAP: AtomicPtr<libmimalloc_sys::mi_heap_t> = AtomicPtr::new(std::ptr::null_mut());

fn ts_heap() -> *mut libmimalloc_sys::mi_heap_t {
    TS_HEAP.load(Ordering::Relaxed)
}

// tree-sitter's C code never checks for NULL, and its own allocator aborts when memory runs
// out; these do the same around mimalloc.
extern "C" fn ts_malloc(size: usize) -> *mut c_void {
    non_null(
        unsafe { libmimalloc_sys::mi_heap_malloc(ts_heap(), size) },
        size,
    )
}

extern "C" fn ts_calloc(count: usize, size: usize) -> *mut c_void {
    non_null(
        unsafe { libmimalloc_sys::mi_heap_calloc(ts_heap(), count, size) },
        count.saturating_mul(size),
    )
}

extern "C" fn ts_realloc(ptr: *mut c_void, size: usize) -> *mut c_void {
    non_null(
        unsafe { libmimalloc_sys::mi_heap_realloc(ts_heap(), ptr, size) },
        size,
    )
}

fn non_null(ptr: *mut c_void, size: usize) -> *mut c_void {
    if ptr.is_null() && size > 0 {
        std::process::abort();
    }
    ptr
}

/// Keeps the kernel from backing this process's memory with transparent huge pages. Every huge
/// page is zeroed whole when first touched, 2 MiB at once, and the allocator here (mimalloc, for
/// Rust, tree-sitter and DuckDB alike) keeps releasing and touching fresh memory, so the zeroing
/// costs more than huge pages save (measured effect in docs/performance.md). A kernel that
/// refuses leaves things as they were.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes one integer argument and touches no memory of ours.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_transparent_huge_pages();
    // SAFETY: set once, before any thread exists or tree-sitter allocates anything, and only
    // with a heap (without one, tree-sitter keeps its own allocator); the functions never
    // return NULL for a non-zero size (they abort, as tree-sitter's own do), and `mi_free`
    // frees what they return.
    unsafe {
        let heap = libmimalloc_sys::mi_heap_new();
        if !heap.is_null() {
            TS_HEAP.store(heap, Ordering::Relaxed);
            tree_sitter::set_allocator(Some(tree_sitter::Allocator {
                malloc: ts_malloc,
                calloc: ts_calloc,
                realloc: ts_realloc,
                free: libmimalloc_sys::mi_free,
            }));
        }
    }
    let args = cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("patmine: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
