//! Python objects as streamed upload sources (`crate::upload::Chunks`): an open file given to
//! `files=` and an iterator given as `content=`. Each chunk is read with the GIL taken for
//! just that read, from the thread sending the request.

use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyString;

use super::args::type_name;
use crate::error::{Error, ErrorKind, Result};
use crate::upload::{Chunks, CHUNK};

/// A Python exception raised while reading a source, as the request's error.
fn failed(py: Python<'_>, e: PyErr, what: &str) -> Error {
    let name = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_default();
    Error::new(ErrorKind::WriteError, format!("reading {what} while sending it failed: {name}: {}", e.value(py)))
}

/// A chunk as bytes: bytes-like, or str encoded as UTF-8.
fn chunk_bytes(obj: &Bound<'_, PyAny>, what: &str) -> Result<Bytes> {
    if let Ok(s) = obj.cast::<PyString>() {
        return s.to_str().map(|s| Bytes::copy_from_slice(s.as_bytes())).map_err(|_| Error::value(format!("{what} produced a str that is not valid UTF-8")));
    }
    super::json::bytes_like(obj).ok_or_else(|| Error::new(ErrorKind::TypeError, format!("{what} must yield bytes, not {}", type_name(obj))))
}

/// An open file (binary or text): read from where it stood when the request was made, and
/// sought back there for a retry or redirect when it can seek.
#[derive(Debug)]
pub struct PyFileChunks {
    file: Py<PyAny>,
    /// What the file was given as, for messages: `files["f"]`, or `content`.
    label: String,
    start: Option<u64>,
    len: Option<u64>,
    started: AtomicBool,
}

impl PyFileChunks {
    /// A file given in `files=` under `field`.
    pub fn new(file: &Bound<'_, PyAny>, field: &str) -> PyResult<Self> {
        Self::labelled(file, format!("files[{field:?}]"))
    }

    /// A file given as `content=` (httpx reads it as a file, in chunks, not line by line as
    /// iterating it would).
    pub fn for_content(file: &Bound<'_, PyAny>) -> PyResult<Self> {
        Self::labelled(file, "content".to_owned())
    }

    fn labelled(file: &Bound<'_, PyAny>, label: String) -> PyResult<Self> {
        let seekable = file.call_method0("seekable").and_then(|s| s.extract::<bool>()).unwrap_or(false);
        let (start, len) = if seekable {
            let start: u64 = file.call_method0("tell")?.extract()?;
            let end: u64 = file.call_method1("seek", (0, 2))?.extract()?;
            file.call_method1("seek", (start,))?;
            // A text file's size is in bytes of its encoding, not what read() returns.
            let binary = !file.hasattr("encoding")?;
            (Some(start), binary.then(|| end.saturating_sub(start)))
        } else {
            (None, None)
        };
        Ok(PyFileChunks { file: file.clone().unbind(), label, start, len, started: AtomicBool::new(false) })
    }

    fn what(&self) -> String {
        self.label.clone()
    }
}

impl Chunks for PyFileChunks {
    fn rewind(&self) -> Result<()> {
        let again = self.started.swap(true, Ordering::AcqRel);
        match self.start {
            Some(pos) => Python::attach(|py| self.file.bind(py).call_method1("seek", (pos,)).map(|_| ()).map_err(|e| failed(py, e, &self.what()))),
            None if again => Err(Error::new(ErrorKind::StreamConsumed, format!("{} cannot seek, so it cannot be sent again for a redirect or retry", self.what()))),
            None => Ok(()),
        }
    }
    fn can_rewind(&self) -> bool {
        self.start.is_some() || !self.started.load(Ordering::Acquire)
    }
    fn next_chunk(&self) -> Result<Option<Bytes>> {
        Python::attach(|py| {
            let data = self.file.bind(py).call_method1("read", (CHUNK,)).map_err(|e| failed(py, e, &self.what()))?;
            let chunk = chunk_bytes(&data, &format!("{}.read()", self.what()))?;
            Ok((!chunk.is_empty()).then_some(chunk))
        })
    }
    fn size(&self) -> Option<u64> {
        self.len
    }
}

/// A one-shot source's rewind: fine before the first attempt, StreamConsumed after it.
fn read_once(started: &AtomicBool, what: &str) -> Result<()> {
    if started.swap(true, Ordering::AcqRel) {
        return Err(Error::new(
            ErrorKind::StreamConsumed,
            format!("content= was {what}: the first attempt read it, so it cannot be sent again for a redirect or retry (pass bytes to allow that)"),
        ));
    }
    Ok(())
}

