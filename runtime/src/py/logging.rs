//! The `httpr` logger (Python's `logging`): with DEBUG enabled for it, one line per request
//! sent (retries and redirect hops each count): method, URL without credentials, status and
//! HTTP version (or the exception class), time to the response head, and whether the
//! connection was new or reused. Off (the default), a request costs one lookup in the
//! logger's level cache (`debug_enabled`).

use std::future::Future;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::log::{Outcome, Record, Records};

/// `logging.DEBUG`.
const DEBUG: i32 = 10;

/// `logging.getLogger("httpr")`, looked up once.
fn logger(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(LOGGER.get_or_try_init(py, || py.import("logging")?.call_method1("getLogger", ("httpr",)).map(Bound::unbind))?.bind(py))
}

/// Whether the logger handles DEBUG. `Logger.isEnabledFor` answers from the logger's `_cache`
/// dict (which logging clears in place whenever a level changes); reading that dict here is one
/// lookup, where the call would cost a Python frame (~2,500 instructions) on every request. A
/// missing entry, or a cached yes (which `disabled` might overrule), asks the method itself.
fn debug_enabled(py: Python<'_>) -> PyResult<bool> {
    static CACHE: PyOnceLock<Option<Py<PyDict>>> = PyOnceLock::new();
    let cache = CACHE.get_or_try_init(py, || -> PyResult<_> { Ok(logger(py)?.getattr("_cache").ok().and_then(|c| c.cast_into::<PyDict>().ok()).map(Bound::unbind)) })?;
    if let Some(cache) = cache {
        if let Some(hit) = cache.bind(py).get_item(DEBUG)? {
            if !hit.is_truthy()? {
                return Ok(false);
            }
        }
    }
    logger(py)?.call_method1("isEnabledFor", (DEBUG,))?.is_truthy()
}

/// The records of one request, when the logger wants them.
pub struct Log(Option<Records>);

impl Log {
    /// Whether DEBUG is enabled for `httpr` now (a logging error counts as no).
    pub fn start(py: Python<'_>) -> Log {
        let on = debug_enabled(py).unwrap_or(false);
        Log(on.then(Records::default))
    }

    fn is_on(&self) -> bool {
        self.0.is_some()
    }

    /// `fut` (the whole request), recording its attempts if the logger is on.
    pub fn wrap<F: Future>(&self, fut: F) -> impl Future<Output = F::Output> {
        use futures_util::future::Either;
        match &self.0 {
            Some(records) => Either::Left(crate::log::scope(records.clone(), fut)),
            None => Either::Right(fut),
        }
    }

    /// `emit` from a runtime thread (an async request's end): takes the GIL only when on.
    pub fn emit_attached(&self) {
        if self.is_on() {
            Python::attach(|py| self.emit(py));
        }
    }

    /// Write the records out (errors of a misconfigured handler are left to logging, which
    /// reports them itself; any other is ignored: logging must not fail a request).
    pub fn emit(&self, py: Python<'_>) {
        let Some(records) = &self.0 else { return };
        let Ok(logger) = logger(py) else { return };
        let taken = std::mem::take(&mut *records.lock().unwrap_or_else(|p| p.into_inner()));
        for record in &taken {
            let _ = logger.call_method1("debug", (line(record),));
        }
    }
}

/// `HTTP Request: GET http://host/path "HTTP/1.1 200 OK" (1.2 ms, new connection)`.
pub fn line(r: &Record) -> String {
    let ms = r.elapsed.as_secs_f64() * 1000.0;
    match &r.outcome {
        Outcome::Response { status, version, reused } => {
            let conn = match reused {
                Some(true) => ", reused connection",
                Some(false) => ", new connection",
                None => "",
            };
            let version = crate::response::version_str(*version);
            format!("HTTP Request: {} {} \"{version} {} {}\" ({ms:.1} ms{conn})", r.method, r.url, status.as_u16(), status.canonical_reason().unwrap_or(""))
        }
        Outcome::Failed(kind) => format!("HTTP Request: {} {} failed: {} ({ms:.1} ms)", r.method, r.url, kind.name()),
    }
}
