//! `httpr.Response`: a fully read response. The body becomes a Python `bytes` once, on first
//! access; headers become a `Headers` object only when asked for.

use std::sync::Mutex;

use encoding_rs::Encoding;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::args::{Content, JsonValue, StrPairs};
use super::headers::Headers;
use crate::encoding;
use crate::response::{version_str, ResponseData};

pub struct Response {
    /// Everything but the body (moved to `body`).
    data: ResponseData,
    encoding: Mutex<Option<&'static Encoding>>,
    body: Mutex<Held>,
    /// Built by user code (`httpr.Response(...)`), not received: it has no URL.
    detached: bool,
}

/// The body as received, until `content` turns it into the `bytes` object; from then on that
/// object is the only copy (the received chunks are freed, so the transport can reuse its read
/// buffer for the next response instead of allocating another).
enum Held {
    Chunks(crate::response::Body),
    Bytes(Py<PyBytes>),
}

impl Response {
    pub fn from_data(mut data: ResponseData) -> Self {
        let mut body = std::mem::take(&mut data.body);
        // A large body read straight into a bytes object is that object already.
        let held = match body.take_direct::<Py<PyBytes>>() {
            Some(bytes) => Held::Bytes(*bytes),
            None => Held::Chunks(body),
        };
        Response { data, encoding: Mutex::new(None), body: Mutex::new(held), detached: false }
    }

    /// Run `f` on the body bytes, wherever they are now. The lock is not held while `f` runs:
    /// `f` may create Python objects (JSON), and a garbage collection they set off may run
    /// Python code that lets another thread take the GIL and ask for this body.
    fn with_body<R>(&self, py: Python<'_>, f: impl FnOnce(&[u8]) -> R) -> R {
        enum Snapshot {
            Rust(bytes::Bytes),
            Py(Py<PyBytes>),
        }
        let snapshot = match &*self.body.lock().unwrap_or_else(|p| p.into_inner()) {
            Held::Chunks(body) => Snapshot::Rust(body.bytes()),
            Held::Bytes(bytes) => Snapshot::Py(bytes.clone_ref(py)),
        };
        match &snapshot {
            Snapshot::Rust(b) => f(b),
            Snapshot::Py(b) => f(b.bind(py).as_bytes()),
        }
    }

    /// `httpr.Response(status_code, headers=, content=, text=, json=)`, e.g. for a
    /// MockTransport handler. Network responses never come through here.
    pub fn py_new(status_code: usize, headers: Option<StrPairs>, content: Option<Content>, text: Option<String>, json: Option<JsonValue>) -> PyResult<Self> {
        let data = super::mock::response_data(status_code, headers, content, text, json)?;
        Ok(Response { detached: true, ..Self::from_data(data) })
    }

