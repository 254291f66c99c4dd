//! `httpr.MockTransport`: a Python handler behind the runtime's `mock::Transport` trait, and
//! the user-built responses it returns (`httpr.Response(...)`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;

use super::args::{Content, JsonValue, StrPairs};
use super::request::Request;
use crate::error::{Error, ErrorKind, Foreign};
use crate::mock::{MockRequest, Reply, Transport, TransportHook};
use crate::response::{Body, ResponseData};

/// `transport=`: a MockTransport, or any object with httpx's transport methods
/// (`handle_request(request) -> Response`, `handle_async_request` for AsyncClient), such as
/// `httpr.WSGITransport` / `httpr.ASGITransport` or a user class.
pub enum TransportArg {
    Mock(MockTransport),
    Object(Py<PyAny>),
}

impl<'a, 'py> FromPyObject<'a, 'py> for TransportArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if let Some(m) = super::registry::unwrap_value::<MockTransport>(&obj) {
            return Ok(TransportArg::Mock(m));
        }
        if obj.hasattr("handle_request")? || obj.hasattr("handle_async_request")? {
            return Ok(TransportArg::Object(obj.to_owned().unbind()));
        }
        let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        Err(PyTypeError::new_err(format!("transport must be an httpr.MockTransport or have a handle_request()/handle_async_request() method, not {name}")))
    }
}

/// httpx's `mounts=`: URL pattern to a transport (or None: the client's own).
pub struct MountsArg(pub Vec<(String, Option<TransportArg>)>);

impl<'a, 'py> FromPyObject<'a, 'py> for MountsArg {
    type Error = PyErr;
    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let dict = obj.cast::<pyo3::types::PyDict>().map_err(|_| PyTypeError::new_err("mounts must be a dict of URL pattern to transport (or None)"))?;
        let mut out = Vec::new();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| PyTypeError::new_err("mounts keys must be URL patterns (str), such as \"https://\" or \"all://example.com\""))?;
            let transport = if v.is_none() { None } else { Some(v.extract::<TransportArg>()?) };
            out.push((key, transport));
        }
        Ok(MountsArg(out))
    }
}

impl MountsArg {
    pub fn into_mounts(self, asynchronous: bool) -> PyResult<crate::mounts::Mounts> {
        let mut out = Vec::with_capacity(self.0.len());
        for (key, transport) in self.0 {
            let pattern = crate::mounts::Pattern::parse(&key)?;
            out.push((pattern, transport.map(|t| t.into_mock(asynchronous).map(|m| m.hook())).transpose()?));
        }
        Ok(crate::mounts::Mounts::new(out))
    }
}

impl TransportArg {
    /// The transport as the handler a MockTransport calls: the method the client kind needs
    /// (an AsyncClient prefers `handle_async_request`, whose coroutine it awaits).
    pub fn into_mock(self, asynchronous: bool) -> PyResult<MockTransport> {
        match self {
            TransportArg::Mock(m) => Ok(m),
            TransportArg::Object(obj) => Python::attach(|py| {
                let o = obj.bind(py);
                let order = if asynchronous { ["handle_async_request", "handle_request"] } else { ["handle_request", "handle_async_request"] };
                let method = order.iter().find(|m| o.hasattr(**m).unwrap_or(false)).copied().unwrap_or("handle_request");
                if !asynchronous && method == "handle_async_request" {
                    let name = o.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                    return Err(PyTypeError::new_err(format!("{name} only has handle_async_request(): use it with httpr.AsyncClient")));
                }
                MockTransport::new(o.getattr(method)?.unbind())
            }),
        }
    }
}

/// The handler as the runtime's transport.
struct Handler {
    handler: Arc<Py<PyAny>>,
}

#[derive(Clone)]
pub struct MockTransport {
    handler: Arc<Py<PyAny>>,
    /// Made once, so `install`/`uninstall` recognise this transport.
    hook: TransportHook,
}

