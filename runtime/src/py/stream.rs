//! A streamed response body and the sync `httpr.StreamingResponse` with its iterators.
//! The body stays on the wire until iterated. One `Body` serves sync and async readers alike
//! (so mixing them on one response follows one set of StreamConsumed/StreamClosed rules): a
//! sync read drives the runtime that carries the connection with the GIL released, an async
//! read awaits it on the shared runtime.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tokio::sync::Mutex as AsyncMutex;

use super::head::StreamHead;
use crate::client::Head;
use crate::error::{Error, ErrorKind, Result};
use crate::rt::Handle;
use crate::stream::{Assemble, BodyStream, LinePieces, SizedPieces, TextPieces};

struct Inner {
    stream: AsyncMutex<BodyStream>,
    closed: AtomicBool,
    consumed: AtomicBool,
    /// The runtime whose connection carries this body (a sync stream's own thread's, or the
    /// shared one); sync reads drive it.
    rt: Handle,
}

/// A streamed body, shared by a response and the iterators made from it.
#[derive(Clone)]
pub struct Body(Arc<Inner>);

impl Body {
    pub fn new(stream: BodyStream, rt: Handle) -> Self {
        Body(Arc::new(Inner { stream: AsyncMutex::new(stream), closed: AtomicBool::new(false), consumed: AtomicBool::new(false), rt }))
    }

    pub fn is_closed(&self) -> bool {
        self.0.closed.load(Ordering::Acquire)
    }
    pub fn is_consumed(&self) -> bool {
        self.0.consumed.load(Ordering::Acquire)
    }

    /// An iterator may only start on a body nothing has finished or closed.
    pub fn check_fresh(&self) -> Result<()> {
        if self.is_consumed() {
            return Err(Error::new(ErrorKind::StreamConsumed, "the stream has already been read to the end"));
        }
        if self.is_closed() {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read"));
        }
        Ok(())
    }

    /// The next chunk; marks the body consumed at the end.
    pub async fn next(&self) -> Result<Option<Bytes>> {
        if self.is_consumed() {
            return Ok(None);
        }
        if self.is_closed() {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read to the end"));
        }
        let chunk = self.0.stream.lock().await.next_chunk().await?;
        if chunk.is_none() {
            self.0.consumed.store(true, Ordering::Release);
        }
        Ok(chunk)
    }

    /// `next` from sync code, with the GIL released while waiting.
    pub fn next_blocking(&self, py: Python<'_>) -> PyResult<Option<Bytes>> {
        Ok(py.detach(|| self.0.rt.block_on(super::interrupt::interruptible(self.next())))??)
    }

    /// The rest of the body in one buffer.
    pub async fn read_rest(&self) -> Result<Bytes> {
        let mut buf = Vec::new();
        while let Some(chunk) = self.next().await? {
            buf.extend_from_slice(&chunk);
        }
        Ok(Bytes::from(buf))
    }

    /// Drop the unread rest of the body (and the connection under it).
    pub async fn close(&self) {
        self.0.closed.store(true, Ordering::Release);
        self.0.stream.lock().await.close();
    }

