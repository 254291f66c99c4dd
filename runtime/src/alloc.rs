//! Rust-side buffers (response chunks, connection buffers) come from mimalloc, which keeps
//! freed memory for reuse. With the system allocator a 200 KiB body made the heap grow and
//! shrink on every request: fresh pages, a page fault per 4 KiB, more system time than the
//! request itself (67k faults for 3000 requests, 4.6k with mimalloc).
//!
//! Two options keep its memory use as low as glibc's: arenas are committed as they are used
//! (not up front), and freed pages go back to the OS after 1 ms rather than 10 (arenas: 100). Set from an
//! ELF constructor, so before the first allocation. (mimalloc v3, not v2: async stream chunks
//! are allocated on tokio threads and freed on the Python thread, and v2 held on to such
//! cross-thread frees until the allocating thread collected them: +100 MiB over a 256 MiB
//! stream, against a few MiB with v3; tests/test_streaming.py measures it.)

#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

extern "C" {
    fn mi_option_set(option: std::os::raw::c_int, value: std::os::raw::c_long);
}

/// `mi_option_e` values (mimalloc.h).
const MI_OPTION_ARENA_EAGER_COMMIT: std::os::raw::c_int = 4;
const MI_OPTION_PURGE_DELAY: std::os::raw::c_int = 15;
const MI_OPTION_ARENA_PURGE_MULT: std::os::raw::c_int = 24;

extern "C" fn tune() {
    unsafe {
        mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0);
        mi_option_set(MI_OPTION_PURGE_DELAY, 1);
        mi_option_set(MI_OPTION_ARENA_PURGE_MULT, 1);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static TUNE: extern "C" fn() = tune;
