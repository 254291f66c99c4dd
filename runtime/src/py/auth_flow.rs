//! httpx-style auth flows (`auth=httpr.DigestAuth(...)`, an `httpr.Auth` subclass, a
//! callable): `httpr._auth.run_sync` / `run_async` drive the flow's generator, and each request
//! it yields is sent here, as one request of the client (redirects, retries and cookies apply).

use std::sync::RwLock;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCFunction};

use super::args::Auth;
use super::client::RequestKwargs;
use crate::request::Prepared;

/// The flow a request runs under: its own `auth=` flow; else, unless it gives credentials of
/// its own, the client's (None for the module functions, which have no client default).
pub fn take(py: Python<'_>, kw: &mut RequestKwargs, client: Option<&RwLock<Option<Py<PyAny>>>>) -> Option<Py<PyAny>> {
    match kw.auth.take() {
        Some(Auth::Flow(f)) => Some(f),
        Some(basic) => {
            kw.auth = Some(basic);
            None
        }
        None if kw.auth_bearer.is_some() => None,
        None => client?.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|f| f.clone_ref(py)),
    }
}

/// The request a flow yielded, on top of the prepared one (timeouts, retries, cookies).
pub fn from_request(base: &Prepared, req: &Bound<'_, PyAny>) -> PyResult<Prepared> {
    let mut p = base.clone();
    p.method = crate::request::parse_method(&req.getattr("method")?.extract::<String>()?)?;
    let url: String = req.getattr("url")?.str()?.extract()?;
    p.url = crate::url_util::parse_url(&url).map_err(|mut e| {
        e.kind = crate::ErrorKind::InvalidRequestURL;
        e
    })?;
    let pairs: Vec<(String, String)> = req.getattr("headers")?.call_method0("multi_items")?.extract()?;
    let mut headers = http::HeaderMap::with_capacity(pairs.len());
    for (k, v) in &pairs {
        headers.append(crate::config::header_name(k)?, crate::config::header_value(k, v)?);
    }
    p.headers = headers;
    let content = req.getattr("content")?;
    let bytes = content.cast::<PyBytes>().map(|b| bytes::Bytes::copy_from_slice(b.as_bytes())).unwrap_or_default();
    p.body = match (p.body.take(), bytes.is_empty()) {
        // A streamed upload shows as empty content: it is still the body to send.
        (Some(body), true) if body.upload.is_some() => Some(body),
        (_, true) => None,
        (Some(mut body), false) => {
            body.bytes = bytes;
            Some(body)
        }
        (None, false) => Some(crate::body::Body::raw(bytes)),
    };
    Ok(p)
}

fn driver(py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
    Ok(py.import("httpr._auth")?.getattr(name)?.unbind())
}

/// Run `flow` around `send` (one sent request -> a Response, or on AsyncClient an awaitable
/// of one). Returns the final Response, or the coroutine that produces it.
pub fn run(py: Python<'_>, flow: Py<PyAny>, prepared: Prepared, asynchronous: bool, send: impl Fn(Python<'_>, Prepared) -> PyResult<Py<PyAny>> + Send + Sync + 'static) -> PyResult<Py<PyAny>> {
    let (request, _) = super::hooks::request_object(py, &prepared)?;
    let send_fn = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<Py<PyAny>> {
        let p = from_request(&prepared, &args.get_item(0)?)?;
        send(args.py(), p)
    })?;
    let name = if asynchronous { "run_async" } else { "run_sync" };
    Ok(driver(py, name)?.bind(py).call1((flow, request, send_fn))?.unbind())
}
