//! Async streaming: `async with client.stream(...) as r: async for chunk in r.aiter_bytes()`.
//! Chunks are awaited on the shared runtime; the event loop is never blocked, except by the
//! sync readers (`iter_bytes()`, `read()`, ...) that 0.7.8's code calls on this class too.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::awaitable::awaitable;
use super::hooks::Hooks;
use super::registry::Wrapped;
use crate::client::{Driver, Head, State};
use crate::cookies::Jar;
use super::stream::{Body, Streamed};
use crate::request::Prepared;
use crate::rt::Handle;
use crate::stream::{Assemble, LinePieces, SizedPieces, TextPieces};

/// Bytes handed to Python as `bytes` (converted once, on the event loop's thread).
struct BytesOut(Bytes);

impl<'py> IntoPyObject<'py> for BytesOut {
    type Target = PyBytes;
    type Output = Bound<'py, PyBytes>;
    type Error = PyErr;
    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        Ok(PyBytes::new(py, &self.0))
    }
}

/// What `AsyncClient.stream()` returns: the request is sent by `__aenter__`.
pub struct AsyncStream {
    pending: Mutex<Option<Pending>>,
    body: Arc<Mutex<Option<Body>>>,
    hooks: Option<Arc<Hooks>>,
    /// Feeds an async-iterator request body while the request is sent.
    pump: Mutex<Option<super::args::AsyncPump>>,
}

struct Pending {
    state: Arc<State>,
    jar: Arc<Jar>,
    prepared: Prepared,
    /// The auth flow to run the request under, if any.
    flow: Option<Py<PyAny>>,
}

impl AsyncStream {
    pub fn new(state: Arc<State>, jar: Arc<Jar>, prepared: Prepared, hooks: Option<Arc<Hooks>>, flow: Option<Py<PyAny>>) -> Self {
        AsyncStream { pending: Mutex::new(Some(Pending { state, jar, prepared, flow })), body: Arc::new(Mutex::new(None)), hooks, pump: Mutex::new(None) }
    }

    pub fn with_pump(self, pump: Option<super::args::AsyncPump>) -> Self {
        *self.pump.lock().unwrap_or_else(|p| p.into_inner()) = pump;
        self
    }

    pub fn __aenter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.open(py, false)
    }

    /// Send the request: an awaitable of the AsyncStreamingResponse (`__aenter__`, and
    /// `await client.send(request, stream=True)`). An auth flow sees each response before its
    /// body is read; the ones it answers are closed.
    pub fn open(&self, py: Python<'_>, read_on_access: bool) -> PyResult<Py<PyAny>> {
        let Pending { state, jar, prepared, flow } = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this stream was already entered; call client.stream() again"))?;
        let slot = self.body.clone();
        let send_one = move |py: Python<'_>, prepared: Prepared| {
            let (state, jar, slot) = (state.clone(), jar.clone(), slot.clone());
            let log = super::logging::Log::start(py);
            awaitable(py, async move {
                let head = log.wrap(crate::client::Client::send(&state, &jar, prepared, Driver::Shared)).await;
                log.emit_attached();
                let head = head?;
                let mut resp = AsyncStreamingResponse::from_head(head);
                resp.0.read_on_access = read_on_access;
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(resp.body.clone());
                Ok(Wrapped(resp))
            })
        };
        let send = move |py: Python<'_>, prepared: Prepared| match flow {
            Some(flow) => super::auth_flow::run(py, flow, prepared, true, send_one),
            None => send_one(py, prepared),
        };
        let pending = match &self.hooks {
            Some(h) => h.wrap_async(py, prepared, send)?,
            None => send(py, prepared)?,
        };
        super::client::with_pump(py, pending, self.pump.lock().unwrap_or_else(|p| p.into_inner()).take())
    }

    pub fn __aexit__(&self, py: Python<'_>, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let body = self.body.lock().unwrap_or_else(|p| p.into_inner()).take();
        awaitable(py, async move {
            if let Some(b) = body {
                b.close().await;
            }
            Ok(())
        })
    }
}

