//! Ctrl-C during a blocking sync call. While a sync request (or a stream read, or a retry's
//! backoff) waits with the GIL released, Python cannot run its SIGINT handler; so the wait
//! looks at Python's pending signals every `EVERY` and, when one raises (KeyboardInterrupt),
//! drops the request (its connection is closed, not pooled) and returns that exception.
//! Only the main thread runs Python signal handlers, so only it checks.
//!
//! No timer per request (that cost 14% of a small GET's instructions): one watcher thread
//! wakes the main thread's waiting call every `EVERY` (a tick), and the call checks signals
//! when it is polled after a new tick. The watcher parks after a second with nothing to wake.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Condvar, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use pyo3::prelude::*;

/// How often a waiting call looks for a signal: well under the ~100 ms a person notices.
const EVERY: Duration = Duration::from_millis(50);
/// Ticks with nothing waiting before the watcher parks.
const IDLE_TICKS: u32 = 20;

/// The main thread's waiting call, for the watcher to wake.
static WAITING: Mutex<Option<Waker>> = Mutex::new(None);
/// Ticks so far: a call checks signals when this moved since it last looked.
static TICKS: AtomicU64 = AtomicU64::new(0);
static STARTED: AtomicBool = AtomicBool::new(false);
static PARKED: AtomicBool = AtomicBool::new(false);
static WAKE: (Mutex<()>, Condvar) = (Mutex::new(()), Condvar::new());

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn watcher() {
    let mut idle = 0;
    loop {
        std::thread::sleep(EVERY);
        let waker = lock(&WAITING).clone();
        match waker {
            Some(w) => {
                idle = 0;
                TICKS.fetch_add(1, Ordering::Release);
                w.wake();
            }
            None if idle < IDLE_TICKS => idle += 1,
            None => {
                let guard = lock(&WAKE.0);
                PARKED.store(true, Ordering::Release);
                // A call that registered meanwhile has seen PARKED false and does not notify.
                if lock(&WAITING).is_none() {
                    drop(WAKE.1.wait(guard));
                }
                PARKED.store(false, Ordering::Release);
                idle = 0;
            }
        }
    }
}

/// Register the main thread's waiting call, starting or unparking the watcher as needed.
fn register(waker: &Waker) {
    *lock(&WAITING) = Some(waker.clone());
    if !STARTED.swap(true, Ordering::AcqRel) {
        let _ = std::thread::Builder::new().name("httpr-sigwatch".into()).spawn(watcher);
    } else if PARKED.load(Ordering::Acquire) {
        let _guard = lock(&WAKE.0);
        WAKE.1.notify_one();
    }
}

/// `fut`, or the exception a signal handler raised while it was pending. Boxed once (a
/// request's future is large: moving it through another layer costs more than the watch).
pub fn interruptible<F: Future + Send>(fut: F) -> Watch<Pin<Box<F>>> {
    Watch { fut: Box::pin(fut), seen: None, main: is_main_thread() }
}

/// Whether this is Python's main thread (asked once per thread, then remembered).
fn is_main_thread() -> bool {
    thread_local!(static MAIN: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) });
    MAIN.with(|m| {
        if let Some(known) = m.get() {
            return known;
        }
        let main = Python::attach(|py| -> PyResult<bool> {
            let threading = py.import("threading")?;
            Ok(threading.call_method0("main_thread")?.is(&threading.call_method0("current_thread")?))
        })
        .unwrap_or(false);
        m.set(Some(main));
        main
    })
}

pub struct Watch<F> {
    fut: F,
    /// The tick count when this call registered or last checked (None: not registered).
    seen: Option<u64>,
    /// On Python's main thread (elsewhere signals are not handled, so nothing is checked).
    main: bool,
}

impl<F: Future + Unpin> Future for Watch<F> {
    type Output = Result<F::Output, PyErr>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Poll::Ready(out) = Pin::new(&mut self.fut).poll(cx) {
            return Poll::Ready(Ok(out));
        }
        if !self.main {
            return Poll::Pending;
        }
        let now = TICKS.load(Ordering::Acquire);
        match self.seen {
            None => register(cx.waker()),
            Some(seen) if seen != now => {
                if let Err(e) = Python::attach(|py| py.check_signals()) {
                    return Poll::Ready(Err(e));
                }
                // The waker may have changed (a runtime hand-off): keep the watcher's current.
                register(cx.waker());
            }
            Some(_) => {}
        }
        self.seen = Some(now);
        Poll::Pending
    }
}

impl<F> Drop for Watch<F> {
    fn drop(&mut self) {
        if self.seen.is_some() {
            *lock(&WAITING) = None;
        }
    }
}
