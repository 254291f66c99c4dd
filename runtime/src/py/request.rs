//! `httpr.Request`: the method, URL and headers of a request, as carried by exceptions, handed
//! to event hooks (whose header edits are sent: the map is shared) and, with its body, to a
//! MockTransport handler.

use bytes::Bytes;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use super::args::{Content, StrPairs};
use super::headers::Headers;
use crate::config::{shared_headers, SharedHeaders};

pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: SharedHeaders,
    pub content: Bytes,
    /// The timeouts it is sent with (what httpx's `extensions["timeout"]` reports), if known.
    pub timeout: Option<crate::timeout::Timeouts>,
}

impl Request {
    pub fn new(method: String, url: String, headers: Option<StrPairs>, content: Option<Content>) -> PyResult<Self> {
        let headers = crate::config::header_map(&headers.map(|h| h.0).unwrap_or_default())?;
        Ok(Request { method: method.to_ascii_uppercase(), url, headers: shared_headers(headers), content: content.map(|c| c.into_bytes()).transpose()?.unwrap_or_default(), timeout: None })
    }
    pub fn method(&self) -> String {
        self.method.clone()
    }
    pub fn url(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        super::extras::url_object(py, &self.url)
    }
    pub fn headers(&self) -> Headers {
        Headers::live(self.headers.clone())
    }
    pub fn content(&self, py: Python<'_>) -> Py<PyBytes> {
        PyBytes::new(py, &self.content).unbind()
    }
    pub fn json(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let obj = super::json::from_json(py, &self.content).map_err(|e| e.for_request(&self.method, &self.url))?;
        Ok(obj.unbind())
    }
    /// httpx's `request.extensions`: `{"timeout": {"connect": s, "read": s, "write": s,
    /// "pool": s}}` (None for no limit) on requests a client sends; `{}` otherwise.
    pub fn extensions(&self, py: Python<'_>) -> PyResult<Py<pyo3::types::PyDict>> {
        let ext = pyo3::types::PyDict::new(py);
        if let Some(t) = &self.timeout {
            let d = pyo3::types::PyDict::new(py);
            for (name, v) in [("connect", t.connect), ("read", t.read), ("write", t.write), ("pool", t.pool)] {
                d.set_item(name, v.map(|v| v.as_secs_f64()))?;
            }
            ext.set_item("timeout", d)?;
        }
        Ok(ext.unbind())
    }
    pub fn __repr__(&self) -> String {
        format!("<Request [{} {}]>", self.method, self.url)
    }
}

/// Build a Python `httpr.Request` (the generated class) from the runtime side.
pub fn new_request<'py>(py: Python<'py>, method: &str, url: &str) -> PyResult<Bound<'py, PyAny>> {
    let req = Request { method: method.to_owned(), url: url.to_owned(), headers: SharedHeaders::default(), content: Bytes::new(), timeout: None };
    super::registry::wrap(py, req).map(|o| o.into_bound(py))
}
