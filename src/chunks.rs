//! Work for the worker threads, handed out in contiguous chunks, in order, from one shared
//! counter.
//!
//! rayon's parallel iterators split a slice into a few large jobs and never split a job once a
//! worker runs it, so near the end one worker can be left with hundreds of files while the other
//! has nothing to take. Claiming a chunk at a time ends every worker within one chunk of the
//! others (measured effect in docs/performance.md).

use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Calls `work` on consecutive ranges of `0..len`, at most `chunk` long, from every thread of the
/// current rayon pool, until the ranges run out or `work` returns `false` (that thread then claims
/// no more). Each range is claimed by exactly one call.
pub fn for_each_chunk(len: usize, chunk: usize, work: impl Fn(Range<usize>) -> bool + Sync) {
    let chunk = chunk.max(1);
    let next = AtomicUsize::new(0);
    rayon::broadcast(|_| {
        loop {
            // Past the end, each thread adds at most one more chunk: no overflow below
            // `usize::MAX - threads * chunk`.
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= len || !work(start..len.min(start.saturating_add(chunk))) {
                break;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_index_is_claimed_once_in_ranges_no_longer_than_a_chunk() {
        for (len, chunk) in [(0, 4), (1, 4), (10, 3), (64, 64), (1000, 7), (5, 0)] {
            let ranges = Mutex::new(Vec::new());
            for_each_chunk(len, chunk, |range| {
                ranges.lock().unwrap().push(range);
                true
            });
            let mut ranges = ranges.into_inner().unwrap();
            ranges.sort_by_key(|r| r.start);
            let covered: Vec<usize> = ranges.iter().flat_map(|r| r.clone()).collect();
            assert_eq!(
                covered,
                (0..len).collect::<Vec<_>>(),
                "len {len}, chunk {chunk}"
            );
            assert!(
                ranges
                    .iter()
                    .all(|r| !r.is_empty() && r.len() <= chunk.max(1))
            );
        }
    }

    #[test]
    fn a_thread_whose_work_says_stop_claims_no_more() {
        let calls = AtomicUsize::new(0);
        for_each_chunk(1000, 10, |_| {
            calls.fetch_add(1, Ordering::Relaxed);
            false
        });
        assert!(calls.load(Ordering::Relaxed) <= rayon::current_num_threads());
    }
}
