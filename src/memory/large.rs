//! Large blocks straight from the kernel while the published files are staged (`build`,
//! `batch --from-raw`, the tables built in memory): the global allocator of the binary
//! (`src/main.rs`), switched on by `memory::for_staging`.
//!
//! `build` reads a 27 MB GeoJSON text, workbooks of tens of MB of XML and a COG of 20 MB, each
//! freed within tens of milliseconds, on four threads at once. Through mimalloc alone, a freed
//! block either waits for the purge delay, and the next ones pile up on top of it (310 MiB with
//! mimalloc's 1 s), or is purged within 2 ms, and the small blocks freed beside it are faulted in
//! again and again (117 000 page faults, a quarter of `build`'s CPU in the kernel).
//!
//! Once [`map_large_blocks`] is called, a block of [`LARGE`] bytes or more is mapped on its own
//! (`mmap`) and unmapped the moment it is freed, a growing vector is moved by its page tables
//! (`mremap`: no copy, no fresh page), and a block of [`HUGE`] bytes or more is aligned on 2 MiB
//! and advised for transparent huge pages (`MADV_HUGEPAGE`): a dense buffer is then faulted in
//! 2 MiB at a time, one fault where there were 512. Smaller blocks stay with the inner allocator,
//! whose purge delay can then be long enough to reuse them (docs/performance.md, "Tenth round").
//! A kernel that does not give huge pages to `madvise` still maps and unmaps the blocks.
//!
//! It is a switch, not the default: a command that keeps its memory (`coverage`, with mimalloc's
//! 1 s delay) reuses its large blocks for free, and mapping them there made page faults of its
//! other threads wait on `munmap`'s lock of the address space (+4 % wall time, less CPU).

use std::alloc::{GlobalAlloc, Layout};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};

/// Blocks from this size on are the kernel's: below it, a block is reused often enough that
/// mimalloc serves it better (256 KiB took 4 % more CPU in `build`; 2 MiB held 10 MiB more).
pub const LARGE: usize = 1 << 20;

/// One transparent huge page on x86-64 and on arm64 with 4 KiB pages.
pub const HUGE: usize = 2 << 20;

/// The page size for which [`HUGE`] is a huge page; other sizes map without the advice.
const SMALL_PAGE: usize = 4096;

static MAPPING: AtomicBool = AtomicBool::new(false);

/// From now on, the binary's allocator maps large blocks itself; there is no switching back.
/// Blocks allocated before stay where they are: each block is freed by whoever holds it
/// ([`Owns`]).
pub fn map_large_blocks() {
    MAPPING.store(true, Ordering::Relaxed);
}

/// An allocator that can tell its own live blocks from any other address.
///
/// # Safety
/// `owns` must answer `true` for every live block of the allocator, and `false` for memory
/// it did not allocate.
pub unsafe trait Owns {
    fn owns(&self, ptr: *const u8) -> bool;
}

// SAFETY: mimalloc's page map holds every live page of its arenas, and our mappings lie outside
// them (`mi_is_in_heap_region`, a lookup in that map).
unsafe impl Owns for mimalloc::MiMalloc {
    fn owns(&self, ptr: *const u8) -> bool {
        // SAFETY: the lookup reads mimalloc's page map; any address may be asked.
        unsafe { libmimalloc_sys::mi_is_in_heap_region(ptr.cast()) }
    }
}

/// A [`GlobalAlloc`] that maps large blocks itself, once switched on, and hands the others to
/// `A`.
pub struct LargeFromKernel<A> {
    small: A,
    large: usize,
    huge: usize,
    on: &'static AtomicBool,
}

impl<A> LargeFromKernel<A> {
    /// Blocks of at least [`LARGE`] bytes mapped after [`map_large_blocks`], those of at least
    /// [`HUGE`] in huge pages.
    pub const fn new(small: A) -> Self {
        LargeFromKernel { small, large: LARGE, huge: HUGE, on: &MAPPING }
    }

    /// Other thresholds and switch: the tests map blocks of a few pages.
    pub const fn with(small: A, large: usize, huge: usize, on: &'static AtomicBool) -> Self {
        LargeFromKernel { small, large, huge, on }
    }

    fn is_large(&self, layout: Layout) -> bool {
        // A mapping is page-aligned; a stricter alignment stays with the inner allocator.
        layout.size() >= self.large && layout.align() <= SMALL_PAGE
    }