impl MockTransport {
    pub fn new(handler: Py<PyAny>) -> PyResult<Self> {
        Python::attach(|py| {
            let h = handler.bind(py);
            if !h.is_callable() {
                let name = h.get_type().name().map(|n| n.to_string()).unwrap_or_default();
                return Err(PyTypeError::new_err(format!("MockTransport handler must be callable (request -> httpr.Response), not {name}")));
            }
            Ok(())
        })?;
        let handler = Arc::new(handler);
        Ok(MockTransport { hook: TransportHook(Arc::new(Handler { handler: handler.clone() })), handler })
    }

    pub fn handler(&self, py: Python<'_>) -> Py<PyAny> {
        self.handler.clone_ref(py)
    }

    pub fn __repr__(&self) -> String {
        let handler = Python::attach(|py| self.handler.bind(py).repr().map(|r| r.to_string()).unwrap_or_else(|_| "?".into()));
        format!("<MockTransport handler={handler}>")
    }

    /// The runtime side, stored in the client settings.
    pub fn hook(&self) -> TransportHook {
        self.hook.clone()
    }

    pub fn install(&self) {
        crate::mock::install(self.hook.clone());
    }

    pub fn uninstall(&self) {
        crate::mock::uninstall(&self.hook);
    }

    pub fn installed(&self) -> bool {
        crate::mock::is_installed(&self.hook)
    }
}

/// A Python exception raised while handling a request, carried through the runtime as is.
fn foreign(py: Python<'_>, err: PyErr, req: &MockRequest) -> Error {
    // httpr exceptions the handler raised (to simulate a failure) get the request attached.
    let request = err.value(py).getattr("request").ok().filter(|r| r.is_none());
    if request.is_some() {
        if let Ok(r) = super::request::new_request(py, req.method.as_str(), req.url.as_str()) {
            let _ = err.value(py).setattr("request", r);
        }
    }
    let message = err.value(py).str().map(|s| s.to_string()).unwrap_or_default();
    let mut e = Error::new(ErrorKind::RequestError, message);
    e.foreign = Some(Foreign::new(err));
    e
}

type Pending = Pin<Box<dyn Future<Output = PyResult<Py<PyAny>>> + Send>>;

/// What calling the handler gave: a response, or an awaitable to drive on the event loop.
enum Called {
    Ready(http::Response<Bytes>),
    Pending(Pending),
}

impl Transport for Handler {
    fn handle(&self, req: MockRequest, asynchronous: bool) -> Reply {
        let handler = self.handler.clone();
        Box::pin(async move {
            let req = Arc::new(req);
            let called = if asynchronous {
                // The event loop of the awaiting task (set by `awaitable`, which drives this request).
                let locals = Python::attach(|py| super::awaitable::current_locals(py).map_err(|e| foreign(py, e, &req)))?;
                // Off the runtime's workers: a sync handler may block, or send a sync request itself.
                let r = req.clone();
                tokio::task::spawn_blocking(move || Python::attach(|py| call(py, &handler, &r, Some(&locals)).map_err(|e| foreign(py, e, &r))))
                    .await
                    .map_err(|e| Error::new(ErrorKind::RequestError, format!("the MockTransport handler did not complete: {e}")))??
            } else {
                Python::attach(|py| call(py, &handler, &req, None).map_err(|e| foreign(py, e, &req)))?
            };
            match called {
                Called::Ready(reply) => Ok(reply),
                // Awaited without the GIL; the coroutine runs on the caller's event loop.
                Called::Pending(fut) => {
                    let out = fut.await;
                    Python::attach(|py| out.and_then(|obj| reply(obj.bind(py))).map_err(|e| foreign(py, e, &req)))
                }
            }
        })
    }
}