/// `content=` an iterator or generator of bytes: sent chunked, read once.
#[derive(Debug)]
pub struct PyIterChunks {
    iter: Py<PyAny>,
    started: AtomicBool,
}

impl PyIterChunks {
    pub fn new(iterable: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyIterChunks { iter: iterable.try_iter()?.into_any().unbind(), started: AtomicBool::new(false) })
    }
}

impl Chunks for PyIterChunks {
    fn rewind(&self) -> Result<()> {
        read_once(&self.started, "an iterator")
    }
    fn can_rewind(&self) -> bool {
        !self.started.load(Ordering::Acquire)
    }
    fn next_chunk(&self) -> Result<Option<Bytes>> {
        Python::attach(|py| {
            let it = self.iter.bind(py);
            match it.call_method0("__next__") {
                Ok(item) => chunk_bytes(&item, "content iterator").map(Some),
                Err(e) if e.is_instance_of::<pyo3::exceptions::PyStopIteration>(py) => Ok(None),
                Err(e) => Err(failed(py, e, "the content iterator")),
            }
        })
    }
    fn size(&self) -> Option<u64> {
        None
    }
}

/// `content=` an async iterator (AsyncClient): the event loop pumps its chunks into a bounded
/// channel (`httpr._uploads.send_with_body`), which the request body reads without blocking.
/// Read once, sent chunked.
#[derive(Debug)]
pub struct ChannelChunks {
    rx: std::sync::Mutex<tokio::sync::mpsc::Receiver<Result<Bytes>>>,
    started: AtomicBool,
}

/// Chunks in flight between the pump and the request: enough to keep the socket busy.
const CHANNEL_DEPTH: usize = 4;

impl ChannelChunks {
    pub fn new() -> (Self, tokio::sync::mpsc::Sender<Result<Bytes>>) {
        let (tx, rx) = tokio::sync::mpsc::channel(CHANNEL_DEPTH);
        (ChannelChunks { rx: std::sync::Mutex::new(rx), started: AtomicBool::new(false) }, tx)
    }
}

impl Chunks for ChannelChunks {
    fn rewind(&self) -> Result<()> {
        read_once(&self.started, "an async iterator")
    }
    fn can_rewind(&self) -> bool {
        !self.started.load(Ordering::Acquire)
    }
    fn next_chunk(&self) -> Result<Option<Bytes>> {
        Err(Error::new(ErrorKind::TypeError, "content= as an async iterator needs AsyncClient"))
    }
    fn poll_chunk(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<Option<Bytes>>> {
        let mut rx = self.rx.lock().unwrap_or_else(|p| p.into_inner());
        // The pump closing the channel is the end of the body.
        rx.poll_recv(cx).map(|item| item.transpose())
    }
    fn size(&self) -> Option<u64> {
        None
    }
}

/// The pump's end of a `ChannelChunks`, as the three callables `httpr._uploads` drives:
/// `send(chunk)` (an awaitable that waits for room), `fail(message)` and `close()`.
pub fn pump_callables(py: Python<'_>, tx: tokio::sync::mpsc::Sender<Result<Bytes>>) -> PyResult<(Py<PyAny>, Py<PyAny>, Py<PyAny>)> {
    use pyo3::types::PyCFunction;
    let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(tx)));
    let sender = {
        let slot = slot.clone();
        move || slot.lock().unwrap_or_else(|p| p.into_inner()).clone()
    };
    let send_tx = sender.clone();
    let send = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<Py<PyAny>> {
        let py = args.py();
        let item = args.get_item(0)?;
        let chunk = chunk_bytes(&item, "async content iterator");
        let tx = send_tx();
        super::awaitable::awaitable(py, async move {
            if let Some(tx) = tx {
                let failed = chunk.is_err();
                // A closed channel: the request is over (failed or cancelled); drop the chunk.
                let _ = tx.send(chunk).await;
                if failed {
                    return Err(Error::new(ErrorKind::TypeError, "async content iterator must yield bytes").into());
                }
            }
            Ok(())
        })
    })?;
    let fail_tx = sender;
    let fail = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<()> {
        let message: String = args.get_item(0)?.extract()?;
        if let Some(tx) = fail_tx() {
            let _ = tx.try_send(Err(Error::new(ErrorKind::WriteError, format!("reading the async content iterator while sending it failed: {message}"))));
        }
        Ok(())
    })?;
    let close = PyCFunction::new_closure(py, None, None, move |_args, _kwargs| -> PyResult<()> {
        slot.lock().unwrap_or_else(|p| p.into_inner()).take();
        Ok(())
    })?;
    Ok((send.into_any().unbind(), fail.into_any().unbind(), close.into_any().unbind()))
}