    /// Whether a new block of this layout is to be mapped.
    fn maps(&self, layout: Layout) -> bool {
        self.is_large(layout) && self.on.load(Ordering::Relaxed)
    }

    /// A fresh, zeroed mapping of `size` bytes, or null.
    fn map(&self, size: usize) -> *mut u8 {
        if size >= self.huge && page_size() == SMALL_PAGE {
            map_huge(size)
        } else {
            map_anonymous(size).unwrap_or(ptr::null_mut())
        }
    }
}

impl<A: Owns> LargeFromKernel<A> {
    /// Whether a live block is one of our mappings: a large layout the inner allocator does not
    /// own (it may have been allocated before the switch).
    fn mapped(&self, ptr: *mut u8, layout: Layout) -> bool {
        // The switch only goes on: off, nothing was mapped.
        self.is_large(layout) && self.on.load(Ordering::Relaxed) && !self.small.owns(ptr)
    }
}

// SAFETY: every block is either the inner allocator's, passed through with the caller's
// layout, or a private anonymous mapping of at least `layout.size()` bytes at a page-aligned
// (so `layout.align()`-aligned) address. A block is freed or resized by the inner allocator
// exactly when it owns it (`Owns`), so a block always returns to where it came from.
unsafe impl<A: GlobalAlloc + Owns> GlobalAlloc for LargeFromKernel<A> {
    // Each entry point tests the size alone and jumps to the inner allocator: the rest is out of
    // line (`#[cold]`), so that a small block costs one comparison more than mimalloc's own
    // (0.9 % more instructions in `diagnose` with the tests inline).
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < self.large {
            self.small.alloc(layout)
        } else {
            self.alloc_large(layout, false)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() < self.large {
            self.small.alloc_zeroed(layout)
        } else {
            self.alloc_large(layout, true)
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < self.large {
            self.small.dealloc(ptr, layout)
        } else {
            self.dealloc_large(ptr, layout)
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.size() < self.large && new_size < self.large {
            self.small.realloc(ptr, layout, new_size)
        } else {
            self.realloc_large(ptr, layout, new_size)
        }
    }
}

impl<A: GlobalAlloc + Owns> LargeFromKernel<A> {
    #[cold]
    #[inline(never)]
    unsafe fn alloc_large(&self, layout: Layout, zeroed: bool) -> *mut u8 {
        if self.maps(layout) {
            // A fresh anonymous mapping reads as zeros: nothing to write.
            self.map(layout.size())
        } else if zeroed {
            self.small.alloc_zeroed(layout)
        } else {
            self.small.alloc(layout)
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn dealloc_large(&self, ptr: *mut u8, layout: Layout) {
        if self.mapped(ptr, layout) {
            unmap(ptr, layout.size());
        } else {
            self.small.dealloc(ptr, layout)
        }
    }

    #[cold]
    #[inline(never)]
    unsafe fn realloc_large(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees that `new_size`, rounded to `layout.align()`, does not
        // overflow `isize`.
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        match (self.mapped(ptr, layout), self.maps(new_layout)) {
            (false, false) => self.small.realloc(ptr, layout, new_size),
            (true, true) => remap(ptr, layout.size(), new_size),
            _ => {
                // One of the two is large: the paths that tell a mapping from a small block.
                let new = self.alloc_large(new_layout, false);
                if !new.is_null() {
                    ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                    self.dealloc_large(ptr, layout);
                }
                new
            }
        }
    }
}

fn page_size() -> usize {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static PAGE: AtomicUsize = AtomicUsize::new(0);
    match PAGE.load(Ordering::Relaxed) {
        0 => {
            // SAFETY: sysconf reads a constant of the system and allocates nothing.
            let p = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(SMALL_PAGE);
            PAGE.store(p, Ordering::Relaxed);
            p
        }
        p => p,
    }
}

fn map_anonymous(size: usize) -> Option<*mut u8> {
    // SAFETY: a new private anonymous mapping; no existing memory is touched.
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            size,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast())
}

/// `size` bytes from a 2 MiB boundary, advised for huge pages: a mapping one huge page longer,
/// trimmed of what lies before the boundary and after the block's last page.
fn map_huge(size: usize) -> *mut u8 {
    let Some(padded) = size.checked_add(HUGE) else { return ptr::null_mut() };
    let Some(p) = map_anonymous(padded) else { return ptr::null_mut() };
    let start = (p as usize).next_multiple_of(HUGE);
    let end = start + size.next_multiple_of(SMALL_PAGE);
    // SAFETY: both ranges lie inside the mapping just made and outside the block returned.
    unsafe {
        if start > p as usize {
            libc::munmap(p.cast(), start - p as usize);
        }
        if p as usize + padded > end {
            libc::munmap(end as *mut libc::c_void, p as usize + padded - end);
        }
        // Only advice: a kernel without huge pages for `madvise` maps small ones.
        libc::madvise(start as *mut libc::c_void, size, libc::MADV_HUGEPAGE);
    }
    start as *mut u8
}

/// # Safety
/// `ptr` and `size` are those of a block from `map`.
unsafe fn unmap(ptr: *mut u8, size: usize) {
    libc::munmap(ptr.cast(), size);
}

/// # Safety
/// `ptr` and `old` are those of a block from `map`.
unsafe fn remap(ptr: *mut u8, old: usize, new: usize) -> *mut u8 {
    let p = libc::mremap(ptr.cast(), old, new, libc::MREMAP_MAYMOVE);
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p.cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::System;
    use std::collections::HashSet;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;

    /// The system allocator, keeping the addresses of its live blocks (the test binary's global
    /// allocator is the system's, so the set's own allocations do not come back here).
    #[derive(Default)]
    struct Tracking {
        live: Mutex<HashSet<usize>>,
        served: AtomicUsize,
    }

    impl Tracking {
        fn served(&self) -> usize {
            self.served.load(Ordering::Relaxed)
        }
        fn live(&self) -> usize {
            self.live.lock().unwrap().len()
        }
    }

    unsafe impl GlobalAlloc for Tracking {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = System.alloc(layout);
            self.served.fetch_add(1, Ordering::Relaxed);
            self.live.lock().unwrap().insert(p as usize);
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            assert!(self.live.lock().unwrap().remove(&(ptr as usize)), "not a block of the inner allocator");
            System.dealloc(ptr, layout)
        }
    }

    unsafe impl Owns for Tracking {
        fn owns(&self, ptr: *const u8) -> bool {
            self.live.lock().unwrap().contains(&(ptr as usize))
        }
    }

    const PAGES: usize = 4 * SMALL_PAGE;

    fn switch(on: bool) -> &'static AtomicBool {
        Box::leak(Box::new(AtomicBool::new(on)))
    }

    fn allocator(on: &'static AtomicBool) -> LargeFromKernel<Tracking> {
        LargeFromKernel::with(Tracking::default(), PAGES, HUGE, on)
    }

    fn fill(p: *mut u8, len: usize, seed: u8) {
        for i in 0..len {
            // SAFETY: the callers pass a live block of at least `len` bytes.
            unsafe { *p.add(i) = seed.wrapping_add(i as u8) }
        }
    }

    fn holds(p: *const u8, len: usize, seed: u8) -> bool {
        // SAFETY: as in `fill`.
        (0..len).all(|i| unsafe { *p.add(i) } == seed.wrapping_add(i as u8))
    }

    #[test]
    fn small_blocks_go_to_the_inner_allocator_and_large_ones_do_not() {
        let a = allocator(switch(true));
        let small = Layout::from_size_align(PAGES - 1, 8).unwrap();
        let large = Layout::from_size_align(PAGES, 8).unwrap();
        let aligned = Layout::from_size_align(PAGES, 2 * SMALL_PAGE).unwrap();
        unsafe {
            let s = a.alloc(small);
            assert_eq!(a.small.served(), 1);
            let l = a.alloc(large);
            assert_eq!(a.small.served(), 1, "a large block is mapped");
            assert_eq!(l as usize % SMALL_PAGE, 0);
            // An alignment a mapping does not promise stays with the inner allocator.
            let x = a.alloc(aligned);
            assert_eq!(a.small.served(), 2);
            assert_eq!(x as usize % (2 * SMALL_PAGE), 0);
            fill(l, PAGES, 3);
            assert!(holds(l, PAGES, 3));
            a.dealloc(s, small);
            a.dealloc(l, large);
            a.dealloc(x, aligned);
        }
        assert_eq!(a.small.live(), 0);
    }

    #[test]
    fn switched_off_every_block_is_the_inner_allocators() {
        let a = allocator(switch(false));
        let large = Layout::from_size_align(3 * PAGES, 8).unwrap();
        unsafe {
            let p = a.alloc(large);
            let q = a.realloc(p, large, 5 * PAGES);
            assert_eq!(a.small.live(), 1);
            a.dealloc(q, Layout::from_size_align(5 * PAGES, 8).unwrap());
        }
        assert_eq!((a.small.served(), a.small.live()), (2, 0));
    }

    #[test]
    fn a_block_from_before_the_switch_goes_back_to_the_inner_allocator() {
        let on = switch(false);
        let a = allocator(on);
        let large = Layout::from_size_align(2 * PAGES, 8).unwrap();
        unsafe {
            let before = a.alloc(large);
            let kept = a.alloc(large);
            fill(before, large.size(), 7);
            on.store(true, Ordering::Relaxed);
            // Grown after the switch: moved into a mapping, the old block freed by its owner.
            let grown = a.realloc(before, large, 3 * PAGES);
            assert!(holds(grown, large.size(), 7));
            assert!(!a.small.owns(grown));
            assert_eq!(a.small.live(), 1);
            a.dealloc(kept, large);
            a.dealloc(grown, Layout::from_size_align(3 * PAGES, 8).unwrap());
        }
        assert_eq!((a.small.served(), a.small.live()), (2, 0));
    }

    #[test]
    fn a_large_zeroed_block_reads_as_zeros() {
        let a = allocator(switch(true));
        let layout = Layout::from_size_align(3 * PAGES + 5, 1).unwrap();
        unsafe {
            let p = a.alloc_zeroed(layout);
            assert!(!p.is_null());
            assert!((0..layout.size()).all(|i| *p.add(i) == 0));
            a.dealloc(p, layout);
        }
        assert_eq!(a.small.served(), 0);
    }

    #[test]
    fn blocks_keep_their_contents_across_every_kind_of_growth_and_shrinking() {
        let a = allocator(switch(true));
        // small → small → large → larger → small, each step checking what was written.
        let sizes = [100, PAGES - 8, PAGES + 1, 5 * PAGES + 7, 200];
        let mut layout = Layout::from_size_align(sizes[0], 8).unwrap();
        unsafe {
            let mut p = a.alloc(layout);
            fill(p, layout.size(), 11);
            for &next in &sizes[1..] {
                let kept = layout.size().min(next);
                p = a.realloc(p, layout, next);
                assert!(!p.is_null());
                assert!(holds(p, kept, 11), "{} → {next}", layout.size());
                assert_eq!(a.small.owns(p), next < PAGES);
                layout = Layout::from_size_align(next, 8).unwrap();
                fill(p, next, 11);
            }
            a.dealloc(p, layout);
        }
        assert_eq!(a.small.live(), 0);
    }

    #[test]
    fn a_block_of_a_huge_page_or_more_starts_on_a_huge_page_boundary() {
        let a = allocator(switch(true));
        let layout = Layout::from_size_align(HUGE + 3 * SMALL_PAGE + 1, 8).unwrap();
        unsafe {
            let p = a.alloc(layout);
            assert!(!p.is_null());
            if page_size() == SMALL_PAGE {
                assert_eq!(p as usize % HUGE, 0);
            }
            // Every byte is mapped, and it grows like any large block.
            fill(p, layout.size(), 5);
            let q = a.realloc(p, layout, 2 * layout.size());
            assert!(holds(q, layout.size(), 5));
            a.dealloc(q, Layout::from_size_align(2 * layout.size(), 8).unwrap());
        }
        assert_eq!(a.small.served(), 0);
    }

    #[test]
    fn mimalloc_owns_its_blocks_small_and_large_and_not_the_mappings() {
        let on = switch(false);
        let a = LargeFromKernel::with(mimalloc::MiMalloc, LARGE, HUGE, on);
        let small = Layout::from_size_align(100, 8).unwrap();
        let large = Layout::from_size_align(3 * LARGE, 8).unwrap();
        unsafe {
            let s = a.alloc(small);
            let before = a.alloc(large);
            on.store(true, Ordering::Relaxed);
            let mapped = a.alloc(large);
            assert!(a.small.owns(s) && a.small.owns(before) && !a.small.owns(mapped));
            fill(before, large.size(), 1);
            fill(mapped, large.size(), 2);
            a.dealloc(s, small);
            a.dealloc(before, large);
            a.dealloc(mapped, large);
        }
    }
}
