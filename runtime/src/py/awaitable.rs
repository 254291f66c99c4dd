//! Every awaitable httpr hands to asyncio is made here: a future on the shared runtime,
//! bridged by pyo3-async-runtimes, counted while it runs, returned as a coroutine. At interpreter exit a hook waits
//! until none is running and gives their last GIL-holding steps a moment: a tokio thread
//! still inside Python when finalization starts aborts the process.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use std::pin::Pin;

use pyo3::prelude::*;
use pyo3_async_runtimes::{generic, TaskLocals};
use pyo3::sync::PyOnceLock;
use pyo3::types::PyCFunction;

static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

struct Counted;

impl Counted {
    fn new() -> Self {
        IN_FLIGHT.fetch_add(1, Ordering::AcqRel);
        Counted
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        IN_FLIGHT.fetch_sub(1, Ordering::AcqRel);
    }
}

fn register_exit_hook(py: Python<'_>) -> PyResult<()> {
    let hook = PyCFunction::new_closure(py, Some(c"_httpr_drain"), None, |args, _kwargs| {
        args.py().detach(|| {
            let deadline = Instant::now() + Duration::from_secs(2);
            while IN_FLIGHT.load(Ordering::Acquire) > 0 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            // The bridge sets the result just after the future ends; let it finish.
            std::thread::sleep(Duration::from_millis(20));
        });
        Ok::<(), PyErr>(())
    })?;
    py.import("atexit")?.call_method1("register", (hook,))?;
    Ok(())
}

/// An asyncio awaitable resolving to the output of `fut`, which runs on the shared runtime.
pub fn awaitable<T>(py: Python<'_>, fut: impl Future<Output = PyResult<T>> + Send + 'static) -> PyResult<Py<PyAny>>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    static INIT: Once = Once::new();
    let mut hook = Ok(());
    INIT.call_once(|| hook = register_exit_hook(py));
    hook?;
    let counted = Counted::new();
    let fut = async move {
        let _counted = counted;
        fut.await
    };
    let future = pyo3_async_runtimes::generic::future_into_py::<Bridge, _, _>(py, fut)?;
    // A coroutine, not a bare Future, so `asyncio.create_task(client.get(url))` works.
    Ok(as_coroutine(py)?.call1((future,))?.unbind())
}

/// How pyo3-async-runtimes reaches tokio: our shared runtime, looked up on every spawn so
/// that a forked child uses its own (the bridge's built-in tokio glue keeps the first one).
struct Bridge;

tokio::task_local! {
    static TASK_LOCALS: std::cell::OnceCell<TaskLocals>;
}

impl generic::Runtime for Bridge {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> Self::JoinHandle {
        crate::rt::shared().spawn(fut)
    }

    fn spawn_blocking<F: FnOnce() + Send + 'static>(f: F) -> Self::JoinHandle {
        crate::rt::shared().spawn_blocking(f)
    }
}

impl generic::ContextExt for Bridge {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = std::cell::OnceCell::new();
        let _ = cell.set(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|c| c.get().cloned()).unwrap_or_default()
    }
}

fn as_coroutine(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static WRAP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(WRAP
        .get_or_try_init(py, || {
            let code = c"async def _await(future):\n    return await future\n";
            PyModule::from_code(py, code, c"httpr/_await.py", c"httpr._await")?.getattr("_await").map(Bound::unbind)
        })?
        .bind(py))
}

/// The asyncio event loop (and context) of the awaitable being driven right now, for Rust
/// code that must await a Python coroutine on the caller's loop (MockTransport handlers).
pub fn current_locals(py: Python<'_>) -> PyResult<TaskLocals> {
    generic::get_current_locals::<Bridge>(py)
}
