//! How the process uses the system's memory allocator (glibc's, on Linux): few heaps, and freed
//! memory handed back after start-up.

/// Caps glibc's heaps (arenas) at one per four cores, unless `MALLOC_ARENA_MAX` says otherwise.
///
/// By default glibc gives threads up to eight heaps per core, and memory freed in one heap is
/// kept for that heap's next allocations: a South with 100,000 items held 195 MB resident with
/// 9 threads on 2 cores, 83 MB with one heap, for the same live data (`BENCHMARKS.md`). The
/// values path measured no slower. Called before the engine starts its threads; calling it
/// again changes nothing.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let arenas = i32::try_from(cores.div_ceil(4)).unwrap_or(i32::MAX).max(1);
        // SAFETY: `mallopt` sets one of the allocator's parameters; it takes its own locks.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, arenas);
        }
    }
}

/// Returns the heap's free pages to the system. Reading a large configuration (a TOML document
/// of 100,000 items peaks at about 50 times its size while parsed) leaves hundreds of MB free
/// but still resident, as glibc's allocator keeps freed memory for later. Called once the
/// engine has started, so the resident size is what the running engine uses.
pub fn release_freed() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks the allocator's own free lists; it takes its locks.
    unsafe {
        libc::malloc_trim(0);
    }
}
