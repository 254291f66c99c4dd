//! Fork safety. A forked child has only the thread that called fork(): the parent's runtime
//! threads are gone, and its epoll instance and pooled sockets are *shared* with the parent.
//! So in a child every runtime and connection pool made before the fork is abandoned (leaked,
//! never dropped: dropping would deregister the parent's sockets from the shared epoll) and
//! new ones are made on first use. A counter bumped by a `pthread_atfork` child handler tells
//! which generation a runtime or pool belongs to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Once;

static GENERATION: AtomicU64 = AtomicU64::new(0);

extern "C" fn after_fork_in_child() {
    // Async-signal-safe: one atomic add.
    GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// The number of forks between the process that loaded httpr and this one.
pub fn generation() -> u64 {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| unsafe {
        libc::pthread_atfork(None, None, Some(after_fork_in_child));
    });
    GENERATION.load(Ordering::Relaxed)
}