/// Call the handler; `locals` (async clients only) is the event loop to await its result on.
fn call(py: Python<'_>, handler: &Py<PyAny>, req: &MockRequest, locals: Option<&TaskLocals>) -> PyResult<Called> {
    let request = Request { method: req.method.to_string(), url: req.url.to_string(), headers: crate::config::shared_headers(req.headers.clone()), content: req.body.clone(), timeout: Some(req.timeout) };
    let out = handler.bind(py).call1((super::registry::wrap(py, request)?,))?;
    if !out.hasattr("__await__")? {
        return reply(&out).map(Called::Ready);
    }
    let Some(locals) = locals else {
        // Never awaited: close it so Python does not warn about that on top of our error.
        let _ = out.call_method0("close");
        return Err(PyTypeError::new_err(
            "the MockTransport handler returned an awaitable, but this is a sync Client: use a plain `def` handler, or an AsyncClient",
        ));
    };
    Ok(Called::Pending(Box::pin(pyo3_async_runtimes::into_future_with_locals(locals, out)?)))
}

/// The handler's `httpr.Response` as the reply the client pipeline reads.
fn reply(obj: &Bound<'_, PyAny>) -> PyResult<http::Response<Bytes>> {
    let not_a_response = || {
        let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        PyTypeError::new_err(format!("the MockTransport handler must return an httpr.Response, not {name}"))
    };
    let cls = obj.py().import("httpr._httpr")?.getattr("Response")?;
    if !obj.is_instance(&cls)? {
        return Err(not_a_response());
    }
    let status: u16 = obj.getattr("status_code")?.extract()?;
    let pairs: Vec<(String, String)> = obj.getattr("headers")?.call_method0("multi_items")?.extract()?;
    let body = super::json::bytes_like(&obj.getattr("content")?).ok_or_else(not_a_response)?;
    let mut reply = http::Response::new(body);
    *reply.status_mut() = StatusCode::from_u16(status).map_err(|_| not_a_response())?;
    *reply.headers_mut() = header_map(pairs)?;
    Ok(reply)
}

/// Headers in order, repeated names kept (a response may set several cookies).
fn header_map(pairs: Vec<(String, String)>) -> PyResult<HeaderMap> {
    let mut map = HeaderMap::with_capacity(pairs.len());
    for (k, v) in &pairs {
        map.append(crate::config::header_name(k)?, crate::config::header_value(k, v)?);
    }
    Ok(map)
}

/// The data behind `httpr.Response(status_code, headers=, content=, text=, json=)`.
pub fn response_data(status_code: usize, headers: Option<StrPairs>, content: Option<Content>, text: Option<String>, json: Option<JsonValue>) -> PyResult<ResponseData> {
    let status = u16::try_from(status_code)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .ok_or_else(|| PyValueError::new_err(format!("status_code must be between 100 and 999, got {status_code}")))?;
    let mut headers = header_map(headers.map(|h| h.0).unwrap_or_default())?;
    let given = [content.is_some(), text.is_some(), json.is_some()].iter().filter(|g| **g).count();
    if given > 1 {
        return Err(PyValueError::new_err("pass only one of content, text or json"));
    }
    let (body, content_type) = match (content, text, json) {
        (Some(c), _, _) => (c.into_bytes()?, None),
        (_, Some(t), _) => (Bytes::from(t), Some("text/plain; charset=utf-8")),
        (_, _, Some(j)) => (Python::attach(|py| super::json::to_json(j.0.bind(py)))?, Some("application/json")),
        _ => (Bytes::new(), None),
    };
    if let Some(ct) = content_type {
        headers.entry(CONTENT_TYPE).or_insert(HeaderValue::from_static(ct));
    }
    let url = url::Url::parse("http://localhost/").map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(ResponseData {
        status,
        version: Version::HTTP_11,
        method: Method::GET,
        url,
        cookies: crate::cookies::from_set_cookie(&headers),
        headers,
        body: Body::from_chunks(if body.is_empty() { vec![] } else { vec![body] }),
        elapsed: Duration::ZERO,
        trail: Default::default(),
    })
}
