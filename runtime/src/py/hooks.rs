//! Event hooks: `event_hooks={"request": [...], "response": [...]}`. Request hooks get an
//! `httpr.Request` whose header edits are sent; response hooks get the response (and may
//! call `raise_for_status()`; an exception propagates to the caller). They run once per
//! request the caller makes (not per redirect or retry). On AsyncClient a hook may be a
//! coroutine function; on Client it must be a plain callable.

use std::sync::{Arc, Mutex};

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyCFunction, PyDict, PyList, PyString};

use super::request::Request;
use crate::config::shared_headers;
use crate::request::Prepared;

#[derive(Default)]
pub struct Hooks {
    pub request: Vec<Py<PyAny>>,
    pub response: Vec<Py<PyAny>>,
}

/// `event_hooks=` as given: a mapping of "request"/"response" to lists of callables.
pub struct HookArg(pub Hooks);

impl<'a, 'py> FromPyObject<'a, 'py> for HookArg {
    type Error = PyErr;
    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let dict = obj.cast::<PyDict>().map_err(|_| PyTypeError::new_err("event_hooks must be a dict like {\"request\": [...], \"response\": [...]}"))?;
        let mut hooks = Hooks::default();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| PyTypeError::new_err("event_hooks keys must be \"request\" or \"response\""))?;
            let list = match key.as_str() {
                "request" => &mut hooks.request,
                "response" => &mut hooks.response,
                other => return Err(PyTypeError::new_err(format!("event_hooks keys must be \"request\" or \"response\", not {other:?}"))),
            };
            if v.is_instance_of::<PyString>() {
                return Err(PyTypeError::new_err(format!("event_hooks[{key:?}] must be a list of callables")));
            }
            for hook in v.try_iter().map_err(|_| PyTypeError::new_err(format!("event_hooks[{key:?}] must be a list of callables")))? {
                let hook = hook?;
                if !hook.is_callable() {
                    return Err(PyTypeError::new_err(format!("event_hooks[{key:?}] items must be callable, not {}", hook.get_type().name()?)));
                }
                list.push(hook.unbind());
            }
        }
        Ok(HookArg(hooks))
    }
}

impl Hooks {
    pub fn is_empty(&self) -> bool {
        self.request.is_empty() && self.response.is_empty()
    }

    pub fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("request", PyList::new(py, self.request.iter().map(|h| h.bind(py)))?)?;
        d.set_item("response", PyList::new(py, self.response.iter().map(|h| h.bind(py)))?)?;
        Ok(d)
    }

    /// Run the request hooks of a sync client on `p` (header edits are applied to it).
    pub fn run_request(&self, py: Python<'_>, p: &mut Prepared) -> PyResult<()> {
        if self.request.is_empty() {
            return Ok(());
        }
        let (obj, headers) = request_object(py, p)?;
        for hook in &self.request {
            call_sync(py, hook, &obj)?;
        }
        p.headers = headers.read().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(())
    }

    pub fn run_response(&self, py: Python<'_>, response: &Bound<'_, PyAny>) -> PyResult<()> {
        for hook in &self.response {
            call_sync(py, hook, response)?;
        }
        Ok(())
    }

    /// The AsyncClient flavour: a coroutine that awaits the request hooks, then `send` (given
    /// the prepared request with the hooks' edits), then the response hooks.
    pub fn wrap_async(
        &self,
        py: Python<'_>,
        p: Prepared,
        send: impl FnOnce(Python<'_>, Prepared) -> PyResult<Py<PyAny>> + Send + 'static,
    ) -> PyResult<Py<PyAny>> {
        let (obj, headers) = request_object(py, &p)?;
        let pending = Mutex::new(Some((p, send)));
        let send_fn = PyCFunction::new_closure(py, None, None, move |args, _kwargs| -> PyResult<Py<PyAny>> {
            let py = args.py();
            let (mut p, send) = pending.lock().unwrap_or_else(|e| e.into_inner()).take().ok_or_else(|| PyTypeError::new_err("request already sent"))?;
            p.headers = headers.read().unwrap_or_else(|e| e.into_inner()).clone();
            send(py, p)
        })?;
        let request_hooks = PyList::new(py, self.request.iter().map(|h| h.bind(py)))?;
        let response_hooks = PyList::new(py, self.response.iter().map(|h| h.bind(py)))?;
        Ok(run_async(py)?.call1((obj, request_hooks, response_hooks, send_fn))?.unbind())
    }
}