    fn enc(&self, py: Python<'_>) -> &'static Encoding {
        let mut e = self.encoding.lock().unwrap_or_else(|p| p.into_inner());
        *e.get_or_insert_with(|| self.with_body(py, |b| encoding::detect(&self.data.headers, b)))
    }

    pub fn status_code(&self) -> u16 {
        self.data.status.as_u16()
    }
    pub fn reason_phrase(&self) -> String {
        self.data.status.canonical_reason().unwrap_or("").to_owned()
    }
    pub fn http_version(&self) -> String {
        version_str(self.data.version).to_owned()
    }
    pub fn url(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::extras::url_object(py, if self.detached { "" } else { self.data.url.as_str() })
    }
    pub fn content(&self, py: Python<'_>) -> Py<PyBytes> {
        let mut held = self.body.lock().unwrap_or_else(|p| p.into_inner());
        let bytes = match &*held {
            Held::Bytes(bytes) => return bytes.clone_ref(py),
            // One copy, straight from the received chunks into the bytes object.
            Held::Chunks(body) => super::bytes::from_pieces(py, &body.pieces()).map(Bound::unbind).unwrap_or_else(|_| PyBytes::new(py, body.as_slice()).unbind()),
        };
        *held = Held::Bytes(bytes.clone_ref(py));
        bytes
    }
    pub fn text(&self, py: Python<'_>) -> String {
        let enc = self.enc(py);
        self.with_body(py, |b| encoding::decode(enc, b))
    }
    pub fn encoding(&self, py: Python<'_>) -> String {
        encoding::name(self.enc(py))
    }
    /// None or "" forgets the chosen encoding: `text` detects it again.
    pub fn set_encoding(&self, value: Option<String>) -> PyResult<()> {
        let chosen = match value.as_deref() {
            None | Some("") => None,
            Some(name) => Some(encoding::lookup(name).ok_or_else(|| pyo3::exceptions::PyLookupError::new_err(format!("unknown encoding: {name:?}")))?),
        };
        *self.encoding.lock().unwrap_or_else(|p| p.into_inner()) = chosen;
        Ok(())
    }
    pub fn headers(&self) -> Headers {
        Headers::new(self.data.headers.clone())
    }
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.data.cookies.clone()
    }
    pub fn elapsed(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::extras::elapsed(py, self.data.elapsed)
    }
    pub fn ok(&self) -> bool {
        self.data.status.as_u16() < 400
    }
    pub fn reason(&self) -> String {
        self.reason_phrase()
    }
    pub fn links(&self, py: Python<'_>) -> PyResult<Py<pyo3::types::PyDict>> {
        super::extras::links(py, &self.data.headers)
    }
    pub fn num_bytes_downloaded(&self) -> usize {
        let held = self.body.lock().unwrap_or_else(|p| p.into_inner());
        match &*held {
            Held::Chunks(body) => body.len(),
            Held::Bytes(bytes) => Python::attach(|py| bytes.bind(py).as_bytes().len()),
        }
    }
    /// A non-streamed response's body is in memory already: `read()` is `content`.
    pub fn read(&self, py: Python<'_>) -> Py<PyBytes> {
        self.content(py)
    }
    pub fn iter_bytes(&self, py: Python<'_>, chunk_size: Option<usize>) -> PyResult<Py<PyAny>> {
        super::extras::iter_bytes(py, self.content(py).bind(py), chunk_size)
    }
    pub fn iter_text(&self, py: Python<'_>, chunk_size: Option<usize>) -> PyResult<Py<PyAny>> {
        super::extras::iter_text(py, &self.text(py), chunk_size)
    }
    pub fn iter_lines(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::extras::iter_lines(py, &self.text(py))
    }
    pub fn iter_content(&self, py: Python<'_>, chunk_size: Option<usize>, decode_unicode: bool) -> PyResult<Py<PyAny>> {
        if decode_unicode {
            return self.iter_text(py, chunk_size);
        }
        self.iter_bytes(py, chunk_size)
    }
    pub fn json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let is_cbor = self
            .data
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/cbor"));
        let obj = self.with_body(py, |b| if is_cbor { super::json::from_cbor(py, b) } else { super::json::from_json(py, b) });
        obj.map(Bound::unbind).map_err(|e| e.for_request(self.data.method.as_str(), self.data.url.as_str()).into())
    }
    /// The body as CBOR, whatever the Content-Type says.
    pub fn cbor(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let obj = self.with_body(py, |b| super::json::from_cbor(py, b));
        obj.map(Bound::unbind).map_err(|e| e.for_request(self.data.method.as_str(), self.data.url.as_str()).into())
    }
    pub fn text_markdown(&self, py: Python<'_>) -> String {
        crate::html::markdown(self.text(py).as_bytes())
    }
    pub fn text_plain(&self, py: Python<'_>) -> String {
        crate::html::plain(self.text(py).as_bytes())
    }
    pub fn text_rich(&self, py: Python<'_>) -> String {
        crate::html::rich(self.text(py).as_bytes())
    }
    pub fn is_informational(&self) -> bool {
        self.data.status.is_informational()
    }
    pub fn is_success(&self) -> bool {
        self.data.status.is_success()
    }
    /// As httpx: a followable redirect status with a Location header.
    pub fn is_redirect(&self) -> bool {
        self.has_redirect_location()
    }
    pub fn is_client_error(&self) -> bool {
        self.data.status.is_client_error()
    }
    pub fn is_server_error(&self) -> bool {
        self.data.status.is_server_error()
    }
    pub fn is_error(&self) -> bool {
        self.is_client_error() || self.is_server_error()
    }
    pub fn has_redirect_location(&self) -> bool {
        super::status::has_redirect_location(self.data.status, &self.data.headers)
    }
    pub fn request(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::trail::request(py, &self.data.method, &self.data.url, (!self.detached).then_some(&self.data.trail))
    }
    pub fn history(&self, py: Python<'_>) -> PyResult<Py<pyo3::types::PyList>> {
        super::trail::history(py, &self.data.trail)
    }
    pub fn next_request(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        super::trail::next_request(py, &self.data.trail)
    }
    pub fn raise_for_status(&self, py: Python<'_>, this: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let url = if self.detached { "" } else { self.data.url.as_str() };
        super::status::raise_for_status(py, this, self.data.status, self.data.method.as_str(), url, &self.data.headers)
    }
    pub fn close(&self) {}
    pub fn __enter__(&self, this: &Bound<'_, PyAny>) -> Py<PyAny> {
        this.clone().unbind()
    }
    pub fn __exit__(&self, _exc_type: Option<Py<PyAny>>, _exc_value: Option<Py<PyAny>>, _traceback: Option<Py<PyAny>>) {}
    pub fn __repr__(&self) -> String {
        format!("<Response [{} {}]>", self.status_code(), self.reason_phrase())
    }
}
