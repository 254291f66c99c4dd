//! Where finished requests meet their event loop. A tokio thread never takes the GIL to hand
//! over a result: it queues the result on the loop's queue and, if the queue was empty,
//! bumps an eventfd the loop watches (`loop.add_reader`). The loop then wakes once, on its
//! own thread, and settles every queued future in one go, so 64 requests finishing together
//! cost one wake-up, not 64 GIL hand-offs and self-pipe writes.

use std::collections::HashMap;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyWeakrefReference};

/// A result waiting for its loop: the asyncio future and how to make its value.
pub struct Done {
    pub future: Py<PyAny>,
    pub output: Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>,
}

pub struct LoopQueue {
    items: Mutex<Vec<Done>>,
    wake: Wake,
    generation: u64,
}

enum Wake {
    /// Linux: an eventfd registered with `loop.add_reader`.
    EventFd(OwnedFd),
    /// Loops without `add_reader` (Windows' proactor): `call_soon_threadsafe`, with the GIL.
    Threadsafe { call_soon_threadsafe: Py<PyAny>, drain: Py<PyAny> },
}

impl LoopQueue {
    /// Queue a finished request; wakes the loop if it has nothing queued yet.
    pub fn push(&self, done: Done) {
        let was_empty = {
            let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
            items.push(done);
            items.len() == 1
        };
        if was_empty {
            match &self.wake {
                Wake::EventFd(fd) => {
                    let one: u64 = 1;
                    // Cannot fail short of the counter overflowing (2^64 wake-ups).
                    unsafe { libc::write(fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
                }
                Wake::Threadsafe { call_soon_threadsafe, drain } => Python::attach(|py| {
                    if let Err(e) = call_soon_threadsafe.call1(py, (drain,)) {
                        // The loop is closed: nobody is waiting for these any more.
                        e.write_unraisable(py, None);
                    }
                }),
            }
        }
    }

    /// On the loop's thread: settle every queued future.
    fn drain(&self, py: Python<'_>) -> PyResult<()> {
        if let Wake::EventFd(fd) = &self.wake {
            let mut count = 0u64;
            unsafe { libc::read(fd.as_raw_fd(), (&mut count as *mut u64).cast(), 8) };
        }
        let items = std::mem::take(&mut *self.items.lock().unwrap_or_else(|p| p.into_inner()));
        for done in items {
            // One future's failure must not strand the others taken with it.
            if let Err(e) = settle(py, done) {
                e.write_unraisable(py, None);
            }
        }
        Ok(())
    }
}

fn settle(py: Python<'_>, Done { future, output }: Done) -> PyResult<()> {
    let future = future.bind(py);
    // Cancelled while the request was finishing: nothing to deliver.
    if future.call_method0(pyo3::intern!(py, "done"))?.is_truthy()? {
        return Ok(());
    }
    match output(py) {
        Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,))?,
        Err(err) => future.call_method1(pyo3::intern!(py, "set_exception"), (err.into_value(py),))?,
    };
    Ok(())
}

struct Entry {
    event_loop: Py<PyWeakrefReference>,
    queue: Arc<LoopQueue>,
}

/// Queues by loop address, each checked against a weak reference to its loop (an address is
/// reused once a loop is gone); the weak reference's callback removes the entry.
static QUEUES: Mutex<Option<HashMap<usize, Entry>>> = Mutex::new(None);

thread_local! {
    /// The last loop this thread asked for: almost every call is for the same loop.
    static LAST: std::cell::RefCell<Option<(usize, Py<PyWeakrefReference>, Arc<LoopQueue>)>> = const { std::cell::RefCell::new(None) };
}

fn alive(py: Python<'_>, weak: &Py<PyWeakrefReference>, event_loop: &Bound<'_, PyAny>) -> bool {
    use pyo3::types::PyWeakrefMethods;
    weak.bind(py).upgrade().is_some_and(|l| l.is(event_loop))
}

/// The queue of `event_loop`, made (and its reader registered) on first use.
pub fn for_loop(py: Python<'_>, event_loop: &Bound<'_, PyAny>) -> PyResult<Arc<LoopQueue>> {
    let key = event_loop.as_ptr() as usize;
    let generation = crate::fork::generation();
    let hit = LAST.with(|l| {
        l.borrow().as_ref().and_then(|(k, weak, q)| (*k == key && q.generation == generation && alive(py, weak, event_loop)).then(|| q.clone()))
    });
    if let Some(q) = hit {
        return Ok(q);
    }
    let found = {
        let guard = QUEUES.lock().unwrap_or_else(|p| p.into_inner());
        guard.as_ref().and_then(|m| m.get(&key)).and_then(|e| (e.queue.generation == generation && alive(py, &e.event_loop, event_loop)).then(|| (e.event_loop.clone_ref(py), e.queue.clone())))
    };
    let (weak, queue) = match found {
        Some(f) => f,
        None => register(py, event_loop, key, generation)?,
    };
    LAST.with(|l| *l.borrow_mut() = Some((key, weak, queue.clone())));
    Ok(queue)
}

fn register(py: Python<'_>, event_loop: &Bound<'_, PyAny>, key: usize, generation: u64) -> PyResult<(Py<PyWeakrefReference>, Arc<LoopQueue>)> {
    let efd = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    let cell: Arc<std::sync::OnceLock<Arc<LoopQueue>>> = Arc::default();
    let for_drain = cell.clone();
    let drain = PyCFunction::new_closure(py, Some(c"_httpr_settle"), None, move |args, _kwargs| -> PyResult<()> {
        match for_drain.get() {
            Some(q) => q.drain(args.py()),
            None => Ok(()),
        }
    })?;
    let mut wake = None;
    if efd >= 0 {
        let fd = unsafe { OwnedFd::from_raw_fd(efd) };
        if event_loop.call_method1("add_reader", (efd, &drain)).is_ok() {
            wake = Some(Wake::EventFd(fd));
        }
    }
    let wake = match wake {
        Some(w) => w,
        None => Wake::Threadsafe { call_soon_threadsafe: event_loop.getattr("call_soon_threadsafe")?.unbind(), drain: drain.clone().into_any().unbind() },
    };
    let queue = Arc::new(LoopQueue { items: Mutex::new(Vec::new()), wake, generation });
    let _ = cell.set(queue.clone());
    // When the loop is collected, forget its queue (closing the eventfd with it).
    let forget = PyCFunction::new_closure(py, None, None, move |_args, _kwargs| -> PyResult<()> {
        let mut guard = QUEUES.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(m) = guard.as_mut() {
            if m.get(&key).is_some_and(|e| e.queue.generation == generation) {
                m.remove(&key);
            }
        }
        Ok(())
    })?;
    let weak = PyWeakrefReference::new_with(event_loop, forget)?.unbind();
    QUEUES.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(key, Entry { event_loop: weak.clone_ref(py), queue: queue.clone() });
    Ok((weak, queue))
}

/// `asyncio.get_running_loop`, looked up once.
pub fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    static GET: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    GET.get_or_try_init(py, || py.import("asyncio")?.getattr("get_running_loop").map(Bound::unbind))?.bind(py).call0()
}
