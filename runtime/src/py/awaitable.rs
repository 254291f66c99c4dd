//! Every awaitable httpr hands to asyncio is made here: a future on the shared runtime whose
//! result is queued for its event loop (`completions`), counted while it runs, returned as a
//! coroutine. At interpreter exit a hook waits
//! until none is running and gives their last GIL-holding steps a moment: a tokio thread
//! still inside Python when finalization starts aborts the process.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;
use pyo3_async_runtimes::TaskLocals;

use super::completions;
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
/// The result reaches the loop through its completion queue (see `completions`); cancelling
/// the awaiting task aborts `fut`.
pub fn awaitable<T>(py: Python<'_>, fut: impl Future<Output = PyResult<T>> + Send + 'static) -> PyResult<Py<PyAny>>
where
    T: for<'py> IntoPyObject<'py> + Send + 'static,
{
    static INIT: Once = Once::new();
    let mut hook = Ok(());
    INIT.call_once(|| hook = register_exit_hook(py));
    hook?;
    let event_loop = completions::running_loop(py)?;
    let queue = completions::for_loop(py, &event_loop)?;
    let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let counted = Counted::new();
    let target = future.clone().unbind();
    let task = LOOP.scope(event_loop.unbind(), async move {
        let _counted = counted;
        let out = fut.await;
        let output: Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send> =
            Box::new(move |py| out.and_then(|v| v.into_bound_py_any(py).map(Bound::unbind)));
        queue.push(completions::Done { future: target, output });
    });
    let abort = crate::rt::shared().spawn(task).abort_handle();
    let on_done = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        if args.get_item(0)?.call_method0(pyo3::intern!(args.py(), "cancelled"))?.is_truthy()? {
            abort.abort();
        }
        Ok(())
    })?;
    future.call_method1(pyo3::intern!(py, "add_done_callback"), (on_done,))?;
    // A coroutine, not a bare Future, so `asyncio.create_task(client.get(url))` works.
    Ok(as_coroutine(py)?.call1((future,))?.unbind())
}

tokio::task_local! {
    /// The event loop of the awaitable a tokio task is running for.
    static LOOP: Py<PyAny>;
}

/// The asyncio event loop (and context) of the awaitable being driven right now, for Rust
/// code that must await a Python coroutine on the caller's loop (MockTransport handlers).
pub fn current_locals(py: Python<'_>) -> PyResult<TaskLocals> {
    let event_loop = LOOP.try_with(|l| l.clone_ref(py)).map_err(|_| pyo3::exceptions::PyRuntimeError::new_err("no event loop for this task"))?;
    TaskLocals::new(event_loop.into_bound(py)).copy_context(py)
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