pub(crate) fn request_object<'py>(py: Python<'py>, p: &Prepared) -> PyResult<(Bound<'py, PyAny>, crate::config::SharedHeaders)> {
    let headers = shared_headers(p.headers.clone());
    let req = Request { method: p.method.to_string(), url: p.url.to_string(), headers: headers.clone(), content: p.body.as_ref().map(|b| b.bytes.clone()).unwrap_or_default(), timeout: Some(p.timeout) };
    Ok((super::registry::wrap(py, req)?.into_bound(py), headers))
}

fn call_sync(py: Python<'_>, hook: &Py<PyAny>, arg: &Bound<'_, PyAny>) -> PyResult<()> {
    let result = hook.bind(py).call1((arg,))?;
    if result.hasattr("__await__")? {
        if result.hasattr("close")? {
            result.call_method0("close")?;
        }
        return Err(PyTypeError::new_err(format!("event hook {} returned an awaitable: async hooks need AsyncClient", hook.bind(py).repr()?)));
    }
    Ok(())
}

fn run_async(py: Python<'_>) -> PyResult<&Bound<'_, PyAny>> {
    static RUN: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
    Ok(RUN.get_or_try_init(py, || py.import("httpr._hooks")?.getattr("run_async").map(Bound::unbind))?.bind(py))
}

/// requests' per-request `hooks={"response": f or [f, ...]}`: the response hooks, in order.
pub struct RequestHooks(pub Vec<Py<PyAny>>);

impl RequestHooks {
    /// The hooks of a requests-style mapping (`{"response": f}` or `{"response": [f, g]}`).
    pub fn from_mapping(obj: &Bound<'_, PyAny>) -> PyResult<Self> {
        let bad = || PyTypeError::new_err("hooks must be a dict like {\"response\": callable or [callables]}");
        let dict = obj.cast::<PyDict>().map_err(|_| bad())?;
        let mut out = Vec::new();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| bad())?;
            if key != "response" {
                return Err(pyo3::exceptions::PyValueError::new_err(format!("Unsupported event specified, with event name {key:?} (requests' hooks have only \"response\"; see event_hooks= for request hooks)")));
            }
            if v.is_callable() {
                out.push(v.unbind());
                continue;
            }
            for hook in v.try_iter().map_err(|_| bad())? {
                let hook = hook?;
                if !hook.is_callable() {
                    return Err(PyTypeError::new_err(format!("hooks[\"response\"] items must be callable, not {}", hook.get_type().name()?)));
                }
                out.push(hook.unbind());
            }
        }
        Ok(RequestHooks(out))
    }

    /// Run them on a sync response (or, `asynchronous`, around the awaitable of one).
    pub fn apply(self, py: Python<'_>, response: Py<PyAny>, asynchronous: bool) -> PyResult<Py<PyAny>> {
        if self.0.is_empty() {
            return Ok(response);
        }
        let name = if asynchronous { "apply_response_hooks_async" } else { "apply_response_hooks" };
        let hooks = PyList::new(py, self.0.iter().map(|h| h.bind(py)))?;
        Ok(py.import("httpr._hooks")?.getattr(name)?.call1((response, hooks))?.unbind())
    }
}

impl<'a, 'py> FromPyObject<'a, 'py> for RequestHooks {
    type Error = PyErr;
    fn extract(obj: pyo3::Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        RequestHooks::from_mapping(&obj)
    }
}

/// The client's hooks, swapped whole when `client.event_hooks` is set.
#[derive(Default)]
pub struct HookSlot(std::sync::RwLock<Option<Arc<Hooks>>>);

impl HookSlot {
    pub fn get(&self) -> Option<Arc<Hooks>> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub fn set(&self, hooks: Hooks) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = (!hooks.is_empty()).then(|| Arc::new(hooks));
    }
}
