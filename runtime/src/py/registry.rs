//! How the runtime hands back instances of the generated classes. The generated module
//! registers, at import, one factory per class (keyed by the binding type it wraps); the
//! runtime then wraps a binding value without knowing the generated type, e.g. for the
//! result of an async request, which is converted to Python on a tokio thread.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::RwLock;

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;

type Factory = Box<dyn Fn(Python<'_>, Box<dyn Any>) -> PyResult<Py<PyAny>> + Send + Sync>;

static FACTORIES: RwLock<Option<HashMap<TypeId, Factory>>> = RwLock::new(None);

pub fn register<T: Any>(make: fn(Python<'_>, T) -> PyResult<Py<PyAny>>) {
    let factory: Factory = Box::new(move |py, value| {
        let value = value.downcast::<T>().map_err(|_| PyRuntimeError::new_err("httpr: factory type mismatch"))?;
        make(py, *value)
    });
    FACTORIES.write().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(TypeId::of::<T>(), factory);
}

pub fn wrap<T: Any>(py: Python<'_>, value: T) -> PyResult<Py<PyAny>> {
    let guard = FACTORIES.read().unwrap_or_else(|p| p.into_inner());
    let factory = guard
        .as_ref()
        .and_then(|m| m.get(&TypeId::of::<T>()))
        .ok_or_else(|| PyRuntimeError::new_err(format!("httpr: no Python class registered for {}", std::any::type_name::<T>())))?;
    factory(py, Box::new(value))
}

/// A binding value that converts to its generated Python class (see `register`).
pub struct Wrapped<T>(pub T);

impl<'py, T: Any> IntoPyObject<'py> for Wrapped<T> {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        wrap(py, self.0).map(|o| o.into_bound(py))
    }
}

type Extractor = Box<dyn Fn(&Bound<'_, PyAny>) -> Option<Box<dyn Any>> + Send + Sync>;

static EXTRACTORS: RwLock<Option<HashMap<TypeId, Extractor>>> = RwLock::new(None);

/// For value classes (api.yaml `value: true`): how to get a copy of the binding value back
/// out of an instance of the generated class, e.g. a `Timeout` passed as an argument.
pub fn register_value<T: Any>(get: fn(&Bound<'_, PyAny>) -> Option<T>) {
    let extractor: Extractor = Box::new(move |obj| get(obj).map(|v| Box::new(v) as Box<dyn Any>));
    EXTRACTORS.write().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(HashMap::new).insert(TypeId::of::<T>(), extractor);
}

/// The binding value inside `obj`, if `obj` is an instance of the class wrapping `T`.
pub fn unwrap_value<T: Any>(obj: &Bound<'_, PyAny>) -> Option<T> {
    let guard = EXTRACTORS.read().unwrap_or_else(|p| p.into_inner());
    let value = guard.as_ref()?.get(&TypeId::of::<T>())?(obj)?;
    value.downcast::<T>().ok().map(|b| *b)
}
