//! Scheduling hints for threads whose work is not on a command's critical path.

/// Let the process's other threads run first when cores are short: nice +5 for the calling thread
/// (Linux, where nice is per thread; elsewhere nothing). `build` stages five sources at once on
/// two cores, and its longest chain, the boundaries' thread (the GeoJSON, its rings and areas,
/// then the shapes placed for the geometry table), had half a core for its first 250 ms; with the
/// workbooks' and the comparateur's threads deferring, it ends sooner and so does `build`
/// (BENCHMARKS.md, "Issue 9, eleventh round"). Threads spawned from the calling one inherit it.
pub fn defer_to_other_threads() {
    #[cfg(target_os = "linux")]
    // SAFETY: takes no pointer; `who = 0` names the calling thread. Raising one's own nice value
    // needs no privilege; a refusal changes nothing, so its result is not needed.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 5);
    }
}
