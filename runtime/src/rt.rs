//! Runtimes. Sync requests are driven on the calling thread by that thread's own
//! current-thread runtime: the connection tasks then run on the same thread, so a request
//! costs no cross-thread wake-ups (the hand-off `reqwest::blocking` pays, see the bench README). The process-wide
//! multi-thread runtime is for work that must run without a caller (async clients).
//! Neither is ever created per request.

use std::future::Future;
use std::cell::{Cell, RefCell};
use std::sync::{Arc, Mutex};

use crate::fork;

fn build_shared() -> &'static tokio::runtime::Runtime {
    let workers = std::thread::available_parallelism().map(|n| n.get().min(4)).unwrap_or(2);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        // DNS lookups run on the blocking pool; bound it so thousands of concurrent
        // requests to a host name queue instead of spawning hundreds of threads.
        .max_blocking_threads(16)
        .thread_name("httpr-io")
        .enable_all()
        .build()
        .expect("failed to start the httpr tokio runtime");
    // Lives for the process (or until a fork abandons it, see `fork`).
    Box::leak(Box::new(rt))
}

/// The process-wide runtime of this fork generation, started on first use.
pub fn shared() -> &'static tokio::runtime::Runtime {
    static SHARED: Mutex<Option<(u64, &'static tokio::runtime::Runtime)>> = Mutex::new(None);
    thread_local!(static CACHED: Cell<Option<(u64, &'static tokio::runtime::Runtime)>> = const { Cell::new(None) });
    let generation = fork::generation();
    if let Some((g, rt)) = CACHED.with(Cell::get) {
        if g == generation {
            return rt;
        }
    }
    let mut guard = SHARED.lock().unwrap_or_else(|p| p.into_inner());
    let rt = match *guard {
        Some((g, rt)) if g == generation => rt,
        _ => {
            let rt = build_shared();
            *guard = Some((generation, rt));
            rt
        }
    };
    CACHED.with(|c| c.set(Some((generation, rt))));
    rt
}

fn build_local() -> Arc<tokio::runtime::Runtime> {
    Arc::new(tokio::runtime::Builder::new_current_thread().enable_all().build().expect("failed to start a thread-local tokio runtime"))
}

thread_local! {
    static LOCAL: RefCell<(u64, Arc<tokio::runtime::Runtime>)> = RefCell::new((fork::generation(), build_local()));
}

/// This thread's runtime. A sync stream keeps it, so its body can still be read (driving
/// this runtime) from another thread, or after this thread has exited.
pub fn local() -> Arc<tokio::runtime::Runtime> {
    LOCAL.with(|l| {
        let generation = fork::generation();
        let mut l = l.borrow_mut();
        if l.0 != generation {
            // Made before a fork: its I/O driver is the parent's. Abandon it.
            let old = std::mem::replace(&mut *l, (generation, build_local()));
            std::mem::forget(old);
        }
        l.1.clone()
    })
}

/// Drive `fut` to completion on the calling thread (the caller has released the GIL).
/// Connections made here are pooled per thread (see `client::State::transport`), so they
/// are only ever driven by this thread's runtime.
pub fn block_on<F: Future + Send>(fut: F) -> F::Output
where
    F::Output: Send,
{
    if inside_runtime() {
        return on_helper_thread(move || block_on(fut));
    }
    thread_local!(static LAST_DONE: Cell<Option<std::time::Instant>> = const { Cell::new(None) });
    let rt = local();
    // Boxed once here rather than moved (copied) whole through the layers of `block_on`.
    let fut = Box::pin(fut);
    // Between two requests nothing drives this thread's idle connections, so a close by the
    // server is not yet known. Yielding once lets the runtime poll its I/O driver and run
    // those connection tasks first: a connection the server closed is dropped from the pool
    // before the request picks one. It costs two system calls, so it is skipped when this
    // thread's last request ended under a millisecond ago: a close that recent would not
    // have arrived yet anyway.
    let idle = LAST_DONE.with(|l| l.get().is_none_or(|t| t.elapsed() >= IDLE_CHECK_AFTER));
    let out = rt.block_on(async {
        if idle {
            tokio::task::yield_now().await;
        }
        fut.await
    });
    LAST_DONE.with(|l| l.set(Some(std::time::Instant::now())));
    out
}

/// Run this thread's runtime for a moment, so connection tasks whose pool was just dropped
/// end and close their sockets now rather than at this thread's next request (a server
/// waiting for its clients to hang up would otherwise wait). Nothing to do inside a runtime.
pub fn settle_local() {
    if inside_runtime() {
        return;
    }
    local().block_on(async {
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
    })
}

/// Whether this thread is already driving a runtime: a sync request made from code that a
/// request runs (a MockTransport handler or `HTTPTransport` in a transport, a hook) cannot
/// block this thread's runtime again.
fn inside_runtime() -> bool {
    tokio::runtime::Handle::try_current().is_ok()
}

/// Run `f` on a thread of its own and wait for it: how a nested sync request is driven.
fn on_helper_thread<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| match s.spawn(f).join() {
        Ok(out) => out,
        Err(panic) => std::panic::resume_unwind(panic),
    })
}

const IDLE_CHECK_AFTER: std::time::Duration = std::time::Duration::from_millis(1);

/// The runtime a sync request (or a sync stream's body) is driven on.
#[derive(Clone)]
pub enum Handle {
    /// The calling thread's runtime (`local`).
    Local(Arc<tokio::runtime::Runtime>),
    /// The process-wide runtime (`shared`): for clients whose pool all threads share.
    Shared(&'static tokio::runtime::Runtime),
}

impl Handle {
    pub fn new(shared_pool: bool) -> Self {
        // Inside a runtime (a stream opened by a transport's handler) this thread's own
        // runtime is busy: use the shared one.
        if shared_pool || inside_runtime() {
            Handle::Shared(shared())
        } else {
            Handle::Local(local())
        }
    }

    pub fn block_on<F: Future + Send>(&self, fut: F) -> F::Output
    where
        F::Output: Send,
    {
        if inside_runtime() {
            return on_helper_thread(move || self.block_on(fut));
        }
        match self {
            Handle::Local(rt) => rt.block_on(fut),
            Handle::Shared(rt) => rt.block_on(fut),
        }
    }
}
