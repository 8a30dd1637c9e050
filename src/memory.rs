//! Freed memory returned to the system at the boundary of two phases.
//!
//! mimalloc (the binary's global allocator, `src/main.rs`) keeps freed pages for reuse and returns
//! them after a delay, when it next runs on that thread. A command that frees a large table and
//! then allocates differently (the curated table, then the national E2SFCA network; a level's
//! intermediate columns, then its output) holds both in its peak memory. One collection at that
//! boundary lowers the peak (docs/performance.md, "Memory") for a few milliseconds, where
//! returning every free at once (`MIMALLOC_PURGE_DELAY=0`) costs 2-3× the wall time.

/// Ask mimalloc to return freed memory now (`mi_collect(true)`): the calling thread's free pages
/// and what its arenas can purge; blocks another thread still caches are not. Call it on the
/// thread that did the work. Harmless when another allocator is the global one (the tests):
/// mimalloc's heap is then empty.
pub fn release_freed() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}
