//! requests' `Session` attributes that code mutates in place: `session.proxies.update({...})`
//! and `session.hooks["response"].append(f)`. The getters hand out one live dict each; every
//! request then looks at it (only once it was handed out, so other clients pay nothing) and
//! applies what changed. `session.cert` reads back as it was given.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use super::args::ProxyMap;
use super::hooks::RequestHooks;

#[derive(Default)]
pub struct SessionViews {
    /// A view was handed out: requests must check them.
    used: AtomicBool,
    /// The `proxies` dict handed out, and a copy of what was last applied from it.
    proxies: Mutex<Option<(Py<PyDict>, Py<PyDict>)>>,
    /// The `hooks` dict handed out (`{"response": [...]}`).
    hooks: Mutex<Option<Py<PyDict>>>,
    /// `cert` as given (a path or a tuple).
    pub cert: Mutex<Option<Py<PyAny>>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SessionViews {
    /// The live `proxies` dict, made from `current` the first time.
    pub fn proxies(&self, py: Python<'_>, current: &[(String, String)]) -> PyResult<Py<PyDict>> {
        let mut slot = lock(&self.proxies);
        if let Some((view, _)) = slot.as_ref() {
            return Ok(view.clone_ref(py));
        }
        let view = super::client::pairs_to_dict(py, current)?;
        *slot = Some((view.clone().unbind(), view.copy()?.unbind()));
        self.used.store(true, Ordering::Release);
        Ok(view.unbind())
    }

    /// `session.proxies = ...` replaced the map: the next getter makes a fresh view.
    pub fn forget_proxies(&self) {
        *lock(&self.proxies) = None;
    }

    /// The live `hooks` dict (`{"response": []}` the first time).
    pub fn hooks(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let mut slot = lock(&self.hooks);
        if let Some(view) = slot.as_ref() {
            return Ok(view.clone_ref(py));
        }
        let view = PyDict::new(py);
        view.set_item("response", PyList::empty(py))?;
        *slot = Some(view.clone().unbind());
        self.used.store(true, Ordering::Release);
        Ok(view.unbind())
    }

    pub fn set_hooks(&self, py: Python<'_>, hooks: Option<RequestHooks>) -> PyResult<()> {
        let view = PyDict::new(py);
        let list = PyList::new(py, hooks.map(|h| h.0).unwrap_or_default().iter().map(|h| h.bind(py)))?;
        view.set_item("response", list)?;
        *lock(&self.hooks) = Some(view.unbind());
        self.used.store(true, Ordering::Release);
        Ok(())
    }

    /// A changed `proxies` view, to apply before the next request (and remember as applied).
    pub fn changed_proxies(&self, py: Python<'_>) -> PyResult<Option<ProxyMap>> {
        if !self.used.load(Ordering::Acquire) {
            return Ok(None);
        }
        let mut slot = lock(&self.proxies);
        let Some((view, applied)) = slot.as_mut() else { return Ok(None) };
        if view.bind(py).eq(applied.bind(py))? {
            return Ok(None);
        }
        let map: ProxyMap = view.bind(py).extract()?;
        *applied = view.bind(py).copy()?.unbind();
        Ok(Some(map))
    }

    /// The hooks a request runs: its own `hooks=`, else the session's (as requests merges them).
    pub fn request_hooks(&self, py: Python<'_>, own: Option<RequestHooks>) -> PyResult<Option<RequestHooks>> {
        if own.as_ref().is_some_and(|h| !h.0.is_empty()) || !self.used.load(Ordering::Acquire) {
            return Ok(own);
        }
        let view = lock(&self.hooks).as_ref().map(|v| v.clone_ref(py));
        match view {
            None => Ok(own),
            Some(v) => Ok(Some(RequestHooks::from_mapping(v.bind(py).as_any())?)),
        }
    }
}
