//! A switch for tests that stops the process the way `kill -9` does, at a point the test names
//! instead of a moment it hopes for: `PATMINE_CRASH_AT=before-commit:N` stops a writer with its
//! N-th batch (counted from 1) written but not committed, `after-commit:N` right after that commit.
//! Unset, it costs one relaxed load per batch.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Point {
    BeforeCommit,
    AfterCommit,
}

fn configured() -> Option<(Point, usize)> {
    static AT: OnceLock<Option<(Point, usize)>> = OnceLock::new();
    *AT.get_or_init(|| {
        let value = std::env::var("PATMINE_CRASH_AT").ok()?;
        let (point, batch) = value.split_once(':')?;
        let point = match point {
            "before-commit" => Point::BeforeCommit,
            "after-commit" => Point::AfterCommit,
            _ => return None,
        };
        Some((point, batch.parse().ok()?))
    })
}

/// Batches committed so far by this process's writers.
static COMMITTED: AtomicUsize = AtomicUsize::new(0);

fn stop_if(point: Point, batch: usize) {
    if configured() == Some((point, batch)) {
        // SIGKILL, as an operator or the OOM killer would send it: no unwinding, no destructors,
        // nothing flushed.
        #[cfg(unix)]
        // SAFETY: kill with our own pid and a valid signal number touches no memory.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        std::process::abort();
    }
}

/// Call when a batch is written and about to be committed.
pub fn before_commit() {
    stop_if(Point::BeforeCommit, COMMITTED.load(Ordering::Relaxed) + 1);
}

/// Call when a batch was committed.
pub fn after_commit() {
    let batch = COMMITTED.fetch_add(1, Ordering::Relaxed) + 1;
    stop_if(Point::AfterCommit, batch);
}
