//! Async streaming: `async with client.stream(...) as r: async for chunk in r.aiter_bytes()`.
//! Chunks are awaited on the shared runtime; the event loop is never blocked.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pyo3::exceptions::{PyRuntimeError, PyStopAsyncIteration};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::Mutex as AsyncMutex;

use super::awaitable::awaitable;
use super::head::StreamHead;
use super::hooks::Hooks;
use super::registry::Wrapped;
use crate::client::{Driver, Head, State};
use crate::cookies::Jar;
use crate::error::{Error, ErrorKind, Result};
use crate::request::Prepared;
use crate::stream::{BodyStream, LineSplitter, TextDecoder};

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

#[derive(Default)]
struct Flags {
    closed: AtomicBool,
    consumed: AtomicBool,
}

#[derive(Clone)]
struct Body {
    stream: Arc<AsyncMutex<BodyStream>>,
    flags: Arc<Flags>,
}

impl Body {
    async fn next_chunk(&self) -> Result<Option<Bytes>> {
        if self.flags.consumed.load(Ordering::Acquire) {
            return Ok(None);
        }
        if self.flags.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read to the end"));
        }
        let chunk = self.stream.lock().await.next_chunk().await?;
        if chunk.is_none() {
            self.flags.consumed.store(true, Ordering::Release);
        }
        Ok(chunk)
    }

    fn check_fresh(&self) -> Result<()> {
        if self.flags.consumed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::StreamConsumed, "the stream has already been read to the end"));
        }
        if self.flags.closed.load(Ordering::Acquire) {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read"));
        }
        Ok(())
    }

    async fn close(&self) {
        self.flags.closed.store(true, Ordering::Release);
        self.stream.lock().await.close();
    }
}

/// What `AsyncClient.stream()` returns: the request is sent by `__aenter__`.
pub struct AsyncStream {
    pending: Mutex<Option<(Arc<State>, Arc<Jar>, Prepared)>>,
    body: Arc<Mutex<Option<Body>>>,
    hooks: Option<Arc<Hooks>>,
}

impl AsyncStream {
    pub fn new(state: Arc<State>, jar: Arc<Jar>, prepared: Prepared, hooks: Option<Arc<Hooks>>) -> Self {
        AsyncStream { pending: Mutex::new(Some((state, jar, prepared))), body: Arc::new(Mutex::new(None)), hooks }
    }

    pub fn __aenter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (state, jar, prepared) = self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this stream was already entered; call client.stream() again"))?;
        let slot = self.body.clone();
        let send = move |py: Python<'_>, prepared: Prepared| {
            awaitable(py, async move {
                let head = crate::client::Client::send(&state, &jar, prepared, Driver::Shared).await?;
                let resp = AsyncStreamingResponse::from_head(head);
                *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(resp.body.clone());
                Ok(Wrapped(resp))
            })
        };
        match &self.hooks {
            Some(h) => h.wrap_async(py, prepared, send),
            None => send(py, prepared),
        }
    }

    pub fn __aexit__(&self, py: Python<'_>, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) -> PyResult<Py<PyAny>> {
        let body = self.body.lock().unwrap_or_else(|p| p.into_inner()).take();
        awaitable(py, async move {
            if let Some(b) = body {
                b.flags.closed.store(true, Ordering::Release);
                b.stream.lock().await.close();
            }
            Ok(())
        })
    }
}

pub struct AsyncStreamingResponse {
    head: StreamHead,
    body: Body,
}

impl std::ops::Deref for AsyncStreamingResponse {
    type Target = StreamHead;
    fn deref(&self) -> &StreamHead {
        &self.head
    }
}

impl AsyncStreamingResponse {
    fn from_head(head: Head) -> Self {
        let (head, stream) = StreamHead::split(head);
        AsyncStreamingResponse { head, body: Body { stream: Arc::new(AsyncMutex::new(stream)), flags: Arc::new(Flags::default()) } }
    }

    pub fn is_closed(&self) -> bool {
        self.body.flags.closed.load(Ordering::Acquire)
    }
    pub fn is_consumed(&self) -> bool {
        self.body.flags.consumed.load(Ordering::Acquire)
    }
    pub fn aiter_bytes(&self) -> PyResult<AsyncBytesIterator> {
        self.body.check_fresh()?;
        Ok(AsyncBytesIterator { body: self.body.clone() })
    }
    pub fn __aiter__(&self) -> PyResult<AsyncBytesIterator> {
        self.aiter_bytes()
    }
    pub fn aiter_text(&self) -> PyResult<AsyncTextIterator> {
        self.body.check_fresh()?;
        Ok(AsyncTextIterator { body: self.body.clone(), decoder: Arc::new(Mutex::new(Some(TextDecoder::new(self.encoding)))) })
    }
    pub fn aiter_lines(&self) -> PyResult<AsyncLineIterator> {
        self.body.check_fresh()?;
        Ok(AsyncLineIterator {
            body: self.body.clone(),
            state: Arc::new(Mutex::new(LineState { decoder: Some(TextDecoder::new(self.encoding)), splitter: LineSplitter::default(), ready: VecDeque::new() })),
        })
    }
    pub fn aread(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.body.check_fresh()?;
        let body = self.body.clone();
        let keep = self.read_body.clone();
        awaitable(py, async move {
            let mut buf = Vec::new();
            while let Some(chunk) = body.next_chunk().await? {
                buf.extend_from_slice(&chunk);
            }
            let buf = Bytes::from(buf);
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
}

impl AsyncBytesIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        awaitable(py, async move { body.next_chunk().await?.map(BytesOut).ok_or_else(stop) })
    }
}

pub struct AsyncTextIterator {
    body: Body,
    decoder: Arc<Mutex<Option<TextDecoder>>>,
}

impl AsyncTextIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        let decoder = self.decoder.clone();
        awaitable(py, async move {
            loop {
                let chunk = body.next_chunk().await?;
                let mut guard = decoder.lock().unwrap_or_else(|p| p.into_inner());
                let Some(d) = guard.as_mut() else { return Err(stop()) };
                match chunk {
                    Some(c) => {
                        let text = d.decode(&c, false);
                        if !text.is_empty() {
                            return Ok(text);
                        }
                    }
                    None => {
                        let tail = d.decode(&[], true);
                        *guard = None;
                        return if tail.is_empty() { Err(stop()) } else { Ok(tail) };
                    }
                }
            }
        })
    }
}

struct LineState {
    decoder: Option<TextDecoder>,
    splitter: LineSplitter,
    ready: VecDeque<String>,
}

pub struct AsyncLineIterator {
    body: Body,
    state: Arc<Mutex<LineState>>,
}

impl AsyncLineIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body.clone();
        let state = self.state.clone();
        awaitable(py, async move {
            loop {
                {
                    let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                    if let Some(line) = st.ready.pop_front() {
                        return Ok(line);
                    }
                    if st.decoder.is_none() {
                        return Err(stop());
                    }
                }
                let chunk = body.next_chunk().await?;
                let mut st = state.lock().unwrap_or_else(|p| p.into_inner());
                let st = &mut *st;
                let Some(decoder) = st.decoder.as_mut() else { return Err(stop()) };
                let done = chunk.is_none();
                let text = match chunk {
                    Some(c) => decoder.decode(&c, false),
                    None => decoder.decode(&[], true),
                };
                let lines = st.splitter.push(&text);
                st.ready.extend(lines);
                if done {
                    st.decoder = None;
                    if let Some(last) = st.splitter.finish() {
                        st.ready.push_back(last);
                    }
                }
            }
        })
    }
}
