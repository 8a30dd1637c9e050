//! Freed memory returned to the system at the boundary of two phases.
//!
//! mimalloc (the binary's global allocator, `src/main.rs`) keeps freed pages for reuse and returns
//! them after a delay, when it next runs on that thread. A command that frees a large table and
//! then allocates differently (the curated table, then the national E2SFCA network; a level's
//! intermediate columns, then its output) holds both in its peak memory. One collection at that
//! boundary lowers the peak (docs/performance.md, "Memory") for a few milliseconds, where
//! returning every free at once (`MIMALLOC_PURGE_DELAY=0`) costs 2-3× the wall time. Commands
//! that stage the published files also map their large blocks one by one ([`large`]).

#[cfg(target_os = "linux")]
pub mod large;

/// The settings of a command that stages the published files (`build`, `batch --from-raw`, a
/// command building the curated tables in memory): its threads free tens of MB at once (the
/// GeoJSON's text, the workbooks' XML). Blocks of 1 MiB and more are mapped and unmapped one by
/// one from now on (`large`; elsewhere than Linux they stay with mimalloc), and the smaller
/// freed blocks wait 20 ms, long enough to be reused rather than faulted in again, short enough
/// to stay out of the peak (docs/performance.md, "Tenth round").
pub fn for_staging() {
    #[cfg(target_os = "linux")]
    large::map_large_blocks();
    purge_freed_after(20);
}

/// Make polars' shared buffer of zeroes now, on a thread of its own. polars lends every zeroed
/// buffer of up to 8 MiB (an all-false mask, a null column) from one static, made the first time
/// one is asked for. Upstream fills it page by page (2 048 page faults, a quarter of an EPCI
/// batch's): started first, the filling overlapped the reading of the curated table (the EPCI
/// batch took 1.4 ms less, BENCHMARKS.md, fifteenth round). The vendored polars-buffer
/// (vendor/README.md) allocates it zeroed instead, which costs one mapping; the thread stays for a
/// build without the patch. Call it once, from a command that runs polars.
pub fn fill_shared_zeroes() {
    // Detached: nothing waits for it, and a command that ends first loses nothing.
    let _ = std::thread::Builder::new()
        .name("shared-zeroes".into())
        .spawn(|| drop(polars_buffer::Buffer::<u64>::zeroed(1)));
}

/// Ask mimalloc to return freed memory now (`mi_collect(true)`): the calling thread's free pages
/// and what its arenas can purge; blocks another thread still caches are not. Call it on the
/// thread that did the work. Harmless when another allocator is the global one (the tests):
/// mimalloc's heap is then empty.
pub fn release_freed() {
    // SAFETY: `mi_collect` takes no pointer and may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(true) }
}

/// `mi_option_purge_delay` in the mimalloc v3 that `mimalloc` builds by default (its
/// `include/mimalloc.h`; `libmimalloc-sys`'s own constants follow the v2 numbering).
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Return freed memory to the system `ms` milliseconds after it is freed, instead of the 1 s of
/// mimalloc v3. For a command whose threads free and allocate large buffers at once (`build`'s
/// staging: the GeoJSON text, the workbooks' XML, the geometry being encoded), freed memory
/// otherwise waits past the peak: `build` held ~310 MiB for a live heap of ~130 MB, and ~190 MiB
/// with 2 ms, at the same wall time (docs/performance.md, "Memory"); 20 ms since its large blocks
/// are mapped on their own ([`for_staging`]). Short commands keep the default: a 10 ms delay cost
/// `diagnose` 10 ms of its 130.
pub fn purge_freed_after(ms: u32) {
    // SAFETY: `mi_option_set` takes no pointer; an option may be set at any time.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, ms.into()) }
}

/// Leave freed memory to the kernel at exit. mimalloc's exit handler collects with force, which
/// purges every freed range still waiting for its delay, one `madvise` each, just before the
/// kernel takes back the whole address space: 7-11 ms at the end of raw → EPCI, 5 ms of the
/// EPCI batch (perf; docs/performance.md). A negative delay means "never purge", which that
/// collection honours. Call it once the command's work is done.
pub fn skip_purge_at_exit() {
    // SAFETY: as in `purge_freed_after`.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading an option takes no pointer.
        let get = || unsafe { libmimalloc_sys::mi_option_get(PURGE_DELAY) };
        // v3's default, or what a command of this test process set: no other option of v3 reads
        // 1000, 10 or 2, so a shifted index would fail here.
        assert!([1000, 10, 2].contains(&get()), "{}", get());
        purge_freed_after(10);
        assert_eq!(get(), 10);
    }
}
