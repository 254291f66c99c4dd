//! Runtime errors to Python exceptions. The classes live in the generated
//! `httpr._exceptions` module (declared in api.yaml); they are looked up once by name.

use std::collections::HashMap;
use std::sync::Mutex;

use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyDict;

use crate::error::{Error, ErrorKind};

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
static CLASSES: Mutex<Option<HashMap<&'static str, Py<PyAny>>>> = Mutex::new(None);

pub fn exception_class(py: Python<'_>, name: &'static str) -> PyResult<Py<PyAny>> {
    if let Some(c) = CLASSES.lock().unwrap_or_else(|p| p.into_inner()).as_ref().and_then(|m| m.get(name)) {
        return Ok(c.clone_ref(py));
    }
    let module = MODULE.get_or_try_init(py, || py.import("httpr._exceptions").map(|m| m.unbind()))?;
    let cls = module.bind(py).getattr(name)?.unbind();
    CLASSES.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(name, cls.clone_ref(py));
    Ok(cls)
}

fn build(py: Python<'_>, err: Error) -> PyResult<PyErr> {
    match err.kind {
        ErrorKind::ValueError => return Ok(PyValueError::new_err(err.message)),
        ErrorKind::TypeError => return Ok(PyTypeError::new_err(err.message)),
        _ => {}
    }
    let cls = exception_class(py, err.kind.name())?;
    let kwargs = PyDict::new(py);
    if let (Some(r), true) = (&err.request, err.kind.carries_request()) {
        kwargs.set_item("request", super::request::new_request(py, &r.method, &r.url)?)?;
    }
    let exc = if err.kind == ErrorKind::JSONDecodeError {
        // Also a json.JSONDecodeError: (msg, doc, pos).
        cls.bind(py).call((err.message, err.doc.unwrap_or_default(), err.position.unwrap_or(0)), Some(&kwargs))?
    } else {
        cls.bind(py).call((err.message,), Some(&kwargs))?
    };
    if let Some(os) = err.os {
        // Also an OSError: the attributes `open()` would have set.
        exc.setattr("errno", os.errno)?;
        exc.setattr("strerror", os.strerror)?;
        exc.setattr("filename", os.filename)?;
    }
    Ok(PyErr::from_value(exc))
}

pub fn to_pyerr(err: Error) -> PyErr {
    Python::attach(|py| {
        // A Python exception raised inside a mock handler: re-raise it unchanged.
        if let Some(e) = err.foreign.as_ref().and_then(|f| f.get::<PyErr>()) {
            return e.clone_ref(py);
        }
        let msg = err.message.clone();
        build(py, err).unwrap_or_else(|e| PyRuntimeError::new_err(format!("{msg} (and the httpr exception could not be raised: {e})")))
    })
}

impl From<Error> for PyErr {
    fn from(err: Error) -> PyErr {
        to_pyerr(err)
    }
}
