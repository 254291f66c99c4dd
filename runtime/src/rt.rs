//! Runtimes. Sync requests are driven on the calling thread by that thread's own
//! current-thread runtime: the connection tasks then run on the same thread, so a request
//! costs no cross-thread wake-ups (the hand-off `reqwest::blocking` pays). The process-wide
//! multi-thread runtime is for work that must run without a caller (async clients).
//! Neither is ever created per request.

use std::future::Future;
use std::sync::{Arc, OnceLock};

static SHARED: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

pub fn shared() -> &'static tokio::runtime::Runtime {
    SHARED.get_or_init(|| {
        let workers = std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(2);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            // DNS lookups run on the blocking pool; bound it so thousands of concurrent
            // requests to a host name queue instead of spawning hundreds of threads.
            .max_blocking_threads(16)
            .thread_name("httpr-io")
            .enable_all()
            .build()
            .expect("failed to start the httpr tokio runtime")
    })
}

thread_local! {
    static LOCAL: Arc<tokio::runtime::Runtime> = Arc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("failed to start a thread-local tokio runtime"),
    );
}

/// This thread's runtime. A sync stream keeps it, so its body can still be read (driving
/// this runtime) from another thread, or after this thread has exited.
pub fn local() -> Arc<tokio::runtime::Runtime> {
    LOCAL.with(Arc::clone)
}

/// Drive `fut` to completion on the calling thread (the caller has released the GIL).
/// Connections made here are pooled per thread (see `client::State::transport`), so they
/// are only ever driven by this thread's runtime.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    LOCAL.with(|rt| {
        rt.block_on(async {
            // Between two requests nothing drives this thread's idle connections, so a close
            // by the server is not yet known. Yielding once lets the runtime poll its I/O
            // driver and run those connection tasks first: a connection the server closed is
            // dropped from the pool before the request picks one.
            tokio::task::yield_now().await;
            fut.await
        })
    })
}
