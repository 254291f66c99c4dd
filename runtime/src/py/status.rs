//! Status-code flags and `raise_for_status`, shared by every response type.

use http::{HeaderMap, StatusCode};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use super::errors::exception_class;

pub fn has_redirect_location(status: StatusCode, headers: &HeaderMap) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) && headers.contains_key(http::header::LOCATION)
}

/// As httpx and httpr 0.7.8: anything but 2xx raises HTTPStatusError; 2xx returns `this`.
pub fn raise_for_status(py: Python<'_>, this: &Bound<'_, PyAny>, status: StatusCode, method: &str, url: &str, headers: &HeaderMap) -> PyResult<Py<PyAny>> {
    if status.is_success() {
        return Ok(this.clone().unbind());
    }
    let kind = match status.as_u16() {
        100..=199 => "Informational response",
        300..=399 => "Redirect response",
        400..=499 => "Client error",
        _ => "Server error",
    };
    let mut msg = format!("{kind} '{} {}' for url '{url}'", status.as_u16(), status.canonical_reason().unwrap_or(""));
    if let Some(loc) = headers.get(http::header::LOCATION).and_then(|v| v.to_str().ok()).filter(|_| status.is_redirection()) {
        msg.push_str(&format!("\nRedirect location: '{loc}'"));
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("request", super::request::new_request(py, method, url)?)?;
    kwargs.set_item("response", this)?;
    let exc = exception_class(py, "HTTPStatusError")?.bind(py).call((msg,), Some(&kwargs))?;
    Err(PyErr::from_value(exc))
}
