//! `httpr.Request`: the method and URL (and headers) of a request, as carried by exceptions.

use http::HeaderMap;
use pyo3::prelude::*;

use super::args::StrPairs;
use super::headers::Headers;

pub struct Request {
    pub method: String,
    pub url: String,
    pub headers: HeaderMap,
}

impl Request {
    pub fn new(method: String, url: String, headers: Option<StrPairs>) -> PyResult<Self> {
        let headers = crate::config::header_map(&headers.map(|h| h.0).unwrap_or_default())?;
        Ok(Request { method: method.to_ascii_uppercase(), url, headers })
    }
    pub fn method(&self) -> String {
        self.method.clone()
    }
    pub fn url(&self) -> String {
        self.url.clone()
    }
    pub fn headers(&self) -> Headers {
        Headers::new(self.headers.clone())
    }
    pub fn __repr__(&self) -> String {
        format!("<Request [{} {}]>", self.method, self.url)
    }
}

/// Build a Python `httpr.Request` (the generated class) from the runtime side.
pub fn new_request<'py>(py: Python<'py>, method: &str, url: &str) -> PyResult<Bound<'py, PyAny>> {
    let req = Request { method: method.to_owned(), url: url.to_owned(), headers: HeaderMap::new() };
    super::registry::wrap(py, req).map(|o| o.into_bound(py))
}
