//! `response.request`, `response.history` and `response.next_request`: the exchange behind a
//! response, as Python objects (made only when asked for), shared by every response type.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyList;

use super::request::Request;
use super::response::Response;
use crate::config::shared_headers;
use crate::request::Prepared;
use crate::response::Trail;

/// The request as sent (final hop). None for a response built by user code.
pub fn request(py: Python<'_>, method: &http::Method, url: &url::Url, trail: Option<&Trail>) -> PyResult<Py<PyAny>> {
    let trail = trail.ok_or_else(|| PyRuntimeError::new_err("The request instance has not been set on this response."))?;
    let req = Request {
        method: method.to_string(),
        url: url.to_string(),
        headers: shared_headers(trail.request_headers.clone()),
        content: trail.request_body.clone().unwrap_or_default(),
        timeout: None,
    };
    super::registry::wrap(py, req)
}

/// The redirect responses followed to reach this one, oldest first (their bodies unread).
pub fn history(py: Python<'_>, trail: &Trail) -> PyResult<Py<PyList>> {
    let items = trail.history.iter().map(|hop| super::registry::wrap(py, Response::from_data(hop.to_data()))).collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, items)?.unbind())
}

/// The request a redirect that was not followed points at.
pub fn next_request(py: Python<'_>, trail: &Trail) -> PyResult<Option<Py<PyAny>>> {
    trail.next.as_deref().map(|p| super::registry::wrap(py, prepared_request(p))).transpose()
}

fn prepared_request(p: &Prepared) -> Request {
    Request {
        method: p.method.to_string(),
        url: p.url.to_string(),
        headers: shared_headers(p.headers.clone()),
        content: p.body.as_ref().map(|b| b.bytes.clone()).unwrap_or_default(),
        timeout: Some(p.timeout),
    }
}