pub struct AsyncStreamingResponse(Streamed);

/// The head, and the sync readers (`iter_bytes()`, `read()`, ...: each wait blocks the event
/// loop), come from `Streamed`.
impl std::ops::Deref for AsyncStreamingResponse {
    type Target = Streamed;
    fn deref(&self) -> &Streamed {
        &self.0
    }
}

impl AsyncStreamingResponse {
    fn from_head(head: Head) -> Self {
        AsyncStreamingResponse(Streamed::new(head, Handle::Shared(crate::rt::shared())))
    }

    pub fn aiter_bytes(&self, chunk_size: Option<usize>) -> PyResult<AsyncBytesIterator> {
        self.body.check_fresh()?;
        Ok(AsyncBytesIterator { body: self.body.clone(), sized: chunk_size.map(|n| Arc::new(Mutex::new(SizedPieces::new(n)))) })
    }
    pub fn __aiter__(&self) -> PyResult<AsyncBytesIterator> {
        self.aiter_bytes(None)
    }
    pub fn aiter_text(&self) -> PyResult<AsyncTextIterator> {
        self.body.check_fresh()?;
        Ok(AsyncTextIterator { body: self.body.clone(), pieces: Arc::new(Mutex::new(TextPieces::new(self.encoding))) })
    }
    pub fn aiter_lines(&self) -> PyResult<AsyncLineIterator> {
        self.body.check_fresh()?;
        Ok(AsyncLineIterator { body: self.body.clone(), pieces: Arc::new(Mutex::new(LinePieces::new(self.encoding))) })
    }
    pub fn aiter_sse(&self) -> PyResult<super::sse::AsyncSSEIterator> {
        self.body.aiter_sse(&self.head)
    }
    pub fn aread(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.body.check_fresh()?;
        let body = self.body.clone();
        let keep = self.read_body.clone();
        awaitable(py, async move {
            let buf = body.read_rest().await?;
            let _ = keep.set(buf.clone());
            Ok(BytesOut(buf))
        })
    }
    pub fn aclose(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        awaitable(py, async move {
            body.close().await;
            Ok(())
        })
    }
    pub fn __repr__(&self) -> String {
        format!("<AsyncStreamingResponse [{} {}]>", self.status_code(), self.reason_phrase())
    }
}

fn stop() -> PyErr {
    PyStopAsyncIteration::new_err(())
}

pub struct AsyncBytesIterator {
    body: Body,
    /// Set for `aiter_bytes(chunk_size=n)`.
    sized: Option<Arc<Mutex<SizedPieces>>>,
}

impl AsyncBytesIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (body, sized) = (self.body.clone(), self.sized.clone());
        awaitable(py, async move {
            let chunk = match sized {
                Some(pieces) => body.next_piece(&pieces).await?,
                None => body.next().await?,
            };
            chunk.map(BytesOut).ok_or_else(stop)
        })
    }
}

/// `__anext__` of the text and line iterators: the next assembled piece, or StopAsyncIteration.
fn next_piece<A: Assemble>(py: Python<'_>, body: &Body, pieces: &Arc<Mutex<A>>) -> PyResult<Py<PyAny>>
where
    A::Out: for<'py> IntoPyObject<'py>,
{
    let (body, pieces) = (body.clone(), pieces.clone());
    awaitable(py, async move { body.next_piece(&pieces).await?.ok_or_else(stop) })
}

pub struct AsyncTextIterator {
    body: Body,
    pieces: Arc<Mutex<TextPieces>>,
}

impl AsyncTextIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        next_piece(py, &self.body, &self.pieces)
    }
}

pub struct AsyncLineIterator {
    body: Body,
    pieces: Arc<Mutex<LinePieces>>,
}

impl AsyncLineIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        next_piece(py, &self.body, &self.pieces)
    }
}
