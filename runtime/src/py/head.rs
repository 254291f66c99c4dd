//! What a streamed response knows before its body is read: status, version, final URL,
//! headers, cookies and the text encoding. Shared by the sync and async streaming responses
//! (both deref to it, so the generated wrappers reach these getters directly).

use encoding_rs::Encoding;
use http::{HeaderMap, StatusCode, Version};
use pyo3::prelude::*;

use super::headers::Headers;
use crate::client::Head;
use crate::response::version_str;
use crate::stream::BodyStream;

pub struct StreamHead {
    method: http::Method,
    status: StatusCode,
    version: Version,
    url: url::Url,
    headers: HeaderMap,
    trail: crate::response::Trail,
    cookies: Vec<(String, String)>,
    pub(crate) encoding: &'static Encoding,
    /// What `read()` / `aread()` returned, for `content` (as httpx's streamed responses).
    pub(crate) read_body: std::sync::Arc<std::sync::OnceLock<bytes::Bytes>>,
}

impl StreamHead {
    /// Split a response whose headers arrived into its head and its unread body.
    pub fn split(head: Head) -> (StreamHead, BodyStream) {
        let Head { mut response, request, cookies, slot, deadline, history, next, .. } = head;
        let headers = std::mem::take(&mut response.headers);
        let encoding = crate::encoding::charset_from_headers(&headers).unwrap_or(encoding_rs::UTF_8);
        let trail = crate::response::Trail { request_headers: request.headers.clone(), request_body: request.body.as_ref().map(|b| b.bytes.clone()), history, next };
        let head = StreamHead { method: request.method.clone(), status: response.status, version: response.version, url: request.url.clone(), headers, trail, cookies, encoding, read_body: Default::default() };
        (head, BodyStream::new(response, request.timeout.read, deadline, request.method, request.url, slot))
    }

    /// The body `read()` returned, if it was called.
    pub(crate) fn kept_body(&self) -> Option<&bytes::Bytes> {
        self.read_body.get()
    }
    pub(crate) fn method_and_url(&self) -> (&str, &str) {
        (self.method.as_str(), self.url.as_str())
    }
    /// The Content-Type header as text ("" without one).
    pub(crate) fn content_type(&self) -> &str {
        self.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
    pub(crate) fn is_cbor(&self) -> bool {
        self.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|ct| ct.starts_with("application/cbor"))
    }

    pub fn status_code(&self) -> u16 {
        self.status.as_u16()
    }
    pub fn reason_phrase(&self) -> String {
        self.status.canonical_reason().unwrap_or("").to_owned()
    }
    pub fn http_version(&self) -> String {
        version_str(self.version).to_owned()
    }
    pub fn url(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::extras::url_object(py, self.url.as_str())
    }
    pub fn request(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::trail::request(py, &self.method, &self.url, Some(&self.trail))
    }
    pub fn history(&self, py: Python<'_>) -> PyResult<Py<pyo3::types::PyList>> {
        super::trail::history(py, &self.trail)
    }
    pub fn next_request(&self, py: Python<'_>) -> PyResult<Option<Py<PyAny>>> {
        super::trail::next_request(py, &self.trail)
    }
    pub fn ok(&self) -> bool {
        self.status.as_u16() < 400
    }
    pub fn reason(&self) -> String {
        self.reason_phrase()
    }
    pub fn links(&self, py: Python<'_>) -> PyResult<Py<pyo3::types::PyDict>> {
        super::extras::links(py, &self.headers)
    }
    pub fn headers(&self) -> Headers {
        Headers::new(self.headers.clone())
    }
    pub fn cookies(&self) -> Vec<(String, String)> {
        self.cookies.clone()
    }
    pub fn encoding(&self) -> String {
        crate::encoding::name(self.encoding)
    }
    pub fn is_informational(&self) -> bool {
        self.status.is_informational()
    }
    pub fn is_success(&self) -> bool {
        self.status.is_success()
    }
    /// As httpx: a followable redirect status with a Location header.
    pub fn is_redirect(&self) -> bool {
        self.has_redirect_location()
    }
    pub fn is_client_error(&self) -> bool {
        self.status.is_client_error()
    }
    pub fn is_server_error(&self) -> bool {
        self.status.is_server_error()
    }
    pub fn is_error(&self) -> bool {
        self.is_client_error() || self.is_server_error()
    }
    pub fn has_redirect_location(&self) -> bool {
        super::status::has_redirect_location(self.status, &self.headers)
    }
    pub fn raise_for_status(&self, py: Python<'_>, this: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        super::status::raise_for_status(py, this, self.status, self.method.as_str(), self.url.as_str(), &self.headers)
    }
}
