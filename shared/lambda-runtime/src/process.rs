//! How tandem's processes start: the settings that must come before any thread does, then the
//! multi-threaded runtime. The Lambda functions and `tandem` share it.

use std::future::Future;

/// Runs `main` to its end on a new multi-threaded tokio runtime, the process's allocator set up first.
pub fn run_main<F: Future>(main: F) -> std::io::Result<F::Output> {
    share_one_heap_arena();
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(main))
}

/// glibc gives each thread that allocates a heap arena of its own (up to eight per core), and what is
/// freed in an arena stays with it: a poll's pages, parsed on one worker thread and dropped on another,
/// and the store's blocking threads kept a backfill of 20,000 items at 61 MiB instead of 48. tandem's
/// threads mostly wait on the network, so one arena costs no contention worth having more for. It must
/// be set before threads allocate: an arena, once made, stays.
fn share_one_heap_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only tunes the allocator; no memory is touched, and no other thread runs yet.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}