    /// `close` from sync code. A thread's own runtime is also run for a moment, so the
    /// connection task ends and the socket is really closed now (nothing else may drive that
    /// runtime for a while); the shared runtime's threads see to that by themselves.
    pub fn close_blocking(&self, py: Python<'_>) {
        let local = matches!(self.0.rt, Handle::Local(_));
        py.detach(|| {
            self.0.rt.block_on(async {
                self.close().await;
                if local {
                    for _ in 0..3 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
    }

    /// The next piece `pieces` assembles from this body, reading chunks as needed.
    pub fn next_piece_blocking<A: Assemble>(&self, py: Python<'_>, pieces: &Mutex<A>) -> PyResult<Option<A::Out>> {
        loop {
            if let Some(ready) = lock(pieces).ready() {
                return Ok(ready);
            }
            let chunk = self.next_blocking(py)?;
            lock(pieces).feed(chunk.as_deref());
        }
    }

    /// The async twin of `next_piece_blocking`.
    pub async fn next_piece<A: Assemble>(&self, pieces: &Mutex<A>) -> Result<Option<A::Out>> {
        loop {
            if let Some(ready) = lock(pieces).ready() {
                return Ok(ready);
            }
            let chunk = self.next().await?;
            lock(pieces).feed(chunk.as_deref());
        }
    }

    /// The sync iterators over this body, as both response classes hand them out.
    pub fn iter_bytes(&self, chunk_size: Option<usize>) -> PyResult<BytesIterator> {
        self.check_fresh()?;
        Ok(BytesIterator { body: self.clone(), sized: chunk_size.map(|n| Mutex::new(SizedPieces::new(n))) })
    }
    pub fn iter_text(&self, head: &StreamHead) -> PyResult<TextIterator> {
        self.check_fresh()?;
        Ok(TextIterator { body: self.clone(), pieces: Mutex::new(TextPieces::new(head.encoding)) })
    }
    pub fn iter_lines(&self, head: &StreamHead) -> PyResult<LineIterator> {
        self.check_fresh()?;
        Ok(LineIterator { body: self.clone(), pieces: Mutex::new(LinePieces::new(head.encoding)) })
    }

    /// `read()`: the rest of the body (the whole body if nothing was read yet), also kept
    /// for `content`.
    pub fn read_blocking(&self, py: Python<'_>, head: &StreamHead) -> PyResult<Py<PyBytes>> {
        self.check_fresh()?;
        let body = py.detach(|| self.0.rt.block_on(super::interrupt::interruptible(self.read_rest())))??;
        let _ = head.read_body.set(body.clone());
        Ok(super::bytes::from_pieces(py, &[&body])?.unbind())
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// A response whose headers arrived, with its unread body: what both streaming responses
/// are, and the sync readers both offer (the async one because httpr 0.7.8 code calls them).
pub struct Streamed {
    pub head: StreamHead,
    pub body: Body,
    /// Opened by requests' `stream=True`: `content`, `text` and `json()` read the rest of the
    /// body when first used (as requests does) instead of raising ResponseNotRead (httpx).
    pub read_on_access: bool,
}

impl std::ops::Deref for Streamed {
    type Target = StreamHead;
    fn deref(&self) -> &StreamHead {
        &self.head
    }
}

impl Streamed {
    pub fn new(head: Head, rt: Handle) -> Self {
        let (head, stream) = StreamHead::split(head);
        Streamed { head, body: Body::new(stream, rt), read_on_access: false }
    }

    /// The whole body once `read()` ran (or, with `read_on_access`, reading it now).
    fn body_bytes(&self, py: Python<'_>) -> PyResult<Bytes> {
        if let Some(b) = self.head.kept_body() {
            return Ok(b.clone());
        }
        if self.read_on_access {
            self.read(py)?;
            if let Some(b) = self.head.kept_body() {
                return Ok(b.clone());
            }
        }
        Err(Error::new(
            ErrorKind::ResponseNotRead,
            "the body of a streamed response is only kept once read: call read() (await aread() on AsyncClient) before using .content, .text or .json()",
        )
        .into())
    }
    pub fn content(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        Ok(super::bytes::from_pieces(py, &[&self.body_bytes(py)?])?.unbind())
    }
    pub fn text(&self, py: Python<'_>) -> PyResult<String> {
        Ok(crate::encoding::decode(self.head.encoding, &self.body_bytes(py)?))
    }
    /// As `Response.json()`: CBOR when the Content-Type says so.
    pub fn json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let body = self.body_bytes(py)?;
        let obj = if self.head.is_cbor() { super::json::from_cbor(py, &body) } else { super::json::from_json(py, &body) };
        let (method, url) = self.head.method_and_url();
        obj.map(Bound::unbind).map_err(|e| e.for_request(method, url).into())
    }

    pub fn is_closed(&self) -> bool {
        self.body.is_closed()
    }
    pub fn is_consumed(&self) -> bool {
        self.body.is_consumed()
    }
    pub fn iter_bytes(&self, chunk_size: Option<usize>) -> PyResult<BytesIterator> {
        self.body.iter_bytes(chunk_size)
    }
    pub fn __iter__(&self) -> PyResult<BytesIterator> {
        self.body.iter_bytes(None)
    }
    /// requests' name: `chunk_size` bytes at a time (None: as they arrive), or text pieces
    /// with `decode_unicode`.
    pub fn iter_content(&self, py: Python<'_>, chunk_size: Option<usize>, decode_unicode: bool) -> PyResult<Py<PyAny>> {
        if decode_unicode {
            return super::registry::wrap(py, self.iter_text()?);
        }
        super::registry::wrap(py, self.iter_bytes(chunk_size)?)
    }
    pub fn iter_text(&self) -> PyResult<TextIterator> {
        self.body.iter_text(&self.head)
    }
    pub fn iter_lines(&self) -> PyResult<LineIterator> {
        self.body.iter_lines(&self.head)
    }
    pub fn iter_sse(&self) -> PyResult<super::sse::SSEIterator> {
        self.body.iter_sse(&self.head)
    }
    pub fn read(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        self.body.read_blocking(py, &self.head)
    }
    pub fn close(&self, py: Python<'_>) {
        self.body.close_blocking(py);
    }
}

pub struct StreamingResponse(Streamed);

impl std::ops::Deref for StreamingResponse {
    type Target = Streamed;
    fn deref(&self) -> &Streamed {
        &self.0
    }
}

impl StreamingResponse {
    pub fn from_head(head: Head, rt: Handle, read_on_access: bool) -> Self {
        let mut streamed = Streamed::new(head, rt);
        streamed.read_on_access = read_on_access;
        StreamingResponse(streamed)
    }
    pub fn __enter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __exit__(&self, py: Python<'_>, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) {
        self.close(py);
    }
    pub fn __repr__(&self) -> String {
        format!("<StreamingResponse [{} {}]>", self.status_code(), self.reason_phrase())
    }
}

pub struct BytesIterator {
    body: Body,
    /// Set for `iter_bytes(chunk_size=n)`.
    sized: Option<Mutex<SizedPieces>>,
}

impl BytesIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        let chunk = match &self.sized {
            Some(pieces) => self.body.next_piece_blocking(py, pieces)?,
            None => self.body.next_blocking(py)?,
        };
        chunk.map(|c| super::bytes::from_pieces(py, &[&c]).map(Bound::unbind)).transpose()
    }
}

pub struct TextIterator {
    body: Body,
    pieces: Mutex<TextPieces>,
}

impl TextIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.body.next_piece_blocking(py, &self.pieces)?)
    }
}

pub struct LineIterator {
    body: Body,
    pieces: Mutex<LinePieces>,
}

impl LineIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<String>> {
        Ok(self.body.next_piece_blocking(py, &self.pieces)?)
    }
}
