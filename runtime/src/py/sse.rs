//! Server-sent events for Python: `ServerSentEvent`, and the iterators `iter_sse()` (sync) and
//! `aiter_sse()` (async) hand out; the parsing is `crate::sse`'s.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyStopAsyncIteration;
use pyo3::prelude::*;

use super::awaitable::awaitable;
use super::head::StreamHead;
use super::registry::Wrapped;
use super::stream::Body;
use crate::error::{Error, ErrorKind};
use crate::sse::{Event, EventPieces};

/// One event of a `text/event-stream` body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSentEvent(pub Event);

impl ServerSentEvent {
    pub fn new(event: String, data: String, id: String, retry: Option<usize>) -> Self {
        ServerSentEvent(Event { event, data, id, retry: retry.map(|r| r as u64) })
    }
    pub fn event(&self) -> String {
        self.0.event.clone()
    }
    pub fn data(&self) -> String {
        self.0.data.clone()
    }
    pub fn id(&self) -> String {
        self.0.id.clone()
    }
    pub fn retry(&self) -> Option<usize> {
        self.0.retry.map(|r| usize::try_from(r).unwrap_or(usize::MAX))
    }
    /// `data` parsed as JSON (httpx-sse's `sse.json()`).
    pub fn json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(super::json::from_json(py, self.0.data.as_bytes())?.unbind())
    }
    pub fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        super::registry::unwrap_value::<ServerSentEvent>(other).is_some_and(|o| o == *self)
    }
    /// With Python's repr of each string, as a dataclass shows its fields.
    pub fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let Event { event, data, id, retry } = &self.0;
        let r = |s: &str| -> PyResult<String> { Ok(pyo3::types::PyString::new(py, s).repr()?.to_string()) };
        let retry = retry.map_or("None".to_owned(), |n| n.to_string());
        Ok(format!("ServerSentEvent(event={}, data={}, id={}, retry={retry})", r(event)?, r(data)?, r(id)?))
    }
}

/// `iter_sse()`/`aiter_sse()` refuse a body that is not an event stream (as httpx-sse does),
/// before reading any of it.
fn check_event_stream(head: &StreamHead) -> Result<(), Error> {
    let content_type = head.content_type();
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media.eq_ignore_ascii_case("text/event-stream") {
        return Ok(());
    }
    let (method, url) = head.method_and_url();
    let got = if content_type.is_empty() { "none".to_owned() } else { format!("'{content_type}'") };
    Err(Error::new(ErrorKind::SSEError, format!("expected the response's Content-Type to be text/event-stream, got {got}")).for_request(method, url))
}

impl Body {
    pub fn iter_sse(&self, head: &StreamHead) -> PyResult<SSEIterator> {
        self.check_fresh()?;
        check_event_stream(head)?;
        Ok(SSEIterator { body: self.clone(), pieces: Mutex::new(EventPieces::default()) })
    }
    pub fn aiter_sse(&self, head: &StreamHead) -> PyResult<AsyncSSEIterator> {
        self.check_fresh()?;
        check_event_stream(head)?;
        Ok(AsyncSSEIterator { body: self.clone(), pieces: Arc::new(Mutex::new(EventPieces::default())) })
    }
}

/// The events of a streamed body, with a plain `for`.
pub struct SSEIterator {
    body: Body,
    pieces: Mutex<EventPieces>,
}

impl SSEIterator {
    pub fn __iter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __next__(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        match self.body.next_piece_blocking(py, &self.pieces)? {
            Some(e) => Ok(Some(super::registry::wrap(py, ServerSentEvent(e))?)),
            None => Ok(None),
        }
    }
}

/// The events of a streamed body, with `async for`.
pub struct AsyncSSEIterator {
    body: Body,
    pieces: Arc<Mutex<EventPieces>>,
}

impl AsyncSSEIterator {
    pub fn __aiter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __anext__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let (body, pieces) = (self.body.clone(), self.pieces.clone());
        awaitable(py, async move {
            match body.next_piece(&pieces).await? {
                Some(e) => Ok(Wrapped(ServerSentEvent(e))),
                None => Err(PyStopAsyncIteration::new_err(())),
            }
        })
    }
}
