//! The one process-wide tokio runtime. Created lazily on first use, never per request.

use std::future::Future;
use std::sync::OnceLock;

static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

pub fn runtime() -> &'static tokio::runtime::Runtime {
    RUNTIME.get_or_init(|| {
        // Sync requests are driven on the calling thread (`block_on`); the workers only run
        // connection tasks, so a small pool is enough and keeps CPU per request low.
        let workers = std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(2);
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .thread_name("httpr-io")
            .enable_all()
            .build()
            .expect("failed to start the httpr tokio runtime")
    })
}

/// Drive `fut` to completion on the calling thread (the caller has released the GIL).
pub fn block_on<F: Future>(fut: F) -> F::Output {
    runtime().block_on(fut)
}
