//! `httpr.StreamingResponse` and its iterators. The body stays on the wire until iterated;
//! each chunk is awaited with the GIL released, on the runtime of the thread that opened the
//! stream (any thread may read it: it drives that runtime).

use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::head::StreamHead;
use crate::client::Head;
use crate::error::{Error, ErrorKind, Result};
use crate::stream::{BodyStream, LineSplitter, TextDecoder};

struct Body {
    stream: BodyStream,
    closed: bool,
    consumed: bool,
    /// The runtime whose connection carries this body.
    rt: Runtime,
}

pub struct StreamingResponse {
    head: StreamHead,
    body: Arc<Mutex<Body>>,
}

type Runtime = crate::rt::Handle;

impl std::ops::Deref for StreamingResponse {
    type Target = StreamHead;
    fn deref(&self) -> &StreamHead {
        &self.head
    }
}

fn lock(body: &Mutex<Body>) -> MutexGuard<'_, Body> {
    body.lock().unwrap_or_else(|p| p.into_inner())
}

impl Body {
    /// Drop the unread rest and let this body's runtime run the connection task once, so the
    /// socket is really closed now (nothing else may drive that runtime for a while).
    fn close(&mut self) {
        self.closed = true;
        self.stream.close();
        self.rt.block_on(async {
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
        });
    }
}

/// Next chunk with the GIL released; marks the stream consumed at the end.
fn next_chunk(py: Python<'_>, body: &Mutex<Body>) -> Result<Option<Bytes>> {
    py.detach(|| {
        let mut b = lock(body);
        if b.consumed {
            return Ok(None);
        }
        if b.closed {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read to the end"));
        }
        let rt = b.rt.clone();
        let chunk = rt.block_on(b.stream.next_chunk())?;
        if chunk.is_none() {
            b.consumed = true;
        }
        Ok(chunk)
    })
}

impl StreamingResponse {
    pub fn from_head(head: Head, rt: Runtime) -> Self {
        let (head, stream) = StreamHead::split(head);
        StreamingResponse { head, body: Arc::new(Mutex::new(Body { stream, closed: false, consumed: false, rt })) }
    }

    fn check_fresh(&self) -> Result<()> {
        let b = lock(&self.body);
        if b.consumed {
            return Err(Error::new(ErrorKind::StreamConsumed, "the stream has already been read to the end"));
        }
        if b.closed {
            return Err(Error::new(ErrorKind::StreamClosed, "the stream was closed before it was read"));
        }
        Ok(())
    }

    pub fn is_closed(&self) -> bool {
        lock(&self.body).closed
    }
    pub fn is_consumed(&self) -> bool {
        lock(&self.body).consumed
    }
    pub fn iter_bytes(&self) -> PyResult<BytesIterator> {
        self.check_fresh()?;
        Ok(BytesIterator { body: self.body.clone() })
    }
    pub fn __iter__(&self) -> PyResult<BytesIterator> {
        self.iter_bytes()
    }
    pub fn iter_text(&self) -> PyResult<TextIterator> {
        self.check_fresh()?;
        Ok(TextIterator { body: self.body.clone(), decoder: Mutex::new(Some(TextDecoder::new(self.encoding))) })
    }
    pub fn iter_lines(&self) -> PyResult<LineIterator> {
        self.check_fresh()?;
        Ok(LineIterator {
            body: self.body.clone(),
            state: Mutex::new(LineState { decoder: Some(TextDecoder::new(self.encoding)), splitter: LineSplitter::default(), ready: Default::default() }),
        })
    }
    /// The rest of the body (the whole body if nothing was read yet).
    pub fn read(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        self.check_fresh()?;
        let mut buf = Vec::new();
        while let Some(chunk) = next_chunk(py, &self.body)? {
            buf.extend_from_slice(&chunk);
        }
        let body = bytes::Bytes::from(buf);
        let _ = self.read_body.set(body.clone());
        Ok(super::bytes::from_pieces(py, &[&body])?.unbind())
    }
    pub fn close(&self) {
        let mut b = lock(&self.body);
        b.close();
    }
    pub fn __enter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __exit__(&self, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) {
        let mut b = lock(&self.body);
        b.close();
    }
    pub fn __repr__(&self) -> String {
        format!("<StreamingResponse [{} {}]>", self.status_code(), self.reason_phrase())
    }
}

pub struct BytesIterator {
    body: Arc<Mutex<Body>>,
}

impl BytesIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyBytes>>> {
        next_chunk(py, &self.body)?.map(|c| super::bytes::from_pieces(py, &[&c]).map(Bound::unbind)).transpose()
    }
}

pub struct TextIterator {
    body: Arc<Mutex<Body>>,
    decoder: Mutex<Option<TextDecoder>>,
}

impl TextIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let mut dec = self.decoder.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let Some(d) = dec.as_mut() else { return Ok(None) };
            match next_chunk(py, &self.body)? {
                Some(chunk) => {
                    let text = d.decode(&chunk, false);
                    if !text.is_empty() {
                        return Ok(Some(text));
                    }
                }
                None => {
                    let tail = d.decode(&[], true);
                    *dec = None;
                    return Ok((!tail.is_empty()).then_some(tail));
                }
            }
        }
    }
}

struct LineState {
    decoder: Option<TextDecoder>,
    splitter: LineSplitter,
    ready: std::collections::VecDeque<String>,
}

pub struct LineIterator {
    body: Arc<Mutex<Body>>,
    state: Mutex<LineState>,
}

impl LineIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<String>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(line) = st.ready.pop_front() {
                return Ok(Some(line));
            }
            let Some(decoder) = st.decoder.as_mut() else { return Ok(None) };
            let (text, done) = match next_chunk(py, &self.body)? {
                Some(chunk) => (decoder.decode(&chunk, false), false),
                None => (decoder.decode(&[], true), true),
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
    }
}
