//! `httpr.Response`: a fully read response. The body becomes a Python `bytes` once, on first
//! access; headers become a `Headers` object only when asked for.

use std::sync::Mutex;

use encoding_rs::Encoding;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyBytes;

use super::args::{Content, JsonValue, StrPairs};
use super::headers::Headers;
use crate::encoding;
use crate::response::{version_str, ResponseData};

pub struct Response {
    data: ResponseData,
    encoding: Mutex<Option<&'static Encoding>>,
    content: PyOnceLock<Py<PyBytes>>,
    /// Built by user code (`httpr.Response(...)`), not received: it has no URL.
    detached: bool,
}

impl Response {
    pub fn from_data(data: ResponseData) -> Self {
        Response { data, encoding: Mutex::new(None), content: PyOnceLock::new(), detached: false }
    }

    /// `httpr.Response(status_code, headers=, content=, text=, json=)`, e.g. for a
    /// MockTransport handler. Network responses never come through here.
    pub fn py_new(status_code: usize, headers: Option<StrPairs>, content: Option<Content>, text: Option<String>, json: Option<JsonValue>) -> PyResult<Self> {
        let data = super::mock::response_data(status_code, headers, content, text, json)?;
        Ok(Response { detached: true, ..Self::from_data(data) })
    }

    fn enc(&self) -> &'static Encoding {
        let mut e = self.encoding.lock().unwrap_or_else(|p| p.into_inner());
        *e.get_or_insert_with(|| encoding::detect(&self.data.headers, self.data.body.as_slice()))
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
    pub fn url(&self) -> String {
        if self.detached {
            return String::new();
        }
        self.data.url.to_string()
    }
    pub fn content(&self, py: Python<'_>) -> Py<PyBytes> {
        self.content
            .get_or_init(py, || {
                let body = &self.data.body;
                // One copy, straight from the received chunks into the bytes object.
                super::bytes::from_pieces(py, &body.pieces()).map(Bound::unbind).unwrap_or_else(|_| PyBytes::new(py, body.as_slice()).unbind())
            })
            .clone_ref(py)
    }
    pub fn text(&self) -> String {
        encoding::decode(self.enc(), self.data.body.as_slice())
    }
    pub fn encoding(&self) -> String {
        encoding::name(self.enc())
    }
    pub fn set_encoding(&self, value: String) -> PyResult<()> {
        let e = encoding::lookup(&value).ok_or_else(|| pyo3::exceptions::PyLookupError::new_err(format!("unknown encoding: {value:?}")))?;
        *self.encoding.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
        Ok(())
    }
    pub fn headers(&self) -> Headers {
        Headers::new(self.data.headers.clone())
    }
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.data.cookies.clone()
    }
    pub fn elapsed(&self) -> f64 {
        self.data.elapsed.as_secs_f64()
    }
    pub fn json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let is_cbor = self
            .data
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.starts_with("application/cbor"));
        let obj = if is_cbor { super::json::from_cbor(py, self.data.body.as_slice()) } else { super::json::from_json(py, self.data.body.as_slice()) };
        obj.map(Bound::unbind).map_err(|e| e.for_request(self.data.method.as_str(), self.data.url.as_str()).into())
    }
    pub fn text_markdown(&self) -> String {
        crate::html::markdown(self.text().as_bytes())
    }
    pub fn text_plain(&self) -> String {
        crate::html::plain(self.text().as_bytes())
    }
    pub fn text_rich(&self) -> String {
        crate::html::rich(self.text().as_bytes())
    }
    pub fn is_informational(&self) -> bool {
        self.data.status.is_informational()
    }
    pub fn is_success(&self) -> bool {
        self.data.status.is_success()
    }
    pub fn is_redirect(&self) -> bool {
        self.data.status.is_redirection()
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
    pub fn raise_for_status(&self, py: Python<'_>, this: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let url = if self.detached { "" } else { self.data.url.as_str() };
        super::status::raise_for_status(py, this, self.data.status, self.data.method.as_str(), url, &self.data.headers)
    }
    pub fn __repr__(&self) -> String {
        format!("<Response [{} {}]>", self.status_code(), self.reason_phrase())
    }
}
